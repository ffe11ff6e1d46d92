//! Per-visitor state that lives in cookies, since components keep nothing between
//! requests: the CSRF token (double-submit) and the one-time notice of what the visitor
//! just did. (The session cookie is `web::session`'s.)

use crate::domain::error::AppError;
use crate::domain::item::ItemId;
use crate::domain::token::{TOKEN_BYTES, random_token};
use crate::web::http::Request;

/// The cookie and the hidden form field that must carry the same token.
pub const CSRF_COOKIE: &str = "csrf";
pub const CSRF_FIELD: &str = "csrf_token";
/// The cookie that tells the home page what to confirm.
pub const NOTICE_COOKIE: &str = "notice";

/// A random token a browser must echo in every form it posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    pub fn generate() -> Result<Self, AppError> {
        random_token().map(Self)
    }

    /// The token the browser already holds, if it is well formed.
    pub fn from_request(request: &Request) -> Option<Self> {
        request
            .cookie(CSRF_COOKIE)
            .filter(|value| {
                value.len() == TOKEN_BYTES * 2
                    && value
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
            .map(|value| Self(value.to_owned()))
    }

    /// Accepts a form post only when the browser does not say it came from another site
    /// and its field matches the browser's cookie. A page on another site can make the
    /// browser post, but cannot read our cookie, and the browser labels its posts.
    pub fn verify(request: &Request, submitted: Option<&str>) -> Result<Self, AppError> {
        check_same_origin(request)?;
        let token = Self::from_request(request).ok_or(AppError::Forbidden)?;
        let submitted = submitted.ok_or(AppError::Forbidden)?;
        if constant_time_eq(token.0.as_bytes(), submitted.as_bytes()) {
            Ok(token)
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Set-Cookie` value that hands this token to the browser. `Lax`, not
    /// `Strict`: a visitor who follows a link from another site must still send it, or
    /// the page would hand out a new token and break the forms open in other tabs.
    /// Cross-site posts are refused by the Fetch Metadata and Origin checks.
    pub fn set_cookie(&self) -> String {
        format!("{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax", self.0)
    }
}

/// Refuses a request that Fetch Metadata (`Sec-Fetch-Site`) or its `Origin` shows came
/// from another site. Clients that send neither (curl, old browsers) rely on the token.
fn check_same_origin(request: &Request) -> Result<(), AppError> {
    if request
        .header("sec-fetch-site")
        .is_some_and(|site| !matches!(site, "same-origin" | "none"))
    {
        return Err(AppError::Forbidden);
    }
    if let Some(origin) = request.header("origin") {
        let origin_host = origin.split_once("://").map(|(_, host)| host);
        if origin_host.is_none() || origin_host != request.authority.as_deref() {
            return Err(AppError::Forbidden);
        }
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the next page confirms once, after a redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Listed(ItemId),
    Bought { item: ItemId, quantity: i32 },
    Changed(ItemId),
    Withdrawn(ItemId),
    SignedUp,
    SignedIn,
    SignedOut,
    TokenRevoked,
}

/// The notices without an item, by their cookie value.
const PLAIN_NOTICES: [(Notice, &str); 4] = [
    (Notice::SignedUp, "signed-up"),
    (Notice::SignedIn, "signed-in"),
    (Notice::SignedOut, "signed-out"),
    (Notice::TokenRevoked, "token-revoked"),
];

impl Notice {
    /// The item the notice is about, if any.
    pub fn item(self) -> Option<ItemId> {
        match self {
            Self::Listed(id) | Self::Bought { item: id, .. } | Self::Changed(id) => Some(id),
            Self::Withdrawn(id) => Some(id),
            Self::SignedUp | Self::SignedIn | Self::SignedOut | Self::TokenRevoked => None,
        }
    }

    /// The `Set-Cookie` value that carries this notice to the next page.
    pub fn set_cookie(self) -> String {
        let value = match self {
            Self::Listed(id) => format!("listed-{id}"),
            Self::Bought { item, quantity } => format!("bought-{item}-{quantity}"),
            Self::Changed(id) => format!("changed-{id}"),
            Self::Withdrawn(id) => format!("withdrawn-{id}"),
            plain => PLAIN_NOTICES
                .iter()
                .find(|(notice, _)| *notice == plain)
                .map_or_else(String::new, |(_, value)| (*value).to_owned()),
        };
        format!("{NOTICE_COOKIE}={value}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax")
    }

    /// The pending notice, if the cookie holds a well-formed one.
    pub fn from_request(request: &Request) -> Option<Self> {
        let value = request.cookie(NOTICE_COOKIE)?;
        if let Some((notice, _)) = PLAIN_NOTICES.iter().find(|(_, plain)| *plain == value) {
            return Some(*notice);
        }
        for (prefix, notice) in [
            ("listed-", Self::Listed as fn(ItemId) -> Self),
            ("changed-", Self::Changed),
            ("withdrawn-", Self::Withdrawn),
        ] {
            if let Some(id) = value.strip_prefix(prefix) {
                return ItemId::parse(id).map(notice);
            }
        }
        let (item, quantity) = value.strip_prefix("bought-")?.split_once('-')?;
        Some(Self::Bought {
            item: ItemId::parse(item)?,
            quantity: crate::domain::item::PurchaseQuantity::parse_text(quantity)
                .ok()?
                .get(),
        })
    }

    /// The `Set-Cookie` value that clears the notice once it was shown.
    pub fn clear_cookie() -> String {
        format!("{NOTICE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::http::{Body, Method};
    use http::HeaderMap;

    fn request_with_cookie(cookie: &str) -> Request {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", cookie.parse().unwrap());
        Request::new(Method::POST, "/items", headers, Body::Complete(Vec::new()))
    }

    #[test]
    fn a_fresh_token_is_accepted_when_echoed() {
        let token = CsrfToken::generate().unwrap();
        let request = request_with_cookie(&format!("csrf={}", token.as_str()));
        assert_eq!(
            CsrfToken::verify(&request, Some(token.as_str())).unwrap(),
            token
        );
    }

    #[test]
    fn tokens_are_refused_when_missing_or_different() {
        let token = CsrfToken::generate().unwrap();
        let other = CsrfToken::generate().unwrap();
        let request = request_with_cookie(&format!("csrf={}", token.as_str()));
        let cases = [
            (None, "no field"),
            (Some(other.as_str()), "another token"),
            (Some(""), "empty field"),
        ];
        for (submitted, reason) in cases {
            assert!(
                CsrfToken::verify(&request, submitted).is_err(),
                "accepted: {reason}"
            );
        }
        let no_cookie = request_with_cookie("other=1");
        assert!(CsrfToken::verify(&no_cookie, Some(token.as_str())).is_err());
    }

    #[test]
    fn posts_a_browser_labels_as_cross_site_are_refused_even_with_the_token() {
        let token = CsrfToken::generate().unwrap();
        let with = |name: &'static str, value: &str| {
            let mut request = request_with_cookie(&format!("csrf={}", token.as_str()))
                .with_authority(Some("shop.example:8080".into()));
            request.headers.insert(name, value.parse().unwrap());
            CsrfToken::verify(&request, Some(token.as_str()))
        };
        assert!(with("sec-fetch-site", "same-origin").is_ok());
        assert!(with("origin", "http://shop.example:8080").is_ok());
        for (name, value) in [
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
            ("origin", "http://evil.example"),
            ("origin", "null"),
        ] {
            assert!(with(name, value).is_err(), "{name}: {value}");
        }
    }

    #[test]
    fn malformed_cookies_are_not_tokens() {
        assert!(CsrfToken::from_request(&request_with_cookie("csrf=short")).is_none());
        let uppercase = "A".repeat(64);
        assert!(
            CsrfToken::from_request(&request_with_cookie(&format!("csrf={uppercase}"))).is_none()
        );
    }

    #[test]
    fn notices_round_trip_through_their_cookie_and_nothing_else_is_read() {
        let id = ItemId::parse("12").unwrap();
        for notice in [
            Notice::Listed(id),
            Notice::Bought {
                item: id,
                quantity: 3,
            },
            Notice::Changed(id),
            Notice::Withdrawn(id),
            Notice::SignedUp,
            Notice::SignedIn,
            Notice::SignedOut,
            Notice::TokenRevoked,
        ] {
            let cookie = notice.set_cookie();
            let pair = cookie.split(';').next().unwrap();
            assert_eq!(
                Notice::from_request(&request_with_cookie(pair)),
                Some(notice)
            );
        }
        for bad in [
            "notice=listed-<script>",
            "notice=bought-1",
            "notice=bought-1-0",
            "notice=x",
        ] {
            assert_eq!(
                Notice::from_request(&request_with_cookie(bad)),
                None,
                "{bad}"
            );
        }
    }
}
