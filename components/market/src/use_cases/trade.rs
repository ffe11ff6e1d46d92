//! Trading between two people: orders that move (ship, receive, cancel), conversations
//! about a listing and an order, reviews once an order is received, public profiles and
//! notices. Only the parties can read or act (404 for anyone else, and for a party
//! taking the other's action); each refusal of a state says which state it is in (409).
//! What changes stock or the listing makes the listing cache show it before returning.

use crate::domain::account::{AccountId, Person};
use crate::domain::conversation::{self, Conversation, MESSAGES_PAGE, Message};
use crate::domain::error::AppError;
use crate::domain::notice::{Notice, Unseen};
use crate::domain::order::{self, Action, Order, Outcome, Party};
use crate::domain::review::{self, REVIEWS_PAGE, Review};
use crate::observe::record;
use crate::storage::conversations::{self, Asked, Replied};
use crate::storage::db::{self, OwnPage};
use crate::storage::profiles::{self, Profile};
use crate::storage::reviews::{self, Written};
use crate::storage::{cache, notices, orders};

/// Orders listed at a time.
pub const ORDERS_PAGE: u32 = 100;
/// Conversations listed at a time in an inbox.
pub const INBOX_PAGE: u32 = 100;
/// Listings shown on a profile.
pub const PROFILE_LISTINGS: u32 = 20;

const TOO_MANY_MESSAGES: &str =
    "You are sending messages too fast: wait a minute before sending another.";

/// Order `id` as `viewer` sees it (404 unless a party); seeing it marks its notices seen.
pub fn order(viewer: &Person, id: i64) -> Result<Order, AppError> {
    let conn = db::open()?;
    let found = orders::find(&conn, id, viewer.id)?.ok_or(AppError::NotFound)?;
    notices::mark_seen(&conn, viewer.id, Some(id))?;
    Ok(found)
}

/// The orders where `viewer` is `party`.
pub fn orders_of(viewer: &Person, party: Party) -> Result<Vec<Order>, AppError> {
    orders::of_party(&*db::open()?, viewer.id, party, ORDERS_PAGE)
}

/// `actor` takes `action` on order `id`: the order as it is after it (also when it
/// already was so); 404 when they are not its party for this action, 409 naming the
/// state when it cannot be taken from there.
/// Its outcomes in the log: `done`, `already`, `wrong_state`, `not_theirs`.
pub fn act(actor: &Person, id: i64, action: Action, note: &str) -> Result<Order, AppError> {
    record::use_case(match action {
        Action::Ship => "ship_order",
        Action::Receive => "receive_order",
        Action::Cancel => "cancel_order",
    });
    let note = order::ship_note(note).map_err(|message| {
        AppError::Invalid(crate::domain::item::FieldErrors::single("note", message))
    })?;
    let conn = db::open()?;
    let done = orders::act(&conn, id, actor.id, action, &note)?;
    let found = orders::find(&conn, id, actor.id)?;
    let Some(found) = found.filter(|order| {
        order
            .party(actor.id.get())
            .is_some_and(|party| action.allowed_to(party))
    }) else {
        record::outcome("not_theirs");
        return Err(AppError::NotFound);
    };
    if done {
        if action == Action::Cancel {
            cache::invalidate();
        }
        record::outcome("done");
        return Ok(found);
    }
    match Outcome::after_refusal(action, found.state) {
        Outcome::AlreadyDone | Outcome::Done => {
            record::outcome("already");
            Ok(found)
        }
        Outcome::NotFrom(state) => {
            record::outcome("wrong_state");
            Err(AppError::Conflict(order::conflict_message(action, state)))
        }
    }
}

/// `asker` writes about item `item` to its seller: the conversation, and whether it was
/// started now. Its outcomes in the log: `started`, `added`, `own_listing`, `too_many`,
/// `unknown_item`, `unverified`.
pub fn ask(asker: &Person, item: i64, text: &str) -> Result<(Conversation, bool), AppError> {
    record::use_case("ask");
    let text = conversation::message_text(text).map_err(invalid_text)?;
    let conn = db::open()?;
    match conversations::ask(&conn, item, asker.id, &text)? {
        Asked::Added {
            conversation,
            started,
        } => {
            record::outcome(if started { "started" } else { "added" });
            let found = conversations::find(&conn, conversation, asker.id)?
                .ok_or_else(|| AppError::Internal("a conversation just written is gone".into()))?;
            Ok((found, started))
        }
        Asked::NoSuchItem => {
            record::outcome("unknown_item");
            Err(AppError::NotFound)
        }
        Asked::OwnListing => {
            record::outcome("own_listing");
            Err(AppError::Conflict(
                "This is your own listing: there is nobody to ask.".into(),
            ))
        }
        Asked::TooMany => {
            record::outcome("too_many");
            Err(AppError::TooManyMessages(TOO_MANY_MESSAGES.into()))
        }
        Asked::Unverified => {
            record::outcome("unverified");
            Err(AppError::Unverified)
        }
    }
}

fn invalid_text(message: String) -> AppError {
    AppError::Invalid(crate::domain::item::FieldErrors::single("text", message))
}

/// `author` writes `text` in conversation `id` (404 unless one of its two people): the
/// message's id. Its outcomes in the log: `added`, `not_theirs`, `too_many`,
/// `unverified`.
pub fn reply(author: &Person, id: i64, text: &str) -> Result<i64, AppError> {
    record::use_case("reply");
    let text = conversation::message_text(text).map_err(invalid_text)?;
    match conversations::reply(&*db::open()?, id, author.id, &text)? {
        Replied::Added(message) => {
            record::outcome("added");
            Ok(message)
        }
        Replied::NotTheirs => {
            record::outcome("not_theirs");
            Err(AppError::NotFound)
        }
        Replied::TooMany => {
            record::outcome("too_many");
            Err(AppError::TooManyMessages(TOO_MANY_MESSAGES.into()))
        }
        Replied::Unverified => {
            record::outcome("unverified");
            Err(AppError::Unverified)
        }
    }
}

/// `viewer`'s conversations, newest activity first.
pub fn inbox(viewer: &Person) -> Result<Vec<Conversation>, AppError> {
    conversations::inbox(&*db::open()?, viewer.id, INBOX_PAGE)
}

/// Conversation `id` and a page of its messages (404 unless one of its two people);
/// reading it to its end marks it read.
pub fn conversation(
    viewer: &Person,
    id: i64,
    before: Option<i64>,
) -> Result<(Conversation, OwnPage<Message>), AppError> {
    let conn = db::open()?;
    let found = conversations::find(&conn, id, viewer.id)?.ok_or(AppError::NotFound)?;
    let page = conversations::messages(&conn, id, before, MESSAGES_PAGE)?;
    if before.is_none() {
        conversations::mark_read(&conn, id, viewer.id)?;
    }
    Ok((found, page))
}

/// The conversation of the order's buyer about its item, if they have one.
pub fn conversation_of_order(order: &Order) -> Result<Option<i64>, AppError> {
    conversations::of_asker(&*db::open()?, order.item_id, AccountId::new(order.buyer_id))
}

/// `author` reviews the other party of order `id`: 404 unless a party, 409 before it is
/// received or for a second review. Its outcomes: `written`, `not_theirs`,
/// `not_received`, `already`.
pub fn write_review(author: &Person, id: i64, rating: i64, text: &str) -> Result<i64, AppError> {
    record::use_case("review");
    let mut errors = crate::domain::item::FieldErrors::default();
    let rating = review::rating(rating).map_err(|message| errors.add("rating", message));
    let text = review::review_text(text).map_err(|message| errors.add("text", message));
    let (Ok(rating), Ok(text)) = (rating, text) else {
        return Err(AppError::Invalid(errors));
    };
    match reviews::write(&*db::open()?, id, author.id, rating, &text)? {
        Written::Added(review) => {
            record::outcome("written");
            Ok(review)
        }
        Written::NotTheirs => {
            record::outcome("not_theirs");
            Err(AppError::NotFound)
        }
        Written::NotReceived(state) => {
            record::outcome("not_received");
            Err(AppError::Conflict(format!(
                "This order is {state}: a review can be written once it is received."
            )))
        }
        Written::Already => {
            record::outcome("already");
            Err(AppError::Conflict(
                "You already reviewed this order: a review cannot be changed.".into(),
            ))
        }
    }
}

/// The reviews of order `id` `viewer` may see.
pub fn reviews_of_order(viewer: &Person, id: i64) -> Result<Vec<Review>, AppError> {
    reviews::of_order(&*db::open()?, id, viewer.id)
}

/// Person `id`'s public profile, a page of their visible reviews, and what they sell.
pub fn profile(
    id: i64,
    before: Option<i64>,
) -> Result<(Profile, OwnPage<Review>, Vec<crate::domain::item::Item>), AppError> {
    let conn = db::open()?;
    let person = AccountId::new(id);
    let found = profiles::find(&conn, person)?.ok_or(AppError::NotFound)?;
    let reviews = reviews::of_person(&conn, person, before, REVIEWS_PAGE)?;
    let for_sale = profiles::for_sale(&conn, person, PROFILE_LISTINGS)?;
    Ok((found, reviews, for_sale))
}

/// The notices `viewer` has not seen.
pub fn unseen_notices(viewer: &Person) -> Result<Vec<Notice>, AppError> {
    notices::unseen(&*db::open()?, viewer.id, 100)
}

/// What `viewer`'s header counts: notices not seen, messages not read.
pub fn unseen_count(viewer: AccountId) -> Result<Unseen, AppError> {
    notices::counts(&*db::open()?, viewer)
}

/// Marks all of `viewer`'s notices seen.
pub fn mark_all_seen(viewer: &Person) -> Result<(), AppError> {
    notices::mark_seen(&*db::open()?, viewer.id, None)
}
