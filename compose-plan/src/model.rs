//! The compose file, walked into a project: every key the kit supports
//! read into a typed field, every other key refused by its path.

use std::path::{Path, PathBuf};

use anyhow::bail;
use serde_yaml_ng::Value;

use crate::interpolate::Variables;
use crate::node::{child, Node};

pub struct Project {
    pub name: String,
    pub services: Vec<Service>,
    pub networks: Vec<Network>,
    pub volumes: Vec<Volume>,
}

pub struct Network {
    pub key: String,
    /// The cnetwork name: PROJECT_KEY, or `name:`.
    pub name: String,
    pub external: bool,
    pub used: bool,
}

pub struct Volume {
    pub key: String,
    /// The directory name under the volumes directory: PROJECT_KEY, or `name:`.
    pub name: String,
    pub external: bool,
}

pub enum Image {
    /// No `image:`: contain's built-in busybox root.
    Builtin,
    /// A path: a root filesystem directory (contain --rootfs).
    Dir(PathBuf),
    /// A registry reference, pulled by contain.
    Registry(String),
}

pub enum Mount {
    Bind { source: PathBuf, target: String, read_only: bool },
    Named { volume: String, target: String, read_only: bool },
    Tmpfs { target: String, size: Option<String> },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Condition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

pub struct Health {
    pub test: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub retries: u64,
    pub start_period_ms: u64,
}

pub struct Service {
    pub name: String,
    pub image: Image,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: Vec<String>,
    pub env_files: Vec<PathBuf>,
    pub ports: Vec<String>,
    pub mounts: Vec<Mount>,
    pub depends_on: Vec<(String, Condition)>,
    pub health: Option<Health>,
    pub restart: String,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub hostname: Option<String>,
    /// The key of the network in the file, and extra aliases.
    pub network: String,
    pub aliases: Vec<String>,
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub pids: Option<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub read_only: bool,
}

const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "volumes",
    "depends_on",
    "healthcheck",
    "restart",
    "user",
    "working_dir",
    "hostname",
    "networks",
    "mem_limit",
    "deploy",
    "cap_add",
    "cap_drop",
    "read_only",
    "tmpfs",
];

/// The YAML of a compose file as a value tree: anchors resolved, and
/// `<<:` merge keys applied (files share settings through an `x-`
/// extension that way).
pub fn load(text: &str) -> anyhow::Result<Value> {
    let mut value: Value = serde_yaml_ng::from_str(text).map_err(|err| anyhow::anyhow!("{err}"))?;
    value.apply_merge().map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(value)
}

/// Walk the whole file. DIR: the project directory (relative paths);
/// NAME: the project name if given (-p), else the file's `name:`, else DIR's.
pub fn project(root: &Value, dir: &Path, name: Option<&str>, vars: &Variables) -> anyhow::Result<Project> {
    let top = Node { value: root, path: "" };
    let mut services_node = None;
    let (mut networks, mut volumes) = (Vec::new(), Vec::new());
    let mut file_name = None;
    let mut network_nodes = None;
    let mut volume_nodes = None;
    for (key, value) in top.mapping(&["version", "name", "services", "networks", "volumes"])? {
        match key.as_str() {
            // Obsolete in the specification: its value changes nothing.
            "version" => {}
            "name" => file_name = Some(Node { value, path: "name" }.string(vars)?),
            "services" => services_node = Some(value),
            "networks" => network_nodes = Some(value),
            "volumes" => volume_nodes = Some(value),
            other => bail!("{other}: unsupported key"),
        }
    }
    let name = match name {
        Some(name) => name.to_string(),
        None => match file_name {
            Some(name) => name,
            None => normalize(&dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
        },
    };
    if !valid_project(&name) {
        bail!("invalid project name '{name}' (lowercase letters, digits, '_', '-'; starting with a letter or digit)");
    }
    if let Some(value) = network_nodes {
        for (key, value) in (Node { value, path: "networks" }).named()? {
            networks.push(network(&name, &key, value, vars)?);
        }
    }
    if !networks.iter().any(|n| n.key == "default") {
        networks.insert(
            0,
            Network { key: "default".into(), name: format!("{name}_default"), external: false, used: false },
        );
    }
    if let Some(value) = volume_nodes {
        for (key, value) in (Node { value, path: "volumes" }).named()? {
            volumes.push(volume(&name, &key, value, vars)?);
        }
    }
    let Some(services_value) = services_node else {
        bail!("services: missing (a compose file needs at least one service)");
    };
    let mut services = Vec::new();
    for (key, value) in (Node { value: services_value, path: "services" }).named()? {
        let service = service(&key, value, dir, vars, &networks, &volumes)?;
        if let Some(network) = networks.iter_mut().find(|n| n.key == service.network) {
            network.used = true;
        }
        services.push(service);
    }
    if services.is_empty() {
        bail!("services: empty (a compose file needs at least one service)");
    }
    Ok(Project { name, services, networks, volumes })
}

/// A directory name as a project name, as docker compose makes it:
/// lowercase, only letters, digits, '_' and '-'.
fn normalize(name: &str) -> String {
    let name: String =
        name.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    name.trim_start_matches(['_', '-']).to_string()
}

fn valid_project(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.len() <= 40
}

/// A name contain and cnetwork accept: letters, digits, '_', '.', '-'.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 63
}

fn network(project: &str, key: &str, value: &Value, vars: &Variables) -> anyhow::Result<Network> {
    let path = child("networks", key);
    let mut net = Network { key: key.into(), name: format!("{project}_{key}"), external: false, used: false };
    for (k, v) in (Node { value, path: &path }).named_or_mapping(&["driver", "external", "name"])? {
        let node = Node { value: v, path: &child(&path, &k) };
        match k.as_str() {
            "driver" => {
                let driver = node.string(vars)?;
                if driver != "bridge" {
                    bail!("{}: unsupported driver '{driver}' (only bridge)", node.path);
                }
            }
            "external" => net.external = node.bool(vars)?,
            "name" => net.name = node.string(vars)?,
            other => bail!("{other}: unsupported key"), // refused by mapping() already
        }
    }
    if net.external && !value_has(value, "name") {
        net.name = key.into();
    }
    if !valid_name(&net.name) {
        bail!("{path}: invalid network name '{}'", net.name);
    }
    Ok(net)
}

fn volume(project: &str, key: &str, value: &Value, vars: &Variables) -> anyhow::Result<Volume> {
    let path = child("volumes", key);
    let mut vol = Volume { key: key.into(), name: format!("{project}_{key}"), external: false };
    for (k, v) in (Node { value, path: &path }).named_or_mapping(&["driver", "external", "name"])? {
        let node = Node { value: v, path: &child(&path, &k) };
        match k.as_str() {
            "driver" => {
                let driver = node.string(vars)?;
                if driver != "local" {
                    bail!("{}: unsupported driver '{driver}' (only local)", node.path);
                }
            }
            "external" => vol.external = node.bool(vars)?,
            "name" => vol.name = node.string(vars)?,
            other => bail!("{other}: unsupported key"), // refused by mapping() already
        }
    }
    if vol.external && !value_has(value, "name") {
        vol.name = key.into();
    }
    if !valid_name(&vol.name) {
        bail!("{path}: invalid volume name '{}'", vol.name);
    }
    Ok(vol)
}

fn value_has(value: &Value, key: &str) -> bool {
    matches!(value, Value::Mapping(map) if map.contains_key(key))
}

impl<'a> Node<'a> {
    /// A mapping of ALLOWED keys, or null (`volumes: {data:}`).
    fn named_or_mapping(&self, allowed: &[&str]) -> anyhow::Result<Vec<(String, &'a Value)>> {
        match self.value {
            Value::Null => Ok(Vec::new()),
            _ => self.mapping(allowed),
        }
    }
}

fn service(
    name: &str,
    value: &Value,
    dir: &Path,
    vars: &Variables,
    networks: &[Network],
    volumes: &[Volume],
) -> anyhow::Result<Service> {
    let path = child("services", name);
    if !valid_name(name) {
        bail!("{path}: invalid service name (letters, digits, '_', '.', '-')");
    }
    let mut s = Service {
        name: name.into(),
        image: Image::Builtin,
        command: None,
        entrypoint: None,
        environment: Vec::new(),
        env_files: Vec::new(),
        ports: Vec::new(),
        mounts: Vec::new(),
        depends_on: Vec::new(),
        health: None,
        restart: "no".into(),
        user: None,
        working_dir: None,
        hostname: None,
        network: "default".into(),
        aliases: Vec::new(),
        memory: None,
        cpus: None,
        pids: None,
        cap_add: Vec::new(),
        cap_drop: Vec::new(),
        read_only: false,
    };
    for (key, value) in (Node { value, path: &path }).named_or_mapping(SERVICE_KEYS)? {
        let key_path = child(&path, &key);
        let node = Node { value, path: &key_path };
        match key.as_str() {
            "image" => s.image = image(&node.string(vars)?, dir),
            "build" => {
                bail!("{key_path}: building images is not supported (build it elsewhere, then imgload or imgpull it)")
            }
            "command" => s.command = Some(command(node, vars)?),
            "entrypoint" => s.entrypoint = Some(command(node, vars)?),
            "environment" => s.environment = environment(node, vars)?,
            "env_file" => {
                s.env_files = node.strings(vars)?.iter().map(|f| in_dir(dir, f)).collect();
            }
            "ports" => s.ports = node.items(|item| port(item, vars))?,
            "volumes" => {
                for mount in node.items(|item| mount(item, dir, vars, volumes))? {
                    s.mounts.push(mount);
                }
            }
            "tmpfs" => {
                for target in node.strings(vars)? {
                    s.mounts.push(tmpfs(&target, &key_path)?);
                }
            }
            "depends_on" => s.depends_on = depends_on(node, vars)?,
            "healthcheck" => s.health = healthcheck(node, vars)?,
            "restart" => {
                let policy = node.string(vars)?;
                let ok = matches!(policy.as_str(), "no" | "always" | "unless-stopped" | "on-failure")
                    || policy.strip_prefix("on-failure:").is_some_and(|n| n.parse::<u32>().is_ok());
                if !ok {
                    bail!("{key_path}: invalid policy '{policy}' (no, always, on-failure[:N], unless-stopped)");
                }
                s.restart = policy;
            }
            "user" => s.user = Some(node.string(vars)?),
            "working_dir" => s.working_dir = Some(node.string(vars)?),
            "hostname" => s.hostname = Some(node.string(vars)?),
            "networks" => (s.network, s.aliases) = service_network(node, vars, networks)?,
            "mem_limit" => s.memory = Some(size(node, vars)?),
            "deploy" => deploy(node, vars, &mut s)?,
            "cap_add" => s.cap_add = node.items(|item| item.string(vars))?,
            "cap_drop" => s.cap_drop = node.items(|item| item.string(vars))?,
            "read_only" => s.read_only = node.bool(vars)?,
            other => bail!("{other}: unsupported key"), // refused by mapping() already
        }
    }
    if let (Image::Registry(_), Some(_)) = (&s.image, &s.entrypoint) {
        bail!(
            "{path}.entrypoint: contain keeps a registry image's own Entrypoint (put the program in command instead)"
        );
    }
    if !matches!(s.image, Image::Registry(_)) && s.command.is_none() && s.entrypoint.is_none() {
        bail!("{path}: no command (a root filesystem directory or the built-in image has no default one)");
    }
    Ok(s)
}

/// `image:`: a path (starting with '/' or '.') is a root filesystem
/// directory; anything else a registry reference.
fn image(text: &str, dir: &Path) -> Image {
    if text.starts_with('/') || text.starts_with('.') {
        Image::Dir(in_dir(dir, text))
    } else {
        Image::Registry(text.into())
    }
}

/// PATH from the project directory, "." components dropped (lexically:
/// a symlink stays for contain to resolve).
fn in_dir(dir: &Path, path: &str) -> PathBuf {
    dir.join(path).components().collect()
}

/// A command: a list as it is, or a string split as a shell would
/// (quotes, backslashes), without running a shell, as docker compose does.
fn command(node: Node<'_>, vars: &Variables) -> anyhow::Result<Vec<String>> {
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
fn environment(node: Node<'_>, vars: &Variables) -> anyhow::Result<Vec<String>> {
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
fn port(node: Node<'_>, vars: &Variables) -> anyhow::Result<String> {
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
fn mount(node: Node<'_>, dir: &Path, vars: &Variables, volumes: &[Volume]) -> anyhow::Result<Mount> {
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
fn tmpfs(text: &str, path: &str) -> anyhow::Result<Mount> {
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

fn depends_on(node: Node<'_>, vars: &Variables) -> anyhow::Result<Vec<(String, Condition)>> {
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

fn healthcheck(node: Node<'_>, vars: &Variables) -> anyhow::Result<Option<Health>> {
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
pub fn duration(text: &str, path: &str) -> anyhow::Result<u64> {
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
fn size(node: Node<'_>, vars: &Variables) -> anyhow::Result<String> {
    size_text(&node.string(vars)?, node.path)
}

fn size_text(text: &str, path: &str) -> anyhow::Result<String> {
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

fn deploy(node: Node<'_>, vars: &Variables, s: &mut Service) -> anyhow::Result<()> {
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
fn service_network(node: Node<'_>, vars: &Variables, networks: &[Network]) -> anyhow::Result<(String, Vec<String>)> {
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
    fn project_names() {
        assert_eq!(normalize("My App"), "myapp");
        assert!(valid_project("web-1_a"));
        assert!(!valid_project("-x"));
        assert!(!valid_project("Web"));
    }
}
