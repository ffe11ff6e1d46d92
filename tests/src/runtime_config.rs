//! `runtime-config.toml`: the keys Spin 4.0 accepts. Unknown keys are an error, as in
//! Spin; of the known ones the harness applies `max_instance_memory` and accepts the
//! directories (it writes no state or logs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub max_instance_memory: Option<usize>,
    /// `[key_value_store.<label>]` of type `spin`: the SQLite file, or `None` for an
    /// in-memory store (Spin's behaviour when `path` is left out).
    pub key_value_stores: BTreeMap<String, Option<PathBuf>>,
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
const HARNESS_KEYS: &[&str] = &[
    "max_instance_memory",
    "state_dir",
    "log_dir",
    "key_value_store",
];

impl RuntimeConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).with_context(|| format!("in {}", path.display()))
    }

    /// Parses a runtime config whose relative paths are relative to `base`.
    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Self> {
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
        let mut key_value_stores = BTreeMap::new();
        if let Some(stores) = table.get("key_value_store") {
            let stores = stores
                .as_table()
                .context("key_value_store must be a table of stores")?;
            for (label, store) in stores {
                match store.get("type").and_then(toml::Value::as_str) {
                    Some("spin") => {}
                    Some(other) => bail!(
                        "the test harness implements key-value stores of type \"spin\" only, not {other:?}"
                    ),
                    None => bail!("key_value_store.{label} needs a type"),
                }
                let path = store
                    .get("path")
                    .and_then(toml::Value::as_str)
                    .map(|path| base.join(path));
                key_value_stores.insert(label.clone(), path);
            }
        }
        Ok(Self {
            max_instance_memory,
            key_value_stores,
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
        assert_eq!(
            config.key_value_stores.get("default"),
            Some(&None),
            "in memory"
        );
    }

    #[test]
    fn keys_spin_does_not_know_are_rejected() {
        let base = Path::new(".");
        let error = RuntimeConfig::parse("[outbound_pg]\nmax_connections = 10", base).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unused runtime config key(s): outbound_pg")
        );
        assert!(RuntimeConfig::parse("[runtime]\nmax_instance_memory = 1", base).is_err());
    }
}
