//! The app container, as far as it runs without Docker: its entrypoint
//! (`docker/app-entrypoint.sh`) under the real Spin, building the connection string from
//! compose's parts and the password file; and Spin run as an unprivileged user in a
//! read-only directory, as the image runs it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hyper::{Method, StatusCode};
use market_tests::spin::{SpinUp, spin_binary, variable_environment};
use market_tests::testing::{
    create_database, database_variables, json_headers, project_dir, send_to,
};

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
        &json_headers(),
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

/// Copies `from` into `to` (a directory tree of files).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn the_app_runs_as_an_unprivileged_user_in_a_read_only_directory_and_writes_nothing() {
    let cluster = market_tests::cluster::PgCluster::start().unwrap();
    let db_url = create_database(&cluster.url("postgres")).await;
    // The image's /app: the manifest, the runtime config and the components, not
    // writable by the user Spin runs as.
    let image = std::env::temp_dir().join(format!("market-image-{}", std::process::id()));
    let app_dir = image.join("app");
    let release = "target/wasm32-wasip2/release";
    copy_tree(&project_dir().join(release), &app_dir.join(release));
    for file in ["spin.toml", "runtime-config.toml"] {
        std::fs::copy(project_dir().join(file), app_dir.join(file)).unwrap();
    }
    // Only for a `spin` that is a launcher unpacking the real binary on first use (the
    // team's shared one): somewhere that user may write, outside the app.
    let launcher_cache = image.join("launcher-cache");
    std::fs::create_dir_all(&launcher_cache).unwrap();
    let chmod = |mode: &str, path: &Path| {
        let status = Command::new("chmod").args(["-R", mode]).arg(path).status();
        assert!(status.unwrap().success());
    };
    chmod("a+rX", &image);
    chmod("a-w", &app_dir);
    chmod("a+w", &launcher_cache);
    let is_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    // As root, run as nobody (as the image runs as 65532); otherwise this user already
    // is an unprivileged one.
    let mut command = if is_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--", "env", "HOME=/nonexistent"]);
        command.arg(format!("XDG_CACHE_HOME={}", launcher_cache.display()));
        command.arg(spin_binary().unwrap());
        command
    } else {
        let mut command = Command::new(spin_binary().unwrap());
        command.env("XDG_CACHE_HOME", &launcher_cache);
        command
    };
    command.current_dir(&app_dir);
    let mut environment = variable_environment(database_variables(&db_url, cluster.port));
    // As the Dockerfile sets it: no compilation cache under $HOME.
    environment.push(("DISABLE_WASMTIME_CACHE".to_owned(), "true".to_owned()));
    let listing = environment.clone();
    let spin = tokio::task::spawn_blocking(move || {
        SpinUp::start_command(command, Path::new("runtime-config.toml"), &listing)
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{e:#}"));

    let created = send_to(
        spin.addr,
        Method::POST,
        "/api/items",
        &json_headers(),
        r#"{"name":"Unprivileged","quantity":1,"price":"1","description":"d"}"#.into(),
    )
    .await
    .unwrap();
    let page = send_to(spin.addr, Method::GET, "/", &[], "".into())
        .await
        .unwrap();
    let user = Command::new("ps")
        .args(["-o", "user=", "-p", &spin_pid(&spin)])
        .output()
        .unwrap();

    assert_eq!(created.status, StatusCode::CREATED, "{}", spin.log());
    assert!(page.text().contains("Unprivileged"));
    let user = String::from_utf8_lossy(&user.stdout).trim().to_owned();
    println!("spin up ran as {user:?}");
    assert_ne!(user, "root");
    let entries: Vec<String> = std::fs::read_dir(&app_dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !entries.contains(&".spin".to_owned()),
        "no state directory: {entries:?}"
    );
    drop(spin);
    chmod("u+w", &image);
    let _ = std::fs::remove_dir_all(&image);
}

/// The pid of the process serving at `spin.addr` (below runuser, when there is one).
fn spin_pid(spin: &SpinUp) -> String {
    let output = Command::new("pgrep")
        .args(["-x", "spin", "-g", &spin.pid().to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}
