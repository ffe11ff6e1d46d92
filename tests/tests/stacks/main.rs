//! The compose stacks as a user runs them, on a real Docker engine: the base file, the
//! scale override and the dev override, each brought up with `--build --wait`, used
//! only through nginx's port on 127.0.0.1, and taken down with its volumes.
//!
//! Not part of `cargo test --workspace` (`test = false`): `./scripts/test` runs it after
//! the other tests when a Docker engine answers, one stack at a time
//! (`cargo test -p market-tests --test stacks -- --test-threads=1`).

mod base;
mod dev;
mod scale;

use hyper::StatusCode;
use market_tests::compose::Stack;
use serde_json::{Value, json};

/// Lists an item through the API of the stack as the [`Stack::merchant`] (what the
/// shopper buys: nobody buys their own listing) and returns it as stored.
pub async fn list_by_api(stack: &Stack, name: &str, quantity: u32) -> Value {
    let body = json!({
        "name": name, "quantity": quantity, "price": "4.50", "description": "Through nginx"
    });
    let merchant = stack.merchant().await.unwrap();
    let response = stack
        .post_json_as(merchant, "/api/items", &body.to_string())
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

/// The item with this id, as the API shows it.
pub async fn item(stack: &Stack, id: i64) -> Value {
    let response = stack.get(&format!("/api/items/{id}")).await.unwrap();
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}
