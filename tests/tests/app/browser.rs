//! People using the marketplace in headless Chromium, through nginx: sign up, list an
//! item, see it with the confirmation, make mistakes and see them marked with the input
//! kept, change the listing, buy it as another person, and sign out. Screenshots of each
//! state go to `target/test-artifacts/browser/`.

use fantoccini::Locator;
use market_tests::browser::{
    ChromeDriver, assert_no_violations, axe_source, click, fill, open_verification_link,
    screenshot, sell, sign_in, sign_out, sign_up, text_of, wcag_violations,
};
use market_tests::nginx::Nginx;
use market_tests::shop::ApiItem;
use market_tests::testing::{merchant, shopper, spawn_app};

#[tokio::test]
async fn a_person_signs_up_lists_corrects_and_changes_an_item_and_another_buys_it() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let base = format!("http://{}", nginx.addr);
    let home = format!("{base}/");

    browser.goto(&home).await.unwrap();
    assert!(
        text_of(&browser, ".empty")
            .await
            .contains("Nothing is for sale right now")
    );
    screenshot(&browser, "1-empty-shop.png").await;
    sign_up(&browser, &base, "Alice", "alice@example.com").await;
    assert!(
        text_of(&browser, ".signed-in")
            .await
            .contains("Signed in as Alice")
    );
    // Alice opens the link the shop mailed her: she may list.
    open_verification_link(&browser, &base, &app.db, "alice@example.com").await;

    sell(
        &browser,
        "Green bicycle",
        "2",
        "149.90",
        "City bike, 7 gears, new tyres.",
    )
    .await;

    let confirmation = text_of(&browser, "#confirmation").await;
    assert_eq!(confirmation, "“Green bicycle” is now listed for sale.");
    let listed = text_of(&browser, "ol.items li:first-child").await;
    assert!(
        listed.contains("Green bicycle")
            && listed.contains("2 in stock")
            && listed.contains("149.90 EUR"),
        "{listed}"
    );
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/",
        "redirected home"
    );
    screenshot(&browser, "2-item-listed.png").await;

    sell(&browser, "   ", "-3", "1,50", "Kept as typed").await;

    assert!(
        text_of(&browser, "#quantity-error")
            .await
            .contains("whole number from 0 to 1000000")
    );
    assert!(
        text_of(&browser, "#name-error")
            .await
            .contains("Enter a name")
    );
    assert!(
        browser
            .find_all(Locator::Id("description-error"))
            .await
            .unwrap()
            .is_empty()
    );
    let kept = browser
        .find(Locator::Id("description"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Kept as typed"));
    let quantity = browser
        .find(Locator::Id("quantity"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(quantity.as_deref(), Some("-3"));
    screenshot(&browser, "3-form-with-mistakes.png").await;
    assert_eq!(app.item_count().await, 1, "only the valid item was stored");

    // Alice lowers the price on her item's page.
    browser.goto(&home).await.unwrap();
    click(&browser, "ol.items li:first-child h3 a").await;
    let item_url = browser.current_url().await.unwrap();
    click(&browser, ".seller-actions a").await;
    fill(&browser, "price", "129.90").await;
    click(&browser, "#edit-form button[type=submit]").await;
    assert_eq!(
        text_of(&browser, "#confirmation").await,
        "“Green bicycle” is saved with your changes."
    );
    assert!(text_of(&browser, ".price").await.contains("129.90 EUR"));
    screenshot(&browser, "4-item-changed.png").await;
    sign_out(&browser).await;

    // Bob signs up, buys one, and finds it among his purchases.
    sign_up(&browser, &base, "Bob", "bob@example.com").await;
    browser.goto(item_url.as_str()).await.unwrap();
    assert!(text_of(&browser, ".added").await.contains("by Alice"));
    assert!(
        browser
            .find_all(Locator::Css(".seller-actions"))
            .await
            .unwrap()
            .is_empty(),
        "only the seller may change it"
    );
    click(&browser, "form.buy button[type=submit]").await;
    assert_eq!(
        text_of(&browser, "#confirmation").await,
        "You bought 1 × “Green bicycle”."
    );
    click(&browser, "a[href='/account/purchases']").await;
    let bought = text_of(&browser, "table.records tbody tr").await;
    assert!(
        bought.contains("Green bicycle") && bought.contains("129.90 EUR"),
        "{bought}"
    );
    screenshot(&browser, "5-my-purchases.png").await;
    sign_out(&browser).await;
    assert!(
        text_of(&browser, "nav.account").await.contains("Sign in"),
        "signed out for good"
    );

    browser.close().await.unwrap();
    let sold: i64 = app
        .db
        .query_one(
            "SELECT count(*) FROM purchases JOIN accounts ON accounts.id = buyer_id
             WHERE accounts.display_name = 'Bob' AND price_cents = 12990",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sold, 1, "Bob bought one at the changed price");
}

#[tokio::test]
async fn arriving_from_another_site_keeps_the_forms_in_open_tabs_working() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    // `localhost` and a `data:` page are different sites: following the link is a
    // cross-site navigation, on which a `SameSite=Strict` cookie would not be sent.
    let home = format!("http://localhost:{}/", nginx.addr.port());
    sign_in(&browser, home.trim_end_matches('/'), shopper()).await;
    browser.goto(&home).await.unwrap();
    let first_tab = browser.window().await.unwrap();

    let other_tab = browser.new_window(true).await.unwrap().handle;
    browser.switch_to_window(other_tab).await.unwrap();
    let other_site = format!("data:text/html,<a id=go href=\"{home}\">The marketplace</a>");
    browser.goto(&other_site).await.unwrap();
    browser
        .find(Locator::Id("go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_of(&browser, "#sell-heading").await;
    browser.close_window().await.unwrap();
    browser.switch_to_window(first_tab).await.unwrap();
    sell(
        &browser,
        "Desk lamp",
        "1",
        "20",
        "Listed from the first tab.",
    )
    .await;

    let confirmation = text_of(&browser, "#confirmation").await;
    assert_eq!(confirmation, "“Desk lamp” is now listed for sale.");
    browser.close().await.unwrap();
    assert_eq!(app.item_count().await, 1);
}

#[tokio::test]
async fn every_page_state_passes_axe_for_wcag_2_1_a_and_aa() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let base = format!("http://{}", nginx.addr);
    let axe = axe_source();
    // The shopper (signed in below) sells the desk and the vase; the merchant the lamp
    // and the clock, which the shopper buys (nobody buys their own listing).
    let mut ids = Vec::new();
    for (name, quantity, price, seller) in [
        ("Brass lamp", 3, "15", merchant()),
        ("Oak desk", 1_000_000, "1234.50", shopper()),
        ("Sold-out clock", 1, "40", merchant()),
    ] {
        let item = ApiItem::named(name)
            .quantity(quantity)
            .price(price)
            .description("A lamp-friendly piece, in good condition.");
        ids.push(item.list_as(&app, seller).await["id"].as_i64().unwrap());
    }
    let sold_out = app
        .post_json(&format!("/api/items/{}/buy", ids[2]), r#"{"quantity":1}"#)
        .await;
    assert_eq!(
        sold_out.status,
        hyper::StatusCode::OK,
        "{}",
        sold_out.text()
    );
    let withdrawn = ApiItem::named("Withdrawn vase")
        .list_as(&app, shopper())
        .await["id"]
        .as_i64()
        .unwrap();
    let withdrawal = app
        .send(
            hyper::Method::DELETE,
            &format!("/api/items/{withdrawn}"),
            &[("authorization", &shopper().bearer())],
            "",
        )
        .await;
    assert_eq!(withdrawal.status, hyper::StatusCode::NO_CONTENT);

    // (page state, how to reach it): first signed out, then signed in.
    let mut checked = Vec::new();
    for (state, path) in [
        ("home-signed-out", "/".to_owned()),
        ("sign-up", "/account/sign-up".to_owned()),
        ("sign-in", "/account/sign-in".to_owned()),
    ] {
        browser.goto(&format!("{base}{path}")).await.unwrap();
        checked.push((state, wcag_violations(&browser, &axe).await));
        screenshot(&browser, &format!("a11y-{state}.png")).await;
    }
    fill(&browser, "email", "nobody@example.com").await;
    fill(&browser, "password", "not the password at all").await;
    click(&browser, "#sign-in-form button[type=submit]").await;
    text_of(&browser, "#form-errors").await;
    checked.push(("sign-in-refused", wcag_violations(&browser, &axe).await));
    browser
        .goto(&format!("{base}/account/sign-up"))
        .await
        .unwrap();
    fill(&browser, "email", "not an email").await;
    fill(&browser, "password", "short").await;
    click(&browser, "#sign-up-form button[type=submit]").await;
    text_of(&browser, "#password-error").await;
    checked.push((
        "sign-up-with-mistakes",
        wcag_violations(&browser, &axe).await,
    ));
    screenshot(&browser, "a11y-sign-up-with-mistakes.png").await;
    sign_in(&browser, &base, shopper()).await;
    for (state, path) in [
        ("home", "/".to_owned()),
        ("account", "/account".to_owned()),
        ("my-purchases", "/account/purchases".to_owned()),
        ("my-listings", "/account/listings".to_owned()),
        ("edit-item", format!("/items/{}/edit", ids[1])),
        ("withdrawn-item-page", format!("/items/{withdrawn}")),
        ("item-page", format!("/items/{}", ids[0])),
        ("own-item-page", format!("/items/{}", ids[1])),
        ("sold-out-item-page", format!("/items/{}", ids[2])),
        ("search-results", "/?q=lamp".to_owned()),
        ("search-nothing-found", "/?q=submarine".to_owned()),
        ("with-sold-out", "/?sold_out=show".to_owned()),
        ("not-found", "/no/such/page".to_owned()),
    ] {
        browser.goto(&format!("{base}{path}")).await.unwrap();
        checked.push((state, wcag_violations(&browser, &axe).await));
        screenshot(&browser, &format!("a11y-{state}.png")).await;
    }
    browser.goto(&format!("{base}/")).await.unwrap();
    sell(&browser, "", "many", "1.234", "Kept").await;
    text_of(&browser, "#name-error").await;
    checked.push(("form-with-mistakes", wcag_violations(&browser, &axe).await));
    screenshot(&browser, "a11y-form-with-mistakes.png").await;
    browser
        .goto(&format!("{base}/items/{}", ids[0]))
        .await
        .unwrap();
    fill(&browser, &format!("buy-quantity-{}", ids[0]), "9").await;
    browser
        .find(Locator::Css("form.buy button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    text_of(&browser, &format!("#buy-error-{}", ids[0])).await;
    checked.push(("failed-buy", wcag_violations(&browser, &axe).await));
    screenshot(&browser, "a11y-failed-buy.png").await;
    browser
        .goto(&format!("{base}/items/{}/edit", ids[1]))
        .await
        .unwrap();
    fill(&browser, "price", "free").await;
    click(&browser, "#edit-form button[type=submit]").await;
    text_of(&browser, "#price-error").await;
    checked.push(("edit-with-mistakes", wcag_violations(&browser, &axe).await));
    browser.goto(&format!("{base}/account")).await.unwrap();
    fill(&browser, "token_name", "a11y script").await;
    click(&browser, "#token-form button[type=submit]").await;
    text_of(&browser, "#new-token-value").await;
    checked.push(("account-new-token", wcag_violations(&browser, &axe).await));
    screenshot(&browser, "a11y-account-new-token.png").await;
    browser.close().await.unwrap();

    assert_no_violations(&checked);
}
