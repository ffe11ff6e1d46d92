//! The real browser for the tests: headless Chromium driven through chromedriver
//! (WebDriver), what a person does with it (fill in, click and wait for the next page,
//! sign in), screenshots to `target/test-artifacts/browser/`, and axe-core's WCAG check.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::process;
use crate::testing::{TEST_PASSWORD, TestPerson, project_dir};

/// chromedriver on a free port, stopped on drop.
pub struct ChromeDriver {
    url: String,
    child: Child,
    profile: PathBuf,
}

impl ChromeDriver {
    pub fn start() -> Self {
        let port = crate::ports::free_port().unwrap();
        let mut command = Command::new("chromedriver");
        command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = process::own_group(&mut command)
            .spawn()
            .expect("chromedriver is installed (apt-get install chromium chromium-driver)");
        process::kill_group_when_this_process_exits(&child).unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(format!("market-chromium-{port}"));
        Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            profile,
        }
    }

    pub async fn browser(&self) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1200,1400",
                    format!("--user-data-dir={}", self.profile.display()),
                ]
            }
        });
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for ChromeDriver {
    /// Stops chromedriver and the Chromium processes it started (one process group).
    fn drop(&mut self) {
        process::stop_group(&mut self.child, libc::SIGTERM, Duration::from_secs(2));
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub fn artifacts_dir() -> PathBuf {
    let dir = project_dir().join("target/test-artifacts/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn screenshot(browser: &Client, name: &str) {
    let path = artifacts_dir().join(name);
    std::fs::write(&path, browser.screenshot().await.unwrap()).unwrap();
    println!("screenshot: {}", path.display());
}

pub async fn fill(browser: &Client, id: &str, value: &str) {
    let field = browser.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Fills in the sell form as a person would and submits it.
pub async fn sell(browser: &Client, name: &str, quantity: &str, price: &str, description: &str) {
    fill(browser, "name", name).await;
    fill(browser, "quantity", quantity).await;
    fill(browser, "price", price).await;
    fill(browser, "description", description).await;
    // Waits for the page the form leads to: the page left may hold a confirmation too.
    click(browser, "#sell-form button[type=submit]").await;
}

/// Clicks what `css` finds and waits for the page it leads to: until the old page's root
/// goes stale, so that nothing is read from the page being left.
pub async fn click(browser: &Client, css: &str) {
    let old_page = browser.find(Locator::Css("html")).await.unwrap();
    browser
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let started = Instant::now();
    while old_page.tag_name().await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "clicking {css} led nowhere"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Signs a new person up with the sign-up form, as they would; back on the home page.
pub async fn sign_up(browser: &Client, base: &str, name: &str, email: &str) {
    browser
        .goto(&format!("{base}/account/sign-up"))
        .await
        .unwrap();
    fill(browser, "email", email).await;
    fill(browser, "display_name", name).await;
    fill(browser, "password", TEST_PASSWORD).await;
    click(browser, "#sign-up-form button[type=submit]").await;
    let welcome = text_of(browser, "#confirmation").await;
    assert!(welcome.starts_with("Welcome!"), "{welcome}");
}

/// Opens the verification link the shop mailed to `email` at sign-up (read from the
/// outbox in `db`, where the sender finds it), as the person does from their inbox; back
/// on the home page.
pub async fn open_verification_link(
    browser: &Client,
    base: &str,
    db: &tokio_postgres::Client,
    email: &str,
) {
    let token = crate::mailer::mailed_link(db, email, "verify")
        .await
        .expect("a verification email in the outbox");
    browser
        .goto(&format!("{base}/account/email/verify?token={token}"))
        .await
        .unwrap();
    let heading = text_of(browser, "h1").await;
    assert_eq!(heading, "Your address is verified");
    browser.goto(&format!("{base}/")).await.unwrap();
}

/// Signs `person` in with the sign-in form; back on the home page.
pub async fn sign_in(browser: &Client, base: &str, person: &TestPerson) {
    browser
        .goto(&format!("{base}/account/sign-in"))
        .await
        .unwrap();
    fill(browser, "email", &person.email).await;
    fill(browser, "password", &person.password).await;
    click(browser, "#sign-in-form button[type=submit]").await;
    assert_eq!(
        text_of(browser, "#confirmation").await,
        "You are signed in."
    );
}

pub async fn sign_out(browser: &Client) {
    click(browser, "form.sign-out button[type=submit]").await;
    assert_eq!(
        text_of(browser, "#confirmation").await,
        "You are signed out."
    );
}

/// The text of the page's `main`.
pub async fn main_text(browser: &Client) -> String {
    browser
        .find(fantoccini::Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The axe-core script from npm (`tests/browser`, installed by ./scripts/test).
pub fn axe_source() -> String {
    let path = project_dir().join("tests/browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run `npm ci --prefix tests/browser`, as ./scripts/test does)",
            path.display()
        )
    })
}

/// Runs axe-core on the page the browser shows and returns each WCAG 2.1 A/AA violation
/// as one line: rule, impact, what it asks, and where.
pub async fn wcag_violations(browser: &Client, axe: &str) -> Vec<String> {
    browser.execute(axe, vec![]).await.unwrap();
    let violations = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag',
                 values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
               .then(result => done(result.violations.map(v =>
                   `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)))
               .catch(error => done([`axe failed: ${error}`]));",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(violations).unwrap()
}

/// Prints each page state's count of WCAG 2.1 A/AA violations, and fails listing every
/// violation of every state when there is any.
pub fn assert_no_violations(checked: &[(&str, Vec<String>)]) {
    for (state, violations) in checked {
        println!("axe {state}: {} violations", violations.len());
    }
    let failures: Vec<String> = checked
        .iter()
        .flat_map(|(state, violations)| violations.iter().map(move |v| format!("{state}: {v}")))
        .collect();
    assert!(
        failures.is_empty(),
        "WCAG 2.1 A/AA violations:\n{}",
        failures.join("\n")
    );
}
