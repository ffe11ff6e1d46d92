//! The status code and body each error gets, as a page or as JSON.
//!
//! Internals (SQL, Postgres messages) go to the log as the error line's cause, with the
//! request id; clients only ever see the fixed texts below and that id as a reference.

use crate::domain::error::AppError;
use crate::domain::photo::Refusal;
use crate::observe::{log, record};
use crate::web::http::{self, Method, Response, StatusCode};
use crate::web::views;

/// Seconds a client should wait before retrying while Postgres is unavailable.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// Whether the client is a browser reading pages or a program reading JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Html,
    Json,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden | Self::Unverified => StatusCode::FORBIDDEN,
            Self::SignInRequired(_) => StatusCode::SEE_OTHER,
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::TooManyAttempts(_) | Self::TooManyMessages(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Photo(Refusal::Unsupported(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Photo(Refusal::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Photo(Refusal::Unusable(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The sentence shown to the person or program, never containing internals.
    pub fn public_message(&self) -> String {
        match self {
            Self::Invalid(_) => "Some fields are not valid.".into(),
            Self::BadRequest(reason) | Self::Conflict(reason) | Self::TooManyMessages(reason) => {
                reason.clone()
            }
            Self::Forbidden => "This form has expired or was sent from another site. \
                                Reload the page and try again."
                .into(),
            Self::SignInRequired(_) => "Sign in first.".into(),
            Self::Unverified => crate::domain::email::VERIFY_FIRST.into(),
            Self::Unauthenticated { sent: false } => {
                "Send a personal access token: Authorization: Bearer <token>. \
                 Create one on your account page."
                    .into()
            }
            Self::Unauthenticated { sent: true } => {
                "This access token is not valid: it is unknown or was revoked.".into()
            }
            Self::TooManyAttempts(seconds) => format!(
                "Too many failed sign-ins with this email. Try again in {seconds} second{}.",
                if *seconds == 1 { "" } else { "s" }
            ),
            Self::NotFound => "There is nothing at this address.".into(),
            Self::MethodNotAllowed(allowed) => {
                format!("This address only accepts {}.", allow_header(allowed))
            }
            Self::UnsupportedMediaType(expected) => {
                format!("Send the body as {expected}.")
            }
            Self::PayloadTooLarge => format!(
                "The request body is larger than {} KiB.",
                http::MAX_BODY_BYTES / 1024
            ),
            Self::Photo(refusal) => refusal.message().to_owned(),
            Self::Unavailable(_) => "The marketplace is briefly unavailable. \
                                     Please try again in a few seconds."
                .into(),
            Self::Internal(_) => "Something went wrong on our side. It has been logged.".into(),
        }
    }

    /// The response for this error, as a page or as JSON, with the request's reference.
    pub fn into_response(self, audience: Audience) -> Response {
        if let (Audience::Html, Self::SignInRequired(next)) = (audience, &self) {
            return http::see_other(&views::paths::sign_in_then(next));
        }
        let status = self.status();
        if let Self::Unavailable(detail) | Self::Internal(detail) = &self {
            log::error(status.as_u16(), detail);
        }
        let message = self.public_message();
        let reference = record::request_id();
        let mut response = match (audience, &self) {
            (Audience::Json, Self::Invalid(errors)) => http::json(
                status,
                &serde_json::json!({ "errors": errors, "reference": reference }),
            ),
            (Audience::Json, _) => http::json(
                status,
                &serde_json::json!({ "error": message, "reference": reference }),
            ),
            (Audience::Html, Self::Unverified) => http::html(
                status,
                crate::web::email_views::verify_first_page(reference.as_deref()),
            ),
            (Audience::Html, _) => http::html(
                status,
                views::error_page(status, &message, reference.as_deref()),
            ),
        };
        let headers = response.headers_mut();
        match &self {
            Self::MethodNotAllowed(allowed) => {
                if let Ok(value) = allow_header(allowed).parse() {
                    headers.insert(http::header::ALLOW, value);
                }
            }
            Self::Unavailable(_) => {
                headers.insert(http::header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
            }
            Self::TooManyAttempts(seconds) => {
                headers.insert(http::header::RETRY_AFTER, (*seconds).into());
            }
            Self::TooManyMessages(_) => {
                headers.insert(http::header::RETRY_AFTER, 60.into());
            }
            Self::Unauthenticated { sent } => {
                let challenge = if *sent {
                    r#"Bearer realm="marketplace", error="invalid_token""#
                } else {
                    r#"Bearer realm="marketplace""#
                };
                headers.insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static(challenge),
                );
            }
            _ => {}
        }
        response
    }
}

fn allow_header(allowed: &[Method]) -> String {
    allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::item::FieldErrors;

    #[test]
    fn unavailable_says_when_to_retry_and_hides_the_cause() {
        let response =
            AppError::Unavailable("password=hunter2 host=db".into()).into_response(Audience::Json);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "5");
        let body = String::from_utf8(response.into_body()).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
    }

    #[test]
    fn the_reference_is_the_request_id_and_nothing_else_about_the_cause() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        record::begin("items", id.into(), "GET");
        let page = AppError::Internal("relation \"items\" does not exist".into())
            .into_response(Audience::Html);
        let page = String::from_utf8(page.into_body()).unwrap();
        assert!(
            page.contains(&format!("Reference: <code>{id}</code>")),
            "{page}"
        );
        assert!(!page.contains("relation"), "{page}");
        let json = AppError::NotFound.into_response(Audience::Json);
        let json: serde_json::Value = serde_json::from_slice(json.body()).unwrap();
        assert_eq!(json["reference"], id);
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let response =
            AppError::MethodNotAllowed(&[Method::GET, Method::HEAD]).into_response(Audience::Html);
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "GET, HEAD");
    }

    #[test]
    fn json_validation_errors_name_each_field() {
        let mut errors = FieldErrors::default();
        errors.add("quantity", "Enter a whole number from 0 to 1000000.");
        let response = AppError::Invalid(errors).into_response(Audience::Json);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body["errors"]["quantity"],
            "Enter a whole number from 0 to 1000000."
        );
    }
}
