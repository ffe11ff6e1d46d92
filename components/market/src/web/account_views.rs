//! The HTML of the pages about a person: signing up and in, their account (API tokens,
//! signing out everywhere), what they bought, what they list, and a seller's edit form.
//! Built from `views`' layout and fields, escaped by maud.

use maud::{Markup, html};

use crate::domain::account::{
    ApiTokenInfo, DISPLAY_NAME_MAX_CHARS, EMAIL_MAX_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS,
    Person, TOKEN_NAME_MAX_CHARS, field as account_field,
};
use crate::domain::item::{
    Currency, DESCRIPTION_MAX_CHARS, FieldErrors, Item, Price, PurchaseLine, QUANTITY_MAX,
    SellerListing, field, group_thousands,
};
use crate::storage::db::OwnPage;
use crate::web::cookies::Notice;
use crate::web::csrf::CSRF_FIELD;
use crate::web::form::PostedForm;
use crate::web::photo_views;
use crate::web::views::{Header, labelled_field, layout, listed_on, notice, paths};

/// The query parameter of the cursor of an older page of someone's records.
pub const BEFORE_PARAM: &str = "before";
pub use crate::web::views::paths::NEXT_FIELD;

/// What a credentials form shows: what was typed (never the password), the mistakes,
/// and a message about the whole form.
pub struct CredentialsView<'a> {
    pub form: &'a PostedForm,
    pub errors: &'a FieldErrors,
    pub message: Option<&'a str>,
    pub csrf_token: &'a str,
    /// Where to go once signed in.
    pub next: &'a str,
}

fn form_message(message: Option<&str>, errors: &FieldErrors) -> Markup {
    html! {
        @if let Some(message) = message {
            p.alert #form-errors role="alert" { (message) }
        } @else if !errors.is_empty() {
            p.alert #form-errors role="alert" { "Please correct the fields marked below." }
        }
    }
}

fn aria(errors: &FieldErrors, name: &str) -> (Option<&'static str>, Option<String>) {
    match errors.get(name) {
        Some(_) => (Some("true"), Some(format!("{name}-error"))),
        None => (None, None),
    }
}

fn email_field(view: &CredentialsView, autocomplete: &str) -> Markup {
    let (invalid, described) = aria(view.errors, account_field::EMAIL);
    labelled_field(
        account_field::EMAIL,
        "Email",
        view.errors,
        html! {
            input #email type="email" name=(account_field::EMAIL)
                value=(view.form.value(account_field::EMAIL)) maxlength=(EMAIL_MAX_CHARS)
                autocomplete=(autocomplete) required
                aria-invalid=[invalid] aria-describedby=[described];
        },
    )
}

fn password_field(view: &CredentialsView, label: &str, autocomplete: &str) -> Markup {
    let (invalid, described) = aria(view.errors, account_field::PASSWORD);
    let hint =
        (autocomplete == "new-password").then(|| format!("{}-hint", account_field::PASSWORD));
    let described = match (described, &hint) {
        (Some(error), Some(hint)) => Some(format!("{hint} {error}")),
        (error, hint) => error.or(hint.clone()),
    };
    html! {
        (labelled_field(account_field::PASSWORD, label, view.errors, html! {
            input #password type="password" name=(account_field::PASSWORD)
                maxlength=(PASSWORD_MAX_CHARS) autocomplete=(autocomplete) required
                aria-invalid=[invalid] aria-describedby=[described];
        }))
        @if let Some(hint) = hint {
            p.hint id=(hint) { "At least " (PASSWORD_MIN_CHARS) " characters." }
        }
    }
}

/// `/account/sign-up`.
pub fn sign_up_page(view: &CredentialsView) -> Markup {
    let (invalid, described) = aria(view.errors, account_field::DISPLAY_NAME);
    let content = html! {
        h1 { "Create an account" }
        (form_message(view.message, view.errors))
        form #sign-up-form method="post" action=(paths::SIGN_UP) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(view.csrf_token);
            input type="hidden" name=(NEXT_FIELD) value=(view.next);
            (email_field(view, "email"))
            (labelled_field(account_field::DISPLAY_NAME, "Your name, as buyers will see it", view.errors, html! {
                input #display_name type="text" name=(account_field::DISPLAY_NAME)
                    value=(view.form.value(account_field::DISPLAY_NAME))
                    maxlength=(DISPLAY_NAME_MAX_CHARS) autocomplete="nickname" required
                    aria-invalid=[invalid] aria-describedby=[described];
            }))
            (password_field(view, "Password", "new-password"))
            button type="submit" { "Create account" }
        }
        p { "Already have an account? " a href=(paths::SIGN_IN) { "Sign in" } }
    };
    layout("Create an account", &Header::SignedOut, content)
}

/// `/account/sign-in`.
pub fn sign_in_page(view: &CredentialsView, notice_shown: Option<Notice>) -> Markup {
    let content = html! {
        h1 { "Sign in" }
        (notice(notice_shown.map(|n| (n, None))))
        (form_message(view.message, view.errors))
        form #sign-in-form method="post" action=(paths::SIGN_IN) novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(view.csrf_token);
            input type="hidden" name=(NEXT_FIELD) value=(view.next);
            (email_field(view, "username"))
            (password_field(view, "Password", "current-password"))
            button type="submit" { "Sign in" }
        }
        p { a href=(crate::web::email_views::FORGOT) { "Forgot your password?" } }
        p { "New here? " a href=(paths::SIGN_UP) { "Create an account" } }
    };
    layout("Sign in", &Header::SignedOut, content)
}

/// Everything the account page shows.
pub struct AccountView<'a> {
    pub person: &'a Person,
    pub tokens: &'a [ApiTokenInfo],
    /// A token just created, shown this once.
    pub new_token: Option<&'a str>,
    pub token_form: &'a PostedForm,
    pub errors: &'a FieldErrors,
    pub notice: Option<Notice>,
    pub csrf_token: &'a str,
    /// Notices the person has not seen, for the header.
    pub unseen: crate::domain::notice::Unseen,
    /// Their address, and whether it is verified.
    pub email: &'a crate::domain::email::EmailStatus,
}

/// `/account`: who is signed in, their API tokens, and signing out everywhere.
pub fn account_page(view: &AccountView) -> Markup {
    let (invalid, described) = aria(view.errors, account_field::TOKEN_NAME);
    let content = html! {
        h1 { "Your account" }
        (notice(view.notice.map(|n| (n, None))))
        p { "Signed in as " strong { (view.person.display_name) } ". "
            a href="/account/profile" { "Change your display name or password" } " · "
            a href={ "/people/" (view.person.id.get()) } { "Your public profile" } }
        p #account-email { "Email: " (view.email.email) " · "
            @if view.email.verified_at.is_some() { strong { "verified" } } @else { strong { "not verified yet" } }
            " · " a href=(crate::web::email_views::EMAIL_PAGE) {
                @if view.email.verified_at.is_some() { "Email settings" } @else { "Verify it, and email settings" }
            } }
        section aria-labelledby="tokens-heading" {
            h2 #tokens-heading { "API tokens" }
            p { "Programs use a token to list, change and buy items through the API, as "
                code { "Authorization: Bearer <token>" } "." }
            @if let Some(token) = view.new_token {
                div.notice #new-token role="status" {
                    p { "Your new token. Copy it now: it is shown only this once." }
                    p { code #new-token-value { (token) } }
                }
            }
            (form_message(None, view.errors))
            form #token-form method="post" action=(paths::TOKENS) novalidate {
                input type="hidden" name=(CSRF_FIELD) value=(view.csrf_token);
                (labelled_field(account_field::TOKEN_NAME, "Token name", view.errors, html! {
                    input #token_name type="text" name=(account_field::TOKEN_NAME)
                        value=(view.token_form.value(account_field::TOKEN_NAME))
                        maxlength=(TOKEN_NAME_MAX_CHARS) required
                        aria-invalid=[invalid] aria-describedby=[described];
                }))
                button type="submit" { "Create token" }
            }
            @if view.tokens.is_empty() {
                p.empty { "You have no tokens yet." }
            } @else {
                table.records {
                    caption { "Your tokens, newest first" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Created" }
                                 th scope="col" { "Last used" } th scope="col" { "Status" } } }
                    tbody {
                        @for token in view.tokens {
                            tr #{ "token-" (token.id) } {
                                td { (token.name) }
                                td { (day(&token.created_at)) }
                                td { (token.last_used_at.as_deref().map_or("Never", day)) }
                                td {
                                    @if let Some(revoked) = &token.revoked_at {
                                        "Revoked " (day(revoked))
                                    } @else {
                                        form method="post" action={ (paths::TOKENS) "/" (token.id) "/revoke" } {
                                            input type="hidden" name=(CSRF_FIELD) value=(view.csrf_token);
                                            button type="submit" { "Revoke" span.visually-hidden { " " (token.name) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="devices-heading" {
            h2 #devices-heading { "Signed in elsewhere?" }
            form method="post" action=(paths::SIGN_OUT_EVERYWHERE) {
                input type="hidden" name=(CSRF_FIELD) value=(view.csrf_token);
                button type="submit" { "Sign out on every device" }
            }
        }
    };
    layout(
        "Your account",
        &Header::for_viewer(Some(view.person), view.csrf_token, view.unseen),
        content,
    )
}

fn day(time: &str) -> &str {
    time.get(..10).unwrap_or(time)
}

fn older_link(path: &str, next: Option<i64>) -> Markup {
    html! {
        @if let Some(next) = next {
            nav.pagination aria-label="Pages" {
                a rel="next" href={ (path) "?" (BEFORE_PARAM) "=" (next) } { "Older" }
            }
        }
    }
}

/// Everything a page of someone's own records shows.
pub struct RecordsView<'a, T> {
    pub person: &'a Person,
    pub page: &'a OwnPage<T>,
    /// Whether this is an older page (`?before=`).
    pub older: bool,
    pub currency: &'a Currency,
    pub csrf_token: &'a str,
    /// Notices the person has not seen, for the header.
    pub unseen: crate::domain::notice::Unseen,
}

/// `/account/purchases`: what the person bought, newest first.
pub fn purchases_page(view: &RecordsView<PurchaseLine>) -> Markup {
    let content = html! {
        h1 { "My purchases" }
        @if view.page.entries.is_empty() {
            p.empty { @if view.older { "There are no older purchases." } @else {
                "You have not bought anything yet. " a href="/" { "See what is for sale" } "." } }
        } @else {
            table.records {
                caption { "What you bought, newest first" }
                thead { tr { th scope="col" { "Item" } th scope="col" { "Quantity" }
                             th scope="col" { "Price each" } th scope="col" { "Total" }
                             th scope="col" { "Bought" } } }
                tbody {
                    @for line in &view.page.entries {
                        @let purchase = &line.purchase;
                        tr #{ "purchase-" (purchase.id) } {
                            td { a href={ "/items/" (purchase.item_id) } { (line.item_name) } }
                            td { (group_thousands(i64::from(purchase.quantity))) }
                            td { (money(view.currency, purchase.price_cents)) }
                            td { (money(view.currency, purchase.price_cents.map(|cents| cents * i64::from(purchase.quantity)))) }
                            td { time datetime=(purchase.purchased_at) { (day(&purchase.purchased_at)) } }
                        }
                    }
                }
            }
        }
        (older_link(paths::MY_PURCHASES, view.page.next))
    };
    layout(
        "My purchases",
        &Header::for_viewer(Some(view.person), view.csrf_token, view.unseen),
        content,
    )
}

fn money(currency: &Currency, cents: Option<i64>) -> String {
    match cents.map(Price::from_cents) {
        Some(Ok(price)) => currency.format(price),
        _ => "Not recorded".to_owned(),
    }
}

/// `/account/listings`: what the person lists, with stock and what sold.
pub fn listings_page(view: &RecordsView<SellerListing>) -> Markup {
    let content = html! {
        h1 { "My listings" }
        @if view.page.entries.is_empty() {
            p.empty { @if view.older { "There are no older listings." } @else {
                "You have not listed anything yet. " a href="/#sell-heading" { "Sell an item" } "." } }
        } @else {
            table.records {
                caption { "What you list, newest first" }
                thead { tr { th scope="col" { "Item" } th scope="col" { "Price" }
                             th scope="col" { "In stock" } th scope="col" { "Sold" }
                             th scope="col" { "Status" } th scope="col" { "Listed" } } }
                tbody {
                    @for listing in &view.page.entries {
                        @let item = &listing.item;
                        tr #{ "listing-" (item.id) } {
                            td { a href={ "/items/" (item.id) } { (item.name) } }
                            td { (view.currency.format(item.price())) }
                            td { (group_thousands(i64::from(item.quantity))) }
                            td { (group_thousands(listing.sold)) }
                            td { (status(item)) }
                            td { (listed_on(item)) }
                        }
                    }
                }
            }
        }
        (older_link(paths::MY_LISTINGS, view.page.next))
    };
    layout(
        "My listings",
        &Header::for_viewer(Some(view.person), view.csrf_token, view.unseen),
        content,
    )
}

fn status(item: &Item) -> Markup {
    html! {
        @if item.withdrawn { "Withdrawn" }
        @else if item.quantity == 0 { "Sold out · " a href={ "/items/" (item.id) "/edit" } { "Restock" span.visually-hidden { " " (item.name) } } }
        @else { "For sale · " a href={ "/items/" (item.id) "/edit" } { "Change" span.visually-hidden { " " (item.name) } } }
    }
}

/// Everything the seller's edit form shows.
pub struct EditView<'a> {
    pub item: &'a Item,
    pub form: &'a PostedForm,
    pub errors: &'a FieldErrors,
    pub currency: &'a Currency,
    pub csrf_token: &'a str,
    pub header: Header<'a>,
    /// Why the last change to its photos was refused.
    pub photo_problem: Option<&'a str>,
}

/// `/items/{id}/edit`: change stock, price and description (the name stays).
pub fn edit_item_page(view: &EditView) -> Markup {
    let item = view.item;
    let errors = view.errors;
    let value = |name| view.form.value(name);
    let (quantity_invalid, quantity_described) = aria(errors, field::QUANTITY);
    let (price_invalid, price_described) = aria(errors, field::PRICE);
    let (description_invalid, description_described) = aria(errors, field::DESCRIPTION);
    let title = format!("Change “{}”", item.name);
    let content = html! {
        h1 { (title) }
        (form_message(None, errors))
        form #edit-form method="post" action={ "/items/" (item.id) "/edit" } novalidate {
            input type="hidden" name=(CSRF_FIELD) value=(view.csrf_token);
            (labelled_field(field::QUANTITY, "In stock", errors, html! {
                input #quantity type="number" name=(field::QUANTITY) value=(value(field::QUANTITY))
                    min="0" max=(QUANTITY_MAX) step="1" inputmode="numeric" required
                    aria-invalid=[quantity_invalid] aria-describedby=[quantity_described];
            }))
            (labelled_field(field::PRICE, &format!("Price per unit ({})", view.currency.code()), errors, html! {
                input #price type="text" name=(field::PRICE) value=(value(field::PRICE))
                    inputmode="decimal" required
                    aria-invalid=[price_invalid] aria-describedby=[price_described];
            }))
            (labelled_field(field::DESCRIPTION, "Description", errors, html! {
                textarea #description name=(field::DESCRIPTION) rows="4"
                    maxlength=(DESCRIPTION_MAX_CHARS) required
                    aria-invalid=[description_invalid]
                    aria-describedby=[description_described] { (value(field::DESCRIPTION)) }
            }))
            button type="submit" { "Save changes" }
        }
        (photo_views::manager(item, view.csrf_token, view.photo_problem))
        p { a href={ "/items/" (item.id) } { "Back to the item" } }
    };
    layout(&title, &view.header, content)
}
