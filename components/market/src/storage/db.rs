//! The app's use of Postgres through Spin: open a connection, run a statement of
//! `storage::sql`, and report what it came to as data (`Created`, `Bought`, `Changed`):
//! an unknown item, too little stock or a key already used are outcomes, not errors.

use spin_sdk::pg4::{Connection, ParameterValue, RowSet};

use crate::domain::account::{
    AccountId, ApiTokenInfo, Email, NewAccount, Person, Secret, TokenName, Writer,
};
use crate::domain::error::AppError;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::item::{
    Item, ItemChanges, ItemId, NewItem, Price, Purchase, PurchaseLine, PurchaseQuantity,
    SellerListing,
};
use crate::domain::listing::Listing;
use crate::observe::record;
use crate::storage::rows::{self, Row};
use crate::storage::{account_sql, config, sql};

/// Sends a statement built by `sql::at_least_one_row` (or an aggregate, which always
/// yields one row) and returns its rows: the only caller of `Connection::query`, so the
/// request's time in Postgres is measured here.
pub(crate) fn query(
    db: &Connection,
    sql: &str,
    params: &[ParameterValue],
) -> Result<RowSet, AppError> {
    try_query(db, sql, params).map_err(|error| AppError::from(*error))
}

/// [`query`], handing back Postgres' own error (for a caller that tells some apart).
pub(crate) fn try_query(
    db: &Connection,
    sql: &str,
    params: &[ParameterValue],
) -> Result<RowSet, Box<spin_sdk::pg4::PgError>> {
    let started = std::time::Instant::now();
    let rows = db.query(sql, params);
    record::database_call(started.elapsed());
    rows.map_err(Box::new)
}

/// Sends a statement that yields no rows (`execute` is not affected by the zero-row
/// hang of `query`), timed like [`query`].
pub(crate) fn execute(
    db: &Connection,
    sql: &str,
    params: &[ParameterValue],
) -> Result<(), AppError> {
    let started = std::time::Instant::now();
    let done = db.execute(sql, params);
    record::database_call(started.elapsed());
    done.map(|_| ()).map_err(AppError::from)
}

thread_local! {
    /// The connection this request opened: a component instance serves one request, so
    /// every statement of a request (a token's lookup and the write it allows) shares
    /// one checkout from Spin's pool, each of which costs 7 statements of clean-up.
    static OPENED: std::cell::RefCell<Option<std::rc::Rc<Connection>>> =
        const { std::cell::RefCell::new(None) };
}

/// The connection to the configured database, opened on the request's first use (Spin
/// lends one from its pool for this component; it goes back when the instance ends).
pub fn open() -> Result<std::rc::Rc<Connection>, AppError> {
    if let Some(db) = OPENED.with_borrow(Clone::clone) {
        return Ok(db);
    }
    let db = std::rc::Rc::new(Connection::open(&config::database_url()?)?);
    OPENED.set(Some(db.clone()));
    Ok(db)
}

/// Opens a connection for the readiness check, with a connection string of its own
/// (`config::READINESS_APPLICATION_NAME` says why).
pub fn open_for_readiness() -> Result<Connection, AppError> {
    let url =
        config::with_application_name(&config::database_url()?, config::READINESS_APPLICATION_NAME);
    Ok(Connection::open(&url)?)
}

/// What creating an item came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The item as stored, new.
    Item(Item),
    /// The item a request with the same key and the same fields first created.
    Replayed(Item),
    /// The idempotency key was first used for a different request.
    KeyReused,
    /// The API token is unknown or revoked: nothing was written.
    UnknownToken,
    /// The seller's email address is not verified yet: nothing was written.
    Unverified,
}

/// The parameter that names a write's [`Writer`], and whether it is a token's digest.
fn writer_parameter(writer: Writer) -> (ParameterValue, bool) {
    match writer {
        Writer::Person(account) => (ParameterValue::Int64(account.get()), false),
        Writer::TokenHolder(token) => (ParameterValue::Str(token.digest()), true),
    }
}

/// The request a write's idempotency key is claimed for: its writer's account, as the
/// write's statement found it, and its `fields` (`None`: an unknown or revoked token).
fn claimed_for(row: &Row<'_>, fields: &str) -> Result<Option<String>, AppError> {
    Ok(row
        .optional_int64("writer_id")?
        .map(|id| format!("{id} {fields}")))
}

/// Stores a new item and returns it as stored, in one statement (an API token's check
/// included). With a key already used for the same item, returns that first item and
/// writes nothing.
pub fn insert_item(
    db: &Connection,
    seller: Writer,
    item: &NewItem,
    key: Option<&IdempotencyKey>,
) -> Result<Created, AppError> {
    // The seller is part of the request (the statement puts their account first):
    // another person's key is a key reused.
    let fields = serde_json::json!([
        item.name.as_str(),
        item.quantity.get(),
        item.price.cents(),
        item.description.as_str()
    ])
    .to_string();
    let (seller, by_token) = writer_parameter(seller);
    let params = [
        ParameterValue::Str(item.name.as_str().to_owned()),
        ParameterValue::Int32(item.quantity.get()),
        ParameterValue::Int64(item.price.cents()),
        ParameterValue::Str(item.description.as_str().to_owned()),
        key_parameter(key),
        ParameterValue::Str(fields.clone()),
        seller,
    ];
    let rows = query(db, &sql::insert_item_sql(by_token), &params)?;
    let row = rows::single(&rows, "insert item")?;
    let Some(request) = claimed_for(&row, &fields)? else {
        return Ok(Created::UnknownToken);
    };
    if row.optional_int64("id")?.is_some() {
        return Item::try_from(&row).map(Created::Item);
    }
    if row.int64("verified")? == 0 {
        return Ok(Created::Unverified);
    }
    let Some(key) = key else {
        return Err(AppError::Internal(
            "an item without an idempotency key was not inserted".into(),
        ));
    };
    // The key was already claimed: answer with what it first created.
    let rows = query(
        db,
        &sql::created_with_key_sql(),
        &[key_parameter(Some(key))],
    )?;
    let row = rows::single(&rows, "idempotency key lookup")?;
    match first_request(&row)? {
        first if first == request => Item::try_from(&row).map(Created::Replayed),
        _ => Ok(Created::KeyReused),
    }
}

/// What a buy came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bought {
    /// The purchase, new.
    Purchase(Purchase),
    /// The purchase a request with the same key and the same fields first made.
    Replayed(Purchase),
    /// No item has this id.
    UnknownItem,
    /// Its seller withdrew it.
    Withdrawn,
    /// Its price is no longer the one the buyer saw: this is the price now, in cents.
    PriceChanged(i64),
    /// Fewer units are left than were asked for (none when sold out).
    TooFewLeft(i32),
    /// The idempotency key was first used for a different request.
    KeyReused,
    /// The API token is unknown or revoked: nothing was taken.
    UnknownToken,
    /// The buyer sells it: nobody buys their own listing.
    OwnListing,
}

/// A buy: who takes how many units of which item, at the price they were shown (`None`:
/// whatever it costs now), once per key.
pub struct BuyRequest<'a> {
    pub buyer: Writer<'a>,
    pub item: ItemId,
    pub quantity: PurchaseQuantity,
    pub expected_price: Option<Price>,
    pub key: Option<&'a IdempotencyKey>,
}

/// Takes units of an item, in one statement (an API token's check included): the checks,
/// the decrement and the purchase record cannot interleave with another buyer's. With a
/// key already used for the same purchase, returns that first purchase and takes
/// nothing.
pub fn buy_item(db: &Connection, buy: &BuyRequest) -> Result<Bought, AppError> {
    let fields = serde_json::json!([
        buy.item.get(),
        buy.quantity.get(),
        buy.expected_price.map(Price::cents)
    ])
    .to_string();
    let (buyer, by_token) = writer_parameter(buy.buyer);
    let params = [
        ParameterValue::Int64(buy.item.get()),
        ParameterValue::Int32(buy.quantity.get()),
        key_parameter(buy.key),
        ParameterValue::Str(fields.clone()),
        buyer,
        buy.expected_price.map_or(ParameterValue::DbNull, |price| {
            ParameterValue::Int64(price.cents())
        }),
    ];
    let rows = query(db, &sql::buy_item_sql(by_token), &params)?;
    let row = rows::single(&rows, "buy")?;
    let Some(request) = claimed_for(&row, &fields)? else {
        return Ok(Bought::UnknownToken);
    };
    if row.optional_int64("id")?.is_some() {
        return Purchase::try_from(&row).map(Bought::Purchase);
    }
    if row.boolean("own_item")? {
        return Ok(Bought::OwnListing);
    }
    match (buy.key, row.boolean("key_taken")?) {
        (Some(key), true) => replay_buy(db, buy, key, &request),
        _ => not_taken(db, buy, ItemState::read(&row)?),
    }
}

/// Answers a buy whose key was already claimed: the first purchase if the key was first
/// used for this same request and took stock, else why it could not.
fn replay_buy(
    db: &Connection,
    buy: &BuyRequest,
    key: &IdempotencyKey,
    request: &str,
) -> Result<Bought, AppError> {
    let params = [
        key_parameter(Some(key)),
        ParameterValue::Int64(buy.item.get()),
    ];
    let rows = query(db, &sql::bought_with_key_sql(), &params)?;
    let row = rows::single(&rows, "idempotency key lookup")?;
    if first_request(&row)? != request {
        return Ok(Bought::KeyReused);
    }
    if row.optional_int64("id")?.is_some() {
        return Purchase::try_from(&row).map(Bought::Replayed);
    }
    not_taken(db, buy, ItemState::read(&row)?)
}

/// An item as a buy statement saw it (`sql::item_state`); `None` when there is no such item.
struct ItemState {
    stock: i32,
    price_cents: i64,
    withdrawn: bool,
}

impl ItemState {
    fn read(row: &Row<'_>) -> Result<Option<Self>, AppError> {
        let Some(stock) = row.optional_int32("stock")? else {
            return Ok(None);
        };
        Ok(Some(Self {
            stock,
            price_cents: row.int64("current_price")?,
            withdrawn: row.boolean("withdrawn")?,
        }))
    }

    fn of(item: &Item) -> Self {
        Self {
            stock: item.quantity,
            price_cents: item.price_cents,
            withdrawn: item.withdrawn,
        }
    }
}

/// Why a buy took nothing, given the item as the statement saw it. When it would have
/// been bought, another buyer or its seller changed it between the statement's snapshot
/// and its update: the item is read again.
fn not_taken(
    db: &Connection,
    buy: &BuyRequest,
    seen: Option<ItemState>,
) -> Result<Bought, AppError> {
    let reason = |state: Option<ItemState>| match state {
        None => Some(Bought::UnknownItem),
        Some(state) if state.withdrawn => Some(Bought::Withdrawn),
        Some(state)
            if buy
                .expected_price
                .is_some_and(|price| price.cents() != state.price_cents) =>
        {
            Some(Bought::PriceChanged(state.price_cents))
        }
        Some(state) if state.stock < buy.quantity.get() => Some(Bought::TooFewLeft(state.stock)),
        Some(_) => None,
    };
    if let Some(outcome) = reason(seen) {
        return Ok(outcome);
    }
    let now = find_item(db, buy.item)?;
    let left = now.as_ref().map(|item| item.quantity);
    reason(now.map(|item| ItemState::of(&item))).ok_or_else(|| {
        AppError::Internal(format!(
            "buying {} of item {} took nothing though {left:?} are left",
            buy.quantity.get(),
            buy.item.get()
        ))
    })
}

/// One page of the listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemsPage {
    pub items: Vec<Item>,
    /// The cursor for the next (older) page, if there is one.
    pub next: Option<ItemId>,
}

/// The newest `limit` items of the listing older than `before` (from the newest when
/// `before` is `None`).
///
/// Keyset pagination over the primary key: one index scan, however deep the page.
pub fn list_items_before(
    db: &Connection,
    listing: &Listing,
    before: Option<ItemId>,
    limit: u32,
) -> Result<ItemsPage, AppError> {
    let mut params = vec![
        ParameterValue::Int64(before.map_or(i64::MAX, ItemId::get)),
        // One more than asked tells whether an older page exists.
        ParameterValue::Int64(i64::from(limit) + 1),
    ];
    if let Some(search) = &listing.search {
        params.push(ParameterValue::Str(search.as_str().to_owned()));
    }
    let rows = query(db, &sql::list_items_sql(listing), &params)?;
    let mut items = rows::found(&rows, "list items", "id")
        .map(|row| Item::try_from(&row))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(Item::id)
    } else {
        None
    };
    Ok(ItemsPage { items, next })
}

/// The item with this id, if it exists.
pub fn find_item(db: &Connection, id: ItemId) -> Result<Option<Item>, AppError> {
    let rows = query(
        db,
        &sql::find_item_sql(),
        &[ParameterValue::Int64(id.get())],
    )?;
    rows::found(&rows, "find item", "id")
        .next()
        .map(|row| Item::try_from(&row))
        .transpose()
}

/// What changing a listing came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    Item(Item),
    /// Its seller withdrew it: it can no longer be changed.
    Withdrawn,
    /// No item with this id is the account's.
    NotTheirs,
}

/// Changes stock, price and description of `item` if `seller` sells it.
pub fn update_item(
    db: &Connection,
    seller: AccountId,
    item: ItemId,
    changes: &ItemChanges,
) -> Result<Changed, AppError> {
    let params = [
        ParameterValue::Int64(item.get()),
        ParameterValue::Int64(seller.get()),
        ParameterValue::Int32(changes.quantity.get()),
        ParameterValue::Int64(changes.price.cents()),
        ParameterValue::Str(changes.description.as_str().to_owned()),
    ];
    let rows = query(db, &sql::update_item_sql(), &params)?;
    let row = rows::single(&rows, "update item")?;
    if row.optional_int64("id")?.is_some() {
        return Item::try_from(&row).map(Changed::Item);
    }
    Ok(match row.optional_boolean("was_withdrawn")? {
        Some(true) => Changed::Withdrawn,
        _ => Changed::NotTheirs,
    })
}

/// Withdraws `item` if `seller` sells it; whether they do.
pub fn withdraw_item(db: &Connection, seller: AccountId, item: ItemId) -> Result<bool, AppError> {
    let params = [
        ParameterValue::Int64(item.get()),
        ParameterValue::Int64(seller.get()),
    ];
    let rows = query(db, &sql::withdraw_item_sql(), &params)?;
    Ok(rows::found(&rows, "withdraw item", "id").next().is_some())
}

/// One page of someone's own records (purchases, listings), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnPage<T> {
    pub entries: Vec<T>,
    /// The cursor of the next (older) page, if there is one.
    pub next: Option<i64>,
}

/// Reads a page of someone's own records: the account, the cursor, the page size.
pub type OwnPageReader<T> =
    fn(&Connection, AccountId, Option<i64>, u32) -> Result<OwnPage<T>, AppError>;

/// The newest `limit` rows of `statement` for `account` with an id below `before`.
fn own_page<T>(
    db: &Connection,
    statement: &str,
    name: &'static str,
    account: AccountId,
    before: Option<i64>,
    limit: u32,
    decode: impl Fn(&Row<'_>) -> Result<(i64, T), AppError>,
) -> Result<OwnPage<T>, AppError> {
    let params = [
        ParameterValue::Int64(account.get()),
        ParameterValue::Int64(before.unwrap_or(i64::MAX)),
        ParameterValue::Int64(i64::from(limit) + 1),
    ];
    let rows = query(db, statement, &params)?;
    let mut entries = rows::found(&rows, name, "id")
        .map(|row| decode(&row))
        .collect::<Result<Vec<_>, _>>()?;
    let next = if entries.len() > limit as usize {
        entries.truncate(limit as usize);
        entries.last().map(|(id, _)| *id)
    } else {
        None
    };
    Ok(OwnPage {
        entries: entries.into_iter().map(|(_, entry)| entry).collect(),
        next,
    })
}

/// A page of what `buyer` bought, newest first.
pub fn purchases_of(
    db: &Connection,
    buyer: AccountId,
    before: Option<i64>,
    limit: u32,
) -> Result<OwnPage<PurchaseLine>, AppError> {
    own_page(
        db,
        &sql::purchases_of_sql(),
        "purchases of",
        buyer,
        before,
        limit,
        |row| {
            let line = PurchaseLine::try_from(row)?;
            Ok((line.purchase.id, line))
        },
    )
}

/// A page of what `seller` listed, newest first, with what sold.
pub fn listings_of(
    db: &Connection,
    seller: AccountId,
    before: Option<i64>,
    limit: u32,
) -> Result<OwnPage<SellerListing>, AppError> {
    own_page(
        db,
        &sql::listings_of_sql(),
        "listings of",
        seller,
        before,
        limit,
        |row| {
            let listing = SellerListing::try_from(row)?;
            Ok((listing.item.id, listing))
        },
    )
}

/// Creates an account signed in with `session` (ending the browser's `previous`
/// session); `None` when the email already has one.
pub fn insert_account(
    db: &Connection,
    account: &NewAccount,
    password_hash: &str,
    session: &Secret,
    previous: Option<&Secret>,
    verify_link: &Secret,
) -> Result<Option<Person>, AppError> {
    let params = [
        ParameterValue::Str(account.email.as_str().to_owned()),
        ParameterValue::Str(account.display_name.as_str().to_owned()),
        ParameterValue::Str(password_hash.to_owned()),
        ParameterValue::Str(session.digest()),
        secret_parameter(previous),
        ParameterValue::Str(verify_link.digest()),
        ParameterValue::Str(verify_link.expose().to_owned()),
    ];
    let rows = query(db, &account_sql::insert_account_sql(), &params)?;
    rows::found(&rows, "insert account", "id")
        .next()
        .map(|row| Person::try_from(&row))
        .transpose()
}

/// An account as sign-in needs it.
pub struct SignInAccount {
    pub person: Person,
    pub password_hash: String,
}

/// The account with `email` (if any), and the seconds sign-ins with it must still wait.
pub fn account_for_sign_in(
    db: &Connection,
    email: &Email,
) -> Result<(Option<SignInAccount>, u32), AppError> {
    let rows = query(
        db,
        &account_sql::account_for_sign_in_sql(),
        &[ParameterValue::Str(email.as_str().to_owned())],
    )?;
    let row = rows::single(&rows, "account for sign-in")?;
    let wait = row.optional_int32("wait_seconds")?.unwrap_or(0).max(0) as u32;
    let account = match row.optional_int64("id")? {
        Some(_) => Some(SignInAccount {
            person: Person::try_from(&row)?,
            password_hash: row.text("password_hash")?,
        }),
        None => None,
    };
    Ok((account, wait))
}

/// Counts a failed sign-in with `email`.
pub fn record_failed_sign_in(db: &Connection, email: &Email) -> Result<(), AppError> {
    execute(
        db,
        &account_sql::record_failed_sign_in_sql(),
        &[ParameterValue::Str(email.as_str().to_owned())],
    )
}

/// Signs `account` in with `session`, ending the browser's `previous` session and
/// clearing the failed sign-ins of `email`.
pub fn start_session(
    db: &Connection,
    account: AccountId,
    email: &Email,
    session: &Secret,
    previous: Option<&Secret>,
) -> Result<(), AppError> {
    let params = [
        ParameterValue::Int64(account.get()),
        ParameterValue::Str(session.digest()),
        secret_parameter(previous),
        ParameterValue::Str(email.as_str().to_owned()),
    ];
    execute(db, &account_sql::start_session_sql(), &params)
}

/// The person signed in with `session`, if it is live.
pub fn session_person(db: &Connection, session: &Secret) -> Result<Option<Person>, AppError> {
    person_from(db, &account_sql::session_person_sql(), session, "session")
}

/// The person an unrevoked API token stands for.
pub fn token_person(db: &Connection, token: &Secret) -> Result<Option<Person>, AppError> {
    person_from(db, &account_sql::token_person_sql(), token, "api token")
}

fn person_from(
    db: &Connection,
    statement: &str,
    secret: &Secret,
    name: &'static str,
) -> Result<Option<Person>, AppError> {
    let rows = query(db, statement, &[ParameterValue::Str(secret.digest())])?;
    rows::found(&rows, name, "id")
        .next()
        .map(|row| Person::try_from(&row))
        .transpose()
}

/// Ends one session.
pub fn end_session(db: &Connection, session: &Secret) -> Result<(), AppError> {
    execute(
        db,
        account_sql::END_SESSION_SQL,
        &[ParameterValue::Str(session.digest())],
    )
}

/// Ends every session of `account`; the id digests of those it ended.
pub fn end_all_sessions(db: &Connection, account: AccountId) -> Result<Vec<String>, AppError> {
    let rows = query(
        db,
        account_sql::END_ALL_SESSIONS_SQL,
        &[ParameterValue::Int64(account.get())],
    )?;
    let digests = rows::single(&rows, "end all sessions")?.text("digests")?;
    serde_json::from_str(&digests)
        .map_err(|e| AppError::Internal(format!("ended sessions' digests: {e}")))
}

/// Stores a new API token of `account`.
pub fn insert_api_token(
    db: &Connection,
    account: AccountId,
    name: &TokenName,
    token: &Secret,
) -> Result<(), AppError> {
    let params = [
        ParameterValue::Int64(account.get()),
        ParameterValue::Str(name.as_str().to_owned()),
        ParameterValue::Str(token.digest()),
    ];
    execute(db, account_sql::INSERT_API_TOKEN_SQL, &params)
}

/// The API tokens of `account`, newest first.
pub fn api_tokens_of(db: &Connection, account: AccountId) -> Result<Vec<ApiTokenInfo>, AppError> {
    let rows = query(
        db,
        &account_sql::api_tokens_of_sql(),
        &[ParameterValue::Int64(account.get())],
    )?;
    rows::found(&rows, "api tokens of", "id")
        .map(|row| ApiTokenInfo::try_from(&row))
        .collect()
}

/// Revokes the API token `token` of `account`; whether it is theirs.
pub fn revoke_api_token(db: &Connection, account: AccountId, token: i64) -> Result<bool, AppError> {
    let params = [
        ParameterValue::Int64(account.get()),
        ParameterValue::Int64(token),
    ];
    let rows = query(db, &account_sql::revoke_api_token_sql(), &params)?;
    Ok(rows::found(&rows, "revoke api token", "id")
        .next()
        .is_some())
}

fn secret_parameter(secret: Option<&Secret>) -> ParameterValue {
    secret.map_or(ParameterValue::DbNull, |secret| {
        ParameterValue::Str(secret.digest())
    })
}

/// The newest migration applied to the database, or `None` before the first one.
pub fn schema_version(db: &Connection) -> Result<Option<i64>, AppError> {
    let rows = query(db, sql::SCHEMA_VERSION_SQL, &[])?;
    rows::single(&rows, "schema version")?.optional_int64("version")
}

fn key_parameter(key: Option<&IdempotencyKey>) -> ParameterValue {
    key.map_or(ParameterValue::DbNull, |key| {
        ParameterValue::Str(key.as_str().to_owned())
    })
}

/// The request an idempotency key was first claimed for, from a key lookup.
fn first_request<'a>(row: &'a Row<'_>) -> Result<&'a str, AppError> {
    // None: claimed by the statement that just failed to claim it, yet gone now.
    row.optional_text("request")?.ok_or_else(|| {
        AppError::Internal("an idempotency key was taken but cannot be found".into())
    })
}
