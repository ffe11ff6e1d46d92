//! What email does for people: confirm their address, get back into an account whose
//! password they forgot, and choose which notices reach them by email. Each email is an
//! outbox row written by the same statement as what causes it (storage::email); the
//! sender (mailer/) delivers it.

use crate::domain::account::{self, Email, Password, Person};
use crate::domain::email::{self, EmailStatus, NoticeKind, Preferences};
use crate::domain::error::AppError;
use crate::domain::item::FieldErrors;
use crate::observe::record;
use crate::storage::email::{self as statements, LinkState, Resent};
use crate::storage::{cache, db};

/// Mails `person` a new verification link. Its outcomes in the log: `sent`,
/// `already_verified`, `too_many`.
pub fn resend_verification(person: &Person) -> Result<Resent, AppError> {
    record::use_case("resend_verification");
    let link = email::new_link_token()?;
    let resent = statements::resend_verification(&*db::open()?, person.id, &link)?;
    record::outcome(match resent {
        Resent::Sent => "sent",
        Resent::AlreadyVerified => "already_verified",
        Resent::TooMany => "too_many",
    });
    Ok(resent)
}

/// Uses the verification link carrying `token`. Its outcomes in the log: `verified`,
/// `used`, `expired`, `unknown`.
pub fn verify(token: &str) -> Result<LinkState, AppError> {
    record::use_case("verify_email");
    let state = match email::parse_link_token(token) {
        Some(token) => statements::verify(&*db::open()?, &token.digest())?,
        None => LinkState::Unknown,
    };
    record::outcome(match state {
        LinkState::Valid => "verified",
        LinkState::Used => "used",
        LinkState::Expired => "expired",
        LinkState::Unknown => "unknown",
    });
    Ok(state)
}

/// Asks for a password reset link for `address`, from `client`. The answer is the same
/// whether or not an account has the address (only a malformed address or too many
/// requests differ, and neither depends on the accounts). Its outcomes in the log:
/// `requested`, `too_many`, `invalid`.
pub fn request_reset(address: &str, client: &str) -> Result<(), AppError> {
    record::use_case("request_reset");
    let address = Email::parse(address).map_err(|message| {
        record::outcome("invalid");
        AppError::Invalid(FieldErrors::single(account::field::EMAIL, message))
    })?;
    let link = email::new_link_token()?;
    if statements::request_reset(&*db::open()?, address.as_str(), client, &link)? {
        record::outcome("requested");
        Ok(())
    } else {
        record::outcome("too_many");
        Err(AppError::TooManyMessages(
            "Too many reset links were asked for lately, for this address or from your \
             network. Try again in an hour."
                .into(),
        ))
    }
}

/// What the reset link carrying `token` is, without using it.
pub fn reset_link(token: &str) -> Result<LinkState, AppError> {
    match email::parse_link_token(token) {
        Some(token) => statements::reset_link(&*db::open()?, &token.digest()),
        None => Ok(LinkState::Unknown),
    }
}

/// Sets a new password with the reset link carrying `token`: every session of the
/// account ends. `Ok(state)` other than `Valid` when the link cannot be used. Its
/// outcomes in the log: `reset`, `invalid`, `used`, `expired`, `unknown`.
pub fn reset_password(token: &str, new: &str) -> Result<LinkState, AppError> {
    record::use_case("reset_password");
    let Some(token) = email::parse_link_token(token) else {
        record::outcome("unknown");
        return Ok(LinkState::Unknown);
    };
    let new = Password::parse_new(new).map_err(|message| {
        record::outcome("invalid");
        AppError::Invalid(FieldErrors::single(account::field::PASSWORD, message))
    })?;
    let hash = account::hash_password(&new)?;
    let (state, ended) = statements::reset_password(&*db::open()?, &token.digest(), &hash)?;
    cache::forget_sessions(&ended);
    record::outcome(match state {
        LinkState::Valid => "reset",
        LinkState::Used => "used",
        LinkState::Expired => "expired",
        LinkState::Unknown => "unknown",
    });
    Ok(state)
}

/// `person`'s address, whether it is verified, and which notices they get by email.
pub fn status(person: &Person) -> Result<EmailStatus, AppError> {
    statements::status(&*db::open()?, person.id)
}

/// `person` gets exactly these notices by email. Its outcome in the log: `saved`.
pub fn set_preferences(person: &Person, on: &[NoticeKind]) -> Result<(), AppError> {
    record::use_case("email_preferences");
    statements::set_preferences(&*db::open()?, person.id, Preferences::only(on))?;
    record::outcome("saved");
    Ok(())
}

/// Whether `key` is an unsubscribe key (its page shows only for one).
pub fn unsubscribe_key_known(key: &str) -> Result<bool, AppError> {
    match email::parse_unsubscribe_key(key) {
        Some(key) => statements::unsubscribe_key_known(&*db::open()?, key),
        None => Ok(false),
    }
}

/// Turns notices of `kind` off for whoever holds `key`, without signing in (RFC 8058
/// one-click). Its outcomes in the log: `unsubscribed`, `unknown_key`.
pub fn unsubscribe(key: &str, kind: NoticeKind) -> Result<(), AppError> {
    record::use_case("unsubscribe");
    let found = match email::parse_unsubscribe_key(key) {
        Some(key) => statements::unsubscribe(&*db::open()?, key, kind)?,
        None => false,
    };
    if found {
        record::outcome("unsubscribed");
        Ok(())
    } else {
        record::outcome("unknown_key");
        Err(AppError::NotFound)
    }
}
