//! linux.namespaces[].path, as engines send it, checked before it becomes
//! `unshare-lite --join`.
//!
//! An engine names another container's namespace as /proc/PID/ns/TYPE,
//! PID being the pid the runtime reported for it (podman's
//! `--network container:X`, a pod's infra container). For a container of
//! isokit-oci that pid is its init (the launcher leaves it at create:
//! unshare-lite --detach-init). A container made before that reported
//! the launcher, which stays in the host's namespaces: its
//! /proc/PID/ns/net is the host's network. The container's namespaces are
//! its init's, so such a path is turned into the init's. Whatever path is
//! left, joining the runtime's own (the host's) namespace is refused: a
//! container that shares the host's network leaves the namespace out of
//! the config instead (`--network host`), it never names it.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{bail, Context};

use crate::spec::Config;

/// The /proc/PID/ns name of an OCI namespace type.
fn proc_name(kind: &str) -> &str {
    match kind {
        "network" => "net",
        "mount" => "mnt",
        other => other,
    }
}

pub fn resolve(root: &Path, config: &mut Config) -> anyhow::Result<()> {
    let Some(linux) = config.linux.as_mut() else { return Ok(()) };
    let mut containers = None;
    for ns in linux.namespaces.iter_mut().filter(|ns| !ns.path.is_empty()) {
        let name = proc_name(&ns.kind);
        if name == "mnt" {
            continue; // never joined: translate refuses it, saying why
        }
        if let Some(pid) = launcher_pid(&ns.path, name) {
            let all = containers.get_or_insert_with(|| crate::commands::containers(root));
            if let Some(container) = all.iter().find(|c| c.record.pid == pid && c.alive() && c.record.init > 0) {
                ns.path = format!("/proc/{}/ns/{name}", container.record.init);
            }
        }
        refuse_own(&ns.kind, name, &ns.path)?;
    }
    Ok(())
}

/// PID of a path of the form /proc/PID/ns/NAME.
fn launcher_pid(path: &str, name: &str) -> Option<i32> {
    let rest = path.strip_prefix("/proc/")?;
    let (pid, ns) = rest.split_once('/')?;
    (ns == format!("ns/{name}")).then(|| pid.parse().ok())?
}

fn refuse_own(kind: &str, name: &str, path: &str) -> anyhow::Result<()> {
    let target =
        fs::metadata(path).with_context(|| format!("config.json: linux.namespaces: the {kind} namespace '{path}'"))?;
    let own = format!("/proc/self/ns/{name}");
    let own = fs::metadata(&own).with_context(|| format!("stat '{own}'"))?;
    if (target.dev(), target.ino()) == (own.dev(), own.ino()) {
        bail!("config.json: linux.namespaces: '{path}' is the host's {kind} namespace (leave the namespace out to share it)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_proc_pid_ns_paths_name_a_pid() {
        assert_eq!(launcher_pid("/proc/42/ns/net", "net"), Some(42));
        assert_eq!(launcher_pid("/proc/42/ns/net", "uts"), None);
        assert_eq!(launcher_pid("/run/netns/x", "net"), None);
        assert_eq!(launcher_pid("/proc/self/ns/net", "net"), None);
    }
}
