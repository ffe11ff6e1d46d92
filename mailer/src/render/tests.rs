//! The emails, checked one by one: subjects, links, escaping, headers.

use std::time::{Duration, UNIX_EPOCH};

use super::*;

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const KEY: &str = "feedc0de";

fn url() -> PublicUrl {
    PublicUrl::parse("https://shop.example/").unwrap()
}

fn notice(notice: Notice) -> Content {
    Content::Notice {
        notice,
        unsubscribe_key: KEY.to_owned(),
    }
}

/// One email of each kind, with names that would break HTML if not escaped.
fn every_kind() -> Vec<Content> {
    vec![
        Content::Verify {
            token: TOKEN.to_owned(),
        },
        Content::Reset {
            token: TOKEN.to_owned(),
        },
        notice(Notice::Sold {
            order_id: 7,
            quantity: 2,
            item: "Tea <pot> & \"cups\"".to_owned(),
            buyer: Some("Bob <b>".to_owned()),
        }),
        notice(Notice::Shipped {
            order_id: 7,
            quantity: 2,
            item: "Tea <pot> & \"cups\"".to_owned(),
            seller: Some("Sam".to_owned()),
            note: Some("Tracking <123>\nsecond line".to_owned()),
        }),
        notice(Notice::Message {
            conversation_id: 9,
            item: "Tea <pot> & \"cups\"".to_owned(),
            from: "Ann <script>".to_owned(),
        }),
        notice(Notice::Review {
            order_id: 7,
            item: "Tea <pot> & \"cups\"".to_owned(),
            reviewer: "Rex & co".to_owned(),
        }),
    ]
}

fn render_for(content: &Content) -> Email {
    let url = url();
    render(
        Shop {
            name: "Corner Shop",
            url: &url,
        },
        "Eve <i>",
        content,
    )
}

#[test]
fn each_kind_has_its_subject() {
    let subjects: Vec<String> = every_kind()
        .iter()
        .map(|content| render_for(content).subject)
        .collect();
    assert_eq!(
        subjects,
        [
            "Confirm your email address",
            "Reset your password",
            "You sold 2 × Tea <pot> & \"cups\"",
            "Tea <pot> & \"cups\" has shipped",
            "New message about Tea <pot> & \"cups\"",
            "Rex & co reviewed you",
        ]
    );
}

#[test]
fn links_are_absolute_and_each_kind_links_where_it_should() {
    let expected = [
        format!("https://shop.example/account/email/verify?token={TOKEN}"),
        format!("https://shop.example/account/email/reset?token={TOKEN}"),
        "https://shop.example/orders/7".to_owned(),
        "https://shop.example/orders/7".to_owned(),
        "https://shop.example/conversations/9".to_owned(),
        "https://shop.example/orders/7".to_owned(),
    ];
    for (content, link) in every_kind().iter().zip(expected) {
        let email = render_for(content);
        assert!(email.text.contains(&link), "{link} in {}", email.text);
        assert!(
            email.html.contains(&format!("href=\"{link}\"")),
            "{link} in {}",
            email.html
        );
        for href in email.html.split("href=\"").skip(1) {
            assert!(href.starts_with("https://shop.example"), "{href}");
        }
        // Both alternatives name the shop.
        assert!(email.text.contains("Corner Shop") && email.html.contains("Corner Shop"));
    }
}

#[test]
fn what_people_typed_is_escaped_in_the_html_and_kept_in_the_text() {
    for content in every_kind() {
        let email = render_for(&content);
        for raw in ["<pot>", "<b>", "<script>", "<i>", "<123>"] {
            assert!(
                !email.html.contains(raw),
                "{raw} unescaped in {}",
                email.html
            );
        }
        assert!(email.html.contains("Eve &lt;i&gt;"));
        assert!(email.text.contains("Hello Eve <i>,"));
        assert!(!email.html.contains("<img") && !email.html.contains("<script"));
    }
    let shipped = render_for(&every_kind()[3]);
    assert!(shipped.html.contains("Tracking &lt;123&gt;\nsecond line"));
    assert!(
        shipped
            .text
            .contains("Sam's note:\n> Tracking <123>\n> second line")
    );
}

#[test]
fn links_say_how_long_they_work_and_what_to_do_if_unasked() {
    let verify = render_for(&every_kind()[0]);
    assert!(verify.text.contains("24 hours"));
    assert!(
        verify
            .text
            .contains("If you did not sign up, ignore this email")
    );
    let reset = render_for(&every_kind()[1]);
    assert!(reset.text.contains("works once and for 1 hour"));
    assert!(reset.text.contains("your password is unchanged"));
}

#[test]
fn notices_tell_who_and_what_but_no_private_text_and_offer_to_stop() {
    let sold = render_for(&every_kind()[2]);
    assert!(
        sold.text
            .contains("You sold 2 × Tea <pot> & \"cups\" to Bob <b>.")
    );
    assert!(sold.text.contains("needs shipping"));
    let message = render_for(&every_kind()[4]);
    assert!(message.text.contains("Ann <script> wrote to you about"));
    let unsubscribe =
        |kind| format!("https://shop.example/account/email/unsubscribe?key={KEY}&kind={kind}");
    for content in every_kind() {
        let email = render_for(&content);
        let kind = content.kind();
        if kind.is_notice() {
            assert_eq!(email.unsubscribe, Some(unsubscribe(kind)));
            assert!(
                email
                    .text
                    .contains(&format!("Stop emails like this:\n{}", unsubscribe(kind)))
            );
            assert!(
                email
                    .html
                    .contains(&unsubscribe(kind).replace('&', "&amp;"))
            );
        } else {
            assert_eq!(email.unsubscribe, None);
            assert!(!email.text.contains("unsubscribe"));
        }
        if kind != Kind::Verify && kind != Kind::Reset {
            assert!(!email.text.contains(TOKEN));
        }
    }
}

#[test]
fn the_message_has_both_alternatives_its_stable_id_and_the_unsubscribe_headers() {
    let from: Mailbox = "Corner Shop <shop@shop.example>".parse().unwrap();
    let to = Recipient {
        address: "eve@example.com".to_owned(),
        name: "Eve \"E\", Jr.".to_owned(),
    };
    let id = message_id(42, 1_700_000_000_123_456, url().host());
    assert_eq!(id, "<outbox-42.1700000000123456@shop.example>");
    let date = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let headers_of = |content: &Content| {
        let email = render_for(content);
        let message = message(&email, &from, &to, &id, date).unwrap();
        let formatted = String::from_utf8(message.formatted()).unwrap();
        let (headers, body) = formatted.split_once("\r\n\r\n").unwrap();
        (headers.to_owned(), body.to_owned())
    };
    let (headers, body) = headers_of(&every_kind()[2]);
    assert!(
        headers.contains("From: \"Corner Shop\" <shop@shop.example>\r\n"),
        "{headers}"
    );
    // A name with quotes and a comma goes as an encoded word (base64 of the name).
    assert!(
        headers.contains("To: =?utf-8?b?RXZlICJFIiwgSnIu?= <eve@example.com>\r\n"),
        "{headers}"
    );
    assert!(headers.contains("Message-ID: <outbox-42.1700000000123456@shop.example>\r\n"));
    assert!(
        headers.contains("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"),
        "{headers}"
    );
    assert!(headers.contains(&format!(
        "List-Unsubscribe: <https://shop.example/account/email/unsubscribe?key={KEY}&kind=sold>\r\n"
    )), "{headers}");
    assert!(headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    assert!(headers.contains("Auto-Submitted: auto-generated\r\n"));
    assert!(
        headers.contains("Content-Type: multipart/alternative;"),
        "{headers}"
    );
    assert!(
        body.contains("Content-Type: text/plain; charset=utf-8"),
        "{body}"
    );
    assert!(
        body.contains("Content-Type: text/html; charset=utf-8"),
        "{body}"
    );

    let (verify_headers, _) = headers_of(&every_kind()[0]);
    assert!(!verify_headers.contains("List-Unsubscribe"));
    assert!(verify_headers.contains("Subject: Confirm your email address\r\n"));
}

#[test]
fn a_name_or_subject_cannot_add_a_header_and_a_bad_address_is_unsendable() {
    let from: Mailbox = "Shop <shop@shop.example>".parse().unwrap();
    let mut email = render_for(&every_kind()[5]);
    email.subject = "Hi\r\nBcc: victim@example.com".to_owned();
    let to = Recipient {
        address: "eve@example.com".to_owned(),
        name: "Eve\r\nBcc: other@example.com".to_owned(),
    };
    let formatted = String::from_utf8(
        message(&email, &from, &to, "<x@y>", UNIX_EPOCH)
            .unwrap()
            .formatted(),
    )
    .unwrap();
    assert!(!formatted.contains("\r\nBcc:"), "{formatted}");
    let nobody = Recipient {
        address: "not an address".to_owned(),
        name: "Nobody".to_owned(),
    };
    let Err(Unsendable(reason)) = message(&email, &from, &nobody, "<x@y>", UNIX_EPOCH) else {
        panic!("an address without @ was taken");
    };
    assert!(
        !reason.contains("not an address"),
        "the address stays out: {reason}"
    );
}
