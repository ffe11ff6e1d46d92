//! Runs the app's components the way Spin's HTTP trigger does: route the request,
//! add Spin's `spin-*` headers after the client's, build a fresh instance for every
//! request, and turn a guest that fails before answering into an empty 500.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anyhow::bail;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, combinators::UnsyncBoxBody};
use hyper::body::Body;
use hyper::{Request, Response, StatusCode};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings;
use crate::key_value::KeyValueStores;
use crate::manifest::Manifest;
use crate::outbound_http::OutboundHttp;
use crate::postgres::{PgStats, Pools};
use crate::routes::{RouteMatch, Router};
use crate::runtime_config::RuntimeConfig;
use crate::variables::Variables;

/// The response body the host gives hyper.
pub type ResponseBody = UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// What one component needs at request time.
pub struct ComponentContext {
    pub id: String,
    /// `[component.x.variables]`: templates over the app's variables.
    pub variables: std::collections::BTreeMap<String, String>,
    pub allowed_outbound_hosts: Vec<String>,
    /// `key_value_stores`: the labels this component may open.
    pub key_value_stores: Vec<String>,
    pre: ProxyPre<RequestState>,
}

/// State shared by every request of one running app.
pub struct AppShared {
    pub variables: Variables,
    pub pools: Pools,
    pub key_value: KeyValueStores,
}

/// The store data of one request's instance.
pub struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound_http: OutboundHttp,
    pub(crate) table: ResourceTable,
    limits: StoreLimits,
    pub(crate) component: Arc<ComponentContext>,
    pub(crate) app: Arc<AppShared>,
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound_http,
        }
    }
}

/// Components compiled once per process: compiling is the slow part, and the same
/// `.wasm` files serve every test.
struct Compiled {
    engine: Engine,
    components: HashMap<PathBuf, Component>,
}

static COMPILED: OnceLock<std::sync::Mutex<Option<Arc<Compiled>>>> = OnceLock::new();

/// An engine configured like Spin's: the component model, and the pooling instance
/// allocator (Spin's default), which keeps per-request instantiation cheap.
fn engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(
        PoolingAllocationConfig::default(),
    ));
    Ok(Engine::new(&config)?)
}

fn compile(paths: &[PathBuf]) -> anyhow::Result<Arc<Compiled>> {
    let cell = COMPILED.get_or_init(Default::default);
    let mut guard = cell.lock().expect("compile cache poisoned");
    let compiled = guard.get_or_insert_with(|| {
        Arc::new(Compiled {
            engine: engine().expect("wasmtime engine"),
            components: HashMap::new(),
        })
    });
    let missing: Vec<&PathBuf> = paths
        .iter()
        .filter(|p| !compiled.components.contains_key(*p))
        .collect();
    if !missing.is_empty() {
        let mut components = compiled.components.clone();
        for path in missing {
            let component = Component::from_file(&compiled.engine, path).map_err(|e| {
                anyhow::Error::from(e).context(format!("compiling {}", path.display()))
            })?;
            components.insert(path.clone(), component);
        }
        *compiled = Arc::new(Compiled {
            engine: compiled.engine.clone(),
            components,
        });
    }
    Ok(compiled.clone())
}

/// A loaded app, ready to serve requests.
pub struct App {
    engine: Engine,
    router: Router,
    components: HashMap<String, Arc<ComponentContext>>,
    shared: Arc<AppShared>,
    max_instance_memory: Option<usize>,
}

/// How to start an app: the manifest, and what `spin up` would get on its command line.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    pub manifest: PathBuf,
    pub runtime_config: Option<PathBuf>,
    /// Like `spin up --variable name=value`.
    pub variables: HashMap<String, String>,
}

impl App {
    pub fn load(options: &AppOptions) -> anyhow::Result<Arc<Self>> {
        let (manifest, base) = Manifest::load(&options.manifest)?;
        let runtime_config = match &options.runtime_config {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let sources: Vec<PathBuf> = manifest
            .component
            .values()
            .map(|c| base.join(&c.source))
            .collect();
        for source in &sources {
            if !source.exists() {
                bail!(
                    "{} does not exist: build the components first",
                    source.display()
                );
            }
        }
        let key_value = KeyValueStores::new(&runtime_config.key_value_stores)?;
        for (id, component) in &manifest.component {
            for label in &component.key_value_stores {
                // Spin refuses at startup a label with no store behind it.
                if !key_value.is_defined(label) {
                    bail!("unknown key_value_stores label {label:?} for component {id:?}");
                }
            }
        }
        let compiled = compile(&sources)?;
        let mut linker: Linker<RequestState> = Linker::new(&compiled.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::spin::postgres::postgres::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        bindings::fermyon::spin::variables::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        bindings::fermyon::spin::key_value::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;

        let mut components = HashMap::new();
        for (id, def) in &manifest.component {
            let component = &compiled.components[&base.join(&def.source)];
            let pre =
                ProxyPre::new(linker.instantiate_pre(component).map_err(|e| {
                    anyhow::Error::from(e).context(format!("linking component {id}"))
                })?)?;
            components.insert(
                id.clone(),
                Arc::new(ComponentContext {
                    id: id.clone(),
                    variables: def.variables.clone(),
                    allowed_outbound_hosts: def.allowed_outbound_hosts.clone(),
                    key_value_stores: def.key_value_stores.clone(),
                    pre,
                }),
            );
        }
        Ok(Arc::new(Self {
            engine: compiled.engine.clone(),
            router: Router::new(&manifest.trigger.http),
            components,
            shared: Arc::new(AppShared {
                variables: Variables::new(manifest.variables.clone(), options.variables.clone()),
                pools: Pools::default(),
                key_value,
            }),
            max_instance_memory: runtime_config.max_instance_memory,
        }))
    }

    /// Postgres work the guests asked for so far.
    pub fn pg_stats(&self) -> PgStats {
        self.shared.pools.stats()
    }

    /// Postgres connections the host's pools hold right now.
    pub fn open_pg_connections(&self) -> usize {
        self.shared.pools.open_connections()
    }

    /// Serves one request that arrived from `client_addr`.
    pub async fn handle<B>(
        self: &Arc<Self>,
        request: Request<B>,
        client_addr: SocketAddr,
    ) -> anyhow::Result<Response<ResponseBody>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let path = request.uri().path().to_owned();
        if let Some(rest) = path.strip_prefix("/.well-known/spin/") {
            return Ok(well_known(rest));
        }
        let Some(route) = self.router.route(&path) else {
            return Ok(empty(StatusCode::NOT_FOUND));
        };
        let request = prepare_request(request, &route, client_addr)?;
        let component = self.components[&route.component].clone();
        Ok(self.run(component, request).await)
    }

    async fn run<B>(
        &self,
        component: Arc<ComponentContext>,
        request: Request<B>,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let mut limits = StoreLimitsBuilder::new();
        if let Some(bytes) = self.max_instance_memory {
            limits = limits.memory_size(bytes);
        }
        let state = RequestState {
            wasi: WasiCtx::builder().inherit_stdout().inherit_stderr().build(),
            http: WasiHttpCtx::new(),
            outbound_http: OutboundHttp::new(
                component.allowed_outbound_hosts.clone(),
                self.shared.clone(),
            ),
            table: ResourceTable::new(),
            limits: limits.build(),
            component: component.clone(),
            app: self.shared.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // A client that breaks the body mid-way; Spin reports it to the guest the same way.
        let request =
            request.map(|body| body.map_err(|e| ErrorCode::InternalError(Some(e.to_string()))));
        let id = component.id.clone();
        let task = tokio::spawn(async move {
            let proxy = component.pre.instantiate_async(&mut store).await?;
            let mut http = store.data_mut().http();
            let request = http.new_incoming_request(Scheme::Http, request)?;
            let out = http.new_response_outparam(sender)?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, request, out)
                .await
        });
        match receiver.await {
            Ok(Ok(response)) => response.map(|body| body.boxed_unsync()),
            Ok(Err(code)) => {
                eprintln!("harness: component {id} answered with error {code:?}");
                empty(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Err(_) => {
                // The guest returned or trapped without setting a response.
                match task.await {
                    Ok(Err(e)) => eprintln!("harness: component {id} failed: {e:?}"),
                    Ok(Ok(())) => eprintln!("harness: component {id} returned no response"),
                    Err(e) => eprintln!("harness: component {id} task failed: {e}"),
                }
                empty(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// Spin's own endpoints under `/.well-known/spin/`.
fn well_known(rest: &str) -> Response<ResponseBody> {
    match rest {
        "health" => full(StatusCode::OK, "OK"),
        "info" => full(StatusCode::OK, r#"{"version":"spin-harness"}"#),
        _ => empty(StatusCode::NOT_FOUND),
    }
}

fn empty(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed_unsync());
    *response.status_mut() = status;
    response
}

fn full(status: StatusCode, body: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
}

/// Makes the URI absolute from the `Host` header and appends Spin's headers after the
/// client's (so a client-sent `spin-full-url` stays, first, as it does in Spin).
fn prepare_request<B>(
    request: Request<B>,
    route: &RouteMatch,
    client_addr: SocketAddr,
) -> anyhow::Result<Request<B>> {
    let (mut parts, body) = request.into_parts();
    let host = match parts.headers.get(hyper::header::HOST) {
        Some(host) => host.to_str()?.to_owned(),
        None => match parts.uri.authority() {
            Some(authority) => authority.to_string(),
            None => bail!("request has neither a Host header nor an authority"),
        },
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let full_url = format!("http://{host}{path_and_query}");
    parts.uri = full_url.parse()?;
    let mut spin_headers = vec![
        ("spin-path-info".to_owned(), route.path_info.clone()),
        ("spin-full-url".to_owned(), full_url),
        ("spin-matched-route".to_owned(), route.matched_route.clone()),
        ("spin-base-path".to_owned(), "/".to_owned()),
        (
            "spin-raw-component-route".to_owned(),
            route.raw_route.clone(),
        ),
        (
            "spin-component-route".to_owned(),
            route.component_route.clone(),
        ),
        ("spin-client-addr".to_owned(), client_addr.to_string()),
    ];
    spin_headers.extend(route.params.iter().map(|(name, value)| {
        (
            format!(
                "spin-path-match-{}",
                name.replace('_', "-").to_ascii_lowercase()
            ),
            value.clone(),
        )
    }));
    // Appended, not inserted: a client's header of the same name stays, first.
    for (name, value) in spin_headers {
        parts.headers.append(
            hyper::header::HeaderName::from_bytes(name.as_bytes())?,
            value.parse()?,
        );
    }
    Ok(Request::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::HttpTrigger;

    #[test]
    fn spin_headers_follow_the_clients_and_the_uri_becomes_absolute() {
        let router = Router::new(&[HttpTrigger {
            id: None,
            route: "/items/...".into(),
            component: "items".into(),
        }]);
        let route = router.route("/items/5/buy").unwrap();
        let request = Request::builder()
            .uri("/items/5/buy?x=1")
            .header("host", "shop.example:8080")
            .header("spin-full-url", "http://evil.example/")
            .body(())
            .unwrap();

        let request = prepare_request(request, &route, "10.1.2.3:4567".parse().unwrap()).unwrap();

        assert_eq!(
            request.uri().to_string(),
            "http://shop.example:8080/items/5/buy?x=1"
        );
        let full_urls: Vec<_> = request.headers().get_all("spin-full-url").iter().collect();
        assert_eq!(
            full_urls,
            [
                "http://evil.example/",
                "http://shop.example:8080/items/5/buy?x=1"
            ]
        );
        let header = |name: &str| request.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(header("spin-path-info"), "/5/buy");
        assert_eq!(header("spin-matched-route"), "/items/...");
        assert_eq!(header("spin-component-route"), "/items");
        assert_eq!(header("spin-raw-component-route"), "/items/...");
        assert_eq!(header("spin-base-path"), "/");
        assert_eq!(header("spin-client-addr"), "10.1.2.3:4567");
    }

    #[test]
    fn a_request_without_a_host_is_refused_as_spin_drops_it() {
        let router = Router::new(&[HttpTrigger {
            id: None,
            route: "/...".into(),
            component: "pages".into(),
        }]);
        let route = router.route("/").unwrap();
        let request = Request::builder().uri("/").body(()).unwrap();
        assert!(prepare_request(request, &route, "127.0.0.1:1".parse().unwrap()).is_err());
    }
}
