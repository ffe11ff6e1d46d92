//! Orders: every purchase moves from placed to shipped (by its seller) to received (by
//! its buyer), or is cancelled by either before it ships, its units going back to stock.
//! A shipped order not marked received within [`AUTO_RECEIVE_DAYS`] counts as received.
//! Which party may do what from which state is here; the statements that do it
//! (`storage::orders`) check the same in the database.

use std::fmt;

/// Days after shipping when an order counts as received without its buyer saying so.
pub const AUTO_RECEIVE_DAYS: u32 = 14;
/// Longest shipping note (a carrier and tracking number), in characters.
pub const SHIP_NOTE_MAX_CHARS: usize = 200;

/// Where an order is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Placed,
    Shipped,
    Received,
    Cancelled,
}

impl OrderState {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "placed" => Self::Placed,
            "shipped" => Self::Shipped,
            "received" => Self::Received,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Shipped => "shipped",
            Self::Received => "received",
            Self::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who someone is in an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Buyer,
    Seller,
}

impl Party {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "buyer" => Some(Self::Buyer),
            "seller" => Some(Self::Seller),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Buyer => Self::Seller,
            Self::Seller => Self::Buyer,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buyer => "buyer",
            Self::Seller => "seller",
        }
    }
}

/// What a party does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ship,
    Receive,
    Cancel,
}

impl Action {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ship" => Some(Self::Ship),
            "receive" => Some(Self::Receive),
            "cancel" => Some(Self::Cancel),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ship => "ship",
            Self::Receive => "receive",
            Self::Cancel => "cancel",
        }
    }

    /// The state the action leads to.
    pub fn target(self) -> OrderState {
        match self {
            Self::Ship => OrderState::Shipped,
            Self::Receive => OrderState::Received,
            Self::Cancel => OrderState::Cancelled,
        }
    }

    /// Whether `party` may take this action at all (the wrong party gets 404, as
    /// someone who is not a party does).
    pub fn allowed_to(self, party: Party) -> bool {
        match self {
            Self::Ship => party == Party::Seller,
            Self::Receive => party == Party::Buyer,
            Self::Cancel => true,
        }
    }

    /// The one state it may be taken from.
    pub fn from(self) -> OrderState {
        match self {
            Self::Ship | Self::Cancel => OrderState::Placed,
            Self::Receive => OrderState::Shipped,
        }
    }
}

/// What an action on an order comes to, for a party allowed to take it, from `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done now (the statement changed the order).
    Done,
    /// It already was so: the same action again changes nothing (idempotent).
    AlreadyDone,
    /// Not from this state (409, naming it).
    NotFrom(OrderState),
}

impl Outcome {
    /// What taking `action` in `state` (as the database saw it after refusing) means.
    pub fn after_refusal(action: Action, state: OrderState) -> Self {
        if state == action.target() {
            Self::AlreadyDone
        } else {
            Self::NotFrom(state)
        }
    }
}

/// Why an action is refused in a state, as the 409 says it.
pub fn conflict_message(action: Action, state: OrderState) -> String {
    let verb = match action {
        Action::Ship => "shipped",
        Action::Receive => "marked received",
        Action::Cancel => "cancelled",
    };
    let why = match (action, state) {
        (Action::Receive, OrderState::Placed) => "it has not been shipped yet",
        (_, OrderState::Cancelled) => "it was cancelled",
        (_, OrderState::Received) => "it was received",
        (Action::Cancel, OrderState::Shipped) => "it has already been shipped",
        _ => "of its state",
    };
    format!("This order is {state}: it cannot be {verb}, because {why}.")
}

/// A shipping note as the seller typed it: one trimmed line, at most
/// [`SHIP_NOTE_MAX_CHARS`] characters.
pub fn ship_note(text: &str) -> Result<String, String> {
    if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err("The shipping note cannot hold control characters.".into());
    }
    let note = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if note.chars().count() > SHIP_NOTE_MAX_CHARS {
        return Err(format!(
            "The shipping note may be at most {SHIP_NOTE_MAX_CHARS} characters."
        ));
    }
    Ok(note)
}

/// An order as one of its parties sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Order {
    pub id: i64,
    pub item_id: i64,
    pub item_name: String,
    pub quantity: i32,
    /// What one unit cost, in cents.
    #[serde(skip)]
    pub price_cents: Option<i64>,
    pub buyer_id: i64,
    pub buyer_name: String,
    pub seller_id: i64,
    pub seller_name: String,
    /// The state now (a shipped order past [`AUTO_RECEIVE_DAYS`] is received).
    pub state: OrderState,
    /// When it reached each state (RFC 3339, UTC); `received_automatically` when no one
    /// marked it.
    pub placed_at: String,
    pub shipped_at: Option<String>,
    pub ship_note: Option<String>,
    pub received_at: Option<String>,
    pub received_automatically: bool,
    pub cancelled_at: Option<String>,
    pub cancelled_by: Option<Party>,
}

impl Order {
    /// What `account` is in this order, if anything.
    pub fn party(&self, account: i64) -> Option<Party> {
        if account == self.buyer_id {
            Some(Party::Buyer)
        } else if account == self.seller_id {
            Some(Party::Seller)
        } else {
            None
        }
    }

    /// The actions `party` can take now.
    pub fn actions_for(&self, party: Party) -> Vec<Action> {
        [Action::Ship, Action::Receive, Action::Cancel]
            .into_iter()
            .filter(|action| action.allowed_to(party) && action.from() == self.state)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_belongs_to_its_party_and_starts_from_one_state() {
        // (action, party, allowed)
        for (action, party, allowed) in [
            (Action::Ship, Party::Seller, true),
            (Action::Ship, Party::Buyer, false),
            (Action::Receive, Party::Buyer, true),
            (Action::Receive, Party::Seller, false),
            (Action::Cancel, Party::Buyer, true),
            (Action::Cancel, Party::Seller, true),
        ] {
            assert_eq!(action.allowed_to(party), allowed, "{action:?} {party:?}");
        }
        assert_eq!(
            Outcome::after_refusal(Action::Ship, OrderState::Shipped),
            Outcome::AlreadyDone
        );
        assert_eq!(
            Outcome::after_refusal(Action::Ship, OrderState::Cancelled),
            Outcome::NotFrom(OrderState::Cancelled)
        );
        assert!(
            conflict_message(Action::Cancel, OrderState::Shipped)
                .starts_with("This order is shipped: it cannot be cancelled")
        );
        assert!(ship_note(&"x".repeat(201)).is_err());
        assert!(ship_note("DHL \u{0}").is_err());
        assert_eq!(ship_note("  DHL \n 123 ").unwrap(), "DHL 123");
    }
}
