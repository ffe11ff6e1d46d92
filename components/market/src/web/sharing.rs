//! What a shared cache (nginx, in front of every deployment) may keep: the app says it
//! in `Cache-Control`, and nginx obeys (conf.d/default.conf).
//!
//! A response may be shared only when the request carried nothing of a person (no
//! session cookie, no notice to show once, no `Authorization`), the response holds
//! nothing of one (no `Set-Cookie`), and it is a 200. Everything else says `no-store`
//! (`web::http`'s default).

use crate::web::http::{HeaderValue, Request, Response, StatusCode, header};
use crate::web::{cookies, session};

/// How long nginx may serve a shared page or JSON document without asking the app: 1
/// second. nginx counts in whole seconds, so a reader sees any acknowledged write
/// within 2 seconds. Browsers keep nothing (`max-age=0`): a person who signs in or
/// writes never gets an anonymous copy from their own browser's cache.
pub const SHARED_MAX_AGE_SECONDS: u32 = 1;
/// How long after that nginx may still answer with its copy while the app cannot answer
/// (stopped, restarting, unreachable): 5 minutes; such answers say `X-Cache-Status:
/// STALE`.
pub const STALE_IF_ERROR_SECONDS: u32 = 300;

const SHARED: &str = "public, max-age=0, s-maxage=1, stale-if-error=300";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Whether the request carries nothing that makes its answer someone's: no session
/// cookie, no one-time notice, no API token.
pub fn is_anonymous(request: &Request) -> bool {
    request.cookie(session::SESSION_COOKIE).is_none()
        && request.cookie(cookies::NOTICE_COOKIE).is_none()
        && request.header(header::AUTHORIZATION.as_str()).is_none()
}

/// Marks `response` as one every visitor may be given from the shared cache, if the
/// request was anonymous and the answer is a 200 that sets no cookie.
pub fn share_if_anonymous(request: &Request, mut response: Response) -> Response {
    if is_anonymous(request)
        && response.status() == StatusCode::OK
        && !response.headers().contains_key(header::SET_COOKIE)
    {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(SHARED));
    }
    response
}

/// Marks `response` as never changing: what it answers lives at a URL that holds the
/// hash of its content.
pub fn immutable(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::http::{self, Method};

    fn get(headers: &[(&'static str, &str)]) -> Request {
        Request::with_headers(Method::GET, "/", headers)
    }

    fn cache_control(response: &Response) -> &str {
        response.headers()[header::CACHE_CONTROL].to_str().unwrap()
    }

    #[test]
    fn the_stated_lifetimes_are_the_ones_sent() {
        assert!(SHARED.contains(&format!("s-maxage={SHARED_MAX_AGE_SECONDS},")));
        assert!(SHARED.ends_with(&format!("stale-if-error={STALE_IF_ERROR_SECONDS}")));
    }

    #[test]
    fn only_an_anonymous_200_without_cookies_is_shared() {
        let page = || http::html(StatusCode::OK, maud::html! { p { "hi" } });
        assert_eq!(
            cache_control(&share_if_anonymous(&get(&[]), page())),
            SHARED
        );
        assert_eq!(
            cache_control(&share_if_anonymous(&get(&[("cookie", "other=1")]), page())),
            SHARED,
            "a cookie the app does not read changes nothing"
        );
        for (name, value) in [
            ("cookie", "session=abc"),
            ("cookie", "notice=signed-out"),
            ("authorization", "Bearer mkt_x"),
        ] {
            let response = share_if_anonymous(&get(&[(name, value)]), page());
            assert_eq!(cache_control(&response), "no-store", "{name}: {value}");
        }
        let mut with_cookie = page();
        http::set_cookie(&mut with_cookie, "presession=x; Path=/account");
        assert_eq!(
            cache_control(&share_if_anonymous(&get(&[]), with_cookie)),
            "no-store"
        );
        let not_found = http::html(StatusCode::NOT_FOUND, maud::html! {});
        assert_eq!(
            cache_control(&share_if_anonymous(&get(&[]), not_found)),
            "no-store"
        );
    }
}
