//! The JSON shapes of the item API: what a client sends and what it gets back.

use serde_json::{Map, Value, json};

use crate::domain::error::AppError;
use crate::domain::idempotency::{IDEMPOTENCY_HEADER, IdempotencyKey};
use crate::domain::item::{
    Currency, Description, FieldErrors, Item, ItemChanges, ItemId, ItemName, NewItem, NewItemParts,
    Price, Purchase, PurchaseQuantity, Quantity, field,
};
use crate::storage::db::ItemsPage;
use crate::web::http::Request;

/// Items per page when the client does not say: the home page's page size, so the API
/// mirrors the pages.
pub const DEFAULT_LIMIT: u32 = crate::domain::listing::PAGE_SIZE;
/// The most items one page may hold.
pub const MAX_LIMIT: u32 = 100;
/// The query parameter of the page size.
pub const LIMIT_PARAM: &str = "limit";

/// The client's `Idempotency-Key`, if it sent one.
pub fn idempotency_key(request: &Request) -> Result<Option<IdempotencyKey>, AppError> {
    request
        .headers
        .get(IDEMPOTENCY_HEADER)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| "Idempotency-Key must be visible ASCII characters.".to_owned())
                .and_then(IdempotencyKey::parse)
                .map_err(AppError::BadRequest)
        })
        .transpose()
}

/// A JSON object body, or a 400 that says what the object must hold.
fn parse_object(body: &[u8], expected: &str) -> Result<Map<String, Value>, AppError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("The body is not valid JSON: {e}.")))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(AppError::BadRequest(format!(
            "The body must be a JSON object with {expected}."
        ))),
    }
}

/// Reads a create request: a JSON object with `name`, `quantity`, `price` and
/// `description`.
pub fn parse_new_item(body: &[u8]) -> Result<NewItem, AppError> {
    let object = parse_object(body, "name, quantity, price and description")?;
    NewItem::from_parts(NewItemParts {
        name: string_field(&object, field::NAME).and_then(ItemName::parse),
        quantity: quantity_field(&object),
        price: price_field(&object),
        description: string_field(&object, field::DESCRIPTION).and_then(Description::parse),
    })
    .map_err(AppError::Invalid)
}

/// A price as a string amount (`"12.50"`, exact) or a JSON number (`12.5`). A number is
/// read through its shortest decimal form, which is exact for every allowed price.
fn price_field(object: &Map<String, Value>) -> Result<Price, String> {
    match object.get(field::PRICE) {
        None | Some(Value::Null) => Err("This field is required.".into()),
        Some(Value::String(text)) => Price::parse_text(text),
        Some(Value::Number(number)) => Price::parse_text(&number.to_string()),
        Some(_) => Err("Must be an amount like \"12.50\".".into()),
    }
}

fn string_field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match object.get(name) {
        None | Some(Value::Null) => Err("This field is required.".into()),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err("Must be a string.".into()),
    }
}

/// Reads a buy request: a JSON object with `quantity`, and optionally the `price` the
/// client expects to pay per unit (the buy is refused if it changed).
pub fn parse_purchase(body: &[u8]) -> Result<(PurchaseQuantity, Option<Price>), AppError> {
    let object = parse_object(body, "quantity")?;
    let quantity = number_field(&object, field::QUANTITY, PurchaseQuantity::from_i64);
    let price = match object.get(field::PRICE) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => price_field(&object).map(Some),
    };
    match (quantity, price) {
        (Ok(quantity), Ok(price)) => Ok((quantity, price)),
        (quantity, price) => {
            let mut errors = FieldErrors::default();
            if let Err(message) = quantity {
                errors.add(field::QUANTITY, message);
            }
            if let Err(message) = price {
                errors.add(field::PRICE, message);
            }
            Err(AppError::Invalid(errors))
        }
    }
}

/// Reads a change of a listing: a JSON object with `quantity`, `price` and
/// `description` (the name cannot change).
pub fn parse_item_changes(body: &[u8]) -> Result<ItemChanges, AppError> {
    let object = parse_object(body, "quantity, price and description")?;
    ItemChanges::from_parts(
        quantity_field(&object),
        price_field(&object),
        string_field(&object, field::DESCRIPTION).and_then(Description::parse),
    )
    .map_err(AppError::Invalid)
}

fn quantity_field(object: &Map<String, Value>) -> Result<Quantity, String> {
    number_field(object, field::QUANTITY, Quantity::from_i64)
}

/// A whole-number field, checked by `check`.
fn number_field<T>(
    object: &Map<String, Value>,
    name: &str,
    check: fn(i64) -> Result<T, String>,
) -> Result<T, String> {
    match object.get(name) {
        None | Some(Value::Null) => Err("This field is required.".into()),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(n), _) => check(n),
            // Written with a fraction part that is zero (`3.0`): a whole number, as JSON
            // Schema's `integer` (and the API's description) has it.
            (None, Some(f)) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
                check(f as i64)
            }
            // A fraction, or a number past what is exact: not an allowed number.
            _ => check(-1),
        },
        Some(_) => Err("Must be a whole number.".into()),
    }
}

/// Reads the `limit` and `before` query parameters of the list endpoint.
pub fn parse_page_query(
    limit: Option<&str>,
    before: Option<&str>,
) -> Result<(u32, Option<ItemId>), AppError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}."
                ))
            })?,
    };
    let before = before
        .map(|text| {
            ItemId::parse(text).ok_or_else(|| {
                AppError::BadRequest("before must be an item id (a positive whole number).".into())
            })
        })
        .transpose()?;
    Ok((limit, before))
}

/// An item as the API shows it: the price as an exact string amount and the currency.
pub fn item_json(item: &Item, currency: &Currency) -> Value {
    json!({
        "id": item.id,
        "name": item.name,
        "quantity": item.quantity,
        "price": { "amount": item.price().amount(), "currency": currency.code() },
        "description": item.description,
        "date_added": item.date_added,
        "seller": item.seller_name,
        "seller_id": item.seller_id,
        "seller_rating": item.seller_rating,
        "withdrawn": item.withdrawn,
        "photos": item.photos,
    })
}

pub fn purchase_json(purchase: &Purchase) -> Value {
    json!({
        "purchase": {
            "id": purchase.id,
            "item_id": purchase.item_id,
            "quantity": purchase.quantity,
            "price": purchase
                .price_cents
                .and_then(|cents| Price::from_cents(cents).ok())
                .map(Price::amount),
            "purchased_at": purchase.purchased_at,
        },
        "remaining": purchase.remaining,
    })
}

pub fn page_json(page: &ItemsPage, currency: &Currency) -> Value {
    json!({
        "items": page.items.iter().map(|item| item_json(item, currency)).collect::<Vec<_>>(),
        "next": page.next.map(ItemId::get),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_errors(body: &str) -> Vec<&'static str> {
        match parse_new_item(body.as_bytes()) {
            Err(AppError::Invalid(errors)) => errors.iter().map(|(field, _)| field).collect(),
            other => panic!("expected field errors for {body}, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_item_is_accepted() {
        let item = parse_new_item(
            br#"{"name":" Lamp ","quantity":3,"price":"9.5","description":"Brass"}"#,
        )
        .unwrap();
        assert_eq!(item.name.as_str(), "Lamp");
        assert_eq!(item.quantity.get(), 3);
        assert_eq!(item.price.cents(), 950);
        let from_number =
            parse_new_item(br#"{"name":"Lamp","quantity":3,"price":19.99,"description":"Brass"}"#)
                .unwrap();
        assert_eq!(from_number.price.cents(), 1999, "exact from a JSON number");
    }

    #[test]
    fn invalid_fields_are_named() {
        let cases = [
            (
                r#"{}"#,
                vec!["description", "name", "price", "quantity"],
                "all missing",
            ),
            (
                r#"{"name":1,"quantity":1,"price":"1","description":"d"}"#,
                vec!["name"],
                "name not a string",
            ),
            (
                r#"{"name":"n","quantity":"1","price":"1","description":"d"}"#,
                vec!["quantity"],
                "quantity as a string",
            ),
            (
                r#"{"name":"n","quantity":1.5,"price":"1","description":"d"}"#,
                vec!["quantity"],
                "fraction",
            ),
            (
                r#"{"name":"n","quantity":-1,"price":"1","description":"d"}"#,
                vec!["quantity"],
                "negative",
            ),
            (
                r#"{"name":"n","quantity":1e30,"price":"1","description":"d"}"#,
                vec!["quantity"],
                "huge float",
            ),
            (
                r#"{"name":"n","quantity":18446744073709551616,"price":"1","description":"d"}"#,
                vec!["quantity"],
                "past u64",
            ),
            (
                r#"{"name":"n","quantity":1,"price":"1","description":null}"#,
                vec!["description"],
                "null",
            ),
            (
                r#"{"name":"n","quantity":1,"price":"1.005","description":"d"}"#,
                vec!["price"],
                "three decimals",
            ),
            (
                r#"{"name":"n","quantity":1,"price":-1,"description":"d"}"#,
                vec!["price"],
                "negative price",
            ),
            (
                r#"{"name":"n","quantity":1,"price":true,"description":"d"}"#,
                vec!["price"],
                "price not an amount",
            ),
        ];
        for (body, expected, reason) in cases {
            assert_eq!(field_errors(body), expected, "{reason}");
        }
    }

    #[test]
    fn bodies_that_are_not_objects_are_bad_requests() {
        for body in ["", "{", "[]", "\"text\"", "null"] {
            assert!(
                matches!(
                    parse_new_item(body.as_bytes()),
                    Err(AppError::BadRequest(_))
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_purchase_names_the_quantity_when_it_is_wrong() {
        assert_eq!(parse_purchase(br#"{"quantity":2}"#).unwrap().0.get(), 2);
        // A whole number written with a zero fraction is a whole number (JSON Schema's
        // `integer`, as the API's description says).
        assert_eq!(parse_purchase(br#"{"quantity":2.0}"#).unwrap().0.get(), 2);
        assert_eq!(
            parse_purchase(br#"{"quantity":161e0}"#).unwrap().0.get(),
            161
        );
        let (_, price) = parse_purchase(br#"{"quantity":2,"price":"9.50"}"#).unwrap();
        assert_eq!(price.map(Price::cents), Some(950));
        let Err(AppError::Invalid(errors)) = parse_purchase(br#"{"quantity":2,"price":"x"}"#)
        else {
            panic!("a price that is not one was accepted");
        };
        assert!(errors.get(field::PRICE).is_some());
        for body in [
            r#"{}"#,
            r#"{"quantity":0}"#,
            r#"{"quantity":"2"}"#,
            r#"{"quantity":2.5}"#,
        ] {
            let Err(AppError::Invalid(errors)) = parse_purchase(body.as_bytes()) else {
                panic!("{body} accepted");
            };
            assert!(errors.get(field::QUANTITY).is_some(), "{body}");
        }
        assert!(matches!(
            parse_purchase(b"[]"),
            Err(AppError::BadRequest(_))
        ));
    }

    #[test]
    fn page_queries_are_checked() {
        assert_eq!(parse_page_query(None, None).unwrap(), (DEFAULT_LIMIT, None));
        assert_eq!(
            parse_page_query(Some("5"), Some("10")).unwrap(),
            (5, ItemId::parse("10"))
        );
        for (limit, before) in [
            (Some("0"), None),
            (Some("101"), None),
            (Some("x"), None),
            (None, Some("-3")),
        ] {
            assert!(
                parse_page_query(limit, before).is_err(),
                "{limit:?} {before:?}"
            );
        }
    }
}
