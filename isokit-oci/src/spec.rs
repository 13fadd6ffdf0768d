//! The parts of the OCI runtime-spec that isokit-oci reads: config.json and
//! the process JSON of `exec --process`. Unknown fields are kept as raw
//! JSON (`rest`) so that a field isokit cannot honour is refused by name
//! instead of being dropped unseen.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    pub root: Option<Root>,
    pub process: Option<Process>,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub linux: Option<Linux>,
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
pub struct Root {
    pub path: String,
    #[serde(default)]
    pub readonly: bool,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: bool,
    #[serde(default)]
    pub user: User,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub cwd: String,
    pub capabilities: Option<Capabilities>,
    #[serde(default)]
    pub rlimits: Vec<Rlimit>,
    #[serde(default)]
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    pub umask: Option<u32>,
    #[serde(default)]
    pub additional_gids: Vec<u32>,
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default, Clone)]
pub struct Capabilities {
    #[serde(default)]
    pub bounding: Vec<String>,
    #[serde(default)]
    pub effective: Vec<String>,
    #[serde(default)]
    pub inheritable: Vec<String>,
    #[serde(default)]
    pub permitted: Vec<String>,
    #[serde(default)]
    pub ambient: Vec<String>,
}

#[derive(Deserialize, Clone)]
pub struct Rlimit {
    #[serde(rename = "type")]
    pub kind: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Deserialize, Default, Clone)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    #[serde(default)]
    pub namespaces: Vec<Namespace>,
    pub resources: Option<Resources>,
    #[serde(default)]
    pub cgroups_path: String,
    #[serde(default)]
    pub sysctl: BTreeMap<String, String>,
    pub seccomp: Option<Value>,
    #[serde(default)]
    pub masked_paths: Vec<String>,
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    #[serde(default)]
    pub devices: Vec<Device>,
    #[serde(default)]
    pub rootfs_propagation: String,
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub path: String,
}

#[derive(Deserialize, Default)]
pub struct Device {
    pub path: String,
}

#[derive(Deserialize, Default)]
pub struct Resources {
    #[serde(default)]
    pub devices: Vec<DeviceRule>,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub pids: Option<Pids>,
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
pub struct DeviceRule {
    pub allow: bool,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Memory {
    pub limit: Option<i64>,
    pub swap: Option<i64>,
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
pub struct Cpu {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub period: Option<u64>,
    #[serde(default)]
    pub cpus: String,
    #[serde(flatten)]
    pub rest: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
pub struct Pids {
    pub limit: i64,
}

/// A JSON value that says nothing: absent, null, false, 0, "", [] or {}.
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
    }
}
