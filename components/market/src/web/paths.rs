//! The addresses of the account pages (served by the accounts component, `/account/...`).

pub const ACCOUNT: &str = "/account";
pub const SIGN_UP: &str = "/account/sign-up";
pub const SIGN_IN: &str = "/account/sign-in";
pub const SIGN_OUT: &str = "/account/sign-out";
pub const SIGN_OUT_EVERYWHERE: &str = "/account/sign-out-everywhere";
pub const TOKENS: &str = "/account/tokens";
pub const MY_LISTINGS: &str = "/account/listings";
pub const MY_PURCHASES: &str = "/account/purchases";
/// The form field (and query parameter) of where to go after signing in.
pub const NEXT_FIELD: &str = "next";

/// The sign-in page for a person who must sign in before `next`, which it leads
/// back to.
pub fn sign_in_then(next: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair(NEXT_FIELD, next)
        .finish();
    format!("{SIGN_IN}?{query}")
}
