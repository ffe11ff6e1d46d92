//! The email pages and forms (`/account/email/...`): a person's address and notice
//! settings (signed in), the verification link, "Forgot your password?" and the reset
//! link (signed out, with the sign-in page's pre-session CSRF token), and one-click
//! unsubscribe (no sign-in: the link's key is the authority, RFC 8058). Pages whose
//! address carries a link's secret keep every page's `Referrer-Policy: same-origin`: the
//! address never leaves for another site. (Not `no-referrer`: under it Chromium sends
//! `Origin: null` with the page's form, which the same-origin check refuses.)

use crate::domain::account::field;
use crate::domain::email::NoticeKind;
use crate::domain::error::AppError;
use crate::domain::item::FieldErrors;
use crate::storage::email::{LinkState, Resent};
use crate::use_cases::{email, trade};
use crate::web::cookies::Notice;
use crate::web::csrf::PreSession;
use crate::web::email_views::{self, EMAIL_PAGE};
use crate::web::form::PostedForm;
use crate::web::http::{self, HeaderValue, Request, Response, StatusCode, header};
use crate::web::item_forms::{parse_form, read_form};
use crate::web::pages::{self, PageVisitor};
use crate::web::views::{Header, paths};

/// `GET /account/email` (`?done=` what was just done).
pub fn email_page(request: &Request) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let Some((person, token)) = &visitor.signed_in else {
        return Err(AppError::SignInRequired(EMAIL_PAGE.into()));
    };
    let done = match request.query_param("done").as_deref() {
        Some("sent") => Some("We sent a new link. It is valid for 24 hours."),
        Some("verified") => Some("Your address is already verified."),
        Some("saved") => Some("Your email settings are saved."),
        _ => None,
    };
    let status = email::status(person)?;
    let unseen = trade::unseen_count(person.id)?;
    let header = Header::for_viewer(Some(person), token.as_str(), unseen);
    let mut response = http::html(
        StatusCode::OK,
        email_views::email_page(&status, done, token.as_str(), &header),
    );
    visitor.write(&mut response);
    Ok(response)
}

/// `POST /account/email/resend`: a new verification link, at most a few an hour.
pub fn resend_from_form(request: &Request) -> Result<Response, AppError> {
    let (_, person, _) = read_form(
        request,
        PostedForm::parse,
        |f| &f.guards,
        |_| EMAIL_PAGE.into(),
    )?;
    match email::resend_verification(&person)? {
        Resent::Sent => Ok(http::see_other(&format!("{EMAIL_PAGE}?done=sent"))),
        Resent::AlreadyVerified => Ok(http::see_other(&format!("{EMAIL_PAGE}?done=verified"))),
        Resent::TooMany => Err(AppError::TooManyMessages(
            "You asked for several links this hour already. Use the newest one, or try \
             again in an hour."
                .into(),
        )),
    }
}

/// `POST /account/email/notices` with a `notice_{kind}` box for each kind wanted.
pub fn notices_from_form(request: &Request) -> Result<Response, AppError> {
    let (form, person, _) = read_form(
        request,
        PostedForm::parse,
        |f| &f.guards,
        |_| EMAIL_PAGE.into(),
    )?;
    let on: Vec<NoticeKind> = NoticeKind::ALL
        .into_iter()
        .filter(|kind| {
            form.optional(&format!("notice_{}", kind.as_str()))
                .is_some()
        })
        .collect();
    email::set_preferences(&person, &on)?;
    Ok(http::see_other(&format!("{EMAIL_PAGE}?done=saved")))
}

/// `GET /account/email/verify?token=`: uses the link (a second visit finds it used).
pub fn verify_page(request: &Request) -> Result<Response, AppError> {
    let state = email::verify(&request.query_param("token").unwrap_or_default())?;
    let visitor = PageVisitor::read(request)?;
    let unseen = match visitor.person() {
        Some(person) => trade::unseen_count(person.id)?,
        None => Default::default(),
    };
    let token = visitor.csrf_token().map(|t| t.as_str().to_owned());
    let header = Header::for_viewer(visitor.person(), token.as_deref().unwrap_or(""), unseen);
    let status = if state == LinkState::Valid {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    let mut response = http::html(status, email_views::verified_page(state, &header));
    visitor.write(&mut response);
    Ok(response)
}

/// `GET /account/email/forgot`.
pub fn forgot_page(request: &Request) -> Result<Response, AppError> {
    let presession = PreSession::read_or_start(request)?;
    let mut response = http::html(
        StatusCode::OK,
        email_views::forgot_page(
            "",
            &FieldErrors::default(),
            false,
            None,
            presession.token().as_str(),
        ),
    );
    presession.write(&mut response);
    Ok(response)
}

/// `POST /account/email/forgot` with `email`: the same page and words whether or not an
/// account has the address.
pub fn forgot_from_form(request: &Request) -> Result<Response, AppError> {
    let form = parse_form(request, PostedForm::parse)?;
    let token = PreSession::verify(request, form.guards.csrf_token.as_deref())?;
    let address = form.value(field::EMAIL);
    let (status, errors, sent, message) = match email::request_reset(address, &client(request)) {
        Ok(()) => (StatusCode::OK, FieldErrors::default(), true, None),
        Err(AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors, false, None),
        Err(error @ AppError::TooManyMessages(_)) => {
            let message = error.public_message();
            let mut response = http::html(
                error.status(),
                email_views::forgot_page(
                    address,
                    &FieldErrors::default(),
                    false,
                    Some(&message),
                    token.as_str(),
                ),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
            return Ok(response);
        }
        Err(other) => return Err(other),
    };
    Ok(http::html(
        status,
        email_views::forgot_page(address, &errors, sent, message, token.as_str()),
    ))
}

/// `GET /account/email/reset?token=`: the new-password form for a valid link, else why
/// not (410).
pub fn reset_page(request: &Request) -> Result<Response, AppError> {
    let token = request.query_param("token").unwrap_or_default();
    let state = email::reset_link(&token)?;
    let presession = PreSession::read_or_start(request)?;
    let status = if state == LinkState::Valid {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    let mut response = http::html(
        status,
        email_views::reset_page(
            state,
            &token,
            &FieldErrors::default(),
            presession.token().as_str(),
        ),
    );
    presession.write(&mut response);
    Ok(response)
}

/// `POST /account/email/reset` with `token` and `password`: sets it, ends every session
/// and goes to sign in (303); a refused password comes back marked (422); a link no
/// longer valid says why (410).
pub fn reset_from_form(request: &Request) -> Result<Response, AppError> {
    let form = parse_form(request, PostedForm::parse)?;
    let csrf = PreSession::verify(request, form.guards.csrf_token.as_deref())?;
    let token = form.value("token");
    match email::reset_password(token, form.value(field::PASSWORD)) {
        Ok(LinkState::Valid) => {
            let mut response = pages::redirect_with(paths::SIGN_IN, Notice::PasswordReset);
            // Whatever session this browser had has ended with the others.
            crate::web::session::clear_session_cookie(&mut response);
            Ok(response)
        }
        Ok(state) => Ok(http::html(
            StatusCode::GONE,
            email_views::reset_page(state, token, &FieldErrors::default(), csrf.as_str()),
        )),
        Err(AppError::Invalid(errors)) => Ok(http::html(
            StatusCode::UNPROCESSABLE_ENTITY,
            email_views::reset_page(LinkState::Valid, token, &errors, csrf.as_str()),
        )),
        Err(other) => Err(other),
    }
}

/// The key and kind of an unsubscribe link, if both are well formed.
fn unsubscribe_target(request: &Request) -> Result<(String, NoticeKind), AppError> {
    let key = request.query_param("key").unwrap_or_default();
    let kind = request
        .query_param("kind")
        .as_deref()
        .and_then(NoticeKind::parse)
        .ok_or_else(|| {
            AppError::BadRequest(
                "An unsubscribe link names a kind: sold, shipped, message or review.".into(),
            )
        })?;
    Ok((key, kind))
}

/// `GET /account/email/unsubscribe?key=&kind=`: the button (404 for an unknown key).
pub fn unsubscribe_page(request: &Request) -> Result<Response, AppError> {
    let (key, kind) = unsubscribe_target(request)?;
    if !email::unsubscribe_key_known(&key)? {
        return Err(AppError::NotFound);
    }
    Ok(http::html(
        StatusCode::OK,
        email_views::unsubscribe_page(&key, kind, false),
    ))
}

/// `POST /account/email/unsubscribe?key=&kind=`: a mail program's one-click post (body
/// `List-Unsubscribe=One-Click`) or the page's button; no session or CSRF token, since
/// the key in the link is what allows it, and all it can do is stop emails.
pub fn unsubscribe(request: &Request) -> Result<Response, AppError> {
    let (key, kind) = unsubscribe_target(request)?;
    email::unsubscribe(&key, kind)?;
    Ok(http::html(
        StatusCode::OK,
        email_views::unsubscribe_page(&key, kind, true),
    ))
}

/// Who asks, for the per-client limit of reset requests: the address nginx saw (its
/// `X-Real-IP`; nginx is the only way in), else the peer Spin saw.
fn client(request: &Request) -> String {
    let peer = || {
        // `host:port`, or `[v6]:port`.
        request
            .header("spin-client-addr")
            .map(|addr| addr.rsplit_once(':').map_or(addr, |(host, _)| host))
    };
    request
        .header("x-real-ip")
        .or_else(peer)
        .unwrap_or("unknown")
        .chars()
        .take(64)
        .collect()
}
