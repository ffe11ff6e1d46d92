//! Every statement the sender runs, and the rows it reads decoded into what
//! [`crate::render`] needs. All run on one connection, as the role `market_mailer`
//! (migrations/sql/0011 grants it exactly this: read the outbox and what emails tell,
//! mark outbox rows).
//!
//! One email is one transaction: [`begin`], [`claim_due`] locks the next due row (rows
//! another sender holds are skipped, so no two senders ever work on one row), and one of
//! [`commit_sent`], [`commit_retry`], [`commit_given_up`] marks it and commits. The lock
//! is held while the relay is talked to; if the sender dies before the commit, Postgres
//! drops the lock and the row is due again, untouched.

use std::time::Duration;

use tokio_postgres::{Client, Row};

use crate::kind::Kind;
use crate::render::{Content, Notice, Recipient};

/// A due outbox row, locked by this sender's open transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub account_id: i64,
    pub kind: Kind,
    pub link_token: Option<String>,
    pub order_id: Option<i64>,
    pub conversation_id: Option<i64>,
    /// When the row was written, in microseconds since 1970 (part of its Message-ID).
    pub created_micros: i64,
    /// How many tries failed before this one.
    pub attempts: i32,
    /// How old the row is, by the database's clock.
    pub age: Duration,
}

/// What the data a claimed row names comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// An email to send.
    Ready {
        recipient: Recipient,
        content: Content,
    },
    /// The recipient turned this kind of notice off after the row was written.
    TurnedOff,
    /// The row or what it names cannot make an email (and never will).
    Broken(String),
}

pub async fn begin(client: &Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute("BEGIN").await
}

/// Ends the transaction without marking anything: the row stays due, as it was.
pub async fn rollback(client: &Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute("ROLLBACK").await
}

/// The row that has been due longest (`outbox_due` index), locked, or none. Its age is
/// measured by the database's clock, as `created_at` was.
const CLAIM_DUE: &str = "
SELECT id, account_id, kind, link_token, order_id, conversation_id,
       (extract(epoch FROM created_at) * 1000000)::bigint AS created_micros,
       attempts,
       greatest(extract(epoch FROM now() - created_at), 0)::float8 AS age_secs
  FROM outbox
 WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= now()
 ORDER BY next_attempt_at, id
 LIMIT 1
   FOR UPDATE SKIP LOCKED";

pub async fn claim_due(client: &Client) -> Result<Option<Claimed>, Error> {
    let Some(row) = client.query_opt(CLAIM_DUE, &[]).await? else {
        return Ok(None);
    };
    Claimed::try_from(&row).map(Some)
}

impl TryFrom<&Row> for Claimed {
    type Error = Error;

    fn try_from(row: &Row) -> Result<Self, Error> {
        let kind: String = row.try_get("kind")?;
        let age: f64 = row.try_get("age_secs")?;
        Ok(Claimed {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            kind: Kind::parse(&kind).ok_or_else(|| Error::Decode(format!("kind {kind:?}")))?,
            link_token: row.try_get("link_token")?,
            order_id: row.try_get("order_id")?,
            conversation_id: row.try_get("conversation_id")?,
            created_micros: row.try_get("created_micros")?,
            attempts: row.try_get("attempts")?,
            age: Duration::try_from_secs_f64(age).unwrap_or_default(),
        })
    }
}

/// Everything an email of any kind shows, in one round trip: the recipient (their
/// address and name now, not when the row was written), their notice settings, and
/// what the row's order or conversation names. A message notice names the author of the
/// latest message by the other party (the other party, if they wrote none yet); a review
/// notice, who reviewed the recipient for that order.
const READ_EMAIL: &str = "
SELECT a.email, a.display_name,
       s.unsubscribe_key,
       CASE $2::text WHEN 'sold' THEN s.sold WHEN 'shipped' THEN s.shipped
                     WHEN 'message' THEN s.message WHEN 'review' THEN s.review
       END AS wanted,
       p.quantity, order_item.name AS order_item, p.ship_note,
       buyer.display_name AS buyer, seller.display_name AS seller,
       conversation_item.name AS conversation_item, writer.display_name AS writer,
       reviewer.display_name AS reviewer
  FROM accounts a
  LEFT JOIN email_settings s ON s.account_id = a.id
  LEFT JOIN purchases p ON p.id = $3
  LEFT JOIN items order_item ON order_item.id = p.item_id
  LEFT JOIN accounts buyer ON buyer.id = p.buyer_id
  LEFT JOIN accounts seller ON seller.id = coalesce(p.seller_id, order_item.seller_id)
  LEFT JOIN conversations c ON c.id = $4
  LEFT JOIN items conversation_item ON conversation_item.id = c.item_id
  LEFT JOIN LATERAL (
        SELECT m.author_id FROM messages m
         WHERE m.conversation_id = c.id AND m.author_id <> a.id
         ORDER BY m.sent_at DESC, m.id DESC
         LIMIT 1) latest ON true
  LEFT JOIN accounts writer ON writer.id = coalesce(
        latest.author_id, CASE WHEN c.asker_id = a.id THEN c.seller_id ELSE c.asker_id END)
  LEFT JOIN LATERAL (
        SELECT r.author_id FROM reviews r
         WHERE r.order_id = p.id AND r.subject_id = a.id
         ORDER BY r.id DESC
         LIMIT 1) review ON true
  LEFT JOIN accounts reviewer ON reviewer.id = review.author_id
 WHERE a.id = $1";

pub async fn read_email(client: &Client, claimed: &Claimed) -> Result<Loaded, Error> {
    let row = client
        .query_opt(
            READ_EMAIL,
            &[
                &claimed.account_id,
                &claimed.kind.as_str(),
                &claimed.order_id,
                &claimed.conversation_id,
            ],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Loaded::Broken(format!(
            "account {} does not exist",
            claimed.account_id
        )));
    };
    Ok(EmailRow::try_from(&row)?.into_loaded(claimed))
}

/// A row of [`READ_EMAIL`], every column as it came (`None` where the join found
/// nothing).
struct EmailRow {
    email: String,
    display_name: String,
    unsubscribe_key: Option<String>,
    wanted: Option<bool>,
    quantity: Option<i32>,
    order_item: Option<String>,
    ship_note: Option<String>,
    buyer: Option<String>,
    seller: Option<String>,
    conversation_item: Option<String>,
    writer: Option<String>,
    reviewer: Option<String>,
}

impl TryFrom<&Row> for EmailRow {
    type Error = Error;

    fn try_from(row: &Row) -> Result<Self, Error> {
        Ok(EmailRow {
            email: row.try_get("email")?,
            display_name: row.try_get("display_name")?,
            unsubscribe_key: row.try_get("unsubscribe_key")?,
            wanted: row.try_get("wanted")?,
            quantity: row.try_get("quantity")?,
            order_item: row.try_get("order_item")?,
            ship_note: row.try_get("ship_note")?,
            buyer: row.try_get("buyer")?,
            seller: row.try_get("seller")?,
            conversation_item: row.try_get("conversation_item")?,
            writer: row.try_get("writer")?,
            reviewer: row.try_get("reviewer")?,
        })
    }
}

impl EmailRow {
    /// The email the claimed row asks for, or why there is none.
    fn into_loaded(self, claimed: &Claimed) -> Loaded {
        match self.content(claimed) {
            Ok(Some(content)) => Loaded::Ready {
                recipient: Recipient {
                    address: self.email,
                    name: self.display_name,
                },
                content,
            },
            Ok(None) => Loaded::TurnedOff,
            Err(reason) => Loaded::Broken(reason),
        }
    }

    fn content(&self, claimed: &Claimed) -> Result<Option<Content>, String> {
        let token = || {
            claimed
                .link_token
                .clone()
                .ok_or_else(|| "the row holds no link token".to_owned())
        };
        let notice = match claimed.kind {
            Kind::Verify => return Ok(Some(Content::Verify { token: token()? })),
            Kind::Reset => return Ok(Some(Content::Reset { token: token()? })),
            Kind::Sold | Kind::Shipped | Kind::Review => {
                let order_id = claimed.order_id.ok_or("the row names no order")?;
                let (Some(quantity), Some(item)) = (self.quantity, self.order_item.clone()) else {
                    return Err(format!("order {order_id} or its item does not exist"));
                };
                match claimed.kind {
                    Kind::Sold => Notice::Sold {
                        order_id,
                        quantity,
                        item,
                        buyer: self.buyer.clone(),
                    },
                    Kind::Shipped => Notice::Shipped {
                        order_id,
                        quantity,
                        item,
                        seller: self.seller.clone(),
                        note: self.ship_note.clone(),
                    },
                    _ => Notice::Review {
                        order_id,
                        item,
                        reviewer: self.reviewer.clone().ok_or_else(|| {
                            format!("order {order_id} has no review of its recipient")
                        })?,
                    },
                }
            }
            Kind::Message => {
                let conversation_id = claimed
                    .conversation_id
                    .ok_or("the row names no conversation")?;
                let (Some(item), Some(from)) =
                    (self.conversation_item.clone(), self.writer.clone())
                else {
                    return Err(format!("conversation {conversation_id} does not exist"));
                };
                Notice::Message {
                    conversation_id,
                    item,
                    from,
                }
            }
        };
        let unsubscribe_key = self
            .unsubscribe_key
            .clone()
            .ok_or("the recipient has no email settings")?;
        if self.wanted == Some(false) {
            return Ok(None);
        }
        Ok(Some(Content::Notice {
            notice,
            unsubscribe_key,
        }))
    }
}

/// Marks the row sent, erases its token, and commits, in one round trip: the relay has
/// just accepted the email, and until this commit lands a crash would send it again.
pub async fn commit_sent(client: &Client, id: i64) -> Result<(), tokio_postgres::Error> {
    // The id is a number formatted here, not text from anywhere: safe in the statement,
    // which lets the UPDATE and the COMMIT travel as one simple query.
    client
        .batch_execute(&format!(
            "UPDATE outbox SET sent_at = now(), link_token = NULL WHERE id = {id}; COMMIT"
        ))
        .await
}

/// Counts the failed try, keeps its cause, makes the row due again after `delay` (never
/// later than the row's give-up age, `give_up_after`, when it will be given up), and
/// commits.
pub async fn commit_retry(
    client: &Client,
    id: i64,
    delay: Duration,
    give_up_after: Duration,
    error: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE outbox
                SET attempts = attempts + 1,
                    next_attempt_at = least(now() + make_interval(secs => $2),
                                            created_at + make_interval(secs => $3)),
                    last_error = left($4, 500)
              WHERE id = $1",
            &[
                &id,
                &delay.as_secs_f64(),
                &give_up_after.as_secs_f64(),
                &error,
            ],
        )
        .await?;
    client.batch_execute("COMMIT").await
}

/// Gives the row up for `reason`, erases its token, and commits. `tried`: whether the
/// relay was asked this time (which counts as an attempt). The last temporary failure's
/// cause, if any, is kept after the reason.
pub async fn commit_given_up(
    client: &Client,
    id: i64,
    tried: bool,
    reason: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE outbox
                SET gave_up_at = now(),
                    link_token = NULL,
                    attempts = attempts + $2,
                    last_error = left(concat_ws('; before: ', $3::text, last_error), 500)
              WHERE id = $1",
            &[&id, &i32::from(tried), &reason],
        )
        .await?;
    client.batch_execute("COMMIT").await
}

/// The database could not be used, or answered something this code cannot read.
#[derive(Debug)]
pub enum Error {
    Postgres(tokio_postgres::Error),
    Decode(String),
    /// The database did not answer within this long (it may have frozen, or the
    /// network between us dropped without a word).
    NoAnswer(Duration),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Postgres(e) => write!(f, "{}", crate::relay::error_chain(e)),
            Error::Decode(what) => write!(f, "unexpected outbox data: {what}"),
            Error::NoAnswer(limit) => {
                write!(
                    f,
                    "the database did not answer within {} s",
                    limit.as_secs()
                )
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Postgres(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(kind: Kind) -> Claimed {
        Claimed {
            id: 1,
            account_id: 2,
            kind,
            link_token: None,
            order_id: None,
            conversation_id: None,
            created_micros: 0,
            attempts: 0,
            age: Duration::ZERO,
        }
    }

    fn row() -> EmailRow {
        EmailRow {
            email: "eve@example.com".to_owned(),
            display_name: "Eve".to_owned(),
            unsubscribe_key: Some("key".to_owned()),
            wanted: Some(true),
            quantity: None,
            order_item: None,
            ship_note: None,
            buyer: None,
            seller: None,
            conversation_item: None,
            writer: None,
            reviewer: None,
        }
    }

    #[test]
    fn a_notice_names_what_it_tells_and_carries_the_unsubscribe_key() {
        let sold = Claimed {
            order_id: Some(7),
            ..claimed(Kind::Sold)
        };
        let data = EmailRow {
            quantity: Some(2),
            order_item: Some("Teapot".to_owned()),
            buyer: Some("Bob".to_owned()),
            ..row()
        };
        let Loaded::Ready { recipient, content } = data.into_loaded(&sold) else {
            panic!("no email");
        };
        assert_eq!(recipient.name, "Eve");
        assert_eq!(
            content,
            Content::Notice {
                notice: Notice::Sold {
                    order_id: 7,
                    quantity: 2,
                    item: "Teapot".to_owned(),
                    buyer: Some("Bob".to_owned()),
                },
                unsubscribe_key: "key".to_owned(),
            }
        );
    }

    #[test]
    fn a_notice_turned_off_is_not_sent_and_missing_data_breaks_the_row() {
        let message = Claimed {
            conversation_id: Some(9),
            ..claimed(Kind::Message)
        };
        let written = EmailRow {
            conversation_item: Some("Lamp".to_owned()),
            writer: Some("Ann".to_owned()),
            ..row()
        };
        let off = EmailRow {
            wanted: Some(false),
            ..written
        };
        assert_eq!(off.into_loaded(&message), Loaded::TurnedOff);
        assert_eq!(
            row().into_loaded(&message),
            Loaded::Broken("conversation 9 does not exist".to_owned())
        );
        let review = Claimed {
            order_id: Some(7),
            ..claimed(Kind::Review)
        };
        let no_review = EmailRow {
            quantity: Some(1),
            order_item: Some("Lamp".to_owned()),
            ..row()
        };
        assert_eq!(
            no_review.into_loaded(&review),
            Loaded::Broken("order 7 has no review of its recipient".to_owned())
        );
        assert_eq!(
            row().into_loaded(&claimed(Kind::Verify)),
            Loaded::Broken("the row holds no link token".to_owned())
        );
    }

    #[test]
    fn a_link_needs_no_settings_and_is_sent_whatever_the_notice_settings() {
        let verify = Claimed {
            link_token: Some("t".repeat(64)),
            ..claimed(Kind::Verify)
        };
        let data = EmailRow {
            unsubscribe_key: None,
            wanted: None,
            ..row()
        };
        assert!(matches!(
            data.into_loaded(&verify),
            Loaded::Ready {
                content: Content::Verify { .. },
                ..
            }
        ));
    }
}
