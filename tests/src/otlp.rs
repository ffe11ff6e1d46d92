//! A real OTLP/HTTP receiver: what an OpenTelemetry Collector's `otlp` receiver accepts
//! (`POST /v1/traces`, `/v1/logs`, `/v1/metrics` with protobuf bodies, Spin's default
//! protocol), decoded with the OpenTelemetry project's own message definitions
//! (`opentelemetry-proto`), kept for a test to look at.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use tokio::net::TcpListener;

/// A span as received: ids in hex, attributes as text.
#[derive(Debug, Clone)]
pub struct Span {
    pub service: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    /// Each event's name and attributes (Spin attaches a component's log writes as
    /// `app_log` events of the span they happened in).
    pub events: Vec<(String, BTreeMap<String, String>)>,
}

/// A log record as received.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub service: String,
    pub trace_id: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

/// Everything received so far.
#[derive(Debug, Default)]
pub struct Received {
    pub spans: Vec<Span>,
    pub logs: Vec<LogRecord>,
    /// The names of the metrics received (every export repeats them).
    pub metrics: Vec<String>,
    /// Requests whose body was not a valid OTLP message, by path.
    pub refused: Vec<String>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Received>>,
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Received::default()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| receive(store.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, received })
    }

    /// The endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits (up to `within`) until `ready` holds for what was received, and returns
    /// what `ready` found.
    pub async fn wait_for<T>(
        &self,
        within: Duration,
        ready: impl Fn(&Received) -> Option<T>,
    ) -> anyhow::Result<T> {
        let started = Instant::now();
        loop {
            if let Some(found) = ready(&self.received.lock().unwrap()) {
                return Ok(found);
            }
            if started.elapsed() > within {
                let received = self.received.lock().unwrap();
                anyhow::bail!(
                    "not received within {within:?}: {} spans, {} log records, metrics {:?}, \
                     refused {:?}",
                    received.spans.len(),
                    received.logs.len(),
                    received.metrics,
                    received.refused
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn receive(
    store: Arc<Mutex<Received>>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(answer(StatusCode::BAD_REQUEST)),
    };
    let mut received = store.lock().unwrap();
    let decoded = match path.as_str() {
        "/v1/traces" => ExportTraceServiceRequest::decode(body).map(|export| {
            received.spans.extend(spans(export));
        }),
        "/v1/logs" => ExportLogsServiceRequest::decode(body).map(|export| {
            received.logs.extend(log_records(export));
        }),
        "/v1/metrics" => ExportMetricsServiceRequest::decode(body).map(|export| {
            for resource in export.resource_metrics {
                for scope in resource.scope_metrics {
                    received
                        .metrics
                        .extend(scope.metrics.into_iter().map(|metric| metric.name));
                }
            }
        }),
        _ => return Ok(answer(StatusCode::NOT_FOUND)),
    };
    Ok(match decoded {
        Ok(()) => answer(StatusCode::OK),
        Err(_) => {
            received.refused.push(path);
            answer(StatusCode::BAD_REQUEST)
        }
    })
}

fn answer(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

fn spans(export: ExportTraceServiceRequest) -> Vec<Span> {
    let mut found = Vec::new();
    for resource in export.resource_spans {
        let service = service_name(resource.resource.as_ref());
        for scope in resource.scope_spans {
            for span in scope.spans {
                found.push(Span {
                    service: service.clone(),
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    attributes: texts(&span.attributes),
                    events: span
                        .events
                        .iter()
                        .map(|event| (event.name.clone(), texts(&event.attributes)))
                        .collect(),
                });
            }
        }
    }
    found
}

fn log_records(export: ExportLogsServiceRequest) -> Vec<LogRecord> {
    let mut found = Vec::new();
    for resource in export.resource_logs {
        let service = service_name(resource.resource.as_ref());
        for scope in resource.scope_logs {
            for record in scope.log_records {
                found.push(LogRecord {
                    service: service.clone(),
                    trace_id: hex(&record.trace_id),
                    body: record.body.as_ref().map(text).unwrap_or_default(),
                    attributes: texts(&record.attributes),
                });
            }
        }
    }
    found
}

fn service_name(resource: Option<&Resource>) -> String {
    resource
        .map(|resource| texts(&resource.attributes))
        .and_then(|attributes| attributes.get("service.name").cloned())
        .unwrap_or_default()
}

fn texts(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|pair| {
            let value = pair.value.as_ref().map(text).unwrap_or_default();
            (pair.key.clone(), value)
        })
        .collect()
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::BoolValue(value)) => value.to_string(),
        Some(any_value::Value::IntValue(value)) => value.to_string(),
        Some(any_value::Value::DoubleValue(value)) => value.to_string(),
        Some(any_value::Value::BytesValue(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
