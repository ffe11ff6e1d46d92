//! The home page as both the pages and the items component serve it: the listing
//! around the sell form (fresh, or handed back with mistakes marked).

use crate::cookies::CsrfToken;
use crate::db;
use crate::error::AppError;
use crate::form::SellForm;
use crate::http::{self, Response, StatusCode};
use crate::item::{FieldErrors, ItemId};
use crate::views::{self, HomeView};

/// Items per page on the home page.
pub const PAGE_SIZE: u32 = 50;

/// The visitor's form state, to render around the listing.
pub struct FormState<'a> {
    pub form: &'a SellForm,
    pub errors: &'a FieldErrors,
    pub csrf_token: &'a CsrfToken,
    pub listed: Option<ItemId>,
}

/// Loads a page of the listing and renders the home page around the form.
pub fn render(
    status: StatusCode,
    before: Option<ItemId>,
    state: FormState,
) -> Result<Response, AppError> {
    let db = db::open()?;
    let page = db::list_items_before(&db, before, PAGE_SIZE)?;
    Ok(http::html(
        status,
        views::home(&HomeView {
            page: &page,
            older: before.is_some(),
            form: state.form,
            errors: state.errors,
            csrf_token: state.csrf_token.as_str(),
            listed: state.listed,
        }),
    ))
}
