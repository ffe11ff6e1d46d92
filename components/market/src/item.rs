//! The item: the domain types that can only be built valid, and the rules they enforce.
//!
//! The same rules are repeated as CHECK constraints in `migrations/`, so a row that
//! bypassed this module still could not be stored.

use std::collections::BTreeMap;

/// Longest item name, in characters, after trimming.
pub const NAME_MAX_CHARS: usize = 256;
/// Largest stock a listing may have.
pub const QUANTITY_MAX: i32 = 1_000_000;
/// Longest description, in characters, after trimming.
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;

/// The id Postgres gave an item.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ItemId(i64);

impl ItemId {
    /// Parses an id from a URL (a path segment or a `before` cursor): a positive integer.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<i64>().ok().filter(|id| *id > 0).map(Self)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for ItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A name someone can list an item under: trimmed, 1..=256 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemName(String);

impl ItemName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Enter a name for the item.".into());
        }
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(format!("Use at most {NAME_MAX_CHARS} characters."));
        }
        if name.chars().any(char::is_control) {
            return Err("Use letters, digits and punctuation only (no control characters).".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many units are for sale: a whole number in 0..=1,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i32);

impl Quantity {
    fn out_of_range() -> String {
        format!("Enter a whole number from 0 to {QUANTITY_MAX}.")
    }

    /// Parses what a person typed into a form field.
    pub fn parse_text(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("Enter how many you have for sale.".into());
        }
        let digits = text.strip_prefix('+').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Self::out_of_range());
        }
        // All digits: anything that does not fit is simply too large.
        let value = digits.parse::<i64>().unwrap_or(i64::MAX);
        Self::from_i64(value)
    }

    /// Checks a number that arrived already typed (JSON).
    pub fn from_i64(value: i64) -> Result<Self, String> {
        match i32::try_from(value) {
            Ok(v) if (0..=QUANTITY_MAX).contains(&v) => Ok(Self(v)),
            _ => Err(Self::out_of_range()),
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// How many units someone buys at once: a whole number in 1..=1,000,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseQuantity(i32);

impl PurchaseQuantity {
    fn at_least_one(quantity: Quantity) -> Result<Self, String> {
        match quantity.get() {
            0 => Err(format!("Buy at least 1 (and at most {QUANTITY_MAX}).")),
            n => Ok(Self(n)),
        }
    }

    /// Parses what a person typed into the buy form.
    pub fn parse_text(raw: &str) -> Result<Self, String> {
        Quantity::parse_text(raw).and_then(Self::at_least_one)
    }

    /// Checks a number that arrived already typed (JSON).
    pub fn from_i64(value: i64) -> Result<Self, String> {
        Quantity::from_i64(value).and_then(Self::at_least_one)
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// A client's key for one logical write: 1..=255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > Self::MAX_CHARS {
            return Err(format!(
                "Idempotency-Key must be 1 to {} characters.",
                Self::MAX_CHARS
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("Idempotency-Key must be visible ASCII characters.".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the seller says about the item: trimmed, 1..=2,000 characters; line breaks and
/// tabs are allowed, other control characters are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("Describe the item.".into());
        }
        if text.chars().count() > DESCRIPTION_MAX_CHARS {
            return Err(format!("Use at most {DESCRIPTION_MAX_CHARS} characters."));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("Remove control characters from the description.".into());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fields of a sell request, keyed by the field name a client sent, with a message
/// for each one that is wrong. Ordered, so that responses are stable.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub const fn new() -> Self {
        Self(BTreeMap::new())
    }

    /// One field's message.
    pub fn single(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

/// The field names shared by the form and the JSON API.
pub mod field {
    pub const NAME: &str = "name";
    pub const QUANTITY: &str = "quantity";
    pub const DESCRIPTION: &str = "description";
}

/// An item ready to be stored: every part already valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub name: ItemName,
    pub quantity: Quantity,
    pub description: Description,
}

impl NewItem {
    /// Builds an item from separately parsed parts, collecting a message for every wrong field.
    pub fn from_parts(
        name: Result<ItemName, String>,
        quantity: Result<Quantity, String>,
        description: Result<Description, String>,
    ) -> Result<Self, FieldErrors> {
        match (name, quantity, description) {
            (Ok(name), Ok(quantity), Ok(description)) => Ok(Self {
                name,
                quantity,
                description,
            }),
            (name, quantity, description) => {
                let mut errors = FieldErrors::default();
                if let Err(e) = name {
                    errors.add(field::NAME, e);
                }
                if let Err(e) = quantity {
                    errors.add(field::QUANTITY, e);
                }
                if let Err(e) = description {
                    errors.add(field::DESCRIPTION, e);
                }
                Err(errors)
            }
        }
    }
}

/// A stored item, as read back from Postgres; its serde form is the API's item object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    pub id: i64,
    pub name: String,
    pub quantity: i32,
    pub description: String,
    /// When it was listed, RFC 3339 in UTC.
    pub date_added: String,
}

impl Item {
    pub fn id(&self) -> ItemId {
        ItemId(self.id)
    }
}

/// A recorded purchase, with the stock it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub id: i64,
    pub item_id: i64,
    pub quantity: i32,
    pub remaining: i32,
    /// RFC 3339 in UTC.
    pub purchased_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_kept_otherwise_as_typed() {
        assert_eq!(ItemName::parse("  Lamp <b> ").unwrap().as_str(), "Lamp <b>");
    }

    #[test]
    fn invalid_names_are_rejected_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("   \t ", "only whitespace"),
            (&"x".repeat(NAME_MAX_CHARS + 1), "one character too long"),
            ("nul\0byte", "NUL cannot be stored in Postgres text"),
            ("bell\u{7}", "control character"),
            ("two\nlines", "a name is one line"),
        ];
        for (input, reason) in cases {
            assert!(
                ItemName::parse(input).is_err(),
                "accepted {input:?}: {reason}"
            );
        }
    }

    #[test]
    fn names_count_characters_not_bytes() {
        let name = "é".repeat(NAME_MAX_CHARS);
        assert!(ItemName::parse(&name).is_ok());
    }

    #[test]
    fn quantities_in_range_are_accepted() {
        for (input, expected) in [("0", 0), (" 7 ", 7), ("+3", 3), ("1000000", 1_000_000)] {
            assert_eq!(
                Quantity::parse_text(input).unwrap().get(),
                expected,
                "{input:?}"
            );
        }
    }

    #[test]
    fn invalid_quantities_are_rejected_with_a_reason() {
        let cases = [
            ("", "empty"),
            ("-1", "negative"),
            ("1000001", "above the maximum"),
            ("2147483648", "past i32"),
            ("99999999999999999999999", "past i64"),
            ("1.5", "not whole"),
            ("1e3", "exponent notation"),
            ("ten", "words"),
            ("+", "sign only"),
            ("0x10", "hex"),
            ("٣", "non-ASCII digit"),
        ];
        for (input, reason) in cases {
            assert!(
                Quantity::parse_text(input).is_err(),
                "accepted {input:?}: {reason}"
            );
        }
        assert!(Quantity::from_i64(-5).is_err());
        assert!(Quantity::from_i64(i64::MAX).is_err());
    }

    #[test]
    fn descriptions_keep_line_breaks_but_not_other_control_characters() {
        assert!(Description::parse("line one\nline two\ttab").is_ok());
        assert!(Description::parse("escape\u{1b}[31m").is_err());
        assert!(Description::parse(" ").is_err());
        assert!(Description::parse(&"y".repeat(DESCRIPTION_MAX_CHARS + 1)).is_err());
        assert!(Description::parse(&"y".repeat(DESCRIPTION_MAX_CHARS)).is_ok());
    }

    #[test]
    fn a_new_item_reports_every_wrong_field_at_once() {
        let errors = NewItem::from_parts(
            ItemName::parse(""),
            Quantity::parse_text("-1"),
            Description::parse("fine"),
        )
        .unwrap_err();
        assert!(errors.get(field::NAME).is_some());
        assert!(errors.get(field::QUANTITY).is_some());
        assert!(errors.get(field::DESCRIPTION).is_none());
    }

    #[test]
    fn a_purchase_is_at_least_one_unit() {
        assert_eq!(PurchaseQuantity::parse_text("3").unwrap().get(), 3);
        for bad in ["0", "-1", "", "1000001", "x"] {
            assert!(PurchaseQuantity::parse_text(bad).is_err(), "{bad:?}");
        }
        assert!(PurchaseQuantity::from_i64(0).is_err());
    }

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("order-7f3a").is_ok());
        let too_long = "k".repeat(IdempotencyKey::MAX_CHARS + 1);
        for bad in ["", "has space", "tab\t", "é", too_long.as_str()] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn item_ids_from_urls_are_positive_integers() {
        assert_eq!(ItemId::parse("42").map(ItemId::get), Some(42));
        for bad in ["", "0", "-1", "+1", "1.0", "abc", "99999999999999999999"] {
            assert!(ItemId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
