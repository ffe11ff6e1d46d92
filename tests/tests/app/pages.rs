use hyper::{Method, StatusCode};
use market_tests::shop::SellFields;
use market_tests::testing::STYLESHEET_PATH;
use market_tests::testing::{TestApp, shopper, spawn_app};

use crate::assert_no_internals;

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn the_home_page_shows_the_sell_form_and_says_an_empty_shop_is_empty() {
    let app = spawn_app().await;

    let anonymous = app.get("/").await.text();
    let response = app
        .send(
            Method::GET,
            "/",
            &[("cookie", &shopper().session_cookie())],
            "",
        )
        .await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = response.text();
    for field in [
        r#"name="name""#,
        r#"name="quantity""#,
        r#"name="price""#,
        r#"name="description""#,
        r#"name="csrf_token""#,
        r#"name="q""#,
        "<h1>For sale</h1>",
    ] {
        assert!(html.contains(field), "missing {field}");
    }
    assert!(html.contains("Nothing is for sale right now"));
    assert!(
        html.contains("Signed in as <strong>Shopper</strong>"),
        "{html}"
    );
    assert!(
        !anonymous.contains(r#"name="description""#),
        "no sell form signed out"
    );
    assert!(anonymous.contains(" to sell."), "{anonymous}");
    assert!(anonymous.contains(r#"href="/account/sign-in""#));
}

#[tokio::test]
async fn selling_redirects_home_where_the_item_is_listed_with_a_confirmation() {
    let app = spawn_app().await;
    let (session_cookie, _) = app.csrf().await;

    let response = app
        .sell(&[
            ("name", "Brass lamp"),
            ("quantity", "3"),
            ("price", "9.99"),
            ("description", "Works, with shade."),
        ])
        .await;

    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/"));
    let notice = response
        .cookie("notice")
        .expect("a notice cookie for the confirmation");
    let cookie = format!("{session_cookie}; {notice}");
    let home = app.send(Method::GET, "/", &[("cookie", &cookie)], "").await;
    let html = home.text();
    assert!(
        html.contains("“Brass lamp” is now listed for sale."),
        "{html}"
    );
    assert!(html.contains("3 in stock"));
    assert!(html.contains("Works, with shade."));
    assert!(
        home.cookies().contains(&"notice=".to_owned()),
        "the notice is shown once"
    );
    assert_eq!(app.item_count().await, 1);
}

/// Posts `fields` as the sell form and checks the answer: 422, the form back with a
/// message beside exactly the `marked` fields and the quantity kept, nothing stored.
async fn assert_handed_back(app: &TestApp, fields: &SellFields, marked: &[&str], why: &str) {
    let response = app.sell(&fields.pairs()).await;

    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    let html = response.text();
    for field in ["name", "quantity", "price", "description"] {
        let has_message = html.contains(&format!(r#"id="{field}-error""#));
        assert_eq!(
            has_message,
            marked.contains(&field),
            "{why}: message for {field}"
        );
    }
    if let Some(quantity) = fields.get("quantity") {
        assert!(
            html.contains(&format!(r#"value="{quantity}""#)),
            "{why}: input kept"
        );
    }
    assert!(response.header("content-security-policy").is_some());
    assert_eq!(app.item_count().await, 0, "{why}: nothing stored");
}

#[tokio::test]
async fn a_form_with_every_field_missing_comes_back_with_a_message_beside_each() {
    let app = spawn_app().await;
    let nothing = ["name", "quantity", "price", "description"]
        .into_iter()
        .fold(SellFields::valid(), SellFields::without);

    assert_handed_back(
        &app,
        &nothing,
        &["name", "quantity", "price", "description"],
        "empty",
    )
    .await;
}

#[tokio::test]
async fn a_form_with_one_mistake_comes_back_with_the_input_kept_and_that_field_marked() {
    let app = spawn_app().await;
    let long_name = "n".repeat(257);
    let long_description = "d".repeat(2001);
    // (field, value, why it is invalid)
    let cases = [
        ("name", "  ", "blank name"),
        ("name", long_name.as_str(), "name too long"),
        ("name", "nul\0byte", "NUL in name"),
        ("quantity", "-1", "negative quantity"),
        ("quantity", "1000001", "quantity too large"),
        ("quantity", "2.5", "fractional quantity"),
        ("quantity", "lots", "not a number"),
        ("quantity", "99999999999999999999", "past i64"),
        ("description", "", "empty description"),
        (
            "description",
            long_description.as_str(),
            "description too long",
        ),
    ];
    for (field, value, why) in cases {
        let fields = SellFields::valid().with(field, value);
        assert_handed_back(&app, &fields, &[field], why).await;
    }
}

#[tokio::test]
async fn a_form_post_without_its_sessions_csrf_token_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let (cookie, token) = app.csrf().await;
    let someone_else = app.add_person("Someone else").await;
    let digest = market::domain::account::Secret::parse_session_id(&shopper().session)
        .unwrap()
        .digest();
    let body =
        |token: &str| format!("csrf_token={token}&name=Lamp&quantity=1&price=9.99&description=x");
    // (body, why it must be refused), each from the signed-in browser
    let cases = [
        (
            "name=Lamp&quantity=1&price=9.99&description=x".to_owned(),
            "no token",
        ),
        (body(""), "an empty token"),
        (body(&someone_else.csrf_token()), "another session's token"),
        (body(&shopper().session), "the session id itself"),
        (body(&digest), "the session's digest"),
        (body(&token.to_uppercase()), "the token in other letters"),
    ];
    for (body, reason) in cases {
        let headers = [("content-type", FORM), ("cookie", cookie.as_str())];

        let response = app.send(Method::POST, "/items", &headers, body).await;

        assert_eq!(response.status, StatusCode::FORBIDDEN, "{reason}");
        assert!(response.text().contains("Reload the page"), "{reason}");
    }
    // Without a session there is nothing a forged post could use: the browser is sent
    // to sign in, whatever it sends.
    for body in [body(&token), body("")] {
        let response = app
            .send(Method::POST, "/items", &[("content-type", FORM)], body)
            .await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert!(
            response
                .header("location")
                .is_some_and(|l| l.starts_with("/account/sign-in")),
            "{:?}",
            response.header("location")
        );
    }
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn a_form_post_a_browser_labels_cross_site_is_refused_even_with_the_token() {
    let app = spawn_app().await;
    let (cookie, token) = app.csrf().await;
    let body = format!("csrf_token={token}&name=Lamp&quantity=1&price=9.99&description=x");
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
    ] {
        let response = app
            .send(
                Method::POST,
                "/items",
                &[("content-type", FORM), ("cookie", &cookie), (header, value)],
                body.clone(),
            )
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{header}: {value}");
    }
    let same_origin = format!("http://localhost:{}", app.addr().port());
    let response = app
        .send(
            Method::POST,
            "/items",
            &[
                ("content-type", FORM),
                ("cookie", &cookie),
                ("origin", &same_origin),
                ("sec-fetch-site", "same-origin"),
            ],
            body,
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(app.item_count().await, 1);
}

#[tokio::test]
async fn the_sell_form_takes_only_its_media_types_and_urlencoded_bodies_up_to_64_kib() {
    let app = spawn_app().await;
    let (cookie, token) = app.csrf().await;
    // (multipart/form-data is the sell form with photos: tests/tests/app/photos.rs)
    for content_type in ["text/plain", "application/json"] {
        let response = app
            .send(
                Method::POST,
                "/items",
                &[("content-type", content_type), ("cookie", &cookie)],
                format!("csrf_token={token}&name=a&quantity=1&price=9.99&description=b"),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    let huge = format!(
        "csrf_token={token}&name=a&quantity=1&price=9.99&description={}",
        "b".repeat(70_000)
    );
    let response = app
        .send(
            Method::POST,
            "/items",
            &[("content-type", FORM), ("cookie", &cookie)],
            huge,
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.item_count().await, 0);
}

#[tokio::test]
async fn stored_markup_is_shown_escaped_on_the_home_page() {
    let app = spawn_app().await;
    let created = app
        .post_json(
            "/api/items",
            r#"{"name":"<script>alert('x')</script>","quantity":1,"price":"9.99","description":"<img src=x onerror=alert(1)>"}"#,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);

    let html = app.get("/").await.text();

    assert!(!html.contains("<script>alert"), "raw script tag rendered");
    assert!(!html.contains("<img src=x"), "raw img tag rendered");
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
}

#[tokio::test]
async fn the_listing_shows_fifty_newest_first_with_a_link_to_older_items() {
    let app = spawn_app().await;
    app.db
        .batch_execute(
            "INSERT INTO items (name, quantity, price_cents, description)
             SELECT 'Item ' || n, n, n * 100, 'About item ' || n FROM generate_series(1, 51) AS n",
        )
        .await
        .unwrap();

    let first = app.get("/").await.text();

    assert!(
        first.contains("Item 51") && first.contains("Item 2<"),
        "newest 50 shown"
    );
    assert!(!first.contains("Item 1<"), "the oldest is on the next page");
    assert!(
        first.find("Item 51").unwrap() < first.find("Item 50").unwrap(),
        "newest first"
    );
    let older_id: i64 = app
        .db
        .query_one("SELECT id FROM items WHERE name = 'Item 2'", &[])
        .await
        .unwrap()
        .get(0);
    let link = format!("/?before={older_id}");
    assert!(
        first.contains(&format!(r#"href="{link}""#)),
        "link to older items"
    );
    let second = app.get(&link).await;
    assert_eq!(second.status, StatusCode::OK);
    let second = second.text();
    assert!(second.contains("Item 1<") && !second.contains("Item 2<"));
    assert!(!second.contains(r#"rel="next""#), "no page after the last");
}

#[tokio::test]
async fn a_cursor_that_is_not_an_item_id_gets_a_400_page() {
    let app = spawn_app().await;
    for cursor in ["abc", "-1", "0", "1.5", "99999999999999999999"] {
        let response = app.get(&format!("/?before={cursor}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{cursor}");
        assert!(
            response
                .header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
    }
}

#[tokio::test]
async fn unknown_pages_get_the_404_page() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/items/whatever",
        "/static/missing.css",
        "/index.html",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(
            response
                .text()
                .contains("There is nothing at this address.")
        );
    }
}

#[tokio::test]
async fn every_html_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let responses = [
        ("home", app.get("/").await),
        ("404", app.get("/nope").await),
        ("405", app.send(Method::DELETE, "/", &[], "").await),
        (
            "403",
            app.send(
                Method::POST,
                "/items",
                &[
                    ("content-type", FORM),
                    ("cookie", &shopper().session_cookie()),
                ],
                "",
            )
            .await,
        ),
        ("422", app.sell(&[]).await),
    ];
    for (what, response) in responses {
        let csp = response
            .header("content-security-policy")
            .unwrap_or_default();
        assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}");
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert!(response.header("referrer-policy").is_some(), "{what}");
        assert_no_internals(&response.text());
    }
}

#[tokio::test]
async fn wrong_methods_get_405_with_the_allowed_methods() {
    let app = spawn_app().await;
    let cases = [
        (Method::POST, "/", "GET, HEAD"),
        (Method::PUT, STYLESHEET_PATH, "GET, HEAD"),
        (Method::GET, "/items", "POST"),
        (Method::DELETE, "/api/items", "GET, HEAD, POST"),
        (Method::PUT, "/api/items/1", "GET, HEAD, PATCH, DELETE"),
        (Method::POST, "/health", "GET, HEAD"),
        (Method::DELETE, "/health/ready", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = app.send(method.clone(), path, &[], "").await;
        assert_eq!(
            response.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
    }
}

#[tokio::test]
async fn the_stylesheet_is_served_at_its_hashed_url_for_a_year_and_nowhere_else() {
    let app = spawn_app().await;
    let home = app.get("/").await.text();
    let response = app.get(STYLESHEET_PATH).await;
    let old = app.get("/static/site.css").await;
    let other_hash = app.get("/static/site-0123456789abcdef.css").await;

    assert!(home.contains(&format!(
        r#"<link rel="stylesheet" href="{STYLESHEET_PATH}">"#
    )));
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert!(response.text().contains(".field-error"));
    for gone in [old, other_hash] {
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(gone.header("cache-control"), Some("no-store"));
    }
}
