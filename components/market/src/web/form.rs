//! The forms as a browser posts them (`application/x-www-form-urlencoded`).

use std::collections::HashMap;

use crate::domain::error::AppError;
use crate::domain::idempotency::{IDEMPOTENCY_FIELD, IdempotencyKey};
use crate::domain::item::{
    Description, FieldErrors, Item, ItemChanges, ItemId, ItemName, NewItem, NewItemParts, Price,
    PurchaseQuantity, Quantity, field,
};
use crate::domain::listing::{BEFORE_PARAM, Listing, SEARCH_PARAM, SOLD_OUT_PARAM};
use crate::web::csrf::CSRF_FIELD;

/// The hidden field of a buy form shown on the item's own page, so the answer comes back
/// to that page.
pub const BACK_FIELD: &str = "back";
pub const BACK_TO_ITEM: &str = "item";

/// The fields of a form body; the first value wins when a field is repeated.
fn fields(body: &[u8]) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        fields
            .entry(key.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    fields
}

/// The parts every form of ours carries besides its own fields.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FormGuards {
    pub csrf_token: Option<String>,
    /// Absent or malformed keys are treated as absent: the post still goes through.
    pub idempotency_key: Option<IdempotencyKey>,
}

impl FormGuards {
    fn take(fields: &mut HashMap<String, String>) -> Self {
        Self {
            csrf_token: fields.remove(CSRF_FIELD),
            idempotency_key: fields
                .remove(IDEMPOTENCY_FIELD)
                .and_then(|key| IdempotencyKey::parse(&key).ok()),
        }
    }
}

/// What the person typed into the sell form, kept verbatim so a form with mistakes comes
/// back as they left it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SellForm {
    pub name: String,
    pub quantity: String,
    pub price: String,
    pub description: String,
    pub guards: FormGuards,
}

impl SellForm {
    pub fn parse(body: &[u8]) -> Self {
        let mut fields = fields(body);
        let guards = FormGuards::take(&mut fields);
        let mut take = |name| fields.remove(name).unwrap_or_default();
        Self {
            name: take(field::NAME),
            quantity: take(field::QUANTITY),
            price: take(field::PRICE),
            description: take(field::DESCRIPTION),
            guards,
        }
    }

    pub fn validate(&self) -> Result<NewItem, FieldErrors> {
        NewItem::from_parts(NewItemParts {
            name: ItemName::parse(&self.name),
            quantity: Quantity::parse_text(&self.quantity),
            price: Price::parse_text(&self.price),
            description: Description::parse(&self.description),
        })
    }
}

/// Where a buy form was shown, so the answer goes back there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyFormPage {
    /// A page of a listing (its search and filter, and its cursor when older); malformed
    /// values count as the plain first page.
    Listing(Listing, Option<ItemId>),
    /// The item's own page.
    Item,
}

impl Default for BuyFormPage {
    fn default() -> Self {
        Self::Listing(Listing::default(), None)
    }
}

/// The hidden field of a buy form holding the price the page showed, so a buy at a
/// price that changed since is refused.
pub const SHOWN_PRICE_FIELD: &str = "shown_price";

/// The buy form of one item.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BuyForm {
    pub quantity: String,
    pub shown_price: Option<String>,
    pub page: BuyFormPage,
    pub guards: FormGuards,
}

impl BuyForm {
    pub fn parse(body: &[u8]) -> Self {
        let mut fields = fields(body);
        let guards = FormGuards::take(&mut fields);
        Self {
            quantity: fields.remove(field::QUANTITY).unwrap_or_default(),
            shown_price: fields.remove(SHOWN_PRICE_FIELD),
            page: if fields.get(BACK_FIELD).map(String::as_str) == Some(BACK_TO_ITEM) {
                BuyFormPage::Item
            } else {
                let listing = Listing::from_query(
                    fields.get(SEARCH_PARAM).map(String::as_str),
                    fields.get(SOLD_OUT_PARAM).map(String::as_str),
                );
                BuyFormPage::Listing(
                    listing.unwrap_or_default(),
                    fields
                        .remove(BEFORE_PARAM)
                        .and_then(|page| ItemId::parse(&page)),
                )
            },
            guards,
        }
    }

    pub fn validate(&self) -> Result<PurchaseQuantity, String> {
        PurchaseQuantity::parse_text(&self.quantity)
    }

    /// The price the page showed; none from a client that sent none (it buys at
    /// today's price). One that is not a price is a form we never rendered.
    pub fn shown_price(&self) -> Result<Option<Price>, AppError> {
        self.shown_price
            .as_deref()
            .map(|text| {
                Price::parse_text(text).map_err(|_| {
                    AppError::BadRequest(format!("{SHOWN_PRICE_FIELD} must be a price."))
                })
            })
            .transpose()
    }
}

/// Any other form of ours: its guards and its fields by name, kept as typed so that a
/// form with mistakes comes back as it was left (passwords aside: views never echo
/// them).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PostedForm {
    fields: HashMap<String, String>,
    pub guards: FormGuards,
}

impl PostedForm {
    pub fn parse(body: &[u8]) -> Self {
        let mut fields = fields(body);
        let guards = FormGuards::take(&mut fields);
        Self { fields, guards }
    }

    /// What was typed into `name` (empty when absent).
    pub fn value(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// What was typed into `name`, if it was sent at all.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The edit form of `item`, filled in with what it says now.
    pub fn from_item(item: &Item) -> Self {
        let fields = [
            (field::QUANTITY, item.quantity.to_string()),
            (field::PRICE, item.price().amount()),
            (field::DESCRIPTION, item.description.clone()),
        ];
        Self {
            fields: fields
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            guards: FormGuards::default(),
        }
    }

    /// The changes a seller's edit form asks for.
    pub fn item_changes(&self) -> Result<ItemChanges, FieldErrors> {
        ItemChanges::from_parts(
            Quantity::parse_text(self.value(field::QUANTITY)),
            Price::parse_text(self.value(field::PRICE)),
            Description::parse(self.value(field::DESCRIPTION)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_decoded_and_the_first_repeat_wins() {
        let form = SellForm::parse(
            b"name=Old+lamp&quantity=2&price=12.50&description=Brass%21&name=Other&csrf_token=t&idempotency_key=k1",
        );
        assert_eq!(form.name, "Old lamp");
        assert_eq!(form.quantity, "2");
        assert_eq!(form.description, "Brass!");
        assert_eq!(form.guards.csrf_token.as_deref(), Some("t"));
        assert_eq!(
            form.guards
                .idempotency_key
                .as_ref()
                .map(IdempotencyKey::as_str),
            Some("k1")
        );
        assert!(form.validate().is_ok());
    }

    #[test]
    fn missing_fields_are_reported_as_missing() {
        let errors = SellForm::parse(b"").validate().unwrap_err();
        for name in [
            field::NAME,
            field::QUANTITY,
            field::PRICE,
            field::DESCRIPTION,
        ] {
            assert!(errors.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters_not_a_failure() {
        let form = SellForm::parse(b"name=%FF%FE&quantity=1&description=x");
        assert_eq!(form.name, "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn a_buy_form_needs_a_positive_quantity_and_ignores_a_bad_key() {
        let form = BuyForm::parse(b"quantity=2&idempotency_key=has%20space");
        assert_eq!(form.validate().unwrap().get(), 2);
        assert_eq!(form.guards.idempotency_key, None);
        assert!(BuyForm::parse(b"quantity=0").validate().is_err());
    }

    #[test]
    fn a_buy_form_remembers_the_page_it_was_on() {
        assert_eq!(
            BuyForm::parse(b"quantity=1&before=120&q=lamp&sold_out=show").page,
            BuyFormPage::Listing(
                Listing::from_query(Some("lamp"), Some("show")).unwrap(),
                ItemId::parse("120")
            )
        );
        assert_eq!(
            BuyForm::parse(b"quantity=1&before=x&sold_out=nonsense").page,
            BuyFormPage::default()
        );
        assert_eq!(BuyForm::parse(b"quantity=1").page, BuyFormPage::default());
        assert_eq!(
            BuyForm::parse(b"quantity=1&back=item").page,
            BuyFormPage::Item
        );
    }
}
