//! When an email that could not be delivered is tried again, and when the sender stops
//! trying. Pure arithmetic; the statements in [`crate::outbox`] apply it.
//!
//! - A temporary failure (the relay unreachable, a timeout, a 4xx answer) is tried again
//!   after `retry_first`, then after twice as long each time, never waiting more than
//!   `retry_max` between two tries.
//! - An email is given up once it is older than its kind's give-up age: what it tells is
//!   stale by then (a reset link expires after 1 hour, a verification link after 24), and
//!   a retry is never scheduled past that age. A permanent failure (a 5xx answer, an
//!   address no relay would take) gives up at once.

use std::time::Duration;

use crate::kind::Kind;

/// How long each kind of email is worth delivering, counted from when it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiveUpAges {
    pub verify: Duration,
    pub reset: Duration,
    pub notice: Duration,
}

impl GiveUpAges {
    /// A reset link is valid for 1 hour and a verification link for 24 (the app's
    /// `email_links.expires_at`); a notice two days old is news nobody needs by email.
    pub const DEFAULT: GiveUpAges = GiveUpAges {
        verify: Duration::from_secs(24 * 60 * 60),
        reset: Duration::from_secs(60 * 60),
        notice: Duration::from_secs(48 * 60 * 60),
    };

    /// The same age for every kind (`MAILER_GIVE_UP_SECS`, for tests).
    pub fn all(age: Duration) -> GiveUpAges {
        GiveUpAges {
            verify: age,
            reset: age,
            notice: age,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub retry_first: Duration,
    pub retry_max: Duration,
    pub give_up: GiveUpAges,
}

impl Policy {
    pub const DEFAULT: Policy = Policy {
        retry_first: Duration::from_secs(30),
        retry_max: Duration::from_secs(30 * 60),
        give_up: GiveUpAges::DEFAULT,
    };

    /// How long to wait before the next try, after the try that failed was number
    /// `failed_try` (1 for the first): `retry_first`, doubled per try, at most `retry_max`.
    pub fn retry_delay(&self, failed_try: u32) -> Duration {
        let doublings = failed_try.saturating_sub(1).min(31);
        self.retry_first
            .saturating_mul(1 << doublings)
            .min(self.retry_max)
    }

    /// The age past which an email of this kind is given up.
    pub fn give_up_after(&self, kind: Kind) -> Duration {
        match kind {
            Kind::Verify => self.give_up.verify,
            Kind::Reset => self.give_up.reset,
            Kind::Sold | Kind::Shipped | Kind::Message | Kind::Review => self.give_up.notice,
        }
    }

    /// Whether an email of this kind, this old, is past delivering.
    pub fn is_too_old(&self, kind: Kind, age: Duration) -> bool {
        age >= self.give_up_after(kind)
    }
}

/// Why an email was not delivered this time, and whether trying again could help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try later: the relay was unreachable, slow, or answered 4xx.
    Temporary(String),
    /// No later try would succeed: the relay refused this email (5xx), or the email
    /// cannot be made (an address no relay takes, data the row names is gone).
    Permanent(String),
}

impl Failure {
    pub fn text(&self) -> &str {
        match self {
            Failure::Temporary(text) | Failure::Permanent(text) => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_the_first_delay_then_double_up_to_the_cap() {
        let policy = Policy::DEFAULT;
        let waits: Vec<u64> = (1..=9).map(|n| policy.retry_delay(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
        // However many tries, the arithmetic never overflows.
        assert_eq!(policy.retry_delay(u32::MAX), Duration::from_secs(1800));
        assert_eq!(policy.retry_delay(0), Duration::from_secs(30));
    }

    #[test]
    fn a_reset_link_is_given_up_after_an_hour_a_verification_after_a_day_a_notice_after_two() {
        let policy = Policy::DEFAULT;
        let hour = Duration::from_secs(3600);
        assert!(!policy.is_too_old(Kind::Reset, hour - Duration::from_secs(1)));
        assert!(policy.is_too_old(Kind::Reset, hour));
        assert!(!policy.is_too_old(Kind::Verify, 23 * hour));
        assert!(policy.is_too_old(Kind::Verify, 24 * hour));
        for notice in [Kind::Sold, Kind::Shipped, Kind::Message, Kind::Review] {
            assert!(!policy.is_too_old(notice, 47 * hour));
            assert!(policy.is_too_old(notice, 48 * hour));
        }
    }
}
