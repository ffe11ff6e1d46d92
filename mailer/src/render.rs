//! The emails: for each kind, the subject, a plain-text and an HTML body saying the same,
//! and the message around them. Pure functions of their data (nothing here reads the
//! clock, the database or the network), so every email can be checked in a unit test.
//!
//! Rules every email keeps:
//! - It names the shop, and every link is absolute, built from `PUBLIC_URL`.
//! - The HTML escapes everything it shows (maud escapes by default; display names, item
//!   names and notes are what people typed). No images, no tracking, no scripts.
//! - It holds nothing secret but the one link it exists to deliver (verify, reset); never
//!   a password, never a message's text (a private conversation stays in the shop), never
//!   a review's rating (reviews are blind until both parties wrote theirs).
//! - Its `Message-ID` is the same every time the same outbox row is sent, so a copy sent
//!   again after a crash is recognisable as the same email.
//! - A notice (sold, shipped, message, review) carries a one-click unsubscribe for its
//!   kind (RFC 8058 `List-Unsubscribe` and `List-Unsubscribe-Post`), also as a link in
//!   its body. Links the person asked for (verify, reset) do not: there is nothing to
//!   stop.

use std::time::SystemTime;

use lettre::Message;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use maud::{DOCTYPE, Markup, html};

use crate::config::PublicUrl;
use crate::kind::Kind;

/// What every email says about the shop: its name and where it is.
#[derive(Debug, Clone, Copy)]
pub struct Shop<'a> {
    pub name: &'a str,
    pub url: &'a PublicUrl,
}

/// Who an email goes to: their current address and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub address: String,
    pub name: String,
}

/// What an email tells, with the data it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A link to confirm the address (the raw single-use token).
    Verify { token: String },
    /// A link to choose a new password (the raw single-use token).
    Reset { token: String },
    /// Something happened in a trade; `unsubscribe_key` turns this kind off.
    Notice {
        notice: Notice,
        unsubscribe_key: String,
    },
}

/// The notices, each with what its email shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// To the seller: someone bought (a purchase made before accounts has no buyer).
    Sold {
        order_id: i64,
        quantity: i32,
        item: String,
        buyer: Option<String>,
    },
    /// To the buyer: the seller shipped, maybe with a note.
    Shipped {
        order_id: i64,
        quantity: i32,
        item: String,
        seller: Option<String>,
        note: Option<String>,
    },
    /// To one party of a conversation: the other wrote.
    Message {
        conversation_id: i64,
        item: String,
        from: String,
    },
    /// To the reviewed party of an order.
    Review {
        order_id: i64,
        item: String,
        reviewer: String,
    },
}

impl Content {
    pub fn kind(&self) -> Kind {
        match self {
            Content::Verify { .. } => Kind::Verify,
            Content::Reset { .. } => Kind::Reset,
            Content::Notice { notice, .. } => notice.kind(),
        }
    }
}

impl Notice {
    pub fn kind(&self) -> Kind {
        match self {
            Notice::Sold { .. } => Kind::Sold,
            Notice::Shipped { .. } => Kind::Shipped,
            Notice::Message { .. } => Kind::Message,
            Notice::Review { .. } => Kind::Review,
        }
    }
}

/// An email's words, before it is wrapped in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe link of a notice.
    pub unsubscribe: Option<String>,
}

/// One piece of an email's body, written once and shown both as text and as HTML, so
/// the two alternatives always say the same.
enum Block {
    Paragraph(String),
    /// A link. `spelled_out`: the HTML also shows the address, for a person whose
    /// mail program does not open links.
    Link {
        label: String,
        url: String,
        spelled_out: bool,
    },
    /// Someone else's words, marked as theirs.
    Quote {
        by: String,
        text: String,
    },
}

/// Renders the email for `recipient_name` telling `content`.
pub fn render(shop: Shop<'_>, recipient_name: &str, content: &Content) -> Email {
    let (subject, blocks) = match content {
        Content::Verify { token } => verify(shop, token),
        Content::Reset { token } => reset(shop, token),
        Content::Notice { notice, .. } => notice_body(shop, notice),
    };
    let unsubscribe = match content {
        Content::Notice {
            notice,
            unsubscribe_key,
        } => Some(unsubscribe_link(shop, notice.kind(), unsubscribe_key)),
        _ => None,
    };
    let footer = match (content, &unsubscribe) {
        (Content::Notice { notice, .. }, Some(url)) => vec![
            Block::Paragraph(format!(
                "You get this email because emails {} are on for your {} account.",
                about(notice.kind()),
                shop.name
            )),
            Block::Link {
                label: "Stop emails like this".to_owned(),
                url: url.clone(),
                spelled_out: false,
            },
            Block::Link {
                label: "Choose which emails you get".to_owned(),
                url: shop.url.link("/account/email"),
                spelled_out: false,
            },
        ],
        _ => Vec::new(),
    };
    let greeting = format!("Hello {},", one_line(recipient_name));
    Email {
        text: text_body(shop, &greeting, &blocks, &footer),
        html: html_body(shop, &subject, &greeting, &blocks, &footer).into_string(),
        subject,
        unsubscribe,
    }
}

fn verify(shop: Shop<'_>, token: &str) -> (String, Vec<Block>) {
    let url = shop.url.link(&format!(
        "/account/email/verify?token={}",
        query_value(token)
    ));
    (
        "Confirm your email address".to_owned(),
        vec![
            Block::Paragraph(format!(
                "Please confirm that this is your email address at {} by opening this link:",
                shop.name
            )),
            Block::Link {
                label: "Confirm your email address".to_owned(),
                url,
                spelled_out: true,
            },
            Block::Paragraph(
                "The link works once and for 24 hours. If you did not sign up, ignore this \
                 email: without the link, nothing happens."
                    .to_owned(),
            ),
        ],
    )
}

fn reset(shop: Shop<'_>, token: &str) -> (String, Vec<Block>) {
    let url = shop.url.link(&format!(
        "/account/email/reset?token={}",
        query_value(token)
    ));
    (
        "Reset your password".to_owned(),
        vec![
            Block::Paragraph(format!(
                "Someone, probably you, asked to reset the password of your {} account. \
                 Choose a new password here:",
                shop.name
            )),
            Block::Link {
                label: "Choose a new password".to_owned(),
                url,
                spelled_out: true,
            },
            Block::Paragraph(
                "The link works once and for 1 hour. If you did not ask, ignore this email: \
                 your password is unchanged."
                    .to_owned(),
            ),
        ],
    )
}

fn notice_body(shop: Shop<'_>, notice: &Notice) -> (String, Vec<Block>) {
    let order_link = |order_id: i64| Block::Link {
        label: "Open the order".to_owned(),
        url: shop.url.link(&format!("/orders/{order_id}")),
        spelled_out: false,
    };
    match notice {
        Notice::Sold {
            order_id,
            quantity,
            item,
            buyer,
        } => {
            let item = one_line(item);
            let sold = format!("{quantity} × {item}");
            let to_whom = match buyer {
                Some(buyer) => format!(" to {}", one_line(buyer)),
                None => String::new(),
            };
            (
                format!("You sold {sold}"),
                vec![
                    Block::Paragraph(format!("You sold {sold}{to_whom}.")),
                    Block::Paragraph(
                        "The order needs shipping: send it, then mark it shipped on the order \
                         page (add a note for the buyer if you like)."
                            .to_owned(),
                    ),
                    order_link(*order_id),
                ],
            )
        }
        Notice::Shipped {
            order_id,
            quantity,
            item,
            seller,
            note,
        } => {
            let item = one_line(item);
            let who = match seller {
                Some(seller) => one_line(seller),
                None => "The seller".to_owned(),
            };
            let mut blocks = vec![Block::Paragraph(format!(
                "{who} shipped your order of {quantity} × {item}."
            ))];
            if let Some(note) = note.as_deref().filter(|note| !note.trim().is_empty()) {
                blocks.push(Block::Quote {
                    by: format!("{who}'s note"),
                    text: note.trim().to_owned(),
                });
            }
            blocks.push(Block::Paragraph(
                "Once it has arrived, mark it received on the order page.".to_owned(),
            ));
            blocks.push(order_link(*order_id));
            (format!("{item} has shipped"), blocks)
        }
        Notice::Message {
            conversation_id,
            item,
            from,
        } => {
            let item = one_line(item);
            (
                format!("New message about {item}"),
                vec![
                    Block::Paragraph(format!(
                        "{} wrote to you about {item}. Read it and answer in the conversation:",
                        one_line(from)
                    )),
                    Block::Link {
                        label: "Read the conversation".to_owned(),
                        url: shop.url.link(&format!("/conversations/{conversation_id}")),
                        spelled_out: false,
                    },
                ],
            )
        }
        Notice::Review {
            order_id,
            item,
            reviewer,
        } => {
            let reviewer = one_line(reviewer);
            (
                format!("{reviewer} reviewed you"),
                vec![
                    Block::Paragraph(format!(
                        "{reviewer} reviewed you for the order of {}.",
                        one_line(item)
                    )),
                    Block::Paragraph(
                        "Reviews show once both of you have written yours, or 14 days after \
                         the order was received. If you have not yet, review them on the \
                         order page."
                            .to_owned(),
                    ),
                    order_link(*order_id),
                ],
            )
        }
    }
}

/// What a notice kind's emails are about, for "emails ... are on".
fn about(kind: Kind) -> &'static str {
    match kind {
        Kind::Sold => "about your sales",
        Kind::Shipped => "about your orders shipping",
        Kind::Message => "about new messages",
        Kind::Review => "about reviews of you",
        Kind::Verify | Kind::Reset => "with links",
    }
}

/// The one-click unsubscribe link of `kind` for the person whose key this is.
fn unsubscribe_link(shop: Shop<'_>, kind: Kind, key: &str) -> String {
    shop.url.link(&format!(
        "/account/email/unsubscribe?key={}&kind={kind}",
        query_value(key)
    ))
}

fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Text someone typed, on one line: control characters (line breaks included) become
/// spaces, so a name cannot start a new line in a subject or a greeting.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn text_body(shop: Shop<'_>, greeting: &str, blocks: &[Block], footer: &[Block]) -> String {
    let mut text = format!("{greeting}\n\n");
    let mut write = |blocks: &[Block]| {
        for block in blocks {
            match block {
                Block::Paragraph(paragraph) => text.push_str(paragraph),
                Block::Link { label, url, .. } => {
                    text.push_str(&format!("{label}:\n{url}"));
                }
                Block::Quote { by, text: quoted } => {
                    text.push_str(&format!("{by}:\n"));
                    let lines: Vec<String> =
                        quoted.lines().map(|line| format!("> {line}")).collect();
                    text.push_str(&lines.join("\n"));
                }
            }
            text.push_str("\n\n");
        }
    };
    write(blocks);
    if !footer.is_empty() {
        write(footer);
    }
    // "-- " on its own line: where mail programs know a signature starts.
    text.push_str(&format!("-- \n{}\n{}\n", shop.name, shop.url.as_str()));
    text
}

/// Styles inline, as mail programs drop style sheets.
const BODY_STYLE: &str = "margin:0;padding:24px;background:#ffffff;color:#1f2328;\
    font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5";
const BUTTON_STYLE: &str = "display:inline-block;padding:10px 18px;border-radius:6px;\
    background:#0b5cad;color:#ffffff;font-weight:bold;text-decoration:none";
const SMALL_STYLE: &str = "font-size:14px;color:#57606a";

fn html_body(
    shop: Shop<'_>,
    subject: &str,
    greeting: &str,
    blocks: &[Block],
    footer: &[Block],
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject) }
            }
            body style=(BODY_STYLE) {
                div style="max-width:560px;margin:0 auto" {
                    p style="font-size:18px;font-weight:bold;margin:0 0 24px" { (shop.name) }
                    p { (greeting) }
                    @for block in blocks {
                        (html_block(block, false))
                    }
                    hr style="border:none;border-top:1px solid #d0d7de;margin:24px 0";
                    @for block in footer {
                        (html_block(block, true))
                    }
                    p style=(SMALL_STYLE) {
                        (shop.name) " · " a href=(shop.url.as_str()) { (shop.url.as_str()) }
                    }
                }
            }
        }
    }
}

fn html_block(block: &Block, small: bool) -> Markup {
    match block {
        Block::Paragraph(paragraph) if small => html! { p style=(SMALL_STYLE) { (paragraph) } },
        Block::Paragraph(paragraph) => html! { p { (paragraph) } },
        Block::Link { label, url, .. } if small => {
            html! { p style=(SMALL_STYLE) { a href=(url) { (label) } } }
        }
        Block::Link {
            label,
            url,
            spelled_out,
        } => html! {
            p { a href=(url) style=(BUTTON_STYLE) { (label) } }
            @if *spelled_out {
                p style=(SMALL_STYLE) {
                    "If the button does not work, copy this address into your browser:"
                    br;
                    span style="word-break:break-all" { (url) }
                }
            }
        },
        Block::Quote { by, text } => html! {
            p { (by) ":" }
            blockquote style="margin:0 0 16px;padding:8px 16px;border-left:4px solid #d0d7de;white-space:pre-wrap" {
                (text)
            }
        },
    }
}

/// The `Message-ID` of the email of outbox row `outbox_id` (written at
/// `created_micros`, microseconds since 1970, which tells apart rows of two databases
/// with the same id), in the shop's domain: the same whenever that row is sent.
pub fn message_id(outbox_id: i64, created_micros: i64, host: &str) -> String {
    format!("<outbox-{outbox_id}.{created_micros}@{host}>")
}

/// Why an email could not be made into a message. Never holds the address itself (an
/// address is personal, and this text is logged and stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsendable(pub String);

/// The message to hand to the relay: `email` from `from` to `to`, with its stable
/// `message_id` and the `date` it is sent.
pub fn message(
    email: &Email,
    from: &Mailbox,
    to: &Recipient,
    message_id: &str,
    date: SystemTime,
) -> Result<Message, Unsendable> {
    let address = to.address.trim().parse().map_err(|e| {
        Unsendable(format!(
            "the recipient's address is not one a relay would take ({e})"
        ))
    })?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(Mailbox::new(Some(one_line(&to.name)), address))
        .subject(one_line(&email.subject))
        .date(date)
        .message_id(Some(message_id.to_owned()))
        .header(AutoSubmitted);
    if let Some(url) = &email.unsubscribe {
        builder = builder
            .header(ListUnsubscribe(url.clone()))
            .header(ListUnsubscribePost);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| Unsendable(format!("the message could not be built ({e})")))
}

type ParseError = Box<dyn std::error::Error + Send + Sync>;

/// `List-Unsubscribe: <url>` (RFC 2369): where a mail program unsubscribes.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, ParseError> {
        Ok(Self(
            s.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned(),
        ))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the link unsubscribes
/// with one POST, no page to click through.
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, ParseError> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): a machine wrote this, so vacation
/// responders do not answer it.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, ParseError> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

#[cfg(test)]
mod tests {
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
}
