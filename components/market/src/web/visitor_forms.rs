//! What a page's forms carry for its visitor, and the buy control every item shows (on
//! its page and in the listing): a form with the visitor's tokens for someone with a
//! session, a link to sign in and come back for someone without; and, for the listing
//! rendered once for everyone, both, marked, for [`with_visitor`] to keep one.

use maud::{Markup, PreEscaped, html};

use crate::domain::idempotency::IDEMPOTENCY_FIELD;
use crate::domain::item::{Item, ItemId, field};
use crate::domain::listing::{BEFORE_PARAM, SEARCH_PARAM, SOLD_OUT_PARAM};
use crate::web::cookies::Notice;
use crate::web::csrf::CSRF_FIELD;
use crate::web::form::{BACK_FIELD, BACK_TO_ITEM, BuyFormPage, SHOWN_PRICE_FIELD};
use crate::web::paths;

/// The forms that write, as a page shows them to its visitor.
#[derive(Clone, Copy)]
pub enum Forms<'a> {
    /// A visitor without a session: no form that writes and no token; each write control
    /// is a link to sign in and come back. Such a page holds nothing personal and can be
    /// shared by nginx.
    SignInFirst,
    /// Someone with a session: forms with their CSRF token, and the one-time key every
    /// form of this rendering carries.
    With {
        csrf_token: &'a str,
        idempotency_key: &'a str,
    },
    /// Rendered once for everyone (the cached listing): both kinds, marked, with
    /// placeholders for the tokens; [`with_visitor`] keeps the visitor's kind.
    Everyone,
}

impl<'a> Forms<'a> {
    /// The tokens forms carry (the placeholders when rendered for everyone).
    pub(crate) fn tokens(self) -> Option<(&'a str, &'a str)> {
        match self {
            Self::SignInFirst => None,
            Self::With {
                csrf_token,
                idempotency_key,
            } => Some((csrf_token, idempotency_key)),
            Self::Everyone => Some((CSRF_TOKEN_PLACEHOLDER, FORM_KEY_PLACEHOLDER)),
        }
    }
}

/// What every page with forms carries for the visitor.
pub struct Visitor<'a> {
    pub forms: Forms<'a>,
    /// What the visitor just did, to confirm, with the item's name when known.
    pub notice: Option<(Notice, Option<&'a str>)>,
    /// A failed purchase, shown on its item.
    pub buy_error: Option<(ItemId, &'a str)>,
}

/// What stands in for the visitor's CSRF token and form key in a listing rendered once
/// for everyone (the cached first page), and what marks the parts only a visitor with a
/// session or only one without gets; [`with_visitor`] makes it the visitor's. NUL can be
/// in no stored text (Postgres text cannot hold it), so nothing else matches.
pub const CSRF_TOKEN_PLACEHOLDER: &str = "\u{0}csrf\u{0}";
pub const FORM_KEY_PLACEHOLDER: &str = "\u{0}key\u{0}";
pub(crate) const WITH_SESSION_START: &str = "\u{0}with-session\u{0}";
pub(crate) const WITHOUT_SESSION_START: &str = "\u{0}without-session\u{0}";
pub(crate) const PART_END: &str = "\u{0}end\u{0}";

/// A listing section rendered for [`Forms::Everyone`], made the visitor's.
pub fn with_visitor(rendered: &str, visitor: &Visitor) -> Markup {
    let name = |marker: &'static str| marker.trim_matches('\u{0}');
    let tokens = visitor.forms.tokens();
    // One pass: split at the NULs, every second part is a placeholder's or marker's name.
    let mut page = String::with_capacity(rendered.len() + rendered.len() / 4);
    let mut skipping = false;
    for (n, part) in rendered.split('\u{0}').enumerate() {
        if n % 2 == 0 {
            if !skipping {
                page.push_str(part);
            }
            continue;
        }
        match (part, tokens) {
            (p, _) if p == name(PART_END) => skipping = false,
            (p, _) if p == name(WITH_SESSION_START) => skipping = tokens.is_none(),
            (p, _) if p == name(WITHOUT_SESSION_START) => skipping = tokens.is_some(),
            (_, _) if skipping => {}
            (p, Some((csrf_token, _))) if p == name(CSRF_TOKEN_PLACEHOLDER) => {
                page.push_str(csrf_token);
            }
            (p, Some((_, key))) if p == name(FORM_KEY_PLACEHOLDER) => page.push_str(key),
            _ => {}
        }
    }
    PreEscaped(page)
}

/// The hidden fields every form carries: the CSRF token and its own one-time key (the
/// page's key, suffixed with the item for buy forms, so no two forms share one).
pub(crate) fn form_guards((csrf_token, key): (&str, &str), item: Option<&Item>) -> Markup {
    html! {
        input type="hidden" name=(CSRF_FIELD) value=(csrf_token);
        @match item {
            Some(item) => input type="hidden" name=(IDEMPOTENCY_FIELD) value={ (key) "-" (item.id) };,
            None => input type="hidden" name=(IDEMPOTENCY_FIELD) value=(key);,
        }
    }
}

/// The buy control of an item in stock, with the reason the last try failed beside it:
/// its form for a visitor with a session, a link to sign in and come back for one
/// without (both, marked, for a listing rendered for everyone).
pub(crate) fn buy_form(
    visitor: &Visitor,
    item: &Item,
    error: Option<&str>,
    origin: &BuyFormPage,
) -> Markup {
    let error_id = format!("buy-error-{}", item.id);
    html! {
        @if item.quantity > 0 && !item.withdrawn {
            @match visitor.forms {
                Forms::SignInFirst => (buy_sign_in_link(item, origin)),
                Forms::With { .. } => (buy_post_form(visitor, item, error, origin, &error_id)),
                Forms::Everyone => {
                    (PreEscaped(WITH_SESSION_START))
                    (buy_post_form(visitor, item, error, origin, &error_id))
                    (PreEscaped(PART_END))
                    (PreEscaped(WITHOUT_SESSION_START))
                    (buy_sign_in_link(item, origin))
                    (PreEscaped(PART_END))
                },
            }
        }
        @if let Some(message) = error {
            p.field-error id=(error_id) role="alert" { (message) }
        }
    }
}

/// The way to buy for a visitor who is not signed in: sign in, then back to the page.
fn buy_sign_in_link(item: &Item, origin: &BuyFormPage) -> Markup {
    let back = match origin {
        BuyFormPage::Listing(listing, before) => listing.page_path(*before),
        BuyFormPage::Item => format!("/items/{}", item.id),
    };
    html! {
        p.buy {
            a.button href=(paths::sign_in_then(&back)) {
                "Sign in to buy" span.visually-hidden { " " (item.name) }
            }
        }
    }
}

fn buy_post_form(
    visitor: &Visitor,
    item: &Item,
    error: Option<&str>,
    origin: &BuyFormPage,
    error_id: &str,
) -> Markup {
    let Some(tokens) = visitor.forms.tokens() else {
        return html! {};
    };
    html! {
            form.buy method="post" action={ "/items/" (item.id) "/buy" } novalidate {
                (form_guards(tokens, Some(item)))
                input type="hidden" name=(SHOWN_PRICE_FIELD) value=(item.price().amount());
                @match origin {
                    BuyFormPage::Listing(listing, before) => {
                        @if let Some(search) = &listing.search {
                            input type="hidden" name=(SEARCH_PARAM) value=(search.as_str());
                        }
                        @if listing.include_sold_out {
                            input type="hidden" name=(SOLD_OUT_PARAM) value="show";
                        }
                        @if let Some(before) = before {
                            input type="hidden" name=(BEFORE_PARAM) value=(before);
                        }
                    },
                    BuyFormPage::Item => input type="hidden" name=(BACK_FIELD) value=(BACK_TO_ITEM);,
                }
                label for={ "buy-quantity-" (item.id) } { "Quantity" }
                input id={ "buy-quantity-" (item.id) } type="number" name=(field::QUANTITY)
                    value="1" min="1" max=(item.quantity) step="1" inputmode="numeric" required
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| error_id)];
                button type="submit" { "Buy" span.visually-hidden { " " (item.name) } }
            }
    }
}
