//! The deployment files as specified, and the server releases they name being the ones
//! these tests run. The compose files are also validated against the Compose
//! Specification schema; the stacks themselves are brought up for real in
//! `tests/stacks` (on a Docker engine).

use std::process::Command;

use market_tests::testing::project_dir;
use market_tests::{cluster, nginx, redis, spin};
use serde_yaml::Value;

fn compose() -> Value {
    compose_file("docker-compose.yml")
}

fn compose_file(name: &str) -> Value {
    let text = std::fs::read_to_string(project_dir().join(name)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The team's schema folder (`$SCHEMAS_DIR`, else `../shared/schemas`), if present.
fn shared_schemas() -> Option<std::path::PathBuf> {
    std::env::var_os("SCHEMAS_DIR")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([project_dir().join("../shared/schemas")])
        .find(|dir| dir.join("compose-spec.json").exists())
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    &compose["services"][name]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn condition<'a>(compose: &'a Value, service_name: &str, dependency: &str) -> Option<&'a str> {
    service(compose, service_name)["depends_on"][dependency]["condition"].as_str()
}

/// An image reference pinned to a version with digits (not `latest`, not untagged).
fn is_pinned(image: &str) -> bool {
    image.rsplit_once(':').is_some_and(|(_, tag)| {
        tag != "latest" && tag.chars().any(|c| c.is_ascii_digit()) && tag.contains('.')
    })
}

#[test]
fn the_compose_files_pass_the_compose_spec_schema() {
    let mut command = Command::new("check-jsonschema");
    // The Compose Specification's schema from the team's folder, else the copy that
    // check-jsonschema ships.
    match shared_schemas() {
        Some(dir) => command
            .arg("--schemafile")
            .arg(dir.join("compose-spec.json")),
        None => command.args(["--builtin-schema", "vendor.compose-spec"]),
    };
    let output = command
        .arg(project_dir().join("docker-compose.yml"))
        .arg(project_dir().join("compose.dev.yml"))
        .arg(project_dir().join("compose.scale.yml"))
        .output()
        .expect("check-jsonschema is installed (pip install check-jsonschema)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn services_start_in_order_on_health_and_completion() {
    let compose = compose();
    assert!(
        compose.get("version").is_none(),
        "the Compose spec has no version key"
    );
    let mut names: Vec<&str> = compose["services"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(Value::as_str)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "app",
            "db",
            "db-secret",
            "maildev",
            "mailer",
            "migrate",
            "nginx"
        ]
    );
    assert_eq!(
        condition(&compose, "db", "db-secret"),
        Some("service_completed_successfully")
    );
    assert_eq!(
        condition(&compose, "migrate", "db"),
        Some("service_healthy")
    );
    assert_eq!(condition(&compose, "app", "db"), Some("service_healthy"));
    assert_eq!(
        condition(&compose, "app", "migrate"),
        Some("service_completed_successfully")
    );
    assert_eq!(condition(&compose, "nginx", "app"), Some("service_healthy"));
    assert_eq!(
        condition(&compose, "mailer", "migrate"),
        Some("service_completed_successfully")
    );
}

/// nginx is the shop's only way in; MailDev's web page and REST API (every email the
/// shop sent) are published on this machine only, for the person running the stack.
#[test]
fn only_nginx_publishes_a_port_and_it_can_be_changed() {
    let compose = compose();
    for (name, definition) in compose["services"].as_mapping().unwrap() {
        let ports = strings(&definition["ports"]);
        if name.as_str() == Some("nginx") {
            assert_eq!(ports, ["${NGINX_BIND:-127.0.0.1}:${NGINX_PORT:-8080}:80"]);
        } else if name.as_str() == Some("maildev") {
            assert_eq!(ports, ["127.0.0.1:${MAIL_UI_PORT:-1080}:1080"]);
        } else {
            assert!(
                ports.is_empty() && definition.get("ports").is_none(),
                "{name:?} publishes a port"
            );
            assert!(definition.get("expose").is_none(), "{name:?}");
        }
    }
}

#[test]
fn the_database_is_healthchecked_private_and_keeps_its_password_in_a_file() {
    let compose = compose();
    let db = service(&compose, "db");
    assert!(is_pinned(db["image"].as_str().unwrap()));
    assert!(strings(&db["healthcheck"]["test"]).contains(&"pg_isready".to_owned()));
    assert_eq!(
        db["environment"]["POSTGRES_PASSWORD_FILE"].as_str(),
        Some("/secrets/db_password")
    );
    assert!(db["environment"].get("POSTGRES_PASSWORD").is_none());
    assert_eq!(strings(&db["networks"]), ["back"]);
    assert!(
        strings(&db["volumes"])
            .iter()
            .any(|v| v.starts_with("db-data:"))
    );
    assert_eq!(
        compose["networks"]["back"]["internal"].as_bool(),
        Some(true)
    );
    let text = std::fs::read_to_string(project_dir().join("docker-compose.yml")).unwrap();
    assert!(
        !text.to_lowercase().contains("password="),
        "no password in the compose file"
    );
}

#[test]
fn the_app_and_nginx_are_healthchecked_on_the_right_networks() {
    let compose = compose();
    let app = service(&compose, "app");
    assert_eq!(app["build"]["target"].as_str(), Some("app"));
    assert!(
        strings(&app["healthcheck"]["test"])
            .iter()
            .any(|part| part.contains("healthcheck"))
    );
    assert_eq!(strings(&app["networks"]), ["back", "front"]);
    assert_eq!(
        app["environment"]["SPIN_VARIABLE_DB_HOST"].as_str(),
        Some("db")
    );
    assert_eq!(
        app["environment"]["DB_USER"].as_str(),
        Some(migrations::APP_ROLE)
    );
    assert_eq!(
        strings(&app["volumes"]),
        ["app-secret:/secrets:ro"],
        "the app sees its own password, not the owner's"
    );
    let nginx = service(&compose, "nginx");
    assert!(is_pinned(nginx["image"].as_str().unwrap()));
    assert!(nginx["healthcheck"]["test"].is_sequence());
    assert_eq!(strings(&nginx["networks"]), ["front"]);
    assert_eq!(
        strings(&nginx["volumes"]),
        [
            "./nginx.conf:/etc/nginx/nginx.conf:ro",
            "./conf.d:/etc/nginx/conf.d:ro"
        ]
    );
    let migrate = service(&compose, "migrate");
    assert_eq!(migrate["build"]["target"].as_str(), Some("migrate"));
    assert_eq!(migrate["restart"].as_str(), Some("no"));
}

#[test]
fn the_app_image_runs_the_pinned_spin_release_on_all_interfaces() {
    let dockerfile = std::fs::read_to_string(project_dir().join("Dockerfile")).unwrap();
    let spin_image = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("ARG SPIN_IMAGE="))
        .expect("the Spin image is an ARG");
    assert!(
        spin_image.starts_with("ghcr.io/spinframework/spin:v") && is_pinned(spin_image),
        "{spin_image}"
    );
    assert!(dockerfile.contains("rustup target add wasm32-wasip2"));
    assert!(dockerfile.contains(
        r#"CMD ["up", "--listen", "0.0.0.0:3000", "--runtime-config-file", "runtime-config.toml"]"#
    ));
    assert!(dockerfile.contains("FROM spin AS app"));
    // Every image runs as an unprivileged user.
    for (stage, user) in [
        ("migrate", "USER nobody"),
        ("dev", "USER dev"),
        ("app", "USER 65532:65532"),
    ] {
        let body = dockerfile
            .split(&format!(" AS {stage}\n"))
            .nth(1)
            .and_then(|rest| rest.split("\nFROM ").next())
            .unwrap_or_else(|| panic!("no {stage} stage"));
        assert!(body.contains(user), "the {stage} stage runs as {user}");
    }
    // The nginx upstream is the app's listen port.
    let site = std::fs::read_to_string(project_dir().join("conf.d/default.conf")).unwrap();
    assert!(site.contains("server app:3000 "));
}

/// `CONNECTION LIMIT` of the app's role, from the migration that sets it.
fn app_role_connection_limit() -> u32 {
    let migration =
        std::fs::read_to_string(project_dir().join("migrations/sql/0006_create_the_app_role.sql"))
            .unwrap();
    migration
        .split("CONNECTION LIMIT ")
        .skip(1)
        .find_map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .expect("migration 0006 sets CONNECTION LIMIT")
}

#[test]
fn the_scale_out_adds_a_private_shared_cache_and_replicas_within_the_connection_budget() {
    let scale = compose_file("compose.scale.yml");
    let cache = service(&scale, "cache");
    assert!(is_pinned(cache["image"].as_str().unwrap()));
    assert_eq!(strings(&cache["networks"]), ["back"]);
    assert!(cache.get("ports").is_none());
    assert!(cache["healthcheck"]["test"].is_sequence());
    let app = service(&scale, "app");
    let replicas = app["deploy"]["replicas"].as_u64().unwrap();
    assert!(replicas >= 2);
    assert_eq!(condition(&scale, "app", "cache"), Some("service_healthy"));
    let url = app["environment"]["SPIN_VARIABLE_CACHE_REDIS_URL"]
        .as_str()
        .unwrap();
    let host = app["environment"]["SPIN_VARIABLE_CACHE_REDIS_HOST"]
        .as_str()
        .unwrap();
    let port = app["environment"]["SPIN_VARIABLE_CACHE_REDIS_PORT"]
        .as_str()
        .unwrap();
    assert_eq!(
        url,
        format!("redis://{host}:{port}"),
        "allowed host matches the URL"
    );
    assert_eq!(host, "cache");
    assert!(
        service(&compose(), "cache").is_null(),
        "one instance, no Redis, by default"
    );

    // The budget: a single instance's pools fit under the role's limit, and the limit
    // under max_connections with room for superusers (3 reserved), the runner and an
    // operator. More instances share the same limit: beyond it, 503 (tested in
    // replicas.rs).
    let limit = app_role_connection_limit();
    let max_connections: u32 = strings(&service(&compose(), "db")["command"])
        .iter()
        .find_map(|arg| arg.strip_prefix("max_connections=")?.parse().ok())
        .unwrap();
    const SPIN_POOL: u32 = 64;
    const COMPONENTS: u32 = 3;
    assert!(
        COMPONENTS * SPIN_POOL <= limit,
        "one instance never meets the limit"
    );
    assert!(
        limit + 3 + 2 <= max_connections,
        "{limit} + 5 > {max_connections}"
    );
    println!(
        "connection budget: {replicas} replicas x {COMPONENTS} components x {SPIN_POOL} = {} \
         potential, capped at {limit} by the app role, max_connections {max_connections}",
        u64::from(COMPONENTS * SPIN_POOL) * replicas
    );
}

#[test]
fn the_dev_override_has_an_image_of_its_own_and_only_the_app_roles_password() {
    let dev = compose_file("compose.dev.yml");
    let app = service(&dev, "app");
    let image = app["image"].as_str().expect("the dev image is named");
    assert_ne!(
        image, "marketplace-app",
        "compose's default name for the production app image"
    );
    let volumes = strings(&app["volumes"]);
    assert!(
        volumes.contains(&"app-secret:/secrets:ro".to_owned()),
        "{volumes:?}"
    );
    assert!(
        !volumes.iter().any(|v| v.starts_with("db-secret:")),
        "the schema owner's password stays out of the dev container"
    );
}

/// The tag of the image `name:...` a compose file names for `service`: "18.1-bookworm".
fn image_tag(compose: &Value, service_name: &str) -> String {
    let image = service(compose, service_name)["image"].as_str().unwrap();
    image.split_once(':').unwrap().1.to_owned()
}

/// The release part of a tag or version: "18.1-bookworm" → [18, 1].
fn release(version: &str) -> Vec<u32> {
    version
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or_default()
        .split('.')
        .filter_map(|part| part.parse().ok())
        .collect()
}

#[test]
fn the_tests_run_the_server_releases_the_compose_files_and_the_image_ship() {
    let compose = compose();
    let scale = compose_file("compose.scale.yml");
    // PostgreSQL and Spin: the exact release (scripts/test installs them).
    let postgres = cluster::server_version().unwrap();
    assert_eq!(release(&postgres), release(&image_tag(&compose, "db")));
    assert_eq!(image_tag(&compose, "db-secret"), image_tag(&compose, "db"));
    let dockerfile = std::fs::read_to_string(project_dir().join("Dockerfile")).unwrap();
    let spin_tag = dockerfile
        .lines()
        .find_map(|line| line.strip_prefix("ARG SPIN_IMAGE=ghcr.io/spinframework/spin:v"))
        .unwrap();
    let spin = spin::version().unwrap();
    assert_eq!(release(&spin), release(spin_tag));
    // nginx and Redis: Debian 12 has no build of the shipped release, so the major
    // (README, Tests).
    let nginx = nginx::version().unwrap();
    assert_eq!(
        release(&nginx)[0],
        release(&image_tag(&compose, "nginx"))[0]
    );
    let redis = redis::version().unwrap();
    assert_eq!(release(&redis)[0], release(&image_tag(&scale, "cache"))[0]);
    // MailDev: the exact release, from npm (tests/browser/package.json).
    let maildev = market_tests::maildev::version().unwrap();
    assert_eq!(maildev, image_tag(&compose, "maildev"));
    println!(
        "tested: PostgreSQL {postgres}, Spin {spin}, nginx {nginx}, Redis {redis}, MailDev \
         {maildev}; shipped: postgres:{}, spin:v{spin_tag}, nginx:{}, redis:{}, maildev:{}",
        image_tag(&compose, "db"),
        image_tag(&compose, "nginx"),
        image_tag(&scale, "cache"),
        image_tag(&compose, "maildev")
    );
}
