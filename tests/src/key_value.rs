//! Spin's key-value interface (`fermyon:spin/key-value@2.0.0`) as Spin 4.0 implements its
//! built-in store (type `spin`): SQLite, one connection per label behind a mutex, every
//! operation a synchronous statement committed before it returns, visible at once to
//! every instance and component. Unconfigured, `default` is a file (Spin's is
//! `.spin/sqlite_key_value.db`); a `[key_value_store.<label>]` of type `spin` is in
//! memory without `path`, a file with one. `open` refuses labels missing from the
//! component's `key_value_stores` (access-denied); labels with no store behind them are
//! refused when the app loads, as Spin does.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{OptionalExtension, params};
use wasmtime::component::Resource;

use crate::bindings::fermyon::spin::key_value::{self as wit, Error};
use crate::runtime::RequestState;

/// The label Spin defines without runtime configuration.
pub const DEFAULT_STORE: &str = "default";

/// One store's SQLite database.
struct Backend {
    db: Mutex<rusqlite::Connection>,
    /// A file the harness made for an unconfigured `default`, removed with the app.
    temporary: Option<PathBuf>,
}

/// The app's key-value stores, by label.
pub struct KeyValueStores {
    stores: HashMap<String, Backend>,
}

impl KeyValueStores {
    /// The stores of an app: `default`, plus those configured in the runtime config
    /// (label → file, or `None` for in memory).
    pub fn new(configured: &BTreeMap<String, Option<PathBuf>>) -> anyhow::Result<Self> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let mut stores = HashMap::new();
        let mut labels: Vec<(String, Option<PathBuf>, bool)> = configured
            .iter()
            .map(|(label, path)| (label.clone(), path.clone(), false))
            .collect();
        if !configured.contains_key(DEFAULT_STORE) {
            let file = std::env::temp_dir().join(format!(
                "market-kv-{}-{}.db",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            labels.push((DEFAULT_STORE.to_owned(), Some(file), true));
        }
        for (label, path, temporary) in labels {
            let db = match &path {
                Some(path) => rusqlite::Connection::open(path)?,
                None => rusqlite::Connection::open_in_memory()?,
            };
            db.execute_batch(
                "CREATE TABLE IF NOT EXISTS spin_key_value (
                     store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                     PRIMARY KEY (store, key))",
            )?;
            stores.insert(
                label,
                Backend {
                    db: Mutex::new(db),
                    temporary: path.filter(|_| temporary),
                },
            );
        }
        Ok(Self { stores })
    }

    pub fn is_defined(&self, label: &str) -> bool {
        self.stores.contains_key(label)
    }

    fn with_db<T>(
        &self,
        label: &str,
        operation: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let backend = self.stores.get(label).ok_or(Error::NoSuchStore)?;
        let db = backend.db.lock().expect("key-value store poisoned");
        operation(&db).map_err(|e| Error::Other(e.to_string()))
    }
}

impl Drop for KeyValueStores {
    fn drop(&mut self) {
        for file in self.stores.values().filter_map(|b| b.temporary.as_ref()) {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// An open store, as lent to a guest: its label.
pub struct KeyValueStore(String);

impl wit::Host for RequestState {}

impl wit::HostStore for RequestState {
    async fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KeyValueStore>, Error>> {
        if !self.component.key_value_stores.contains(&label) {
            return Ok(Err(Error::AccessDenied));
        }
        Ok(Ok(self.table.push(KeyValueStore(label))?))
    }

    async fn get(
        &mut self,
        store: Resource<KeyValueStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let label = self.table.get(&store)?.0.clone();
        Ok(self.app.key_value.with_db(&label, |db| {
            db.prepare_cached("SELECT value FROM spin_key_value WHERE store = $1 AND key = $2")?
                .query_row(params![label, key], |row| row.get(0))
                .optional()
        }))
    }

    async fn set(
        &mut self,
        store: Resource<KeyValueStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let label = self.table.get(&store)?.0.clone();
        Ok(self.app.key_value.with_db(&label, |db| {
            db.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (store, key) DO UPDATE SET value = $3",
            )?
            .execute(params![label, key, value])
            .map(drop)
        }))
    }

    async fn delete(
        &mut self,
        store: Resource<KeyValueStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let label = self.table.get(&store)?.0.clone();
        Ok(self.app.key_value.with_db(&label, |db| {
            db.prepare_cached("DELETE FROM spin_key_value WHERE store = $1 AND key = $2")?
                .execute(params![label, key])
                .map(drop)
        }))
    }

    async fn exists(
        &mut self,
        store: Resource<KeyValueStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let label = self.table.get(&store)?.0.clone();
        Ok(self.app.key_value.with_db(&label, |db| {
            db.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = $1 AND key = $2 LIMIT 1")?
                .query_row(params![label, key], |_| Ok(()))
                .optional()
                .map(|found| found.is_some())
        }))
    }

    async fn get_keys(
        &mut self,
        store: Resource<KeyValueStore>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let label = self.table.get(&store)?.0.clone();
        Ok(self.app.key_value.with_db(&label, |db| {
            db.prepare_cached("SELECT key FROM spin_key_value WHERE store = $1")?
                .query_map(params![label], |row| row.get(0))?
                .collect()
        }))
    }

    async fn drop(&mut self, store: Resource<KeyValueStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}
