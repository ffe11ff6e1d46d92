//! The app container's entrypoint (`docker/app-entrypoint.sh`) under the real Spin: it
//! builds the connection string from compose's parts and the password file, and Spin
//! connects with it.

use std::time::Duration;

use hyper::{Method, StatusCode};
use market_tests::spin::SpinUp;
use market_tests::testing::{create_database, project_dir, send_to};

#[tokio::test]
async fn the_entrypoint_connects_spin_with_a_password_full_of_quotes_and_backslashes() {
    let cluster = market_tests::cluster::PgCluster::start().unwrap();
    let db_url = create_database(&cluster.url("postgres")).await;
    let db_name = db_url
        .rsplit('/')
        .next()
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .to_owned();
    let password = r#"it's a \ "secret" with spaces"#;
    let admin = migrations::connect(&db_url.parse().unwrap(), Duration::from_secs(5))
        .await
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE shopper LOGIN SUPERUSER PASSWORD '{}'",
            password.replace('\'', "''")
        ))
        .await
        .unwrap();
    cluster.require_passwords().unwrap();
    let secrets = tempdir();
    let password_file = secrets.join("db_password");
    std::fs::write(&password_file, password).unwrap();
    let environment = [
        ("DB_PASSWORD_FILE", password_file.display().to_string()),
        ("DB_USER", "shopper".to_owned()),
        ("DB_NAME", db_name),
        ("SPIN_VARIABLE_DB_HOST", "127.0.0.1".to_owned()),
        ("SPIN_VARIABLE_DB_PORT", cluster.port.to_string()),
    ]
    .map(|(name, value)| (name.to_owned(), value));

    let entrypoint = project_dir().join("docker/app-entrypoint.sh");
    let spin = tokio::task::spawn_blocking(move || SpinUp::start_with(&entrypoint, &environment))
        .await
        .unwrap()
        .unwrap();
    let created = send_to(
        spin.addr,
        Method::POST,
        "/api/items",
        &[("content-type", "application/json")],
        r#"{"name":"Via the entrypoint","quantity":1,"price":"9.99","description":"d"}"#.into(),
    )
    .await
    .unwrap();
    let ready = send_to(spin.addr, Method::GET, "/health/ready", &[], "".into())
        .await
        .unwrap();

    assert_eq!(created.status, StatusCode::CREATED, "{}", spin.log());
    assert_eq!(ready.status, StatusCode::OK);
    let _ = std::fs::remove_dir_all(secrets);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("market-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
