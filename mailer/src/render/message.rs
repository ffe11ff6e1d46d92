//! The message handed to the relay: addresses, headers, the two alternatives.

use super::*;

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
pub(super) struct ListUnsubscribe(String);

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
pub(super) struct ListUnsubscribePost;

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
pub(super) struct AutoSubmitted;

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
