//! Thousands of generated hostile requests through the real components: random bytes,
//! invalid UTF-8, huge and empty fields, numbers past i32/i64, SQL metacharacters,
//! HTML/JS payloads, repeated and missing fields, wrong content types and methods, very
//! long paths and query strings. Nothing may answer 5xx or show internals, no stored
//! value may be rendered unescaped, and the database may only hold valid rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use hyper::{Method, StatusCode};
use market::domain::item::{Description, ItemName, Price, Quantity};
use market_tests::testing::{TestApp, json_headers, shopper, spawn_app};

use crate::assert_no_internals;

const REQUESTS: usize = 10_000;
const IN_FLIGHT: usize = 16;

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    /// Up to `max` random bytes.
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Values a hostile client would try in a text or number field.
const PAYLOADS: &[&str] = &[
    "<script>alert('x')</script>",
    "\"><img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "'; DROP TABLE items; --",
    "1 OR 1=1",
    "$1",
    "\\x00",
    "%00",
    "\u{0}",
    "\u{202e}reversed",
    "😀🎉",
    "",
    " ",
    "-1",
    "0",
    "1000000",
    "1000001",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "-9223372036854775809",
    "1e309",
    "NaN",
    "0x10",
    "1.5",
    "null",
    "true",
    "[]",
    "{}",
];

const PATHS: &[&str] = &[
    "/",
    "/items",
    "/items/1/buy",
    "/items/0/buy",
    "/items/-1/buy",
    "/items/99999999999999999999/buy",
    "/api/items",
    "/api/items/1",
    "/api/items/1/buy",
    "/api/items/abc/buy",
    "/api",
    "/health",
    "/health/ready",
    "/static/site.css",
    "/static/site-0000000000000000.css",
    "/static/../../etc/passwd",
    "/%2e%2e/%2e%2e/",
    "/api/items/1%20OR%201=1",
    "/.well-known/spin/info",
    "/items/%00",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin1",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/xml",
    "",
    "application/x-www-form-urlencoded; charset=utf-8",
];

const METHODS: &[&str] = &[
    "GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW",
];

fn percent_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A value for a field: a payload, a random string, a huge or an empty one.
fn field_value(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 | 1 => rng.pick(PAYLOADS).to_owned(),
        2 => String::from_utf8_lossy(&rng.bytes(40)).into_owned(),
        3 => "x".repeat(rng.below(3000)),
        4 => format!("{}", rng.next() as i64),
        _ => format!("Item {}", rng.below(1000)),
    }
}

fn json_value(rng: &mut Rng) -> String {
    match rng.below(7) {
        0 => serde_json::Value::String(field_value(rng)).to_string(),
        1 => rng
            .pick(&[
                "-1",
                "0",
                "1",
                "3",
                "1000001",
                "1.5",
                "1e400",
                "-0",
                "18446744073709551616",
                "null",
                "true",
                "[]",
                "{}",
            ])
            .to_owned(),
        2 => (rng.next() as i64).to_string(),
        _ => serde_json::Value::String(field_value(rng)).to_string(),
    }
}

fn json_body(rng: &mut Rng) -> Vec<u8> {
    match rng.below(8) {
        0 => rng.bytes(200),
        1 => {
            b"{\"name\":\"\xff\xfe\",\"quantity\":1,\"price\":\"1\",\"description\":\"d\"}".to_vec()
        }
        2 => b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
            .to_vec(),
        3 => format!(
            r#"{{"name":"a","name":{},"quantity":{},"price":"9.99","description":{}}}"#,
            json_value(rng),
            json_value(rng),
            json_value(rng)
        )
        .into_bytes(),
        _ => {
            let mut fields = Vec::new();
            for field in ["name", "quantity", "price", "description"] {
                if rng.below(5) != 0 {
                    fields.push(format!("\"{field}\":{}", json_value(rng)));
                }
            }
            format!("{{{}}}", fields.join(",")).into_bytes()
        }
    }
}

fn form_body(rng: &mut Rng, csrf: &str) -> Vec<u8> {
    if rng.below(10) == 0 {
        return rng.bytes(300);
    }
    let mut pairs = Vec::new();
    if rng.below(4) != 0 {
        pairs.push(format!("csrf_token={csrf}"));
    }
    for field in [
        "name",
        "quantity",
        "price",
        "description",
        "idempotency_key",
        "name",
    ] {
        if rng.below(4) != 0 {
            pairs.push(format!("{field}={}", percent_encode(&field_value(rng))));
        }
    }
    if rng.below(20) == 0 {
        pairs.push(format!("description={}", "y".repeat(70_000)));
    }
    pairs.join("&").into_bytes()
}

struct Generated {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A create that passes validation, carrying a payload in its text: these must be
/// stored, and then shown escaped.
fn valid_create_with_payload(rng: &mut Rng) -> Generated {
    let payload = rng.pick(&PAYLOADS[..11]);
    let name = format!("{payload} #{}", rng.below(1000));
    let body = serde_json::json!({ "name": name, "quantity": rng.below(1000), "price": "9.99", "description": payload.trim_matches('\u{0}').to_owned() + " d" });
    Generated {
        method: Method::POST,
        path: "/api/items".to_owned(),
        headers: json_headers()
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        body: body.to_string().into_bytes(),
    }
}

fn generate(rng: &mut Rng, cookie: &str, csrf: &str) -> Generated {
    if rng.below(10) == 0 {
        return valid_create_with_payload(rng);
    }
    let method = Method::from_bytes(rng.pick(METHODS).as_bytes()).unwrap();
    let mut path = match rng.below(10) {
        0 => format!("/{}", "a/".repeat(rng.below(2000))),
        1 => format!("/{}", percent_encode(&field_value(rng))),
        _ => rng.pick(PATHS).to_owned(),
    };
    if rng.below(3) == 0 {
        let query = match rng.below(5) {
            0 => format!("before={}", percent_encode(&field_value(rng))),
            1 => format!(
                "limit={}&limit={}",
                percent_encode(&field_value(rng)),
                rng.below(200)
            ),
            2 => format!("q={}", "z".repeat(rng.below(8000))),
            3 => format!("before={}&limit={}", rng.next() as i64, rng.next() as i32),
            _ => percent_encode(&field_value(rng)),
        };
        path = format!("{path}?{query}");
    }
    let mut headers = Vec::new();
    let content_type = rng.pick(CONTENT_TYPES);
    if !content_type.is_empty() {
        headers.push(("content-type".to_owned(), content_type.to_owned()));
    }
    if rng.below(2) == 0 {
        headers.push(("cookie".to_owned(), cookie.to_owned()));
    }
    // The shopper's token, a garbled one, or none: the API's writes parse what follows
    // only for a known token.
    match rng.below(4) {
        0 | 1 => headers.push(("authorization".to_owned(), shopper().bearer())),
        2 => {
            let garbled: String = field_value(rng)
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(100)
                .collect();
            headers.push(("authorization".to_owned(), format!("Bearer {garbled}")));
        }
        _ => {}
    }
    if rng.below(4) == 0 {
        let key: String = field_value(rng)
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(300)
            .collect();
        headers.push(("idempotency-key".to_owned(), key));
    }
    let body = match (content_type.contains("json"), content_type.contains("form")) {
        (true, _) => json_body(rng),
        (_, true) => form_body(rng, csrf),
        _ => rng.bytes(500),
    };
    Generated {
        method,
        path,
        headers,
        body,
    }
}

async fn send(
    app: &TestApp,
    request: Generated,
) -> (Generated, market_tests::testing::TestResponse) {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let response = app
        .send(
            request.method.clone(),
            &request.path,
            &headers,
            Bytes::from(request.body.clone()),
        )
        .await;
    (request, response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_hostile_requests_get_no_5xx_and_store_only_valid_rows() {
    let app = Arc::new(spawn_app().await);
    for n in 1..=5 {
        let item =
            format!(r#"{{"name":"Seed {n}","quantity":1000,"price":"9.99","description":"d"}}"#);
        assert_eq!(
            app.post_json("/api/items", &item).await.status,
            StatusCode::CREATED
        );
    }
    let (cookie, csrf) = app.csrf().await;
    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    let requests: Vec<Generated> = (0..REQUESTS)
        .map(|_| generate(&mut rng, &cookie, &csrf))
        .collect();
    let by_class: [AtomicUsize; 6] = Default::default();

    futures::stream::iter(requests)
        .map(|request| send(&app, request))
        .buffer_unordered(IN_FLIGHT)
        .for_each(|(request, response)| {
            by_class[usize::from(response.status.as_u16() / 100)].fetch_add(1, Ordering::Relaxed);
            assert!(
                !response.status.is_server_error(),
                "{} {} ({:?}) got {}: {}",
                request.method,
                request.path.chars().take(200).collect::<String>(),
                request.headers,
                response.status,
                response.text()
            );
            assert_no_internals(&response.text());
            async {}
        })
        .await;

    let counts: Vec<usize> = by_class.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    println!(
        "hostile: tried {REQUESTS} generated requests: {} 2xx, {} 3xx, {} 4xx, {} 5xx",
        counts[2], counts[3], counts[4], counts[5]
    );
    let rows = app
        .db
        .query(
            "SELECT name, quantity, description, price_cents FROM items",
            &[],
        )
        .await
        .unwrap();
    for row in &rows {
        let (name, quantity, description): (String, i32, String) =
            (row.get(0), row.get(1), row.get(2));
        assert_eq!(
            ItemName::parse(&name).map(|n| n.as_str().to_owned()),
            Ok(name.clone())
        );
        assert!(Quantity::from_i64(quantity.into()).is_ok(), "{quantity}");
        let price: i64 = row.get(3);
        assert!(Price::from_cents(price).is_ok(), "{price}");
        assert_eq!(
            Description::parse(&description).map(|d| d.as_str().to_owned()),
            Ok(description.clone())
        );
    }
    let stored_markup = rows
        .iter()
        .filter(|row| row.get::<_, String>(0).contains('<'))
        .count();
    println!(
        "hostile: {} rows stored, {stored_markup} of them with markup in the name",
        rows.len()
    );
    assert!(
        stored_markup > 0,
        "some payloads were stored, so escaping is exercised"
    );
    let html = app.get("/").await.text();
    for raw in ["<script", "<img", "<svg"] {
        assert!(
            !html.contains(raw),
            "a stored value was rendered unescaped: {raw}"
        );
    }
}
