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

/// The average and number of someone's visible reviews in one role. The average is kept
/// in tenths (as Postgres rounds it) and written as a decimal string, "4.5", as prices
/// are: exact, and no float formatting in every component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RatingSummary {
    /// Rounded to one decimal, in tenths; none without reviews.
    pub average_tenths: Option<i64>,
    pub count: i64,
}

impl RatingSummary {
    /// The average as written: "4.5".
    pub fn average(&self) -> Option<String> {
        self.average_tenths
            .map(|tenths| format!("{}.{}", tenths / 10, tenths % 10))
    }

    /// As a page says it: "4.5 of 5 (12 reviews)", or "No reviews yet".
    pub fn describe(&self) -> String {
        match self.average() {
            Some(average) if self.count > 0 => format!(
                "{average} of 5 ({} review{})",
                self.count,
                if self.count == 1 { "" } else { "s" }
            ),
            _ => "No reviews yet".to_owned(),
        }
    }
}

/// `{"average": "4.5" | null, "count": 2}`.
impl serde::Serialize for RatingSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut summary = serializer.serialize_struct("RatingSummary", 2)?;
        summary.serialize_field("average", &self.average())?;
        summary.serialize_field("count", &self.count)?;
        summary.end()
    }
}

/// Reads back what `Serialize` wrote (the listing cache keeps items so).
impl<'de> serde::Deserialize<'de> for RatingSummary {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Stored {
            average: Option<String>,
            count: i64,
        }
        let stored = Stored::deserialize(deserializer)?;
        let average_tenths = stored
            .average
            .map(|text| {
                let (whole, tenth) = text.split_once('.').unwrap_or((&text, "0"));
                match (whole.parse::<i64>(), tenth.parse::<i64>()) {
                    (Ok(whole), Ok(tenth)) => Ok(whole * 10 + tenth),
                    _ => Err(serde::de::Error::custom("an average such as 4.5")),
                }
            })
            .transpose()?;
        Ok(Self {
            average_tenths,
            count: stored.count,
        })
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
            average_tenths: Some(45),
            count: 2,
        };
        assert_eq!(summary.describe(), "4.5 of 5 (2 reviews)");
        let json = serde_json::to_value(summary).unwrap();
        assert_eq!(json, serde_json::json!({"average": "4.5", "count": 2}));
        assert_eq!(
            serde_json::from_value::<RatingSummary>(json).unwrap(),
            summary
        );
    }
}
