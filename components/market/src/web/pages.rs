//! The pages with forms, as both the pages and the items component serve them: the home
//! page (the listing around the sell form, fresh or handed back with mistakes marked)
//! and an item's own page.

use crate::domain::account::Person;
use crate::domain::error::AppError;
use crate::domain::item::{Currency, FieldErrors, Item, ItemId};
use crate::domain::listing::{Listing, PAGE_SIZE};
use crate::domain::token::random_token;
use crate::storage::cache;
use crate::storage::config;
use crate::storage::db;
use crate::use_cases::{account, trade};
use crate::web::conversation_views::AskProblem;
use crate::web::cookies::Notice;
use crate::web::csrf::CsrfToken;
use crate::web::form::SellForm;
use crate::web::http::{self, Request, Response, StatusCode};
use crate::web::item_views::{self, ItemView};
use crate::web::session;
use crate::web::views::{self, Header, HomeView, ListingView};
use crate::web::visitor_forms::{self, Forms, Visitor};

/// What a page knows of its visitor, from their cookies, and must hand back in its
/// response.
pub struct PageVisitor {
    /// Who is signed in on this browser, and the token of the forms shown to them.
    pub signed_in: Option<(Person, CsrfToken)>,
    /// The browser holds a session cookie that no longer stands for anyone.
    ended_session: bool,
    pub notice: Option<Notice>,
}

impl PageVisitor {
    /// The visitor's person (one statement at most, none without a session cookie) and
    /// pending notice.
    pub fn read(request: &Request) -> Result<Self, AppError> {
        let (signed_in, ended_session) = match session::session_id(request) {
            Some(session) => match account::person_for_session(&session)? {
                Some(person) => (Some((person, CsrfToken::for_session(&session))), false),
                None => (None, true),
            },
            None => (None, false),
        };
        Ok(Self {
            signed_in,
            ended_session,
            notice: Notice::from_request(request),
        })
    }

    pub fn person(&self) -> Option<&Person> {
        self.signed_in.as_ref().map(|(person, _)| person)
    }

    pub fn csrf_token(&self) -> Option<&CsrfToken> {
        self.signed_in.as_ref().map(|(_, token)| token)
    }

    /// Clears the notice once it was shown, and a session cookie that stands for no one
    /// (so the browser's next pages are anonymous ones again, which nginx shares).
    pub fn write(&self, response: &mut Response) {
        if self.notice.is_some() {
            http::set_cookie(response, &Notice::clear_cookie());
        }
        if self.ended_session {
            session::clear_session_cookie(response);
        }
    }
}

/// The visitor's form state, to render around the listing.
pub struct FormState<'a> {
    pub form: &'a SellForm,
    pub errors: &'a FieldErrors,
    /// The token of the visitor's forms: `None` for a visitor without a session, who is
    /// shown no form that writes.
    pub csrf_token: Option<&'a CsrfToken>,
    pub notice: Option<Notice>,
    /// A purchase that failed, and why, to show on its item.
    pub buy_error: Option<(ItemId, &'a str)>,
}

impl<'a> FormState<'a> {
    /// An empty sell form, nothing to report.
    pub fn fresh(csrf_token: Option<&'a CsrfToken>) -> Self {
        static EMPTY_FORM: SellForm = SellForm {
            name: String::new(),
            quantity: String::new(),
            price: String::new(),
            description: String::new(),
            guards: crate::web::form::FormGuards {
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

/// The home page's listing section of the first page of the default listing, rendered
/// once for everyone with placeholders for the visitor's tokens (or read back from the
/// cache), prices in `currency`.
fn cached_listing_section(currency: &Currency) -> Result<String, AppError> {
    cache::first_page(cache::View::HomePage, |page| {
        let placeholders = Visitor {
            forms: Forms::Everyone,
            notice: None,
            buy_error: None,
        };
        Ok(views::listing_section(&ListingView {
            page,
            listing: &Listing::default(),
            before: None,
            currency,
            visitor: &placeholders,
        })
        .into_string())
    })
}

/// The name of the item a notice is about: from the items at hand, else from Postgres
/// (a notice is shown once, so this costs a query only then).
fn notice_with_name(
    notice: Option<Notice>,
    at_hand: &[Item],
) -> Result<Option<(Notice, Option<String>)>, AppError> {
    let Some(notice) = notice else {
        return Ok(None);
    };
    let Some(id) = notice.item() else {
        return Ok(Some((notice, None)));
    };
    let name = match at_hand.iter().find(|item| item.id() == id) {
        Some(item) => Some(item.name.clone()),
        None => db::find_item(&*db::open()?, id)?.map(|item| item.name),
    };
    Ok(Some((notice, name)))
}

/// Renders the home page: a page of the listing around the form, with a fresh one-time
/// key for its forms. The plain first page comes from the cache, already rendered; any
/// other page (or one that must show a failed purchase on its item) is read and rendered
/// now.
pub fn render(
    status: StatusCode,
    listing: &Listing,
    before: Option<ItemId>,
    state: FormState,
    viewer: Option<&Person>,
) -> Result<Response, AppError> {
    let idempotency_key = match state.csrf_token {
        Some(_) => random_token()?,
        None => String::new(),
    };
    let currency = config::currency()?;
    let mut visitor = Visitor {
        forms: forms(state.csrf_token, &idempotency_key),
        notice: None,
        buy_error: state.buy_error,
    };
    let (listing_section, items, buy_error_elsewhere) =
        if cache::serves(listing, before, PAGE_SIZE) && state.buy_error.is_none() {
            (
                visitor_forms::with_visitor(&cached_listing_section(&currency)?, &visitor),
                Vec::new(),
                None,
            )
        } else {
            let page = cache::uncached_page(listing, before, PAGE_SIZE)?;
            let view = ListingView {
                page: &page,
                listing,
                before,
                currency: &currency,
                visitor: &visitor,
            };
            let elsewhere = state
                .buy_error
                .filter(|(id, _)| !view.shows(*id))
                .map(|(_, message)| message);
            (views::listing_section(&view), page.items, elsewhere)
        };
    let notice = notice_with_name(state.notice, &items)?;
    visitor.notice = notice.as_ref().map(|(n, name)| (*n, name.as_deref()));
    Ok(http::html(
        status,
        views::home(&HomeView {
            listing,
            listing_section,
            form: state.form,
            errors: state.errors,
            currency: &currency,
            visitor,
            header: header(viewer, state.csrf_token)?,
            buy_error_elsewhere,
        }),
    ))
}

/// An item's own page (404 for an unknown id), with the visitor's notice or the reason
/// their purchase failed.
pub fn render_item(
    status: StatusCode,
    id: ItemId,
    csrf_token: Option<&CsrfToken>,
    notice: Option<Notice>,
    buy_error: Option<&str>,
    viewer: Option<&Person>,
) -> Result<Response, AppError> {
    item_response(status, id, csrf_token, notice, buy_error, viewer, None)
}

/// An item's own page again for `asker`, whose question to its seller was refused: why
/// (`problem`), beside the question as they typed it.
pub fn render_item_asking(
    status: StatusCode,
    id: ItemId,
    csrf_token: &CsrfToken,
    asker: &Person,
    problem: AskProblem<'_>,
) -> Result<Response, AppError> {
    item_response(
        status,
        id,
        Some(csrf_token),
        None,
        None,
        Some(asker),
        Some(problem),
    )
}

fn item_response(
    status: StatusCode,
    id: ItemId,
    csrf_token: Option<&CsrfToken>,
    notice: Option<Notice>,
    buy_error: Option<&str>,
    viewer: Option<&Person>,
    ask_problem: Option<AskProblem<'_>>,
) -> Result<Response, AppError> {
    let item = db::find_item(&*db::open()?, id)?.ok_or(AppError::NotFound)?;
    let idempotency_key = match csrf_token {
        Some(_) => random_token()?,
        None => String::new(),
    };
    let notice = notice_with_name(notice, std::slice::from_ref(&item))?;
    Ok(http::html(
        status,
        item_views::item_page(&ItemView {
            item: &item,
            currency: &config::currency()?,
            visitor: Visitor {
                forms: forms(csrf_token, &idempotency_key),
                notice: notice.as_ref().map(|(n, name)| (*n, name.as_deref())),
                buy_error: buy_error.map(|message| (id, message)),
            },
            header: header(viewer, csrf_token)?,
            is_seller: viewer.is_some_and(|person| person.sells(&item)),
            ask_problem,
        }),
    ))
}

/// The forms a page shows: with the visitor's token and this rendering's one-time key,
/// or none (a visitor without a session).
fn forms<'a>(csrf_token: Option<&'a CsrfToken>, idempotency_key: &'a str) -> Forms<'a> {
    match csrf_token {
        Some(token) => Forms::With {
            csrf_token: token.as_str(),
            idempotency_key,
        },
        None => Forms::SignInFirst,
    }
}

/// The header of a page for `viewer`, whose sign-out form carries their token, with
/// how many notices they have not seen (one statement, for a signed-in viewer only).
pub fn header<'a>(
    viewer: Option<&'a Person>,
    csrf_token: Option<&'a CsrfToken>,
) -> Result<Header<'a>, AppError> {
    Ok(match (viewer, csrf_token) {
        (Some(person), Some(token)) => Header::for_viewer(
            Some(person),
            token.as_str(),
            trade::unseen_count(person.id)?,
        ),
        _ => Header::SignedOut,
    })
}

/// The POST-redirect-GET answer, to the page the form came from, with the notice it
/// shows once.
pub fn redirect_with(location: &str, notice: Notice) -> Response {
    let mut response = http::see_other(location);
    http::set_cookie(&mut response, &notice.set_cookie());
    response
}
