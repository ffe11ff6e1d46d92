//! Who may read and do what in a trade, as a table: every trading route × {signed out,
//! the buyer, the seller, another person, the buyer with their token revoked and session
//! ended}. Each cell on a fresh trade; a refused cell writes nothing.

use hyper::{Method, StatusCode};
use market_tests::testing::{TestApp, TestPerson, spawn_app};
use market_tests::trade::{Trade, api};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    SignedOut,
    Buyer,
    Seller,
    Other,
    Revoked,
}

const EVERYONE: [Who; 5] = [
    Who::SignedOut,
    Who::Buyer,
    Who::Seller,
    Who::Other,
    Who::Revoked,
];

/// A trade in `state`, with the buyer's conversation about the item.
async fn arrange(app: &TestApp, state: &str) -> (Trade, i64) {
    let trade = Trade::start(app, 3, 1).await;
    trade.bring_to(app, state).await;
    let asked = api(
        app,
        Some(&trade.buyer),
        Method::POST,
        &format!("/api/items/{}/conversations", trade.item),
        Some(json!({"text": "Is it still available?"})),
    )
    .await;
    assert_eq!(asked.status, StatusCode::CREATED);
    (trade, asked.json()["id"].as_i64().unwrap())
}

async fn revoke_buyer(app: &TestApp, trade: &Trade) {
    app.db
        .execute(
            "WITH gone AS (DELETE FROM sessions
                 WHERE account_id = (SELECT id FROM accounts WHERE email = $1))
             UPDATE api_tokens SET revoked_at = now()
             WHERE account_id = (SELECT id FROM accounts WHERE email = $1)",
            &[&trade.buyer.email],
        )
        .await
        .unwrap();
}

fn person(trade: &Trade, who: Who) -> Option<&TestPerson> {
    match who {
        Who::SignedOut => None,
        Who::Buyer | Who::Revoked => Some(&trade.buyer),
        Who::Seller => Some(&trade.seller),
        Who::Other => Some(&trade.other),
    }
}

/// Everything a trading write could change, as one text.
async fn everything(app: &TestApp) -> String {
    app.db
        .query_one(
            "SELECT concat_ws(' | ',
                 (SELECT string_agg(concat_ws(',', id, state, ship_note), ';' ORDER BY id) FROM purchases),
                 (SELECT string_agg(concat_ws(',', id, quantity), ';' ORDER BY id) FROM items),
                 (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages),
                 (SELECT count(*) FROM reviews))",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

struct Route {
    name: &'static str,
    /// The state the order is brought to first.
    state: &'static str,
    method: Method,
    /// The path, from the trade and the conversation.
    path: fn(&Trade, i64) -> String,
    body: Option<fn() -> Value>,
    /// Statuses for signed out, buyer, seller, other, revoked.
    expect: [u16; 5],
    writes: bool,
}

fn api_routes() -> Vec<Route> {
    vec![
        Route {
            name: "POST /api/items/{id}/conversations",
            state: "placed",
            method: Method::POST,
            path: |t, _| format!("/api/items/{}/conversations", t.item),
            body: Some(|| json!({"text": "Hello"})),
            expect: [401, 200, 409, 201, 401],
            writes: true,
        },
        Route {
            name: "GET /api/conversations",
            state: "placed",
            method: Method::GET,
            path: |_, _| "/api/conversations".into(),
            body: None,
            expect: [401, 200, 200, 200, 401],
            writes: false,
        },
        Route {
            name: "GET /api/conversations/{id}",
            state: "placed",
            method: Method::GET,
            path: |_, c| format!("/api/conversations/{c}"),
            body: None,
            expect: [401, 200, 200, 404, 401],
            writes: false,
        },
        Route {
            name: "POST /api/conversations/{id}/messages",
            state: "placed",
            method: Method::POST,
            path: |_, c| format!("/api/conversations/{c}/messages"),
            body: Some(|| json!({"text": "Yes"})),
            expect: [401, 201, 201, 404, 401],
            writes: true,
        },
        Route {
            name: "GET /api/orders?role=buyer",
            state: "placed",
            method: Method::GET,
            path: |_, _| "/api/orders?role=buyer".into(),
            body: None,
            expect: [401, 200, 200, 200, 401],
            writes: false,
        },
        Route {
            name: "GET /api/orders/{id}",
            state: "placed",
            method: Method::GET,
            path: |t, _| format!("/api/orders/{}", t.order),
            body: None,
            expect: [401, 200, 200, 404, 401],
            writes: false,
        },
        Route {
            name: "POST /api/orders/{id}/ship",
            state: "placed",
            method: Method::POST,
            path: |t, _| format!("/api/orders/{}/ship", t.order),
            body: Some(|| json!({"note": "DHL 123"})),
            expect: [401, 404, 200, 404, 401],
            writes: true,
        },
        Route {
            name: "POST /api/orders/{id}/receive",
            state: "shipped",
            method: Method::POST,
            path: |t, _| format!("/api/orders/{}/receive", t.order),
            body: None,
            expect: [401, 200, 404, 404, 401],
            writes: true,
        },
        Route {
            name: "POST /api/orders/{id}/cancel",
            state: "placed",
            method: Method::POST,
            path: |t, _| format!("/api/orders/{}/cancel", t.order),
            body: None,
            expect: [401, 200, 200, 404, 401],
            writes: true,
        },
        Route {
            name: "POST /api/orders/{id}/review",
            state: "received",
            method: Method::POST,
            path: |t, _| format!("/api/orders/{}/review", t.order),
            body: Some(|| json!({"rating": 5, "text": "Good"})),
            expect: [401, 201, 201, 404, 401],
            writes: true,
        },
    ]
}

/// A form or page: name, the state first, method, path, fields, and the statuses for
/// signed out, buyer, seller, other, revoked.
type FormRoute = (
    &'static str,
    &'static str,
    Method,
    fn(&Trade, i64) -> String,
    &'static [(&'static str, &'static str)],
    [u16; 5],
);

/// The forms and pages, with a browser's session (none signed out; the revoked buyer's
/// session ended): a browser without a live session is sent to sign in (303).
fn form_routes() -> Vec<FormRoute> {
    vec![
        (
            "POST /items/{id}/ask",
            "placed",
            Method::POST,
            |t, _| format!("/items/{}/ask", t.item),
            &[("text", "Hello")],
            [303, 303, 409, 303, 303],
        ),
        (
            "GET /orders/{id}",
            "placed",
            Method::GET,
            |t, _| format!("/orders/{}", t.order),
            &[],
            [303, 200, 200, 404, 303],
        ),
        (
            "POST /orders/{id}/ship",
            "placed",
            Method::POST,
            |t, _| format!("/orders/{}/ship", t.order),
            &[("note", "")],
            [303, 404, 303, 404, 303],
        ),
        (
            "POST /orders/{id}/cancel",
            "placed",
            Method::POST,
            |t, _| format!("/orders/{}/cancel", t.order),
            &[],
            [303, 303, 303, 404, 303],
        ),
        (
            "POST /orders/{id}/review",
            "received",
            Method::POST,
            |t, _| format!("/orders/{}/review", t.order),
            &[("rating", "4"), ("text", "Fine")],
            [303, 303, 303, 404, 303],
        ),
        (
            "GET /conversations/{id}",
            "placed",
            Method::GET,
            |_, c| format!("/conversations/{c}"),
            &[],
            [303, 200, 200, 404, 303],
        ),
        (
            "POST /conversations/{id}/messages",
            "placed",
            Method::POST,
            |_, c| format!("/conversations/{c}/messages"),
            &[("text", "Yes")],
            [303, 303, 303, 404, 303],
        ),
    ]
}

#[tokio::test]
async fn every_trading_route_answers_each_kind_of_person_as_the_table_says() {
    let app = spawn_app().await;
    let mut table = vec!["| route | signed out | buyer | seller | other | revoked |".to_owned()];
    for route in api_routes() {
        let mut row = Vec::new();
        for (who, expect) in EVERYONE.into_iter().zip(route.expect) {
            let (trade, conversation) = arrange(&app, route.state).await;
            if who == Who::Revoked {
                revoke_buyer(&app, &trade).await;
            }
            let before = everything(&app).await;
            let response = api(
                &app,
                person(&trade, who),
                route.method.clone(),
                &(route.path)(&trade, conversation),
                route.body.map(|body| body()),
            )
            .await;
            let after = everything(&app).await;
            let cell = format!("{} × {who:?}", route.name);
            assert_eq!(
                response.status.as_u16(),
                expect,
                "{cell}: {}",
                response.text()
            );
            let done = (200..300).contains(&expect);
            if !done || !route.writes {
                assert_eq!(
                    before, after,
                    "{cell}: refused or a read, yet something was written"
                );
            }
            row.push(expect.to_string());
        }
        table.push(format!("| {} | {} |", route.name, row.join(" | ")));
    }
    for (name, state, method, path, fields, expects) in form_routes() {
        let mut row = Vec::new();
        for (who, expect) in EVERYONE.into_iter().zip(expects) {
            let (trade, conversation) = arrange(&app, state).await;
            if who == Who::Revoked {
                revoke_buyer(&app, &trade).await;
            }
            let cookie = person(&trade, who).map(TestPerson::session_cookie);
            let before = everything(&app).await;
            let path = path(&trade, conversation);
            let response = if method == Method::GET {
                match &cookie {
                    Some(cookie) => app.get_with_cookie(&path, cookie).await,
                    None => app.get(&path).await,
                }
            } else {
                app.post_form(cookie.as_deref(), &path, fields).await
            };
            let after = everything(&app).await;
            let cell = format!("{name} × {who:?}");
            assert_eq!(
                response.status.as_u16(),
                expect,
                "{cell}: {}",
                response.text()
            );
            let signed_out = matches!(who, Who::SignedOut | Who::Revoked);
            if signed_out {
                let location = response.header("location").unwrap_or_default();
                assert!(
                    location.starts_with("/account/sign-in?next="),
                    "{cell}: {location}"
                );
            }
            if signed_out || expect >= 400 || method == Method::GET {
                assert_eq!(
                    before, after,
                    "{cell}: refused or a read, yet something was written"
                );
            } else {
                assert_ne!(before, after, "{cell}: done, yet nothing changed");
            }
            row.push(expect.to_string());
        }
        table.push(format!("| {name} | {} |", row.join(" | ")));
    }
    // A profile is public: anyone reads it, with or without a token.
    let (trade, _) = arrange(&app, "placed").await;
    let seller: i64 = app
        .db
        .query_one(
            "SELECT id FROM accounts WHERE email = $1",
            &[&trade.seller.email],
        )
        .await
        .unwrap()
        .get(0);
    for who in EVERYONE {
        let response = api(
            &app,
            person(&trade, who),
            Method::GET,
            &format!("/api/people/{seller}"),
            None,
        )
        .await;
        assert_eq!(response.status, StatusCode::OK, "{who:?}");
    }
    table.push("| GET /api/people/{id} | 200 | 200 | 200 | 200 | 200 |".to_owned());
    println!("trading authorisation table:\n{}", table.join("\n"));
}
