//! The one-time notice of what the visitor just did, which lives in a cookie since
//! components keep nothing between requests. (The session cookie is `web::session`'s,
//! the pre-session cookie `web::csrf`'s.)

use crate::domain::item::ItemId;
use crate::web::http::Request;

/// The cookie that tells the home page what to confirm.
pub const NOTICE_COOKIE: &str = "notice";

/// What the next page confirms once, after a redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Listed(ItemId),
    Bought {
        item: ItemId,
        quantity: i32,
    },
    Changed(ItemId),
    Withdrawn(ItemId),
    SignedUp,
    SignedIn,
    SignedOut,
    TokenRevoked,
    /// A new password was set with a reset link: sign in with it.
    PasswordReset,
}

/// The notices without an item, by their cookie value.
const PLAIN_NOTICES: [(Notice, &str); 5] = [
    (Notice::SignedUp, "signed-up"),
    (Notice::SignedIn, "signed-in"),
    (Notice::SignedOut, "signed-out"),
    (Notice::TokenRevoked, "token-revoked"),
    (Notice::PasswordReset, "password-reset"),
];

impl Notice {
    /// The item the notice is about, if any.
    pub fn item(self) -> Option<ItemId> {
        match self {
            Self::Listed(id) | Self::Bought { item: id, .. } | Self::Changed(id) => Some(id),
            Self::Withdrawn(id) => Some(id),
            Self::SignedUp | Self::SignedIn | Self::SignedOut | Self::TokenRevoked => None,
            Self::PasswordReset => None,
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
    use crate::web::http::Method;

    fn request_with_cookie(cookie: &str) -> Request {
        Request::with_headers(Method::POST, "/items", &[("cookie", cookie)])
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
