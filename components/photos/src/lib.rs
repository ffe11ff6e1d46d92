//! Photos of listings, the one component that reads image bytes: the sell form with its
//! photos (`POST /items`), a listing's photos on its edit page (`POST /items/{id}/photos`
//! and `POST /items/{id}/photos/{photo_id}`), and their JSON API
//! (`POST /api/items/{id}/photos`, `PATCH`/`DELETE /api/items/{id}/photos/{photo_id}`).
//! This component only routes (`market::web::photo_forms`, `market::web::photo_api`).
//!
//! Its own component because decoding and encoding images is most of its size, and
//! because it reads request bodies as they arrive (`market::web::spin::serve_streaming`):
//! an upload is processed a file at a time, never held whole beside the next.

use std::io::Read;

use market::domain::error::AppError;
use market::domain::item::ItemId;
use market::domain::photo::PhotoId;
use market::observe::record;
use market::web::errors::Audience;
use market::web::http::{Method, Request, Response};
use market::web::{photo_api, photo_forms};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// This component, with the stylesheet its pages link (its hash computed here, so a
/// change to it rebuilds this crate, not the core).
const COMPONENT: market::web::spin::Component = market::web::spin::Component {
    name: "photos",
    stylesheet: market::stylesheet_path!("../pages/src/site.css"),
};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::web::spin::serve_streaming(COMPONENT, request, response_out, route);
}

fn route(request: &Request, body: &mut dyn Read) -> Response {
    if request.path.starts_with("/api/") {
        api_route(request, body).unwrap_or_else(|error| error.into_response(Audience::Json))
    } else {
        form_route(request, body).unwrap_or_else(|error| error.into_response(Audience::Html))
    }
}

fn form_route(request: &Request, body: &mut dyn Read) -> Result<Response, AppError> {
    if request.path == "/items" {
        record::route("/items");
        request.expect_method(&[Method::POST])?;
        return photo_forms::sell_with_photos(request, body);
    }
    let (item, photo) = photo_path(&request.path, "/items/").ok_or(AppError::NotFound)?;
    request.expect_method(&[Method::POST])?;
    match photo {
        None => {
            record::route("/items/{id}/photos");
            photo_forms::upload(request, body, item)
        }
        Some(photo) => {
            record::route("/items/{id}/photos/{photo_id}");
            photo_forms::change(request, body, item, photo)
        }
    }
}

fn api_route(request: &Request, body: &mut dyn Read) -> Result<Response, AppError> {
    let (item, photo) = photo_path(&request.path, "/api/items/").ok_or(AppError::NotFound)?;
    match photo {
        None => {
            record::route("/api/items/{id}/photos");
            request.expect_method(&[Method::POST])?;
            photo_api::upload(request, body, item)
        }
        Some(photo) => {
            record::route("/api/items/{id}/photos/{photo_id}");
            match request.method {
                Method::PATCH => photo_api::change(&request.with_body_from(body), item, photo),
                Method::DELETE => photo_api::delete(request, item, photo),
                _ => Err(AppError::MethodNotAllowed(&[Method::PATCH, Method::DELETE])),
            }
        }
    }
}

/// The item and, when there is one, the photo in `{prefix}{id}/photos[/{photo_id}]`.
fn photo_path(path: &str, prefix: &str) -> Option<(ItemId, Option<PhotoId>)> {
    let (item, rest) = path.strip_prefix(prefix)?.split_once('/')?;
    let item = ItemId::parse(item)?;
    match rest.strip_prefix("photos")? {
        "" => Some((item, None)),
        photo => Some((item, Some(PhotoId::parse(photo.strip_prefix('/')?)?))),
    }
}
