//! A seller adds photos as a person does, in headless Chromium through nginx: picks two
//! files in the sell form's file input (a 12-megapixel phone photo taken sideways, and a
//! PNG), sees the listing's card with the cover, opens the item page with both photos
//! upright, then on the edit page adds one more and makes it the cover. axe-core finds no
//! WCAG 2.1 A/AA violation on the listing, the item page or the edit page with photos.
//! Screenshots: `target/test-artifacts/browser/photos-*.png`.

use fantoccini::{Client, Locator};
use market_tests::browser::{
    ChromeDriver, artifacts_dir, assert_no_violations, axe_source, click, fill, screenshot,
    sign_in, text_of, wcag_violations,
};
use market_tests::images;
use market_tests::nginx::Nginx;
use market_tests::photos::photos_of;
use market_tests::testing::spawn_app;

/// Picks `paths` in the file input `id`, as a person choosing several files does.
async fn choose_files(browser: &Client, id: &str, paths: &[std::path::PathBuf]) {
    let input = browser.find(Locator::Id(id)).await.unwrap();
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    input.send_keys(&paths.join("\n")).await.unwrap();
}

/// Whether the image `css` finds has loaded (a broken image has no natural width).
async fn loaded_width(browser: &Client, css: &str) -> u64 {
    let image = browser.find(Locator::Css(css)).await.unwrap();
    let width = browser
        .execute(
            "return arguments[0].complete ? arguments[0].naturalWidth : -1;",
            vec![serde_json::to_value(&image).unwrap()],
        )
        .await
        .unwrap();
    width.as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_seller_lists_with_photos_from_the_file_input_and_sees_them() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let base = format!("http://{}", nginx.addr);
    let axe = axe_source();
    let seller = app.add_person("Photo Seller").await;

    let files = artifacts_dir().join("upload");
    std::fs::create_dir_all(&files).unwrap();
    // Chromium takes only canonical paths.
    let files = files.canonicalize().unwrap();
    let phone = files.join("IMG_4032.JPG");
    std::fs::write(&phone, images::phone_jpeg(4032, 3024, 6, true)).unwrap();
    let screenshot_png = files.join("detail.png");
    std::fs::write(&screenshot_png, images::png_with_alpha(800, 600)).unwrap();
    let third = files.join("third.webp");
    std::fs::write(&third, images::webp(640, 480)).unwrap();

    sign_in(&browser, &base, &seller).await;
    fill(&browser, "name", "Touring bicycle").await;
    fill(&browser, "quantity", "1").await;
    fill(&browser, "price", "380").await;
    fill(&browser, "description", "Steel frame, 58 cm, new tyres.").await;
    choose_files(&browser, "photos", &[phone.clone(), screenshot_png.clone()]).await;
    click(&browser, "#sell-form button[type=submit]").await;
    let confirmation = text_of(&browser, "#confirmation").await;
    assert_eq!(confirmation, "“Touring bicycle” is now listed for sale.");

    let item: i64 = app
        .db
        .query_one("SELECT id FROM items WHERE name = 'Touring bicycle'", &[])
        .await
        .unwrap()
        .get(0);
    let photos = photos_of(&app, item).await;
    assert_eq!(photos.len(), 2, "{photos:?}");
    assert_eq!(photos[0]["width"], 1200, "upright: portrait");
    let cover = format!("#item-{item} img.cover");
    assert_eq!(
        loaded_width(&browser, &cover).await,
        400,
        "the cover thumbnail shows"
    );
    let listing_violations = wcag_violations(&browser, &axe).await;
    screenshot(&browser, "photos-listing.png").await;

    browser.goto(&format!("{base}/items/{item}")).await.unwrap();
    assert_eq!(
        loaded_width(&browser, "ul.gallery li:first-child img").await,
        1200
    );
    let item_violations = wcag_violations(&browser, &axe).await;
    screenshot(&browser, "photos-item-page.png").await;

    browser
        .goto(&format!("{base}/items/{item}/edit"))
        .await
        .unwrap();
    choose_files(&browser, "new-photos", &[third]).await;
    click(&browser, "#photo-upload button[type=submit]").await;
    let photos = photos_of(&app, item).await;
    assert_eq!(photos.len(), 3);
    let newest = photos[2]["id"].as_i64().unwrap();
    fill(
        &browser,
        &format!("description-{newest}"),
        "The gears, close up",
    )
    .await;
    click(&browser, &format!("#photo-{newest} button[value=first]")).await;
    let photos = photos_of(&app, item).await;
    assert_eq!(photos[0]["id"].as_i64(), Some(newest), "the new cover");
    assert_eq!(photos[0]["description"], "The gears, close up");
    let edit_violations = wcag_violations(&browser, &axe).await;
    screenshot(&browser, "photos-edit-page.png").await;
    browser.goto(&format!("{base}/")).await.unwrap();
    let alt = browser
        .find(Locator::Css(&cover))
        .await
        .unwrap()
        .attr("alt")
        .await
        .unwrap();
    assert_eq!(alt.as_deref(), Some("The gears, close up"));
    browser.close().await.unwrap();

    assert_no_violations(&[
        ("listing with photos", listing_violations),
        ("item page with photos", item_violations),
        ("edit page with photos", edit_violations),
    ]);
}
