//! The deployment files as specified: checked here because this machine has no Docker
//! engine. The compose file is also validated against the Compose Specification schema.

use std::process::Command;

use market_tests::testing::project_dir;
use serde_yaml::Value;

fn compose() -> Value {
    let text = std::fs::read_to_string(project_dir().join("docker-compose.yml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
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
fn the_compose_file_passes_the_compose_spec_schema() {
    let output = Command::new("check-jsonschema")
        .args(["--builtin-schema", "vendor.compose-spec"])
        .arg(project_dir().join("docker-compose.yml"))
        .arg(project_dir().join("compose.dev.yml"))
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
    assert_eq!(names, ["app", "db", "db-secret", "migrate", "nginx"]);
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
}

#[test]
fn only_nginx_publishes_a_port_and_it_can_be_changed() {
    let compose = compose();
    for (name, definition) in compose["services"].as_mapping().unwrap() {
        let ports = strings(&definition["ports"]);
        if name.as_str() == Some("nginx") {
            assert_eq!(ports, ["${NGINX_PORT:-8080}:80"]);
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
    let nginx = service(&compose, "nginx");
    assert!(is_pinned(nginx["image"].as_str().unwrap()));
    assert!(nginx["healthcheck"]["test"].is_sequence());
    assert_eq!(strings(&nginx["networks"]), ["front"]);
    assert_eq!(
        strings(&nginx["volumes"]),
        ["./conf.d:/etc/nginx/conf.d:ro"]
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
    // The nginx upstream is the app's listen port.
    let site = std::fs::read_to_string(project_dir().join("conf.d/default.conf")).unwrap();
    assert!(site.contains("server app:3000;"));
}
