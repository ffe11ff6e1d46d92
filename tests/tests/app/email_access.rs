//! Who may do what with email, as a table: every email route × {signed out, the owner
//! (of the account, its link or its key), another person signed in, the owner with their
//! session ended}. Each cell on fresh people; what a cell may change is checked, and
//! that nothing of anyone else's changed. The links and keys are the authority where a
//! person is not signed in (they reach only the mailbox they were sent to).

use hyper::{Method, StatusCode};
use market_tests::testing::{TestApp, TestPerson, sign_up_at, spawn_app};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    SignedOut,
    Owner,
    Other,
    Ended,
}

const EVERYONE: [Who; 4] = [Who::SignedOut, Who::Owner, Who::Other, Who::Ended];

/// The people of one cell: the owner signed up through the forms (address not verified,
/// a verification link in the outbox), another person, and the owner's link and key.
struct Cell {
    owner: TestPerson,
    other: TestPerson,
    verify_link: String,
    key: String,
}

async fn arrange(app: &TestApp, n: usize) -> Cell {
    let owner = sign_up_at(app.addr(), &format!("Owner {n}")).await.unwrap();
    let other = app.add_person(&format!("Other {n}")).await;
    let row = app
        .db
        .query_one(
            "SELECT outbox.link_token, email_settings.unsubscribe_key
             FROM outbox JOIN accounts ON accounts.id = outbox.account_id
             JOIN email_settings ON email_settings.account_id = accounts.id
             WHERE accounts.email = $1 AND outbox.kind = 'verify'",
            &[&owner.email],
        )
        .await
        .unwrap();
    Cell {
        owner,
        other,
        verify_link: row.get(0),
        key: row.get(1),
    }
}

/// The browser cookie of `who` in `cell` (none signed out); the owner's session is ended
/// first for `Ended`.
async fn cookie(app: &TestApp, cell: &Cell, who: Who) -> Option<String> {
    match who {
        Who::SignedOut => None,
        Who::Owner => Some(cell.owner.session_cookie()),
        Who::Other => Some(cell.other.session_cookie()),
        Who::Ended => {
            // Signed out everywhere, as the owner does from the account page.
            let cookie = cell.owner.session_cookie();
            let out = app
                .post_form(Some(&cookie), "/account/sign-out-everywhere", &[])
                .await;
            assert_eq!(out.status, StatusCode::SEE_OTHER);
            Some(cookie)
        }
    }
}

/// What an email route could change for `person`, as one text.
async fn state_of(app: &TestApp, person: &TestPerson) -> String {
    app.db
        .query_one(
            "SELECT concat_ws(',', a.email_verified_at IS NOT NULL, a.password_hash,
                              s.sold, s.shipped, s.message, s.review,
                              (SELECT count(*) FROM outbox WHERE account_id = a.id),
                              (SELECT count(*) FROM sessions WHERE account_id = a.id))
             FROM accounts a JOIN email_settings s ON s.account_id = a.id WHERE a.email = $1",
            &[&person.email],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn each_email_route_answers_each_person_as_the_table_says_and_changes_only_what_it_may() {
    let app = spawn_app().await;
    let mut table = vec![
        "| route | signed out | owner | other person | ended session |".to_owned(),
        "| --- | ---: | ---: | ---: | ---: |".to_owned(),
    ];
    let mut n = 0;
    let routes = [
        "GET /account/email",
        "POST /account/email/resend",
        "POST /account/email/notices (all off)",
        "GET /account/email/verify?token=<owner's link>",
        "POST /account/email/reset token=<owner's link>",
        "POST /account/email/unsubscribe?key=<owner's key>&kind=sold",
    ];
    for route in routes {
        let mut row = format!("| {route} |");
        for who in EVERYONE {
            n += 1;
            let cell = arrange(&app, n).await;
            let cookie = cookie(&app, &cell, who).await;
            let (owner_before, other_before) = (
                state_of(&app, &cell.owner).await,
                state_of(&app, &cell.other).await,
            );
            let response = match route {
                "GET /account/email" => match &cookie {
                    Some(cookie) => app.get_with_cookie("/account/email", cookie).await,
                    None => app.get("/account/email").await,
                },
                "POST /account/email/resend" => {
                    app.post_form(cookie.as_deref(), "/account/email/resend", &[])
                        .await
                }
                "POST /account/email/notices (all off)" => {
                    app.post_form(cookie.as_deref(), "/account/email/notices", &[])
                        .await
                }
                "GET /account/email/verify?token=<owner's link>" => {
                    let path = format!("/account/email/verify?token={}", cell.verify_link);
                    match &cookie {
                        Some(cookie) => app.get_with_cookie(&path, cookie).await,
                        None => app.get(&path).await,
                    }
                }
                "POST /account/email/reset token=<owner's link>" => {
                    // The owner's reset link, asked for on the forgot page.
                    let (presession, token) = market_tests::forms::presession();
                    let forgot = format!(
                        "csrf_token={token}&email={}",
                        cell.owner.email.replace('@', "%40")
                    );
                    let headers = [
                        ("content-type", "application/x-www-form-urlencoded"),
                        ("cookie", presession.as_str()),
                        ("x-real-ip", "192.0.2.77"),
                    ];
                    let asked = app
                        .send(Method::POST, "/account/email/forgot", &headers, forgot)
                        .await;
                    assert_eq!(asked.status, StatusCode::OK);
                    let link =
                        market_tests::mailer::mailed_link(&app.db, &cell.owner.email, "reset")
                            .await
                            .expect("the owner's reset link");
                    let cookies = match &cookie {
                        Some(cookie) => format!("{presession}; {cookie}"),
                        None => presession.clone(),
                    };
                    let body =
                        format!("csrf_token={token}&token={link}&password=a+new+long+passphrase");
                    let headers = [
                        ("content-type", "application/x-www-form-urlencoded"),
                        ("cookie", cookies.as_str()),
                    ];
                    app.send(Method::POST, "/account/email/reset", &headers, body)
                        .await
                }
                _ => {
                    let path = format!("/account/email/unsubscribe?key={}&kind=sold", cell.key);
                    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
                    if let Some(cookie) = &cookie {
                        headers.push(("cookie", cookie));
                    }
                    app.send(Method::POST, &path, &headers, "List-Unsubscribe=One-Click")
                        .await
                }
            };
            let (owner_after, other_after) = (
                state_of(&app, &cell.owner).await,
                state_of(&app, &cell.other).await,
            );
            let status = response.status;
            let location = response.header("location").unwrap_or_default().to_owned();
            // What each cell must answer, and whose state it may change.
            let (expected, owner_changes, other_changes) = match (route, who) {
                ("GET /account/email", Who::Owner) => {
                    assert!(response.text().contains(&cell.owner.email));
                    (StatusCode::OK, false, false)
                }
                ("GET /account/email", Who::Other) => {
                    assert!(
                        !response.text().contains(&cell.owner.email),
                        "never another's address"
                    );
                    (StatusCode::OK, false, false)
                }
                ("GET /account/email", _) => (StatusCode::SEE_OTHER, false, false),
                ("POST /account/email/resend", Who::Owner) => {
                    assert_eq!(location, "/account/email?done=sent");
                    (StatusCode::SEE_OTHER, true, false)
                }
                ("POST /account/email/resend", Who::Other) => {
                    assert_eq!(
                        location, "/account/email?done=verified",
                        "their own, verified"
                    );
                    (StatusCode::SEE_OTHER, false, false)
                }
                ("POST /account/email/notices (all off)", Who::Owner) => {
                    (StatusCode::SEE_OTHER, true, false)
                }
                ("POST /account/email/notices (all off)", Who::Other) => {
                    (StatusCode::SEE_OTHER, false, true)
                }
                ("POST /account/email/resend" | "POST /account/email/notices (all off)", _) => {
                    assert!(location.starts_with("/account/sign-in"), "{location}");
                    (StatusCode::SEE_OTHER, false, false)
                }
                // The link is the authority: it verifies the address it was sent to,
                // whoever opens it, and nothing of the person signed in.
                ("GET /account/email/verify?token=<owner's link>", _) => {
                    (StatusCode::OK, true, false)
                }
                ("POST /account/email/reset token=<owner's link>", _) => {
                    (StatusCode::SEE_OTHER, true, false)
                }
                _ => (StatusCode::OK, true, false),
            };
            assert_eq!(status, expected, "{route} as {who:?}: {}", response.text());
            assert_eq!(
                owner_before != owner_after,
                owner_changes,
                "{route} as {who:?}: owner {owner_before} -> {owner_after}"
            );
            assert_eq!(
                other_before != other_after,
                other_changes,
                "{route} as {who:?}: other {other_before} -> {other_after}"
            );
            let shown = match location.as_str() {
                "" => String::new(),
                to if to.starts_with("/account/sign-in?") => " sign-in".to_owned(),
                to => format!(" {to}"),
            };
            row.push_str(&format!(" {}{shown} |", status.as_u16()));
        }
        table.push(row);
    }
    // A form posted with another browser's token is refused whoever is signed in.
    let cell = arrange(&app, n + 1).await;
    let before = state_of(&app, &cell.owner).await;
    let forged = app
        .send(
            Method::POST,
            "/account/email/notices",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &cell.owner.session_cookie()),
            ],
            format!("csrf_token={}", cell.other.csrf_token()),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(state_of(&app, &cell.owner).await, before);
    println!("{}", table.join("\n"));
}
