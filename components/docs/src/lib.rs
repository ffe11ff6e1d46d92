//! The JSON API's description, `GET /api/openapi.json` (OpenAPI 3.1, the one copy in
//! `components/market/assets/openapi.json`), as a component of its own: the document is
//! about 200 KB, and carried by the pages component it made every page's module half
//! as large again. nginx keeps it like any anonymous read.

use market::domain::error::AppError;
use market::observe::record;
use market::web::assets;
use market::web::errors::Audience;
use market::web::http::{READ_ONLY, Request, Response};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

const COMPONENT: market::web::spin::Component = market::web::spin::Component {
    name: "docs",
    stylesheet: market::stylesheet_path!("../pages/src/site.css"),
};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::web::spin::serve(COMPONENT, request, response_out, route).await;
}

fn route(request: &Request) -> Response {
    let result = if request.path == assets::OPENAPI_PATH {
        record::route(assets::OPENAPI_PATH);
        request
            .expect_method(READ_ONLY)
            .map(|()| assets::openapi(request))
    } else {
        Err(AppError::NotFound)
    };
    result.unwrap_or_else(|error| error.into_response(Audience::Json))
}
