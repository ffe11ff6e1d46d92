//! The pages and forms of trading between people (the trading component routes here):
//! orders (`/orders`, `/orders/{id}` and its ship, receive, cancel and review forms),
//! conversations (`/conversations`, `/conversations/{id}`, its messages, and the question
//! from an item's page, `/items/{id}/ask`), public profiles (`/people/{id}`) and notices
//! (`/notices`). Each handler reads the visitor, calls `use_cases::trade` and renders or
//! redirects: a form that worked goes back to its page (303); one refused (409, 422,
//! 429) shows that page again with why; an order or conversation that is not the
//! viewer's is not found (404). Every page but a profile needs a signed-in person.

use crate::domain::account::Person;
use crate::domain::error::AppError;
use crate::domain::item::{FieldErrors, ItemId};
use crate::domain::order::{Action, Party};
use crate::storage::config;
use crate::use_cases::trade;
use crate::web::conversation_views::{self, AskProblem, ConversationView};
use crate::web::csrf::CsrfToken;
use crate::web::form::PostedForm;
use crate::web::http::{self, Request, Response, StatusCode, header};
use crate::web::item_forms::read_form;
use crate::web::order_views::{
    self, NOTE_FIELD, OrderForm, OrderView, OrdersView, RATING_FIELD, Thread,
};
use crate::web::pages::{self, PageVisitor};
use crate::web::sharing;
use crate::web::trade_views::{
    self, BEFORE_PARAM, NOTICES, ProfileView, ROLE_PARAM, Refused, TEXT_FIELD, conversation_path,
    order_path,
};

/// The signed-in person and their forms' token; a visitor without a session is sent to
/// sign in and come back to `path`.
fn signed_in(visitor: &PageVisitor, path: &str) -> Result<(Person, CsrfToken), AppError> {
    visitor
        .signed_in
        .clone()
        .ok_or_else(|| AppError::SignInRequired(path.to_owned()))
}

/// The `?before=` cursor of an older page (messages, reviews): a positive id.
fn before(request: &Request) -> Result<Option<i64>, AppError> {
    request
        .query_param(BEFORE_PARAM)
        .map(|text| {
            ItemId::parse(&text)
                .map(ItemId::get)
                .ok_or_else(|| AppError::BadRequest("This page does not exist.".into()))
        })
        .transpose()
}

/// Why a form was refused, to show on its page again: its status, the sentence, and
/// the mistakes by field. Anything else (404, 403, 503...) is not a refusal of the form:
/// it is returned as the error.
fn refusal(error: AppError) -> Result<(StatusCode, String, FieldErrors), AppError> {
    match error {
        AppError::Invalid(errors) => {
            let message = {
                let mut messages = errors.iter();
                match (messages.next(), messages.next()) {
                    (Some((_, only)), None) => only.to_owned(),
                    _ => "Please correct the fields marked below.".to_owned(),
                }
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, message, errors))
        }
        refused @ (AppError::Conflict(_) | AppError::TooManyMessages(_)) => Ok((
            refused.status(),
            refused.public_message(),
            FieldErrors::default(),
        )),
        other => Err(other),
    }
}

/// A page shown again for a refused form; one refused for sending too fast says when
/// to try again, as the error's own answer would.
fn refused_page(mut response: Response) -> Response {
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, 60.into());
    }
    response
}

// ---- Orders ----

/// `GET /orders?role=buyer|seller`: the viewer's purchases (the default) or sales, those
/// to ship first; another role is a 400 naming the two.
pub fn orders_page(request: &Request) -> Result<Response, AppError> {
    let party = match request.query_param(ROLE_PARAM) {
        None => Party::Buyer,
        Some(role) => Party::parse(&role)
            .ok_or_else(|| AppError::BadRequest("role must be buyer or seller.".to_owned()))?,
    };
    let visitor = PageVisitor::read(request)?;
    let (person, token) = signed_in(&visitor, &trade_views::orders_path(party))?;
    let orders = trade::orders_of(&person, party)?;
    let mut response = http::html(
        StatusCode::OK,
        order_views::orders_page(&OrdersView {
            party,
            orders: &orders,
            currency: &config::currency()?,
            header: pages::header(Some(&person), Some(&token))?,
        }),
    );
    visitor.write(&mut response);
    Ok(response)
}

/// `GET /orders/{id}`: the order as its party sees it (404 for anyone else).
pub fn order_page(request: &Request, id: i64) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let (person, token) = signed_in(&visitor, &order_path(id))?;
    let mut response = render_order(StatusCode::OK, &person, &token, id, None)?;
    visitor.write(&mut response);
    Ok(response)
}

/// An order's page: reading it marks its notices seen, its messages read, before the
/// header counts what is left.
fn render_order(
    status: StatusCode,
    person: &Person,
    token: &CsrfToken,
    id: i64,
    refused: Option<(OrderForm, Refused)>,
) -> Result<Response, AppError> {
    let order = trade::order(person, id)?;
    let viewer = order.party(person.id.get()).ok_or(AppError::NotFound)?;
    let reviews = trade::reviews_of_order(person, id)?;
    let conversation = trade::conversation_of_order(&order)?
        .map(|conversation| trade::conversation(person, conversation, None))
        .transpose()?;
    let thread = match &conversation {
        Some((conversation, page)) => Thread::Started(conversation, page),
        None => Thread::NotStarted,
    };
    let page = order_views::order_page(&OrderView {
        order: &order,
        viewer,
        currency: &config::currency()?,
        reviews: &reviews,
        thread,
        csrf_token: token.as_str(),
        header: pages::header(Some(person), Some(token))?,
        refused,
    });
    Ok(refused_page(http::html(status, page)))
}

/// `POST /orders/{id}/ship|receive|cancel` (`note` for ship): take the action and go
/// back to the order (303, also when it already was so), or show the order again with
/// why not (409 for its state, 422 for a note too long).
pub fn order_action(request: &Request, id: i64, action: Action) -> Result<Response, AppError> {
    let (form, person, token) = read_form(
        request,
        PostedForm::parse,
        |form| &form.guards,
        |_| order_path(id),
    )?;
    let done = trade::act(&person, id, action, form.value(NOTE_FIELD));
    match done {
        Ok(_) => Ok(http::see_other(&order_path(id))),
        Err(error) => order_again(error, &form, &person, &token, id, OrderForm::Action),
    }
}

/// The order page again after `which` form was refused, with why and what was typed.
fn order_again(
    error: AppError,
    form: &PostedForm,
    person: &Person,
    token: &CsrfToken,
    id: i64,
    which: OrderForm,
) -> Result<Response, AppError> {
    let (status, message, errors) = refusal(error)?;
    let refused = Refused {
        message: &message,
        errors: &errors,
        form,
    };
    render_order(status, person, token, id, Some((which, refused)))
}

/// `POST /orders/{id}/review` (`rating` 1–5, `text`): publish the viewer's review and go
/// back to the order (303), or show it again with the mistakes beside the fields (422)
/// or why not (409: not received, or already reviewed).
pub fn review_from_form(request: &Request, id: i64) -> Result<Response, AppError> {
    let (form, person, token) = read_form(
        request,
        PostedForm::parse,
        |form| &form.guards,
        |_| order_path(id),
    )?;
    // A rating that is not a number is out of range: the rule's own message says so.
    let rating = form.value(RATING_FIELD).trim().parse::<i64>().unwrap_or(0);
    match trade::write_review(&person, id, rating, form.value(TEXT_FIELD)) {
        Ok(_) => Ok(http::see_other(&order_path(id))),
        Err(error) => order_again(error, &form, &person, &token, id, OrderForm::Review),
    }
}

// ---- Conversations ----

/// `GET /conversations`: the viewer's conversations, newest activity first.
pub fn inbox_page(request: &Request) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let (person, token) = signed_in(&visitor, trade_views::INBOX)?;
    let conversations = trade::inbox(&person)?;
    let header = pages::header(Some(&person), Some(&token))?;
    let mut response = http::html(
        StatusCode::OK,
        conversation_views::inbox_page(&conversations, person.id.get(), &header),
    );
    visitor.write(&mut response);
    Ok(response)
}

/// `GET /conversations/{id}?before=`: its newest messages (or those before a message),
/// and the reply form; 404 unless one of its two people.
pub fn conversation_page(request: &Request, id: i64) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let (person, token) = signed_in(&visitor, &conversation_path(id))?;
    let before = before(request)?;
    let mut response = render_conversation(StatusCode::OK, &person, &token, id, before, None)?;
    visitor.write(&mut response);
    Ok(response)
}

/// A conversation's page; reading its newest messages marks them read before the
/// header counts what is left.
fn render_conversation(
    status: StatusCode,
    person: &Person,
    token: &CsrfToken,
    id: i64,
    before: Option<i64>,
    refused: Option<Refused>,
) -> Result<Response, AppError> {
    let (conversation, page) = trade::conversation(person, id, before)?;
    let view = ConversationView {
        conversation: &conversation,
        page: &page,
        viewer: person.id.get(),
        older: before.is_some(),
        csrf_token: token.as_str(),
        header: pages::header(Some(person), Some(token))?,
        refused,
    };
    Ok(refused_page(http::html(
        status,
        conversation_views::conversation_page(&view),
    )))
}

/// `POST /conversations/{id}/messages` (`text`): add the message and go to it (303 to
/// `#latest`), or show the conversation again with why not (422, 429), the text kept.
pub fn reply_from_form(request: &Request, id: i64) -> Result<Response, AppError> {
    let (form, person, token) = read_form(
        request,
        PostedForm::parse,
        |form| &form.guards,
        |_| conversation_path(id),
    )?;
    match trade::reply(&person, id, form.value(TEXT_FIELD)) {
        Ok(_) => Ok(http::see_other(&format!(
            "{}#latest",
            conversation_path(id)
        ))),
        Err(error) => {
            let (status, message, errors) = refusal(error)?;
            let refused = Refused {
                message: &message,
                errors: &errors,
                form: &form,
            };
            render_conversation(status, &person, &token, id, None, Some(refused))
        }
    }
}

/// `POST /items/{item}/ask` (`text`): write to the item's seller, starting the viewer's
/// conversation about it or adding to it, and go there (303); or show the item's page
/// again with why not (409 for one's own listing, 422, 429), the text kept; 404 for an
/// unknown item.
pub fn ask_from_form(request: &Request, item: i64) -> Result<Response, AppError> {
    let (form, person, token) = read_form(
        request,
        PostedForm::parse,
        |form| &form.guards,
        |_| trade_views::item_path(item),
    )?;
    match trade::ask(&person, item, form.value(TEXT_FIELD)) {
        Ok((conversation, _)) => Ok(http::see_other(&conversation_path(conversation.id))),
        Err(error) => {
            let (status, message, _) = refusal(error)?;
            let id = ItemId::parse(&item.to_string()).ok_or(AppError::NotFound)?;
            let problem = AskProblem {
                message: &message,
                typed: form.value(TEXT_FIELD),
            };
            let response = pages::render_item_asking(status, id, &token, &person, problem)?;
            Ok(refused_page(response))
        }
    }
}

// ---- Profiles and notices ----

/// `GET /people/{id}?before=`: a person's public profile, the same for every visitor but
/// for the header (so an anonymous visitor's copy may be shared).
pub fn profile_page(request: &Request, id: i64) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let before = before(request)?;
    let (profile, reviews, for_sale) = trade::profile(id, before)?;
    let view = ProfileView {
        profile: &profile,
        reviews: &reviews,
        older: before.is_some(),
        for_sale: &for_sale,
        currency: &config::currency()?,
        header: pages::header(visitor.person(), visitor.csrf_token())?,
    };
    let mut response = http::html(StatusCode::OK, trade_views::profile_page(&view));
    visitor.write(&mut response);
    Ok(sharing::share_if_anonymous(request, response))
}

/// `GET /notices`: the viewer's unseen notices, newest first.
pub fn notices_page(request: &Request) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let (person, token) = signed_in(&visitor, NOTICES)?;
    let notices = trade::unseen_notices(&person)?;
    let header = pages::header(Some(&person), Some(&token))?;
    let mut response = http::html(
        StatusCode::OK,
        trade_views::notices_page(&notices, token.as_str(), &header),
    );
    visitor.write(&mut response);
    Ok(response)
}

/// `POST /notices/seen`: mark every notice of the viewer seen, and back (303).
pub fn mark_all_seen(request: &Request) -> Result<Response, AppError> {
    let (_, person, _) = read_form(
        request,
        PostedForm::parse,
        |form| &form.guards,
        |_| NOTICES.to_owned(),
    )?;
    trade::mark_all_seen(&person)?;
    Ok(http::see_other(NOTICES))
}
