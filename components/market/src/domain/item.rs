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
/// Highest price, in cents (1,000,000.00 in the shop's currency).
pub const PRICE_MAX_CENTS: i64 = 100_000_000;

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

/// What one unit costs, in cents of the shop's currency: 0.00..=1,000,000.00, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(i64);

impl Price {
    fn invalid() -> String {
        format!(
            "Enter a price from 0.00 to {}, like 12.50.",
            format_cents(PRICE_MAX_CENTS)
        )
    }

    /// Parses an amount as a person types it or a client sends it: digits, then
    /// optionally a point and one or two decimals (`12`, `12.5`, `12.50`).
    pub fn parse_text(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("Enter a price.".into());
        }
        let (units, cents) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || !all_digits(units) || !all_digits(cents) || cents.len() > 2 {
            return Err(Self::invalid());
        }
        // All digits: anything that does not fit is simply too large.
        let units = units.parse::<i64>().unwrap_or(i64::MAX);
        let cents = format!("{cents:0<2}").parse::<i64>().unwrap_or(0);
        units
            .checked_mul(100)
            .and_then(|value| value.checked_add(cents))
            .filter(|value| *value <= PRICE_MAX_CENTS)
            .map(Self)
            .ok_or_else(Self::invalid)
    }

    /// A price read back from storage.
    pub fn from_cents(cents: i64) -> Result<Self, String> {
        if (0..=PRICE_MAX_CENTS).contains(&cents) {
            Ok(Self(cents))
        } else {
            Err(Self::invalid())
        }
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    /// The amount with two decimals and no separators, as the API sends it (`1234.50`).
    pub fn amount(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// The shop's one currency: an ISO 4217 code, three capital letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "the currency must be an ISO 4217 code like EUR, not {raw:?}"
            ))
        }
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// A price as people read it: `1,234.50 EUR`.
    pub fn format(&self, price: Price) -> String {
        format!("{} {}", format_cents(price.cents()), self.0)
    }
}

/// Cents as an amount with thousands separators and two decimals (`1,234.50`).
pub fn format_cents(cents: i64) -> String {
    format!("{}.{:02}", group_thousands(cents / 100), cents % 100)
}

/// A whole number with thousands separators (`1,000,000`).
pub fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        grouped.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
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
    pub const PRICE: &str = "price";
    pub const DESCRIPTION: &str = "description";
}

/// An item ready to be stored: every part already valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub name: ItemName,
    pub quantity: Quantity,
    pub price: Price,
    pub description: Description,
}

/// The separately parsed parts of a new item, each valid or with its message.
pub struct NewItemParts {
    pub name: Result<ItemName, String>,
    pub quantity: Result<Quantity, String>,
    pub price: Result<Price, String>,
    pub description: Result<Description, String>,
}

impl NewItem {
    /// Builds an item from separately parsed parts, collecting a message for every wrong field.
    pub fn from_parts(parts: NewItemParts) -> Result<Self, FieldErrors> {
        match parts {
            NewItemParts {
                name: Ok(name),
                quantity: Ok(quantity),
                price: Ok(price),
                description: Ok(description),
            } => Ok(Self {
                name,
                quantity,
                price,
                description,
            }),
            parts => {
                let mut errors = FieldErrors::default();
                if let Err(e) = parts.name {
                    errors.add(field::NAME, e);
                }
                if let Err(e) = parts.quantity {
                    errors.add(field::QUANTITY, e);
                }
                if let Err(e) = parts.price {
                    errors.add(field::PRICE, e);
                }
                if let Err(e) = parts.description {
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
    pub price_cents: i64,
    pub description: String,
    /// When it was listed, RFC 3339 in UTC.
    pub date_added: String,
    /// Who sells it: none for items listed before accounts existed.
    pub seller_id: Option<i64>,
    pub seller_name: Option<String>,
    /// Off the listing and no longer for sale.
    pub withdrawn: bool,
    /// Its seller's rating as a seller (visible reviews).
    #[serde(default)]
    pub seller_rating: crate::domain::review::RatingSummary,
    /// Its photos in order, the cover first.
    #[serde(default)]
    pub photos: Vec<crate::domain::photo::Photo>,
}

impl Item {
    pub fn id(&self) -> ItemId {
        ItemId(self.id)
    }

    pub fn price(&self) -> Price {
        Price(self.price_cents)
    }
}

/// What a seller may change about a listing: its stock, price and description (not its
/// name, which buyers already know it by).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemChanges {
    pub quantity: Quantity,
    pub price: Price,
    pub description: Description,
}

impl ItemChanges {
    /// Builds the changes from separately parsed parts, a message for every wrong field.
    pub fn from_parts(
        quantity: Result<Quantity, String>,
        price: Result<Price, String>,
        description: Result<Description, String>,
    ) -> Result<Self, FieldErrors> {
        match (quantity, price, description) {
            (Ok(quantity), Ok(price), Ok(description)) => Ok(Self {
                quantity,
                price,
                description,
            }),
            (quantity, price, description) => {
                let mut errors = FieldErrors::default();
                for (name, result) in [
                    (field::QUANTITY, quantity.err()),
                    (field::PRICE, price.err()),
                    (field::DESCRIPTION, description.err()),
                ] {
                    if let Some(message) = result {
                        errors.add(name, message);
                    }
                }
                Err(errors)
            }
        }
    }
}

/// An item its seller sees on their own listings page: with how many units sold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerListing {
    pub item: Item,
    pub sold: i64,
}

/// A purchase its buyer sees on their purchases page: with the item's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseLine {
    pub purchase: Purchase,
    pub item_name: String,
}

/// A recorded purchase, with the stock it left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub id: i64,
    pub item_id: i64,
    pub quantity: i32,
    pub remaining: i32,
    /// What one unit cost (none for purchases made before prices were recorded).
    pub price_cents: Option<i64>,
    /// RFC 3339 in UTC.
    pub purchased_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_exactly_with_up_to_two_decimals() {
        let cents = |text: &str| Price::parse_text(text).map(Price::cents);
        assert_eq!(cents("12"), Ok(1200));
        assert_eq!(cents(" 12.5 "), Ok(1250));
        assert_eq!(cents("0.07"), Ok(7));
        assert_eq!(cents("0"), Ok(0));
        assert_eq!(
            cents("12."),
            Ok(1200),
            "a trailing point, as some keyboards leave it"
        );
        assert_eq!(cents("1000000.00"), Ok(PRICE_MAX_CENTS));
        // Each with the reason it is refused.
        for (text, why) in [
            ("", "empty"),
            ("12.345", "three decimals"),
            ("-1", "negative"),
            ("1e3", "exponent"),
            ("12,50", "comma as decimal point"),
            ("1,000", "thousands separator"),
            (".5", "no whole part"),
            ("1000000.01", "above the maximum"),
            ("99999999999999999999", "past i64"),
            ("NaN", "not a number"),
        ] {
            assert!(cents(text).is_err(), "{text:?} ({why}) was accepted");
        }
    }

    #[test]
    fn amounts_and_counts_get_thousands_separators() {
        assert_eq!(format_cents(123_456_789), "1,234,567.89");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(0), "0");
        assert_eq!(Price::parse_text("1234.5").unwrap().amount(), "1234.50");
        let euro = Currency::parse("EUR").unwrap();
        assert_eq!(
            euro.format(Price::from_cents(123_450).unwrap()),
            "1,234.50 EUR"
        );
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("EURO").is_err());
    }

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
        let errors = NewItem::from_parts(NewItemParts {
            name: ItemName::parse(""),
            quantity: Quantity::parse_text("-1"),
            price: Price::parse_text("2.999"),
            description: Description::parse("fine"),
        })
        .unwrap_err();
        assert!(errors.get(field::NAME).is_some());
        assert!(errors.get(field::QUANTITY).is_some());
        assert!(errors.get(field::PRICE).is_some());
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
    fn item_ids_from_urls_are_positive_integers() {
        assert_eq!(ItemId::parse("42").map(ItemId::get), Some(42));
        for bad in ["", "0", "-1", "+1", "1.0", "abc", "99999999999999999999"] {
            assert!(ItemId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
