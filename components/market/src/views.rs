//! The HTML of every page. maud escapes everything interpolated; the only raw HTML is
//! the doctype in [`layout`].

use maud::{DOCTYPE, Markup, html};

use crate::cookies::{CSRF_FIELD, Notice};
use crate::db::ItemsPage;
use crate::form::{IDEMPOTENCY_FIELD, PAGE_FIELD, SellForm};
use crate::http::StatusCode;
use crate::item::{
    DESCRIPTION_MAX_CHARS, FieldErrors, Item, ItemId, NAME_MAX_CHARS, QUANTITY_MAX, field,
};

/// Where the stylesheet is served (by the pages component).
pub const STYLESHEET_PATH: &str = "/static/site.css";

fn layout(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Marketplace" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                header { a.brand href="/" { "Marketplace" } }
                main { (content) }
            }
        }
    }
}

/// Everything the home page shows.
pub struct HomeView<'a> {
    pub page: &'a ItemsPage,
    /// The cursor of this page when it is an older one (reached through `?before=`).
    pub before: Option<ItemId>,
    pub form: &'a SellForm,
    pub errors: &'a FieldErrors,
    pub csrf_token: &'a str,
    /// The one-time key every form of this rendering carries.
    pub idempotency_key: &'a str,
    /// What the visitor just did, to confirm.
    pub notice: Option<Notice>,
    /// A failed purchase, shown on its item.
    pub buy_error: Option<(ItemId, &'a str)>,
}

impl HomeView<'_> {
    fn item_name(&self, id: ItemId) -> Option<&str> {
        self.page
            .items
            .iter()
            .find(|item| item.id() == id)
            .map(|item| item.name.as_str())
    }
}

pub fn home(view: &HomeView) -> Markup {
    let older = view.before.is_some();
    // A failed purchase of an item this page does not show is reported at the top.
    let unplaced_buy_error = view
        .buy_error
        .filter(|(id, _)| view.item_name(*id).is_none())
        .map(|(_, message)| message);
    let content = html! {
        @if let Some(message) = unplaced_buy_error {
            p.alert #buy-error role="alert" { (message) }
        }
        @if let Some(notice) = view.notice {
            p.notice #confirmation role="status" { (notice_text(view, notice)) }
        }
        @if !view.errors.is_empty() {
            p.alert #form-errors role="alert" { "Please correct the fields marked below." }
        }
        section.sell aria-labelledby="sell-heading" {
            h2 #sell-heading { "Sell an item" }
            (sell_form(view))
        }
        section.listing aria-labelledby="listing-heading" {
            h2 #listing-heading { @if older { "Older items" } @else { "For sale" } }
            @if view.page.items.is_empty() {
                p.empty {
                    @if older { "There are no older items." }
                    @else { "Nothing is for sale yet. List the first item with the form above." }
                }
            } @else {
                ol.items { @for item in &view.page.items { (item_card(view, item)) } }
            }
            nav.pagination aria-label="Pages" {
                @if older { a href="/" { "Newest items" } }
                @if let Some(next) = view.page.next {
                    a rel="next" href={ "/?before=" (next) } { "Older items" }
                }
            }
        }
    };
    layout("For sale", content)
}

fn notice_text(view: &HomeView, notice: Notice) -> String {
    match notice {
        Notice::Listed(id) => match view.item_name(id) {
            Some(name) => format!("“{name}” is now listed for sale."),
            None => "Your item is now listed for sale.".into(),
        },
        Notice::Bought { item, quantity } => match view.item_name(item) {
            Some(name) => format!("You bought {quantity} × “{name}”."),
            None => format!("You bought {quantity} units."),
        },
    }
}

/// The hidden fields every form carries: the CSRF token and its own one-time key (the
/// page's key, suffixed with the item for buy forms, so no two forms share one).
fn form_guards(view: &HomeView, item: Option<&Item>) -> Markup {
    html! {
        input type="hidden" name=(CSRF_FIELD) value=(view.csrf_token);
        @match item {
            Some(item) => input type="hidden" name=(IDEMPOTENCY_FIELD) value={ (view.idempotency_key) "-" (item.id) };,
            None => input type="hidden" name=(IDEMPOTENCY_FIELD) value=(view.idempotency_key);,
        }
    }
}

fn sell_form(view: &HomeView) -> Markup {
    let (form, errors) = (view.form, view.errors);
    html! {
        form #sell-form method="post" action="/items" novalidate {
            (form_guards(view, None))
            (labelled_field(field::NAME, "Name", errors, html! {
                input #name type="text" name=(field::NAME) value=(form.name)
                    maxlength=(NAME_MAX_CHARS) required
                    aria-invalid=[errors.get(field::NAME).map(|_| "true")];
            }))
            (labelled_field(field::QUANTITY, "Quantity", errors, html! {
                input #quantity type="number" name=(field::QUANTITY) value=(form.quantity)
                    min="0" max=(QUANTITY_MAX) step="1" inputmode="numeric" required
                    aria-invalid=[errors.get(field::QUANTITY).map(|_| "true")];
            }))
            (labelled_field(field::DESCRIPTION, "Description", errors, html! {
                textarea #description name=(field::DESCRIPTION) rows="4"
                    maxlength=(DESCRIPTION_MAX_CHARS) required
                    aria-invalid=[errors.get(field::DESCRIPTION).map(|_| "true")] { (form.description) }
            }))
            button type="submit" { "List item" }
        }
    }
}

/// A label, the control, and the message beside it when the field is wrong.
fn labelled_field(name: &str, label: &str, errors: &FieldErrors, control: Markup) -> Markup {
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

fn item_card(view: &HomeView, item: &Item) -> Markup {
    let buy_error = view
        .buy_error
        .filter(|(id, _)| *id == item.id())
        .map(|(_, message)| message);
    html! {
        li.item #{ "item-" (item.id) } {
            h3 { (item.name) }
            @if item.quantity == 0 {
                p.stock.sold-out { "Sold out" }
            } @else {
                p.stock { (item.quantity) " in stock" }
            }
            p.description { (item.description) }
            p.added { "Listed " time datetime=(item.date_added) { (item.date_added.get(..10).unwrap_or(&item.date_added)) } }
            @if item.quantity > 0 {
                form.buy method="post" action={ "/items/" (item.id) "/buy" } novalidate {
                    (form_guards(view, Some(item)))
                    @if let Some(before) = view.before {
                        input type="hidden" name=(PAGE_FIELD) value=(before);
                    }
                    label for={ "buy-quantity-" (item.id) } { "Quantity" }
                    input id={ "buy-quantity-" (item.id) } type="number" name=(field::QUANTITY)
                        value="1" min="1" max=(item.quantity) step="1" inputmode="numeric" required
                        aria-invalid=[buy_error.map(|_| "true")];
                    button type="submit" { "Buy" }
                }
            }
            @if let Some(message) = buy_error {
                p.field-error id={ "buy-error-" (item.id) } role="alert" { (message) }
            }
        }
    }
}

/// The page for any error: the status, one sentence, and a way back.
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        title,
        html! {
            h1 { (title) }
            p.error-message { (message) }
            p { a href="/" { "Back to the marketplace" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, name: &str) -> Item {
        Item {
            id,
            name: name.into(),
            quantity: 2,
            description: "d".into(),
            date_added: "2026-11-22T10:00:00.000000Z".into(),
        }
    }

    fn render(
        page: &ItemsPage,
        form: &SellForm,
        errors: &FieldErrors,
        notice: Option<Notice>,
    ) -> String {
        home(&HomeView {
            page,
            before: None,
            form,
            errors,
            csrf_token: "tok",
            idempotency_key: "key",
            notice,
            buy_error: None,
        })
        .into_string()
    }

    #[test]
    fn stored_markup_is_escaped() {
        let page = ItemsPage {
            items: vec![item(1, "<script>alert(1)</script>")],
            next: None,
        };
        let html = render(&page, &SellForm::default(), &FieldErrors::default(), None);
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn an_empty_shop_says_so() {
        let page = ItemsPage {
            items: vec![],
            next: None,
        };
        let html = render(&page, &SellForm::default(), &FieldErrors::default(), None);
        assert!(html.contains("Nothing is for sale yet"));
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
            description: "Brass".into(),
            ..SellForm::default()
        };
        let mut errors = FieldErrors::default();
        errors.add(field::QUANTITY, "Enter a whole number from 0 to 1000000.");
        let html = render(&page, &form, &errors, None);
        assert!(html.contains(r#"value="Lamp &quot;x&quot;""#), "{html}");
        assert!(html.contains(r#"value="-4""#));
        assert!(html.contains(r#"id="quantity-error""#));
        assert!(!html.contains(r#"id="name-error""#));
    }

    #[test]
    fn the_confirmation_names_the_listed_item_and_older_pages_are_linked() {
        let page = ItemsPage {
            items: vec![item(7, "Lamp")],
            next: ItemId::parse("7"),
        };
        let id = ItemId::parse("7").unwrap();
        let html = render(
            &page,
            &SellForm::default(),
            &FieldErrors::default(),
            Some(Notice::Listed(id)),
        );
        assert!(html.contains("“Lamp” is now listed for sale."));
        assert!(html.contains(r#"href="/?before=7""#));
        let bought = Notice::Bought {
            item: id,
            quantity: 2,
        };
        let html = render(
            &page,
            &SellForm::default(),
            &FieldErrors::default(),
            Some(bought),
        );
        assert!(html.contains("You bought 2 × “Lamp”."));
    }

    #[test]
    fn items_in_stock_have_a_buy_form_and_sold_out_items_are_marked() {
        let mut sold_out = item(2, "Chair");
        sold_out.quantity = 0;
        let page = ItemsPage {
            items: vec![item(1, "Lamp"), sold_out],
            next: None,
        };
        let html = render(&page, &SellForm::default(), &FieldErrors::default(), None);
        assert!(html.contains(r#"action="/items/1/buy""#));
        assert!(!html.contains(r#"action="/items/2/buy""#));
        assert!(html.contains("Sold out"));
        assert!(html.contains(r#"name="idempotency_key" value="key""#));
        assert!(html.contains(r#"name="idempotency_key" value="key-1""#));
    }
}
