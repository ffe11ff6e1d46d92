//! The request and response the components work with, independent of Spin's bindings so
//! that handlers and views can be tested natively, plus the headers every response needs.

use std::io::Read as _;

use http::HeaderMap;
pub use http::{HeaderValue, Method, StatusCode, header};
use maud::Markup;

use crate::domain::error::AppError;

/// The largest request body the app reads (the nginx `client_max_body_size` matches it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body of a request, as far as the app was willing to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Complete(Vec<u8>),
    /// Longer than [`MAX_BODY_BYTES`]; reading stopped there.
    TooLarge,
    /// The client went away or broke the stream while sending.
    Unreadable,
    /// Not read by the bridge: a streaming component reads it itself
    /// (`web::spin::serve_streaming`).
    Unread,
}

/// An incoming request, fully read (up to the body limit).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The host the client addressed (its `Host`), which Spin passes as the authority.
    pub authority: Option<String>,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Body,
}

impl Request {
    /// Splits a path-with-query such as `/api/items?limit=5` into its parts.
    pub fn new(method: Method, path_with_query: &str, headers: HeaderMap, body: Body) -> Self {
        let (path, query) = path_with_query
            .split_once('?')
            .unwrap_or((path_with_query, ""));
        Self {
            method,
            authority: None,
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body,
        }
    }

    pub fn with_authority(mut self, authority: Option<String>) -> Self {
        self.authority = authority;
        self
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The first value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The value of a cookie the browser sent, from any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    /// Refuses a method the path does not accept (405 with `Allow`).
    pub fn expect_method(&self, allowed: &'static [Method]) -> Result<(), AppError> {
        if allowed.contains(&self.method) {
            Ok(())
        } else {
            Err(AppError::MethodNotAllowed(allowed))
        }
    }

    /// The body, or the reason it could not be read.
    pub fn body_bytes(&self) -> Result<&[u8], AppError> {
        match &self.body {
            Body::Complete(bytes) => Ok(bytes),
            Body::TooLarge => Err(AppError::PayloadTooLarge),
            Body::Unreadable => Err(AppError::BadRequest(
                "The request body could not be read.".into(),
            )),
            Body::Unread => Err(AppError::Internal(
                "a streamed request's body was asked for whole".into(),
            )),
        }
    }

    /// This request with its body read from `body`, up to [`MAX_BODY_BYTES`] (a form of a
    /// streaming component that holds no file).
    pub fn with_body_from(&self, body: &mut dyn std::io::Read) -> Self {
        let declared_too_large = self
            .header(header::CONTENT_LENGTH.as_str())
            .and_then(|length| length.parse::<u64>().ok())
            .is_some_and(|length| length > MAX_BODY_BYTES as u64);
        let mut bytes = Vec::new();
        let body = if declared_too_large {
            Body::TooLarge
        } else {
            match (&mut *body)
                .take(MAX_BODY_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
            {
                Ok(_) if bytes.len() > MAX_BODY_BYTES => Body::TooLarge,
                Ok(_) => Body::Complete(bytes),
                Err(_) => Body::Unreadable,
            }
        };
        Self {
            body,
            ..self.clone()
        }
    }

    /// Whether the `Content-Type` names this media type (parameters such as charset ignored).
    pub fn has_content_type(&self, media_type: &str) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(media_type))
    }
}

#[cfg(test)]
impl Request {
    /// A request with these headers and no body, for unit tests.
    pub(crate) fn with_headers(method: Method, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        Self::new(method, path, map, Body::Complete(Vec::new()))
    }
}

pub type Response = http::Response<Vec<u8>>;

/// The methods of a page or resource that is only read.
pub const READ_ONLY: &[Method] = &[Method::GET, Method::HEAD];

/// The policy for every HTML page: only our own origin, no framing, no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

fn response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Nothing is kept unless the answer says it may be (`web::sharing`): a page for
    // someone with a session carries their forms' token and name.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTML page with the security headers every page must carry.
pub fn html(status: StatusCode, page: Markup) -> Response {
    let mut response = response(
        status,
        "text/html; charset=utf-8",
        page.into_string().into_bytes(),
    );
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// A JSON document.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    json_text(status, value.to_string())
}

/// A JSON document already serialised (e.g. read from the cache).
pub fn json_text(status: StatusCode, text: String) -> Response {
    response(status, "application/json", text.into_bytes())
}

/// Bytes of `content_type` (a photo), with the headers every response carries.
pub fn bytes(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    response(status, content_type, body)
}

/// A static asset shipped inside a component.
pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    response(StatusCode::OK, content_type, body.as_bytes().to_vec())
}

/// The POST-redirect-GET answer to a successful form.
/// `location` is a path the app built from typed values.
pub fn see_other(location: &str) -> Response {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Whether the request reached the proxy in front of the app over HTTPS (nginx, or an
/// Ingress, sets `X-Forwarded-Proto`; nginx overwrites whatever a client sent).
pub fn arrived_over_https(request: &Request) -> bool {
    request
        .header("x-forwarded-proto")
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// A response to a request that arrived over HTTPS: browsers are told to come back only
/// over HTTPS (HSTS), and cookies to travel only over HTTPS (`Secure`). Over plain HTTP
/// (e.g. localhost) neither is added, so nothing breaks there.
pub fn secure_for_https(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|cookie| {
            HeaderValue::from_str(&format!("{}; Secure", cookie.to_str().ok()?)).ok()
        })
        .collect();
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    response
}

/// Adds a `Set-Cookie` header; several may be set on one response.
pub fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod https_tests {
    use super::*;

    #[test]
    fn over_https_cookies_are_secure_and_hsts_is_sent() {
        let mut response = json(StatusCode::OK, &serde_json::json!({}));
        set_cookie(&mut response, "csrf=abc; Path=/; HttpOnly; SameSite=Lax");
        set_cookie(&mut response, "notice=x; Path=/");
        let response = secure_for_https(response);
        let cookies: Vec<&str> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            cookies,
            [
                "csrf=abc; Path=/; HttpOnly; SameSite=Lax; Secure",
                "notice=x; Path=/; Secure"
            ]
        );
        assert_eq!(
            response.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(headers: &[(&'static str, &str)], path: &str) -> Request {
        Request::with_headers(Method::GET, path, headers)
    }

    #[test]
    fn query_parameters_are_decoded() {
        let request = request_with(&[], "/api/items?limit=5&before=a%20b");
        assert_eq!(request.path, "/api/items");
        assert_eq!(request.query_param("limit").as_deref(), Some("5"));
        assert_eq!(request.query_param("before").as_deref(), Some("a b"));
        assert_eq!(request.query_param("missing"), None);
    }

    #[test]
    fn cookies_are_found_in_any_cookie_header() {
        let request = request_with(&[("cookie", "a=1; csrf=abc"), ("cookie", "b=2")], "/");
        assert_eq!(request.cookie("csrf"), Some("abc"));
        assert_eq!(request.cookie("b"), Some("2"));
        assert_eq!(request.cookie("c"), None);
    }

    #[test]
    fn content_type_matching_ignores_parameters_and_case() {
        let request = request_with(&[("content-type", "Application/JSON; charset=utf-8")], "/");
        assert!(request.has_content_type("application/json"));
        assert!(!request.has_content_type("application/x-www-form-urlencoded"));
    }

    #[test]
    fn html_responses_carry_the_security_headers() {
        let response = html(StatusCode::OK, maud::html! { p { "hi" } });
        let headers = response.headers();
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers.contains_key("referrer-policy"));
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    }
}
