//! Basic credentials from Docker's credentials file: `--auth-file FILE`,
//! else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; the
//! `auths` object, keyed by registry host (`https://index.docker.io/v1/`
//! for Docker Hub, as `docker login` writes it), each with `auth`:
//! base64 of `user:password`. Credential helpers (`credsStore`) are not
//! run: a pull must not exec programs named by a file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

pub fn default_file() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The `auth` value for `registry`, if the file has one. A missing default
/// file is no credentials; a file named with --auth-file must exist.
pub fn lookup(file: &Path, required: bool, registry: &str) -> anyhow::Result<Option<String>> {
    let text = match std::fs::read(file) {
        Ok(text) => text,
        Err(err) if !required && err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("read credentials file '{}'", file.display())),
    };
    let json: Value =
        serde_json::from_slice(&text).with_context(|| format!("parse credentials file '{}'", file.display()))?;
    Ok(find(&json, registry))
}

fn find(json: &Value, registry: &str) -> Option<String> {
    let auths = json.get("auths")?.as_object()?;
    let keys: Vec<String> = if registry == "docker.io" {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ]
    } else {
        vec![
            registry.into(),
            format!("https://{registry}"),
            format!("http://{registry}"),
            format!("https://{registry}/v1/"),
        ]
    };
    keys.iter().find_map(|key| auths.get(key)?.get("auth")?.as_str().filter(|a| !a.is_empty()).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_docker_login_entries() {
        let json: Value = serde_json::from_str(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"},"localhost:5000":{"auth":"dTpw"}}}"#,
        )
        .unwrap();
        assert_eq!(find(&json, "docker.io").as_deref(), Some("aHViOnB3"));
        assert_eq!(find(&json, "localhost:5000").as_deref(), Some("dTpw"));
        assert_eq!(find(&json, "ghcr.io"), None);
    }
}
