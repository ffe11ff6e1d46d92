//! The pages people browse: the home page (sell form and listing), its stylesheet, and
//! the 404 page for every path no other component owns (this component's route is `/...`).

use market::domain::error::AppError;
use market::domain::item::ItemId;
use market::domain::listing::{BEFORE_PARAM, Listing, SEARCH_PARAM, SOLD_OUT_PARAM};
use market::observe::record;
use market::web::errors::Audience;
use market::web::http::{READ_ONLY, Request, Response, StatusCode};
use market::web::pages::{self, FormState, PageVisitor};
use market::web::sharing;
use market::web::{assets, photo_api};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// The stylesheet this component serves, and every page links by its hash.
const STYLESHEET: &str = include_str!("site.css");

/// This component, with the stylesheet's path (its hash computed here, so a change to it
/// rebuilds the component crates, not the core).
const COMPONENT: market::web::spin::Component = market::web::spin::Component {
    name: "pages",
    stylesheet: market::stylesheet_path!("src/site.css"),
};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::web::spin::serve(COMPONENT, request, response_out, route).await;
}

fn route(request: &Request) -> Response {
    let result = match request.path.as_str() {
        "/" => {
            record::route("/");
            request
                .expect_method(READ_ONLY)
                .and_then(|()| home_page(request))
        }
        path if path == COMPONENT.stylesheet => {
            record::route("/static/site-{hash}.css");
            request
                .expect_method(READ_ONLY)
                .map(|()| assets::stylesheet(STYLESHEET))
        }
        path if path.starts_with("/photos/") => {
            record::route("/photos/{sha256}.jpg");
            request.expect_method(READ_ONLY).and_then(|()| {
                let digest = photo_api::digest_in_path(path).ok_or(AppError::NotFound)?;
                photo_api::serve(request, &digest)
            })
        }
        _ => Err(AppError::NotFound),
    };
    result.unwrap_or_else(|error| error.into_response(Audience::Html))
}

/// A page of the listing (newest first, or older than `?before=`; the whole listing or
/// a search, `?q=`; in stock, or with sold-out items, `?sold_out=show`) above an empty
/// sell form (for a signed-in visitor; the header names them). An anonymous visitor's
/// page holds nothing of them, and nginx shares it.
fn home_page(request: &Request) -> Result<Response, AppError> {
    let before = request
        .query_param(BEFORE_PARAM)
        .map(|text| {
            ItemId::parse(&text).ok_or_else(|| {
                AppError::BadRequest("This page of the listing does not exist.".into())
            })
        })
        .transpose()?;
    let listing = Listing::from_query(
        request.query_param(SEARCH_PARAM).as_deref(),
        request.query_param(SOLD_OUT_PARAM).as_deref(),
    )?;
    let visitor = PageVisitor::read(request)?;
    let mut response = pages::render(
        StatusCode::OK,
        &listing,
        before,
        FormState {
            notice: visitor.notice,
            ..FormState::fresh(visitor.csrf_token())
        },
        visitor.person(),
    )?;
    visitor.write(&mut response);
    Ok(sharing::share_if_anonymous(request, response))
}
