//! The limits asked for, checked, and which controllers they need.

use crate::values::{controller_of, Limit};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory: Option<Limit>,
    /// Memory plus swap, as Docker's --memory-swap: v1's memsw limit; on
    /// v2 memory.swap.max gets the difference.
    pub memory_swap: Option<Limit>,
    /// CFS quota in microseconds per `values::CPU_PERIOD_US`.
    pub cpu_quota: Option<Limit>,
    /// v2 scale, 1..10000.
    pub cpu_weight: Option<u64>,
    pub pids: Option<Limit>,
    /// v2 scale, 1..10000.
    pub io_weight: Option<u64>,
    pub cpuset: Option<String>,
    /// Device rules (allow-list; all else denied), when asked for.
    pub devices: Option<Vec<crate::devices::Rule>>,
    /// `--set FILE=VALUE`, written last, in the order given.
    pub settings: Vec<(String, String)>,
}

/// A controller as v2 and v1 name it; None where that version has no such
/// controller (v1's blkio is v2's io).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub v2: Option<String>,
    pub v1: Option<String>,
}

impl Wanted {
    fn both(name: &str) -> Wanted {
        Wanted { v2: Some(name.to_string()), v1: Some(name.to_string()) }
    }

    /// The controller named by a control file's prefix. `cgroup.*` files
    /// are v2's core files (v1 has a few in every hierarchy, which would
    /// leave the hierarchy ambiguous).
    pub fn for_file(file: &str) -> Wanted {
        match controller_of(file) {
            "io" => Wanted { v2: Some("io".into()), v1: None },
            "blkio" => Wanted { v2: None, v1: Some("blkio".into()) },
            "cgroup" => Wanted { v2: Some("cgroup".into()), v1: None },
            other => Wanted::both(other),
        }
    }

    pub fn describe(&self) -> String {
        match (&self.v2, &self.v1) {
            (Some(v2), Some(v1)) if v2 == v1 => v2.clone(),
            (Some(v2), Some(v1)) => format!("{v2} (v1: {v1})"),
            (Some(only), None) | (None, Some(only)) => only.clone(),
            (None, None) => String::new(),
        }
    }
}

impl Limits {
    /// The controllers these limits need, each once.
    pub fn wanted(&self) -> Vec<Wanted> {
        let mut wanted = Vec::new();
        if self.memory.is_some() || self.memory_swap.is_some() {
            wanted.push(Wanted::both("memory"));
        }
        if self.cpu_quota.is_some() || self.cpu_weight.is_some() {
            wanted.push(Wanted::both("cpu"));
        }
        if self.pids.is_some() {
            wanted.push(Wanted::both("pids"));
        }
        if self.io_weight.is_some() {
            wanted.push(Wanted { v2: Some("io".into()), v1: Some("blkio".into()) });
        }
        if self.cpuset.is_some() {
            wanted.push(Wanted::both("cpuset"));
        }
        if self.devices.is_some() {
            wanted.push(Wanted::both("devices"));
        }
        for (file, _) in &self.settings {
            let for_file = Wanted::for_file(file);
            if !wanted.contains(&for_file) {
                wanted.push(for_file);
            }
        }
        wanted
    }

    pub fn is_empty(&self) -> bool {
        self.wanted().is_empty()
    }
}
