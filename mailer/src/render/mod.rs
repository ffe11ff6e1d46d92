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

mod bodies;
mod message;
#[cfg(test)]
mod tests;
mod words;

use bodies::*;
pub use message::{Unsendable, message, message_id};
use words::*;
