//! Email as a person meets it, in headless Chromium through nginx, with the real sender
//! delivering the outbox to a real SMTP server (MailDev): Gil signs up, finds the
//! verification email and opens its link; later he forgets his password, asks for a
//! link on the sign-in page, opens the emailed link, sets a new password and signs in
//! with it. axe-core checks each new page. Screenshots:
//! `target/test-artifacts/browser/email-*.png`.

use std::time::Duration;

use market_tests::browser::{
    ChromeDriver, assert_no_violations, axe_source, click, fill, main_text, screenshot, sign_out,
    sign_up, text_of, wcag_violations,
};
use market_tests::maildev::MailDev;
use market_tests::mailer::{Mailer, environment, with};
use market_tests::nginx::Nginx;
use market_tests::testing::spawn_app;
use serde_json::Value;

/// The first link in `email`'s plain text that goes to `path` (absolute, at the public
/// URL the sender was given).
fn link_to(email: &Value, path: &str) -> String {
    let text = email["text"].as_str().unwrap_or_default();
    let at = text
        .find(&format!("{path}?"))
        .unwrap_or_else(|| panic!("no link to {path} in: {text}"));
    let begin = text[..at].rfind("http").expect("an absolute link");
    text[begin..]
        .split(|c: char| c.is_whitespace() || c == '>')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn gil_verifies_his_address_and_resets_a_forgotten_password_through_the_emailed_links() {
    let app = spawn_app().await;
    let nginx = Nginx::start(&Nginx::project_conf_d(), app.addr()).unwrap();
    let base = format!("http://{}", nginx.addr);
    let maildev = MailDev::start().unwrap();
    let _mailer = Mailer::start(&with(
        environment(&app.db_url, &maildev.smtp_url()),
        "PUBLIC_URL",
        &base,
    ))
    .unwrap();
    let driver = ChromeDriver::start();
    let browser = driver.browser().await;
    let axe = axe_source();
    let mut checked = Vec::new();

    // Gil signs up; the verification email arrives, with its link at the shop's URL.
    sign_up(&browser, &base, "Gil", "gil@example.com").await;
    let emails = maildev
        .wait_for_emails(1, Duration::from_secs(30))
        .await
        .unwrap();
    let verify = &emails[0];
    assert_eq!(verify["subject"], "Confirm your email address");
    assert_eq!(verify["to"][0]["address"], "gil@example.com");
    browser
        .goto(&format!("{base}/account/email"))
        .await
        .unwrap();
    assert!(main_text(&browser).await.contains("Not verified yet"));
    checked.push((
        "email page, unverified",
        wcag_violations(&browser, &axe).await,
    ));
    browser
        .goto(&link_to(verify, "/account/email/verify"))
        .await
        .unwrap();
    assert_eq!(text_of(&browser, "h1").await, "Your address is verified");
    checked.push(("address verified", wcag_violations(&browser, &axe).await));
    browser
        .goto(&format!("{base}/account/email"))
        .await
        .unwrap();
    assert!(main_text(&browser).await.contains("Verified on "));
    checked.push((
        "email page, verified",
        wcag_violations(&browser, &axe).await,
    ));
    screenshot(&browser, "email-settings.png").await;
    sign_out(&browser).await;
    screenshot(&browser, "email-signed-out.png").await;

    // He forgets his password: the sign-in page's link, his address, the same answer.
    browser
        .goto(&format!("{base}/account/sign-in"))
        .await
        .unwrap();
    click(&browser, "a[href='/account/email/forgot']").await;
    checked.push(("forgot password", wcag_violations(&browser, &axe).await));
    fill(&browser, "email", "gil@example.com").await;
    click(&browser, "#forgot-form button[type=submit]").await;
    screenshot(&browser, "email-forgot-sent.png").await;
    assert!(
        text_of(&browser, "#confirmation")
            .await
            .starts_with("If an account has this address")
    );
    checked.push(("reset link sent", wcag_violations(&browser, &axe).await));
    let emails = maildev
        .wait_for_emails(2, Duration::from_secs(30))
        .await
        .unwrap();
    let reset = &emails[1];
    assert_eq!(reset["subject"], "Reset your password");
    let html = reset["html"].as_str().unwrap();
    assert!(!html.contains("<img"), "no images, no tracking pixels");
    assert!(
        !reset["text"].as_str().unwrap().contains("correct horse"),
        "never a password"
    );

    // The emailed link: a new password, then sign in with it.
    let link = link_to(reset, "/account/email/reset");
    browser.goto(&link).await.unwrap();
    assert_eq!(text_of(&browser, "h1").await, "Set a new password");
    checked.push(("set a new password", wcag_violations(&browser, &axe).await));
    screenshot(&browser, "email-reset.png").await;
    fill(&browser, "password", "gil's brand new passphrase").await;
    click(&browser, "#reset-form button[type=submit]").await;
    screenshot(&browser, "email-password-set.png").await;
    assert!(
        text_of(&browser, "#confirmation")
            .await
            .starts_with("Your new password is set")
    );
    fill(&browser, "email", "gil@example.com").await;
    fill(&browser, "password", "gil's brand new passphrase").await;
    click(&browser, "#sign-in-form button[type=submit]").await;
    assert_eq!(
        text_of(&browser, "#confirmation").await,
        "You are signed in."
    );
    // The link worked once.
    browser.goto(&link).await.unwrap();
    assert_eq!(text_of(&browser, "h1").await, "This link was already used");
    checked.push(("used reset link", wcag_violations(&browser, &axe).await));

    assert_no_violations(&checked);
}
