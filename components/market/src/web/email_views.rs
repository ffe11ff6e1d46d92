//! The pages of email: a person's address and notice settings, what a verification link
//! came to, "Forgot your password?", the page a reset link opens, the one-click
//! unsubscribe page, and the page that says to confirm one's address first.

use maud::{Markup, html};

use crate::domain::account::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, field};
use crate::domain::email::{
    EmailStatus, NoticeKind, RESET_LINK_MINUTES, VERIFY_FIRST, VERIFY_LINK_HOURS,
};
use crate::domain::item::FieldErrors;
use crate::storage::email::LinkState;
use crate::web::trade_views::csrf_field;
use crate::web::views::{Header, labelled_field, layout, paths};

pub const EMAIL_PAGE: &str = "/account/email";
pub const RESEND: &str = "/account/email/resend";
pub const NOTICES: &str = "/account/email/notices";
pub const FORGOT: &str = "/account/email/forgot";
pub const RESET: &str = "/account/email/reset";
pub const UNSUBSCRIBE: &str = "/account/email/unsubscribe";

/// `/account/email`: the address, whether it is verified (else a button for a new
/// link), and which notices come by email.
pub fn email_page(status: &EmailStatus, done: Option<&str>, csrf: &str, header: &Header) -> Markup {
    let content = html! {
        h1 { "Email" }
        @if let Some(done) = done {
            p.notice #confirmation role="status" { (done) }
        }
        section aria-labelledby="address-heading" {
            h2 #address-heading { "Your address" }
            p { strong #email-address { (status.email) } " · "
                @if let Some(at) = &status.verified_at {
                    span #email-verified { "Verified on " (&at[..10]) }
                } @else {
                    span #email-unverified { "Not verified yet" }
                }
            }
            @if status.verified_at.is_none() {
                p { "We sent a link to this address when you signed up. Until you open it you "
                    "can browse, buy and sign in, but not list items or send messages. "
                    "A link is valid for " (VERIFY_LINK_HOURS) " hours." }
                form #resend-form method="post" action=(RESEND) {
                    (csrf_field(csrf))
                    button type="submit" { "Send me a new link" }
                }
            }
        }
        section aria-labelledby="notices-heading" {
            h2 #notices-heading { "Emails about your trades" }
            @if status.verified_at.is_none() {
                p.hint { "They start once your address is verified." }
            }
            form #notices-form method="post" action=(NOTICES) {
                (csrf_field(csrf))
                fieldset {
                    legend { "Email me" }
                    @for kind in NoticeKind::ALL {
                        div.field.checkbox {
                            label for={ "notice-" (kind.as_str()) } {
                                input #{ "notice-" (kind.as_str()) } type="checkbox"
                                    name={ "notice_" (kind.as_str()) } value="on"
                                    checked[status.preferences.get(kind)];
                                " " (kind.describe())
                            }
                        }
                    }
                }
                button type="submit" { "Save" }
            }
        }
    };
    layout("Email", header, content)
}

/// What opening a verification link came to.
pub fn verified_page(state: LinkState, header: &Header) -> Markup {
    let content = html! {
        @match state {
            LinkState::Valid => {
                h1 { "Your address is verified" }
                p { "Thank you. You can now list items and send messages." }
                p { a href="/" { "Back to the marketplace" } }
            }
            LinkState::Used => {
                h1 { "This link was already used" }
                p { "Your address is verified already if you opened it before. "
                    a href=(EMAIL_PAGE) { "Your email page" } " says." }
            }
            LinkState::Expired => {
                h1 { "This link has expired" }
                p { "Links are valid for " (VERIFY_LINK_HOURS) " hours. "
                    a href=(EMAIL_PAGE) { "Get a new one" } " on your email page." }
            }
            LinkState::Unknown => {
                h1 { "This link is not valid" }
                p { "Check that it was copied whole, or "
                    a href=(EMAIL_PAGE) { "get a new one" } " on your email page." }
            }
        }
    };
    layout("Verify your address", header, content)
}

/// "Forgot your password?": the form, or (`sent`) the same answer whatever the address.
pub fn forgot_page(
    email: &str,
    errors: &FieldErrors,
    sent: bool,
    message: Option<&str>,
    csrf: &str,
) -> Markup {
    let content = html! {
        h1 { "Forgot your password?" }
        @if sent {
            p.notice #confirmation role="status" {
                "If an account has this address, we have sent it a link to set a new password. "
                "It is valid for " (RESET_LINK_MINUTES) " minutes and works once. "
                "Nothing arrived? Look in your spam folder, or ask again below."
            }
        }
        @if let Some(message) = message {
            p.alert #form-errors role="alert" { (message) }
        } @else if !errors.is_empty() {
            p.alert #form-errors role="alert" { "Please correct the field marked below." }
        }
        p { "Enter the address of your account: we email it a link to set a new password." }
        form #forgot-form method="post" action=(FORGOT) novalidate {
            (csrf_field(csrf))
            (labelled_field(field::EMAIL, "Email", errors, html! {
                input #email type="email" name=(field::EMAIL) value=(email)
                    maxlength="254" autocomplete="email" required
                    aria-invalid=[errors.get(field::EMAIL).map(|_| "true")]
                    aria-describedby=[errors.get(field::EMAIL).map(|_| "email-error")];
            }))
            button type="submit" { "Send me a link" }
        }
        p { a href=(paths::SIGN_IN) { "Back to sign in" } }
    };
    layout("Forgot your password?", &Header::SignedOut, content)
}

/// The page a reset link opens: a new password for a valid link, else why not.
pub fn reset_page(state: LinkState, token: &str, errors: &FieldErrors, csrf: &str) -> Markup {
    let content = html! {
        @match state {
            LinkState::Valid => {
                h1 { "Set a new password" }
                @if !errors.is_empty() {
                    p.alert #form-errors role="alert" { "Please correct the field marked below." }
                }
                form #reset-form method="post" action=(RESET) novalidate {
                    (csrf_field(csrf))
                    input type="hidden" name="token" value=(token);
                    (labelled_field(field::PASSWORD, "New password", errors, html! {
                        p.hint #password-hint { "At least " (PASSWORD_MIN_CHARS) " characters." }
                        input #password type="password" name=(field::PASSWORD)
                            minlength=(PASSWORD_MIN_CHARS) maxlength=(PASSWORD_MAX_CHARS)
                            autocomplete="new-password" required
                            aria-invalid=[errors.get(field::PASSWORD).map(|_| "true")]
                            aria-describedby={ "password-hint" @if errors.get(field::PASSWORD).is_some() { " password-error" } };
                    }))
                    p.hint { "Setting it signs you out on every browser." }
                    button type="submit" { "Set password" }
                }
            }
            LinkState::Used => {
                h1 { "This link was already used" }
                p { "A reset link works once. " a href=(FORGOT) { "Ask for a new one" } "." }
            }
            LinkState::Expired => {
                h1 { "This link has expired" }
                p { "A reset link is valid for " (RESET_LINK_MINUTES) " minutes. "
                    a href=(FORGOT) { "Ask for a new one" } "." }
            }
            LinkState::Unknown => {
                h1 { "This link is not valid" }
                p { "Check that it was copied whole, or " a href=(FORGOT) { "ask for a new one" } "." }
            }
        }
    };
    layout("Set a new password", &Header::SignedOut, content)
}

/// The page an unsubscribe link opens: a button that turns the kind off (a visit alone
/// changes nothing: mail scanners open links), or (`done`) that it is off.
pub fn unsubscribe_page(key: &str, kind: NoticeKind, done: bool) -> Markup {
    let content = html! {
        @if done {
            h1 { "You are unsubscribed" }
            p #confirmation role="status" { "You will no longer get emails " (kind.describe()) ". "
                "Your email page (" a href=(EMAIL_PAGE) { "signed in" } ") turns them back on." }
        } @else {
            h1 { "Unsubscribe" }
            p { "Stop emails " (kind.describe()) "?" }
            form #unsubscribe-form method="post"
                action={ (UNSUBSCRIBE) "?key=" (key) "&kind=" (kind.as_str()) } {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                button type="submit" { "Unsubscribe" }
            }
        }
    };
    layout("Unsubscribe", &Header::SignedOut, content)
}

/// A write refused until the person's address is verified: why, and where to get a
/// new link.
pub fn verify_first_page(reference: Option<&str>) -> Markup {
    let content = html! {
        h1 { "Confirm your email address first" }
        p.error-message { (VERIFY_FIRST) }
        p { a href=(EMAIL_PAGE) { "Go to your email page" } " to send a new link." }
        @if let Some(reference) = reference {
            p.reference { "Reference: " code { (reference) } }
        }
    };
    layout("Confirm your email address", &Header::Plain, content)
}
