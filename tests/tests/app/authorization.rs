//! Who may write what, as a table: every route that writes × {signed out, owner, other
//! person, ended session or revoked token}, each cell on fresh people and a fresh item,
//! with the status it must get and, where it is refused, proof that nothing was written.

use hyper::{Method, StatusCode};
use market_tests::shop::ApiItem;
use market_tests::testing::{TestApp, TestPerson, TestResponse, spawn_app};

/// Who sends the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// A browser that never signed in, or a program without a token.
    SignedOut,
    /// The item's seller, or the account's holder.
    Owner,
    /// Someone else, signed in.
    Other,
    /// A browser whose session was signed out, or a program whose token was revoked.
    Ended,
}

const EVERYONE: [Who; 4] = [Who::SignedOut, Who::Owner, Who::Other, Who::Ended];

/// What a cell must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Done, with this status.
    Done(u16),
    /// Sent to sign in (303 to the sign-in page), nothing written.
    SignIn,
    /// Refused with this status, nothing written.
    Refused(u16),
}

/// The people and things of one cell.
struct Cell {
    owner: TestPerson,
    other: TestPerson,
    ended: TestPerson,
    item: i64,
    owner_token: i64,
}

impl Cell {
    async fn arrange(app: &TestApp) -> Self {
        let owner = app.add_person("Owner").await;
        let other = app.add_person("Other").await;
        let ended = app.add_person("Ended").await;
        app.db
            .execute(
                "WITH gone AS (
                     DELETE FROM sessions
                     WHERE account_id = (SELECT id FROM accounts WHERE email = $1)
                 )
                 UPDATE api_tokens SET revoked_at = now()
                 WHERE account_id = (SELECT id FROM accounts WHERE email = $1)",
                &[&ended.email],
            )
            .await
            .unwrap();
        let created = app
            .send(
                Method::POST,
                "/api/items",
                &[
                    ("content-type", "application/json"),
                    ("authorization", &owner.bearer()),
                ],
                ApiItem::named("Owned lamp")
                    .quantity(5)
                    .price("10.00")
                    .json(),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let owner_token = app
            .db
            .query_one(
                "SELECT api_tokens.id FROM api_tokens JOIN accounts ON accounts.id = account_id
                 WHERE email = $1",
                &[&owner.email],
            )
            .await
            .unwrap()
            .get(0);
        Self {
            item: created.json()["id"].as_i64().unwrap(),
            owner,
            other,
            ended,
            owner_token,
        }
    }

    fn person(&self, who: Who) -> Option<&TestPerson> {
        match who {
            Who::SignedOut => None,
            Who::Owner => Some(&self.owner),
            Who::Other => Some(&self.other),
            Who::Ended => Some(&self.ended),
        }
    }
}

/// Everything a write could change, as one text: items, purchases, tokens, sessions.
async fn everything(app: &TestApp) -> String {
    app.db
        .query_one(
            "SELECT concat_ws(' | ',
                 (SELECT string_agg(concat_ws(',', id, quantity, price_cents, description,
                                              withdrawn_at IS NULL, seller_id), ';' ORDER BY id)
                  FROM items),
                 (SELECT count(*) FROM purchases),
                 (SELECT string_agg(concat_ws(',', id, revoked_at IS NULL), ';' ORDER BY id)
                  FROM api_tokens),
                 (SELECT count(*) FROM sessions))",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// A form route: its path for the cell, its fields, and what each person gets.
struct FormRoute {
    name: &'static str,
    path: fn(&Cell) -> String,
    fields: &'static [(&'static str, &'static str)],
    expect: [Expect; 4],
}

/// An API route likewise.
struct ApiRoute {
    method: Method,
    name: &'static str,
    path: fn(&Cell) -> String,
    body: &'static str,
    expect: [Expect; 4],
}

use Expect::{Done, Refused, SignIn};

fn form_routes() -> Vec<FormRoute> {
    let item_fields: &[(&str, &str)] = &[
        ("name", "Form lamp"),
        ("quantity", "2"),
        ("price", "4.00"),
        ("description", "d"),
    ];
    let change: &[(&str, &str)] = &[
        ("quantity", "9"),
        ("price", "12.00"),
        ("description", "changed"),
    ];
    vec![
        FormRoute {
            name: "POST /items (sell)",
            path: |_| "/items".into(),
            fields: item_fields,
            expect: [SignIn, Done(303), Done(303), SignIn],
        },
        FormRoute {
            name: "POST /items/{id}/buy",
            path: |cell| format!("/items/{}/buy", cell.item),
            fields: &[("quantity", "1"), ("shown_price", "10.00")],
            // Nobody buys their own listing.
            expect: [SignIn, Refused(409), Done(303), SignIn],
        },
        FormRoute {
            name: "POST /items/{id}/edit",
            path: |cell| format!("/items/{}/edit", cell.item),
            fields: change,
            expect: [SignIn, Done(303), Refused(404), SignIn],
        },
        FormRoute {
            name: "POST /items/{id}/withdraw",
            path: |cell| format!("/items/{}/withdraw", cell.item),
            fields: &[],
            expect: [SignIn, Done(303), Refused(404), SignIn],
        },
        FormRoute {
            name: "POST /account/tokens",
            path: |_| "/account/tokens".into(),
            fields: &[("token_name", "new")],
            expect: [SignIn, Done(201), Done(201), SignIn],
        },
        FormRoute {
            name: "POST /account/tokens/{owner's}/revoke",
            path: |cell| format!("/account/tokens/{}/revoke", cell.owner_token),
            fields: &[],
            expect: [SignIn, Done(303), Refused(404), SignIn],
        },
        FormRoute {
            name: "POST /account/sign-out-everywhere",
            path: |_| "/account/sign-out-everywhere".into(),
            fields: &[],
            expect: [SignIn, Done(303), Done(303), SignIn],
        },
    ]
}

fn api_routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: Method::POST,
            name: "POST /api/items",
            path: |_| "/api/items".into(),
            body: r#"{"name":"API lamp","quantity":1,"price":"3.00","description":"d"}"#,
            expect: [Refused(401), Done(201), Done(201), Refused(401)],
        },
        ApiRoute {
            method: Method::POST,
            name: "POST /api/items/{id}/buy",
            path: |cell| format!("/api/items/{}/buy", cell.item),
            body: r#"{"quantity":1}"#,
            // Nobody buys their own listing.
            expect: [Refused(401), Refused(409), Done(200), Refused(401)],
        },
        ApiRoute {
            method: Method::PATCH,
            name: "PATCH /api/items/{id}",
            path: |cell| format!("/api/items/{}", cell.item),
            body: r#"{"quantity":9,"price":"12.00","description":"changed"}"#,
            expect: [Refused(401), Done(200), Refused(404), Refused(401)],
        },
        ApiRoute {
            method: Method::DELETE,
            name: "DELETE /api/items/{id}",
            path: |cell| format!("/api/items/{}", cell.item),
            body: "",
            expect: [Refused(401), Done(204), Refused(404), Refused(401)],
        },
    ]
}

/// Why the owner's buy is refused (409), in the API's answer and on the form's page.
const OWN_LISTING: &str = "This is your own listing: you cannot buy it.";

/// Checks one cell's answer (a 409 says why), and that a refused one wrote nothing.
fn check(cell_name: &str, expect: Expect, response: &TestResponse, before: &str, after: &str) {
    let (status, location) = (response.status, response.header("location"));
    match expect {
        Done(code) => assert_eq!(status.as_u16(), code, "{cell_name}"),
        SignIn => {
            assert_eq!(status, StatusCode::SEE_OTHER, "{cell_name}");
            assert!(
                location.is_some_and(|to| to.starts_with("/account/sign-in?next=")),
                "{cell_name}: sent to {location:?}"
            );
        }
        Refused(code) => assert_eq!(status.as_u16(), code, "{cell_name}"),
    }
    if expect == Refused(409) {
        let body = response.text();
        assert!(body.contains(OWN_LISTING), "{cell_name}: {body}");
    }
    if !matches!(expect, Done(_)) {
        assert_eq!(
            before, after,
            "{cell_name}: refused, yet something was written"
        );
    }
}

#[tokio::test]
async fn every_write_route_answers_each_kind_of_person_as_the_table_says() {
    let app = spawn_app().await;
    let mut table = Vec::new();
    for route in form_routes() {
        for (who, expect) in EVERYONE.into_iter().zip(route.expect) {
            let cell = Cell::arrange(&app).await;
            let cookie = cell.person(who).map(TestPerson::session_cookie);
            let before = everything(&app).await;
            let response = app
                .post_form(cookie.as_deref(), &(route.path)(&cell), route.fields)
                .await;
            let after = everything(&app).await;
            let name = format!("{} × {who:?}", route.name);
            check(&name, expect, &response, &before, &after);
            table.push(format!("{name}: {}", response.status.as_u16()));
        }
    }
    for route in api_routes() {
        for (who, expect) in EVERYONE.into_iter().zip(route.expect) {
            let cell = Cell::arrange(&app).await;
            let bearer = cell.person(who).map(TestPerson::bearer);
            let mut headers = vec![("content-type", "application/json")];
            if let Some(bearer) = &bearer {
                headers.push(("authorization", bearer));
            }
            let before = everything(&app).await;
            let response = app
                .send(
                    route.method.clone(),
                    &(route.path)(&cell),
                    &headers,
                    route.body,
                )
                .await;
            let after = everything(&app).await;
            let name = format!("{} × {who:?}", route.name);
            check(&name, expect, &response, &before, &after);
            if response.status == StatusCode::UNAUTHORIZED {
                let challenge = response.header("www-authenticate").unwrap_or_default();
                assert!(
                    challenge.starts_with("Bearer realm=\"marketplace\""),
                    "{name}"
                );
                assert_eq!(
                    challenge.contains("invalid_token"),
                    who == Who::Ended,
                    "{name}: {challenge}"
                );
            }
            table.push(format!("{name}: {}", response.status.as_u16()));
        }
    }
    println!("authorisation table:\n{}", table.join("\n"));
}

#[tokio::test]
async fn the_api_never_reads_a_browsers_session_and_a_malformed_token_is_a_401() {
    let app = spawn_app().await;
    let person = app.add_person("Browser only").await;
    let cases = [
        (
            "cookie",
            person.session_cookie(),
            "a session cookie is not a token",
        ),
        (
            "authorization",
            format!("Bearer {}", person.session),
            "a session id as a token",
        ),
        (
            "authorization",
            format!("Basic {}", person.token),
            "another scheme",
        ),
        ("authorization", "Bearer ".to_owned(), "an empty token"),
        (
            "authorization",
            format!("Bearer {}x", person.token),
            "one character more",
        ),
    ];
    for (header, value, why) in cases {
        let response = app
            .send(
                Method::POST,
                "/api/items",
                &[("content-type", "application/json"), (header, &value)],
                ApiItem::named("Never").json(),
            )
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{why}");
        assert!(response.header("www-authenticate").is_some(), "{why}");
        assert!(response.json()["error"].is_string(), "{why}");
    }
    assert_eq!(app.item_count().await, 0);
    let lowercase = app
        .send(
            Method::POST,
            "/api/items",
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("bearer {}", person.token)),
            ],
            ApiItem::named("Scheme in any case").json(),
        )
        .await;
    assert_eq!(
        lowercase.status,
        StatusCode::CREATED,
        "RFC 7235: the scheme is case-insensitive"
    );
}
