//! What tests do to trade: a seller lists, a buyer buys (an order), either acts on it,
//! asks and answers, reviews; through the JSON API with each person's token.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::testing::{TestApp, TestPerson, TestResponse};

/// A JSON request as `person`'s program (none: without a token).
pub async fn api(
    app: &TestApp,
    person: Option<&TestPerson>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> TestResponse {
    let bearer = person.map(TestPerson::bearer);
    let mut headers = vec![];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer.as_str()));
    }
    let body = body.map_or_else(Bytes::new, |body| Bytes::from(body.to_string()));
    app.send(method, path, &headers, body).await
}

/// The three people of a trade and its order.
pub struct Trade {
    pub seller: TestPerson,
    pub buyer: TestPerson,
    pub other: TestPerson,
    pub item: i64,
    pub order: i64,
}

impl Trade {
    /// A fresh seller lists `stock` units; a fresh buyer buys `quantity` of them.
    pub async fn start(app: &TestApp, stock: i64, quantity: i64) -> Self {
        let seller = app.add_person("Seller").await;
        let buyer = app.add_person("Buyer").await;
        let other = app.add_person("Other").await;
        let listed = api(
            app,
            Some(&seller),
            Method::POST,
            "/api/items",
            Some(
                json!({"name": "Touring bike", "quantity": stock, "price": "120.00",
                        "description": "Steel frame"}),
            ),
        )
        .await;
        assert_eq!(listed.status, StatusCode::CREATED, "{}", listed.text());
        let item = listed.json()["id"].as_i64().unwrap();
        let bought = api(
            app,
            Some(&buyer),
            Method::POST,
            &format!("/api/items/{item}/buy"),
            Some(json!({"quantity": quantity})),
        )
        .await;
        assert_eq!(bought.status, StatusCode::OK, "{}", bought.text());
        let order = bought.json()["purchase"]["id"].as_i64().unwrap();
        Self {
            seller,
            buyer,
            other,
            item,
            order,
        }
    }

    /// `person` takes `action` (ship, receive, cancel) on the order.
    pub async fn act(&self, app: &TestApp, person: &TestPerson, action: &str) -> TestResponse {
        api(
            app,
            Some(person),
            Method::POST,
            &format!("/api/orders/{}/{action}", self.order),
            None,
        )
        .await
    }

    /// Brings the order to `state` (placed, shipped, received, cancelled) as its parties
    /// would.
    pub async fn bring_to(&self, app: &TestApp, state: &str) {
        let steps: &[(&TestPerson, &str)] = match state {
            "placed" => &[],
            "shipped" => &[(&self.seller, "ship")],
            "received" => &[(&self.seller, "ship"), (&self.buyer, "receive")],
            "cancelled" => &[(&self.buyer, "cancel")],
            other => panic!("no state {other}"),
        };
        for (person, action) in steps {
            let response = self.act(app, person, action).await;
            assert_eq!(
                response.status,
                StatusCode::OK,
                "{action}: {}",
                response.text()
            );
        }
    }

    /// `person` reviews the other party.
    pub async fn review(
        &self,
        app: &TestApp,
        person: &TestPerson,
        rating: i64,
        text: &str,
    ) -> TestResponse {
        api(
            app,
            Some(person),
            Method::POST,
            &format!("/api/orders/{}/review", self.order),
            Some(json!({"rating": rating, "text": text})),
        )
        .await
    }

    /// Moves the order's times back `days` days, as if that long had passed since it
    /// shipped and was received.
    pub async fn age(&self, app: &TestApp, days: i32) {
        app.db
            .execute(
                "UPDATE purchases SET
                     purchased_at = purchased_at - make_interval(days => $2),
                     shipped_at = shipped_at - make_interval(days => $2),
                     received_at = received_at - make_interval(days => $2)
                 WHERE id = $1",
                &[&self.order, &days],
            )
            .await
            .unwrap();
    }

    /// Units of the item left.
    pub async fn stock(&self, app: &TestApp) -> i32 {
        crate::shop::stock(app, self.item).await
    }
}
