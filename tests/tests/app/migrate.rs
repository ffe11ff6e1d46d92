//! The migration runner against a real PostgreSQL: checksums of applied migrations,
//! lock waits that never stall the app, and TLS when the connection string asks for it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use market_tests::cluster::PgCluster;
use market_tests::testing::{connect, create_database, spawn_app};
use migrations::{MIGRATIONS, MigrateError, Migration, Target};

#[tokio::test]
async fn every_applied_migration_is_recorded_with_its_checksum() {
    let app = spawn_app().await;
    let rows = app
        .db
        .query(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), MIGRATIONS.len());
    for (row, migration) in rows.iter().zip(MIGRATIONS) {
        assert_eq!(row.get::<_, i64>(0), migration.version);
        assert_eq!(row.get::<_, String>(1), migrations::checksum(migration.sql));
    }
}

#[tokio::test]
async fn an_applied_migration_edited_afterwards_stops_the_runner_with_a_clear_error() {
    let app = spawn_app().await;
    let mut db = connect(&app.db_url).await;
    let mut edited: Vec<Migration> = MIGRATIONS.to_vec();
    let sql = format!("{}\n-- an afterthought\n", edited[2].sql);
    edited[2].sql = Box::leak(sql.into_boxed_str());

    let result = migrations::apply_migrations(&mut db, &edited).await;

    let Err(error @ MigrateError::Changed { version: 3, .. }) = result else {
        panic!("an edited migration was accepted: {result:?}");
    };
    let message = error.to_string();
    println!("runner: {message}");
    assert!(message.contains("0003_set_statement_timeout.sql was changed after it was applied"));
    assert!(message.contains("new migration"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_migration_waiting_for_a_lock_never_stalls_the_apps_queries() {
    let app = spawn_app().await;
    // Someone holds a lock on items for longer than the app's statement timeout.
    let blocker = connect(&app.db_url).await;
    blocker
        .batch_execute("BEGIN; SELECT count(*) FROM items")
        .await
        .unwrap();
    let mut runner = connect(&app.db_url).await;
    let mut with_new: Vec<Migration> = MIGRATIONS.to_vec();
    with_new.push(Migration {
        version: MIGRATIONS.len() as i64 + 1,
        name: "add_a_column_to_items",
        sql: "ALTER TABLE items ADD COLUMN colour text",
    });
    let started = Instant::now();
    let migrating = tokio::spawn(async move {
        let result = migrations::apply_migrations(&mut runner, &with_new).await;
        (result, started.elapsed())
    });

    let mut slowest = Duration::ZERO;
    let mut answers = 0;
    while started.elapsed() < Duration::from_secs(7) {
        let asked = Instant::now();
        let response = app.get("/api/items?limit=10").await;
        slowest = slowest.max(asked.elapsed());
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        answers += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    blocker.batch_execute("COMMIT").await.unwrap();
    let (result, took) = migrating.await.unwrap();

    println!(
        "lock wait: {answers} app queries during a 7 s lock, slowest {slowest:?}; \
         the migration applied after {took:?}"
    );
    assert_eq!(result.unwrap(), [MIGRATIONS.len() as i64 + 1]);
    assert!(
        // Without the lock timeout they would wait the whole 7 s, cut off at 5 s (503);
        // the margin is for a busy machine.
        slowest < migrations::LOCK_TIMEOUT + Duration::from_secs(2),
        "an app query waited {slowest:?} behind the migration"
    );
}

/// Runs the openssl command line tool.
fn openssl(args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A certificate authority of the test's own: its certificate and key.
fn authority(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &format!("/CN={name}"),
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    (cert, key)
}

/// A server certificate for `names` (subjectAltName entries), signed by `authority`.
fn server_certificate(
    dir: &Path,
    authority: &(PathBuf, PathBuf),
    names: &str,
) -> (PathBuf, PathBuf) {
    let (cert, key, request, extensions) = (
        dir.join("server.crt"),
        dir.join("server.key"),
        dir.join("server.csr"),
        dir.join("server.ext"),
    );
    std::fs::write(
        &extensions,
        format!("basicConstraints=CA:FALSE\nsubjectAltName={names}\n"),
    )
    .unwrap();
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=postgres",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        request.to_str().unwrap(),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        request.to_str().unwrap(),
        "-days",
        "2",
        "-CA",
        authority.0.to_str().unwrap(),
        "-CAkey",
        authority.1.to_str().unwrap(),
        "-CAcreateserial",
        "-extfile",
        extensions.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]);
    (cert, key)
}

#[tokio::test]
async fn the_runner_speaks_tls_as_the_connection_string_asks_and_checks_the_server() {
    let cluster = PgCluster::start().unwrap();
    let db_url = create_database(&cluster.url("postgres")).await;
    let database = db_url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let dir = cluster.dir().join("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let ca = authority(&dir, "test-ca");
    let (other_ca, _) = authority(&dir, "other-ca");
    let (server_cert, server_key) = server_certificate(&dir, &ca, "DNS:localhost");
    cluster.require_tls(&server_cert, &server_key).unwrap();
    let ca = ca.0;
    let port = cluster.port;
    let url = |host: &str, options: &str| {
        format!("postgres://postgres@{host}:{port}/{database}?connect_timeout=5&{options}")
    };
    let root = |path: &Path| format!("sslrootcert={}", path.display());

    // (connection string, whether it must connect, why)
    let cases = [
        (
            url("localhost", &format!("sslmode=verify-full&{}", root(&ca))),
            true,
            "the right CA and host",
        ),
        (
            url("127.0.0.1", &format!("sslmode=verify-ca&{}", root(&ca))),
            true,
            "verify-ca ignores the host",
        ),
        (
            url("127.0.0.1", "sslmode=require"),
            true,
            "encrypted, unchecked",
        ),
        (
            url("127.0.0.1", &format!("sslmode=verify-full&{}", root(&ca))),
            false,
            "the certificate is not for 127.0.0.1",
        ),
        (
            url(
                "localhost",
                &format!("sslmode=verify-full&{}", root(&other_ca)),
            ),
            false,
            "signed by another CA",
        ),
        (
            url("127.0.0.1", "sslmode=disable"),
            false,
            "the server refuses connections without TLS",
        ),
    ];
    for (connection_string, connects, why) in cases {
        let target = Target::parse(&connection_string).unwrap();
        let result = migrations::connect_using(&target.config, target.tls, Duration::ZERO).await;
        match (result, connects) {
            (Ok(mut client), true) => {
                let row = client
                    .query_one(
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                        &[],
                    )
                    .await
                    .unwrap();
                assert!(row.get::<_, bool>(0), "{why}: the session is encrypted");
                migrations::apply(&mut client).await.unwrap();
            }
            (Err(e), false) => println!("tls: refused as it should be ({why}): {e}"),
            (Ok(_), false) => panic!("{why}: connected"),
            (Err(e), true) => panic!("{why}: {e:?}"),
        }
    }
}
