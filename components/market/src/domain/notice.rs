//! In-app notices: something happened that a person should see (a new message, an order
//! to ship, a shipped order, a new review). Recorded as rows in the same statement as
//! the event, shown until seen: the data an email sender could read.

/// What the header counts for a signed-in person: notices not seen, and messages from
/// others not read in any of their conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unseen {
    pub notices: i64,
    pub messages: i64,
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Message,
    OrderToShip,
    OrderShipped,
    Review,
}

impl NoticeKind {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "message" => Self::Message,
            "order_to_ship" => Self::OrderToShip,
            "order_shipped" => Self::OrderShipped,
            "review" => Self::Review,
            _ => return None,
        })
    }

    /// The sentence a person reads.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Message => "New message",
            Self::OrderToShip => "An order to ship",
            Self::OrderShipped => "Your order was shipped",
            Self::Review => "A new review of you",
        }
    }
}

/// A notice not yet seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    pub id: i64,
    pub kind: NoticeKind,
    pub order_id: Option<i64>,
    pub conversation_id: Option<i64>,
    /// What it is about: the item's name.
    pub item_name: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl Notice {
    /// The page it leads to.
    pub fn path(&self) -> String {
        match (self.conversation_id, self.order_id) {
            (Some(conversation), _) => format!("/conversations/{conversation}"),
            (None, Some(order)) => format!("/orders/{order}"),
            (None, None) => "/notices".to_owned(),
        }
    }
}
