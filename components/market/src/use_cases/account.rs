//! What people do with their account: sign up, sign in and out (here or everywhere),
//! and create and revoke API tokens; and who a session or token stands for.

use crate::domain::account::{self, Email, NewAccount, Password, Person, Secret, TokenName, field};
use crate::domain::email;
use crate::domain::error::AppError;
use crate::domain::item::FieldErrors;
use crate::observe::record;
use crate::storage::{cache, db};

/// What a sign-up came to.
pub enum SignUp {
    /// The new account, signed in with this session.
    SignedIn(Person, Secret),
    /// Another account has this email, in some case.
    EmailTaken,
}

/// Creates an account and signs it in, ending the browser's `previous` session.
/// Its outcomes in the log: `signed_up`, `email_taken` (and `invalid` for a form with
/// mistakes, an error).
pub fn sign_up(
    email: &str,
    display_name: &str,
    password: &str,
    previous: Option<&Secret>,
) -> Result<SignUp, AppError> {
    record::use_case("sign_up");
    let account = NewAccount::parse(email, display_name, password).map_err(|errors| {
        record::outcome("invalid");
        AppError::Invalid(errors)
    })?;
    let hash = account::hash_password(&account.password)?;
    let session = Secret::new_session_id()?;
    // The address's verification link is mailed from the outbox row written with it.
    let verify_link = email::new_link_token()?;
    match db::insert_account(
        &*db::open()?,
        &account,
        &hash,
        &session,
        previous,
        &verify_link,
    )? {
        Some(person) => {
            forget(previous);
            record::outcome("signed_up");
            Ok(SignUp::SignedIn(person, session))
        }
        None => {
            record::outcome("email_taken");
            Ok(SignUp::EmailTaken)
        }
    }
}

/// What a sign-in came to.
pub enum SignIn {
    /// Signed in with this new session.
    SignedIn(Person, Secret),
    /// No account has this email, or its password is another: the same answer for both.
    WrongCredentials,
    /// Too many failed sign-ins with this email lately: the seconds to wait.
    Wait(u32),
}

/// Signs in with an email and password, with a new session id (never the browser's
/// `previous` one, which ends: no session fixation). An unknown email costs the same
/// password hash as a wrong password, so the time taken does not tell them apart.
/// Its outcomes in the log: `signed_in`, `wrong_credentials`, `throttled`, `invalid`.
pub fn sign_in(email: &str, password: &str, previous: Option<&Secret>) -> Result<SignIn, AppError> {
    record::use_case("sign_in");
    let (email, password) = parse_credentials(email, password).inspect_err(|_| {
        record::outcome("invalid");
    })?;
    let db = db::open()?;
    let (account, wait) = db::account_for_sign_in(&db, &email)?;
    if wait > 0 {
        record::outcome("throttled");
        return Ok(SignIn::Wait(wait));
    }
    let stored = account
        .as_ref()
        .map(|account| account.password_hash.as_str());
    let matches = account::password_matches(&password, stored);
    let Some(account) = account.filter(|_| matches) else {
        db::record_failed_sign_in(&db, &email)?;
        record::outcome("wrong_credentials");
        return Ok(SignIn::WrongCredentials);
    };
    let session = Secret::new_session_id()?;
    db::start_session(&db, account.person.id, &email, &session, previous)?;
    forget(previous);
    record::outcome("signed_in");
    Ok(SignIn::SignedIn(account.person, session))
}

fn parse_credentials(email: &str, password: &str) -> Result<(Email, Password), AppError> {
    match (Email::parse(email), Password::parse_given(password)) {
        (Ok(email), Ok(password)) => Ok((email, password)),
        (email, password) => {
            let mut errors = FieldErrors::default();
            if let Err(message) = email {
                errors.add(field::EMAIL, message);
            }
            if let Err(message) = password {
                errors.add(field::PASSWORD, message);
            }
            Err(AppError::Invalid(errors))
        }
    }
}

/// The browser's previous session, which Postgres just ended: out of the cache too.
fn forget(previous: Option<&Secret>) {
    if let Some(previous) = previous {
        cache::forget_sessions(&[previous.digest()]);
    }
}

/// The person signed in with `session`, if it is still live: from the sessions cache
/// while it holds it, else one statement.
pub fn person_for_session(session: &Secret) -> Result<Option<Person>, AppError> {
    cache::session_person(&session.digest(), || {
        db::session_person(&*db::open()?, session)
    })
}

/// The person an API token stands for, if it is known and not revoked.
pub fn person_for_token(token: &Secret) -> Result<Option<Person>, AppError> {
    db::token_person(&*db::open()?, token)
}

/// Ends this session.
pub fn sign_out(session: &Secret) -> Result<(), AppError> {
    record::use_case("sign_out");
    db::end_session(&*db::open()?, session)?;
    cache::forget_sessions(&[session.digest()]);
    record::outcome("signed_out");
    Ok(())
}

/// Ends every session of `person`, on every device (API tokens are revoked one by one).
pub fn sign_out_everywhere(person: &Person) -> Result<(), AppError> {
    record::use_case("sign_out_everywhere");
    let ended = db::end_all_sessions(&*db::open()?, person.id)?;
    cache::forget_sessions(&ended);
    record::outcome("signed_out");
    Ok(())
}

/// A new API token for `person`, to be shown once: only its digest is stored.
pub fn create_token(person: &Person, name: &str) -> Result<Secret, AppError> {
    record::use_case("create_token");
    let name = TokenName::parse(name).map_err(|message| {
        record::outcome("invalid");
        AppError::Invalid(FieldErrors::single(field::TOKEN_NAME, message))
    })?;
    let token = Secret::new_api_token()?;
    db::insert_api_token(&*db::open()?, person.id, &name, &token)?;
    record::outcome("created");
    Ok(token)
}

/// Revokes one of `person`'s API tokens; anyone else's is not found.
pub fn revoke_token(person: &Person, token: i64) -> Result<(), AppError> {
    record::use_case("revoke_token");
    if db::revoke_api_token(&*db::open()?, person.id, token)? {
        record::outcome("revoked");
        Ok(())
    } else {
        record::outcome("not_theirs");
        Err(AppError::NotFound)
    }
}
