//! cgroup v1: one hierarchy per controller (or a few co-mounted),
//! Documentation/admin-guide/cgroup-v1/. Used for each controller the v2
//! hierarchy does not offer (hybrid hosts) or on v1-only hosts.
//!
//! Written against a directory, so the unit tests run on a temporary one.

use std::path::Path;

use anyhow::anyhow;

use crate::files;
use crate::limits::Limits;
use crate::values::{weight_to_blkio, weight_to_shares, Limit, CPU_PERIOD_US};

const MEMSW: &str = "memory.memsw.limit_in_bytes";

/// A new v1 cpuset has empty cpuset.cpus and cpuset.mems, and a task cannot
/// join it until both are set (ENOSPC; cgroup-v1/cpusets.rst, "How do I use
/// cpusets?"). Copy the parent's into DIR where they are empty. Called for
/// every level cgset goes through (isokit/ too), top-down.
pub fn inherit_cpuset(dir: &Path) -> anyhow::Result<()> {
    let Some(parent) = dir.parent() else { return Ok(()) };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if files::read(&dir.join(file))?.is_empty() {
            files::write(&dir.join(file), &files::read(&parent.join(file))?)?;
        }
    }
    Ok(())
}

/// Write the limits of CONTROLLERS (those bound to this hierarchy) into the
/// cgroup DIR. Returns `file=value` for each write, for the trace.
pub fn apply(dir: &Path, limits: &Limits, controllers: &[String]) -> anyhow::Result<Vec<String>> {
    let has = |name: &str| controllers.iter().any(|c| c == name);
    let mut writes: Vec<(&str, String)> = Vec::new();
    if has("memory") {
        writes.extend(memory_writes(dir, limits)?);
    }
    if has("cpu") {
        if let Some(quota) = limits.cpu_quota {
            // The period first: the quota is a share of it.
            writes.push(("cpu.cfs_period_us", CPU_PERIOD_US.to_string()));
            writes.push(("cpu.cfs_quota_us", limit_text(quota)));
        }
        if let Some(weight) = limits.cpu_weight {
            writes.push(("cpu.shares", weight_to_shares(weight).to_string()));
        }
    }
    if has("pids") {
        if let Some(pids) = limits.pids {
            // pids.max is the one v1 file that takes "max" (cgroup-v1/pids.rst).
            let value = match pids {
                Limit::Max => "max".to_string(),
                Limit::Value(n) => n.to_string(),
            };
            writes.push(("pids.max", value));
        }
    }
    if has("blkio") {
        if let Some(weight) = limits.io_weight {
            // blkio.weight came with CFQ; since 5.0 only BFQ offers a
            // weight, as blkio.bfq.weight (same 10..1000 range fits it).
            let file = files::first_existing(dir, &["blkio.weight", "blkio.bfq.weight"]).unwrap_or("blkio.weight");
            writes.push((file, weight_to_blkio(weight).to_string()));
        }
    }
    if has("cpuset") {
        if let Some(cpus) = &limits.cpuset {
            writes.push(("cpuset.cpus", cpus.clone()));
        }
    }
    if let Some(rules) = limits.devices.as_deref().filter(|_| has("devices")) {
        writes.extend(crate::devices::v1_writes(rules));
    }
    files::write_all(dir, writes)
}

/// memory.limit_in_bytes and memory.memsw.limit_in_bytes, in an order the
/// kernel accepts: at every moment the memory limit must not exceed the
/// memsw limit (EINVAL otherwise, cgroup-v1/memory.rst 2.5). A new cgroup
/// has both unlimited, but an existing one being rejoined may not: if the
/// new memory limit fits under the current memsw limit write it first,
/// else raise memsw first (then the new memsw >= new memory > old memsw >=
/// old memory, so that order works).
fn memory_writes(dir: &Path, limits: &Limits) -> anyhow::Result<Vec<(&'static str, String)>> {
    let memory = limits.memory.map(|m| ("memory.limit_in_bytes", limit_text(m)));
    let Some(total) = limits.memory_swap else {
        return Ok(memory.into_iter().collect());
    };
    if files::first_existing(dir, &[MEMSW]).is_none() {
        return Err(anyhow!(
            "--memory-swap: '{}' does not exist (swap accounting is off: boot with swapaccount=1)",
            dir.join(MEMSW).display()
        ));
    }
    let memsw = (MEMSW, limit_text(total));
    let current_memsw: u64 = files::read(&dir.join(MEMSW))?.parse().unwrap_or(u64::MAX);
    let memory_fits = match limits.memory {
        Some(Limit::Value(bytes)) => bytes <= current_memsw,
        _ => false,
    };
    Ok(match memory {
        Some(memory) if memory_fits => vec![memory, memsw],
        Some(memory) => vec![memsw, memory],
        None => vec![memsw],
    })
}

/// v1 memory and cpu files take -1 for "no limit".
fn limit_text(limit: Limit) -> String {
    match limit {
        Limit::Max => "-1".to_string(),
        Limit::Value(n) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::fake::Tree;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn cpu_pids_cpuset_and_shares() {
        let tree = Tree::new("v1-cpu");
        let leaf = tree.cgroup(
            "isokit/a",
            &[
                ("cpu.cfs_period_us", "50000"),
                ("cpu.cfs_quota_us", "-1"),
                ("cpu.shares", "1024"),
                ("pids.max", "max"),
                ("cpuset.cpus", ""),
            ],
        );
        let limits = Limits {
            cpu_quota: Some(Limit::Value(50_000)),
            cpu_weight: Some(100),
            pids: Some(Limit::Value(10)),
            cpuset: Some("0".into()),
            ..Limits::default()
        };
        apply(&leaf, &limits, &names(&["cpu", "pids", "cpuset"])).expect("apply");
        assert_eq!(tree.read("isokit/a/cpu.cfs_period_us"), "100000");
        assert_eq!(tree.read("isokit/a/cpu.cfs_quota_us"), "50000");
        assert_eq!(tree.read("isokit/a/cpu.shares"), "2598");
        assert_eq!(tree.read("isokit/a/pids.max"), "10");
        assert_eq!(tree.read("isokit/a/cpuset.cpus"), "0");
    }

    const UNLIMITED: &str = "9223372036854771712";

    #[test]
    fn memory_then_memsw_on_a_new_cgroup() {
        let tree = Tree::new("v1-mem");
        let leaf = tree.cgroup("a", &[("memory.limit_in_bytes", UNLIMITED), (MEMSW, UNLIMITED)]);
        let limits =
            Limits { memory: Some(Limit::Value(100)), memory_swap: Some(Limit::Value(200)), ..Limits::default() };
        let writes = apply(&leaf, &limits, &names(&["memory"])).expect("apply");
        assert_eq!(writes, ["memory.limit_in_bytes=100", "memory.memsw.limit_in_bytes=200"]);
    }

    #[test]
    fn memsw_first_when_raising_above_the_current_memsw() {
        let tree = Tree::new("v1-raise");
        let leaf = tree.cgroup("a", &[("memory.limit_in_bytes", "100"), (MEMSW, "100")]);
        let limits =
            Limits { memory: Some(Limit::Value(300)), memory_swap: Some(Limit::Value(400)), ..Limits::default() };
        let writes = apply(&leaf, &limits, &names(&["memory"])).expect("apply");
        assert_eq!(writes, ["memory.memsw.limit_in_bytes=400", "memory.limit_in_bytes=300"]);
        let limits = Limits { memory: Some(Limit::Max), memory_swap: Some(Limit::Max), ..Limits::default() };
        let writes = apply(&leaf, &limits, &names(&["memory"])).expect("apply");
        assert_eq!(writes, ["memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"]);
    }

    #[test]
    fn memory_swap_without_swap_accounting_is_an_error() {
        let tree = Tree::new("v1-noswap");
        let leaf = tree.cgroup("a", &[("memory.limit_in_bytes", UNLIMITED)]);
        let limits =
            Limits { memory: Some(Limit::Value(100)), memory_swap: Some(Limit::Value(100)), ..Limits::default() };
        let err = apply(&leaf, &limits, &names(&["memory"])).expect_err("no memsw");
        assert!(err.to_string().contains("swapaccount=1"), "{err}");
        assert_eq!(tree.read("a/memory.limit_in_bytes"), UNLIMITED, "nothing written");
    }

    #[test]
    fn cpuset_is_copied_from_the_parent_where_empty() {
        let tree = Tree::new("v1-cpuset");
        tree.cgroup("", &[("cpuset.cpus", "0-1"), ("cpuset.mems", "0")]);
        let mid = tree.cgroup("isokit", &[("cpuset.cpus", ""), ("cpuset.mems", "")]);
        let leaf = tree.cgroup("isokit/a", &[("cpuset.cpus", "1"), ("cpuset.mems", "")]);
        inherit_cpuset(&mid).expect("isokit");
        inherit_cpuset(&leaf).expect("leaf");
        assert_eq!(tree.read("isokit/cpuset.cpus"), "0-1");
        assert_eq!(tree.read("isokit/a/cpuset.cpus"), "1", "a value already set is kept");
        assert_eq!(tree.read("isokit/a/cpuset.mems"), "0");
    }

    #[test]
    fn devices_deny_all_then_allow() {
        let tree = Tree::new("v1-devices");
        let leaf = tree.cgroup("a", &[("devices.deny", ""), ("devices.allow", "")]);
        let limits = Limits { devices: Some(crate::devices::rules(&[]).expect("valid")), ..Limits::default() };
        let writes = apply(&leaf, &limits, &names(&["devices"])).expect("apply");
        assert_eq!(writes.first().map(String::as_str), Some("devices.deny=a"));
        assert_eq!(writes.last().map(String::as_str), Some("devices.allow=c 136:* rwm"));
        assert_eq!(tree.read("a/devices.deny"), "a");
    }

    #[test]
    fn blkio_weight_or_bfq() {
        let tree = Tree::new("v1-blkio");
        let leaf = tree.cgroup("a", &[("blkio.bfq.weight", "100")]);
        let limits = Limits { io_weight: Some(1), ..Limits::default() };
        apply(&leaf, &limits, &names(&["blkio"])).expect("apply");
        assert_eq!(tree.read("a/blkio.bfq.weight"), "10");
    }
}
