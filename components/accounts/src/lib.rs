//! People's accounts (`/account/...`): signing up, in and out, the account page with its
//! API tokens, and a person's purchases and listings (`market::web::account_forms`).
//! A component of its own because only it hashes passwords (Argon2id, 9 MiB per hash):
//! the pages people browse stay small. This component only routes.

use market::domain::error::AppError;
use market::observe::record;
use market::web::account_forms;
use market::web::errors::Audience;
use market::web::http::{Method, READ_ONLY, Request, Response};
use market::web::views::paths;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// This component, with the stylesheet its pages link (its hash computed here, so a
/// change to it rebuilds this crate, not the core).
const COMPONENT: market::web::spin::Component = market::web::spin::Component {
    name: "accounts",
    stylesheet: market::stylesheet_path!("../pages/src/site.css"),
};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::web::spin::serve(COMPONENT, request, response_out, route).await;
}

/// A page that is read, and its form that posts to the same address.
const PAGE_AND_FORM: &[Method] = &[Method::GET, Method::HEAD, Method::POST];

fn route(request: &Request) -> Response {
    account_route(request).unwrap_or_else(|error| error.into_response(Audience::Html))
}

fn account_route(request: &Request) -> Result<Response, AppError> {
    let path = request.path.as_str();
    let reading = READ_ONLY.contains(&request.method);
    match path {
        paths::ACCOUNT => {
            record::route(paths::ACCOUNT);
            request.expect_method(READ_ONLY)?;
            account_forms::account_page(request)
        }
        paths::SIGN_UP => {
            record::route(paths::SIGN_UP);
            request.expect_method(PAGE_AND_FORM)?;
            if reading {
                account_forms::sign_up_page(request)
            } else {
                account_forms::sign_up_from_form(request)
            }
        }
        paths::SIGN_IN => {
            record::route(paths::SIGN_IN);
            request.expect_method(PAGE_AND_FORM)?;
            if reading {
                account_forms::sign_in_page(request)
            } else {
                account_forms::sign_in_from_form(request)
            }
        }
        paths::SIGN_OUT => {
            record::route(paths::SIGN_OUT);
            request.expect_method(&[Method::POST])?;
            account_forms::sign_out(request)
        }
        paths::SIGN_OUT_EVERYWHERE => {
            record::route(paths::SIGN_OUT_EVERYWHERE);
            request.expect_method(&[Method::POST])?;
            account_forms::sign_out_everywhere(request)
        }
        paths::TOKENS => {
            record::route(paths::TOKENS);
            request.expect_method(&[Method::POST])?;
            account_forms::create_token(request)
        }
        paths::MY_PURCHASES => {
            record::route(paths::MY_PURCHASES);
            request.expect_method(READ_ONLY)?;
            account_forms::purchases_page(request)
        }
        paths::MY_LISTINGS => {
            record::route(paths::MY_LISTINGS);
            request.expect_method(READ_ONLY)?;
            account_forms::listings_page(request)
        }
        _ => {
            let id = path
                .strip_prefix("/account/tokens/")
                .and_then(|rest| rest.strip_suffix("/revoke"))
                .and_then(market::domain::item::ItemId::parse)
                .ok_or(AppError::NotFound)?;
            record::route("/account/tokens/{id}/revoke");
            request.expect_method(&[Method::POST])?;
            account_forms::revoke_token(request, id.get())
        }
    }
}
