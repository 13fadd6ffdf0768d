//! A value of the compose file with its path (`services.web.ports[0]`),
//! so that every refusal names where in the file it is.

use anyhow::bail;
use serde_yaml_ng::{Mapping, Value};

use crate::interpolate::{interpolate, Variables};

#[derive(Clone, Copy)]
pub struct Node<'a> {
    pub value: &'a Value,
    pub path: &'a str,
}

impl<'a> Node<'a> {
    /// The entries of a mapping, each key a string. Keys not in ALLOWED
    /// are refused, except extensions (`x-...`), which the specification
    /// reserves for the user's own use (anchors to merge from).
    pub fn mapping(&self, allowed: &[&str]) -> anyhow::Result<Vec<(String, &'a Value)>> {
        let Value::Mapping(map) = self.value else {
            bail!("{}: expected a mapping", self.path);
        };
        entries(map, self.path, Some(allowed))
    }

    /// The entries of a mapping whose keys are names (services, volumes).
    pub fn named(&self) -> anyhow::Result<Vec<(String, &'a Value)>> {
        match self.value {
            Value::Mapping(map) => entries(map, self.path, None),
            Value::Null => Ok(Vec::new()),
            _ => bail!("{}: expected a mapping", self.path),
        }
    }

    /// A mapping of ALLOWED keys, or null (`volumes: {data:}`).
    pub fn named_or_mapping(&self, allowed: &[&str]) -> anyhow::Result<Vec<(String, &'a Value)>> {
        match self.value {
            Value::Null => Ok(Vec::new()),
            _ => self.mapping(allowed),
        }
    }

    pub fn sequence(&self) -> anyhow::Result<&'a [Value]> {
        match self.value {
            Value::Sequence(items) => Ok(items),
            _ => bail!("{}: expected a list", self.path),
        }
    }

    /// A scalar as text, interpolated; numbers and booleans as written.
    pub fn string(&self, vars: &Variables) -> anyhow::Result<String> {
        let text = match self.value {
            Value::String(text) => interpolate(text, vars).map_err(|err| anyhow::anyhow!("{}: {err}", self.path))?,
            Value::Number(number) => number.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => bail!("{}: expected a string", self.path),
        };
        if text.contains('\0') {
            bail!("{}: a NUL byte", self.path);
        }
        Ok(text)
    }

    pub fn bool(&self, vars: &Variables) -> anyhow::Result<bool> {
        match self.string(vars)?.as_str() {
            "true" | "True" | "yes" => Ok(true),
            "false" | "False" | "no" => Ok(false),
            other => bail!("{}: expected true or false, not '{other}'", self.path),
        }
    }

    /// A string, or a list of strings (each interpolated).
    pub fn strings(&self, vars: &Variables) -> anyhow::Result<Vec<String>> {
        match self.value {
            Value::Sequence(_) => self.items(|item| item.string(vars)),
            _ => Ok(vec![self.string(vars)?]),
        }
    }

    /// Each item of a list, through F with its own path.
    pub fn items<T>(&self, mut f: impl FnMut(Node<'_>) -> anyhow::Result<T>) -> anyhow::Result<Vec<T>> {
        let mut out = Vec::new();
        for (i, item) in self.sequence()?.iter().enumerate() {
            let path = format!("{}[{i}]", self.path);
            out.push(f(Node { value: item, path: &path })?);
        }
        Ok(out)
    }
}

fn entries<'a>(map: &'a Mapping, path: &str, allowed: Option<&[&str]>) -> anyhow::Result<Vec<(String, &'a Value)>> {
    let mut out = Vec::new();
    for (key, value) in map {
        let key = match key {
            Value::String(key) => key.clone(),
            Value::Number(number) => number.to_string(),
            _ => bail!("{path}: a key that is not a string"),
        };
        let full = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        if key.starts_with("x-") {
            continue;
        }
        if let Some(allowed) = allowed {
            if !allowed.contains(&key.as_str()) {
                bail!("{full}: unsupported key");
            }
        }
        out.push((key, value));
    }
    Ok(out)
}

/// The path of KEY under PATH.
pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}
