//! The item resource: its page `/items/{id}` and the form writes `POST /items` and
//! `POST /items/{id}/buy` for people, and `/api/items` (list and create),
//! `/api/items/{id}` and `/api/items/{id}/buy` for programs.

use market::domain::error::AppError;
use market::domain::item::{FieldErrors, ItemId, field};
use market::domain::listing::{Listing, SEARCH_PARAM, SOLD_OUT_PARAM};
use market::storage::{cache, config, db};
use market::use_cases::{buy::buy, sell::sell};
use market::web::api;
use market::web::cookies::{CsrfToken, Notice};
use market::web::errors::Audience;
use market::web::form::{BuyForm, BuyFormPage, FormGuards, SellForm};
use market::web::http::{self, Method, READ_ONLY, Request, Response, StatusCode, header};
use market::web::pages::{self, FormState, VisitorCookies};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";
const JSON_MEDIA_TYPE: &str = "application/json";

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::web::spin::serve(request, response_out, route).await;
}

fn route(request: &Request) -> Response {
    let path = request.path.as_str();
    if path == "/api" || path.starts_with("/api/") {
        api_route(request).unwrap_or_else(|error| error.into_response(Audience::Json))
    } else {
        form_route(request).unwrap_or_else(|error| error.into_response(Audience::Html))
    }
}

fn form_route(request: &Request) -> Result<Response, AppError> {
    if request.path == "/items" {
        request.expect_method(&[Method::POST])?;
        return sell_from_form(request);
    }
    if let Some(id) = item_action(&request.path, "/items/", "/buy") {
        request.expect_method(&[Method::POST])?;
        return buy_from_form(request, id);
    }
    let id = item_action(&request.path, "/items/", "").ok_or(AppError::NotFound)?;
    request.expect_method(READ_ONLY)?;
    item_page(request, id)
}

/// `GET /items/{id}`: the item's own page, with the visitor's notice.
fn item_page(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let visitor = VisitorCookies::read(request)?;
    let mut response = pages::render_item(
        StatusCode::OK,
        id,
        &visitor.csrf_token,
        visitor.notice,
        None,
    )?;
    visitor.write(&mut response);
    Ok(response)
}

/// The item id in `{prefix}{id}{suffix}`, e.g. `/items/7/buy`.
fn item_action(path: &str, prefix: &str, suffix: &str) -> Option<ItemId> {
    ItemId::parse(path.strip_prefix(prefix)?.strip_suffix(suffix)?)
}

fn api_route(request: &Request) -> Result<Response, AppError> {
    let path = request.path.as_str();
    if path == "/api/items" {
        return match request.method {
            Method::GET | Method::HEAD => list_items(request),
            Method::POST => create_item(request),
            _ => Err(AppError::MethodNotAllowed(&[
                Method::GET,
                Method::HEAD,
                Method::POST,
            ])),
        };
    }
    if let Some(id) = item_action(path, "/api/items/", "/buy") {
        request.expect_method(&[Method::POST])?;
        return buy_item(request, id);
    }
    let id = item_action(path, "/api/items/", "").ok_or(AppError::NotFound)?;
    request.expect_method(READ_ONLY)?;
    show_item(id)
}

/// Checks a form post's content type and CSRF token, then parses it.
fn read_form<F>(
    request: &Request,
    parse: fn(&[u8]) -> F,
    guards: fn(&F) -> &FormGuards,
) -> Result<(F, CsrfToken), AppError> {
    let body = request.body_bytes()?;
    if !request.has_content_type(FORM_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(FORM_MEDIA_TYPE));
    }
    let form = parse(body);
    let token = CsrfToken::verify(request, guards(&form).csrf_token.as_deref())?;
    Ok((form, token))
}

/// `POST /items`: store a valid item and redirect home (303), or hand the form back (422).
fn sell_from_form(request: &Request) -> Result<Response, AppError> {
    let (form, token) = read_form(request, SellForm::parse, |form| &form.guards)?;
    match form.validate() {
        Ok(new_item) => {
            let key = form.guards.idempotency_key.as_ref();
            let item = sell(&new_item, key)?;
            Ok(redirect_with("/", Notice::Listed(item.id())))
        }
        Err(errors) => pages::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &Listing::default(),
            None,
            FormState {
                form: &form,
                errors: &errors,
                ..FormState::fresh(&token)
            },
        ),
    }
}

/// `POST /items/{id}/buy`: take the stock and redirect back to the page the form was on,
/// the item's page or a page of the listing (303), or show that page again with the
/// reason beside the item (422 for a bad quantity, 409 for too little stock, 404 for an
/// unknown item).
fn buy_from_form(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let (form, token) = read_form(request, BuyForm::parse, |form| &form.guards)?;
    let result = form
        .validate()
        .map_err(|message| AppError::Invalid(FieldErrors::single(field::QUANTITY, message)));
    let purchase =
        result.and_then(|quantity| buy(id, quantity, form.guards.idempotency_key.as_ref()));
    let error = match purchase {
        Ok(purchase) => {
            let notice = Notice::Bought {
                item: id,
                quantity: purchase.quantity,
            };
            return Ok(match &form.page {
                BuyFormPage::Item => redirect_with(&format!("/items/{id}"), notice),
                BuyFormPage::Listing(listing, before) => {
                    redirect_with(&listing.page_path(*before), notice)
                }
            });
        }
        Err(error @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::NotFound)) => error,
        Err(other) => return Err(other),
    };
    let message = match &error {
        AppError::Invalid(errors) => errors.iter().map(|(_, m)| m.to_owned()).collect(),
        AppError::NotFound => "This item is no longer for sale.".to_owned(),
        other => other.public_message(),
    };
    match &form.page {
        // An unknown item has no page: the 404 page says so.
        BuyFormPage::Item => pages::render_item(error.status(), id, &token, None, Some(&message)),
        BuyFormPage::Listing(listing, before) => pages::render(
            error.status(),
            listing,
            *before,
            FormState {
                buy_error: Some((id, &message)),
                ..FormState::fresh(&token)
            },
        ),
    }
}

/// The POST-redirect-GET answer, to the page the form came from, with the notice it
/// shows once.
fn redirect_with(location: &str, notice: Notice) -> Response {
    let mut response = http::see_other(location);
    http::set_cookie(&mut response, &notice.set_cookie());
    response
}

/// `GET /api/items?limit=&before=&q=&sold_out=`: a page of items, newest first, and the
/// next cursor.
fn list_items(request: &Request) -> Result<Response, AppError> {
    let (limit, before) = api::parse_page_query(
        request.query_param("limit").as_deref(),
        request.query_param("before").as_deref(),
    )?;
    let listing = Listing::from_query(
        request.query_param(SEARCH_PARAM).as_deref(),
        request.query_param(SOLD_OUT_PARAM).as_deref(),
    )?;
    if cache::serves(&listing, before, limit) {
        return Ok(http::json_text(StatusCode::OK, pages::cached_api_json()?));
    }
    let page = db::list_items_before(&db::open()?, &listing, before, limit)?;
    let body = api::page_json(&page, &config::currency()?);
    Ok(http::json(StatusCode::OK, &body))
}

/// `POST /api/items`: 201 with the stored item and its `Location`.
fn create_item(request: &Request) -> Result<Response, AppError> {
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
fn buy_item(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let quantity = api::parse_purchase(json_body(request)?)?;
    let key = api::idempotency_key(request)?;
    let purchase = buy(id, quantity, key.as_ref())?;
    Ok(http::json(StatusCode::OK, &api::purchase_json(&purchase)))
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

/// `GET /api/items/{id}`.
fn show_item(id: ItemId) -> Result<Response, AppError> {
    let item = db::find_item(&db::open()?, id)?.ok_or(AppError::NotFound)?;
    let body = api::item_json(&item, &config::currency()?);
    Ok(http::json(StatusCode::OK, &body))
}
