//! Reviews: once an order is received, each party reviews the other once, a rating of 1
//! to 5 and up to 1,000 characters. A review is blind: it shows when both have written
//! theirs, or [`BLIND_DAYS`] after receipt; it never changes once written.

use crate::domain::order::Party;

/// Days after receipt when a review shows though the other party wrote none.
pub const BLIND_DAYS: u32 = 14;
/// Longest review text, in characters.
pub const REVIEW_MAX_CHARS: usize = 1_000;
/// Reviews shown at a time on a profile.
pub const REVIEWS_PAGE: u32 = 20;

/// A rating of 1 to 5.
pub fn rating(value: i64) -> Result<i16, String> {
    if (1..=5).contains(&value) {
        Ok(value as i16)
    } else {
        Err("A rating is a whole number from 1 to 5.".into())
    }
}

/// A review's text: trimmed, at most [`REVIEW_MAX_CHARS`] characters (it may be empty).
pub fn review_text(text: &str) -> Result<String, String> {
    let text = text.trim().replace("\r\n", "\n");
    if text.chars().count() > REVIEW_MAX_CHARS {
        return Err(format!(
            "A review may be at most {REVIEW_MAX_CHARS} characters."
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err("A review cannot hold control characters.".into());
    }
    Ok(text)
}

/// A review as others see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Review {
    pub id: i64,
    pub order_id: i64,
    pub author_id: i64,
    pub author_name: String,
    pub subject_id: i64,
    /// What the reviewed person was in the trade.
    pub subject_role: Party,
    pub rating: i16,
    pub text: String,
    /// RFC 3339, UTC.
    pub written_at: String,
    /// Whether others can see it yet (an author always sees their own).
    pub visible: bool,
}

/// The average and number of someone's visible reviews in one role.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RatingSummary {
    /// Rounded to one decimal; none without reviews.
    pub average: Option<f64>,
    pub count: i64,
}

impl RatingSummary {
    /// As a page says it: "4.5 of 5 (12 reviews)", or "No reviews yet".
    pub fn describe(&self) -> String {
        match self.average {
            Some(average) if self.count > 0 => format!(
                "{average:.1} of 5 ({} review{})",
                self.count,
                if self.count == 1 { "" } else { "s" }
            ),
            _ => "No reviews yet".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_and_texts_keep_their_bounds() {
        assert_eq!(rating(5), Ok(5));
        assert!(rating(0).is_err() && rating(6).is_err());
        assert!(review_text(&"a".repeat(1_000)).is_ok());
        assert!(review_text(&"a".repeat(1_001)).is_err());
        let summary = RatingSummary {
            average: Some(4.5),
            count: 2,
        };
        assert_eq!(summary.describe(), "4.5 of 5 (2 reviews)");
    }
}
