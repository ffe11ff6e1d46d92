//! Reads `spin.toml` (manifest version 2) and refuses what Spin refuses: unknown fields,
//! bad component ids and variable names, variables that are neither required nor
//! defaulted, templates naming undeclared variables, malformed allowed hosts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

use crate::allowed_hosts::AllowedHost;
use crate::variables::{template_names, validate_name};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub spin_manifest_version: i64,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDef>,
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDef {
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    pub default: Option<String>,
    #[serde(default)]
    pub secret: bool,
}

/// Only the HTTP trigger: the harness runs nothing else.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    pub http: Vec<HttpTrigger>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    pub id: Option<String>,
    pub route: String,
    pub component: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDef {
    pub description: Option<String>,
    pub source: String,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    pub build: Option<BuildDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildDef {
    pub command: String,
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
}

impl Manifest {
    /// Reads and validates a manifest; component sources are resolved against its folder.
    pub fn load(path: &Path) -> anyhow::Result<(Self, PathBuf)> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        manifest.validate()?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok((manifest, base))
    }

    fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            self.spin_manifest_version == 2,
            "spin_manifest_version must be 2"
        );
        for (name, variable) in &self.variables {
            validate_name(name).map_err(anyhow::Error::msg)?;
            ensure!(
                variable.required ^ variable.default.is_some(),
                "variable {name:?}: must be `required` OR have a `default`"
            );
        }
        for (id, component) in &self.component {
            validate_kebab_id(id)?;
            for (name, template) in &component.variables {
                validate_name(name).map_err(anyhow::Error::msg)?;
                self.check_template(template)
                    .with_context(|| format!("component {id}: variable {name}"))?;
            }
            for entry in &component.allowed_outbound_hosts {
                if entry.contains("{{") {
                    self.check_template(entry)
                        .with_context(|| format!("component {id}: allowed_outbound_hosts"))?;
                } else {
                    AllowedHost::parse(entry).map_err(anyhow::Error::msg)?;
                }
            }
        }
        for trigger in &self.trigger.http {
            ensure!(
                self.component.contains_key(&trigger.component),
                "trigger for route {:?} names unknown component {:?}",
                trigger.route,
                trigger.component
            );
        }
        Ok(())
    }

    fn check_template(&self, template: &str) -> anyhow::Result<()> {
        for name in template_names(template).map_err(anyhow::Error::msg)? {
            ensure!(
                self.variables.contains_key(&name),
                "template {template:?} refers to unknown variable {name:?}"
            );
        }
        Ok(())
    }
}

/// Spin's component ids: words of lower-case (or all upper-case) letters and digits,
/// separated by single hyphens, starting with a letter.
fn validate_kebab_id(id: &str) -> anyhow::Result<()> {
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        bail!("component id {id:?} must start with a letter");
    }
    for word in id.split('-') {
        let lower = word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let upper = word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        ensure!(
            !word.is_empty() && (lower || upper),
            "component id {id:?} must be kebab-case (words separated by '-')"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Manifest> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.validate()?;
        Ok(manifest)
    }

    const BASE: &str = r#"
spin_manifest_version = 2
[application]
name = "app"
[[trigger.http]]
route = "/..."
component = "web"
"#;

    #[test]
    fn the_projects_manifest_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml");
        let (manifest, _) = Manifest::load(&path).unwrap();
        assert_eq!(manifest.trigger.http.len(), 4);
    }

    #[test]
    fn manifests_spin_would_reject_are_rejected() {
        let cases = [
            (
                "[component.web]\nsource = \"a.wasm\"\nunknown = 1",
                "unknown component field",
            ),
            (
                "[variables]\nx = { required = true, default = \"a\" }\n[component.web]\nsource = \"a.wasm\"",
                "required and default",
            ),
            (
                "[variables]\nx = {}\n[component.web]\nsource = \"a.wasm\"",
                "neither required nor default",
            ),
            (
                "[component.web]\nsource = \"a.wasm\"\n[component.web.variables]\ny = \"{{ nope }}\"",
                "undeclared variable",
            ),
            (
                "[component.web]\nsource = \"a.wasm\"\nallowed_outbound_hosts = [\"db:5432\"]",
                "no scheme",
            ),
            (
                "[component.web_x]\nsource = \"a.wasm\"",
                "underscore in id (and the trigger's component missing)",
            ),
        ];
        for (extra, reason) in cases {
            assert!(
                parse(&format!("{BASE}{extra}")).is_err(),
                "accepted: {reason}"
            );
        }
        assert!(parse(&format!("{BASE}[component.web]\nsource = \"a.wasm\"")).is_ok());
    }
}
