//! The host's per-request cost: a fresh instance of the health component and its
//! answer to `GET /health` (no database), as Spin does for every request.
//!
//! cargo bench -p spin-harness --bench instantiate

use std::collections::HashMap;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use spin_harness::runtime::{App, AppOptions};
use spin_harness::testing::project_dir;

fn instantiate_and_handle_health(c: &mut Criterion) {
    // One thread: the cost of a request, not of moving it between worker threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = App::load(&AppOptions {
        manifest: project_dir().join("spin.toml"),
        runtime_config: Some(project_dir().join("runtime-config.toml")),
        variables: HashMap::from([("db_url".to_owned(), "postgres://unused@db/x".to_owned())]),
    })
    .expect("components built (cargo build --target wasm32-wasip2 --release)");
    let client = "127.0.0.1:40000".parse().unwrap();
    c.bench_function("instantiate + handle GET /health", |b| {
        b.to_async(&runtime).iter(|| async {
            let request = hyper::Request::get("/health")
                .header("host", "localhost")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let response = app.handle(request, client).await.unwrap();
            assert_eq!(response.status(), 200);
            response.into_body().collect().await.unwrap();
        })
    });
}

criterion_group!(benches, instantiate_and_handle_health);
criterion_main!(benches);
