//! What tests do with photos: upload one through the API or the forms (a real
//! `multipart/form-data` body, as a browser builds it), and read back a listing's photos.

use bytes::Bytes;
use hyper::Method;
use serde_json::Value;

use crate::testing::{TestApp, TestPerson, TestResponse};

/// The boundary of the multipart bodies built here (a browser's looks alike).
pub const BOUNDARY: &str = "----MarketTestBoundary7MA4YWxkTrZu0gW";

/// One part of a form: a text field, or a file with its name and declared type.
pub enum FormPart<'a> {
    Text(&'a str, &'a str),
    File {
        field: &'a str,
        filename: &'a str,
        content_type: &'a str,
        bytes: &'a [u8],
    },
}

/// A `multipart/form-data` body of `parts`, in order.
pub fn multipart_body(parts: &[FormPart]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            FormPart::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            FormPart::File {
                field,
                filename,
                content_type,
                bytes,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
                         Content-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The `Content-Type` of [`multipart_body`].
pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A photo file of the form: `photos`, named and typed as a phone would.
pub fn photo_part<'a>(filename: &'a str, bytes: &'a [u8]) -> FormPart<'a> {
    FormPart::File {
        field: "photos",
        filename,
        content_type: "image/jpeg",
        bytes,
    }
}

/// Posts a multipart form to `path` from `person`'s browser, their CSRF token first.
pub async fn post_multipart(
    app: &TestApp,
    person: &TestPerson,
    path: &str,
    parts: &[FormPart<'_>],
) -> TestResponse {
    let token = person.csrf_token();
    let mut all = vec![FormPart::Text("csrf_token", &token)];
    all.extend(parts.iter().map(|part| match part {
        FormPart::Text(name, value) => FormPart::Text(name, value),
        FormPart::File {
            field,
            filename,
            content_type,
            bytes,
        } => FormPart::File {
            field,
            filename,
            content_type,
            bytes,
        },
    }));
    let cookie = person.session_cookie();
    app.send(
        Method::POST,
        path,
        &[("content-type", &multipart_type()), ("cookie", &cookie)],
        Bytes::from(multipart_body(&all)),
    )
    .await
}

/// Uploads `bytes` as a photo of `item` through the API as `person`, declared as
/// `content_type`.
pub async fn upload(
    app: &TestApp,
    person: &TestPerson,
    item: i64,
    content_type: &str,
    bytes: &[u8],
) -> TestResponse {
    app.send(
        Method::POST,
        &format!("/api/items/{item}/photos"),
        &[
            ("content-type", content_type),
            ("authorization", &person.bearer()),
        ],
        Bytes::copy_from_slice(bytes),
    )
    .await
}

/// The photos of `item` as its JSON lists them.
pub async fn photos_of(app: &TestApp, item: i64) -> Vec<Value> {
    let item = app.get(&format!("/api/items/{item}")).await.json();
    item["photos"].as_array().cloned().unwrap_or_default()
}

/// Lists an item through the API as `person`; its id.
pub async fn list_as(app: &TestApp, person: &TestPerson, name: &str) -> i64 {
    let response = app
        .send(
            Method::POST,
            "/api/items",
            &[
                ("content-type", "application/json"),
                ("authorization", &person.bearer()),
            ],
            crate::shop::ApiItem::named(name).json(),
        )
        .await;
    assert_eq!(
        response.status,
        hyper::StatusCode::CREATED,
        "{}",
        response.text()
    );
    response.json()["id"].as_i64().unwrap()
}
