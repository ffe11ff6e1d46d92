//! A stand-in for the app behind nginx, for tests that must see what nginx forwards
//! (or hold requests in progress): answers 200 after an optional delay and remembers
//! every request's headers and every connection.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What reached the upstream.
#[derive(Default)]
pub struct Recorded {
    pub requests: Vec<HeaderMap>,
    pub connections: usize,
}

/// An upstream that answers at once.
pub async fn recording_upstream() -> (SocketAddr, Arc<Mutex<Recorded>>) {
    slow_upstream(Duration::ZERO).await
}

/// An upstream that answers each request after `delay`.
pub async fn slow_upstream(delay: Duration) -> (SocketAddr, Arc<Mutex<Recorded>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let record = recorded.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            record.lock().unwrap().connections += 1;
            let record = record.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    record
                        .lock()
                        .unwrap()
                        .requests
                        .push(request.headers().clone());
                    async move {
                        tokio::time::sleep(delay).await;
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                            b"upstream",
                        ))))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, recorded)
}
