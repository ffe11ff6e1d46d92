//! The record of the request being served: what the layers note while it runs (its
//! route, time spent in Postgres, what the listing cache did, what a use-case came to),
//! read once when it ends for its log line.
//!
//! Why a thread-local rather than a parameter through every call: Spin runs each
//! request in an instance of its own, so the request being served is the only one this
//! instance will ever see; storage and use-cases note what they did without every
//! signature on the way carrying a context. Native tests run one request per thread.

use std::cell::RefCell;
use std::time::{Duration, Instant};

/// A photo processed (`domain::photo_image`), and how long that took.
pub fn photo_processed(took: Duration) {
    note(|record| {
        record.photos += 1;
        record.photo_processing += took;
    });
}

/// What the listing cache did for a request that read the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// The page came from the cache.
    Hit,
    /// The cache was asked and had no current page: rendered from Postgres.
    Miss,
    /// The cache was not asked: turned off, unreachable, or a page it does not keep.
    Bypass,
}

impl CacheUse {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Bypass => "bypass",
        }
    }
}

/// What a use-case came to, for counting sells and buys by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UseCase {
    pub name: &'static str,
    /// `None` until it returns an outcome (an error on the way leaves it so).
    pub outcome: Option<&'static str>,
}

/// Everything noted about the request being served.
#[derive(Debug, Clone)]
pub struct Record {
    pub request_id: String,
    pub component: &'static str,
    pub method: String,
    /// The route pattern that matched (`/items/{id}/buy`), never the raw path.
    pub route: &'static str,
    pub started: Instant,
    pub database: Duration,
    pub database_calls: u32,
    pub cache: Option<CacheUse>,
    pub use_case: Option<UseCase>,
    /// Photos decoded, cleaned, resized and encoded, and the time that took.
    pub photos: u32,
    pub photo_processing: Duration,
}

/// The route of a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

thread_local! {
    static CURRENT: RefCell<Option<Record>> = const { RefCell::new(None) };
}

/// Starts the record of a new request (replacing any earlier one on this thread).
pub fn begin(component: &'static str, request_id: String, method: &str) {
    let record = Record {
        request_id,
        component,
        method: method.to_owned(),
        route: UNMATCHED_ROUTE,
        started: Instant::now(),
        database: Duration::ZERO,
        database_calls: 0,
        cache: None,
        use_case: None,
        photos: 0,
        photo_processing: Duration::ZERO,
    };
    CURRENT.with(|current| *current.borrow_mut() = Some(record));
}

fn note(change: impl FnOnce(&mut Record)) {
    CURRENT.with(|current| {
        if let Some(record) = current.borrow_mut().as_mut() {
            change(record);
        }
    });
}

/// The route pattern the router matched.
pub fn route(pattern: &'static str) {
    note(|record| record.route = pattern);
}

/// A statement sent to Postgres, and how long it took to answer.
pub fn database_call(took: Duration) {
    note(|record| {
        record.database += took;
        record.database_calls += 1;
    });
}

/// What the listing cache did (the first note stands: a page reads the cache once).
pub fn cache(used: CacheUse) {
    note(|record| {
        record.cache.get_or_insert(used);
    });
}

/// A use-case began.
pub fn use_case(name: &'static str) {
    note(|record| {
        record.use_case = Some(UseCase {
            name,
            outcome: None,
        });
    });
}

/// What the use-case came to (`listed`, `sold`, `sold_out`, `replayed`, ...).
pub fn outcome(outcome: &'static str) {
    note(|record| {
        if let Some(use_case) = record.use_case.as_mut() {
            use_case.outcome = Some(outcome);
        }
    });
}

/// `read` of what was noted so far about the request being served (`None` before one
/// began on this thread), without copying it.
pub fn with_current<T>(read: impl FnOnce(Option<&Record>) -> T) -> T {
    CURRENT.with(|current| read(current.borrow().as_ref()))
}

/// The id of the request being served, if one began on this thread.
pub fn request_id() -> Option<String> {
    with_current(|record| record.map(|record| record.request_id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_add_up_for_the_request_being_served_only() {
        let current = || with_current(|record| record.cloned());
        route("/ignored");
        assert!(
            current().is_none(),
            "nothing is noted before a request begins"
        );
        begin("items", "4bf92f3577b34da6a3ce929d0e0e4736".into(), "POST");
        route("/items/{id}/buy");
        database_call(Duration::from_millis(2));
        database_call(Duration::from_millis(3));
        cache(CacheUse::Miss);
        cache(CacheUse::Hit);
        use_case("buy");
        outcome("sold");
        let record = current().unwrap();
        assert_eq!(record.route, "/items/{id}/buy");
        assert_eq!(record.database, Duration::from_millis(5));
        assert_eq!(record.database_calls, 2);
        assert_eq!(record.cache, Some(CacheUse::Miss));
        assert_eq!(
            record.use_case,
            Some(UseCase {
                name: "buy",
                outcome: Some("sold")
            })
        );
        begin("pages", "5bf92f3577b34da6a3ce929d0e0e4736".into(), "GET");
        let fresh = current().unwrap();
        assert_eq!((fresh.route, fresh.database_calls), (UNMATCHED_ROUTE, 0));
    }
}
