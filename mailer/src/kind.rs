//! What an outbox row's email tells, as the schema names it (`outbox.kind`).

use std::fmt;

/// The kind of an email. Links (verify, reset) exist to deliver a single-use token;
/// notices (the rest) tell of something that happened in a trade and can be turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Verify,
    Reset,
    Sold,
    Shipped,
    Message,
    Review,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Verify,
        Kind::Reset,
        Kind::Sold,
        Kind::Shipped,
        Kind::Message,
        Kind::Review,
    ];

    /// The name the schema and the unsubscribe links use.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Verify => "verify",
            Kind::Reset => "reset",
            Kind::Sold => "sold",
            Kind::Shipped => "shipped",
            Kind::Message => "message",
            Kind::Review => "review",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// Whether this kind is a notice, which a person may turn off (and which therefore
    /// carries an unsubscribe link), rather than a link they asked for.
    pub fn is_notice(self) -> bool {
        !matches!(self, Kind::Verify | Kind::Reset)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name_and_only_links_are_not_notices() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("newsletter"), None);
        let notices: Vec<Kind> = Kind::ALL.into_iter().filter(|k| k.is_notice()).collect();
        assert_eq!(
            notices,
            [Kind::Sold, Kind::Shipped, Kind::Message, Kind::Review]
        );
    }
}
