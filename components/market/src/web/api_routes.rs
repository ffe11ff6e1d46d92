//! The JSON API of the item resource: `GET`/`POST /api/items`, `GET /api/items/{id}` and
//! `POST /api/items/{id}/buy`, each answering the outcome of its use-case.

use crate::domain::error::AppError;
use crate::domain::item::ItemId;
use crate::domain::listing::{BEFORE_PARAM, Listing, SEARCH_PARAM, SOLD_OUT_PARAM};
use crate::storage::{cache, config, db};
use crate::use_cases::{buy::buy, sell::sell};
use crate::web::api;
use crate::web::http::{self, Request, Response, StatusCode, header};

const JSON_MEDIA_TYPE: &str = "application/json";

/// The JSON of the first page of the default listing (or read back from the cache).
fn cached_first_page() -> Result<String, AppError> {
    cache::first_page(cache::View::Api, |page| {
        Ok(api::page_json(page, &config::currency()?).to_string())
    })
}

/// `GET /api/items?limit=&before=&q=&sold_out=`: a page of items, newest first, and the
/// next cursor.
pub fn list_items(request: &Request) -> Result<Response, AppError> {
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

/// `POST /api/items`: 201 with the stored item and its `Location`.
pub fn create_item(request: &Request) -> Result<Response, AppError> {
    let new_item = api::parse_new_item(json_body(request)?)?;
    let key = api::idempotency_key(request)?;
    let item = sell(&new_item, key.as_ref())?;
    let body = api::item_json(&item, &config::currency()?);
    let mut response = http::json(StatusCode::CREATED, &body);
    if let Ok(location) = format!("/api/items/{}", item.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `POST /api/items/{id}/buy` with `{"quantity": n}`: 200 with the purchase and the
/// stock left; 409 when there are too few units.
pub fn buy_item(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let quantity = api::parse_purchase(json_body(request)?)?;
    let key = api::idempotency_key(request)?;
    let purchase = buy(id, quantity, key.as_ref())?;
    Ok(http::json(StatusCode::OK, &api::purchase_json(&purchase)))
}

/// `GET /api/items/{id}`.
pub fn show_item(id: ItemId) -> Result<Response, AppError> {
    let item = db::find_item(&db::open()?, id)?.ok_or(AppError::NotFound)?;
    let body = api::item_json(&item, &config::currency()?);
    Ok(http::json(StatusCode::OK, &body))
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
