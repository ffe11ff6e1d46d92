//! Who a request comes from: a browser's session cookie (pages and forms) or a program's
//! `Authorization: Bearer` token (the API), and the cookie that carries a session.
//!
//! Reading either is at most one statement, and none when the request carries neither,
//! so a visitor who is not signed in costs nothing more than before accounts existed.

use crate::domain::account::{Person, SESSION_LIFETIME_SECONDS, Secret};
use crate::domain::error::AppError;
use crate::use_cases::account;
use crate::web::http::{self, Request, Response, header};

/// The cookie holding a browser's session id.
pub const SESSION_COOKIE: &str = "session";

/// The session id the browser holds, if well formed.
pub fn session_id(request: &Request) -> Option<Secret> {
    request
        .cookie(SESSION_COOKIE)
        .and_then(Secret::parse_session_id)
}

/// The person whose API token the request carries (`Authorization: Bearer mkt_…`); a
/// missing, malformed, unknown or revoked token is a 401. Cookies are never read here:
/// the API has no CSRF protection, so a browser's session must not reach it.
pub fn token_holder(request: &Request) -> Result<Person, AppError> {
    let token = bearer_token(request)?;
    account::person_for_token(&token)?.ok_or(AppError::Unauthenticated { sent: true })
}

/// The API token the request carries, well formed but not yet checked: a write that
/// checks it in its own statement (selling, buying) takes it from here; missing or
/// malformed is a 401 at once.
pub fn bearer_token(request: &Request) -> Result<Secret, AppError> {
    let Some(value) = request.header(header::AUTHORIZATION.as_str()) else {
        return Err(AppError::Unauthenticated { sent: false });
    };
    value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, token)| Secret::parse_api_token(token.trim()))
        .ok_or(AppError::Unauthenticated { sent: true })
}

/// Hands the browser its new session id. It lives as long as the session can.
pub fn set_session_cookie(response: &mut Response, session: &Secret) {
    http::set_cookie(
        response,
        &format!(
            "{SESSION_COOKIE}={}; Path=/; Max-Age={SESSION_LIFETIME_SECONDS}; HttpOnly; \
             SameSite=Lax",
            session.expose()
        ),
    );
}

/// Tells the browser to forget its session id.
pub fn clear_session_cookie(response: &mut Response) {
    http::set_cookie(
        response,
        &format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
    );
}
