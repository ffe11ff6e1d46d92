//! A read-through cache of the first page of the default listing, kept as its callers
//! rendered it, each rendering under a key of its own (the home page's listing section
//! with placeholders for the visitor's tokens; the API's JSON), so a hit is one store
//! read of just what it serves and no per-item work, and most reads do not touch
//! Postgres. With one Spin process it lives in Spin's key-value store (in
//! memory, `runtime-config.toml`); with several (compose scale-out, Kubernetes) in a Redis
//! that all share (the `cache_redis_url` variable), so a write through one instance is
//! seen on the next read through any other.
//!
//! Redis is reached through Spin's outbound Redis interface, not Spin's Redis key-value
//! store: in Spin 4.0.2 the latter waits for Redis to come back (its client retries
//! without a timeout), so every request would hang while Redis is down. A fresh outbound
//! connection per request fails at once when Redis refuses it, and the cache steps aside.
//!
//! Correctness rests on compare-and-swap, not clocks. Each key holds either its rendering
//! or a tombstone (a random token). Every write, once committed and before it is
//! acknowledged, replaces whatever is there with a new tombstone. A reader that finds no
//! page notes the value it found, reads Postgres after that, and installs its page only
//! if the value is still the one it noted (compare-and-swap). So a page is only ever
//! installed by a reader that read Postgres after the last write's tombstone: a reader
//! that raced a writer finds the tombstone replaced and keeps its page to itself.
//!
//! When the store cannot be reached, reads go to Postgres and writes still succeed. A
//! write acknowledged while the store was unreachable could not leave its tombstone:
//! once the store is back, a page cached before that write may be served until it is
//! `TTL` old (by the clocks of the instances that stored and read it). That is the only
//! use of time here.
//!
//! Only the first page of the default listing (in stock, no search, the home page's page
//! size) is cached; callers ask Postgres for older pages, searches, the listing with
//! sold-out items and other page sizes, and per-visitor parts are never cached.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use spin_sdk::redis::{self, RedisParameter};
use spin_sdk::wit::wasi::keyvalue::{atomics, batch, store as key_value};

use crate::domain::account::{AccountId, Person};
use crate::domain::error::AppError;
use crate::domain::item::ItemId;
use crate::domain::listing::{Listing, PAGE_SIZE};
use crate::domain::token::random_token;
use crate::observe::log;
use crate::observe::record::{self, CacheUse};
use crate::storage::db::{self, ItemsPage};

/// The two renderings of the first page that are cached, each under a key of its own
/// (holding the rendering or a tombstone), so that each reader reads only its own.
#[derive(Clone, Copy)]
pub enum View {
    /// The home page's listing section, with placeholders for the visitor's tokens.
    HomePage,
    /// The API's JSON.
    Api,
}

impl View {
    const ALL: [Self; 2] = [Self::HomePage, Self::Api];

    /// Instances of two versions of the app may share a store during a rollout: a change
    /// to what a value holds needs new key names.
    fn key(self) -> &'static str {
        match self {
            Self::HomePage => "listing/first/page",
            Self::Api => "listing/first/api",
        }
    }
}
/// How long a cached page may be served at most, for when a write could not reach the
/// store: the bound on staleness after a store outage.
pub const TTL: Duration = Duration::from_secs(30);

/// The value under a [`View`]'s key ends with a tag byte: a tombstone's follows its
/// token, a page's follows the page's text and its storing time (seconds since the Unix
/// epoch, 8 bytes little-endian). At the end, so that a hit cuts it off without copying
/// the text.
const TOMBSTONE_TAG: u8 = b'T';
const PAGE_TAG: u8 = b'P';
const PAGE_TRAILER_BYTES: usize = 8 + 1;

/// The page's text in `value` (the trailer cut off, nothing copied), if `value` holds a
/// page stored less than [`TTL`] ago by this instance's clock (and not from further in
/// its future, so that a clock behind another's cannot stretch the bound); else `value`
/// back.
fn fresh_page(mut value: Vec<u8>) -> Result<String, Vec<u8>> {
    let stored_at = match value.split_last() {
        Some((&PAGE_TAG, rest)) => rest.last_chunk::<8>().map(|time| u64::from_le_bytes(*time)),
        _ => None,
    };
    let fresh = stored_at.is_some_and(|stored_at| {
        let age = i128::from(now()) - i128::from(stored_at);
        let ttl = i128::from(TTL.as_secs());
        -ttl < age && age < ttl
    });
    if !fresh {
        return Err(value);
    }
    value.truncate(value.len() - PAGE_TRAILER_BYTES);
    String::from_utf8(value).map_err(|e| e.into_bytes())
}

fn page_value(page: &str) -> Vec<u8> {
    [page.as_bytes(), &now().to_le_bytes(), &[PAGE_TAG]].concat()
}

fn new_tombstone() -> Result<Vec<u8>, String> {
    let token = random_token().map_err(|e| format!("{e:?}"))?;
    Ok([token.as_bytes(), &[TOMBSTONE_TAG]].concat())
}

/// Whether the `listing_cache` variable leaves the cache on (it is, unless "off").
fn enabled() -> bool {
    spin_sdk::variables::get("listing_cache").map_or(true, |value| value != "off")
}

/// Redis replaces the value of `KEYS[1]` with `ARGV[2]` only while it is `ARGV[1]`.
const REDIS_COMPARE_AND_SWAP: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    redis.call('SET', KEYS[1], ARGV[2]) return 1 else return 0 end";

/// Where the cache lives.
enum Store {
    /// Spin's key-value store named `default` (one Spin process), through the WASI
    /// key-value interface, which has compare-and-swap.
    KeyValue(key_value::Bucket),
    /// The Redis every instance shares.
    Redis(redis::Connection),
}

thread_local! {
    /// The store this request opened: a component instance serves one request, so the
    /// sessions cache and the listing cache of one request share one opening (each costs
    /// host calls: the variable, the store).
    static OPENED: std::cell::RefCell<Option<std::rc::Rc<Store>>> =
        const { std::cell::RefCell::new(None) };
}

impl Store {
    /// The store of this request, opened on first use.
    fn open() -> Result<std::rc::Rc<Self>, String> {
        if let Some(store) = OPENED.with_borrow(Clone::clone) {
            return Ok(store);
        }
        let store = std::rc::Rc::new(Self::connect()?);
        OPENED.set(Some(store.clone()));
        Ok(store)
    }

    /// The Redis of `cache_redis_url` when it is set, else Spin's key-value store.
    fn connect() -> Result<Self, String> {
        match spin_sdk::variables::get("cache_redis_url") {
            Ok(url) if !url.is_empty() => redis::Connection::open(&url)
                .map(Self::Redis)
                .map_err(|e| format!("connecting to Redis: {e}")),
            _ => key_value::open("default")
                .map(Self::KeyValue)
                .map_err(|e| format!("{e:?}")),
        }
    }

    /// Sets every key to its value, in one call to the store.
    fn set_many(&self, key_values: &[(String, Vec<u8>)]) -> Result<(), String> {
        match self {
            Self::KeyValue(bucket) => {
                batch::set_many(bucket, key_values).map_err(|e| format!("{e:?}"))
            }
            Self::Redis(redis) => {
                let arguments: Vec<RedisParameter> = key_values
                    .iter()
                    .flat_map(|(key, value)| {
                        [
                            RedisParameter::Binary(key.clone().into_bytes()),
                            RedisParameter::Binary(value.clone()),
                        ]
                    })
                    .collect();
                redis
                    .execute("MSET", &arguments)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The current value, for reading only (one call to the store).
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        match self {
            Self::KeyValue(bucket) => bucket.get(key).map_err(|e| format!("{e:?}")),
            Self::Redis(redis) => redis.get(key).map_err(|e| e.to_string()),
        }
    }

    /// The current value, noted so that [`Store::replace`] can tell if it changed.
    fn read(&self, key: &str) -> Result<Noted, String> {
        match self {
            Self::KeyValue(bucket) => {
                let cas = atomics::Cas::new(bucket, key).map_err(|e| format!("{e:?}"))?;
                let value = cas.current().map_err(|e| format!("{e:?}"))?;
                Ok(Noted {
                    value,
                    cas: Some(cas),
                })
            }
            Self::Redis(redis) => Ok(Noted {
                value: redis.get(key).map_err(|e| e.to_string())?,
                cas: None,
            }),
        }
    }

    /// Replaces the noted value with `new`, unless it changed since it was read (then
    /// leaves it, and that is no error). A missing value is never replaced: Spin's store
    /// would not compare then.
    fn replace(&self, key: &str, noted: Noted, new: &[u8]) -> Result<(), String> {
        let Some(expected) = noted.value else {
            return Ok(());
        };
        match (self, noted.cas) {
            (Self::KeyValue(_), Some(cas)) => match atomics::swap(cas, new) {
                Ok(()) | Err(atomics::CasError::CasFailed(_)) => Ok(()),
                Err(atomics::CasError::StoreError(e)) => Err(format!("{e:?}")),
            },
            (Self::Redis(redis), _) => redis
                .execute(
                    "EVAL",
                    &[
                        RedisParameter::Binary(REDIS_COMPARE_AND_SWAP.into()),
                        RedisParameter::Int64(1),
                        RedisParameter::Binary(key.into()),
                        RedisParameter::Binary(expected),
                        RedisParameter::Binary(new.to_vec()),
                    ],
                )
                .map(drop)
                .map_err(|e| e.to_string()),
            (Self::KeyValue(_), None) => Err("no compare-and-swap for this value".into()),
        }
    }
}

/// A value as [`Store::read`] found it (`None`: the key was missing).
struct Noted {
    value: Option<Vec<u8>>,
    /// Spin's handle for replacing exactly this value.
    cas: Option<atomics::Cas>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Whether [`first_page`] serves this page of a listing: the first page of the default
/// listing at the home page's page size.
pub fn serves(listing: &Listing, before: Option<ItemId>, limit: u32) -> bool {
    listing.is_default() && before.is_none() && limit == PAGE_SIZE
}

/// The first page of the default listing as `render` makes it for `view`: from the
/// cache when current, else rendered from Postgres (and cached unless a write came
/// between).
pub fn first_page(
    view: View,
    render: impl FnOnce(&ItemsPage) -> Result<String, AppError>,
) -> Result<String, AppError> {
    if !enabled() {
        return bypassing(render);
    }
    let key = view.key();
    let read = Store::open().and_then(|store| Ok((store.read(key)?, store)));
    let (mut noted, store) = match read {
        Ok(read) => read,
        Err(e) => {
            log::warn(&format!("listing cache unavailable, reading Postgres: {e}"));
            return bypassing(render);
        }
    };
    if noted.value.is_none() {
        // A fresh store: a tombstone first, for the page below to replace.
        let started = new_tombstone()
            .and_then(|tombstone| store.set_many(&[(key.to_owned(), tombstone)]))
            .and_then(|()| store.read(key));
        match started {
            Ok(started) => noted = started,
            Err(e) => {
                log::warn(&format!("listing cache not started: {e}"));
                return bypassing(render);
            }
        }
    }
    match noted.value.take().map(fresh_page) {
        Some(Ok(page)) => {
            record::cache(CacheUse::Hit);
            return Ok(page);
        }
        Some(Err(value)) => noted.value = Some(value),
        None => {}
    }
    // Postgres is read after the value was noted: if no write replaced it meanwhile,
    // this page has every write acknowledged so far.
    record::cache(CacheUse::Miss);
    let page = from_postgres(render)?;
    if let Err(e) = store.replace(key, noted, &page_value(&page)) {
        log::warn(&format!("listing cache not written: {e}"));
    }
    Ok(page)
}

fn from_postgres(
    render: impl FnOnce(&ItemsPage) -> Result<String, AppError>,
) -> Result<String, AppError> {
    render(&db::list_items_before(
        &*db::open()?,
        &Listing::default(),
        None,
        PAGE_SIZE,
    )?)
}

/// The first page from Postgres when the cache is off or out of reach.
fn bypassing(
    render: impl FnOnce(&ItemsPage) -> Result<String, AppError>,
) -> Result<String, AppError> {
    record::cache(CacheUse::Bypass);
    from_postgres(render)
}

/// A page of a listing the cache does not keep (a search, a later page, another size),
/// read from Postgres; noted as a bypass of the cache.
pub fn uncached_page(
    listing: &Listing,
    before: Option<ItemId>,
    limit: u32,
) -> Result<ItemsPage, AppError> {
    record::cache(CacheUse::Bypass);
    db::list_items_before(&*db::open()?, listing, before, limit)
}

/// Makes every cached rendering stale: a new tombstone in its place. Called after each
/// write, before it is acknowledged. If the store cannot be reached, the write stands
/// and `TTL` bounds how long the listing may lag (see the module docs). Done also while
/// the cache is off (`listing_cache`): it costs a write one host call less than asking
/// (a variable read), and a cache turned on again finds no page older than a write.
pub fn invalidate() {
    // One token for all: each key's tombstone only has to differ from its own past.
    let result = new_tombstone().and_then(|tombstone| {
        let tombstones: Vec<(String, Vec<u8>)> = View::ALL
            .iter()
            .map(|view| (view.key().to_owned(), tombstone.clone()))
            .collect();
        Store::open()?.set_many(&tombstones)
    });
    if let Err(e) = result {
        log::warn(&format!(
            "listing cache not invalidated (may lag for up to {TTL:?}): {e}"
        ));
    }
}

/// The sessions cache: who a live session stands for, kept in the same store under the
/// digest of its id, so that a signed-in browse reads no Postgres either. The same rules
/// as the listing: a reader installs what it read from Postgres only if the key still
/// holds the value it noted before (compare-and-swap), and ending a session (sign-out,
/// everywhere, or a new sign-in on that browser) puts a new tombstone there after
/// Postgres forgot it, before it is acknowledged. So no session is served after it
/// ended, except when the store could not be reached to take the tombstone: then for
/// at most [`SESSION_TTL`], the same bound as an entry's age (which also bounds how late
/// an idle or absolute expiry takes effect, and how stale a session's last use may be).
pub const SESSION_TTL: Duration = Duration::from_secs(60);

const SESSION_TAG: u8 = b'S';

fn session_key(digest: &str) -> String {
    format!("session/{digest}")
}

/// A cached session: the account id, the storing time, the display name, the tag.
fn session_value(person: &Person) -> Vec<u8> {
    [
        &person.id.get().to_le_bytes()[..],
        &now().to_le_bytes(),
        person.display_name.as_bytes(),
        &[SESSION_TAG],
    ]
    .concat()
}

/// The person in `value`, if it holds a session stored less than [`SESSION_TTL`] ago.
fn fresh_session(value: &[u8]) -> Option<Person> {
    let (&SESSION_TAG, rest) = value.split_last()? else {
        return None;
    };
    let (id, rest) = rest.split_first_chunk::<8>()?;
    let (stored_at, name) = rest.split_first_chunk::<8>()?;
    let age = i128::from(now()) - i128::from(u64::from_le_bytes(*stored_at));
    let ttl = i128::from(SESSION_TTL.as_secs());
    (-ttl < age && age < ttl).then_some(())?;
    Some(Person {
        id: AccountId::new(i64::from_le_bytes(*id)),
        display_name: String::from_utf8(name.to_vec()).ok()?,
    })
}

/// Who the session with id digest `digest` stands for: from the cache while fresh, else
/// from `load` (Postgres), cached unless the session ended meanwhile. With the store out
/// of reach, from `load` every time.
pub fn session_person(
    digest: &str,
    load: impl FnOnce() -> Result<Option<Person>, AppError>,
) -> Result<Option<Person>, AppError> {
    let key = session_key(digest);
    // A plain read first: a cached session, the usual case, costs one call to the store.
    let cached = Store::open().and_then(|store| store.get(&key));
    if let Some(person) = cached.ok().flatten().as_deref().and_then(fresh_session) {
        return Ok(Some(person));
    }
    let noted = Store::open().and_then(|store| {
        let mut noted = store.read(&key)?;
        if noted.value.is_none() {
            store.set_many(&[(key.clone(), new_tombstone()?)])?;
            noted = store.read(&key)?;
        }
        Ok((noted, store))
    });
    let (noted, store) = match noted {
        Ok(noted) => noted,
        Err(e) => {
            log::warn(&format!(
                "sessions cache unavailable, reading Postgres: {e}"
            ));
            return load();
        }
    };
    if let Some(person) = noted.value.as_deref().and_then(fresh_session) {
        return Ok(Some(person));
    }
    let person = load()?;
    if let Some(person) = &person
        && let Err(e) = store.replace(&key, noted, &session_value(person))
    {
        log::warn(&format!("sessions cache not written: {e}"));
    }
    Ok(person)
}

/// Forgets the sessions with these id digests, which Postgres has just ended.
pub fn forget_sessions(digests: &[String]) {
    if digests.is_empty() {
        return;
    }
    let result = new_tombstone().and_then(|tombstone| {
        let tombstones: Vec<(String, Vec<u8>)> = digests
            .iter()
            .map(|digest| (session_key(digest), tombstone.clone()))
            .collect();
        Store::open()?.set_many(&tombstones)
    });
    if let Err(e) = result {
        log::warn(&format!(
            "sessions cache not told of ended sessions (they may be honoured for up to \
             {SESSION_TTL:?}): {e}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_session_reads_back_while_fresh_and_nothing_else_is_one() {
        let person = Person {
            id: AccountId::new(42),
            display_name: "Ada é".into(),
        };
        assert_eq!(fresh_session(&session_value(&person)), Some(person.clone()));
        assert_eq!(fresh_session(&new_tombstone().unwrap()), None);
        assert_eq!(fresh_session(&page_value("<p>")), None);
        let old = [
            &42_i64.to_le_bytes()[..],
            &(now() - SESSION_TTL.as_secs()).to_le_bytes(),
            b"Ada",
            &[SESSION_TAG],
        ]
        .concat();
        assert_eq!(fresh_session(&old), None, "as old as the TTL");
        assert_eq!(fresh_session(&[SESSION_TAG]), None, "cut short");
    }

    const PAGE: &str = "<section>é \0csrf\0</section>";

    fn fresh_page(value: &[u8]) -> Option<String> {
        super::fresh_page(value.to_vec()).ok()
    }

    #[test]
    fn a_stored_page_reads_back_whole_while_fresh() {
        assert_eq!(fresh_page(&page_value(PAGE)).as_deref(), Some(PAGE));
    }

    #[test]
    fn tombstones_old_pages_and_damaged_values_are_no_page() {
        assert_eq!(fresh_page(&new_tombstone().unwrap()), None);
        let old = [
            PAGE.as_bytes(),
            &(now() - TTL.as_secs()).to_le_bytes(),
            &[PAGE_TAG],
        ]
        .concat();
        assert_eq!(fresh_page(&old), None, "as old as the TTL");
        let ahead = [
            PAGE.as_bytes(),
            &(now() + TTL.as_secs()).to_le_bytes(),
            &[PAGE_TAG],
        ]
        .concat();
        assert_eq!(fresh_page(&ahead), None, "stored a TTL ahead of this clock");
        // The trailer cut short, or a character of the text cut in two.
        let value = page_value(PAGE);
        assert_eq!(fresh_page(&value[..value.len() - 1]), None);
        assert_eq!(fresh_page(&value[..5]), None);
        let split_character = [&PAGE.as_bytes()[..10], &value[value.len() - 9..]].concat();
        assert_eq!(fresh_page(&split_character), None);
    }
}
