//! Changing who one is: `GET /account/profile` (the page with both forms), `POST
//! /account/profile` (the display name) and `POST /account/password` (asking the current
//! password; a new one ends every other session and revokes the API tokens unless the
//! person keeps them). Each form goes back to the page with a notice (303), or shows it
//! again with the mistakes marked (422).

use maud::{Markup, html};

use crate::domain::account::{
    DISPLAY_NAME_MAX_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, Person, field,
};
use crate::domain::error::AppError;
use crate::domain::item::FieldErrors;
use crate::use_cases::{profile_changes, trade};
use crate::web::csrf::{CSRF_FIELD, CsrfToken};
use crate::web::form::PostedForm;
use crate::web::http::{self, Request, Response, StatusCode};
use crate::web::item_forms::read_form;
use crate::web::pages::PageVisitor;
use crate::web::session;
use crate::web::views::{Header, labelled_field, layout};

pub const PROFILE_PATH: &str = "/account/profile";
pub const PASSWORD_PATH: &str = "/account/password";

/// What the page shows besides its forms.
#[derive(Default)]
struct Shown<'a> {
    /// What was just changed.
    done: Option<&'a str>,
    /// The name typed into a refused form.
    name: Option<&'a str>,
    errors: FieldErrors,
}

/// `GET /account/profile`.
pub fn profile_page(request: &Request) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let Some((person, token)) = &visitor.signed_in else {
        return Err(AppError::SignInRequired(PROFILE_PATH.into()));
    };
    let done = match request.query_param("changed").as_deref() {
        Some("name") => Some("Your display name is changed."),
        Some("password") => Some("Your password is changed. Every other browser was signed out."),
        _ => None,
    };
    let shown = Shown {
        done,
        ..Shown::default()
    };
    let mut response = render(StatusCode::OK, person, token, &shown)?;
    visitor.write(&mut response);
    Ok(response)
}

/// `POST /account/profile` with `display_name`.
pub fn rename_from_form(request: &Request) -> Result<Response, AppError> {
    let (form, person, token) = read_form(
        request,
        PostedForm::parse,
        |f| &f.guards,
        |_| PROFILE_PATH.into(),
    )?;
    let name = form.value(field::DISPLAY_NAME);
    match profile_changes::rename(&person, name) {
        Ok(()) => Ok(http::see_other(&format!("{PROFILE_PATH}?changed=name"))),
        Err(AppError::Invalid(errors)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &person,
            &token,
            &Shown {
                name: Some(name),
                errors,
                ..Shown::default()
            },
        ),
        Err(other) => Err(other),
    }
}

/// `POST /account/password` with `current_password`, `new_password` and `keep_tokens`.
pub fn password_from_form(request: &Request) -> Result<Response, AppError> {
    let (form, person, token) = read_form(
        request,
        PostedForm::parse,
        |f| &f.guards,
        |_| PROFILE_PATH.into(),
    )?;
    let session =
        session::session_id(request).ok_or(AppError::SignInRequired(PROFILE_PATH.into()))?;
    let changed = profile_changes::change_password(
        &person,
        &session,
        form.value("current_password"),
        form.value("new_password"),
        form.optional("keep_tokens").is_some(),
    );
    match changed {
        Ok(()) => Ok(http::see_other(&format!("{PROFILE_PATH}?changed=password"))),
        Err(AppError::Invalid(errors)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &person,
            &token,
            &Shown {
                errors,
                ..Shown::default()
            },
        ),
        Err(other) => Err(other),
    }
}

fn render(
    status: StatusCode,
    person: &Person,
    token: &CsrfToken,
    shown: &Shown,
) -> Result<Response, AppError> {
    let unseen = trade::unseen_count(person.id)?;
    let header = Header::for_viewer(Some(person), token.as_str(), unseen);
    Ok(http::html(
        status,
        layout("Your profile", &header, page(person, token.as_str(), shown)),
    ))
}

fn page(person: &Person, csrf_token: &str, shown: &Shown) -> Markup {
    let errors = &shown.errors;
    let invalid = |name: &str| errors.get(name).map(|_| "true");
    let described = |name: &str| errors.get(name).map(|_| format!("{name}-error"));
    html! {
        h1 { "Your profile" }
        @if let Some(done) = shown.done {
            p.notice #confirmation role="status" { (done) }
        }
        @if !errors.is_empty() {
            p.alert #form-errors role="alert" { "Please correct the fields marked below." }
        }
        p { "Others see your display name on your listings, your reviews and " a href={ "/people/" (person.id.get()) } { "your public profile" } "." }
        section aria-labelledby="name-heading" {
            h2 #name-heading { "Display name" }
            form #name-form method="post" action=(PROFILE_PATH) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf_token);
                (labelled_field(field::DISPLAY_NAME, "Display name", errors, html! {
                    input #display_name type="text" name=(field::DISPLAY_NAME)
                        value=(shown.name.unwrap_or(&person.display_name))
                        maxlength=(DISPLAY_NAME_MAX_CHARS) autocomplete="nickname" required
                        aria-invalid=[invalid(field::DISPLAY_NAME)]
                        aria-describedby=[described(field::DISPLAY_NAME)];
                }))
                button type="submit" { "Change display name" }
            }
        }
        section aria-labelledby="password-heading" {
            h2 #password-heading { "Password" }
            form #password-form method="post" action=(PASSWORD_PATH) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf_token);
                (labelled_field("current_password", "Current password", errors, html! {
                    input #current_password type="password" name="current_password"
                        maxlength=(PASSWORD_MAX_CHARS) autocomplete="current-password" required
                        aria-invalid=[invalid("current_password")]
                        aria-describedby=[described("current_password")];
                }))
                (labelled_field("new_password", "New password", errors, html! {
                    p.hint #new-password-hint { "At least " (PASSWORD_MIN_CHARS) " characters." }
                    input #new_password type="password" name="new_password"
                        minlength=(PASSWORD_MIN_CHARS) maxlength=(PASSWORD_MAX_CHARS)
                        autocomplete="new-password" required
                        aria-invalid=[invalid("new_password")]
                        aria-describedby={ "new-password-hint" @if errors.get("new_password").is_some() { " new_password-error" } };
                }))
                div.field.checkbox {
                    label for="keep_tokens" {
                        input #keep_tokens type="checkbox" name="keep_tokens" value="yes";
                        " Keep my API tokens (otherwise they are revoked)"
                    }
                }
                p.hint { "Changing it signs out every other browser." }
                button type="submit" { "Change password" }
            }
        }
    }
}
