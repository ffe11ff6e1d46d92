//! What tests do to the shop, in one place: list an item through the API (a valid one,
//! any field changed), fill in the sell form (likewise), buy, and read stock and
//! purchases back from the database.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::testing::{TestApp, TestPerson, TestResponse, merchant, send_to, shopper};

/// An item as a program lists it through the API: valid, with any field changed.
#[derive(Debug, Clone)]
pub struct ApiItem {
    pub name: String,
    pub quantity: i64,
    pub price: String,
    pub description: String,
}

impl ApiItem {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            quantity: 5,
            price: "9.99".to_owned(),
            description: "For sale".to_owned(),
        }
    }

    pub fn quantity(mut self, quantity: i64) -> Self {
        self.quantity = quantity;
        self
    }

    pub fn price(mut self, price: &str) -> Self {
        self.price = price.to_owned();
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    /// The request body.
    pub fn json(&self) -> String {
        json!({
            "name": self.name,
            "quantity": self.quantity,
            "price": self.price,
            "description": self.description,
        })
        .to_string()
    }

    /// Lists it through the API as the [`merchant`] (which must answer 201) and returns
    /// the stored item.
    pub async fn list(&self, app: &TestApp) -> serde_json::Value {
        self.list_as(app, merchant()).await
    }

    /// Lists it through the API as `seller` (which must answer 201) and returns the
    /// stored item.
    pub async fn list_as(&self, app: &TestApp, seller: &TestPerson) -> serde_json::Value {
        let response = app.post_json_as(seller, "/api/items", &self.json()).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        response.json()
    }
}

/// Lists an item named `name` with `quantity` units through the API; its id.
pub async fn list_item(app: &TestApp, name: &str, quantity: i32) -> i64 {
    let item = ApiItem::named(name).quantity(i64::from(quantity));
    item.list(app).await["id"].as_i64().expect("a numeric id")
}

/// The sell form as a person fills it in correctly; [`SellFields::with`] changes one
/// field, [`SellFields::without`] leaves one out.
#[derive(Debug, Clone)]
pub struct SellFields(Vec<(&'static str, String)>);

impl SellFields {
    pub fn valid() -> Self {
        Self(vec![
            ("name", "Lamp".to_owned()),
            ("quantity", "1".to_owned()),
            ("price", "9.99".to_owned()),
            ("description", "x".to_owned()),
        ])
    }

    pub fn with(mut self, field: &str, value: &str) -> Self {
        for (name, current) in &mut self.0 {
            if *name == field {
                *current = value.to_owned();
            }
        }
        self
    }

    pub fn without(mut self, field: &str) -> Self {
        self.0.retain(|(name, _)| *name != field);
        self
    }

    /// The fields as the form posts them.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect()
    }

    /// The value of `field`, if the form has it.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, value)| value.as_str())
    }
}

/// Units left of item `id`, from the database.
pub async fn stock(app: &TestApp, id: i64) -> i32 {
    app.db
        .query_one("SELECT quantity FROM items WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

/// Purchases recorded for item `id`, from the database.
pub async fn purchases(app: &TestApp, id: i64) -> i64 {
    app.db
        .query_one("SELECT count(*) FROM purchases WHERE item_id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

/// Posts a buy form for item `id` with this cookie and urlencoded body.
pub async fn post_buy_form(app: &TestApp, id: i64, cookie: &str, body: &str) -> TestResponse {
    app.send(
        Method::POST,
        &format!("/items/{id}/buy"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", cookie),
        ],
        body.to_owned(),
    )
    .await
}

/// `POST /api/items` with this body and `Idempotency-Key`, as the shopper.
pub async fn create_with_key(app: &TestApp, key: &str, body: &str) -> TestResponse {
    create_with_key_as(app, shopper(), key, body).await
}

/// `POST /api/items` with this body and `Idempotency-Key`, as `seller`.
pub async fn create_with_key_as(
    app: &TestApp,
    seller: &TestPerson,
    key: &str,
    body: &str,
) -> TestResponse {
    app.send(
        Method::POST,
        "/api/items",
        &[
            ("content-type", "application/json"),
            ("idempotency-key", key),
            ("authorization", &seller.bearer()),
        ],
        body.to_owned(),
    )
    .await
}

/// `POST /api/items/{id}/buy` of `quantity` with this `Idempotency-Key`, as the shopper.
pub async fn buy_with_key(app: &TestApp, id: i64, key: &str, quantity: i32) -> TestResponse {
    app.send(
        Method::POST,
        &format!("/api/items/{id}/buy"),
        &[
            ("content-type", "application/json"),
            ("idempotency-key", key),
            ("authorization", &shopper().bearer()),
        ],
        format!(r#"{{"quantity":{quantity}}}"#),
    )
    .await
}

/// Readers on every instance of `addrs` keep reading the first page of the API while
/// writes go through each in turn; after each acknowledged write, the next read (through
/// the next instance) must show it.
pub async fn race_readers_and_writers(addrs: &[SocketAddr]) {
    const READERS: usize = 12;
    const WRITES: usize = 120;
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|n| {
            let (stop, addr) = (stop.clone(), addrs[n % addrs.len()]);
            tokio::spawn(async move {
                let mut reads = 0;
                while !stop.load(Ordering::Relaxed) {
                    let response = send_to(addr, Method::GET, "/api/items", &[], Bytes::new())
                        .await
                        .expect("a read answers");
                    assert_eq!(response.status, StatusCode::OK);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for n in 0..WRITES {
        let name = format!("Raced {n}");
        let item = json!({"name": name, "quantity": 1, "price": "1.00", "description": "d"});
        let (writer, reader) = (addrs[n % addrs.len()], addrs[(n + 1) % addrs.len()]);
        let bearer = shopper().bearer();
        let json = [
            ("content-type", "application/json"),
            ("authorization", bearer.as_str()),
        ];
        let created = send_to(
            writer,
            Method::POST,
            "/api/items",
            &json,
            item.to_string().into(),
        )
        .await
        .expect("a write answers");
        assert_eq!(created.status, StatusCode::CREATED);
        let read = send_to(reader, Method::GET, "/api/items", &[], Bytes::new())
            .await
            .expect("a read answers");
        assert_eq!(
            read.json()["items"][0]["name"],
            name.as_str(),
            "write {n}: the next read shows it"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.expect("reader");
    }
    println!("{reads} concurrent reads during {WRITES} writes");
}
