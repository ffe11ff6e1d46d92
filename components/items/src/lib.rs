//! The item resource: its page `/items/{id}`, the form writes `POST /items` and
//! `POST /items/{id}/buy`, and its seller's `/items/{id}/edit` and `/items/{id}/withdraw`
//! for people (`market::web::item_forms`); and `/api/items` (list and create),
//! `/api/items/{id}` (read, change, withdraw) and `/api/items/{id}/buy` for programs
//! (`market::web::api_routes`). This component only routes.
//!
//! By hand rather than with spin-sdk's `Router`: the router hands its handlers the SDK's
//! own request and response types, while every component answers through
//! `market::web::spin::serve`, which writes the body before Spin sends the head (Spin
//! 4.0.2 leaves Nagle's algorithm on) and bounds the body it reads.

use market::domain::error::AppError;
use market::domain::item::ItemId;
use market::observe::record;
use market::web::errors::Audience;
use market::web::http::{Method, READ_ONLY, Request, Response};
use market::web::{api_routes, item_forms};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// This component, with the stylesheet its pages link (its hash computed here, so a
/// change to it rebuilds this crate, not the core).
const COMPONENT: market::web::spin::Component = market::web::spin::Component {
    name: "items",
    stylesheet: market::stylesheet_path!("../pages/src/site.css"),
};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::web::spin::serve(COMPONENT, request, response_out, route).await;
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
        record::route("/items");
        request.expect_method(&[Method::POST])?;
        return item_forms::sell_from_form(request);
    }
    if let Some(id) = item_action(&request.path, "/items/", "/buy") {
        record::route("/items/{id}/buy");
        request.expect_method(&[Method::POST])?;
        return item_forms::buy_from_form(request, id);
    }
    if let Some(id) = item_action(&request.path, "/items/", "/edit") {
        record::route("/items/{id}/edit");
        return match request.method {
            Method::GET | Method::HEAD => item_forms::edit_page(request, id),
            Method::POST => item_forms::edit_from_form(request, id),
            _ => Err(AppError::MethodNotAllowed(&[
                Method::GET,
                Method::HEAD,
                Method::POST,
            ])),
        };
    }
    if let Some(id) = item_action(&request.path, "/items/", "/withdraw") {
        record::route("/items/{id}/withdraw");
        request.expect_method(&[Method::POST])?;
        return item_forms::withdraw_from_form(request, id);
    }
    let id = item_action(&request.path, "/items/", "").ok_or(AppError::NotFound)?;
    record::route("/items/{id}");
    request.expect_method(READ_ONLY)?;
    item_forms::item_page(request, id)
}

fn api_route(request: &Request) -> Result<Response, AppError> {
    let path = request.path.as_str();
    if path == "/api/items" {
        record::route("/api/items");
        return match request.method {
            Method::GET | Method::HEAD => api_routes::list_items(request),
            Method::POST => api_routes::create_item(request),
            _ => Err(AppError::MethodNotAllowed(&[
                Method::GET,
                Method::HEAD,
                Method::POST,
            ])),
        };
    }
    if let Some(id) = item_action(path, "/api/items/", "/buy") {
        record::route("/api/items/{id}/buy");
        request.expect_method(&[Method::POST])?;
        return api_routes::buy_item(request, id);
    }
    let id = item_action(path, "/api/items/", "").ok_or(AppError::NotFound)?;
    record::route("/api/items/{id}");
    match request.method {
        Method::GET | Method::HEAD => api_routes::show_item(request, id),
        Method::PATCH => api_routes::change_item(request, id),
        Method::DELETE => api_routes::withdraw_item(request, id),
        _ => Err(AppError::MethodNotAllowed(&[
            Method::GET,
            Method::HEAD,
            Method::PATCH,
            Method::DELETE,
        ])),
    }
}

/// The item id in `{prefix}{id}{suffix}`, e.g. `/items/7/buy`.
fn item_action(path: &str, prefix: &str, suffix: &str) -> Option<ItemId> {
    ItemId::parse(path.strip_prefix(prefix)?.strip_suffix(suffix)?)
}
