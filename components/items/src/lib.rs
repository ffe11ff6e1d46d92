//! Item writes and the JSON API of the item resource: `POST /items` from the sell form,
//! and `/api/items` (list and create) and `/api/items/{id}` for programs.

use market::api;
use market::cookies::{self, CsrfToken};
use market::db;
use market::error::{AppError, Audience};
use market::form::SellForm;
use market::home::{self, FormState};
use market::http::{self, Method, READ_ONLY, Request, Response, StatusCode, header};
use market::item::ItemId;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";
const JSON_MEDIA_TYPE: &str = "application/json";

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::spin::serve(request, response_out, route).await;
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
    match request.path.as_str() {
        "/items" => {
            request.expect_method(&[Method::POST])?;
            sell_from_form(request)
        }
        _ => Err(AppError::NotFound),
    }
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
    let id = path
        .strip_prefix("/api/items/")
        .and_then(ItemId::parse)
        .ok_or(AppError::NotFound)?;
    request.expect_method(READ_ONLY)?;
    show_item(id)
}

/// `POST /items`: store a valid item and redirect home (303), or hand the form back (422).
fn sell_from_form(request: &Request) -> Result<Response, AppError> {
    let body = request.body_bytes()?;
    if !request.has_content_type(FORM_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(FORM_MEDIA_TYPE));
    }
    let form = SellForm::parse(body);
    let token = CsrfToken::verify(request, form.csrf_token.as_deref())?;
    match form.validate() {
        Ok(new_item) => {
            let item = db::insert_item(&db::open()?, &new_item)?;
            let mut response = http::see_other("/");
            http::set_cookie(&mut response, &cookies::set_listed(item.id()));
            Ok(response)
        }
        Err(errors) => home::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            FormState {
                form: &form,
                errors: &errors,
                csrf_token: &token,
                listed: None,
            },
        ),
    }
}

/// `GET /api/items?limit=&before=`: a page of items, newest first, and the next cursor.
fn list_items(request: &Request) -> Result<Response, AppError> {
    let (limit, before) = api::parse_page_query(
        request.query_param("limit").as_deref(),
        request.query_param("before").as_deref(),
    )?;
    let page = db::list_items_before(&db::open()?, before, limit)?;
    Ok(http::json(StatusCode::OK, &api::page_json(&page)))
}

/// `POST /api/items`: 201 with the stored item and its `Location`.
fn create_item(request: &Request) -> Result<Response, AppError> {
    if !request.has_content_type(JSON_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(JSON_MEDIA_TYPE));
    }
    let new_item = api::parse_new_item(request.body_bytes()?)?;
    let item = db::insert_item(&db::open()?, &new_item)?;
    let mut response = http::json(StatusCode::CREATED, &api::item_json(&item));
    if let Ok(location) = format!("/api/items/{}", item.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /api/items/{id}`.
fn show_item(id: ItemId) -> Result<Response, AppError> {
    let item = db::find_item(&db::open()?, id)?.ok_or(AppError::NotFound)?;
    Ok(http::json(StatusCode::OK, &api::item_json(&item)))
}
