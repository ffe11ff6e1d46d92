//! The HTML of orders: the viewer's purchases or sales (`/orders?role=`), and an order's
//! page (`/orders/{id}`): what was ordered, its history, what the viewer may do now (as
//! `Order::actions_for` says), the reviews they may see and their review form, and the
//! messages between buyer and seller.

use maud::{Markup, html};

use crate::domain::conversation::{Conversation, Message};
use crate::domain::item::{Currency, group_thousands};
use crate::domain::order::{
    AUTO_RECEIVE_DAYS, Action, Order, OrderState, Party, SHIP_NOTE_MAX_CHARS,
};
use crate::domain::review::{BLIND_DAYS, REVIEW_MAX_CHARS, Review};
use crate::storage::db::OwnPage;
use crate::web::conversation_views::{ask_form, reply_form, thread};
use crate::web::trade_views::{
    BEFORE_PARAM, Refused, TEXT_FIELD, alert, at, conversation_path, csrf_field, item_path, money,
    on, order_path, orders_path, person_link, review_entry, text_area, the,
};
use crate::web::views::{Header, layout};

/// The field of the shipping note.
pub const NOTE_FIELD: &str = "note";
/// The field of a review's rating.
pub const RATING_FIELD: &str = "rating";

/// An order's state as its page says it.
fn state_text(state: OrderState) -> &'static str {
    match state {
        OrderState::Placed => "Placed, not shipped yet",
        OrderState::Shipped => "Shipped",
        OrderState::Received => "Received",
        OrderState::Cancelled => "Cancelled",
    }
}

fn total(order: &Order) -> Option<i64> {
    order
        .price_cents
        .map(|cents| cents * i64::from(order.quantity))
}

/// Everything the list of the viewer's purchases or sales shows.
pub struct OrdersView<'a> {
    /// Whose orders: the viewer's as buyer (purchases) or as seller (sales).
    pub party: Party,
    pub orders: &'a [Order],
    pub currency: &'a Currency,
    pub header: Header<'a>,
}

/// `/orders?role=buyer` ("My purchases") and `/orders?role=seller` ("My sales", those to
/// ship first).
pub fn orders_page(view: &OrdersView) -> Markup {
    let selling = view.party == Party::Seller;
    let title = if selling { "My sales" } else { "My purchases" };
    let to_ship = view
        .orders
        .iter()
        .filter(|order| selling && order.state == OrderState::Placed)
        .count();
    let content = html! {
        h1 { (title) }
        nav.tabs aria-label="Orders" {
            a href=(orders_path(Party::Buyer)) aria-current=[(!selling).then_some("page")] { "My purchases" }
            a href=(orders_path(Party::Seller)) aria-current=[selling.then_some("page")] { "My sales" }
        }
        @if to_ship > 0 {
            p.notice { "You have " (to_ship) " order" @if to_ship > 1 { "s" } " to ship: they come first." }
        }
        @if view.orders.is_empty() {
            p.empty { @if selling { "Nobody has ordered from you yet." }
                      @else { "You have not ordered anything yet. " a href="/" { "See what is for sale" } "." } }
        } @else {
            table.records {
                caption { @if selling { "Orders of what you sell, those to ship first, then newest first" }
                          @else { "What you ordered, newest first" } }
                thead { tr {
                    th scope="col" { "Order" } th scope="col" { "Item" } th scope="col" { "Quantity" }
                    th scope="col" { "Total" } th scope="col" { @if selling { "Buyer" } @else { "Seller" } }
                    th scope="col" { "Status" } th scope="col" { "Ordered" }
                } }
                tbody {
                    @for order in view.orders {
                        @let ship = selling && order.state == OrderState::Placed;
                        tr.to-ship[ship] #{ "order-" (order.id) } {
                            td { a href=(order_path(order.id)) { "Order " (order.id) } }
                            td { a href=(item_path(order.item_id)) { (order.item_name) } }
                            td { (group_thousands(i64::from(order.quantity))) }
                            td { (money(view.currency, total(order))) }
                            td { @if selling { (order.buyer_name) } @else { (order.seller_name) } }
                            td { @if ship { strong.to-ship-label { "To ship" } } @else { (state_text(order.state)) } }
                            td { (on(&order.placed_at)) }
                        }
                    }
                }
            }
        }
    };
    layout(title, &view.header, content)
}

/// The messages between an order's buyer and seller.
pub enum Thread<'a> {
    /// The buyer's conversation about the item, and its newest messages.
    Started(&'a Conversation, &'a OwnPage<Message>),
    /// The buyer has not written about the item.
    NotStarted,
}

/// Which of an order page's forms was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderForm {
    /// Ship, receive or cancel.
    Action,
    Review,
}

/// Everything an order's page shows.
pub struct OrderView<'a> {
    pub order: &'a Order,
    /// What the viewer is in it.
    pub viewer: Party,
    pub currency: &'a Currency,
    /// The reviews the viewer may see.
    pub reviews: &'a [Review],
    pub thread: Thread<'a>,
    pub csrf_token: &'a str,
    pub header: Header<'a>,
    pub refused: Option<(OrderForm, Refused<'a>)>,
}

impl OrderView<'_> {
    fn viewer_id(&self) -> i64 {
        match self.viewer {
            Party::Buyer => self.order.buyer_id,
            Party::Seller => self.order.seller_id,
        }
    }

    fn refused(&self, form: OrderForm) -> Option<&Refused<'_>> {
        self.refused
            .as_ref()
            .filter(|(which, _)| *which == form)
            .map(|(_, refused)| refused)
    }
}

/// `/orders/{id}`.
pub fn order_page(view: &OrderView) -> Markup {
    let order = view.order;
    let viewer = Some(view.viewer_id());
    let title = format!("Order {}", order.id);
    let content = html! {
        h1 { (title) }
        dl.order-summary {
            dt { "Item" } dd { a href=(item_path(order.item_id)) { (order.item_name) } }
            dt { "Quantity" } dd { (group_thousands(i64::from(order.quantity))) }
            dt { "Price per unit" } dd { (money(view.currency, order.price_cents)) }
            dt { "Total" } dd { (money(view.currency, total(order))) }
            dt { "Status" } dd { (state_text(order.state)) }
            dt { "Buyer" } dd { (person_link(order.buyer_id, &order.buyer_name, viewer)) }
            dt { "Seller" } dd { (person_link(order.seller_id, &order.seller_name, viewer)) }
        }
        (history(view))
        (actions(view))
        (reviews(view))
        (messages(view))
        p { a href=(orders_path(view.viewer)) {
            @if view.viewer == Party::Seller { "Back to my sales" } @else { "Back to my purchases" } } }
    };
    layout(&title, &view.header, content)
}

/// What happened to the order, in order.
fn history(view: &OrderView) -> Markup {
    let order = view.order;
    html! {
        section aria-labelledby="history-heading" {
            h2 #history-heading { "History" }
            ol.history {
                li { "Placed " (at(&order.placed_at)) }
                @if let Some(shipped) = &order.shipped_at {
                    li {
                        "Shipped " (at(shipped))
                        @if let Some(note) = order.ship_note.as_deref().filter(|note| !note.is_empty()) {
                            ": " span.ship-note { (note) }
                        }
                    }
                }
                @if let Some(received) = &order.received_at {
                    li {
                        "Received " (at(received))
                        @if order.received_automatically {
                            " (automatically, " (AUTO_RECEIVE_DAYS) " days after shipping)"
                        }
                    }
                }
                @if let Some(cancelled) = &order.cancelled_at {
                    li {
                        "Cancelled "
                        @match order.cancelled_by {
                            Some(party) if party == view.viewer => "by you ",
                            Some(party) => { "by " (the(party)) " " },
                            None => "",
                        }
                        (at(cancelled))
                    }
                }
            }
        }
    }
}

/// The forms of the actions the viewer may take now, and why the last one was refused.
fn actions(view: &OrderView) -> Markup {
    let order = view.order;
    let actions = order.actions_for(view.viewer);
    let refused = view.refused(OrderForm::Action);
    if actions.is_empty() && refused.is_none() {
        return html! {};
    }
    let note_error = refused
        .filter(|refused| refused.errors.get(NOTE_FIELD).is_some())
        .map(|_| "action-error");
    html! {
        section aria-labelledby="actions-heading" {
            h2 #actions-heading { "What you can do" }
            @if let Some(refused) = refused { (alert("action-error", refused.message)) }
            @if actions.is_empty() { p { "Nothing more to do on this order now." } }
            @for action in actions {
                form.order-action method="post" action={ (order_path(order.id)) "/" (action.as_str()) } {
                    (csrf_field(view.csrf_token))
                    @match action {
                        Action::Ship => {
                            div.field {
                                label for="note" { "Carrier and tracking number (optional)" }
                                input #note type="text" name=(NOTE_FIELD) maxlength=(SHIP_NOTE_MAX_CHARS)
                                    value=(refused.map_or("", |refused| refused.form.value(NOTE_FIELD)))
                                    aria-invalid=[note_error.map(|_| "true")] aria-describedby=[note_error];
                            }
                            button type="submit" { "Mark as shipped" }
                        },
                        Action::Receive => {
                            button type="submit" { "Mark as received" }
                        },
                        Action::Cancel => {
                            p.hint { "Cancelling puts the units back on sale." }
                            button.danger type="submit" { "Cancel this order" }
                        },
                    }
                }
            }
        }
    }
}

/// The reviews the viewer may see, and their review form once the order is received.
fn reviews(view: &OrderView) -> Markup {
    let order = view.order;
    let viewer = view.viewer_id();
    let refused = view.refused(OrderForm::Review);
    let written = view.reviews.iter().any(|review| review.author_id == viewer);
    let other = the(view.viewer.other());
    html! {
        section aria-labelledby="reviews-heading" {
            h2 #reviews-heading { "Reviews" }
            @if let Some(refused) = refused {
                @if refused.errors.is_empty() { (alert("review-error", refused.message)) }
                @else { (alert("review-error", "Please correct the fields marked below.")) }
            }
            @if !view.reviews.is_empty() {
                ol.reviews { @for review in view.reviews { (review_entry(review, Some(viewer))) } }
            }
            @if written && view.reviews.len() == 1 {
                p.hint { "Reviews are blind: " (other) " sees yours once they have written theirs, or "
                         (BLIND_DAYS) " days after the order was received." }
            }
            @if order.state == OrderState::Received && !written {
                (review_form(view, refused))
            } @else if order.state == OrderState::Cancelled {
                p { "A cancelled order is not reviewed." }
            } @else if order.state != OrderState::Received {
                p { "Once the order is received, buyer and seller can review each other." }
            }
        }
    }
}

fn review_form(view: &OrderView, refused: Option<&Refused>) -> Markup {
    let error = |field: &str| refused.and_then(|refused| refused.errors.get(field));
    let typed = |field: &str| refused.map_or("", |refused| refused.form.value(field));
    let rating_error = error(RATING_FIELD).map(|_| "rating-error");
    let text_error = error(TEXT_FIELD).map(|_| "review-text-error");
    html! {
        p.hint #review-hint {
            "Reviews are blind: yours is shown once " (the(view.viewer.other()))
            " has written theirs, or " (BLIND_DAYS) " days after the order was received. "
            "A review cannot be changed."
        }
        form #review-form method="post" action={ (order_path(view.order.id)) "/review" } {
            (csrf_field(view.csrf_token))
            fieldset.rating-choice aria-describedby=[rating_error] {
                legend { "Your rating of " (the(view.viewer.other())) }
                @for rating in 1..=5 {
                    @let id = format!("rating-{rating}");
                    span.choice {
                        input type="radio" id=(id) name=(RATING_FIELD) value=(rating) required
                            checked[typed(RATING_FIELD) == rating.to_string()];
                        label for=(id) { (rating) " of 5" }
                    }
                }
                @if let Some(message) = error(RATING_FIELD) {
                    p.field-error #rating-error { (message) }
                }
            }
            (text_area("review-text", "Your review (optional)", REVIEW_MAX_CHARS, false,
                typed(TEXT_FIELD), text_error))
            @if let Some(message) = error(TEXT_FIELD) {
                p.field-error #review-text-error { (message) }
            }
            button type="submit" { "Publish review" }
        }
    }
}

/// The messages between buyer and seller, and the way to write.
fn messages(view: &OrderView) -> Markup {
    let order = view.order;
    html! {
        section aria-labelledby="messages-heading" {
            h2 #messages-heading { "Messages" }
            @match view.thread {
                Thread::Started(conversation, page) => {
                    @if let Some(next) = page.next {
                        p { a href={ (conversation_path(conversation.id)) "?" (BEFORE_PARAM) "=" (next) } { "Older messages" } }
                    }
                    @if page.entries.is_empty() { p.empty { "No messages yet." } }
                    @else { (thread(&page.entries, view.viewer_id(), false)) }
                    (reply_form(conversation.id, view.csrf_token, None))
                },
                Thread::NotStarted => {
                    @if view.viewer == Party::Buyer {
                        (ask_form(order.item_id, "Write to the seller", view.csrf_token, None))
                    } @else {
                        p { "The buyer has not written to you about this item." }
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::item::FieldErrors;
    use crate::web::form::PostedForm;
    use crate::web::trade_views::tests::signed_in;

    fn order(state: OrderState) -> Order {
        let at = "2026-11-22T10:00:00.000000Z".to_owned();
        Order {
            id: 8,
            item_id: 5,
            item_name: "Lamp".into(),
            quantity: 2,
            price_cents: Some(1_250),
            buyer_id: 1,
            buyer_name: "Ada".into(),
            seller_id: 2,
            seller_name: "Bo".into(),
            state,
            placed_at: at.clone(),
            shipped_at: matches!(state, OrderState::Shipped | OrderState::Received)
                .then(|| at.clone()),
            ship_note: Some("DHL <123>".into()),
            received_at: (state == OrderState::Received).then(|| at.clone()),
            received_automatically: true,
            cancelled_at: (state == OrderState::Cancelled).then(|| at.clone()),
            cancelled_by: (state == OrderState::Cancelled).then_some(Party::Seller),
        }
    }

    fn render(order: &Order, viewer: Party, refused: Option<(OrderForm, Refused)>) -> String {
        order_page(&OrderView {
            order,
            viewer,
            currency: &Currency::parse("EUR").unwrap(),
            reviews: &[],
            thread: Thread::NotStarted,
            csrf_token: "tok",
            header: signed_in(),
            refused,
        })
        .into_string()
    }

    #[test]
    fn the_order_page_offers_exactly_the_actions_the_order_allows() {
        let states = [
            OrderState::Placed,
            OrderState::Shipped,
            OrderState::Received,
            OrderState::Cancelled,
        ];
        for state in states {
            for party in [Party::Buyer, Party::Seller] {
                let order = order(state);
                let html = render(&order, party, None);
                let offered: Vec<Action> = [Action::Ship, Action::Receive, Action::Cancel]
                    .into_iter()
                    .filter(|action| {
                        html.contains(&format!(r#"action="/orders/8/{}""#, action.as_str()))
                    })
                    .collect();
                assert_eq!(offered, order.actions_for(party), "{state:?} {party:?}");
                assert_eq!(html.matches("<h1>").count(), 1);
            }
        }
    }

    #[test]
    fn the_order_page_says_what_happened_and_who_is_who() {
        let received = order(OrderState::Received);
        let html = render(&received, Party::Buyer, None);
        assert!(html.contains(r#"<a href="/items/5">Lamp</a>"#), "{html}");
        assert!(html.contains("12.50 EUR") && html.contains("25.00 EUR"));
        assert!(html.contains(r#"<a href="/people/1">Ada</a> (you)"#));
        assert!(html.contains(r#"<a href="/people/2">Bo</a>"#));
        assert!(html.contains(r#"<span class="ship-note">DHL &lt;123&gt;</span>"#));
        assert!(html.contains("(automatically, 14 days after shipping)"));
        assert!(html.contains(r#"action="/orders/8/review""#), "{html}");
        assert!(html.contains("<legend>Your rating of the seller</legend>"));
        assert!(html.contains(r#"<label for="rating-5">5 of 5</label>"#));
        assert!(html.contains(r#"maxlength="1000""#));
        assert!(
            html.contains(r#"action="/items/5/ask""#),
            "the buyer may write"
        );
        let html = render(&received, Party::Seller, None);
        assert!(html.contains("The buyer has not written"));
        assert!(!html.contains(r#"action="/items/5/ask""#));
        let cancelled = order(OrderState::Cancelled);
        let html = render(&cancelled, Party::Buyer, None);
        assert!(html.contains("Cancelled by the seller"), "{html}");
        assert!(!html.contains("/review"));
    }

    #[test]
    fn a_refused_form_shows_why_and_keeps_what_was_typed() {
        let form = PostedForm::parse(b"rating=4&text=Too+long");
        let errors = FieldErrors::single(TEXT_FIELD, "A review may be at most 1000 characters.");
        let received = order(OrderState::Received);
        let html = render(
            &received,
            Party::Seller,
            Some((
                OrderForm::Review,
                Refused {
                    message: "Some fields are not valid.",
                    errors: &errors,
                    form: &form,
                },
            )),
        );
        assert!(html.contains(r#"role="alert">Please correct the fields marked below."#));
        assert!(
            html.contains(r#"id="review-text-error">A review may be at most"#),
            "{html}"
        );
        assert!(html.contains(r#"aria-describedby="review-text-error""#));
        assert!(html.contains(r#"value="4" required checked"#), "{html}");
        assert!(html.contains(">Too long</textarea>"));
        let shipped = order(OrderState::Received);
        let conflict = PostedForm::default();
        let html = render(
            &shipped,
            Party::Buyer,
            Some((
                OrderForm::Action,
                Refused {
                    message: "This order is received: it cannot be cancelled.",
                    errors: &FieldErrors::default(),
                    form: &conflict,
                },
            )),
        );
        assert!(html.contains(
            r#"<p class="alert" id="action-error" role="alert">This order is received: it cannot be cancelled.</p>"#
        ), "shown though no action is left: {html}");
    }
}
