//! The HTML of trading between people, shared parts first: addresses, times, prices,
//! people, reviews and refused forms; then a person's public profile (`/people/{id}`)
//! and their notices (`/notices`). Orders are `order_views`', conversations
//! `conversation_views`'. Every text people wrote is escaped by maud and shown as plain
//! text.

use maud::{Markup, html};

use crate::domain::item::{Currency, FieldErrors, Item, Price};
use crate::domain::notice::Notice;
use crate::domain::order::Party;
use crate::domain::review::Review;
use crate::storage::db::OwnPage;
use crate::storage::profiles::Profile;
use crate::web::csrf::CSRF_FIELD;
use crate::web::form::PostedForm;
use crate::web::views::{Header, layout};

/// The list of the viewer's orders (`?role=buyer` or `?role=seller`).
pub const ORDERS: &str = "/orders";
/// The query parameter of the orders list: whose orders.
pub const ROLE_PARAM: &str = "role";
/// The viewer's conversations.
pub const INBOX: &str = "/conversations";
/// The viewer's unseen notices, and the form that marks them seen.
pub const NOTICES: &str = "/notices";
pub const NOTICES_SEEN: &str = "/notices/seen";
/// The query parameter of the cursor of older messages or reviews.
pub const BEFORE_PARAM: &str = "before";
/// The field of a message, a question and a review's text.
pub const TEXT_FIELD: &str = "text";

pub fn order_path(id: i64) -> String {
    format!("{ORDERS}/{id}")
}

pub fn orders_path(party: Party) -> String {
    format!("{ORDERS}?{ROLE_PARAM}={}", party.as_str())
}

pub fn conversation_path(id: i64) -> String {
    format!("{INBOX}/{id}")
}

pub fn person_path(id: i64) -> String {
    format!("/people/{id}")
}

pub fn item_path(id: i64) -> String {
    format!("/items/{id}")
}

pub fn ask_path(item: i64) -> String {
    format!("/items/{item}/ask")
}

/// A time as people read it (`2026-11-22 10:00 UTC`), from RFC 3339 in UTC.
fn minute(time: &str) -> String {
    match (time.get(..10), time.get(11..16)) {
        (Some(day), Some(clock)) => format!("{day} {clock} UTC"),
        _ => time.to_owned(),
    }
}

/// A moment, to the minute, with its machine-readable time.
pub(crate) fn at(time: &str) -> Markup {
    html! { time datetime=(time) { (minute(time)) } }
}

/// A day, with its machine-readable time.
pub(crate) fn on(time: &str) -> Markup {
    html! { time datetime=(time) { (time.get(..10).unwrap_or(time)) } }
}

/// An amount in cents in the shop's currency, or that it was not recorded.
pub(crate) fn money(currency: &Currency, cents: Option<i64>) -> String {
    match cents.map(Price::from_cents) {
        Some(Ok(price)) => currency.format(price),
        _ => "Not recorded".to_owned(),
    }
}

/// Someone's name linking to their profile, marked when it is the viewer.
pub(crate) fn person_link(id: i64, name: &str, viewer: Option<i64>) -> Markup {
    html! {
        a href=(person_path(id)) { (name) }
        @if viewer == Some(id) { " (you)" }
    }
}

/// What a party is called in a sentence: "the buyer".
pub(crate) fn the(party: Party) -> &'static str {
    match party {
        Party::Buyer => "the buyer",
        Party::Seller => "the seller",
    }
}

/// A form the viewer sent that was refused, to show with its page again: why, the
/// mistakes by field, and what was typed.
pub struct Refused<'a> {
    pub message: &'a str,
    pub errors: &'a FieldErrors,
    pub form: &'a PostedForm,
}

/// Why a form was refused, as an alert a screen reader announces; `id` is what the
/// form's controls point at with `aria-describedby`.
pub(crate) fn alert(id: &str, message: &str) -> Markup {
    html! { p.alert id=(id) role="alert" { (message) } }
}

/// A textarea for `text` with its label, kept as typed after a refusal and pointing at
/// the alert that says why (`error_id`).
pub(crate) fn text_area(
    id: &str,
    label: &str,
    max_chars: usize,
    required: bool,
    typed: &str,
    error_id: Option<&str>,
) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            textarea id=(id) name=(TEXT_FIELD) rows="4" maxlength=(max_chars) required[required]
                aria-invalid=[error_id.map(|_| "true")] aria-describedby=[error_id] { (typed) }
        }
    }
}

/// The hidden field every form that writes carries.
pub(crate) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// A review: who wrote it about whom, the rating in words, its text and day. `viewer`
/// marks the viewer's own (none on public pages).
pub(crate) fn review_entry(review: &Review, viewer: Option<i64>) -> Markup {
    html! {
        li.review #{ "review-" (review.id) } {
            p.review-meta {
                (person_link(review.author_id, &review.author_name, viewer))
                " reviewed " (the(review.subject_role)) " · " (on(&review.written_at))
            }
            p.rating { "Rated " strong { (review.rating) " of 5" } }
            @if !review.text.is_empty() {
                p.review-text { (review.text) }
            }
        }
    }
}

/// Everything a public profile shows; nothing about the visitor but the header.
pub struct ProfileView<'a> {
    pub profile: &'a Profile,
    pub reviews: &'a OwnPage<Review>,
    /// Whether this is a page of older reviews (`?before=`).
    pub older: bool,
    pub for_sale: &'a [Item],
    pub currency: &'a Currency,
    pub header: Header<'a>,
}

/// `/people/{id}`: who they are, their ratings, their reviews and what they sell.
pub fn profile_page(view: &ProfileView) -> Markup {
    let profile = view.profile;
    let path = person_path(profile.id);
    let content = html! {
        h1 { (profile.display_name) }
        p { "Member since " (on(&profile.joined_at)) }
        dl.ratings {
            dt { "As a seller" } dd { (profile.as_seller.describe()) }
            dt { "As a buyer" } dd { (profile.as_buyer.describe()) }
        }
        section aria-labelledby="reviews-heading" {
            h2 #reviews-heading { @if view.older { "Older reviews" } @else { "Reviews" } }
            @if view.reviews.entries.is_empty() {
                p.empty { @if view.older { "There are no older reviews." } @else { "No reviews yet." } }
            } @else {
                ol.reviews { @for review in &view.reviews.entries { (review_entry(review, None)) } }
            }
            @if view.older || view.reviews.next.is_some() {
                nav.pagination aria-label="Pages of reviews" {
                    @if view.older { a href=(path) { "Newest reviews" } }
                    @if let Some(next) = view.reviews.next {
                        a rel="next" href={ (path) "?" (BEFORE_PARAM) "=" (next) } { "Older reviews" }
                    }
                }
            }
        }
        section aria-labelledby="for-sale-heading" {
            h2 #for-sale-heading { "For sale" }
            @if view.for_sale.is_empty() {
                p.empty { "Nothing for sale right now." }
            } @else {
                ul.for-sale {
                    @for item in view.for_sale {
                        li { a href=(item_path(item.id)) { (item.name) } " · " (view.currency.format(item.price())) }
                    }
                }
            }
        }
    };
    layout(&profile.display_name, &view.header, content)
}

/// `/notices`: what happened that the viewer has not seen, newest first, each leading
/// to its page, and the form that marks them all seen.
pub fn notices_page(notices: &[Notice], csrf_token: &str, header: &Header) -> Markup {
    let content = html! {
        h1 { "Notices" }
        @if notices.is_empty() {
            p.empty { "Nothing new. " a href=(INBOX) { "Your inbox" } " · " a href=(ORDERS) { "Your orders" } }
        } @else {
            ol.notices {
                @for notice in notices {
                    li #{ "notice-" (notice.id) } {
                        a href=(notice.path()) { (notice.kind.describe()) ": " (notice.item_name) }
                        " · " (at(&notice.created_at))
                    }
                }
            }
            form method="post" action=(NOTICES_SEEN) {
                (csrf_field(csrf_token))
                button type="submit" { "Mark all as seen" }
            }
        }
    };
    layout("Notices", header, content)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::notice::NoticeKind;
    use crate::domain::review::RatingSummary;

    pub(crate) fn signed_in() -> Header<'static> {
        Header::SignedIn {
            name: "Ada",
            csrf_token: "tok",
            unseen: crate::domain::notice::Unseen {
                notices: 3,
                messages: 2,
            },
        }
    }

    fn review(id: i64, author: &str, text: &str) -> Review {
        Review {
            id,
            order_id: 1,
            author_id: 2,
            author_name: author.into(),
            subject_id: 1,
            subject_role: Party::Seller,
            rating: 4,
            text: text.into(),
            written_at: "2026-11-22T10:00:00.000000Z".into(),
            visible: true,
        }
    }

    #[test]
    fn the_header_leads_to_inbox_orders_and_notices_with_their_count() {
        let html = notices_page(&[], "tok", &signed_in()).into_string();
        assert!(
            html.contains(r#"<a href="/conversations">Inbox (2 unread)</a>"#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="/orders">Orders</a>"#), "{html}");
        assert!(html.contains(r#"Notices (3 unseen)"#), "{html}");
        let none = Header::SignedIn {
            name: "Ada",
            csrf_token: "tok",
            unseen: crate::domain::notice::Unseen::default(),
        };
        let html = notices_page(&[], "tok", &none).into_string();
        assert!(html.contains(r#"<a href="/notices">Notices</a>"#), "{html}");
        assert!(
            !html.contains("Mark all as seen"),
            "nothing to mark: {html}"
        );
    }

    #[test]
    fn a_notice_leads_to_its_page_and_names_its_item() {
        let notices = [Notice {
            id: 9,
            kind: NoticeKind::OrderToShip,
            order_id: Some(4),
            conversation_id: None,
            item_name: "Lamp <b>".into(),
            created_at: "2026-11-22T10:05:00.000000Z".into(),
        }];
        let html = notices_page(&notices, "tok", &signed_in()).into_string();
        assert!(
            html.contains(r#"<a href="/orders/4">An order to ship: Lamp &lt;b&gt;</a>"#),
            "{html}"
        );
        assert!(html.contains(
            r#"<time datetime="2026-11-22T10:05:00.000000Z">2026-11-22 10:05 UTC</time>"#
        ));
        assert!(html.contains(r#"action="/notices/seen""#));
        assert!(html.contains(r#"name="csrf_token" value="tok""#));
    }

    #[test]
    fn a_profile_shows_ratings_reviews_and_listings_and_nothing_of_the_visitor() {
        let profile = Profile {
            id: 1,
            display_name: "Bo".into(),
            joined_at: "2026-01-02T03:04:05.000000Z".into(),
            as_seller: RatingSummary {
                average_tenths: Some(40),
                count: 1,
            },
            as_buyer: RatingSummary {
                average_tenths: None,
                count: 0,
            },
        };
        let reviews = OwnPage {
            entries: vec![review(7, "Cy", "Fast <i>and</i> kind")],
            next: Some(7),
        };
        let lamp = crate::web::views::tests::item(5, "Lamp");
        let html = profile_page(&ProfileView {
            profile: &profile,
            reviews: &reviews,
            older: false,
            for_sale: std::slice::from_ref(&lamp),
            currency: &Currency::parse("EUR").unwrap(),
            header: Header::SignedOut,
        })
        .into_string();
        assert!(html.contains("<h1>Bo</h1>"), "{html}");
        assert!(html.contains("Member since <time"), "{html}");
        assert!(html.contains("4.0 of 5 (1 review)"));
        assert!(html.contains("No reviews yet"));
        assert!(html.contains(r#"<a href="/people/2">Cy</a> reviewed the seller"#));
        assert!(html.contains("Rated <strong>4 of 5</strong>"));
        assert!(html.contains("Fast &lt;i&gt;and&lt;/i&gt; kind"));
        assert!(html.contains(r#"href="/people/1?before=7""#));
        assert!(html.contains(r#"<a href="/items/5">Lamp</a> · 1,234.50 EUR"#));
        assert!(!html.contains("(you)"));
        assert!(!html.contains("<form"));
    }
}
