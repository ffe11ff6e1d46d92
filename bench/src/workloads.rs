//! The workloads: what each sends, as wrk sends it, and what kind of work it is.

use hyper::Method;
use market_tests::forms::presession;
use market_tests::testing::{STYLESHEET_PATH, shopper};

use crate::{SPREAD_ITEMS, Stock};

/// What a workload does, for the database ceiling's choice of SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Browse,
    ApiList,
    Sell,
    /// Buying one unit of an item picked at random among `count` in a row from `first`.
    Buy {
        first: i64,
        count: i64,
    },
    /// A request without store or database (Spin's floor, the stylesheet).
    Floor,
    /// Spin's floor for a write: one pooled checkout and `SELECT 1`.
    FloorDb,
    Constant,
    /// Signing in with the right password: an Argon2id hash in Wasm, then a session.
    SignIn,
}

impl Kind {
    /// The item the `n`th request of a buy workload buys.
    pub fn bought_item(self, n: u64) -> Option<i64> {
        match self {
            Self::Buy { first, count } => Some(first + (n % count.max(1) as u64) as i64),
            _ => None,
        }
    }
}

/// The names of the workloads the signed-in comparison reads.
pub const ANONYMOUS_BROWSE: &str = "browse (GET /)";
pub const SIGNED_IN_BROWSE: &str = "browse, signed in (GET / with a session)";
pub const THUMBNAIL: &str = "cached thumbnail (GET /photos/<sha256>.jpg)";
pub const INBOX: &str = "inbox, signed in (GET /conversations)";
pub const ORDER_PAGE: &str = "order page, signed in (GET /orders/{id})";

/// One kind of request, as wrk sends it.
pub struct Workload {
    pub name: &'static str,
    pub kind: Kind,
    pub method: Method,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Workload {
    fn get(name: &'static str, kind: Kind, path: &str) -> Self {
        Self {
            name,
            kind,
            method: Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    fn post_json(name: &'static str, kind: Kind, path: String, body: &str) -> Self {
        Self {
            name,
            kind,
            method: Method::POST,
            path,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("authorization", shopper().bearer()),
            ],
            body: body.to_owned(),
        }
    }

    /// Signing in as the shopper with the sign-in form (its pre-session cookie and the
    /// token bound to it).
    pub fn sign_in() -> Self {
        let (cookie, token) = presession();
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf_token", &token)
            .append_pair("email", &shopper().email)
            .append_pair("password", &shopper().password)
            .finish();
        Self {
            name: "sign in (POST /account/sign-in)",
            kind: Kind::SignIn,
            method: Method::POST,
            path: "/account/sign-in".to_owned(),
            headers: vec![
                (
                    "content-type",
                    "application/x-www-form-urlencoded".to_owned(),
                ),
                ("cookie", cookie),
            ],
            body,
        }
    }

    pub fn all(stock: &Stock) -> Vec<Self> {
        let mut all = vec![
            Self::get("browse (GET /)", Kind::Browse, "/"),
            Self {
                headers: vec![("cookie", shopper().session_cookie())],
                ..Self::get(SIGNED_IN_BROWSE, Kind::Browse, "/")
            },
            Self::get(
                "API list (GET /api/items?limit=50)",
                Kind::ApiList,
                "/api/items?limit=50",
            ),
            // An immutable file at its hashed URL: nginx's cache answers it.
            Self::get(
                "stylesheet (GET /static/site-<hash>.css)",
                Kind::Floor,
                STYLESHEET_PATH,
            ),
            Self::post_json(
                "sell (POST /api/items)",
                Kind::Sell,
                "/api/items".to_owned(),
                r#"{"name":"Bench item","quantity":5,"price":"12.50","description":"Listed by the benchmark"}"#,
            ),
            Self::post_json(
                "buy, one hot item (POST /api/items/{id}/buy)",
                Kind::Buy {
                    first: stock.hot,
                    count: 1,
                },
                format!("/api/items/{}/buy", stock.hot),
                r#"{"quantity":1}"#,
            ),
            Self::post_json(
                "buy, 1,000 items (POST /api/items/{id}/buy)",
                Kind::Buy {
                    first: stock.spread_first,
                    count: SPREAD_ITEMS,
                },
                format!("/api/items/{}/buy", stock.spread_first),
                r#"{"quantity":1}"#,
            ),
            Self::sign_in(),
        ];
        if stock.order > 0 {
            // The signed-in pages of a trade: the inbox and an order page (each reads
            // the session, the header's notice count and its own rows).
            let session = || vec![("cookie", shopper().session_cookie())];
            all.push(Self {
                headers: session(),
                ..Self::get(INBOX, Kind::FloorDb, "/conversations")
            });
            all.push(Self {
                headers: session(),
                ..Self::get(
                    ORDER_PAGE,
                    Kind::FloorDb,
                    &format!("/orders/{}", stock.order),
                )
            });
        }
        if !stock.thumbnail.is_empty() {
            // A photo at its hashed URL, as every visitor's browser asks for it.
            all.push(Self::get(THUMBNAIL, Kind::Floor, &stock.thumbnail));
        }
        all
    }

    /// The path of the `n`th request: for a buy, that of the item it buys (wrk picks
    /// the items at random instead, see `wrk::script`).
    pub fn path_of_request(&self, n: u64) -> String {
        match self.kind.bought_item(n) {
            Some(item) => format!("/api/items/{item}/buy"),
            None => self.path.clone(),
        }
    }

    /// Spin's floor, served by the floor app (bench/floor) through the same nginx.
    pub fn floors() -> Vec<Self> {
        vec![
            Self::get("Spin floor (GET /floor)", Kind::Floor, "/floor"),
            Self::get(
                "Spin floor + one key-value read (GET /floor/kv)",
                Kind::Floor,
                "/floor/kv",
            ),
            Self::get(
                "Spin floor + SELECT 1 (GET /floor/db)",
                Kind::FloorDb,
                "/floor/db",
            ),
        ]
    }

    /// Browse and API list against the app with the listing cache off.
    pub fn reads_without_cache() -> Vec<Self> {
        vec![
            Self::get("browse, cache off", Kind::Browse, "/"),
            Self::get("API list, cache off", Kind::ApiList, "/api/items?limit=50"),
        ]
    }

    /// The anonymous first page's bytes as a static file (the static ceiling).
    pub fn static_page() -> Self {
        Self::get("the same page as a static file", Kind::Constant, "/")
    }

    pub fn constant() -> Self {
        Self::get("constant response", Kind::Constant, "/")
    }
}
