//! Who may change a listing's photos, as a table: upload, reorder and delete, through the
//! forms and the API, × {signed out, the seller, another person, an ended session or a
//! revoked token}. Each cell on fresh people and a fresh listing with one photo; a
//! refused cell must leave the photos and their bytes as they were.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use market_tests::images;
use market_tests::photos::{FormPart, list_as, multipart_body, multipart_type, upload};
use market_tests::testing::{TestApp, TestPerson, spawn_app};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    SignedOut,
    Owner,
    Other,
    Ended,
}

const EVERYONE: [Who; 4] = [Who::SignedOut, Who::Owner, Who::Other, Who::Ended];

/// A listing of the owner's with one photo, and the people of a cell.
struct Cell {
    owner: TestPerson,
    other: TestPerson,
    ended: TestPerson,
    item: i64,
    photo: i64,
}

impl Cell {
    async fn arrange(app: &TestApp) -> Self {
        let owner = app.add_person("Owner").await;
        let other = app.add_person("Other").await;
        let ended = app.add_person("Ended").await;
        app.db
            .execute(
                "WITH gone AS (DELETE FROM sessions
                     WHERE account_id = (SELECT id FROM accounts WHERE email = $1))
                 UPDATE api_tokens SET revoked_at = now()
                 WHERE account_id = (SELECT id FROM accounts WHERE email = $1)",
                &[&ended.email],
            )
            .await
            .unwrap();
        let item = list_as(app, &owner, "Owned vase").await;
        let first = upload(app, &owner, item, "image/png", &images::small_png(320, 240)).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
        let second = upload(app, &owner, item, "image/png", &images::small_png(330, 240)).await;
        assert_eq!(second.status, StatusCode::CREATED);
        Self {
            owner,
            other,
            ended,
            item,
            photo: second.json()["id"].as_i64().unwrap(),
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

/// Every listing's photos in order and every stored blob, as one text.
async fn photos_state(app: &TestApp) -> String {
    app.db
        .query_one(
            "SELECT concat_ws(' | ',
                 (SELECT string_agg(concat_ws(',', id, item_id, position, description), ';'
                                    ORDER BY item_id, position) FROM item_photos),
                 (SELECT string_agg(encode(sha256, 'hex'), ';' ORDER BY sha256) FROM photo_blobs))",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[derive(Debug, Clone, Copy)]
enum Route {
    ApiUpload,
    ApiReorder,
    ApiDelete,
    FormUpload,
    FormReorder,
    FormDelete,
}

impl Route {
    const ALL: [Route; 6] = [
        Route::ApiUpload,
        Route::ApiReorder,
        Route::ApiDelete,
        Route::FormUpload,
        Route::FormReorder,
        Route::FormDelete,
    ];

    fn name(self) -> &'static str {
        match self {
            Route::ApiUpload => "POST /api/items/{id}/photos",
            Route::ApiReorder => "PATCH /api/items/{id}/photos/{photo_id}",
            Route::ApiDelete => "DELETE /api/items/{id}/photos/{photo_id}",
            Route::FormUpload => "POST /items/{id}/photos (upload form)",
            Route::FormReorder => "POST /items/{id}/photos/{photo_id} action=first",
            Route::FormDelete => "POST /items/{id}/photos/{photo_id} action=delete",
        }
    }

    /// The status each person gets: signed out, owner, other, ended.
    fn expected(self) -> [u16; 4] {
        match self {
            Route::ApiUpload => [401, 201, 404, 401],
            Route::ApiReorder => [401, 200, 404, 401],
            Route::ApiDelete => [401, 204, 404, 401],
            // A browser without a live session is sent to sign in (303 to the sign-in
            // page); the owner's form goes back to the edit page (303 there).
            Route::FormUpload | Route::FormReorder | Route::FormDelete => [303, 303, 404, 303],
        }
    }

    async fn send(self, app: &TestApp, cell: &Cell, who: Who) -> (StatusCode, Option<String>) {
        let person = cell.person(who);
        let photo_path = format!("/api/items/{}/photos/{}", cell.item, cell.photo);
        let png = images::small_png(340, 240);
        let response = match self {
            Route::ApiUpload | Route::ApiReorder | Route::ApiDelete => {
                let bearer = person.map(TestPerson::bearer);
                let (method, path, content_type, body) = match self {
                    Route::ApiUpload => (
                        Method::POST,
                        format!("/api/items/{}/photos", cell.item),
                        "image/png",
                        Bytes::from(png),
                    ),
                    Route::ApiReorder => (
                        Method::PATCH,
                        photo_path,
                        "application/json",
                        Bytes::from_static(br#"{"position":0}"#),
                    ),
                    _ => (Method::DELETE, photo_path, "application/json", Bytes::new()),
                };
                let mut headers = vec![("content-type", content_type)];
                if let Some(bearer) = &bearer {
                    headers.push(("authorization", bearer));
                }
                app.send(method, &path, &headers, body).await
            }
            Route::FormUpload => {
                let token = person.map(TestPerson::csrf_token).unwrap_or_default();
                let body = multipart_body(&[
                    FormPart::Text("csrf_token", &token),
                    FormPart::File {
                        field: "photos",
                        filename: "more.png",
                        content_type: "image/png",
                        bytes: &png,
                    },
                ]);
                let cookie = person.map(TestPerson::session_cookie);
                let content_type = multipart_type();
                let mut headers = vec![("content-type", content_type.as_str())];
                if let Some(cookie) = &cookie {
                    headers.push(("cookie", cookie));
                }
                app.send(
                    Method::POST,
                    &format!("/items/{}/photos", cell.item),
                    &headers,
                    Bytes::from(body),
                )
                .await
            }
            Route::FormReorder | Route::FormDelete => {
                let action = if matches!(self, Route::FormReorder) {
                    "first"
                } else {
                    "delete"
                };
                let cookie = person.map(TestPerson::session_cookie);
                app.post_form(
                    cookie.as_deref(),
                    &format!("/items/{}/photos/{}", cell.item, cell.photo),
                    &[("action", action)],
                )
                .await
            }
        };
        (
            response.status,
            response.header("location").map(str::to_owned),
        )
    }
}

#[tokio::test]
async fn every_photo_route_answers_each_kind_of_person_as_the_table_says() {
    let app = spawn_app().await;
    let mut table = Vec::new();
    for route in Route::ALL {
        for (who, expected) in EVERYONE.into_iter().zip(route.expected()) {
            let cell = Cell::arrange(&app).await;
            let before = photos_state(&app).await;
            let (status, location) = route.send(&app, &cell, who).await;
            let after = photos_state(&app).await;
            let name = format!("{} × {who:?}", route.name());
            assert_eq!(status.as_u16(), expected, "{name}");
            let done = who == Who::Owner;
            if done {
                assert_ne!(before, after, "{name}: done, yet nothing changed");
                if status == StatusCode::SEE_OTHER {
                    let location = location.as_deref().unwrap_or_default();
                    assert!(
                        location.starts_with(&format!("/items/{}/edit", cell.item)),
                        "{name}: {location}"
                    );
                }
            } else {
                assert_eq!(before, after, "{name}: refused, yet something was written");
                if status == StatusCode::SEE_OTHER {
                    assert!(
                        location
                            .as_deref()
                            .is_some_and(|to| to.starts_with("/account/sign-in?next=")),
                        "{name}: sent to {location:?}"
                    );
                }
            }
            table.push(format!("{name}: {}", status.as_u16()));
        }
    }
    println!("photo authorisation table:\n{}", table.join("\n"));
}
