//! process.capabilities as capdrop options. capdrop keeps one set and
//! derives the five from it (capabilities(7)): root gets effective =
//! permitted = bounding = kept; a non-root user gets the kept set as
//! ambient too when it is named, or only the bounding set otherwise.
//! Anything else cannot be expressed and is refused by name.

use std::collections::BTreeSet;

use anyhow::{anyhow, bail};

use crate::spec::Capabilities;

/// The capabilities of Linux 6.x by number (capability.h), lowercase
/// without CAP_: to name the complement of a set for `--drop`.
pub const ALL: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

fn set(field: &str, names: &[String]) -> anyhow::Result<BTreeSet<&'static str>> {
    names
        .iter()
        .map(|name| {
            let short = name.to_ascii_lowercase();
            let short = short.strip_prefix("cap_").unwrap_or(&short).to_string();
            ALL.iter()
                .find(|known| **known == short)
                .copied()
                .ok_or_else(|| anyhow!("config.json: process.capabilities.{field}: unknown capability '{name}'"))
        })
        .collect()
}

fn list(caps: &BTreeSet<&str>) -> String {
    if caps.is_empty() {
        return "none".into();
    }
    caps.iter().copied().collect::<Vec<_>>().join(",")
}

/// capdrop's `--keep`/`--drop` words for these sets and this uid.
pub fn capdrop_args(caps: Option<&Capabilities>, uid: u32) -> anyhow::Result<Vec<String>> {
    let Some(caps) = caps else {
        return Ok(vec!["--keep".into(), "none".into()]);
    };
    let bounding = set("bounding", &caps.bounding)?;
    let effective = set("effective", &caps.effective)?;
    let permitted = set("permitted", &caps.permitted)?;
    let inheritable = set("inheritable", &caps.inheritable)?;
    let ambient = set("ambient", &caps.ambient)?;
    let unexpressible = || {
        anyhow!(
            "config.json: process.capabilities: capdrop cannot give uid {uid} these sets \
             (root: effective = permitted = bounding, no inheritable or ambient; \
             another user: all five equal, or only a bounding set)"
        )
    };
    if uid == 0 {
        if effective != bounding || permitted != bounding || !inheritable.is_empty() || !ambient.is_empty() {
            return Err(unexpressible());
        }
        return Ok(vec!["--keep".into(), list(&bounding)]);
    }
    if effective.is_empty() && permitted.is_empty() && inheritable.is_empty() && ambient.is_empty() {
        // capdrop's default for a non-root user: empty sets, the default
        // bounding set, of which the complement of `bounding` is dropped.
        let drop: BTreeSet<&str> = ALL.iter().copied().filter(|c| !bounding.contains(c)).collect();
        let mut args = vec!["--keep".into(), "default".into()];
        if !drop.is_empty() {
            args.extend(["--drop".into(), list(&drop)]);
        }
        return Ok(args);
    }
    if [&effective, &permitted, &inheritable, &ambient].iter().all(|s| **s == bounding) {
        return Ok(vec!["--keep".into(), list(&bounding)]);
    }
    bail!(unexpressible())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(b: &[&str], e: &[&str], a: &[&str]) -> Capabilities {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Capabilities { bounding: v(b), effective: v(e), permitted: v(e), inheritable: v(a), ambient: v(a) }
    }

    #[test]
    fn root_keeps_the_bounding_set() {
        let c = caps(&["CAP_CHOWN", "CAP_KILL"], &["CAP_CHOWN", "CAP_KILL"], &[]);
        assert_eq!(capdrop_args(Some(&c), 0).unwrap(), ["--keep", "chown,kill"]);
    }

    #[test]
    fn non_root_with_bounding_only_drops_the_rest() {
        let c = caps(&["CAP_CHOWN"], &[], &[]);
        let args = capdrop_args(Some(&c), 1000).unwrap();
        assert_eq!(args[..2], ["--keep", "default"]);
        assert!(args[3].contains("kill") && !args[3].contains("chown"));
    }

    #[test]
    fn unknown_and_unexpressible_sets_are_refused() {
        assert!(capdrop_args(Some(&caps(&["CAP_BOGUS"], &[], &[])), 0).is_err());
        assert!(capdrop_args(Some(&caps(&["CAP_CHOWN", "CAP_KILL"], &["CAP_KILL"], &[])), 0).is_err());
    }

    #[test]
    fn no_capabilities_means_none() {
        assert_eq!(capdrop_args(None, 0).unwrap(), ["--keep", "none"]);
    }
}
