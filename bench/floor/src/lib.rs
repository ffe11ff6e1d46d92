//! Spin's floor, measured by `./scripts/bench` with the same `spin up`, runtime config and
//! nginx as the app: `/floor` does nothing (no store, no database), `/floor/kv` reads one
//! key of Spin's key-value store (what a cache hit cannot avoid), `/floor/db` checks out a
//! pooled Postgres connection and runs `SELECT 1` (the least a write can cost).

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;
use spin_sdk::pg4::Connection;

#[http_component]
fn handle(request: Request) -> Response {
    match request.path() {
        "/floor/db" => {}
        "/floor/kv" => {
            let read =
                spin_sdk::key_value::Store::open_default().and_then(|store| store.get("floor"));
            return match read {
                Ok(_) => Response::new(200, "ok"),
                Err(e) => {
                    eprintln!("floor: {e}");
                    Response::new(503, "unavailable")
                }
            };
        }
        _ => return Response::new(200, "ok"),
    }
    let answered = spin_sdk::variables::get("db_url")
        .map_err(|e| e.to_string())
        .and_then(|url| Connection::open(&url).map_err(|e| e.to_string()))
        .and_then(|db| db.query("SELECT 1", &[]).map_err(|e| e.to_string()));
    match answered {
        Ok(_) => Response::new(200, "ok"),
        Err(e) => {
            eprintln!("floor: {e}");
            Response::new(503, "unavailable")
        }
    }
}
