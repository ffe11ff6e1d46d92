//! What each kind of email says: its subject and its blocks of text and links.

use super::*;

pub(super) fn verify(shop: Shop<'_>, token: &str) -> (String, Vec<Block>) {
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

pub(super) fn reset(shop: Shop<'_>, token: &str) -> (String, Vec<Block>) {
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

pub(super) fn notice_body(shop: Shop<'_>, notice: &Notice) -> (String, Vec<Block>) {
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
pub(super) fn about(kind: Kind) -> &'static str {
    match kind {
        Kind::Sold => "about your sales",
        Kind::Shipped => "about your orders shipping",
        Kind::Message => "about new messages",
        Kind::Review => "about reviews of you",
        Kind::Verify | Kind::Reset => "with links",
    }
}

/// The one-click unsubscribe link of `kind` for the person whose key this is.
pub(super) fn unsubscribe_link(shop: Shop<'_>, kind: Kind, key: &str) -> String {
    shop.url.link(&format!(
        "/account/email/unsubscribe?key={}&kind={kind}",
        query_value(key)
    ))
}

pub(super) fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
