//! The value of each service key, in the form contain takes it: ports,
//! volumes, durations, sizes, commands, environments, healthchecks.

use std::path::{Path, PathBuf};

use anyhow::bail;
use serde_yaml_ng::Value;

use crate::interpolate::Variables;
use crate::model::{valid_name, Condition, Health, Image, Mount, Network, Service, Volume};
use crate::node::{child, Node};

/// `image:`: a path (starting with '/' or '.') is a root filesystem
/// directory; anything else a registry reference, which must look like
/// one: it becomes a word of contain's command line, where a leading '-'
/// would be read as an option (`IMG=--privileged` would get round the
/// keys this file refuses).
pub(crate) fn image(text: &str, dir: &Path) -> anyhow::Result<Image> {
    if text.starts_with('/') || text.starts_with('.') {
        return Ok(Image::Dir(in_dir(dir, text)));
    }
    let mut chars = text.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !starts_well || !chars.all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c)) {
        bail!("'{text}' is not an image reference (REGISTRY/NAME[:TAG][@DIGEST]) nor a path starting with / or .");
    }
    Ok(Image::Registry(text.into()))
}

/// PATH from the project directory, "." components dropped (lexically:
/// a symlink stays for contain to resolve).
pub(crate) fn in_dir(dir: &Path, path: &str) -> PathBuf {
    dir.join(path).components().collect()
}

/// A command: a list as it is, or a string split as a shell would
/// (quotes, backslashes), without running a shell, as docker compose does.
pub(crate) fn command(node: Node<'_>, vars: &Variables) -> anyhow::Result<Vec<String>> {
    match node.value {
        Value::Sequence(_) => node.items(|item| item.string(vars)),
        _ => {
            let text = node.string(vars)?;
            shlex::split(&text).ok_or_else(|| anyhow::anyhow!("{}: unbalanced quotes in '{text}'", node.path))
        }
    }
}

/// `environment:` as a list of KEY=VALUE or a mapping; a KEY without a
/// value takes the caller's, or is left out when the caller has none.
pub(crate) fn environment(node: Node<'_>, vars: &Variables) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut add = |key: &str, value: Option<String>, path: &str| -> anyhow::Result<()> {
        let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            bail!("{path}: invalid variable name '{key}'");
        }
        if let Some(value) = value.or_else(|| std::env::var(key).ok()) {
            out.push(format!("{key}={value}"));
        }
        Ok(())
    };
    match node.value {
        Value::Sequence(_) => {
            for (i, item) in node.items(|item| item.string(vars))?.into_iter().enumerate() {
                let path = format!("{}[{i}]", node.path);
                match item.split_once('=') {
                    Some((k, v)) => add(k, Some(v.to_string()), &path)?,
                    None => add(&item, None, &path)?,
                }
            }
        }
        _ => {
            for (key, value) in node.named()? {
                let path = child(node.path, &key);
                let value = match value {
                    Value::Null => None,
                    _ => Some(Node { value, path: &path }.string(vars)?),
                };
                add(&key, value, &path)?;
            }
        }
    }
    Ok(out)
}

/// A port as contain's -p takes it: [IP:]HOST:CTR[/PROTO]; the long
/// form (target, published, host_ip, protocol) turned into it.
pub(crate) fn port(node: Node<'_>, vars: &Variables) -> anyhow::Result<String> {
    let spec = match node.value {
        Value::Mapping(_) => {
            let (mut target, mut published, mut host_ip, mut protocol) = (None, None, None, None);
            for (key, value) in node.mapping(&["target", "published", "host_ip", "protocol"])? {
                let path = child(node.path, &key);
                let text = Node { value, path: &path }.string(vars)?;
                match key.as_str() {
                    "target" => target = Some(text),
                    "published" => published = Some(text),
                    "host_ip" => host_ip = Some(text),
                    "protocol" => protocol = Some(text),
                    other => bail!("{other}: unsupported key"), // refused by mapping() already
                }
            }
            let Some(target) = target else { bail!("{}: no target", node.path) };
            let Some(published) = published else {
                bail!("{}: no published port (a random host port is not supported)", node.path)
            };
            let mut spec = host_ip.map(|ip| format!("{ip}:")).unwrap_or_default();
            spec.push_str(&format!("{published}:{target}"));
            if let Some(protocol) = protocol {
                spec.push_str(&format!("/{protocol}"));
            }
            spec
        }
        _ => node.string(vars)?,
    };
    let ports = spec.split('/').next().unwrap_or_default();
    if !ports.contains(':') {
        bail!(
            "{}: '{spec}' publishes no host port (a random host port is not supported: write HOST:CONTAINER)",
            node.path
        );
    }
    Ok(spec)
}

/// A volume: "SOURCE:TARGET[:ro|rw]" (SOURCE a path for a bind, else a
/// named volume of the file), or the long form.
pub(crate) fn mount(node: Node<'_>, dir: &Path, vars: &Variables, volumes: &[Volume]) -> anyhow::Result<Mount> {
    let (kind, source, target, read_only, size) = match node.value {
        Value::Mapping(_) => {
            let (mut kind, mut source, mut target, mut read_only, mut size) = (None, None, None, false, None);
            for (key, value) in node.mapping(&["type", "source", "target", "read_only", "tmpfs"])? {
                let path = child(node.path, &key);
                let sub = Node { value, path: &path };
                match key.as_str() {
                    "type" => kind = Some(sub.string(vars)?),
                    "source" => source = Some(sub.string(vars)?),
                    "target" => target = Some(sub.string(vars)?),
                    "read_only" => read_only = sub.bool(vars)?,
                    "tmpfs" => {
                        for (k, v) in sub.mapping(&["size"])? {
                            size = Some(size_text(&Node { value: v, path: &child(&path, &k) }.string(vars)?, &path)?);
                        }
                    }
                    other => bail!("{other}: unsupported key"), // refused by mapping() already
                }
            }
            let Some(kind) = kind else { bail!("{}: no type (bind, volume or tmpfs)", node.path) };
            (kind, source, target, read_only, size)
        }
        _ => {
            let text = node.string(vars)?;
            let parts: Vec<&str> = text.split(':').collect();
            let (source, target, mode) = match parts.as_slice() {
                [_] => bail!(
                    "{}: '{text}' is an anonymous volume (not supported: name it, or bind a directory)",
                    node.path
                ),
                [s, t] => (*s, *t, "rw"),
                [s, t, m] => (*s, *t, *m),
                _ => bail!("{}: '{text}' (SOURCE:TARGET[:ro])", node.path),
            };
            if mode != "ro" && mode != "rw" {
                bail!("{}: unsupported mode '{mode}' (ro or rw)", node.path);
            }
            let kind = if source.starts_with(['/', '.', '~']) { "bind" } else { "volume" };
            (kind.to_string(), Some(source.to_string()), Some(target.to_string()), mode == "ro", None)
        }
    };
    let Some(target) = target else { bail!("{}: no target", node.path) };
    if !target.starts_with('/') {
        bail!("{}: the target '{target}' is not an absolute path", node.path);
    }
    match kind.as_str() {
        "bind" => {
            let Some(source) = source else { bail!("{}: no source", node.path) };
            let source = match source.strip_prefix("~/") {
                Some(rest) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest),
                None => in_dir(dir, &source),
            };
            Ok(Mount::Bind { source, target, read_only })
        }
        "volume" => {
            let Some(source) = source else { bail!("{}: no source (anonymous volumes are not supported)", node.path) };
            let Some(volume) = volumes.iter().find(|v| v.key == source) else {
                bail!("{}: the volume '{source}' is not declared in the top-level volumes", node.path);
            };
            Ok(Mount::Named { volume: volume.key.clone(), target, read_only })
        }
        "tmpfs" => Ok(Mount::Tmpfs { target, size }),
        other => bail!("{}: unsupported type '{other}' (bind, volume, tmpfs)", node.path),
    }
}

/// A tmpfs entry: "/PATH" or "/PATH:size=N".
pub(crate) fn tmpfs(text: &str, path: &str) -> anyhow::Result<Mount> {
    let (target, options) = match text.split_once(':') {
        Some((t, o)) => (t, Some(o)),
        None => (text, None),
    };
    if !target.starts_with('/') {
        bail!("{path}: the target '{target}' is not an absolute path");
    }
    let size = match options {
        None => None,
        Some(options) => match options.strip_prefix("size=") {
            Some(size) if !size.contains(',') => Some(size_text(size, path)?),
            _ => bail!("{path}: unsupported tmpfs options '{options}' (only size=N)"),
        },
    };
    Ok(Mount::Tmpfs { target: target.to_string(), size })
}

pub(crate) fn depends_on(node: Node<'_>, vars: &Variables) -> anyhow::Result<Vec<(String, Condition)>> {
    match node.value {
        Value::Sequence(_) => node.items(|item| Ok((item.string(vars)?, Condition::Started))),
        _ => {
            let mut out = Vec::new();
            for (name, value) in node.named()? {
                let path = child(node.path, &name);
                let mut condition = Condition::Started;
                for (key, value) in (Node { value, path: &path }).named_or_mapping(&["condition", "required"])? {
                    let sub_path = child(&path, &key);
                    let sub = Node { value, path: &sub_path };
                    match key.as_str() {
                        "condition" => {
                            condition = match sub.string(vars)?.as_str() {
                                "service_started" => Condition::Started,
                                "service_healthy" => Condition::Healthy,
                                "service_completed_successfully" => Condition::CompletedSuccessfully,
                                other => bail!("{sub_path}: unknown condition '{other}' (service_started, service_healthy, service_completed_successfully)"),
                            }
                        }
                        "required" => {
                            if !sub.bool(vars)? {
                                bail!("{sub_path}: optional dependencies are not supported");
                            }
                        }
                        other => bail!("{other}: unsupported key"), // refused by mapping() already
                    }
                }
                out.push((name, condition));
            }
            Ok(out)
        }
    }
}

pub(crate) fn healthcheck(node: Node<'_>, vars: &Variables) -> anyhow::Result<Option<Health>> {
    let mut health =
        Health { test: Vec::new(), interval_ms: 30_000, timeout_ms: 30_000, retries: 3, start_period_ms: 0 };
    let mut disabled = false;
    for (key, value) in node.mapping(&["test", "interval", "timeout", "retries", "start_period", "disable"])? {
        let path = child(node.path, &key);
        let sub = Node { value, path: &path };
        match key.as_str() {
            "test" => match value {
                Value::Sequence(_) => {
                    let words = sub.items(|item| item.string(vars))?;
                    match words.first().map(String::as_str) {
                        Some("NONE") => disabled = true,
                        Some("CMD") if words.len() > 1 => health.test = words[1..].to_vec(),
                        Some("CMD-SHELL") if words.len() == 2 => {
                            health.test = vec!["/bin/sh".into(), "-c".into(), words[1].clone()]
                        }
                        _ => bail!("{path}: expected [\"CMD\", ...], [\"CMD-SHELL\", \"...\"] or [\"NONE\"]"),
                    }
                }
                _ => health.test = vec!["/bin/sh".into(), "-c".into(), sub.string(vars)?],
            },
            "interval" => health.interval_ms = duration(&sub.string(vars)?, &path)?,
            "timeout" => health.timeout_ms = duration(&sub.string(vars)?, &path)?,
            "start_period" => health.start_period_ms = duration(&sub.string(vars)?, &path)?,
            "retries" => {
                health.retries = sub.string(vars)?.parse().map_err(|_| anyhow::anyhow!("{path}: expected a number"))?
            }
            "disable" => disabled = sub.bool(vars)?,
            other => bail!("{other}: unsupported key"), // refused by mapping() already
        }
    }
    if disabled {
        return Ok(None);
    }
    if health.test.is_empty() {
        bail!("{}: no test", node.path);
    }
    if health.interval_ms == 0 || health.timeout_ms == 0 {
        bail!("{}: interval and timeout must be more than 0", node.path);
    }
    Ok(Some(health))
}

/// A duration as compose writes them: "1m30s", "500ms", "10s", "1h".
pub(crate) fn duration(text: &str, path: &str) -> anyhow::Result<u64> {
    let bad = || anyhow::anyhow!("{path}: invalid duration '{text}' (such as 10s, 1m30s, 500ms)");
    let mut total = 0u64;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad()),
        };
        total = total.checked_add(number.checked_mul(factor).ok_or_else(bad)?).ok_or_else(bad)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// A memory size: bytes, or a number with b, k, m, g (docker's units,
/// 1024-based, any case, an optional trailing b); in contain's form.
pub(crate) fn size(node: Node<'_>, vars: &Variables) -> anyhow::Result<String> {
    size_text(&node.string(vars)?, node.path)
}

pub(crate) fn size_text(text: &str, path: &str) -> anyhow::Result<String> {
    let lower = text.to_ascii_lowercase();
    let trimmed = lower.strip_suffix('b').filter(|t| !t.is_empty()).unwrap_or(&lower);
    let (digits, unit) = match trimmed.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let suffix = match unit {
        "" => "",
        "k" => "K",
        "m" => "M",
        "g" => "G",
        _ => bail!("{path}: invalid size '{text}' (bytes, or a number with k, m or g)"),
    };
    if digits.is_empty() || digits.parse::<u64>().is_err() {
        bail!("{path}: invalid size '{text}' (bytes, or a number with k, m or g)");
    }
    Ok(format!("{digits}{suffix}"))
}

pub(crate) fn deploy(node: Node<'_>, vars: &Variables, s: &mut Service) -> anyhow::Result<()> {
    for (key, value) in node.mapping(&["resources"])? {
        let path = child(node.path, &key);
        for (key, value) in (Node { value, path: &path }).mapping(&["limits"])? {
            let path = child(&path, &key);
            for (key, value) in (Node { value, path: &path }).mapping(&["cpus", "memory", "pids"])? {
                let path = child(&path, &key);
                let sub = Node { value, path: &path };
                match key.as_str() {
                    "cpus" => s.cpus = Some(sub.string(vars)?),
                    "memory" => s.memory = Some(size(sub, vars)?),
                    "pids" => s.pids = Some(sub.string(vars)?),
                    other => bail!("{other}: unsupported key"), // refused by mapping() already
                }
            }
        }
    }
    Ok(())
}

/// The one network of a service (contain attaches a container to one)
/// and its extra aliases.
pub(crate) fn service_network(
    node: Node<'_>,
    vars: &Variables,
    networks: &[Network],
) -> anyhow::Result<(String, Vec<String>)> {
    let mut chosen = Vec::new();
    match node.value {
        Value::Sequence(_) => {
            for name in node.items(|item| item.string(vars))? {
                chosen.push((name, Vec::new()));
            }
        }
        _ => {
            for (name, value) in node.named()? {
                let path = child(node.path, &name);
                let mut aliases = Vec::new();
                for (key, value) in (Node { value, path: &path }).named_or_mapping(&["aliases"])? {
                    let sub_path = child(&path, &key);
                    aliases = Node { value, path: &sub_path }.items(|item| item.string(vars))?;
                    for alias in &aliases {
                        if !valid_name(alias) {
                            bail!("{sub_path}: invalid alias '{alias}'");
                        }
                    }
                }
                chosen.push((name, aliases));
            }
        }
    }
    if chosen.len() != 1 {
        bail!("{}: exactly one network per service is supported (contain attaches a container to one)", node.path);
    }
    let (name, aliases) = chosen.remove(0);
    if !networks.iter().any(|n| n.key == name) {
        bail!("{}: the network '{name}' is not declared in the top-level networks", node.path);
    }
    Ok((name, aliases))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("1m30s", "p").unwrap(), 90_000);
        assert_eq!(duration("500ms", "p").unwrap(), 500);
        assert_eq!(duration("2h", "p").unwrap(), 7_200_000);
        assert!(duration("10", "p").is_err());
        assert!(duration("", "p").is_err());
        assert!(duration("1x", "p").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size_text("64m", "p").unwrap(), "64M");
        assert_eq!(size_text("1GB", "p").unwrap(), "1G");
        assert_eq!(size_text("1048576", "p").unwrap(), "1048576");
        assert!(size_text("1.5g", "p").is_err());
        assert!(size_text("m", "p").is_err());
    }

    #[test]
    fn images() {
        let dir = Path::new("/app");
        assert!(matches!(image("busybox", dir), Ok(Image::Registry(r)) if r == "busybox"));
        assert!(matches!(image("localhost:5000/demo:1@sha256:ab", dir), Ok(Image::Registry(_))));
        assert!(matches!(image("./rootfs", dir), Ok(Image::Dir(p)) if p == Path::new("/app/rootfs")));
        for bad in ["--privileged", "-v", "", "a b", "a\nb", "$(x)"] {
            assert!(image(bad, dir).is_err(), "{bad:?} accepted");
        }
    }
}
