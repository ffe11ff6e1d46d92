//! A trade for the signed-in workloads: the merchant lists an item, the shopper buys one
//! unit (an order) and asks about it (a conversation), through the app.

use anyhow::Context;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use market_tests::testing::{merchant, send_to, shopper};

/// The order the shopper placed.
pub async fn arrange(url: &str) -> anyhow::Result<i64> {
    let addr = url.trim_start_matches("http://").parse()?;
    let post = |path: String, bearer: String, body: &'static str| async move {
        send_to(
            addr,
            Method::POST,
            &path,
            &[
                ("content-type", "application/json"),
                ("authorization", &bearer),
            ],
            Bytes::from_static(body.as_bytes()),
        )
        .await
    };
    let listed = post(
        "/api/items".into(),
        merchant().bearer(),
        r#"{"name":"Traded bench item","quantity":5,"price":"30.00","description":"For the order page"}"#,
    )
    .await?;
    anyhow::ensure!(listed.status == StatusCode::CREATED, "{}", listed.text());
    let item = listed.json()["id"].as_i64().context("an item id")?;
    let bought = post(
        format!("/api/items/{item}/buy"),
        shopper().bearer(),
        r#"{"quantity":1}"#,
    )
    .await?;
    anyhow::ensure!(bought.status == StatusCode::OK, "{}", bought.text());
    let asked = post(
        format!("/api/items/{item}/conversations"),
        shopper().bearer(),
        r#"{"text":"When will it ship?"}"#,
    )
    .await?;
    anyhow::ensure!(asked.status == StatusCode::CREATED, "{}", asked.text());
    bought.json()["purchase"]["id"]
        .as_i64()
        .context("an order id")
}
