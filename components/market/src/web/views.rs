//! The HTML of the layout, the home page and its listing, and the error page. maud
//! escapes everything interpolated; the only raw HTML is the doctype in [`layout`] and a
//! listing section rendered (escaped) once by [`listing_section`] for the cache, made the
//! visitor's by `visitor_forms::with_visitor` (which, with the buy control's markers,
//! holds the rest). An item's own page is `item_views`'.

use maud::{DOCTYPE, Markup, html};

use crate::domain::account::Person;
use crate::domain::item::{
    Currency, DESCRIPTION_MAX_CHARS, FieldErrors, Item, ItemId, NAME_MAX_CHARS, QUANTITY_MAX,
    field, group_thousands,
};
use crate::domain::listing::{
    Listing, SEARCH_MAX_CHARS, SEARCH_PARAM, SOLD_OUT_PARAM, SearchTerms,
};
use crate::domain::notice::Unseen;
use crate::storage::db::ItemsPage;
use crate::web::assets;
use crate::web::cookies::Notice;
use crate::web::csrf::CSRF_FIELD;
use crate::web::form::{BuyFormPage, SellForm};
use crate::web::http::StatusCode;
use crate::web::photo_views;
use crate::web::visitor_forms::{Visitor, buy_form, form_guards};

/// Who the page is for, as its header shows it.
#[derive(Clone, Copy)]
pub enum Header<'a> {
    /// Not signed in: links to sign in and sign up.
    SignedOut,
    /// Signed in: their name, their pages, how many notices they have not seen, and a
    /// sign-out button (a form, so it carries the CSRF token).
    SignedIn {
        name: &'a str,
        csrf_token: &'a str,
        unseen: Unseen,
    },
    /// Not known (error pages): the brand only.
    Plain,
}

impl<'a> Header<'a> {
    /// The header for `viewer`, who has `unseen` notices.
    pub fn for_viewer(viewer: Option<&'a Person>, csrf_token: &'a str, unseen: Unseen) -> Self {
        match viewer {
            Some(person) => Self::SignedIn {
                name: &person.display_name,
                csrf_token,
                unseen,
            },
            None => Self::SignedOut,
        }
    }
}

/// Every page: the head, the site header with its navigation, and the content.
pub(crate) fn layout(title: &str, header: &Header, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Marketplace" }
                link rel="stylesheet" href=(assets::stylesheet_path());
            }
            body {
                header.site {
                    a.brand href="/" { "Marketplace" }
                    (site_navigation(header))
                }
                main { (content) }
            }
        }
    }
}

fn site_navigation(header: &Header) -> Markup {
    html! {
        @match header {
            Header::SignedOut => nav.account aria-label="Account" {
                a href=(paths::SIGN_IN) { "Sign in" }
                a href=(paths::SIGN_UP) { "Sign up" }
            },
            Header::SignedIn { name, csrf_token, unseen } => nav.account aria-label="Account" {
                span.signed-in { "Signed in as " strong { (name) } }
                a href="/conversations" {
                    "Inbox"
                    @if unseen.messages > 0 { " (" (unseen.messages) " unread)" }
                }
                a href="/orders" { "Orders" }
                a href="/notices" {
                    "Notices"
                    @if unseen.notices > 0 { " (" (unseen.notices) " unseen)" }
                }
                a href=(paths::MY_LISTINGS) { "My listings" }
                a href=(paths::MY_PURCHASES) { "My purchases" }
                a href=(paths::ACCOUNT) { "Account" }
                form.sign-out method="post" action=(paths::SIGN_OUT) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf_token);
                    button type="submit" { "Sign out" }
                }
            },
            Header::Plain => {},
        }
    }
}

pub use crate::web::paths;

/// A page of a listing, with the buy forms of its items.
pub struct ListingView<'a> {
    pub page: &'a ItemsPage,
    pub listing: &'a Listing,
    /// The cursor of this page when it is an older one (reached through `?before=`).
    pub before: Option<ItemId>,
    pub currency: &'a Currency,
    pub visitor: &'a Visitor<'a>,
}

impl ListingView<'_> {
    pub fn shows(&self, id: ItemId) -> bool {
        self.page.items.iter().any(|item| item.id() == id)
    }
}

/// The listing section of the home page: its heading, the items, the links to other
/// pages and to the sold-out filter.
pub fn listing_section(view: &ListingView) -> Markup {
    let older = view.before.is_some();
    html! {
        section.listing aria-labelledby="listing-heading" {
            h2 #listing-heading {
                @if older { "Older items" } @else if view.listing.search.is_some() { "Newest matches first" }
                @else { "Newest first" }
            }
            @if view.page.items.is_empty() {
                p.empty { (empty_listing_text(view.listing, older)) }
            } @else {
                @let origin = BuyFormPage::Listing(view.listing.clone(), view.before);
                ol.items { @for (position, item) in view.page.items.iter().enumerate() { (item_card(view, item, position, &origin)) } }
            }
            nav.pagination aria-label="Pages and filters" {
                @if older { a href=(view.listing.page_path(None)) { "Newest items" } }
                @if let Some(next) = view.page.next {
                    a rel="next" href=(view.listing.page_path(Some(next))) { "Older items" }
                }
                @if view.listing.include_sold_out {
                    a href=(view.listing.with_sold_out(false).page_path(None)) { "Hide sold-out items" }
                } @else {
                    a href=(view.listing.with_sold_out(true).page_path(None)) { "Show sold-out items too" }
                }
            }
        }
    }
}

/// Everything the home page shows around its listing section.
pub struct HomeView<'a> {
    pub listing: &'a Listing,
    /// Rendered by [`listing_section`], fresh or from the cache.
    pub listing_section: Markup,
    pub form: &'a SellForm,
    pub errors: &'a FieldErrors,
    pub currency: &'a Currency,
    pub visitor: Visitor<'a>,
    pub header: Header<'a>,
    /// A failed purchase of an item the listing section does not show.
    pub buy_error_elsewhere: Option<&'a str>,
}

pub fn home(view: &HomeView) -> Markup {
    let search = view.listing.search.as_ref().map(SearchTerms::as_str);
    let title = match search {
        Some(terms) => format!("Search results for “{terms}”"),
        None => "For sale".to_owned(),
    };
    let content = html! {
        h1 { (title) }
        (search_form(view.listing))
        (notice(view.visitor.notice))
        @if let Some(message) = view.buy_error_elsewhere {
            p.alert #buy-error role="alert" { (message) }
        }
        @if !view.errors.is_empty() {
            p.alert #form-errors role="alert" {
                "Please correct the fields marked in the " a href="#sell-heading" { "sell form" } "."
            }
        }
        (view.listing_section)
        section.sell aria-labelledby="sell-heading" {
            h2 #sell-heading { "Sell an item" }
            @if let (Header::SignedIn { .. }, Some(tokens)) = (view.header, view.visitor.forms.tokens()) {
                (sell_form(view, tokens))
            } @else {
                p {
                    a href=(paths::sign_in_then("/")) { "Sign in" } " or "
                    a href=(paths::SIGN_UP) { "create an account" } " to sell."
                }
            }
        }
    };
    layout(&title, &view.header, content)
}

fn empty_listing_text(listing: &Listing, older: bool) -> String {
    match (&listing.search, older) {
        (_, true) => "There are no older items.".to_owned(),
        (Some(terms), false) => format!(
            "Nothing {}matches “{}”. Try other words{}.",
            if listing.include_sold_out {
                ""
            } else {
                "in stock "
            },
            terms.as_str(),
            if listing.include_sold_out {
                ""
            } else {
                ", or show sold-out items too"
            }
        ),
        (None, false) if listing.include_sold_out => {
            "Nothing is listed yet. List the first item with the form below.".to_owned()
        }
        (None, false) => {
            "Nothing is for sale right now. List the first item with the form below.".to_owned()
        }
    }
}

/// The search box: words to look for, kept as typed; the sold-out filter carried along.
fn search_form(listing: &Listing) -> Markup {
    html! {
        form.search role="search" method="get" action="/" {
            label for="search" { "Search items" }
            input #search type="search" name=(SEARCH_PARAM)
                value=[listing.search.as_ref().map(SearchTerms::as_str)]
                maxlength=(SEARCH_MAX_CHARS);
            @if listing.include_sold_out {
                input type="hidden" name=(SOLD_OUT_PARAM) value="show";
            }
            button type="submit" { "Search" }
        }
    }
}

/// The confirmation of what the visitor just did, with the item's name when known.
pub(crate) fn notice(notice: Option<(Notice, Option<&str>)>) -> Markup {
    let Some((notice, name)) = notice else {
        return html! {};
    };
    let item =
        |name: Option<&str>| name.map_or_else(|| "Your item".to_owned(), |n| format!("“{n}”"));
    let text = match notice {
        Notice::Listed(_) => format!("{} is now listed for sale.", item(name)),
        Notice::Bought { quantity, .. } => match name {
            Some(name) => format!(
                "You bought {} × “{name}”.",
                group_thousands(i64::from(quantity))
            ),
            None => format!("You bought {} units.", group_thousands(i64::from(quantity))),
        },
        Notice::Changed(_) => format!("{} is saved with your changes.", item(name)),
        Notice::Withdrawn(_) => format!("{} is withdrawn: it is no longer for sale.", item(name)),
        Notice::SignedUp => "Welcome! Your account is ready and you are signed in. We emailed \
                              you a link to confirm your address."
            .into(),
        Notice::SignedIn => "You are signed in.".into(),
        Notice::SignedOut => "You are signed out.".into(),
        Notice::TokenRevoked => "The token is revoked: it no longer works.".into(),
        Notice::PasswordReset => {
            "Your new password is set and every browser is signed out. Sign in with it.".into()
        }
    };
    html! { p.notice #confirmation role="status" { (text) } }
}

fn sell_form(view: &HomeView, tokens: (&str, &str)) -> Markup {
    let (form, errors) = (view.form, view.errors);
    let invalid = |name: &str| errors.get(name).map(|_| "true");
    let described = |name: &str| errors.get(name).map(|_| format!("{name}-error"));
    html! {
        form #sell-form method="post" action="/items" enctype="multipart/form-data" novalidate {
            (form_guards(tokens, None))
            (labelled_field(field::NAME, "Name", errors, html! {
                input #name type="text" name=(field::NAME) value=(form.name)
                    maxlength=(NAME_MAX_CHARS) required
                    aria-invalid=[invalid(field::NAME)] aria-describedby=[described(field::NAME)];
            }))
            (labelled_field(field::QUANTITY, "Quantity", errors, html! {
                input #quantity type="number" name=(field::QUANTITY) value=(form.quantity)
                    min="0" max=(QUANTITY_MAX) step="1" inputmode="numeric" required
                    aria-invalid=[invalid(field::QUANTITY)] aria-describedby=[described(field::QUANTITY)];
            }))
            (labelled_field(field::PRICE, &format!("Price per unit ({})", view.currency.code()), errors, html! {
                input #price type="text" name=(field::PRICE) value=(form.price)
                    inputmode="decimal" placeholder="12.50" required
                    aria-invalid=[invalid(field::PRICE)] aria-describedby=[described(field::PRICE)];
            }))
            (labelled_field(field::DESCRIPTION, "Description", errors, html! {
                textarea #description name=(field::DESCRIPTION) rows="4"
                    maxlength=(DESCRIPTION_MAX_CHARS) required
                    aria-invalid=[invalid(field::DESCRIPTION)]
                    aria-describedby=[described(field::DESCRIPTION)] { (form.description) }
            }))
            (photo_views::photos_input(errors))
            button type="submit" { "List item" }
        }
    }
}

/// A label, the control, and the message beside it when the field is wrong (the control
/// points at it with `aria-describedby`).
pub(crate) fn labelled_field(
    name: &str,
    label: &str,
    errors: &FieldErrors,
    control: Markup,
) -> Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            (control)
            @if let Some(message) = errors.get(name) {
                p.field-error id={ (name) "-error" } { (message) }
            }
        }
    }
}

/// Stock as people read it: "Sold out", or "1,000 in stock".
pub(crate) fn stock_text(quantity: i32) -> String {
    match quantity {
        0 => "Sold out".to_owned(),
        n => format!("{} in stock", group_thousands(i64::from(n))),
    }
}

/// An item of the listing, with its buy control answering back to `origin`.
fn item_card(view: &ListingView, item: &Item, position: usize, origin: &BuyFormPage) -> Markup {
    let buy_error = view
        .visitor
        .buy_error
        .filter(|(id, _)| *id == item.id())
        .map(|(_, message)| message);
    html! {
        li.item #{ "item-" (item.id) } {
            (photo_views::card_cover(item, position))
            h3 { a href={ "/items/" (item.id) } { (item.name) } }
            p.price { (view.currency.format(item.price())) }
            p.stock.sold-out[item.quantity == 0] { (stock_text(item.quantity)) }
            p.description { (item.description) }
            (listed_by(item))
            (buy_form(view.visitor, item, buy_error, origin))
        }
    }
}

pub(crate) fn listed_on(item: &Item) -> &str {
    item.date_added.get(..10).unwrap_or(&item.date_added)
}

/// When an item was listed, and by whom (items from before accounts have no seller).
pub(crate) fn listed_by(item: &Item) -> Markup {
    html! {
        p.added {
            "Listed " time datetime=(item.date_added) { (listed_on(item)) }
            @match (&item.seller_name, item.seller_id) {
                (Some(seller), Some(id)) => {
                    " by " a.seller href={ "/people/" (id) } { (seller) }
                    " (" span.rating { (item.seller_rating.describe()) } ")"
                },
                (Some(seller), None) => { " by " span.seller { (seller) } },
                (None, _) => {},
            }
        }
    }
}

/// The page of an error: what happened, and the request's reference, which a person can
/// quote to the shop (it finds the request's log lines, and nothing else about it).
pub fn error_page(status: StatusCode, message: &str, reference: Option<&str>) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        title,
        &Header::Plain,
        html! {
            h1 { (title) }
            p.error-message { (message) }
            @if let Some(reference) = reference {
                p.reference { "Reference: " code { (reference) } }
            }
            p { a href="/" { "Back to the marketplace" } }
        },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::web::visitor_forms::{Forms, with_visitor};

    /// An item as the views get it, with this id and name.
    pub(crate) fn item(id: i64, name: &str) -> Item {
        Item {
            id,
            name: name.into(),
            quantity: 2,
            price_cents: 123_450,
            description: "d".into(),
            date_added: "2026-11-22T10:00:00.000000Z".into(),
            seller_id: Some(1),
            seller_name: Some("Ada".into()),
            withdrawn: false,
            photos: Vec::new(),
            seller_rating: Default::default(),
        }
    }

    fn render_with(
        page: &ItemsPage,
        listing: &Listing,
        form: &SellForm,
        errors: &FieldErrors,
        notice: Option<(Notice, Option<&str>)>,
    ) -> String {
        let currency = Currency::parse("EUR").unwrap();
        let visitor = Visitor {
            forms: Forms::With {
                csrf_token: "tok",
                idempotency_key: "key",
            },
            notice,
            buy_error: None,
        };
        let section = listing_section(&ListingView {
            page,
            listing,
            before: None,
            currency: &currency,
            visitor: &visitor,
        });
        home(&HomeView {
            listing,
            listing_section: section,
            form,
            errors,
            currency: &currency,
            visitor,
            header: Header::SignedIn {
                name: "Ada",
                csrf_token: "tok",
                unseen: Unseen::default(),
            },
            buy_error_elsewhere: None,
        })
        .into_string()
    }

    fn render(page: &ItemsPage, notice: Option<(Notice, Option<&str>)>) -> String {
        let (form, errors) = (SellForm::default(), FieldErrors::default());
        render_with(page, &Listing::default(), &form, &errors, notice)
    }

    #[test]
    fn a_listing_rendered_once_gets_each_visitors_tokens() {
        let page = ItemsPage {
            items: vec![item(3, "Lamp")],
            next: None,
        };
        let placeholders = Visitor {
            forms: Forms::Everyone,
            notice: None,
            buy_error: None,
        };
        let once = listing_section(&ListingView {
            page: &page,
            listing: &Listing::default(),
            before: None,
            currency: &Currency::parse("EUR").unwrap(),
            visitor: &placeholders,
        })
        .into_string();
        let visitor = Visitor {
            forms: Forms::With {
                csrf_token: "t0k",
                idempotency_key: "k3y",
            },
            notice: None,
            buy_error: None,
        };
        let html = with_visitor(&once, &visitor).into_string();
        assert!(html.contains(r#"name="csrf_token" value="t0k""#), "{html}");
        assert!(html.contains(r#"name="idempotency_key" value="k3y-3""#));
        assert!(!html.contains("Sign in to buy"));
        assert!(!html.contains('\u{0}'));

        let anonymous = Visitor {
            forms: Forms::SignInFirst,
            ..placeholders
        };
        let html = with_visitor(&once, &anonymous).into_string();
        assert!(!html.contains("<form"), "{html}");
        assert!(!html.contains("csrf_token"));
        assert!(!html.contains("idempotency_key"));
        assert!(
            html.contains(r#"href="/account/sign-in?next=%2F""#),
            "{html}"
        );
        assert!(!html.contains('\u{0}'));
        let fresh = listing_section(&ListingView {
            page: &page,
            listing: &Listing::default(),
            before: None,
            currency: &Currency::parse("EUR").unwrap(),
            visitor: &anonymous,
        })
        .into_string();
        assert_eq!(
            html, fresh,
            "the cached rendering made anonymous is the fresh one"
        );
    }

    #[test]
    fn stored_markup_is_escaped() {
        let page = ItemsPage {
            items: vec![item(1, "<script>alert(1)</script>")],
            next: None,
        };
        let html = render(&page, None);
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn an_empty_shop_says_so() {
        let page = ItemsPage {
            items: vec![],
            next: None,
        };
        let html = render(&page, None);
        assert!(html.contains("Nothing is for sale right now"));
        assert!(html.contains("<h1>For sale</h1>"));
    }

    #[test]
    fn a_search_keeps_its_words_in_the_box_the_heading_and_the_older_link() {
        let page = ItemsPage {
            items: vec![item(9, "Lamp")],
            next: ItemId::parse("9"),
        };
        let listing = Listing::from_query(Some("brass \"lamp\""), None).unwrap();
        let html = render_with(
            &page,
            &listing,
            &SellForm::default(),
            &FieldErrors::default(),
            None,
        );
        assert!(html.contains(r#"value="brass &quot;lamp&quot;""#), "{html}");
        assert!(html.contains("<h1>Search results for “brass &quot;lamp&quot;”</h1>"));
        assert!(html.contains(r#"href="/?q=brass+%22lamp%22&amp;before=9""#));
        let nothing = ItemsPage {
            items: vec![],
            next: None,
        };
        let html = render_with(
            &nothing,
            &listing,
            &SellForm::default(),
            &FieldErrors::default(),
            None,
        );
        assert!(html.contains("Nothing in stock matches “brass &quot;lamp&quot;”"));
    }

    #[test]
    fn a_form_with_mistakes_keeps_the_input_and_marks_the_fields() {
        let page = ItemsPage {
            items: vec![],
            next: None,
        };
        let form = SellForm {
            name: "Lamp \"x\"".into(),
            quantity: "-4".into(),
            price: "1.234".into(),
            description: "Brass".into(),
            ..SellForm::default()
        };
        let mut errors = FieldErrors::default();
        errors.add(field::QUANTITY, "Enter a whole number from 0 to 1000000.");
        errors.add(
            field::PRICE,
            "Enter a price from 0.00 to 1,000,000.00, like 12.50.",
        );
        let html = render_with(&page, &Listing::default(), &form, &errors, None);
        assert!(html.contains(r#"value="Lamp &quot;x&quot;""#), "{html}");
        assert!(html.contains(r#"value="-4""#));
        assert!(html.contains(r#"value="1.234""#));
        assert!(html.contains(r#"id="quantity-error""#));
        assert!(html.contains(r#"aria-describedby="quantity-error""#));
        assert!(html.contains(r#"aria-describedby="price-error""#));
        assert!(!html.contains(r#"id="name-error""#));
    }

    #[test]
    fn the_confirmation_names_the_item_and_older_pages_are_linked() {
        let page = ItemsPage {
            items: vec![item(7, "Lamp")],
            next: ItemId::parse("7"),
        };
        let id = ItemId::parse("7").unwrap();
        let html = render(&page, Some((Notice::Listed(id), Some("Lamp"))));
        assert!(html.contains("“Lamp” is now listed for sale."));
        assert!(html.contains(r#"href="/?before=7""#));
        let bought = Notice::Bought {
            item: id,
            quantity: 2_000,
        };
        let html = render(&page, Some((bought, Some("Lamp"))));
        assert!(html.contains("You bought 2,000 × “Lamp”."));
    }

    #[test]
    fn items_link_to_their_page_and_show_price_and_stock_with_separators() {
        let mut sold_out = item(2, "Chair");
        sold_out.quantity = 0;
        let mut plenty = item(1, "Lamp");
        plenty.quantity = 1_000_000;
        let page = ItemsPage {
            items: vec![plenty, sold_out],
            next: None,
        };
        let html = render(&page, None);
        assert!(html.contains(r#"<a href="/items/1">Lamp</a>"#));
        assert!(html.contains("1,234.50 EUR"));
        assert!(html.contains("1,000,000 in stock"));
        assert!(html.contains(r#"action="/items/1/buy""#));
        assert!(!html.contains(r#"action="/items/2/buy""#));
        assert!(html.contains("Sold out"));
        assert!(html.contains(r#"name="idempotency_key" value="key""#));
        assert!(html.contains(r#"name="idempotency_key" value="key-1""#));
    }
}
