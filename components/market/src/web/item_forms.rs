//! The item resource for people: its page `GET /items/{id}` and the forms
//! `POST /items` (sell) and `POST /items/{id}/buy`, each answered with a redirect to the
//! page the form came from (303) or that page again with the reason (422, 409, 404).

use crate::domain::error::AppError;
use crate::domain::item::{FieldErrors, ItemId, field};
use crate::domain::listing::Listing;
use crate::use_cases::{buy::buy, sell::sell};
use crate::web::cookies::{CsrfToken, Notice};
use crate::web::form::{BuyForm, BuyFormPage, FormGuards, SellForm};
use crate::web::http::{Request, Response, StatusCode};
use crate::web::pages::{self, FormState, VisitorCookies};

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

/// `GET /items/{id}`: the item's own page, with the visitor's notice.
pub fn item_page(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let visitor = VisitorCookies::read(request)?;
    let mut response = pages::render_item(
        StatusCode::OK,
        id,
        &visitor.csrf_token,
        visitor.notice,
        None,
    )?;
    visitor.write(&mut response);
    Ok(response)
}

/// Checks a form post's content type and CSRF token, then parses it.
fn read_form<F>(
    request: &Request,
    parse: fn(&[u8]) -> F,
    guards: fn(&F) -> &FormGuards,
) -> Result<(F, CsrfToken), AppError> {
    let body = request.body_bytes()?;
    if !request.has_content_type(FORM_MEDIA_TYPE) {
        return Err(AppError::UnsupportedMediaType(FORM_MEDIA_TYPE));
    }
    let form = parse(body);
    let token = CsrfToken::verify(request, guards(&form).csrf_token.as_deref())?;
    Ok((form, token))
}

/// `POST /items`: store a valid item and redirect home (303), or hand the form back (422).
pub fn sell_from_form(request: &Request) -> Result<Response, AppError> {
    let (form, token) = read_form(request, SellForm::parse, |form| &form.guards)?;
    match form.validate() {
        Ok(new_item) => {
            let item = sell(&new_item, form.guards.idempotency_key.as_ref())?;
            Ok(pages::redirect_with("/", Notice::Listed(item.id())))
        }
        Err(errors) => pages::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &Listing::default(),
            None,
            FormState {
                form: &form,
                errors: &errors,
                ..FormState::fresh(&token)
            },
        ),
    }
}

/// `POST /items/{id}/buy`: take the stock and redirect back to the page the form was on,
/// the item's page or a page of the listing (303), or show that page again with the
/// reason beside the item (422 for a bad quantity, 409 for too little stock, 404 for an
/// unknown item).
pub fn buy_from_form(request: &Request, id: ItemId) -> Result<Response, AppError> {
    let (form, token) = read_form(request, BuyForm::parse, |form| &form.guards)?;
    let purchase = form
        .validate()
        .map_err(|message| AppError::Invalid(FieldErrors::single(field::QUANTITY, message)))
        .and_then(|quantity| buy(id, quantity, form.guards.idempotency_key.as_ref()));
    let error = match purchase {
        Ok(purchase) => {
            let notice = Notice::Bought {
                item: id,
                quantity: purchase.quantity,
            };
            return Ok(match &form.page {
                BuyFormPage::Item => pages::redirect_with(&format!("/items/{id}"), notice),
                BuyFormPage::Listing(listing, before) => {
                    pages::redirect_with(&listing.page_path(*before), notice)
                }
            });
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
        BuyFormPage::Item => pages::render_item(error.status(), id, &token, None, Some(&message)),
        BuyFormPage::Listing(listing, before) => pages::render(
            error.status(),
            listing,
            *before,
            FormState {
                buy_error: Some((id, &message)),
                ..FormState::fresh(&token)
            },
        ),
    }
}
