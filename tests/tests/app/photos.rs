//! Photos of listings under the real Spin, with real images the tests make: what people
//! upload (a 12-megapixel phone JPEG turned sideways, PNG, WebP) goes in upright and
//! clean, at two sizes, stored once by hash; what cannot be a photo is refused with the
//! reason; the seller arranges and deletes; photos are served immutable at their hash.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::{Method, StatusCode};
use market_tests::images;
use market_tests::photos::{
    FormPart, list_as, multipart_body, multipart_type, photo_part, photos_of, post_multipart,
    upload,
};
use market_tests::testing::{TestApp, send_raw, spawn_app};
use serde_json::{Value, json};

async fn blob_count(app: &TestApp) -> i64 {
    app.db
        .query_one("SELECT count(*) FROM photo_blobs", &[])
        .await
        .unwrap()
        .get(0)
}

async fn get_bytes(app: &TestApp, path: &str) -> (StatusCode, Bytes) {
    let response = app.get(path).await;
    (response.status, response.body)
}

fn assert_clean(bytes: &[u8], what: &str) {
    for secret in images::SECRETS {
        assert!(
            !bytes.windows(secret.len()).any(|window| window == *secret),
            "{what} still carries {:?}",
            String::from_utf8_lossy(secret)
        );
    }
}

#[tokio::test]
async fn an_api_upload_answers_the_photo_and_the_item_lists_it_served_immutable_at_its_hash() {
    let app = spawn_app().await;
    let seller = app.add_person("Seller").await;
    let item = list_as(&app, &seller, "Bike").await;

    let response = upload(
        &app,
        &seller,
        item,
        "image/png",
        &images::small_png(900, 600),
    )
    .await;

    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let photo = response.json();
    assert!(photo["id"].as_i64().is_some(), "{photo}");
    assert_eq!(
        (photo["width"].as_u64(), photo["height"].as_u64()),
        (Some(900), Some(600))
    );
    assert_eq!(photo["thumbnail_width"], 400);
    assert_eq!(photo["thumbnail_height"], 300);
    let url = photo["url"].as_str().unwrap().to_owned();
    let thumbnail_url = photo["thumbnail_url"].as_str().unwrap().to_owned();
    assert_eq!(response.header("location"), Some(url.as_str()));
    assert_eq!(photos_of(&app, item).await, vec![photo.clone()]);

    for path in [&url, &thumbnail_url] {
        let served = app.get(path).await;
        assert_eq!(served.status, StatusCode::OK, "{path}");
        assert_eq!(served.header("content-type"), Some("image/jpeg"));
        assert_eq!(
            served.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
        let hash = path.trim_start_matches("/photos/").trim_end_matches(".jpg");
        assert_eq!(served.header("etag"), Some(format!("\"{hash}\"").as_str()));
        assert_eq!(
            market::domain::photo::Digest::of(&served.body).as_str(),
            hash,
            "the URL names the SHA-256 of the bytes"
        );
        assert!(served.body.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
        let again = app
            .send(
                Method::GET,
                path,
                &[("if-none-match", served.header("etag").unwrap())],
                Bytes::new(),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.body.is_empty());
    }
    let thumb = images::decode(&get_bytes(&app, &thumbnail_url).await.1);
    assert_eq!((thumb.width(), thumb.height()), (400, 300));
    let unknown = format!("/photos/{}.jpg", "0".repeat(64));
    assert_eq!(app.get(&unknown).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/photos/../etc/passwd").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_phone_photo_through_the_sell_form_is_listed_upright_without_its_metadata() {
    let app = spawn_app().await;
    let seller = app.add_person("Phone seller").await;
    let phone = images::phone_jpeg(4032, 3024, 6, true);
    assert!(
        (3_000_000..=6_000_000).contains(&phone.len()),
        "{} bytes",
        phone.len()
    );
    let second = images::webp(640, 480);

    let response = post_multipart(
        &app,
        &seller,
        "/items",
        &[
            FormPart::Text("name", "Road bike"),
            FormPart::Text("quantity", "1"),
            FormPart::Text("price", "450.00"),
            FormPart::Text("description", "56 cm frame."),
            photo_part("IMG_2041.JPG", &phone),
            FormPart::File {
                field: "photos",
                filename: "side.webp",
                content_type: "image/webp",
                bytes: &second,
            },
        ],
    )
    .await;

    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert_eq!(response.header("location"), Some("/"));
    let item: i64 = app
        .db
        .query_one("SELECT id FROM items WHERE name = 'Road bike'", &[])
        .await
        .unwrap()
        .get(0);
    let photos = photos_of(&app, item).await;
    assert_eq!(photos.len(), 2, "{photos:?}");
    // Orientation 6: stored landscape, shown portrait, longest side 1600.
    assert_eq!(
        (photos[0]["width"].as_u64(), photos[0]["height"].as_u64()),
        (Some(1200), Some(1600))
    );
    assert_eq!(
        (photos[1]["width"].as_u64(), photos[1]["height"].as_u64()),
        (Some(640), Some(480))
    );
    let (_, display) = get_bytes(&app, photos[0]["url"].as_str().unwrap()).await;
    let (_, thumbnail) = get_bytes(&app, photos[0]["thumbnail_url"].as_str().unwrap()).await;
    assert_clean(&display, "the display size");
    assert_clean(&thumbnail, "the thumbnail");
    let stored: Vec<Vec<u8>> = app
        .db
        .query("SELECT bytes FROM photo_blobs", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(stored.len(), 4);
    for bytes in &stored {
        assert_clean(bytes, "a stored rendition");
    }
    // The stored top-left (red) is the shown top-right after a quarter turn clockwise;
    // the stored top-right (blue) the shown bottom-right.
    let upright = images::decode(&display).to_rgb8();
    let top_right = images::dominant_colour(&upright, 700, 0, 1200, 700);
    let bottom_right = images::dominant_colour(&upright, 700, 900, 1200, 1600);
    assert!(
        top_right[0] > 180 && top_right[2] < 90,
        "top right is {top_right:?}"
    );
    assert!(
        bottom_right[2] > 180 && bottom_right[0] < 90,
        "bottom right is {bottom_right:?}"
    );

    let id = response.header("x-request-id").unwrap().to_owned();
    let lines = app.log_lines_after(&[&id]).await;
    let sell = lines
        .iter()
        .find(|line| line["request_id"] == id.as_str())
        .expect("the sell's log line");
    assert_eq!(
        (sell["route"].as_str(), sell["component"].as_str()),
        (Some("/items"), Some("photos"))
    );
    assert_eq!(sell["photos"], 2, "{sell}");
    println!(
        "processing a 12-megapixel phone JPEG and a WebP under Spin: {} µs, instance memory {} KiB",
        sell["photo_us"], sell["memory_kib"]
    );
    let home = app.get("/").await.text();
    let cover = photos[0]["thumbnail_url"].as_str().unwrap();
    assert!(
        home.contains(&format!(
            r#"src="{cover}" width="300" height="400" alt="Road bike""#
        )) || home.contains(&format!(
            r#"src="{cover}" width="400" height="300" alt="Road bike""#
        )),
        "{home}"
    );
}

#[tokio::test]
async fn what_cannot_be_a_photo_is_refused_with_the_reason_and_nothing_is_stored() {
    let app = spawn_app().await;
    let seller = app.add_person("Careful seller").await;
    let item = list_as(&app, &seller, "Lamp").await;
    // (what, bytes, declared type, status, words the message must hold)
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        ("HEIC", images::heic_header(), "image/jpeg", 415, "HEIC"),
        ("GIF", images::gif(), "image/png", 415, "JPEG, PNG or WebP"),
        (
            "SVG",
            images::svg_disguised_as_png(),
            "image/png",
            415,
            "markup",
        ),
        (
            "animated PNG",
            images::animated_png(),
            "image/png",
            422,
            "animated",
        ),
        (
            "animated WebP",
            images::animated_webp(),
            "image/webp",
            422,
            "animated",
        ),
        (
            "truncated JPEG",
            images::truncated_jpeg(),
            "image/jpeg",
            422,
            "cut short",
        ),
        (
            "bomb",
            images::decompression_bomb_png(),
            "image/png",
            422,
            "50000 × 50000",
        ),
        ("text", b"hello".to_vec(), "text/plain", 415, "image/jpeg"),
    ];
    for (what, bytes, content_type, status, words) in cases {
        let started = Instant::now();
        let response = upload(&app, &seller, item, content_type, &bytes).await;
        let took = started.elapsed();
        assert_eq!(
            response.status.as_u16(),
            status,
            "{what}: {}",
            response.text()
        );
        let message = response.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(words), "{what}: {message}");
        if what == "bomb" {
            assert!(took < Duration::from_millis(500), "the bomb took {took:?}");
        }
    }
    assert_eq!(blob_count(&app).await, 0);
    assert!(photos_of(&app, item).await.is_empty());
}

#[tokio::test]
async fn a_file_over_the_limit_gets_413_before_its_body_is_sent() {
    let app = spawn_app().await;
    let seller = app.add_person("Big file").await;
    let item = list_as(&app, &seller, "Poster").await;
    // 16 MiB declared, a few bytes sent: the answer comes without the rest.
    let head = format!(
        "POST /api/items/{item}/photos HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\n\
         Content-Type: image/jpeg\r\nContent-Length: 16777216\r\nConnection: close\r\n\r\n\
         \u{ff}",
        seller.bearer()
    );
    let started = Instant::now();
    let answer = send_raw(app.addr(), head.as_bytes()).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("15 MiB"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Through the form, the file that passes the limit is named.
    let big = vec![0xFF; 15 * 1024 * 1024 + 1];
    let response = post_multipart(
        &app,
        &seller,
        &format!("/items/{item}/photos"),
        &[photo_part("huge.jpg", &big)],
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        response.text()
    );
    assert!(response.text().contains("“huge.jpg” is larger than 15 MiB"));
    let id = response.header("x-request-id").unwrap().to_owned();
    let lines = app.log_lines_after(&[&id]).await;
    let line = lines
        .iter()
        .find(|line| line["request_id"] == id.as_str())
        .unwrap();
    println!("refusing a file over the limit: {line}");
}

#[tokio::test]
async fn a_listing_takes_eight_photos_and_two_racing_for_the_last_place_get_one() {
    let app = spawn_app().await;
    let seller = app.add_person("Eight").await;
    let item = list_as(&app, &seller, "Chair").await;
    for n in 0..7 {
        let png = images::small_png(200 + n, 150);
        assert_eq!(
            upload(&app, &seller, item, "image/png", &png).await.status,
            StatusCode::CREATED
        );
    }
    let (a, b) = (images::small_png(300, 200), images::small_png(310, 200));
    let (first, second) = tokio::join!(
        upload(&app, &seller, item, "image/png", &a),
        upload(&app, &seller, item, "image/png", &b)
    );
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 422], "{} / {}", first.text(), second.text());
    let ninth = upload(
        &app,
        &seller,
        item,
        "image/png",
        &images::small_png(320, 200),
    )
    .await;
    assert_eq!(ninth.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        ninth.json()["error"]
            .as_str()
            .unwrap()
            .contains("at most 8 photos")
    );
    assert_eq!(photos_of(&app, item).await.len(), 8);
    // Each listing's own blobs, nothing left of the refused ones.
    assert_eq!(blob_count(&app).await, 16);
}

#[tokio::test]
async fn the_same_bytes_are_stored_once_and_a_deleted_photo_is_gone_at_once() {
    let app = spawn_app().await;
    let seller = app.add_person("Twice").await;
    let (one, two) = (
        list_as(&app, &seller, "One").await,
        list_as(&app, &seller, "Two").await,
    );
    let png = images::small_png(800, 600);
    let first = upload(&app, &seller, one, "image/png", &png).await.json();
    let again = upload(&app, &seller, two, "image/png", &png).await.json();
    assert_eq!(first["url"], again["url"]);
    assert_eq!(blob_count(&app).await, 2, "display and thumbnail, once");

    let delete = |item: i64, photo: &Value| {
        let path = format!("/api/items/{item}/photos/{}", photo["id"]);
        let bearer = seller.bearer();
        let app = &app;
        async move {
            app.send(
                Method::DELETE,
                &path,
                &[("authorization", &bearer)],
                Bytes::new(),
            )
            .await
        }
    };
    assert_eq!(delete(one, &first).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        blob_count(&app).await,
        2,
        "still shown by the other listing"
    );
    assert_eq!(
        app.get(again["url"].as_str().unwrap()).await.status,
        StatusCode::OK
    );
    assert_eq!(delete(two, &again).await.status, StatusCode::NO_CONTENT);
    assert_eq!(blob_count(&app).await, 0);
    assert_eq!(
        app.get(again["url"].as_str().unwrap()).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(photos_of(&app, two).await.is_empty());
    assert_eq!(delete(two, &again).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_seller_orders_and_describes_photos_and_the_pages_show_them_so() {
    let app = spawn_app().await;
    let seller = app.add_person("Arranger").await;
    let item = list_as(&app, &seller, "Sofa").await;
    let mut ids = Vec::new();
    for width in [500, 600, 700] {
        let photo = upload(
            &app,
            &seller,
            item,
            "image/png",
            &images::small_png(width, 400),
        )
        .await;
        ids.push(photo.json()["id"].as_i64().unwrap());
    }
    let patch = app
        .send(
            Method::PATCH,
            &format!("/api/items/{item}/photos/{}", ids[2]),
            &[
                ("content-type", "application/json"),
                ("authorization", &seller.bearer()),
            ],
            json!({"position": 0, "description": "Front, in daylight"}).to_string(),
        )
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text());
    assert_eq!(patch.json()["description"], "Front, in daylight");
    let order: Vec<i64> = photos_of(&app, item)
        .await
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, [ids[2], ids[0], ids[1]]);

    // The edit page's buttons: the last photo becomes the cover, then moves back.
    let edit = app
        .get_with_cookie(&format!("/items/{item}/edit"), &seller.session_cookie())
        .await;
    assert!(
        edit.text().contains(r#"value="Front, in daylight""#),
        "{}",
        edit.text()
    );
    let moved = app
        .post_form(
            Some(&seller.session_cookie()),
            &format!("/items/{item}/photos/{}", ids[1]),
            &[("action", "first"), ("description", "")],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text());
    let later = app
        .post_form(
            Some(&seller.session_cookie()),
            &format!("/items/{item}/photos/{}", ids[1]),
            &[("action", "later")],
        )
        .await;
    assert_eq!(later.status, StatusCode::SEE_OTHER);
    let order: Vec<i64> = photos_of(&app, item)
        .await
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, [ids[2], ids[1], ids[0]]);

    let page = app.get(&format!("/items/{item}")).await.text();
    let first = page
        .find(r#"alt="Front, in daylight""#)
        .expect("the described photo");
    let second = page
        .find(r#"alt="Sofa""#)
        .expect("an undescribed photo takes the item's name");
    assert!(first < second, "in order");
    assert_eq!(page.matches("<img").count(), 3);
    assert_eq!(
        page.matches(r#"loading="lazy""#).count(),
        2,
        "all but the first wait"
    );

    let bad = app
        .send(
            Method::PATCH,
            &format!("/api/items/{item}/photos/{}", ids[2]),
            &[
                ("content-type", "application/json"),
                ("authorization", &seller.bearer()),
            ],
            json!({"position": 9}).to_string(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("position"));
}

#[tokio::test]
async fn the_listing_is_a_grid_of_covers_with_placeholders_within_its_byte_budget() {
    let app = spawn_app().await;
    let seller = app.add_person("Many").await;
    let mut covered = Vec::new();
    for n in 0..20 {
        let item = list_as(&app, &seller, &format!("Item {n}")).await;
        if n % 4 != 0 {
            let photo = images::phone_jpeg(1200, 900, 1, false);
            let response = upload(&app, &seller, item, "image/jpeg", &photo).await;
            assert_eq!(response.status, StatusCode::CREATED);
            covered.push(
                response.json()["thumbnail_url"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    let home = app.get("/").await;
    let html = home.text();
    assert_eq!(html.matches("No photo yet").count(), 5);
    for image in html.split("<img").skip(1) {
        let tag = &image[..image.find('>').unwrap()];
        for attribute in ["width=", "height=", "alt="] {
            assert!(tag.contains(attribute), "an <img{tag}> without {attribute}");
        }
    }
    let eager = html
        .split("<img")
        .skip(1)
        .filter(|tag| !tag[..tag.find('>').unwrap()].contains("lazy"))
        .count();
    assert!(
        eager <= market::web::photo_views::EAGER_COVERS,
        "{eager} covers load at once"
    );
    let mut bytes = home.body.len();
    for url in &covered {
        bytes += app.get(url).await.body.len();
    }
    println!(
        "first page of the listing: {} bytes of HTML, {bytes} with its {} covers",
        home.body.len(),
        covered.len()
    );
    // The budget (README, Photos): the first page's HTML and every cover on it.
    assert!(bytes <= LISTING_BYTE_BUDGET, "{bytes} bytes");
}

/// The first page of the listing, its HTML and all its cover thumbnails, uncompressed.
const LISTING_BYTE_BUDGET: usize = 1_500_000;

#[tokio::test]
async fn a_withdrawn_listing_keeps_its_photos_and_takes_no_more() {
    let app = spawn_app().await;
    let seller = app.add_person("Withdrawer").await;
    let item = list_as(&app, &seller, "Old radio").await;
    let photo = upload(
        &app,
        &seller,
        item,
        "image/png",
        &images::small_png(400, 300),
    )
    .await
    .json();
    let withdrawn = app
        .send(
            Method::DELETE,
            &format!("/api/items/{item}"),
            &[("authorization", &seller.bearer())],
            Bytes::new(),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::NO_CONTENT);
    let page = app.get(&format!("/items/{item}")).await.text();
    assert!(page.contains(photo["url"].as_str().unwrap()), "{page}");
    let more = upload(
        &app,
        &seller,
        item,
        "image/png",
        &images::small_png(400, 300),
    )
    .await;
    assert_eq!(more.status, StatusCode::CONFLICT, "{}", more.text());
}

#[tokio::test]
async fn a_form_with_a_refused_photo_comes_back_with_the_reason_and_the_fields_kept() {
    let app = spawn_app().await;
    let seller = app.add_person("Heic seller").await;
    let heic = images::heic_header();
    let response = post_multipart(
        &app,
        &seller,
        "/items",
        &[
            FormPart::Text("name", "Kettle"),
            FormPart::Text("quantity", "1"),
            FormPart::Text("price", "12.00"),
            FormPart::Text("description", "Barely used."),
            photo_part("IMG_0001.HEIC", &heic),
        ],
    )
    .await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let html = response.text();
    assert!(html.contains("“IMG_0001.HEIC” is a HEIC photo"), "{html}");
    assert!(html.contains(r#"value="Kettle""#), "{html}");
    assert_eq!(app.item_count().await, 0);

    // Without a session the files are never looked at.
    let anonymous = app
        .send(
            Method::POST,
            "/items",
            &[("content-type", &multipart_type())],
            Bytes::from(multipart_body(&[photo_part(
                "a.jpg",
                &images::phone_jpeg(64, 48, 1, false),
            )])),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    let id = anonymous.header("x-request-id").unwrap().to_owned();
    let line = app.log_lines_after(&[&id]).await;
    let line = line
        .iter()
        .find(|line| line["request_id"] == id.as_str())
        .unwrap();
    assert_eq!(
        line["photos"],
        Value::Null,
        "no photo was processed: {line}"
    );
}

/// The largest photos the rules accept, each alone, and the instance memory each needed:
/// the JPEG that decodes to the most pixels (3199 × 3199: one pixel less and it would be
/// decoded at half size), a 24-megapixel JPEG (decoded at half size), a PNG of the most
/// pixels PNG and WebP may have, with transparency, and a JPEG file of nearly the size
/// limit. Each must be taken under
/// the memory cap of runtime-config.toml (a trap there is a 500).
#[tokio::test]
async fn the_largest_photos_the_rules_accept_fit_in_the_memory_cap() {
    let app = spawn_app().await;
    let seller = app.add_person("Large").await;
    let item = list_as(&app, &seller, "Panorama").await;
    let mut near_limit = images::phone_jpeg(4032, 3024, 1, false);
    // A JPEG may carry trailing bytes after its end: pad it to just under 15 MiB.
    near_limit.resize(15 * 1024 * 1024 - 16, 0);
    let cases = [
        (
            "3199 × 3199 JPEG",
            images::phone_jpeg(3199, 3199, 8, true),
            "image/jpeg",
        ),
        (
            "24-megapixel JPEG",
            images::phone_jpeg(6000, 4000, 6, true),
            "image/jpeg",
        ),
        (
            "8.4-megapixel PNG with alpha",
            images::png_with_alpha(4096, 2048),
            "image/png",
        ),
        ("a JPEG file of 15 MiB", near_limit, "image/jpeg"),
    ];
    for (what, bytes, content_type) in cases {
        let response = if what.ends_with("15 MiB") {
            // Through the edit page's form: the parser's buffer, not the API's.
            let response = post_multipart(
                &app,
                &seller,
                &format!("/items/{item}/photos"),
                &[photo_part("large.jpg", &bytes)],
            )
            .await;
            assert_eq!(
                response.status,
                StatusCode::SEE_OTHER,
                "{what}: {}",
                response.text()
            );
            response
        } else {
            let response = upload(&app, &seller, item, content_type, &bytes).await;
            assert_eq!(
                response.status,
                StatusCode::CREATED,
                "{what}: {}",
                response.text()
            );
            response
        };
        let id = response.header("x-request-id").unwrap().to_owned();
        let lines = app.log_lines_after(&[&id]).await;
        let line = lines
            .iter()
            .find(|line| line["request_id"] == id.as_str())
            .unwrap();
        println!(
            "{what} ({} bytes): {} µs, instance memory {} KiB",
            bytes.len(),
            line["photo_us"],
            line["memory_kib"]
        );
    }
}

/// PNGs of every colour type a PNG may have: grey, grey with transparency, colour with
/// transparency, and a palette; each is taken and shown on white.
#[tokio::test]
async fn every_kind_of_png_is_taken() {
    use image::ImageEncoder;
    let app = spawn_app().await;
    let seller = app.add_person("Greys").await;
    let item = list_as(&app, &seller, "Greyscale print").await;
    let encode = |raw: &[u8], colour: image::ExtendedColorType| {
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(raw, 3, 2, colour)
            .unwrap();
        png
    };
    let cases = [
        (
            "grey",
            encode(&[0, 50, 100, 150, 200, 250], image::ExtendedColorType::L8),
        ),
        (
            "grey with alpha",
            encode(&[9; 12], image::ExtendedColorType::La8),
        ),
        ("colour with alpha", images::png_with_alpha(300, 200)),
    ];
    for (what, png) in cases {
        let response = upload(&app, &seller, item, "image/png", &png).await;
        assert_eq!(
            response.status,
            StatusCode::CREATED,
            "{what}: {}",
            response.text()
        );
    }
}
