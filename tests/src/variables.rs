//! Spin's variables: the app's `[variables]`, the components' templates over them, and
//! the providers that give values (`--variable` overrides, then `SPIN_VARIABLE_*` in
//! the environment, then the manifest default), as in Spin's factor-variables.

use std::collections::{BTreeMap, HashMap};

use crate::bindings::fermyon::spin::variables::{self as wit, Error};
use crate::manifest::VariableDef;
use crate::runtime::RequestState;

/// The app's variables and where their values come from.
#[derive(Debug, Clone)]
pub struct Variables {
    definitions: BTreeMap<String, VariableDef>,
    /// Values given explicitly to the host, like `spin up --variable name=value`.
    overrides: HashMap<String, String>,
}

impl Variables {
    pub fn new(
        definitions: BTreeMap<String, VariableDef>,
        overrides: HashMap<String, String>,
    ) -> Self {
        Self {
            definitions,
            overrides,
        }
    }

    /// The value of an app variable, from the first provider that has one.
    pub fn resolve(&self, name: &str) -> Result<String, Error> {
        let definition = self
            .definitions
            .get(name)
            .ok_or_else(|| Error::Undefined(format!("no variable {name:?}")))?;
        if let Some(value) = self.overrides.get(name) {
            return Ok(value.clone());
        }
        if let Ok(value) = std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())) {
            return Ok(value);
        }
        match &definition.default {
            Some(value) => Ok(value.clone()),
            None => Err(Error::Provider(format!(
                "no provider resolved required variable {name:?}"
            ))),
        }
    }

    /// Resolves every app variable, as Spin does before it evaluates any template.
    pub fn resolve_all(&self) -> Result<HashMap<String, String>, Error> {
        self.definitions
            .keys()
            .map(|name| Ok((name.clone(), self.resolve(name)?)))
            .collect()
    }

    /// Renders a template such as `postgres://{{ db_host }}:5432`.
    pub fn render(&self, template: &str) -> Result<String, Error> {
        let values = self.resolve_all()?;
        render_template(template, |name| values.get(name).cloned()).map_err(Error::Other)
    }
}

/// Replaces each `{{ name }}` with its value; an unknown name or an unclosed `{{` is an error.
pub fn render_template(
    template: &str,
    mut value_of: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed '{{{{' in template {template:?}"))?;
        let name = after[..end].trim();
        out.push_str(&value_of(name).ok_or_else(|| format!("unknown variable {name:?}"))?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The variable names a template refers to.
pub fn template_names(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    render_template(template, |name| {
        names.push(name.to_owned());
        Some(String::new())
    })?;
    Ok(names)
}

/// Spin's rule for variable names: lower-case letters, digits and single underscores,
/// starting with a letter and ending with a letter or digit.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("variable names must not be empty".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "{name:?}: invalid character {bad:?}. Variable names may contain only lower-case letters, numbers, and underscores."
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("{name:?}: must start with a lowercase letter"));
    }
    if name.ends_with('_') {
        return Err(format!("{name:?}: must end with a letter or digit"));
    }
    if name.contains("__") {
        return Err(format!(
            "{name:?}: must not contain multiple consecutive underscores"
        ));
    }
    Ok(())
}

impl wit::Host for RequestState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if let Err(reason) = validate_name(&name) {
            return Ok(Err(Error::InvalidName(reason)));
        }
        let Some(template) = self.component.variables.get(&name) else {
            return Ok(Err(Error::Undefined(format!(
                "no variable for {:?}.{name:?}",
                self.component.id
            ))));
        };
        Ok(self.app.variables.render(template))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_rendered_and_unknown_names_refused() {
        let lookup = |name: &str| (name == "db_host").then(|| "db".to_owned());
        assert_eq!(
            render_template("postgres://{{ db_host }}:5432", lookup).unwrap(),
            "postgres://db:5432"
        );
        assert!(render_template("{{ nope }}", lookup).is_err());
        assert!(render_template("{{ db_host", lookup).is_err());
    }

    #[test]
    fn names_follow_spins_rules() {
        for good in ["a", "db_url", "a1b2"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "DB_URL", "1a", "_a", "a_", "a__b", "a-b", "a.b"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
