//! An item's own page: the item, its seller's controls for its seller, its buy control
//! (`visitor_forms`), and for anyone else signed in, the question to its seller.

use crate::web::photo_views;
use maud::{Markup, html};

use crate::domain::item::{Currency, Item};
use crate::web::conversation_views::{AskProblem, ask_form};
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
    /// The visitor's question to its seller that was refused, shown again.
    pub ask_problem: Option<AskProblem<'a>>,
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
            @if let (false, Some(_), Some((csrf_token, _))) = (view.is_seller, item.seller_id, view.visitor.forms.tokens()) {
                (ask_form(item.id, "Ask the seller", csrf_token, view.ask_problem))
            } @else if let Some(problem) = view.ask_problem {
                p.alert #ask-error role="alert" { (problem.message) }
            }
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
            ask_problem: None,
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
            ask_problem: None,
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

    fn signed_in_page(lamp: &Item, is_seller: bool, ask_problem: Option<AskProblem>) -> String {
        item_page(&ItemView {
            item: lamp,
            currency: &Currency::parse("EUR").unwrap(),
            visitor: Visitor {
                forms: Forms::With {
                    csrf_token: "tok",
                    idempotency_key: "key",
                },
                notice: None,
                buy_error: None,
            },
            header: Header::SignedOut,
            is_seller,
            ask_problem,
        })
        .into_string()
    }

    #[test]
    fn someone_signed_in_may_ask_the_seller_whose_name_leads_to_their_profile() {
        let lamp = item(5, "Lamp");
        let html = signed_in_page(&lamp, false, None);
        assert!(html.contains(r#"action="/items/5/ask""#), "{html}");
        assert!(html.contains(r#"<label for="ask-text">Ask the seller</label>"#));
        assert!(html.contains(r#"name="text" rows="4" maxlength="2000" required"#));
        assert!(html.contains(r#" by <a class="seller" href="/people/1">Ada</a>"#));
        let html = signed_in_page(&lamp, true, None);
        assert!(!html.contains("/ask"), "nobody asks themselves: {html}");
        let mut old = item(6, "Clock");
        old.seller_id = None;
        let html = signed_in_page(&old, false, None);
        assert!(!html.contains("/ask"), "no seller to ask: {html}");
        assert!(html.contains(r#"<span class="seller">Ada</span>"#));
        let problem = AskProblem {
            message: "You are sending messages too fast.",
            typed: "Still <there>?",
        };
        let html = signed_in_page(&lamp, false, Some(problem));
        assert!(html.contains(
            r#"<p class="alert" id="ask-error" role="alert">You are sending messages too fast.</p>"#
        ));
        assert!(html.contains(r#"aria-describedby="ask-error">Still &lt;there&gt;?</textarea>"#));
    }
}
