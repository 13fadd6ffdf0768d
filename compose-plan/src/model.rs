//! The compose file, walked into a project: every key the kit supports
//! read into a typed field, every other key refused by its path.

use std::path::{Path, PathBuf};

use anyhow::bail;
use serde_yaml_ng::Value;

use crate::interpolate::Variables;
use crate::keys::{
    command, depends_on, deploy, environment, healthcheck, image, in_dir, mount, port, service_network, size, tmpfs,
};
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
pub(crate) fn valid_name(name: &str) -> bool {
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
            "image" => {
                s.image = image(&node.string(vars)?, dir).map_err(|error| anyhow::anyhow!("{}: {error}", node.path))?
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names() {
        assert_eq!(normalize("My App"), "myapp");
        assert!(valid_project("web-1_a"));
        assert!(!valid_project("-x"));
        assert!(!valid_project("Web"));
    }
}
