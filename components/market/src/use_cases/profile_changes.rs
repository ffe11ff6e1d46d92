//! A person changes who they are: their display name, and their password (asking the
//! current one; a new password ends every other session, and revokes their API tokens
//! unless they choose to keep them).

use crate::domain::account::{self, DisplayName, Password, Person, Secret};
use crate::domain::error::AppError;
use crate::domain::item::FieldErrors;
use crate::observe::record;
use crate::storage::{cache, db, profile_changes};

/// Renames `person`. Its outcome in the log: `renamed`.
pub fn rename(person: &Person, name: &str) -> Result<(), AppError> {
    record::use_case("rename");
    let name = DisplayName::parse(name).map_err(|message| {
        AppError::Invalid(FieldErrors::single(account::field::DISPLAY_NAME, message))
    })?;
    let sessions = profile_changes::rename(&*db::open()?, person.id, &name)?;
    cache::forget_sessions(&sessions);
    record::outcome("renamed");
    Ok(())
}

/// Changes `person`'s password from `current` to `new` on the browser of `session`.
/// Its outcomes in the log: `changed`, `wrong_password`, `invalid`, `raced`.
pub fn change_password(
    person: &Person,
    session: &Secret,
    current: &str,
    new: &str,
    keep_tokens: bool,
) -> Result<(), AppError> {
    record::use_case("change_password");
    let mut errors = FieldErrors::default();
    let new = Password::parse_new(new).map_err(|message| errors.add("new_password", message));
    let given =
        Password::parse_given(current).map_err(|message| errors.add("current_password", message));
    let (Ok(new), Ok(given)) = (new, given) else {
        record::outcome("invalid");
        return Err(AppError::Invalid(errors));
    };
    let conn = db::open()?;
    let stored = profile_changes::password_hash(&conn, person.id)?;
    if !account::password_matches(&given, stored.as_deref()) {
        record::outcome("wrong_password");
        return Err(AppError::Invalid(FieldErrors::single(
            "current_password",
            "This is not your current password.",
        )));
    }
    let hash = account::hash_password(&new)?;
    let Some(ended) = profile_changes::change_password(
        &conn,
        person.id,
        stored.as_deref().unwrap_or_default(),
        &hash,
        session,
        keep_tokens,
    )?
    else {
        record::outcome("raced");
        return Err(AppError::Conflict(
            "Your password was changed meanwhile: sign in again with the new one.".into(),
        ));
    };
    cache::forget_sessions(&ended);
    record::outcome("changed");
    Ok(())
}
