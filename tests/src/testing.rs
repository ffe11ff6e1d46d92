//! What every integration test starts from: the real `spin up` serving the built
//! components on a free port, a fresh database with the migrations applied, and a
//! small HTTP client.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::cluster::PgCluster;
use crate::forms::{csrf_token_for_cookies, csrf_token_of_session, hidden_fields, presession};
use crate::redis::RedisServer;
use crate::spin::SpinUp;

/// Where the app serves its stylesheet (the hash of `components/pages/src/site.css`,
/// computed as the components compute it).
pub const STYLESHEET_PATH: &str = market::stylesheet_path!("../components/pages/src/site.css");

/// The project's folder (where `spin.toml` is).
pub fn project_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// One cluster for all tests of a process; each test gets its own database in it.
fn shared_cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start().expect("starting a throwaway PostgreSQL"))
}

/// The database a test works on, and the Spin serving it.
pub struct TestApp {
    pub spin: SpinUp,
    pub db_url: String,
    /// A direct connection, for arranging and checking rows.
    pub db: tokio_postgres::Client,
    /// Set when the test asked for a cluster of its own (to stop and start it).
    pub own_cluster: Option<PgCluster>,
}

/// The app on a fresh, migrated database in the shared cluster.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_variables(HashMap::new()).await
}

/// The same, with some Spin variables overridden (`SPIN_VARIABLE_*`).
pub async fn spawn_app_with_variables(variables: HashMap<&str, String>) -> TestApp {
    let cluster = shared_cluster();
    let variables = variables
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    spawn_on(cluster.port, &cluster.url("postgres"), variables).await
}

/// The app on a cluster of its own, which the test may stop and start.
pub async fn spawn_app_with_own_cluster() -> TestApp {
    spawn_app_on_cluster(PgCluster::start().expect("starting a throwaway PostgreSQL")).await
}

/// The app on the given cluster, which the test owns.
pub async fn spawn_app_on_cluster(cluster: PgCluster) -> TestApp {
    let mut test_app = spawn_on(cluster.port, &cluster.url("postgres"), HashMap::new()).await;
    test_app.own_cluster = Some(cluster);
    test_app
}

/// A fresh, migrated database in the cluster at `admin_url`, with the [`shopper`] and the
/// [`merchant`] in it; its connection string.
pub async fn create_database(admin_url: &str) -> String {
    let db_url = create_database_with(admin_url, migrations::MIGRATIONS).await;
    let db = connect(&db_url).await;
    add_person(&db, shopper()).await;
    add_person(&db, merchant()).await;
    db_url
}

/// A fresh database in the cluster at `admin_url` with only `applied` applied; its
/// connection string.
pub async fn create_database_with(admin_url: &str, applied: &[migrations::Migration]) -> String {
    static DATABASES: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::Relaxed)
    );
    let admin = connect(admin_url).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("creating the test database");
    let db_url = admin_url.replace("/postgres?", &format!("/{name}?"));
    let mut db = connect(&db_url).await;
    // The app's role belongs to the whole server: migrating two databases of one cluster
    // at once would race to create and alter it (in production, one runner migrates).
    static MIGRATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let migrating = MIGRATING.lock().await;
    migrations::apply_migrations(&mut db, applied)
        .await
        .expect("applying migrations");
    drop(migrating);
    db.batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .expect("pg_stat_statements (the cluster preloads it)");
    db_url
}

/// A person with an account, signed in on one browser (`session`) and holding one API
/// token, as a test arranges them.
#[derive(Debug, Clone)]
pub struct TestPerson {
    pub name: String,
    pub email: String,
    pub password: String,
    /// The session id of the browser they are signed in on.
    pub session: String,
    pub token: String,
}

/// The password of every person a test arranges.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

impl TestPerson {
    /// A new person (not yet stored) named `name`, with a fresh session id and token.
    pub fn new(name: &str) -> Self {
        use market::domain::account::Secret;
        let session = Secret::new_session_id().unwrap().expose().to_owned();
        Self {
            name: name.to_owned(),
            email: format!(
                "{}.{}@example.com",
                name.to_lowercase().replace(' ', "."),
                &session[..8]
            ),
            password: TEST_PASSWORD.to_owned(),
            session,
            token: Secret::new_api_token().unwrap().expose().to_owned(),
        }
    }

    /// The `Cookie` of their browser.
    pub fn session_cookie(&self) -> String {
        format!("session={}", self.session)
    }

    /// The CSRF token of the forms their browser is shown (bound to its session).
    pub fn csrf_token(&self) -> String {
        csrf_token_of_session(&self.session)
    }

    /// The `Authorization` of their programs.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

/// The headers of a JSON request from the [`shopper`]'s program: its API token.
pub fn json_headers() -> [(&'static str, &'static str); 2] {
    static BEARER: OnceLock<String> = OnceLock::new();
    let bearer = BEARER.get_or_init(|| shopper().bearer());
    [
        ("content-type", "application/json"),
        ("authorization", bearer),
    ]
}

/// The person every test database has, who lists and buys in the tests that are not
/// about who may: the same secrets in every database of this process.
pub fn shopper() -> &'static TestPerson {
    static SHOPPER: OnceLock<TestPerson> = OnceLock::new();
    SHOPPER.get_or_init(|| TestPerson::new("Shopper"))
}

/// The person every test database has who lists what the tests buy (`shop::ApiItem::list`,
/// `shop::list_item`): nobody buys their own listing.
pub fn merchant() -> &'static TestPerson {
    static MERCHANT: OnceLock<TestPerson> = OnceLock::new();
    MERCHANT.get_or_init(|| TestPerson::new("Merchant"))
}

/// Signs a new person named `name` up through the app at `addr` as a browser does (the
/// sign-up form, then a token from the account page), and returns them signed in.
pub async fn sign_up_at(addr: SocketAddr, name: &str) -> anyhow::Result<TestPerson> {
    let mut person = TestPerson::new(name);
    let page = send_to(addr, Method::GET, "/account/sign-up", &[], Bytes::new()).await?;
    anyhow::ensure!(
        page.status == StatusCode::OK,
        "sign-up page: {}",
        page.status
    );
    let presession = page
        .cookie("presession")
        .ok_or_else(|| anyhow::anyhow!("the sign-up page set no presession cookie"))?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (field, value) in hidden_fields(&page.text(), "/account/sign-up") {
        form.append_pair(&field, &value);
    }
    form.append_pair("email", &person.email)
        .append_pair("display_name", name)
        .append_pair("password", &person.password);
    let form_headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("cookie", presession.as_str()),
    ];
    let signed_up = send_to(
        addr,
        Method::POST,
        "/account/sign-up",
        &form_headers,
        form.finish().into(),
    )
    .await?;
    anyhow::ensure!(
        signed_up.status == StatusCode::SEE_OTHER,
        "sign-up: {} {}",
        signed_up.status,
        signed_up.text()
    );
    let session = signed_up
        .cookie("session")
        .ok_or_else(|| anyhow::anyhow!("signing up set no session cookie"))?;
    person.session = session.trim_start_matches("session=").to_owned();
    let cookies = session.clone();
    let token = person.csrf_token();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &token)
        .append_pair("token_name", "tests")
        .finish();
    let headers = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("cookie", cookies.as_str()),
    ];
    let created = send_to(addr, Method::POST, "/account/tokens", &headers, body.into()).await?;
    anyhow::ensure!(
        created.status == StatusCode::CREATED,
        "creating a token: {} {}",
        created.status,
        created.text()
    );
    person.token = shown_token(&created.text())
        .ok_or_else(|| anyhow::anyhow!("the account page shows no new token"))?;
    Ok(person)
}

/// The API token an account page shows once after creating it.
pub fn shown_token(html: &str) -> Option<String> {
    let (_, rest) = html.split_once(r#"id="new-token-value">"#)?;
    Some(rest.split('<').next()?.to_owned())
}

/// Stores `person` in the database behind `db`, as signing up, signing in and creating
/// a token would (the password hashed once per process: Argon2 is slow on purpose).
/// Arranges `person` as someone who signed up and verified their address long ago.
pub async fn add_person(db: &tokio_postgres::Client, person: &TestPerson) {
    use market::domain::account::{Password, Secret, hash_password};
    static HASH: OnceLock<String> = OnceLock::new();
    let hash = HASH.get_or_init(|| {
        hash_password(&Password::parse_new(TEST_PASSWORD).unwrap()).expect("hashing")
    });
    let digest = |secret: &str, parse: fn(&str) -> Option<Secret>| {
        parse(secret).expect("a well-formed secret").digest()
    };
    db.execute(
        "WITH account AS (
             INSERT INTO accounts (email, display_name, password_hash, email_verified_at)
             VALUES ($1, $2, $3, now()) RETURNING id
         ), session AS (
             INSERT INTO sessions (token_hash, account_id) SELECT $4, id FROM account
         )
         INSERT INTO api_tokens (account_id, name, token_hash)
         SELECT id, 'tests', $5 FROM account",
        &[
            &person.email,
            &person.name,
            hash,
            &digest(&person.session, Secret::parse_session_id),
            &digest(&person.token, Secret::parse_api_token),
        ],
    )
    .await
    .expect("arranging a person");
}

/// The connection string the app uses for the database at `db_url`: the same database
/// as its own role, `market_app` (the tests' clusters trust local connections).
pub fn app_url(db_url: &str) -> String {
    db_url.replacen("://postgres@", &format!("://{}@", migrations::APP_ROLE), 1)
}

/// The Spin variables that point the app at `db_url`, as its own role, on the cluster at
/// `port`.
pub fn database_variables(db_url: &str, port: u16) -> HashMap<String, String> {
    HashMap::from([
        ("db_url".to_owned(), app_url(db_url)),
        ("db_host".to_owned(), "127.0.0.1".to_owned()),
        ("db_port".to_owned(), port.to_string()),
    ])
}

/// The app on a fresh database of the shared cluster, with these Spin variables and
/// these environment variables of Spin's own (e.g. `OTEL_*`).
pub async fn spawn_app_with_environment(
    variables: HashMap<String, String>,
    environment: Vec<(String, String)>,
) -> TestApp {
    let cluster = shared_cluster();
    spawn_with(
        cluster.port,
        &cluster.url("postgres"),
        variables,
        environment,
    )
    .await
}

/// The app with extra variable overrides, on a fresh database of the cluster at `port`.
async fn spawn_on(port: u16, admin_url: &str, extra_variables: HashMap<String, String>) -> TestApp {
    spawn_with(port, admin_url, extra_variables, Vec::new()).await
}

async fn spawn_with(
    port: u16,
    admin_url: &str,
    extra_variables: HashMap<String, String>,
    environment: Vec<(String, String)>,
) -> TestApp {
    let db_url = create_database(admin_url).await;
    let db = connect(&db_url).await;
    let mut variables = database_variables(&db_url, port);
    variables.extend(extra_variables);
    let spin = tokio::task::spawn_blocking(move || {
        let mut all = crate::spin::variable_environment(variables);
        all.extend(environment);
        SpinUp::start_with(&crate::spin::spin_binary()?, &all)
    })
    .await
    .expect("starting spin up")
    .unwrap_or_else(|e| panic!("{e:#}"));
    TestApp {
        spin,
        db_url,
        db,
        own_cluster: None,
    }
}

/// The lines of a log that are JSON objects: the components' (and nginx's) structured
/// lines, without the plain lines Spin prints itself. Each is read from its first brace,
/// as `scripts/ops-report` reads them: `docker compose logs` starts every line with a
/// terminal escape (`ESC[2K`), even with `--no-color` and `--ansi never`.
pub fn json_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter_map(|line| line.find('{').map(|start| &line[start..]))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(serde_json::Value::is_object)
        .collect()
}

/// A direct connection to the database at `url` (the test's own, beside the app's).
pub async fn connect(url: &str) -> tokio_postgres::Client {
    migrations::connect(&url.parse().expect("valid url"), Duration::from_secs(10))
        .await
        .expect("connecting to the test database")
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `name=value` part of the `Set-Cookie` for this cookie name, if set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.cookies().into_iter().find(|c| c.starts_with(&prefix))
    }

    /// The `name=value` part of each `Set-Cookie`.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_owned)
            .collect()
    }
}

/// The names of the items stored in the database `db` is connected to.
pub async fn item_names(db: &tokio_postgres::Client) -> Vec<String> {
    db.query("SELECT name FROM items", &[])
        .await
        .expect("reading item names")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// How much work Postgres did for one database, from its own statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgWork {
    /// Statements the app sent (pg_stat_statements calls, without the pool's clean-up
    /// on checkout and without the tests' own statistics queries).
    pub statements: i64,
    /// Every statement, the pool's clean-up on checkout included.
    pub all_calls: i64,
}

/// Statements run so far in the database `db` is connected to, from Postgres' own
/// `pg_stat_statements` (the cluster preloads it; [`create_database`] creates it).
pub async fn pg_work(db: &tokio_postgres::Client) -> PgWork {
    // The pool's clean-up on checkout: the statements of deadpool's `RecyclingMethod::Clean`.
    let row = db
        .query_one(
            "SELECT coalesce(sum(calls) FILTER (WHERE query !~* '^(CLOSE ALL|SET SESSION AUTHORIZATION\
                    |RESET ALL|UNLISTEN|DISCARD|SELECT pg_advisory_unlock_all)'), 0)::bigint,
                    coalesce(sum(calls), 0)::bigint
             FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND query !~ 'pg_stat_statements|pg_stat_activity'",
            &[],
        )
        .await
        .expect("reading pg_stat_statements");
    PgWork {
        statements: row.get(0),
        all_calls: row.get(1),
    }
}

impl TestApp {
    pub fn addr(&self) -> SocketAddr {
        self.spin.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.spin.addr)
    }

    /// What Spin and the components logged so far.
    pub fn log(&self) -> String {
        self.spin.log()
    }

    /// The components' JSON log lines so far (Spin's own lines left out).
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        json_lines(&self.log())
    }

    /// The components' JSON log lines once the request line of each of `ids` is in (or
    /// after 5 s): a component writes it after handing Spin the response, and Spin
    /// writes it to its log a moment later.
    pub async fn log_lines_after(&self, ids: &[&str]) -> Vec<serde_json::Value> {
        let started = std::time::Instant::now();
        loop {
            let lines = self.log_lines();
            let logged = |id: &&str| {
                lines
                    .iter()
                    .any(|line| line["kind"] == "request" && line["request_id"] == *id)
            };
            if ids.iter().all(logged) || started.elapsed() > Duration::from_secs(5) {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Statements run in this test's database so far (Postgres' `pg_stat_statements`).
    pub async fn pg_work(&self) -> PgWork {
        pg_work(&self.db).await
    }

    /// The app's connections to this test's database: those of its role. The connections
    /// the test opened to arrange the database are not counted; a backend of one it has
    /// already dropped can linger in `pg_stat_activity` for a moment on a busy machine.
    pub async fn open_pg_connections(&self) -> i64 {
        self.db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND usename = $1",
                &[&migrations::APP_ROLE],
            )
            .await
            .expect("reading pg_stat_activity")
            .get(0)
    }

    /// Sends one request on a fresh connection.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        send_to(self.spin.addr, method, path, headers, body.into())
            .await
            .unwrap_or_else(|e| panic!("{e:#}\n{}", self.log()))
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    /// Posts JSON as a program of the [`shopper`] (with their API token).
    pub async fn post_json(&self, path: &str, body: &str) -> TestResponse {
        self.post_json_as(shopper(), path, body).await
    }

    /// Posts JSON as a program of `person` (with their API token).
    pub async fn post_json_as(&self, person: &TestPerson, path: &str, body: &str) -> TestResponse {
        let bearer = person.bearer();
        self.send(
            Method::POST,
            path,
            &[
                ("content-type", "application/json"),
                ("authorization", &bearer),
            ],
            body.to_owned(),
        )
        .await
    }

    /// Loads the home page as the [`shopper`]'s browser and returns its cookies (the
    /// session) and the form token its forms carry.
    pub async fn csrf(&self) -> (String, String) {
        self.csrf_as(shopper()).await
    }

    /// The same, as `person`'s browser.
    pub async fn csrf_as(&self, person: &TestPerson) -> (String, String) {
        let session = person.session_cookie();
        let page = self
            .send(Method::GET, "/", &[("cookie", &session)], Bytes::new())
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        assert_eq!(
            page.cookies(),
            Vec::<String>::new(),
            "no cookie is handed out"
        );
        let token = person.csrf_token();
        let html = page.text();
        assert!(html.contains(&format!(r#"name="csrf_token" value="{token}""#)));
        (session, token)
    }

    /// Posts the sell form as a browser would, with a valid CSRF cookie and token.
    pub async fn sell(&self, fields: &[(&str, &str)]) -> TestResponse {
        let (cookie, token) = self.csrf().await;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("csrf_token", &token);
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        self.send(
            Method::POST,
            "/items",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &cookie),
            ],
            form.finish(),
        )
        .await
    }

    /// A new person with an account in this app's database, signed in on a browser and
    /// holding a token.
    pub async fn add_person(&self, name: &str) -> TestPerson {
        let person = TestPerson::new(name);
        add_person(&self.db, &person).await;
        person
    }

    /// `GET path` from the browser with these cookies.
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> TestResponse {
        self.send(Method::GET, path, &[("cookie", cookie)], Bytes::new())
            .await
    }

    /// Posts a form of ours to `path` from a browser with these cookies (none: a browser
    /// that never signed in), with the CSRF field its session's forms carry.
    pub async fn post_form(
        &self,
        cookie: Option<&str>,
        path: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        // The sign-in, sign-up, forgotten-password and reset forms carry their
        // pre-session's token (one browser's, the same for every post of this process);
        // others their session's.
        static PRESESSION: OnceLock<(String, String)> = OnceLock::new();
        let presession_forms = [
            "/account/sign-in",
            "/account/sign-up",
            "/account/email/forgot",
            "/account/email/reset",
        ];
        let (cookies, token) = if presession_forms.contains(&path) {
            let (presession, token) = PRESESSION.get_or_init(presession).clone();
            let cookies = match cookie {
                Some(cookie) => format!("{presession}; {cookie}"),
                None => presession,
            };
            (Some(cookies), token)
        } else {
            (cookie.map(str::to_owned), csrf_token_for_cookies(cookie))
        };
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("csrf_token", &token);
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(cookies) = &cookies {
            headers.push(("cookie", cookies));
        }
        self.send(Method::POST, path, &headers, form.finish()).await
    }

    /// How many items the database holds.
    pub async fn item_count(&self) -> i64 {
        self.db
            .query_one("SELECT count(*) FROM items", &[])
            .await
            .expect("counting items")
            .get(0)
    }
}

/// Text that must never reach a client: SQL, connection strings, Rust panics.
const INTERNALS: &[&str] = &[
    "SELECT",
    "INSERT",
    "schema_migrations",
    "postgres://",
    "sslmode",
    "127.0.0.1",
    "panicked",
    "RUST_BACKTRACE",
    "tokio_postgres",
    "DbError",
];

/// Fails when a response body shows any internals.
pub fn assert_no_internals(body: &str) {
    for needle in INTERNALS {
        assert!(!body.contains(needle), "response leaks {needle:?}: {body}");
    }
}

/// The longest any request may take in a test before it counts as hung: above the
/// app's 5 s statement timeout, far below the 30 s after which nginx gives up.
pub const NO_HANG: Duration = Duration::from_secs(15);

/// `GET path` at `addr` on a fresh connection; fails the test if it gets no answer.
pub async fn get_at(addr: SocketAddr, path: &str) -> TestResponse {
    send_to(addr, Method::GET, path, &[], Bytes::new())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Sends `bytes` as they are (for requests a client library would refuse to send) on a
/// fresh connection, and returns everything the server answered until it closed the
/// connection (empty if it closed without answering).
pub async fn send_raw(addr: SocketAddr, bytes: &[u8]) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(bytes).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        anyhow::Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(NO_HANG, exchange)
        .await
        .map_err(|_| anyhow::anyhow!("no answer to a raw request within {NO_HANG:?}"))?
}

/// Sends one HTTP/1.1 request to `addr` and reads the whole response, failing when that
/// takes longer than [`NO_HANG`].
pub async fn send_to(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> anyhow::Result<TestResponse> {
    send_from(None, addr, method, path, headers, body).await
}

/// The same from a given local address (any of 127.0.0.0/8 is this machine), so that
/// nginx sees several clients, each with its own rate limit.
pub async fn send_from(
    local: Option<IpAddr>,
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> anyhow::Result<TestResponse> {
    let what = format!("{method} {path}");
    let exchange = send_unbounded(local, addr, method, path, headers, body);
    tokio::time::timeout(NO_HANG, exchange)
        .await
        .map_err(|_| anyhow::anyhow!("{what} got no answer within {NO_HANG:?}: it hangs"))?
}

async fn send_unbounded(
    local: Option<IpAddr>,
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> anyhow::Result<TestResponse> {
    let stream = match local {
        None => TcpStream::connect(addr).await?,
        Some(ip) => {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(ip, 0))?;
            socket.connect(addr).await?
        }
    };
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("localhost:{}", addr.port()));
    for (name, value) in headers {
        request = request.header(
            HeaderName::from_bytes(name.as_bytes())?,
            HeaderValue::from_bytes(value.as_bytes())?,
        );
    }
    let response = sender.send_request(request.body(Full::new(body))?).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(TestResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// Several `spin up` instances of the app on one fresh database, sharing one real Redis
/// as the listing cache (the `cache_redis_*` variables, as compose.scale.yml sets them).
pub struct Replicas {
    pub instances: Vec<SpinUp>,
    pub redis: RedisServer,
    pub db_url: String,
    /// A direct connection, for arranging and checking rows.
    pub db: tokio_postgres::Client,
    /// Set when the test asked for a cluster of its own.
    pub own_cluster: Option<PgCluster>,
}

/// `count` instances on a fresh database of the shared cluster.
pub async fn spawn_replicas(count: usize) -> Replicas {
    spawn_replicas_on(shared_cluster(), count).await
}

/// `count` instances on a cluster of the test's own (to change server-wide settings).
pub async fn spawn_replicas_on_own_cluster(count: usize) -> Replicas {
    let cluster = PgCluster::start().expect("starting a throwaway PostgreSQL");
    let mut replicas = spawn_replicas_on(&cluster, count).await;
    replicas.own_cluster = Some(cluster);
    replicas
}

async fn spawn_replicas_on(cluster: &PgCluster, count: usize) -> Replicas {
    let db_url = create_database(&cluster.url("postgres")).await;
    let db = connect(&db_url).await;
    let redis = RedisServer::start().expect("starting redis-server");
    let mut variables = database_variables(&db_url, cluster.port);
    variables.extend([
        ("cache_redis_url".to_owned(), redis.url()),
        ("cache_redis_host".to_owned(), "127.0.0.1".to_owned()),
        ("cache_redis_port".to_owned(), redis.addr.port().to_string()),
    ]);
    let mut instances = Vec::new();
    for _ in 0..count {
        let variables = variables.clone();
        let spin = tokio::task::spawn_blocking(move || SpinUp::start(&variables))
            .await
            .expect("starting spin up")
            .unwrap_or_else(|e| panic!("{e:#}"));
        instances.push(spin);
    }
    Replicas {
        instances,
        redis,
        db_url,
        db,
        own_cluster: None,
    }
}

impl Replicas {
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.instances.iter().map(|spin| spin.addr).collect()
    }
}
