//! What a browser's forms carry, as tests fill them in: the CSRF token of a session or a
//! pre-session (derived as the app derives it), and a form of a page with its hidden
//! fields, submitted as the browser would.

use std::net::SocketAddr;

use bytes::Bytes;
use hyper::{Method, StatusCode};

use crate::testing::{TestResponse, send_to};

/// The CSRF token of the forms shown to the browser holding session id `session` (what
/// the app derives from it; any well-formed id, live or not).
pub fn csrf_token_of_session(session: &str) -> String {
    use market::domain::account::Secret;
    let session = Secret::parse_session_id(session).expect("a well-formed session id");
    market::web::csrf::CsrfToken::for_session(&session)
        .as_str()
        .to_owned()
}

/// The CSRF token for a browser with these cookies: its session's, if the cookies hold
/// one, else a token of no session (the app sends such a browser to sign in).
pub fn csrf_token_for_cookies(cookies: Option<&str>) -> String {
    cookies
        .into_iter()
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("session="))
        .find(|id| market::domain::account::Secret::parse_session_id(id).is_some())
        .map_or_else(|| "c5".repeat(32), csrf_token_of_session)
}

/// A new browser's pre-session, as the sign-in and sign-up pages hand it out: its
/// `Cookie` and the token of those pages' forms.
pub fn presession() -> (String, String) {
    let id = market::domain::account::Secret::new_session_id().unwrap();
    let token = csrf_token_of_session(id.expose());
    (format!("presession={}", id.expose()), token)
}

/// A form of the home page filled in as a person would: the browser's session cookie,
/// the page's hidden fields (CSRF token, one-time key) and what the person typed.
/// Submitting it twice is a double click.
pub struct FilledForm {
    pub action: String,
    cookie: String,
    body: String,
}

impl FilledForm {
    /// Loads the home page at `addr` as the browser signed in with `session` (a
    /// `Cookie` value) and fills in its form that posts to `action`.
    pub async fn from_home(
        addr: SocketAddr,
        session: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let home = send_to(addr, Method::GET, "/", &[("cookie", session)], Bytes::new()).await?;
        anyhow::ensure!(home.status == StatusCode::OK, "GET / got {}", home.status);
        let cookie = session.to_owned();
        let hidden = hidden_fields(&home.text(), action);
        anyhow::ensure!(!hidden.is_empty(), "the home page has no form to {action}");
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &hidden {
            form.append_pair(name, value);
        }
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        Ok(Self {
            action: action.to_owned(),
            cookie,
            body: form.finish(),
        })
    }

    /// Posts the form to `addr` with the page's cookie, as the browser does.
    pub async fn submit(&self, addr: SocketAddr) -> anyhow::Result<TestResponse> {
        send_to(
            addr,
            Method::POST,
            &self.action,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &self.cookie),
            ],
            Bytes::from(self.body.clone()),
        )
        .await
    }

    /// The browser's cookies (its session), for following the redirect as it.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }
}

/// The hidden fields (name, value) of the form in `html` that posts to `action`, as a
/// browser would send them: the CSRF token and the form's one-time key.
pub fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let Some((_, form)) = html.split_once(&format!(r#"action="{action}""#)) else {
        return Vec::new();
    };
    let form = form.split("</form>").next().unwrap_or_default();
    form.split("<input ")
        .skip(1)
        .filter(|input| input.starts_with(r#"type="hidden""#))
        .filter_map(|input| Some((attribute(input, "name")?, attribute(input, "value")?)))
        .collect()
}

/// The value of `name="..."` in the start of a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let tag = tag.split('>').next()?;
    let (_, rest) = tag.split_once(&format!(r#" {name}=""#))?;
    Some(rest.split('"').next()?.to_owned())
}
