//! Spin's rule for outbound HTTP: a request goes out only to a host the component lists
//! in `allowed_outbound_hosts` (scheme, host and port); any other is refused with
//! `HttpRequestDenied`, as Spin refuses it. The marketplace makes no outbound HTTP
//! calls; this keeps the harness from allowing what Spin would not.

use std::sync::Arc;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::allowed_hosts::AllowedHosts;
use crate::runtime::AppShared;

pub struct OutboundHttp {
    allowed_outbound_hosts: Vec<String>,
    app: Arc<AppShared>,
}

impl OutboundHttp {
    pub fn new(allowed_outbound_hosts: Vec<String>, app: Arc<AppShared>) -> Self {
        Self {
            allowed_outbound_hosts,
            app,
        }
    }

    fn allows(&self, uri: &hyper::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("https");
        let (Some(host), Some(port)) = (
            uri.host(),
            uri.port_u16().or(match scheme {
                "http" => Some(80),
                "https" => Some(443),
                _ => None,
            }),
        ) else {
            return false;
        };
        AllowedHosts::resolve(&self.allowed_outbound_hosts, &self.app.variables)
            .is_ok_and(|allowed| allowed.allows(scheme, host, port))
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    hyper::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        if !self.allows(request.uri()) {
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = Result<(), Error>> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::pin::Pin;

    use http_body_util::Empty;

    use super::*;
    use crate::key_value::KeyValueStores;
    use crate::postgres::Pools;
    use crate::variables::Variables;

    fn hooks(allowed: &[&str]) -> OutboundHttp {
        let app = Arc::new(AppShared {
            variables: Variables::new(BTreeMap::new(), HashMap::new()),
            pools: Pools::default(),
            key_value: KeyValueStores::new(&BTreeMap::new()).unwrap(),
        });
        OutboundHttp::new(allowed.iter().map(|a| a.to_string()).collect(), app)
    }

    #[tokio::test]
    async fn requests_to_hosts_not_listed_are_denied_as_spin_denies_them() {
        let mut only_postgres = hooks(&["postgres://db:5432"]);
        let request = hyper::Request::get("https://example.com/")
            .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
            .unwrap();

        let sent = only_postgres.send_request(request, None, Box::new(async { Ok(()) }));

        assert!(matches!(
            Pin::from(sent).await,
            Err(Error::HttpRequestDenied)
        ));
    }

    #[test]
    fn listed_hosts_are_allowed_on_their_scheme_and_port_only() {
        let api = hooks(&["https://api.example.com"]);
        assert!(api.allows(&"https://api.example.com/x".parse().unwrap()));
        assert!(!api.allows(&"http://api.example.com/x".parse().unwrap()));
        assert!(!api.allows(&"https://api.example.com:8443/x".parse().unwrap()));
        assert!(!api.allows(&"https://other.example.com/".parse().unwrap()));
    }
}
