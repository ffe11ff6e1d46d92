//! The JSON API of trading: conversations (`POST /api/items/{id}/conversations`,
//! `GET /api/conversations`, `GET /api/conversations/{id}`,
//! `POST /api/conversations/{id}/messages`), orders (`GET /api/orders?role=`,
//! `GET /api/orders/{id}`, `POST /api/orders/{id}/{ship,receive,cancel}`,
//! `POST /api/orders/{id}/review`) with a personal access token, and public profiles
//! (`GET /api/people/{id}`).

use serde_json::{Map, Value, json};

use crate::domain::account::Person;
use crate::domain::conversation::{Conversation, Message};
use crate::domain::error::AppError;
use crate::domain::item::{Currency, Price};
use crate::domain::order::{Action, Order, Party};
use crate::domain::review::Review;
use crate::storage::config;
use crate::storage::db::OwnPage;
use crate::use_cases::trade;
use crate::web::http::{self, Request, Response, StatusCode};
use crate::web::{api, session, sharing};

const JSON_MEDIA_TYPE: &str = "application/json";

/// The JSON object of a body (an empty body is an empty object when `empty_ok`): 415
/// when not JSON, 400 when not an object or with a field not in `fields`.
fn object(
    request: &Request,
    fields: &[&str],
    empty_ok: bool,
) -> Result<Map<String, Value>, AppError> {
    let body = request.body_bytes()?;
    if body.is_empty() && empty_ok {
        return Ok(Map::new());
    }
    if !request.has_content_type(JSON_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(JSON_MEDIA_TYPE));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| AppError::BadRequest("The body is not valid JSON.".into()))?;
    let Value::Object(object) = value else {
        return Err(AppError::BadRequest(
            "The body must be a JSON object.".into(),
        ));
    };
    if let Some(unknown) = object.keys().find(|key| !fields.contains(&key.as_str())) {
        return Err(AppError::BadRequest(format!(
            "Unknown field \"{unknown}\": the fields are {}.",
            fields.join(", ")
        )));
    }
    Ok(object)
}

/// A string field (`required`: present), or 400 naming it.
fn text_field(object: &Map<String, Value>, name: &str, required: bool) -> Result<String, AppError> {
    match object.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        None | Some(Value::Null) if !required => Ok(String::new()),
        None | Some(Value::Null) => Err(AppError::BadRequest(format!(
            "\"{name}\" is required: a string."
        ))),
        Some(_) => Err(AppError::BadRequest(format!(
            "\"{name}\" must be a string."
        ))),
    }
}

fn conversation_json(conversation: &Conversation) -> Value {
    json!({
        "id": conversation.id,
        "item": { "id": conversation.item_id, "name": conversation.item_name },
        "asker": { "id": conversation.asker_id, "display_name": conversation.asker_name },
        "seller": { "id": conversation.seller_id, "display_name": conversation.seller_name },
        "last_message_at": conversation.last_message_at,
        "unread": conversation.unread,
    })
}

fn message_json(message: &Message) -> Value {
    json!({
        "id": message.id,
        "author": { "id": message.author_id, "display_name": message.author_name },
        "text": message.text,
        "sent_at": message.sent_at,
    })
}

fn with_messages(conversation: &Conversation, page: &OwnPage<Message>) -> Value {
    let mut value = conversation_json(conversation);
    value["messages"] = page.entries.iter().map(message_json).collect();
    value["next"] = json!(page.next);
    value
}

fn amount(cents: Option<i64>) -> Value {
    cents
        .and_then(|cents| Price::from_cents(cents).ok())
        .map_or(Value::Null, |price| Value::String(price.amount()))
}

pub fn order_json(order: &Order, currency: &Currency) -> Value {
    json!({
        "id": order.id,
        "item": { "id": order.item_id, "name": order.item_name },
        "quantity": order.quantity,
        "price": { "amount": amount(order.price_cents), "currency": currency.code() },
        "total": {
            "amount": amount(order.price_cents.map(|cents| cents * i64::from(order.quantity))),
            "currency": currency.code()
        },
        "buyer": { "id": order.buyer_id, "display_name": order.buyer_name },
        "seller": { "id": order.seller_id, "display_name": order.seller_name },
        "state": order.state,
        "placed_at": order.placed_at,
        "shipped_at": order.shipped_at,
        "ship_note": order.ship_note,
        "received_at": order.received_at,
        "received_automatically": order.received_automatically,
        "cancelled_at": order.cancelled_at,
        "cancelled_by": order.cancelled_by,
    })
}

fn review_json(review: &Review) -> Value {
    json!({
        "id": review.id,
        "order_id": review.order_id,
        "author": { "id": review.author_id, "display_name": review.author_name },
        "subject_id": review.subject_id,
        "subject_role": review.subject_role,
        "rating": review.rating,
        "text": review.text,
        "written_at": review.written_at,
        "visible": review.visible,
    })
}

/// A numeric id query parameter (`before`), or 400 naming it.
fn id_param(request: &Request, name: &str) -> Result<Option<i64>, AppError> {
    request
        .query_param(name)
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| AppError::BadRequest(format!("\"{name}\" must be a positive id.")))
        })
        .transpose()
}

/// `POST /api/items/{id}/conversations` with `{"text"}`: 201 with the conversation it
/// started, or 200 when it added to the asker's own.
pub fn ask(request: &Request, item: i64) -> Result<Response, AppError> {
    let asker = session::token_holder(request)?;
    let text = text_field(&object(request, &["text"], false)?, "text", true)?;
    let (conversation, started) = trade::ask(&asker, item, &text)?;
    let (conversation, page) = trade::conversation(&asker, conversation.id, None)?;
    let status = if started {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(http::json(status, &with_messages(&conversation, &page)))
}

/// `GET /api/conversations`: the token holder's, newest activity first.
pub fn inbox(request: &Request) -> Result<Response, AppError> {
    let viewer = session::token_holder(request)?;
    let conversations: Vec<Value> = trade::inbox(&viewer)?
        .iter()
        .map(conversation_json)
        .collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({ "conversations": conversations }),
    ))
}

/// `GET /api/conversations/{id}?before=`: the conversation and a page of its messages,
/// oldest to newest (`next`: the cursor of older ones).
pub fn conversation(request: &Request, id: i64) -> Result<Response, AppError> {
    let viewer = session::token_holder(request)?;
    let before = id_param(request, "before")?;
    let (conversation, page) = trade::conversation(&viewer, id, before)?;
    Ok(http::json(
        StatusCode::OK,
        &with_messages(&conversation, &page),
    ))
}

/// `POST /api/conversations/{id}/messages` with `{"text"}`: 201 with the message.
pub fn reply(request: &Request, id: i64) -> Result<Response, AppError> {
    let author = session::token_holder(request)?;
    let text = text_field(&object(request, &["text"], false)?, "text", true)?;
    let message = trade::reply(&author, id, &text)?;
    let (_, page) = trade::conversation(&author, id, None)?;
    let written = page
        .entries
        .iter()
        .find(|entry| entry.id == message)
        .ok_or_else(|| AppError::Internal("a message just written is not on its page".into()))?;
    Ok(http::json(StatusCode::CREATED, &message_json(written)))
}

/// `GET /api/orders?role=buyer|seller`.
pub fn orders(request: &Request) -> Result<Response, AppError> {
    let viewer = session::token_holder(request)?;
    let party = role(request)?;
    let currency = config::currency()?;
    let orders: Vec<Value> = trade::orders_of(&viewer, party)?
        .iter()
        .map(|order| order_json(order, &currency))
        .collect();
    Ok(http::json(StatusCode::OK, &json!({ "orders": orders })))
}

/// The `role` query parameter: `buyer` (the default) or `seller`.
pub fn role(request: &Request) -> Result<Party, AppError> {
    match request.query_param("role") {
        None => Ok(Party::Buyer),
        Some(text) => Party::parse(&text)
            .ok_or_else(|| AppError::BadRequest("\"role\" is buyer or seller.".into())),
    }
}

fn order_with_reviews(viewer: &Person, order: &Order) -> Result<Value, AppError> {
    let mut value = order_json(order, &config::currency()?);
    value["reviews"] = trade::reviews_of_order(viewer, order.id)?
        .iter()
        .map(review_json)
        .collect();
    Ok(value)
}

/// `GET /api/orders/{id}`: for its buyer or seller, with the reviews they may see.
pub fn order(request: &Request, id: i64) -> Result<Response, AppError> {
    let viewer = session::token_holder(request)?;
    let order = trade::order(&viewer, id)?;
    Ok(http::json(
        StatusCode::OK,
        &order_with_reviews(&viewer, &order)?,
    ))
}

/// `POST /api/orders/{id}/{ship,receive,cancel}` (ship with an optional `{"note"}`):
/// 200 with the order.
pub fn act(request: &Request, id: i64, action: Action) -> Result<Response, AppError> {
    let actor = session::token_holder(request)?;
    let fields: &[&str] = if action == Action::Ship {
        &["note"]
    } else {
        &[]
    };
    let note = text_field(&object(request, fields, true)?, "note", false)?;
    let order = trade::act(&actor, id, action, &note)?;
    Ok(http::json(
        StatusCode::OK,
        &order_with_reviews(&actor, &order)?,
    ))
}

/// `POST /api/orders/{id}/review` with `{"rating", "text"}`: 201 with the review.
pub fn review(request: &Request, id: i64) -> Result<Response, AppError> {
    let author = session::token_holder(request)?;
    let object = object(request, &["rating", "text"], false)?;
    let rating = match object.get("rating") {
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| {
                number
                    .as_f64()
                    .filter(|f| f.fract() == 0.0)
                    .map(|f| f as i64)
            })
            .unwrap_or(0),
        Some(_) => return Err(AppError::BadRequest("\"rating\" must be a number.".into())),
        None => {
            return Err(AppError::BadRequest(
                "\"rating\" is required: 1 to 5.".into(),
            ));
        }
    };
    let text = text_field(&object, "text", false)?;
    let written = trade::write_review(&author, id, rating, &text)?;
    let review = trade::reviews_of_order(&author, id)?
        .into_iter()
        .find(|review| review.id == written)
        .ok_or_else(|| AppError::Internal("a review just written is not found".into()))?;
    Ok(http::json(StatusCode::CREATED, &review_json(&review)))
}

/// `GET /api/people/{id}?before=`: the public profile, a page of visible reviews and
/// what they sell. Open to anyone.
pub fn person(request: &Request, id: i64) -> Result<Response, AppError> {
    let before = id_param(request, "before")?;
    let (profile, reviews, for_sale) = trade::profile(id, before)?;
    let currency = config::currency()?;
    let body = json!({
        "id": profile.id,
        "display_name": profile.display_name,
        "joined_at": profile.joined_at,
        "as_seller": profile.as_seller,
        "as_buyer": profile.as_buyer,
        "reviews": reviews.entries.iter().map(review_json).collect::<Vec<_>>(),
        "next": reviews.next,
        "for_sale": for_sale.iter().map(|item| api::item_json(item, &currency)).collect::<Vec<_>>(),
    });
    Ok(sharing::share_if_anonymous(
        request,
        http::json(StatusCode::OK, &body),
    ))
}
