//! The account pages and their forms (`/account/...`): sign up, sign in, sign out (here
//! or everywhere), the account page with its API tokens, and a person's purchases and
//! listings. Every form carries the CSRF token; a page that needs a person sends a
//! visitor who is not signed in to sign in first.

use crate::domain::account::{Person, safe_return_path};
use crate::domain::error::AppError;
use crate::domain::item::FieldErrors;
use crate::domain::listing::PAGE_SIZE;
use crate::storage::{config, db};
use crate::use_cases::account::{self, SignIn, SignUp};
use crate::use_cases::trade;
use crate::web::account_views::{
    self, AccountView, BEFORE_PARAM, CredentialsView, NEXT_FIELD, RecordsView,
};
use crate::web::cookies::Notice;
use crate::web::csrf::{self, CsrfToken, PreSession};
use crate::web::form::PostedForm;
use crate::web::http::{self, Request, Response, StatusCode, header};
use crate::web::item_forms::{parse_form, read_form};
use crate::web::pages::{self, PageVisitor};
use crate::web::session;
use crate::web::views::paths;

/// Which credentials page.
#[derive(Clone, Copy)]
enum Credentials {
    SignUp,
    SignIn,
}

/// A credentials page with what was typed, the mistakes and a message.
fn credentials_page(
    which: Credentials,
    status: StatusCode,
    view: &CredentialsView,
    notice: Option<Notice>,
) -> Response {
    let page = match which {
        Credentials::SignUp => account_views::sign_up_page(view),
        Credentials::SignIn => account_views::sign_in_page(view, notice),
    };
    http::html(status, page)
}

/// `GET /account/sign-up` and `GET /account/sign-in` (`?next=` where to go after): the
/// form's token is bound to the browser's pre-session, handed out here.
fn credentials_form(request: &Request, which: Credentials) -> Result<Response, AppError> {
    let presession = PreSession::read_or_start(request)?;
    let token = presession.token();
    let notice = Notice::from_request(request);
    let next = safe_return_path(request.query_param(NEXT_FIELD).as_deref());
    let form = PostedForm::default();
    let mut response = credentials_page(
        which,
        StatusCode::OK,
        &CredentialsView {
            form: &form,
            errors: &FieldErrors::default(),
            message: None,
            csrf_token: token.as_str(),
            next: &next,
        },
        notice,
    );
    presession.write(&mut response);
    if notice.is_some() {
        http::set_cookie(&mut response, &Notice::clear_cookie());
    }
    Ok(response)
}

pub fn sign_up_page(request: &Request) -> Result<Response, AppError> {
    credentials_form(request, Credentials::SignUp)
}

pub fn sign_in_page(request: &Request) -> Result<Response, AppError> {
    credentials_form(request, Credentials::SignIn)
}

/// Signed in: the browser gets the new session's cookie (its forms' token changes with
/// it) and goes on to `next`; the pre-session has served.
fn signed_in(session: &crate::domain::account::Secret, next: &str, notice: Notice) -> Response {
    let mut response = pages::redirect_with(next, notice);
    session::set_session_cookie(&mut response, session);
    PreSession::clear(&mut response);
    response
}

/// Reads a sign-up or sign-in form: its token must be the browser's pre-session's.
fn read_credentials_form(request: &Request) -> Result<(PostedForm, CsrfToken), AppError> {
    let form = parse_form(request, PostedForm::parse)?;
    let token = PreSession::verify(request, form.guards.csrf_token.as_deref())?;
    Ok((form, token))
}

/// `POST /account/sign-up`: create the account, sign it in and go on (303), or hand the
/// form back with the mistakes marked, the password left out (422).
pub fn sign_up_from_form(request: &Request) -> Result<Response, AppError> {
    let (form, token) = read_credentials_form(request)?;
    let next = safe_return_path(form.optional(NEXT_FIELD));
    let outcome = account::sign_up(
        form.value(crate::domain::account::field::EMAIL),
        form.value(crate::domain::account::field::DISPLAY_NAME),
        form.value(crate::domain::account::field::PASSWORD),
        session::session_id(request).as_ref(),
    );
    let errors = match outcome {
        Ok(SignUp::SignedIn(_, session)) => {
            return Ok(signed_in(&session, &next, Notice::SignedUp));
        }
        Ok(SignUp::EmailTaken) => FieldErrors::single(
            crate::domain::account::field::EMAIL,
            "An account with this email already exists. Sign in instead.",
        ),
        Err(AppError::Invalid(errors)) => errors,
        Err(other) => return Err(other),
    };
    let view = CredentialsView {
        form: &form,
        errors: &errors,
        message: None,
        csrf_token: token.as_str(),
        next: &next,
    };
    Ok(credentials_page(
        Credentials::SignUp,
        StatusCode::UNPROCESSABLE_ENTITY,
        &view,
        None,
    ))
}

/// `POST /account/sign-in`: sign in with a new session and go on (303); or the form
/// again, the email kept: 422 for a wrong email or password (one message for both), 429
/// with `Retry-After` while this email must wait after failed attempts.
pub fn sign_in_from_form(request: &Request) -> Result<Response, AppError> {
    let (form, token) = read_credentials_form(request)?;
    let next = safe_return_path(form.optional(NEXT_FIELD));
    let outcome = account::sign_in(
        form.value(crate::domain::account::field::EMAIL),
        form.value(crate::domain::account::field::PASSWORD),
        session::session_id(request).as_ref(),
    );
    let no_errors = FieldErrors::default();
    let (status, errors, message, wait) = match outcome {
        Ok(SignIn::SignedIn(_, session)) => {
            return Ok(signed_in(&session, &next, Notice::SignedIn));
        }
        Ok(SignIn::WrongCredentials) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            no_errors,
            Some("The email or the password is not right.".to_owned()),
            None,
        ),
        Ok(SignIn::Wait(seconds)) => (
            StatusCode::TOO_MANY_REQUESTS,
            no_errors,
            Some(AppError::TooManyAttempts(seconds).public_message()),
            Some(seconds),
        ),
        Err(AppError::Invalid(errors)) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None, None),
        Err(other) => return Err(other),
    };
    let view = CredentialsView {
        form: &form,
        errors: &errors,
        message: message.as_deref(),
        csrf_token: token.as_str(),
        next: &next,
    };
    let mut response = credentials_page(Credentials::SignIn, status, &view, None);
    if let Some(seconds) = wait {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    Ok(response)
}

/// Signed out: the browser forgets its session and goes home (303).
fn signed_out() -> Response {
    let mut response = pages::redirect_with("/", Notice::SignedOut);
    session::clear_session_cookie(&mut response);
    response
}

/// `POST /account/sign-out`: end this browser's session (if it has one; its form must
/// carry the session's token).
pub fn sign_out(request: &Request) -> Result<Response, AppError> {
    let form = parse_form(request, PostedForm::parse)?;
    if let Some((session, _)) =
        csrf::verify_session_form(request, form.guards.csrf_token.as_deref())?
    {
        account::sign_out(&session)?;
    }
    Ok(signed_out())
}

/// The account page's address, where its forms come back to after signing in.
fn to_account<F>(_: &F) -> String {
    paths::ACCOUNT.to_owned()
}

/// `POST /account/sign-out-everywhere`: end every session of the person.
pub fn sign_out_everywhere(request: &Request) -> Result<Response, AppError> {
    let (_, person, _) = read_form(request, PostedForm::parse, |form| &form.guards, to_account)?;
    account::sign_out_everywhere(&person)?;
    Ok(signed_out())
}

/// The account page, with a token just created or the token form's mistakes.
fn render_account(
    status: StatusCode,
    person: &Person,
    token: &CsrfToken,
    new_token: Option<&str>,
    token_form: &PostedForm,
    errors: &FieldErrors,
    notice: Option<Notice>,
) -> Result<Response, AppError> {
    let tokens = db::api_tokens_of(&*db::open()?, person.id)?;
    Ok(http::html(
        status,
        account_views::account_page(&AccountView {
            person,
            tokens: &tokens,
            new_token,
            token_form,
            errors,
            notice,
            csrf_token: token.as_str(),
            unseen: trade::unseen_count(person.id)?,
            email: &crate::use_cases::email::status(person)?,
        }),
    ))
}

/// The person signed in on this browser and their forms' token; a visitor without a
/// session is sent to sign in and come back to `path`.
fn signed_in_visitor(visitor: &PageVisitor, path: &str) -> Result<(Person, CsrfToken), AppError> {
    visitor
        .signed_in
        .clone()
        .ok_or_else(|| AppError::SignInRequired(path.to_owned()))
}

/// `GET /account`.
pub fn account_page(request: &Request) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let (person, token) = signed_in_visitor(&visitor, paths::ACCOUNT)?;
    let mut response = render_account(
        StatusCode::OK,
        &person,
        &token,
        None,
        &PostedForm::default(),
        &FieldErrors::default(),
        visitor.notice,
    )?;
    visitor.write(&mut response);
    Ok(response)
}

/// `POST /account/tokens`: create a token and show it, this once (201), or the form's
/// mistake (422).
pub fn create_token(request: &Request) -> Result<Response, AppError> {
    let (form, person, token) =
        read_form(request, PostedForm::parse, |form| &form.guards, to_account)?;
    let name = form.value(crate::domain::account::field::TOKEN_NAME);
    match account::create_token(&person, name) {
        Ok(secret) => render_account(
            StatusCode::CREATED,
            &person,
            &token,
            Some(secret.expose()),
            &PostedForm::default(),
            &FieldErrors::default(),
            None,
        ),
        Err(AppError::Invalid(errors)) => render_account(
            StatusCode::UNPROCESSABLE_ENTITY,
            &person,
            &token,
            None,
            &form,
            &errors,
            None,
        ),
        Err(other) => Err(other),
    }
}

/// `POST /account/tokens/{id}/revoke`: revoke one of the person's tokens (303 back to the
/// account page); anyone else's is not found.
pub fn revoke_token(request: &Request, id: i64) -> Result<Response, AppError> {
    let (_, person, _) = read_form(request, PostedForm::parse, |form| &form.guards, to_account)?;
    account::revoke_token(&person, id)?;
    Ok(pages::redirect_with(paths::ACCOUNT, Notice::TokenRevoked))
}

/// The `?before=` cursor of a page of someone's records.
fn before(request: &Request) -> Result<Option<i64>, AppError> {
    request
        .query_param(BEFORE_PARAM)
        .map(|text| {
            crate::domain::item::ItemId::parse(&text)
                .map(|id| id.get())
                .ok_or_else(|| AppError::BadRequest("This page does not exist.".into()))
        })
        .transpose()
}

/// A page of the signed-in person's own records at `path`: read by `read` (a page older
/// than `?before=`), shown by `view`.
fn records_page<T>(
    request: &Request,
    path: &str,
    read: db::OwnPageReader<T>,
    view: fn(&RecordsView<T>) -> maud::Markup,
) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let (person, token) = signed_in_visitor(&visitor, path)?;
    let before = before(request)?;
    let page = read(&*db::open()?, person.id, before, PAGE_SIZE)?;
    let mut response = http::html(
        StatusCode::OK,
        view(&RecordsView {
            person: &person,
            page: &page,
            older: before.is_some(),
            currency: &config::currency()?,
            csrf_token: token.as_str(),
            unseen: trade::unseen_count(person.id)?,
        }),
    );
    visitor.write(&mut response);
    Ok(response)
}

/// `GET /account/purchases?before=`: what the person bought, newest first.
pub fn purchases_page(request: &Request) -> Result<Response, AppError> {
    records_page(
        request,
        paths::MY_PURCHASES,
        db::purchases_of,
        account_views::purchases_page,
    )
}

/// `GET /account/listings?before=`: what the person lists, with stock and what sold.
pub fn listings_page(request: &Request) -> Result<Response, AppError> {
    records_page(
        request,
        paths::MY_LISTINGS,
        db::listings_of,
        account_views::listings_page,
    )
}
