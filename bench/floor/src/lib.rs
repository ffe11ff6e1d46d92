//! Spin's floor, measured by `./scripts/bench` with the same `spin up`, runtime config and
//! nginx as the app: `/floor` does nothing (no store, no database), `/floor/kv` reads one
//! key of Spin's key-value store (what a cache hit cannot avoid), `/floor/db` checks out a
//! pooled Postgres connection and runs `SELECT 1` (the least a write can cost).
//!
//! Responses go out through the app's own bridge (`market::web::spin::serve`), which sends
//! each response in one write; the SDK's default sends the body after the head, which
//! costs a delayed ACK (40 ms) whenever the handler made Spin block a thread, and would
//! measure that instead of Spin.

use market::web::http::{Response, StatusCode};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::pg4::Connection;
use spin_sdk::wit::wasi::keyvalue::store;

#[http_component]
async fn handle(request: IncomingRequest, out: ResponseOutparam) {
    // The floor renders no page: the stylesheet's path is never used.
    let floor = market::web::spin::Component {
        name: "floor",
        stylesheet: "/static/site.css",
    };
    market::web::spin::serve(floor, request, out, |request| {
        let answered = match request.path.as_str() {
            "/floor/kv" => store::open("default")
                .and_then(|bucket| bucket.get("floor"))
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            "/floor/db" => spin_sdk::variables::get("db_url")
                .map_err(|e| e.to_string())
                .and_then(|url| Connection::open(&url).map_err(|e| e.to_string()))
                .and_then(|db| db.query("SELECT 1", &[]).map_err(|e| e.to_string()))
                .map(drop),
            _ => Ok(()),
        };
        match answered {
            Ok(()) => text(StatusCode::OK, "ok"),
            Err(e) => {
                eprintln!("floor: {e}");
                text(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
        }
    })
    .await;
}

fn text(status: StatusCode, body: &str) -> Response {
    let mut response = Response::new(body.as_bytes().to_vec());
    *response.status_mut() = status;
    response
}
