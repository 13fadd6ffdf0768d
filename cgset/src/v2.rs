//! cgroup v2: the unified hierarchy (Documentation/admin-guide/cgroup-v2.rst).
//!
//! Written against a directory, so the unit tests run on a temporary one.

use std::path::Path;

use anyhow::anyhow;

use crate::files;
use crate::limits::Limits;
use crate::values::{weight_to_blkio, Limit, CPU_PERIOD_US};

/// The controllers a v2 cgroup offers its children (cgroup.controllers).
pub fn offered(dir: &Path) -> anyhow::Result<Vec<String>> {
    Ok(files::read(&dir.join("cgroup.controllers"))?.split_whitespace().map(str::to_string).collect())
}

/// Enable CONTROLLERS for the children of PARENT, those not enabled yet.
///
/// A controller is enabled top-down: a cgroup can only enable what its own
/// cgroup.controllers lists, i.e. what its parent enabled. The
/// no-internal-processes rule forbids enabling a domain controller in a
/// non-root cgroup that has processes (EBUSY): cgset never puts processes
/// in `isokit/` itself, only in its leaves, and never enables anything in a
/// leaf.
pub fn enable(parent: &Path, controllers: &[String]) -> anyhow::Result<()> {
    let file = parent.join("cgroup.subtree_control");
    let enabled = files::read(&file)?;
    let missing: Vec<String> = controllers
        .iter()
        .filter(|c| {
            c.as_str() != "cgroup" && c.as_str() != "devices" && !enabled.split_whitespace().any(|e| e == c.as_str())
        })
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    files::write(&file, &missing.join(" ")).map_err(|err| {
        let busy = err.root_cause().downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error);
        if busy == Some(libc::EBUSY) {
            anyhow!(
                "{} (a cgroup with processes cannot enable controllers for its children)",
                chainload::describe(&err)
            )
        } else {
            err
        }
    })
}

/// Write the limits of CONTROLLERS into the cgroup DIR. Returns
/// `file=value` for each write, for the trace.
pub fn apply(dir: &Path, limits: &Limits, controllers: &[String]) -> anyhow::Result<Vec<String>> {
    let has = |name: &str| controllers.iter().any(|c| c == name);
    let mut writes = Vec::new();
    if has("memory") {
        if let Some(memory) = limits.memory {
            writes.push(("memory.max", limit_text(memory)));
        }
        if let Some(total) = limits.memory_swap {
            writes.push(("memory.swap.max", limit_text(swap_only(limits.memory, total))));
        }
    }
    if has("cpu") {
        if let Some(quota) = limits.cpu_quota {
            writes.push(("cpu.max", format!("{} {CPU_PERIOD_US}", limit_text(quota))));
        }
        if let Some(weight) = limits.cpu_weight {
            writes.push(("cpu.weight", weight.to_string()));
        }
    }
    if has("pids") {
        if let Some(pids) = limits.pids {
            writes.push(("pids.max", limit_text(pids)));
        }
    }
    if has("io") {
        if let Some(weight) = limits.io_weight {
            // io.weight needs the io.cost model; with BFQ the knob is
            // io.bfq.weight, on blkio's 1..1000 scale.
            match files::first_existing(dir, &["io.weight", "io.bfq.weight"]) {
                Some("io.bfq.weight") => writes.push(("io.bfq.weight", weight_to_blkio(weight).to_string())),
                _ => writes.push(("io.weight", weight.to_string())),
            }
        }
    }
    if has("cpuset") {
        // cpuset.mems stays empty: on v2 an empty value means the parent's
        // effective memory nodes, unlike v1.
        if let Some(cpus) = &limits.cpuset {
            writes.push(("cpuset.cpus", cpus.clone()));
        }
    }
    let mut done = files::write_all(dir, writes)?;
    if let Some(rules) = limits.devices.as_deref().filter(|_| has("devices")) {
        let len = crate::devices_bpf::attach(dir, rules)?;
        done.push(format!("device program ({} rules, {len} instructions)", rules.len()));
    }
    Ok(done)
}

fn limit_text(limit: Limit) -> String {
    match limit {
        Limit::Max => "max".to_string(),
        Limit::Value(n) => n.to_string(),
    }
}

/// v2 limits swap alone; --memory-swap is memory plus swap (checked to be
/// at least --memory before this runs).
fn swap_only(memory: Option<Limit>, total: Limit) -> Limit {
    match (memory, total) {
        (Some(Limit::Value(memory)), Limit::Value(total)) => Limit::Value(total.saturating_sub(memory)),
        _ => Limit::Max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::fake::Tree;

    fn all() -> Vec<String> {
        ["memory", "cpu", "pids", "io", "cpuset"].iter().map(|c| c.to_string()).collect()
    }

    const LEAF_FILES: &[(&str, &str)] = &[
        ("memory.max", "max"),
        ("memory.swap.max", "max"),
        ("cpu.max", "max 100000"),
        ("cpu.weight", "100"),
        ("pids.max", "max"),
        ("io.weight", "default 100"),
        ("cpuset.cpus", ""),
    ];

    #[test]
    fn every_limit_lands_in_its_file() {
        let tree = Tree::new("v2-apply");
        let leaf = tree.cgroup("isokit/a", LEAF_FILES);
        let limits = Limits {
            memory: Some(Limit::Value(32 << 20)),
            memory_swap: Some(Limit::Value(48 << 20)),
            cpu_quota: Some(Limit::Value(50_000)),
            cpu_weight: Some(200),
            pids: Some(Limit::Value(10)),
            io_weight: Some(300),
            cpuset: Some("0".into()),
            devices: None,
            settings: vec![],
        };
        let writes = apply(&leaf, &limits, &all()).expect("apply");
        assert_eq!(writes.len(), 7);
        assert_eq!(tree.read("isokit/a/memory.max"), "33554432");
        assert_eq!(tree.read("isokit/a/memory.swap.max"), "16777216");
        assert_eq!(tree.read("isokit/a/cpu.max"), "50000 100000");
        assert_eq!(tree.read("isokit/a/cpu.weight"), "200");
        assert_eq!(tree.read("isokit/a/pids.max"), "10");
        assert_eq!(tree.read("isokit/a/io.weight"), "300");
        assert_eq!(tree.read("isokit/a/cpuset.cpus"), "0");
    }

    #[test]
    fn max_lifts_and_controllers_elsewhere_are_left_alone() {
        let tree = Tree::new("v2-max");
        let leaf = tree.cgroup("isokit/a", LEAF_FILES);
        let limits = Limits {
            memory: Some(Limit::Max),
            memory_swap: Some(Limit::Max),
            cpu_quota: Some(Limit::Max),
            pids: Some(Limit::Value(5)),
            ..Limits::default()
        };
        apply(&leaf, &limits, &["memory".to_string(), "cpu".to_string()]).expect("apply");
        assert_eq!(tree.read("isokit/a/memory.max"), "max");
        assert_eq!(tree.read("isokit/a/cpu.max"), "max 100000");
        assert_eq!(tree.read("isokit/a/pids.max"), "max", "pids is driven elsewhere");
    }

    #[test]
    fn bfq_weight_when_io_weight_is_absent() {
        let tree = Tree::new("v2-bfq");
        let leaf = tree.cgroup("a", &[("io.bfq.weight", "default 100")]);
        let limits = Limits { io_weight: Some(10_000), ..Limits::default() };
        apply(&leaf, &limits, &all()).expect("apply");
        assert_eq!(tree.read("a/io.bfq.weight"), "1000");
    }

    #[test]
    fn enable_adds_only_what_is_missing() {
        let tree = Tree::new("v2-enable");
        let root = tree.cgroup("", &[("cgroup.subtree_control", "memory")]);
        enable(&root, &["memory".into(), "pids".into(), "cgroup".into()]).expect("enable");
        assert_eq!(tree.read("cgroup.subtree_control"), "+pids");
        tree.cgroup("", &[("cgroup.subtree_control", "memory pids")]);
        std::fs::remove_file(root.join("cgroup.subtree_control")).expect("rm");
        // Nothing to enable: the file is not even opened.
        enable(&root, &[]).expect_err("the file is read first");
    }
}
