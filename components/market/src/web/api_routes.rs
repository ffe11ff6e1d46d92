//! The JSON API of the item resource: `GET`/`POST /api/items`, `GET`/`PATCH`/`DELETE
//! /api/items/{id}` and `POST /api/items/{id}/buy`, each answering the outcome of its
//! use-case. Reads are open; every write needs a personal access token
//! (`web::session::token_holder`).

use crate::domain::account::Writer;
use crate::domain::error::AppError;
use crate::domain::item::ItemId;
use crate::domain::listing::{BEFORE_PARAM, Listing, SEARCH_PARAM, SOLD_OUT_PARAM};
use crate::storage::{cache, config, db};
use crate::use_cases::buy::{BuyRequest, buy};
use crate::use_cases::{listing, sell::sell};
use crate::web::http::{self, Request, Response, StatusCode, header};
use crate::web::{api, session, sharing};

const JSON_MEDIA_TYPE: &str = "application/json";

/// The JSON of the first page of the default listing (or read back from the cache).
fn cached_first_page() -> Result<String, AppError> {
    cache::first_page(cache::View::Api, |page| {
        Ok(api::page_json(page, &config::currency()?).to_string())
    })
}

/// `GET /api/items?limit=&before=&q=&sold_out=`: a page of items, newest first, and the
/// next cursor; shared by nginx when the request is anonymous.
pub fn list_items(request: &Request) -> Result<Response, AppError> {
    list_page(request).map(|response| sharing::share_if_anonymous(request, response))
}

fn list_page(request: &Request) -> Result<Response, AppError> {
    let (limit, before) = api::parse_page_query(
        request.query_param(api::LIMIT_PARAM).as_deref(),
        request.query_param(BEFORE_PARAM).as_deref(),
    )?;
    let listing = Listing::from_query(
        request.query_param(SEARCH_PARAM).as_deref(),
        request.query_param(SOLD_OUT_PARAM).as_deref(),
    )?;
    if cache::serves(&listing, before, limit) {
        return Ok(http::json_text(StatusCode::OK, cached_first_page()?));
    }
    let page = cache::uncached_page(&listing, before, limit)?;
    let body = api::page_json(&page, &config::currency()?);
    Ok(http::json(StatusCode::OK, &body))
}

/// `POST /api/items` (a token's holder sells): 201 with the stored item and its
/// `Location`.
pub fn create_item(request: &Request) -> Result<Response, AppError> {
    // The token is checked by the write's own statement: one round trip.
    let token = session::bearer_token(request)?;
    let new_item = api::parse_new_item(json_body(request)?)?;
    let key = api::idempotency_key(request)?;
    let item = sell(Writer::TokenHolder(&token), &new_item, key.as_ref())?;
    let body = api::item_json(&item, &config::currency()?);
    let mut response = http::json(StatusCode::CREATED, &body);
    if let Ok(location) = format!("/api/items/{}", item.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `POST /api/items/{id}/buy` with `{"quantity": n}` and optionally the `"price"` the
/// client expects: 200 with the purchase and the stock left; 409 when there are too few
/// units, the price changed, or the item is withdrawn.
pub fn buy_item(request: &Request, id: ItemId) -> Result<Response, AppError> {
    // The token is checked by the write's own statement: one round trip.
    let token = session::bearer_token(request)?;
    let (quantity, expected_price) = api::parse_purchase(json_body(request)?)?;
    let key = api::idempotency_key(request)?;
    let currency = config::currency()?;
    let purchase = buy(
        &BuyRequest {
            buyer: Writer::TokenHolder(&token),
            item: id,
            quantity,
            expected_price,
            key: key.as_ref(),
        },
        &currency,
    )?;
    Ok(http::json(StatusCode::OK, &api::purchase_json(&purchase)))
}

/// `PATCH /api/items/{id}` with `quantity`, `price` and `description` (the token's
/// holder must sell it, else 404): 200 with the item as changed.
pub fn change_item(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let seller = session::token_holder(request)?;
    let changes = api::parse_item_changes(json_body(request)?)?;
    let item = listing::change(&seller, id, &changes)?;
    Ok(http::json(
        StatusCode::OK,
        &api::item_json(&item, &config::currency()?),
    ))
}

/// `DELETE /api/items/{id}`: withdraw it (the token's holder must sell it, else 404);
/// 204, also when it already was.
pub fn withdraw_item(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let seller = session::token_holder(request)?;
    listing::withdraw(&seller, id)?;
    let mut response = http::json_text(StatusCode::NO_CONTENT, String::new());
    response.headers_mut().remove(header::CONTENT_TYPE);
    Ok(response)
}

/// `GET /api/items/{id}`.
pub fn show_item(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let item = db::find_item(&*db::open()?, id)?.ok_or(AppError::NotFound)?;
    let body = api::item_json(&item, &config::currency()?);
    let response = http::json(StatusCode::OK, &body);
    Ok(sharing::share_if_anonymous(request, response))
}

/// The body of a JSON request: 413 when too large, then 415 when not JSON (in the same
/// order as the forms).
fn json_body(request: &Request) -> Result<&[u8], AppError> {
    let body = request.body_bytes()?;
    if !request.has_content_type(JSON_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(JSON_MEDIA_TYPE));
    }
    Ok(body)
}
