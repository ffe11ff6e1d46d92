//! An item's own page: the item, its seller's controls for its seller, and its buy
//! control (`visitor_forms`).

use crate::web::photo_views;
use maud::{Markup, html};

use crate::domain::item::{Currency, Item};
use crate::web::csrf::CSRF_FIELD;
use crate::web::form::BuyFormPage;
use crate::web::views::{Header, layout, listed_by, notice, stock_text};
use crate::web::visitor_forms::{Visitor, buy_form};

/// Everything an item's own page shows.
pub struct ItemView<'a> {
    pub item: &'a Item,
    pub currency: &'a Currency,
    pub visitor: Visitor<'a>,
    pub header: Header<'a>,
    /// The visitor sells it: they may change or withdraw it.
    pub is_seller: bool,
}

/// `/items/{id}`: the item, its price and stock, when it was listed, and the buy form.
pub fn item_page(view: &ItemView) -> Markup {
    let item = view.item;
    let buy_error = view
        .visitor
        .buy_error
        .filter(|(id, _)| *id == item.id())
        .map(|(_, message)| message);
    let content = html! {
        (notice(view.visitor.notice))
        article.item-page aria-labelledby="item-name" {
            h1 #item-name { (item.name) }
            (photo_views::gallery(item))
            @if item.withdrawn {
                p.alert #withdrawn role="status" {
                    "This item was withdrawn by its seller: it is no longer for sale."
                }
            }
            p.price { (view.currency.format(item.price())) " per unit" }
            p.stock.sold-out[item.quantity == 0] { (stock_text(item.quantity)) }
            p.description { (item.description) }
            (listed_by(item))
            @if let (true, false, Some((csrf_token, _))) = (view.is_seller, item.withdrawn, view.visitor.forms.tokens()) {
                div.seller-actions {
                    a href={ "/items/" (item.id) "/edit" } { "Change price, stock, description or photos" }
                    form method="post" action={ "/items/" (item.id) "/withdraw" } {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf_token);
                        button type="submit" { "Withdraw this listing" }
                    }
                }
            }
            (buy_form(&view.visitor, item, buy_error, &BuyFormPage::Item))
        }
        p { a href="/" { "Back to everything for sale" } }
    };
    layout(&item.name, &view.header, content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::views::tests::item;
    use crate::web::visitor_forms::Forms;

    #[test]
    fn an_anonymous_item_page_has_no_form_and_leads_to_sign_in_and_back() {
        let lamp = item(5, "Lamp");
        let html = item_page(&ItemView {
            item: &lamp,
            currency: &Currency::parse("EUR").unwrap(),
            visitor: Visitor {
                forms: Forms::SignInFirst,
                notice: None,
                buy_error: None,
            },
            header: Header::SignedOut,
            is_seller: false,
        })
        .into_string();
        assert!(!html.contains("<form"), "{html}");
        assert!(
            html.contains(r#"href="/account/sign-in?next=%2Fitems%2F5""#),
            "{html}"
        );
    }

    #[test]
    fn the_item_page_has_the_name_as_heading_and_a_buy_form_that_comes_back_to_it() {
        let lamp = item(5, "Brass <lamp>");
        let html = item_page(&ItemView {
            item: &lamp,
            currency: &Currency::parse("USD").unwrap(),
            visitor: Visitor {
                forms: Forms::With {
                    csrf_token: "tok",
                    idempotency_key: "key",
                },
                notice: None,
                buy_error: Some((lamp.id(), "Only 2 left in stock.")),
            },
            header: Header::SignedOut,
            is_seller: false,
        })
        .into_string();
        assert!(
            html.contains(r#"<h1 id="item-name">Brass &lt;lamp&gt;</h1>"#),
            "{html}"
        );
        assert!(html.contains("1,234.50 USD per unit"));
        assert!(html.contains(r#"name="back" value="item""#));
        assert!(html.contains(r#"aria-describedby="buy-error-5""#));
        assert!(html.contains("Only 2 left in stock."));
    }
}
