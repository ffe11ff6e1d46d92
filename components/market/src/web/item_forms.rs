//! The item resource for people: its page `GET /items/{id}`, the forms `POST /items`
//! (sell) and `POST /items/{id}/buy`, and its seller's `GET`/`POST /items/{id}/edit` and
//! `POST /items/{id}/withdraw`. Each form is answered with a redirect to the page it
//! came from (303), or that page again with the reason (422, 409, 404); a visitor who
//! is not signed in is sent to sign in first.

use crate::domain::account::{Person, Writer};
use crate::domain::error::AppError;
use crate::domain::item::{FieldErrors, ItemId, field};
use crate::domain::listing::Listing;
use crate::storage::{config, db};
use crate::use_cases::buy::{BuyRequest, buy};
use crate::use_cases::{listing, sell::sell};
use crate::web::account_views::{self, EditView};
use crate::web::cookies::Notice;
use crate::web::csrf::{self, CsrfToken};
use crate::web::form::{BuyForm, BuyFormPage, FormGuards, PostedForm, SellForm};
use crate::web::http::{self, Request, Response, StatusCode};
use crate::web::pages::{self, FormState, PageVisitor};
use crate::web::sharing;

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

fn item_path(id: ItemId) -> String {
    format!("/items/{id}")
}

/// `GET /items/{id}`: the item's own page, with the visitor's notice, and its seller's
/// controls for its seller; shared by nginx when the visitor is anonymous.
pub fn item_page(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let mut response = pages::render_item(
        StatusCode::OK,
        id,
        visitor.csrf_token(),
        visitor.notice,
        None,
        visitor.person(),
    )?;
    visitor.write(&mut response);
    Ok(sharing::share_if_anonymous(request, response))
}

/// Checks a form post's content type, then parses it.
pub fn parse_form<F>(request: &Request, parse: fn(&[u8]) -> F) -> Result<F, AppError> {
    let body = request.body_bytes()?;
    if !request.has_content_type(FORM_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(FORM_MEDIA_TYPE));
    }
    Ok(parse(body))
}

/// Reads a form a signed-in person posted: its content type, then its CSRF token
/// against their session; a visitor without one is sent to sign in and come back to
/// `next` (of the form).
pub fn read_form<F>(
    request: &Request,
    parse: fn(&[u8]) -> F,
    guards: fn(&F) -> &FormGuards,
    next: impl FnOnce(&F) -> String,
) -> Result<(F, Person, CsrfToken), AppError> {
    let form = parse_form(request, parse)?;
    let (person, token) =
        csrf::form_poster(request, guards(&form).csrf_token.as_deref(), &next(&form))?;
    Ok((form, person, token))
}

/// `POST /items`: store a valid item as the signed-in person's and redirect home (303),
/// or hand the form back (422).
pub fn sell_from_form(request: &Request) -> Result<Response, AppError> {
    let (form, seller, token) = read_form(
        request,
        SellForm::parse,
        |form| &form.guards,
        |_| "/".to_owned(),
    )?;
    match form.validate() {
        Ok(new_item) => {
            let item = sell(
                Writer::Person(seller.id),
                &new_item,
                form.guards.idempotency_key.as_ref(),
            )?;
            Ok(pages::redirect_with("/", Notice::Listed(item.id())))
        }
        Err(errors) => pages::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &Listing::default(),
            None,
            FormState {
                form: &form,
                errors: &errors,
                ..FormState::fresh(Some(&token))
            },
            Some(&seller),
        ),
    }
}

/// `POST /items/{id}/buy`: take the stock at the price the page showed and redirect back
/// to the page the form was on, the item's page or a page of the listing (303), or show
/// that page again with the reason beside the item (422 for a bad quantity, 409 for too
/// little stock, a changed price or a withdrawn item, 404 for an unknown item).
pub fn buy_from_form(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let back_to = |form: &BuyForm| match &form.page {
        BuyFormPage::Item => item_path(id),
        BuyFormPage::Listing(listing, before) => listing.page_path(*before),
    };
    let (form, buyer, token) = read_form(request, BuyForm::parse, |form| &form.guards, back_to)?;
    let back = back_to(&form);
    let currency = config::currency()?;
    let purchase = form
        .validate()
        .map_err(|message| AppError::Invalid(FieldErrors::single(field::QUANTITY, message)))
        .and_then(|quantity| {
            let request = BuyRequest {
                buyer: Writer::Person(buyer.id),
                item: id,
                quantity,
                expected_price: form.shown_price()?,
                key: form.guards.idempotency_key.as_ref(),
            };
            buy(&request, &currency)
        });
    let error = match purchase {
        Ok(purchase) => {
            let notice = Notice::Bought {
                item: id,
                quantity: purchase.quantity,
            };
            return Ok(pages::redirect_with(&back, notice));
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
        BuyFormPage::Item => pages::render_item(
            error.status(),
            id,
            Some(&token),
            None,
            Some(&message),
            Some(&buyer),
        ),
        BuyFormPage::Listing(listing, before) => pages::render(
            error.status(),
            listing,
            *before,
            FormState {
                buy_error: Some((id, &message)),
                ..FormState::fresh(Some(&token))
            },
            Some(&buyer),
        ),
    }
}

/// `GET /items/{id}/edit`: the seller's form to change the listing, filled in with what
/// it says now. Anyone else's listing is not found.
pub fn edit_page(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let visitor = PageVisitor::read(request)?;
    let Some((seller, token)) = &visitor.signed_in else {
        return Err(AppError::SignInRequired(format!("/items/{id}/edit")));
    };
    let item = db::find_item(&*db::open()?, id)?
        .filter(|item| seller.sells(item))
        .ok_or(AppError::NotFound)?;
    let form = PostedForm::from_item(&item);
    let mut response = render_edit(
        StatusCode::OK,
        &item,
        &form,
        &FieldErrors::default(),
        token,
        seller,
        None,
    )?;
    visitor.write(&mut response);
    Ok(response)
}

/// `POST /items/{id}/edit`: save the changes and go back to the item's page (303), or
/// hand the form back with the mistakes marked (422).
pub fn edit_from_form(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let (form, seller, token) = read_form(
        request,
        PostedForm::parse,
        |form| &form.guards,
        |_| format!("/items/{id}/edit"),
    )?;
    match form.item_changes() {
        Ok(changes) => {
            listing::change(&seller, id, &changes)?;
            Ok(pages::redirect_with(&item_path(id), Notice::Changed(id)))
        }
        Err(errors) => {
            let item = db::find_item(&*db::open()?, id)?
                .filter(|item| seller.sells(item))
                .ok_or(AppError::NotFound)?;
            render_edit(
                StatusCode::UNPROCESSABLE_ENTITY,
                &item,
                &form,
                &errors,
                &token,
                &seller,
                None,
            )
        }
    }
}

/// The edit page of `item` with `form` and its `errors`, and why the last photo change
/// was refused (`photo_problem`).
pub fn render_edit(
    status: StatusCode,
    item: &crate::domain::item::Item,
    form: &PostedForm,
    errors: &FieldErrors,
    token: &CsrfToken,
    seller: &crate::domain::account::Person,
    photo_problem: Option<&str>,
) -> Result<Response, AppError> {
    Ok(http::html(
        status,
        account_views::edit_item_page(&EditView {
            item,
            form,
            errors,
            currency: &config::currency()?,
            csrf_token: token.as_str(),
            header: pages::header(Some(seller), Some(token))?,
            photo_problem,
        }),
    ))
}

/// `POST /items/{id}/withdraw`: take the listing off sale and go back to its page (303).
pub fn withdraw_from_form(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let (_, seller, _) = read_form(
        request,
        PostedForm::parse,
        |form| &form.guards,
        |_| item_path(id),
    )?;
    listing::withdraw(&seller, id)?;
    Ok(pages::redirect_with(&item_path(id), Notice::Withdrawn(id)))
}
