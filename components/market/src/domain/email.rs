//! Email, as the app sees it: the single-use links it mails (address verification and
//! password reset), their lifetimes and rate limits, and which notices a person gets by
//! email. The app only writes the outbox (storage::email); the sender (mailer/) renders
//! and delivers.

use crate::domain::account::Secret;
use crate::domain::error::AppError;

/// How long a verification link stays valid.
pub const VERIFY_LINK_HOURS: u32 = 24;
/// How long a password reset link stays valid.
pub const RESET_LINK_MINUTES: u32 = 60;

/// New verification links a person may ask for per hour (the one of sign-up aside).
pub const VERIFY_RESENDS_PER_HOUR: i64 = 3;
/// Reset requests per hour for one address, whether or not an account has it.
pub const RESETS_PER_ADDRESS_PER_HOUR: i64 = 3;
/// Reset requests per hour from one client (its address as nginx saw it).
pub const RESETS_PER_CLIENT_PER_HOUR: i64 = 10;

/// What a single-use link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Verify,
    Reset,
}

impl LinkPurpose {
    /// As the `email_links.purpose` and `outbox.kind` columns hold it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
        }
    }

    /// The link's lifetime, as a Postgres interval.
    pub fn lifetime(self) -> String {
        match self {
            Self::Verify => format!("{VERIFY_LINK_HOURS} hours"),
            Self::Reset => format!("{RESET_LINK_MINUTES} minutes"),
        }
    }
}

/// A new link token: 32 random bytes as hex. Only its [`Secret::digest`] is a key in
/// `email_links`; the token itself goes to the outbox, for the email, and nowhere else.
pub fn new_link_token() -> Result<Secret, AppError> {
    Secret::new_session_id()
}

/// A link token as a link carries it, if well formed.
pub fn parse_link_token(text: &str) -> Option<Secret> {
    Secret::parse_session_id(text)
}

/// The kinds of notice a person may get by email, each turned on or off on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// "You sold …", to the seller.
    Sold,
    /// "Your order shipped", to the buyer.
    Shipped,
    /// A new message in a conversation (at most one email per conversation per 15 min).
    Message,
    /// A new review of them.
    Review,
}

impl NoticeKind {
    pub const ALL: [Self; 4] = [Self::Sold, Self::Shipped, Self::Message, Self::Review];

    /// As `outbox.kind`, the `email_settings` column and the unsubscribe link name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sold => "sold",
            Self::Shipped => "shipped",
            Self::Message => "message",
            Self::Review => "review",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// What the emails of this kind tell, as the settings page and the unsubscribe
    /// page name them.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Sold => "when you sell something (what to ship, and to whom)",
            Self::Shipped => "when something you bought has shipped",
            Self::Message => {
                "when someone writes to you (at most one email per conversation every 15 minutes)"
            }
            Self::Review => "when someone reviews you",
        }
    }
}

/// Which notices a person gets by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preferences {
    pub sold: bool,
    pub shipped: bool,
    pub message: bool,
    pub review: bool,
}

impl Preferences {
    pub fn get(self, kind: NoticeKind) -> bool {
        match kind {
            NoticeKind::Sold => self.sold,
            NoticeKind::Shipped => self.shipped,
            NoticeKind::Message => self.message,
            NoticeKind::Review => self.review,
        }
    }

    /// The preferences with exactly the `kinds` on.
    pub fn only(kinds: &[NoticeKind]) -> Self {
        Self {
            sold: kinds.contains(&NoticeKind::Sold),
            shipped: kinds.contains(&NoticeKind::Shipped),
            message: kinds.contains(&NoticeKind::Message),
            review: kinds.contains(&NoticeKind::Review),
        }
    }
}

/// A person's address as their email page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailStatus {
    pub email: String,
    /// When it was verified (RFC 3339, UTC), if it was.
    pub verified_at: Option<String>,
    pub preferences: Preferences,
}

/// The unsubscribe key of a one-click link: what the database generated, 64 lower-case
/// hex digits, the shape of a session id or link token.
pub fn parse_unsubscribe_key(text: &str) -> Option<&str> {
    Secret::parse_session_id(text).map(|_| text)
}

/// Why a person with an unverified address cannot do something yet.
pub const VERIFY_FIRST: &str = "Confirm your email address first: open the link we emailed you \
     when you signed up. Your email page (/account/email) sends a new one.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_from_their_names_and_nothing_else_is_one() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NoticeKind::parse("verify"), None);
        assert_eq!(NoticeKind::parse("Sold"), None);
    }

    #[test]
    fn preferences_hold_exactly_the_kinds_given() {
        let prefs = Preferences::only(&[NoticeKind::Shipped, NoticeKind::Review]);
        assert!(!prefs.get(NoticeKind::Sold) && prefs.get(NoticeKind::Shipped));
        assert!(!prefs.get(NoticeKind::Message) && prefs.get(NoticeKind::Review));
    }

    #[test]
    fn an_unsubscribe_key_is_64_lower_hex_digits() {
        let key = "0123456789abcdef".repeat(4);
        assert_eq!(parse_unsubscribe_key(&key), Some(key.as_str()));
        assert_eq!(parse_unsubscribe_key(&key.to_uppercase()), None);
        assert_eq!(parse_unsubscribe_key(&key[1..]), None);
        assert_eq!(parse_unsubscribe_key("' OR 1=1 --"), None);
    }

    #[test]
    fn lifetimes_are_intervals_postgres_reads() {
        assert_eq!(LinkPurpose::Verify.lifetime(), "24 hours");
        assert_eq!(LinkPurpose::Reset.lifetime(), "60 minutes");
    }
}
