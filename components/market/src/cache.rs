//! A read-through cache of the first page of the default listing, kept as its callers
//! rendered it (the page's listing section with placeholders for the visitor's tokens,
//! and the API's JSON), so a hit does no per-item work and most reads do not touch
//! Postgres. With one Spin process it lives in Spin's key-value store (in memory,
//! `runtime-config.toml`); with several (compose scale-out, Kubernetes) in a Redis that
//! all share (the `cache_redis_url` variable), so a write through one instance is seen on
//! the next read through any other.
//!
//! Redis is reached through Spin's outbound Redis interface, not Spin's Redis key-value
//! store: in Spin 4.0.2 the latter waits for Redis to come back (its client retries
//! without a timeout), so every request would hang while Redis is down. A fresh outbound
//! connection per request fails at once when Redis refuses it, and the cache steps aside.
//!
//! Correctness rests on versions, not clocks. The listing has a current version (a
//! random token); every write gives it a new one before the write is acknowledged, and
//! drops the entry of the old one. Entries are keyed by the version they were read
//! under, so a reader that raced a writer can only store a page under the old version,
//! which no later reader asks for, and never overwrite a newer entry. A reader that
//! stored under a version that changed meanwhile deletes its own entry, so none is left
//! behind (with the writer's delete, whichever comes last removes it).
//!
//! When the store cannot be reached, reads go to Postgres and writes still succeed. A
//! write acknowledged while the store was unreachable could not change the version: once
//! the store is back, an entry cached before that write may be served until it is
//! `TTL` old (by the clocks of the instances that stored and read it). That is the only
//! use of time here.
//!
//! Only the first page of the default listing (in stock, no search, the home page's page
//! size) is cached; callers ask Postgres for older pages, searches, the listing with
//! sold-out items and other page sizes, and per-visitor parts are never cached.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use spin_sdk::key_value;
use spin_sdk::redis;

use crate::cookies::random_token;
use crate::db::{self, ItemsPage};
use crate::error::AppError;
use crate::home::PAGE_SIZE;
use crate::item::ItemId;
use crate::listing::Listing;

/// The key holding the listing's current version.
const VERSION_KEY: &str = "listing/version";
/// How long a cached page may be served at most, for when a write could not reach the
/// store: the bound on staleness after a store outage.
pub const TTL: Duration = Duration::from_secs(30);

/// The key of the first page cached under `version`.
fn entry_key(version: &str) -> String {
    format!("listing/first/{version}")
}

#[derive(Serialize, Deserialize)]
struct Entry<R> {
    /// Seconds since the Unix epoch when it was read from Postgres.
    stored_at: u64,
    rendered: R,
}

/// Whether the `listing_cache` variable leaves the cache on (it is, unless "off").
fn enabled() -> bool {
    spin_sdk::variables::get("listing_cache").map_or(true, |value| value != "off")
}

/// Where the cache lives.
enum Store {
    /// Spin's key-value store named `default` (one Spin process).
    KeyValue(key_value::Store),
    /// The Redis every instance shares.
    Redis(redis::Connection),
}

impl Store {
    /// The Redis of `cache_redis_url` when it is set, else Spin's key-value store.
    fn open() -> Result<Self, String> {
        match spin_sdk::variables::get("cache_redis_url") {
            Ok(url) if !url.is_empty() => redis::Connection::open(&url)
                .map(Self::Redis)
                .map_err(|e| format!("connecting to Redis: {e}")),
            _ => key_value::Store::open_default()
                .map(Self::KeyValue)
                .map_err(|e| e.to_string()),
        }
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        match self {
            Self::KeyValue(store) => store.get(key).map_err(|e| e.to_string()),
            Self::Redis(redis) => redis.get(key).map_err(|e| e.to_string()),
        }
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        match self {
            Self::KeyValue(store) => store.set(key, value).map_err(|e| e.to_string()),
            Self::Redis(redis) => redis.set(key, value).map_err(|e| e.to_string()),
        }
    }

    fn delete(&self, key: &str) -> Result<(), String> {
        match self {
            Self::KeyValue(store) => store.delete(key).map_err(|e| e.to_string()),
            Self::Redis(redis) => redis
                .del(&[key.to_owned()])
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
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

/// The first page of the default listing as `render` makes it from the items: from the
/// cache when current, else rendered from Postgres (and cached).
pub fn first_page<R: Serialize + DeserializeOwned>(
    render: impl FnOnce(&ItemsPage) -> Result<R, AppError>,
) -> Result<R, AppError> {
    let load = || db::list_items_before(&db::open()?, &Listing::default(), None, PAGE_SIZE);
    if !enabled() {
        return render(&load()?);
    }
    let store = match Store::open() {
        Ok(store) => store,
        Err(e) => {
            eprintln!("listing cache unavailable, reading Postgres: {e}");
            return render(&load()?);
        }
    };
    let version = match current_version(&store) {
        Ok(version) => version,
        Err(e) => {
            eprintln!("listing cache version unreadable, reading Postgres: {e}");
            return render(&load()?);
        }
    };
    let key = entry_key(&version);
    let cached = store
        .get(&key)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<Entry<R>>(&bytes).ok())
        .filter(|entry| now().saturating_sub(entry.stored_at) < TTL.as_secs());
    if let Some(entry) = cached {
        return Ok(entry.rendered);
    }
    let entry = Entry {
        stored_at: now(),
        rendered: render(&load()?)?,
    };
    store_entry(&store, &version, &entry);
    Ok(entry.rendered)
}

/// Caches `entry` under `version`, and takes it back if the version changed meanwhile.
fn store_entry<R: Serialize>(store: &Store, version: &str, entry: &Entry<R>) {
    let key = entry_key(version);
    let stored = serde_json::to_vec(entry)
        .map_err(|e| e.to_string())
        .and_then(|bytes| store.set(&key, &bytes));
    if let Err(e) = stored {
        eprintln!("listing cache not written: {e}");
        return;
    }
    if current_version(store).ok().as_deref() != Some(version) {
        // A write changed the version while this page was read: nobody will ask for
        // this entry again, so it must not stay.
        if let Err(e) = store.delete(&key) {
            eprintln!("outdated listing cache entry not deleted: {e}");
        }
    }
}

fn current_version(store: &Store) -> Result<String, String> {
    match store.get(VERSION_KEY)? {
        Some(bytes) => String::from_utf8(bytes).map_err(|e| e.to_string()),
        None => new_version(store),
    }
}

fn new_version(store: &Store) -> Result<String, String> {
    let version = random_token().map_err(|e| format!("{e:?}"))?;
    store.set(VERSION_KEY, version.as_bytes())?;
    Ok(version)
}

/// Makes every cached page stale: a new version, then the old version's entry dropped.
/// Called after each write, before it is acknowledged. If the store cannot be reached,
/// the write stands and `TTL` bounds how long the listing may lag (see the module docs).
pub fn invalidate() {
    if !enabled() {
        return;
    }
    let result = Store::open().and_then(|store| {
        let old = store.get(VERSION_KEY)?;
        new_version(&store)?;
        if let Some(old) = old.and_then(|bytes| String::from_utf8(bytes).ok()) {
            store.delete(&entry_key(&old))?;
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("listing cache not invalidated (may lag for up to {TTL:?}): {e}");
    }
}
