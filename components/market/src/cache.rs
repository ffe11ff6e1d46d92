//! A read-through cache of the first page of the listing in Spin's key-value store, so
//! most reads do not touch Postgres: Spin's per-request pool checkout, not our SQL, is
//! the ceiling of a read.
//!
//! Every write gives the listing a new random version before it answers. A cached page
//! counts only when it was stored under the current version and is younger than the
//! TTL. A reader that raced a writer may store a page it read before the write, but
//! under the old version, which no later reader accepts: nothing stale is ever pinned.
//! Only the first page of the default listing is cached; older pages (`?before=`),
//! searches, the listing with sold-out items and per-visitor parts of the page are not.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use spin_sdk::key_value::Store;

use crate::cookies::random_token;
use crate::db::{self, ItemsPage};
use crate::error::AppError;
use crate::item::ItemId;
use crate::listing::Listing;

/// The key holding the listing's current version.
const VERSION_KEY: &str = "listing/version";
/// A backstop: even a cached page of the current version is reloaded after this long.
const TTL: Duration = Duration::from_secs(30);

#[derive(Serialize, Deserialize)]
struct Entry {
    version: String,
    stored_at: u64,
    page: ItemsPage,
}

/// Whether the `listing_cache` variable leaves the cache on (it is, unless "off").
fn enabled() -> bool {
    spin_sdk::variables::get("listing_cache").map_or(true, |value| value != "off")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A page of the listing: from the cache when it is the first page of the default
/// listing and current, else from Postgres (and then cached).
pub fn list_items_before(
    listing: &Listing,
    before: Option<ItemId>,
    limit: u32,
) -> Result<ItemsPage, AppError> {
    let load = || db::list_items_before(&db::open()?, listing, before, limit);
    if before.is_some() || !listing.is_default() || !enabled() {
        return load();
    }
    let store = match Store::open_default() {
        Ok(store) => store,
        Err(e) => {
            eprintln!("listing cache unavailable: {e}");
            return load();
        }
    };
    let version = match current_version(&store) {
        Ok(version) => version,
        Err(e) => {
            eprintln!("listing cache version unreadable: {e}");
            return load();
        }
    };
    let key = format!("listing/first/{limit}");
    let cached = store
        .get(&key)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
        .filter(|entry| {
            entry.version == version && now().saturating_sub(entry.stored_at) < TTL.as_secs()
        });
    if let Some(entry) = cached {
        return Ok(entry.page);
    }
    let page = load()?;
    let entry = Entry {
        version,
        stored_at: now(),
        page,
    };
    match serde_json::to_vec(&entry) {
        Ok(bytes) => {
            if let Err(e) = store.set(&key, &bytes) {
                eprintln!("listing cache not written: {e}");
            }
        }
        Err(e) => eprintln!("listing cache entry not encoded: {e}"),
    }
    Ok(entry.page)
}

fn current_version(store: &Store) -> Result<String, String> {
    match store.get(VERSION_KEY).map_err(|e| e.to_string())? {
        Some(bytes) => String::from_utf8(bytes).map_err(|e| e.to_string()),
        None => new_version(store),
    }
}

fn new_version(store: &Store) -> Result<String, String> {
    let version = random_token().map_err(|e| format!("{e:?}"))?;
    store
        .set(VERSION_KEY, version.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(version)
}

/// Makes every cached page stale; called after each write, before it is acknowledged.
/// If the store cannot be written, the TTL bounds how long the listing may lag.
pub fn invalidate() {
    if !enabled() {
        return;
    }
    if let Err(e) = Store::open_default()
        .map_err(|e| e.to_string())
        .and_then(|store| new_version(&store))
    {
        eprintln!("listing cache not invalidated (stale for up to {TTL:?}): {e}");
    }
}
