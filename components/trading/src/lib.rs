//! Trading between two people: orders (`/orders`, `/orders/{id}` and its ship, receive,
//! cancel and review forms), conversations (`/conversations`, `/conversations/{id}`, its
//! messages, and `/items/{id}/ask` from an item's page), public profiles
//! (`/people/{id}`), notices (`/notices`), and their JSON API under `/api/orders`,
//! `/api/conversations`, `/api/people` and `/api/items/{id}/conversations`; and a
//! person's own display name and password (`/account/profile`, `/account/password`), and
//! their email: address verification, password reset, notice settings and one-click
//! unsubscribe (`/account/email/...`, `market::web::email_pages`). This
//! component only routes (`market::web::trade_pages`, `market::web::trade_api`).

use market::domain::error::AppError;
use market::domain::order::Action;
use market::observe::record;
use market::web::errors::Audience;
use market::web::http::{Method, READ_ONLY, Request, Response};
use market::web::{email_pages, profile_forms, trade_api, trade_pages};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// This component, with the stylesheet its pages link (its hash computed here, so a
/// change to it rebuilds this crate, not the core).
const COMPONENT: market::web::spin::Component = market::web::spin::Component {
    name: "trading",
    stylesheet: market::stylesheet_path!("../pages/src/site.css"),
};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::web::spin::serve(COMPONENT, request, response_out, route).await;
}

fn route(request: &Request) -> Response {
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    if segments.first() == Some(&"api") {
        api_route(request, &segments[1..])
            .unwrap_or_else(|error| error.into_response(Audience::Json))
    } else {
        page_route(request, &segments).unwrap_or_else(|error| error.into_response(Audience::Html))
    }
}

/// An id segment: digits only, positive.
fn id(segment: &str) -> Option<i64> {
    (!segment.is_empty() && segment.len() <= 18 && segment.bytes().all(|b| b.is_ascii_digit()))
        .then(|| segment.parse().ok())
        .flatten()
        .filter(|id| *id > 0)
}

const POST: &[Method] = &[Method::POST];

fn page_route(request: &Request, segments: &[&str]) -> Result<Response, AppError> {
    match segments {
        ["orders"] => {
            record::route("/orders");
            request.expect_method(READ_ONLY)?;
            trade_pages::orders_page(request)
        }
        ["orders", order] => {
            let order = id(order).ok_or(AppError::NotFound)?;
            record::route("/orders/{id}");
            request.expect_method(READ_ONLY)?;
            trade_pages::order_page(request, order)
        }
        ["orders", order, "review"] => {
            let order = id(order).ok_or(AppError::NotFound)?;
            record::route("/orders/{id}/review");
            request.expect_method(POST)?;
            trade_pages::review_from_form(request, order)
        }
        ["orders", order, action] => {
            let order = id(order).ok_or(AppError::NotFound)?;
            let action = Action::parse(action).ok_or(AppError::NotFound)?;
            record::route("/orders/{id}/{action}");
            request.expect_method(POST)?;
            trade_pages::order_action(request, order, action)
        }
        ["conversations"] => {
            record::route("/conversations");
            request.expect_method(READ_ONLY)?;
            trade_pages::inbox_page(request)
        }
        ["conversations", conversation] => {
            let conversation = id(conversation).ok_or(AppError::NotFound)?;
            record::route("/conversations/{id}");
            request.expect_method(READ_ONLY)?;
            trade_pages::conversation_page(request, conversation)
        }
        ["conversations", conversation, "messages"] => {
            let conversation = id(conversation).ok_or(AppError::NotFound)?;
            record::route("/conversations/{id}/messages");
            request.expect_method(POST)?;
            trade_pages::reply_from_form(request, conversation)
        }
        ["items", item, "ask"] => {
            let item = id(item).ok_or(AppError::NotFound)?;
            record::route("/items/{id}/ask");
            request.expect_method(POST)?;
            trade_pages::ask_from_form(request, item)
        }
        ["people", person] => {
            let person = id(person).ok_or(AppError::NotFound)?;
            record::route("/people/{id}");
            request.expect_method(READ_ONLY)?;
            trade_pages::profile_page(request, person)
        }
        ["account", "profile"] => {
            record::route("/account/profile");
            match request.method {
                Method::GET | Method::HEAD => profile_forms::profile_page(request),
                Method::POST => profile_forms::rename_from_form(request),
                _ => Err(AppError::MethodNotAllowed(&[
                    Method::GET,
                    Method::HEAD,
                    Method::POST,
                ])),
            }
        }
        ["account", "password"] => {
            record::route("/account/password");
            request.expect_method(POST)?;
            profile_forms::password_from_form(request)
        }
        ["account", "email", rest @ ..] => email_route(request, rest),
        ["notices"] => {
            record::route("/notices");
            request.expect_method(READ_ONLY)?;
            trade_pages::notices_page(request)
        }
        ["notices", "seen"] => {
            record::route("/notices/seen");
            request.expect_method(POST)?;
            trade_pages::mark_all_seen(request)
        }
        _ => Err(AppError::NotFound),
    }
}

const GET_AND_POST: &[Method] = &[Method::GET, Method::HEAD, Method::POST];

/// `/account/email/...`: a person's address and notice settings, the verification and
/// reset links, and one-click unsubscribe.
fn email_route(request: &Request, rest: &[&str]) -> Result<Response, AppError> {
    let read_only = matches!(request.method, Method::GET | Method::HEAD);
    match rest {
        [] => {
            record::route("/account/email");
            request.expect_method(READ_ONLY)?;
            email_pages::email_page(request)
        }
        ["resend"] => {
            record::route("/account/email/resend");
            request.expect_method(POST)?;
            email_pages::resend_from_form(request)
        }
        ["notices"] => {
            record::route("/account/email/notices");
            request.expect_method(POST)?;
            email_pages::notices_from_form(request)
        }
        ["verify"] => {
            record::route("/account/email/verify");
            request.expect_method(READ_ONLY)?;
            email_pages::verify_page(request)
        }
        ["forgot"] => {
            record::route("/account/email/forgot");
            request.expect_method(GET_AND_POST)?;
            if read_only {
                email_pages::forgot_page(request)
            } else {
                email_pages::forgot_from_form(request)
            }
        }
        ["reset"] => {
            record::route("/account/email/reset");
            request.expect_method(GET_AND_POST)?;
            if read_only {
                email_pages::reset_page(request)
            } else {
                email_pages::reset_from_form(request)
            }
        }
        ["unsubscribe"] => {
            record::route("/account/email/unsubscribe");
            request.expect_method(GET_AND_POST)?;
            if read_only {
                email_pages::unsubscribe_page(request)
            } else {
                email_pages::unsubscribe(request)
            }
        }
        _ => Err(AppError::NotFound),
    }
}

fn api_route(request: &Request, segments: &[&str]) -> Result<Response, AppError> {
    match segments {
        ["items", item, "conversations"] => {
            let item = id(item).ok_or(AppError::NotFound)?;
            record::route("/api/items/{id}/conversations");
            request.expect_method(POST)?;
            trade_api::ask(request, item)
        }
        ["conversations"] => {
            record::route("/api/conversations");
            request.expect_method(READ_ONLY)?;
            trade_api::inbox(request)
        }
        ["conversations", conversation] => {
            let conversation = id(conversation).ok_or(AppError::NotFound)?;
            record::route("/api/conversations/{id}");
            request.expect_method(READ_ONLY)?;
            trade_api::conversation(request, conversation)
        }
        ["conversations", conversation, "messages"] => {
            let conversation = id(conversation).ok_or(AppError::NotFound)?;
            record::route("/api/conversations/{id}/messages");
            request.expect_method(POST)?;
            trade_api::reply(request, conversation)
        }
        ["orders"] => {
            record::route("/api/orders");
            request.expect_method(READ_ONLY)?;
            trade_api::orders(request)
        }
        ["orders", order] => {
            let order = id(order).ok_or(AppError::NotFound)?;
            record::route("/api/orders/{id}");
            request.expect_method(READ_ONLY)?;
            trade_api::order(request, order)
        }
        ["orders", order, "review"] => {
            let order = id(order).ok_or(AppError::NotFound)?;
            record::route("/api/orders/{id}/review");
            request.expect_method(POST)?;
            trade_api::review(request, order)
        }
        ["orders", order, action] => {
            let order = id(order).ok_or(AppError::NotFound)?;
            let action = Action::parse(action).ok_or(AppError::NotFound)?;
            record::route("/api/orders/{id}/{action}");
            request.expect_method(POST)?;
            trade_api::act(request, order, action)
        }
        ["people", person] => {
            let person = id(person).ok_or(AppError::NotFound)?;
            record::route("/api/people/{id}");
            request.expect_method(READ_ONLY)?;
            trade_api::person(request, person)
        }
        _ => Err(AppError::NotFound),
    }
}
