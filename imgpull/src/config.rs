//! `--print-config`: what a launcher needs from a stored image's config
//! (image-spec `config.md`), as bash assignments it can `eval`: every value
//! single-quoted, so nothing in an image can run in the launcher's shell.

use anyhow::{bail, Context};
use imgstore::{Digest, Store};
use serde_json::Value;

pub fn print(store: &Store, name: &str) -> anyhow::Result<String> {
    let manifest = store.read_json(&store.lookup(name)?)?;
    let config = manifest
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(Value::as_str)
        .context("the manifest has no config")?;
    let config = store.read_json(&Digest::parse(config)?)?;
    let settings = config.get("config").unwrap_or(&Value::Null);
    let mut text = String::new();
    for (var, key) in [("IMAGE_ENTRYPOINT", "Entrypoint"), ("IMAGE_CMD", "Cmd"), ("IMAGE_ENV", "Env")] {
        let words = strings(settings.get(key), key)?;
        text.push_str(&format!("{var}=({})\n", words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")));
    }
    let ports: Vec<String> = settings
        .get("ExposedPorts")
        .and_then(Value::as_object)
        .map(|o| o.keys().map(|k| quote(k)).collect())
        .unwrap_or_default();
    text.push_str(&format!("IMAGE_EXPOSED_PORTS=({})\n", ports.join(" ")));
    for (var, key) in [("IMAGE_WORKDIR", "WorkingDir"), ("IMAGE_USER", "User"), ("IMAGE_STOPSIGNAL", "StopSignal")] {
        let value = settings.get(key).and_then(Value::as_str).unwrap_or("");
        check(value, key)?;
        text.push_str(&format!("{var}={}\n", quote(value)));
    }
    Ok(text)
}

fn strings(value: Option<&Value>, key: &str) -> anyhow::Result<Vec<String>> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let Some(items) = value.as_array() else { bail!("the image config's {key} is not a list") };
    items
        .iter()
        .map(|item| {
            let text = item.as_str().with_context(|| format!("the image config's {key} holds a non-string"))?;
            check(text, key)?;
            Ok(text.to_string())
        })
        .collect()
}

/// A NUL cannot be passed in argv or the environment.
fn check(text: &str, key: &str) -> anyhow::Result<()> {
    if text.contains('\0') {
        bail!("the image config's {key} holds a NUL byte");
    }
    Ok(())
}

/// Single quotes, with each `'` written as `'\''`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_shell_out() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's $(x)"), r"'it'\''s $(x)'");
    }
}
