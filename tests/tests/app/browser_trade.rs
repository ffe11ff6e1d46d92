//! A whole trade as two people play it, in headless Chromium through nginx: Alice lists a
//! bike, Bob asks about it, Alice answers, Bob buys it, Alice ships it, Bob confirms it
//! arrived, both review each other, and Bob's review shows on Alice's profile. axe-core
//! checks every new page state on the way. Screenshots:
//! `target/test-artifacts/browser/trade-*.png`.

use fantoccini::Locator;
use market_tests::browser::{
    ChromeDriver, assert_no_violations, axe_source, click, fill, main_text, screenshot, sell,
    sign_in, sign_out, text_of, wcag_violations,
};
use market_tests::nginx::Nginx;
use market_tests::testing::{TestApp, spawn_app};

async fn one_value(app: &TestApp, sql: &str) -> i64 {
    app.db.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn alice_and_bob_trade_a_bike_from_question_to_review() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let base = format!("http://{}", nginx.addr);
    let axe = axe_source();
    let alice = app.add_person("Alice").await;
    let bob = app.add_person("Bob").await;
    let mut checked = Vec::new();

    // Alice lists a bike.
    sign_in(&browser, &base, &alice).await;
    browser.goto(&format!("{base}/")).await.unwrap();
    sell(
        &browser,
        "Road bike",
        "1",
        "450",
        "58 cm steel frame, new tyres.",
    )
    .await;
    assert_eq!(
        text_of(&browser, "#confirmation").await,
        "“Road bike” is now listed for sale."
    );
    let item = one_value(&app, "SELECT id FROM items WHERE name = 'Road bike'").await;
    sign_out(&browser).await;

    // Bob asks whether it suits him.
    sign_in(&browser, &base, &bob).await;
    browser.goto(&format!("{base}/items/{item}")).await.unwrap();
    checked.push((
        "item page with ask form",
        wcag_violations(&browser, &axe).await,
    ));
    fill(&browser, "ask-text", "Does it suit someone 1.80 m tall?").await;
    click(&browser, "#ask-form button[type=submit]").await;
    assert!(
        main_text(&browser)
            .await
            .contains("Does it suit someone 1.80 m tall?")
    );
    checked.push(("conversation", wcag_violations(&browser, &axe).await));
    sign_out(&browser).await;

    // Alice sees it in her inbox and answers.
    sign_in(&browser, &base, &alice).await;
    let header = browser
        .find(Locator::Css("nav.account"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(header.contains("Inbox (1 unread)"), "{header}");
    browser
        .goto(&format!("{base}/conversations"))
        .await
        .unwrap();
    let inbox = main_text(&browser).await;
    assert!(
        inbox.contains("Road bike") && inbox.contains("1 unread"),
        "{inbox}"
    );
    checked.push(("inbox", wcag_violations(&browser, &axe).await));
    click(&browser, "main a[href^='/conversations/']").await;
    fill(
        &browser,
        "reply-text",
        "Yes: it fits riders from 1.75 to 1.90 m.",
    )
    .await;
    click(&browser, "#reply-form button[type=submit]").await;
    assert!(
        main_text(&browser)
            .await
            .contains("it fits riders from 1.75")
    );
    checked.push((
        "conversation with reply",
        wcag_violations(&browser, &axe).await,
    ));
    sign_out(&browser).await;

    // Bob reads the answer and buys.
    sign_in(&browser, &base, &bob).await;
    browser.goto(&format!("{base}/items/{item}")).await.unwrap();
    click(&browser, "form.buy button[type=submit]").await;
    assert!(
        text_of(&browser, "#confirmation")
            .await
            .starts_with("You bought")
    );
    let order = one_value(&app, "SELECT id FROM purchases").await;
    sign_out(&browser).await;

    // Alice ships it, with the tracking number.
    sign_in(&browser, &base, &alice).await;
    browser.goto(&format!("{base}/notices")).await.unwrap();
    assert!(main_text(&browser).await.contains("An order to ship"));
    checked.push(("notices", wcag_violations(&browser, &axe).await));
    browser
        .goto(&format!("{base}/orders?role=seller"))
        .await
        .unwrap();
    checked.push(("my sales", wcag_violations(&browser, &axe).await));
    browser
        .goto(&format!("{base}/orders/{order}"))
        .await
        .unwrap();
    checked.push(("order to ship", wcag_violations(&browser, &axe).await));
    fill(&browser, "note", "DHL 00340434161094042557").await;
    click(&browser, "form.order-action button[type=submit]").await;
    assert!(
        main_text(&browser)
            .await
            .contains("DHL 00340434161094042557")
    );
    sign_out(&browser).await;

    // Bob confirms it arrived and reviews Alice.
    sign_in(&browser, &base, &bob).await;
    browser
        .goto(&format!("{base}/orders/{order}"))
        .await
        .unwrap();
    checked.push(("shipped order", wcag_violations(&browser, &axe).await));
    click(&browser, "form.order-action button[type=submit]").await;
    checked.push((
        "received order with review form",
        wcag_violations(&browser, &axe).await,
    ));
    browser
        .find(Locator::Id("rating-5"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(
        &browser,
        "review-text",
        "Exactly as described, and well packed.",
    )
    .await;
    click(&browser, "#review-form button[type=submit]").await;
    checked.push((
        "order reviewed by one",
        wcag_violations(&browser, &axe).await,
    ));
    sign_out(&browser).await;

    // Alice reviews Bob; both reviews show.
    sign_in(&browser, &base, &alice).await;
    browser
        .goto(&format!("{base}/orders/{order}"))
        .await
        .unwrap();
    browser
        .find(Locator::Id("rating-5"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&browser, "review-text", "Quick to pay, friendly.").await;
    click(&browser, "#review-form button[type=submit]").await;
    let order_page = main_text(&browser).await;
    assert!(order_page.contains("Exactly as described"), "{order_page}");
    checked.push((
        "order reviewed by both",
        wcag_violations(&browser, &axe).await,
    ));
    screenshot(&browser, "trade-order-page.png").await;

    let alice_id = one_value(&app, "SELECT id FROM accounts WHERE display_name = 'Alice'").await;
    browser
        .goto(&format!("{base}/people/{alice_id}"))
        .await
        .unwrap();
    let profile = main_text(&browser).await;
    assert!(
        profile.contains("Exactly as described, and well packed."),
        "{profile}"
    );
    assert!(profile.contains("5.0 of 5 (1 review)"), "{profile}");
    checked.push(("profile", wcag_violations(&browser, &axe).await));
    screenshot(&browser, "trade-profile.png").await;
    browser
        .goto(&format!("{base}/account/profile"))
        .await
        .unwrap();
    checked.push(("account profile", wcag_violations(&browser, &axe).await));
    browser.close().await.unwrap();

    let states: Vec<String> = one_state(&app, order).await;
    assert_eq!(states, ["received"]);
    assert_no_violations(&checked);
}

async fn one_state(app: &TestApp, order: i64) -> Vec<String> {
    app.db
        .query("SELECT state FROM purchases WHERE id = $1", &[&order])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}
