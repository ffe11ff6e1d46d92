//! `runtime-config.toml`: the keys Spin 4.0 accepts. Unknown keys are an error, as in
//! Spin; of the known ones the harness applies `max_instance_memory` and accepts the
//! directories (it writes no state or logs).

use std::path::Path;

use anyhow::{Context, bail};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub max_instance_memory: Option<usize>,
}

/// Top-level keys Spin 4.0.x reads; anything else makes `spin up` fail.
const SPIN_KEYS: &[&str] = &[
    "max_instance_memory",
    "state_dir",
    "log_dir",
    "variables_provider",
    "config_provider",
    "key_value_store",
    "sqlite_database",
    "llm_compute",
    "outbound_networking",
    "client_tls",
    "outbound_http",
];

/// Keys the harness understands; the rest of Spin's it refuses rather than ignores.
const HARNESS_KEYS: &[&str] = &["max_instance_memory", "state_dir", "log_dir"];

impl RuntimeConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let table: toml::Table = toml::from_str(text)?;
        let unknown: Vec<&str> = table
            .keys()
            .map(String::as_str)
            .filter(|key| !SPIN_KEYS.contains(key))
            .collect();
        if !unknown.is_empty() {
            bail!("unused runtime config key(s): {}", unknown.join(", "));
        }
        if let Some(key) = table
            .keys()
            .find(|key| !HARNESS_KEYS.contains(&key.as_str()))
        {
            bail!("the test harness does not implement runtime config key {key:?}");
        }
        let max_instance_memory = match table.get("max_instance_memory") {
            None => None,
            Some(toml::Value::Integer(bytes)) if *bytes > 0 => Some(*bytes as usize),
            Some(other) => bail!("max_instance_memory must be a positive integer, not {other}"),
        };
        Ok(Self {
            max_instance_memory,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projects_runtime_config_is_accepted() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime-config.toml");
        let config = RuntimeConfig::load(&path).unwrap();
        assert!(config.max_instance_memory.is_some());
    }

    #[test]
    fn keys_spin_does_not_know_are_rejected() {
        let error = RuntimeConfig::parse("[outbound_pg]\nmax_connections = 10").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unused runtime config key(s): outbound_pg")
        );
        assert!(RuntimeConfig::parse("[runtime]\nmax_instance_memory = 1").is_err());
    }
}
