//! Liveness (`/health`: the component runs) and readiness (`/health/ready`: Postgres
//! answers and its schema is at the version this build expects).

use market::LATEST_SCHEMA_VERSION;
use market::domain::error::AppError;
use market::observe::{log, record};
use market::storage::db;
use market::web::errors::{Audience, RETRY_AFTER_SECONDS};
use market::web::http::{self, READ_ONLY, Request, Response, StatusCode, header};
use serde_json::json;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

/// This component, with the stylesheet its pages link (its hash computed here, so a
/// change to it rebuilds this crate, not the core).
const COMPONENT: market::web::spin::Component = market::web::spin::Component {
    name: "health",
    stylesheet: market::stylesheet_path!("../pages/src/site.css"),
};

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    market::web::spin::serve(COMPONENT, request, response_out, route).await;
}

fn route(request: &Request) -> Response {
    let result = match request.path.as_str() {
        "/health" => {
            record::route("/health");
            request
                .expect_method(READ_ONLY)
                .map(|()| http::json(StatusCode::OK, &json!({ "status": "ok" })))
        }
        "/health/ready" => {
            record::route("/health/ready");
            request.expect_method(READ_ONLY).map(|()| readiness())
        }
        _ => Err(AppError::NotFound),
    };
    result.unwrap_or_else(|error| error.into_response(Audience::Json))
}

/// The checks in order; the first that fails is named in the 503 body.
fn readiness() -> Response {
    match check_database() {
        Ok(()) => http::json(
            StatusCode::OK,
            &json!({ "status": "ready", "checks": { "database": "ok", "schema": "ok" } }),
        ),
        Err(failure) => {
            log::error(
                StatusCode::SERVICE_UNAVAILABLE.as_u16(),
                &format!(
                    "readiness: {} check failed: {}",
                    failure.check, failure.detail
                ),
            );
            let mut response = http::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({
                    "status": "unavailable",
                    "failed": failure.check,
                    "checks": { failure.check: failure.public },
                }),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
            response
        }
    }
}

struct Failure {
    check: &'static str,
    /// What the client may see.
    public: String,
    /// What goes to the log.
    detail: String,
}

fn check_database() -> Result<(), Failure> {
    let database = |error: AppError| Failure {
        check: "database",
        public: "unreachable".into(),
        detail: format!("{error:?}"),
    };
    let db = db::open_for_readiness().map_err(database)?;
    let version = db::schema_version(&db).map_err(|error| match error {
        AppError::Unavailable(_) => database(error),
        // The query itself failed: most likely no schema_migrations table yet.
        other => Failure {
            check: "schema",
            public: "not migrated".into(),
            detail: format!("{other:?}"),
        },
    })?;
    match version {
        Some(version) if version >= LATEST_SCHEMA_VERSION => Ok(()),
        found => Err(Failure {
            check: "schema",
            public: format!(
                "at version {}, expected {LATEST_SCHEMA_VERSION}",
                found.unwrap_or(0)
            ),
            detail: "migrations not applied".into(),
        }),
    }
}
