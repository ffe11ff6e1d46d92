//! The token every form that writes must carry, against cross-site request forgery.
//!
//! A form is only shown, with its token, to someone who has a session: the token is
//! derived from the browser's session id (`Secret::derived`), so it is bound to that
//! session, changes with it at every sign-in, and no page holds a token for anyone
//! else. The sign-in and sign-up forms come before any session: theirs is derived from
//! a pre-session cookie those pages hand out (scoped to `/account`), so another site
//! cannot sign a browser into the attacker's account (login CSRF) either. Pages for
//! visitors without a session carry no token and no cookie at all, which is what lets
//! nginx share them (DESIGN.md, the serving model).
//!
//! Besides the token, a post the browser labels cross-site (`Sec-Fetch-Site`, `Origin`)
//! is refused.

use crate::domain::account::{Person, Secret};
use crate::domain::error::AppError;
use crate::use_cases::account;
use crate::web::http::{self, Request, Response};
use crate::web::session;

/// The hidden form field that carries the token.
pub const CSRF_FIELD: &str = "csrf_token";
/// The cookie the sign-in and sign-up pages bind their forms' token to.
pub const PRESESSION_COOKIE: &str = "presession";
/// How long a sign-in or sign-up page's form stays valid.
const PRESESSION_MAX_AGE_SECONDS: u32 = 3600;
/// What a token is derived for, so it is never the same value as anything else derived
/// from the secret.
const PURPOSE: &str = "marketplace csrf token v1";

/// A form's token, bound to a session or a pre-session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token of every form shown to the holder of `session`.
    pub fn for_session(session: &Secret) -> Self {
        Self(session.derived(PURPOSE))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn matches(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|submitted| constant_time_eq(self.0.as_bytes(), submitted.as_bytes()))
    }
}

/// The pre-session of a browser on the sign-in or sign-up page: its id, and whether the
/// response must hand it out.
pub struct PreSession {
    id: Secret,
    fresh: bool,
}

impl PreSession {
    /// The browser's pre-session, or a new one.
    pub fn read_or_start(request: &Request) -> Result<Self, AppError> {
        match Self::read(request) {
            Some(id) => Ok(Self { id, fresh: false }),
            None => Ok(Self {
                id: Secret::new_session_id()?,
                fresh: true,
            }),
        }
    }

    fn read(request: &Request) -> Option<Secret> {
        request
            .cookie(PRESESSION_COOKIE)
            .and_then(Secret::parse_session_id)
    }

    /// The token of the sign-in and sign-up forms of this browser.
    pub fn token(&self) -> CsrfToken {
        CsrfToken::for_session(&self.id)
    }

    /// Hands a new pre-session to the browser.
    pub fn write(&self, response: &mut Response) {
        if self.fresh {
            http::set_cookie(
                response,
                &format!(
                    "{PRESESSION_COOKIE}={}; Path=/account; Max-Age={PRESESSION_MAX_AGE_SECONDS}; \
                     HttpOnly; SameSite=Lax",
                    self.id.expose()
                ),
            );
        }
    }

    /// Accepts the post of a sign-in or sign-up form of this browser.
    pub fn verify(request: &Request, submitted: Option<&str>) -> Result<CsrfToken, AppError> {
        check_same_origin(request)?;
        let token = Self::read(request)
            .map(|id| CsrfToken::for_session(&id))
            .ok_or(AppError::Forbidden)?;
        if token.matches(submitted) {
            Ok(token)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Tells the browser to forget its pre-session (it signed in: its forms now carry
    /// the session's token).
    pub fn clear(response: &mut Response) {
        http::set_cookie(
            response,
            &format!("{PRESESSION_COOKIE}=; Path=/account; Max-Age=0; HttpOnly; SameSite=Lax"),
        );
    }
}

/// Accepts the post of a form shown to a signed-in browser: it must carry the token of
/// the session its cookie holds. A browser without a session gets `None`: it has nothing
/// a forged post could use, and the caller sends it to sign in.
pub fn verify_session_form(
    request: &Request,
    submitted: Option<&str>,
) -> Result<Option<(Secret, CsrfToken)>, AppError> {
    check_same_origin(request)?;
    let Some(session) = session::session_id(request) else {
        return Ok(None);
    };
    let token = CsrfToken::for_session(&session);
    if token.matches(submitted) {
        Ok(Some((session, token)))
    } else {
        Err(AppError::Forbidden)
    }
}

/// The person who posted a form shown to them: the form must carry the token of the
/// session its browser holds (403 otherwise); a browser without a live session is sent
/// to sign in and come back to `next`.
pub fn form_poster(
    request: &Request,
    submitted: Option<&str>,
    next: &str,
) -> Result<(Person, CsrfToken), AppError> {
    let sign_in = || AppError::SignInRequired(next.to_owned());
    let (session, token) = verify_session_form(request, submitted)?.ok_or_else(sign_in)?;
    let person = account::person_for_session(&session)?.ok_or_else(sign_in)?;
    Ok((person, token))
}

/// Refuses a request that Fetch Metadata (`Sec-Fetch-Site`) or its `Origin` shows came
/// from another site. Clients that send neither (curl, old browsers) rely on the token.
fn check_same_origin(request: &Request) -> Result<(), AppError> {
    if request
        .header("sec-fetch-site")
        .is_some_and(|site| !matches!(site, "same-origin" | "none"))
    {
        return Err(AppError::Forbidden);
    }
    if let Some(origin) = request.header("origin") {
        let origin_host = origin.split_once("://").map(|(_, host)| host);
        if origin_host.is_none() || origin_host != request.authority.as_deref() {
            return Err(AppError::Forbidden);
        }
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::http::Method;

    fn post_with_cookie(cookie: &str) -> Request {
        Request::with_headers(Method::POST, "/items", &[("cookie", cookie)])
    }

    #[test]
    fn a_sessions_token_is_accepted_with_its_session_only() {
        let session = Secret::new_session_id().unwrap();
        let other = Secret::new_session_id().unwrap();
        let token = CsrfToken::for_session(&session);
        let request = post_with_cookie(&format!("session={}", session.expose()));
        let (verified, _) = verify_session_form(&request, Some(token.as_str()))
            .unwrap()
            .unwrap();
        assert_eq!(verified, session);
        let cases: [(Option<String>, &str); 5] = [
            (None, "no field"),
            (Some(String::new()), "empty field"),
            (
                Some(CsrfToken::for_session(&other).0),
                "another session's token",
            ),
            (Some(session.expose().to_owned()), "the session id itself"),
            (Some(session.digest()), "the session's digest"),
        ];
        for (submitted, reason) in cases {
            assert!(
                verify_session_form(&request, submitted.as_deref()).is_err(),
                "accepted: {reason}"
            );
        }
    }

    #[test]
    fn the_token_tells_nothing_of_the_session() {
        let session = Secret::new_session_id().unwrap();
        let token = CsrfToken::for_session(&session);
        assert_ne!(token.as_str(), session.expose());
        assert_ne!(token.as_str(), session.digest());
        assert_eq!(token.as_str().len(), 64);
    }

    #[test]
    fn a_browser_without_a_session_has_no_token_to_check() {
        let request = post_with_cookie("other=1");
        assert!(matches!(verify_session_form(&request, Some("x")), Ok(None)));
    }

    #[test]
    fn a_pre_sessions_token_is_accepted_with_its_cookie_only() {
        let presession = Secret::new_session_id().unwrap();
        let token = CsrfToken::for_session(&presession);
        let request = post_with_cookie(&format!("presession={}", presession.expose()));
        assert!(PreSession::verify(&request, Some(token.as_str())).is_ok());
        assert!(PreSession::verify(&request, Some(&"0".repeat(64))).is_err());
        assert!(PreSession::verify(&post_with_cookie("a=b"), Some(token.as_str())).is_err());
    }

    #[test]
    fn posts_a_browser_labels_as_cross_site_are_refused_even_with_the_token() {
        let session = Secret::new_session_id().unwrap();
        let token = CsrfToken::for_session(&session);
        let with = |name: &'static str, value: &str| {
            let mut request = post_with_cookie(&format!("session={}", session.expose()))
                .with_authority(Some("shop.example:8080".into()));
            request.headers.insert(name, value.parse().unwrap());
            verify_session_form(&request, Some(token.as_str()))
        };
        assert!(with("sec-fetch-site", "same-origin").is_ok());
        assert!(with("origin", "http://shop.example:8080").is_ok());
        for (name, value) in [
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
            ("origin", "http://evil.example"),
            ("origin", "null"),
        ] {
            assert!(with(name, value).is_err(), "{name}: {value}");
        }
    }
}
