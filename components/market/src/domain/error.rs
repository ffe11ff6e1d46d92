//! The one error type of the app: what went wrong, and whose the details are. How each
//! case looks to a client (status, page or JSON, headers) is the web edge's
//! (`web::errors`).

use http::Method;

use crate::domain::item::FieldErrors;

#[derive(Debug)]
pub enum AppError {
    /// A request whose fields break the item rules.
    Invalid(FieldErrors),
    /// A body or query that cannot be read at all; the text says what was wrong.
    BadRequest(String),
    /// A form post without a valid CSRF token.
    Forbidden,
    /// A page or form that needs a signed-in person, asked for by a browser that is not
    /// signed in; the path to come back to after signing in.
    SignInRequired(String),
    /// An API write without a token, or with one that is unknown or revoked (`sent`:
    /// whether there was one at all).
    Unauthenticated {
        sent: bool,
    },
    /// Too many failed sign-ins with this email: the seconds to wait.
    TooManyAttempts(u32),
    /// A write that needs a verified email address (listing, messaging) from someone
    /// whose address is not verified yet (403).
    Unverified,
    /// Messages sent too fast (429); the text says what to do.
    TooManyMessages(String),
    NotFound,
    /// The methods the path does accept.
    MethodNotAllowed(&'static [Method]),
    /// The media type the endpoint accepts.
    UnsupportedMediaType(&'static str),
    PayloadTooLarge,
    /// A photo that cannot be taken (415, 413 or 422, `domain::photo::Refusal`).
    Photo(crate::domain::photo::Refusal),
    /// The request cannot be done in the current state (e.g. not enough stock); the text
    /// says why.
    Conflict(String),
    /// Postgres could not be reached or is refusing work; the detail is for the log.
    Unavailable(String),
    /// A bug or a broken deployment; the detail is for the log.
    Internal(String),
}
