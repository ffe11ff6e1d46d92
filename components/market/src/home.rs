//! The home page as both the pages and the items component serve it: the listing
//! around the sell form (fresh, or handed back with mistakes marked).

use crate::cache;
use crate::cookies::{self, CsrfToken, Notice};
use crate::error::AppError;
use crate::form::SellForm;
use crate::http::{self, Response, StatusCode};
use crate::item::{FieldErrors, ItemId};
use crate::views::{self, HomeView};

/// Items per page on the home page.
pub const PAGE_SIZE: u32 = 50;

/// The address of a page of the listing: the newest items, or those older than `before`.
pub fn page_path(before: Option<ItemId>) -> String {
    before.map_or_else(|| "/".to_owned(), |before| format!("/?before={before}"))
}

/// The visitor's form state, to render around the listing.
pub struct FormState<'a> {
    pub form: &'a SellForm,
    pub errors: &'a FieldErrors,
    pub csrf_token: &'a CsrfToken,
    pub notice: Option<Notice>,
    /// A purchase that failed, and why, to show on its item.
    pub buy_error: Option<(ItemId, &'a str)>,
}

impl<'a> FormState<'a> {
    /// An empty sell form, nothing to report.
    pub fn fresh(csrf_token: &'a CsrfToken) -> Self {
        static EMPTY_FORM: SellForm = SellForm {
            name: String::new(),
            quantity: String::new(),
            description: String::new(),
            guards: crate::form::FormGuards {
                csrf_token: None,
                idempotency_key: None,
            },
        };
        static NO_ERRORS: FieldErrors = FieldErrors::new();
        Self {
            form: &EMPTY_FORM,
            errors: &NO_ERRORS,
            csrf_token,
            notice: None,
            buy_error: None,
        }
    }
}

/// Loads a page of the listing and renders the home page around the form, with a fresh
/// one-time key for its forms.
pub fn render(
    status: StatusCode,
    before: Option<ItemId>,
    state: FormState,
) -> Result<Response, AppError> {
    let page = cache::list_items_before(before, PAGE_SIZE)?;
    let idempotency_key = cookies::random_token()?;
    Ok(http::html(
        status,
        views::home(&HomeView {
            page: &page,
            before,
            form: state.form,
            errors: state.errors,
            csrf_token: state.csrf_token.as_str(),
            idempotency_key: &idempotency_key,
            notice: state.notice,
            buy_error: state.buy_error,
        }),
    ))
}
