//! Is this process in a namespace of its own? The rule netns-setup uses
//! for networks: walk up the ancestors that /proc shows (PPid in
//! /proc/PID/status) until one is in another namespace of the kind.

use std::fs;

use anyhow::Context;

/// Longest ancestry walked; PID chains are short, this only bounds a loop.
const MAX_DEPTH: usize = 4096;

/// Whether a visible ancestor is in another `kind` namespace ("mnt", "pid",
/// "net") than this process. An ancestor that vanished or whose namespace
/// cannot be read ends the walk: only what is seen counts.
pub fn ancestor_in_other_namespace(kind: &str) -> anyhow::Result<bool> {
    let link = format!("/proc/self/ns/{kind}");
    let own = fs::read_link(&link).with_context(|| format!("read '{link}' (is /proc mounted?)"))?;
    let mut pid = parent_of("self");
    for _ in 0..MAX_DEPTH {
        let Some(current) = pid.filter(|&p| p > 0) else { return Ok(false) };
        match fs::read_link(format!("/proc/{current}/ns/{kind}")) {
            Ok(theirs) if theirs != own => return Ok(true),
            Ok(_) => pid = parent_of(&current.to_string()),
            // Reading another process's namespace needs ptrace access to
            // it. Inside a user namespace of its own, the ancestors outside
            // it (the unshare-lite --user launcher) are out of reach: they
            // are in other namespaces. And no process in a child user
            // namespace holds CAP_SYS_ADMIN over the host's mount
            // namespace, so even a wrong guess here can mount nothing there.
            Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => return in_child_user_namespace(),
            Err(_) => return Ok(false),
        }
    }
    Ok(false)
}

/// The initial user namespace has a fixed nsfs inode (PROC_USER_INIT_INO,
/// include/linux/proc_ns.h).
const INITIAL_USER_NAMESPACE: &str = "user:[4026531837]";

fn in_child_user_namespace() -> anyhow::Result<bool> {
    let own = fs::read_link("/proc/self/ns/user").context("read '/proc/self/ns/user'")?;
    Ok(own.as_os_str() != INITIAL_USER_NAMESPACE)
}

/// The PPid line of /proc/PID/status (0 for a namespace's PID 1).
fn parent_of(pid: &str) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("PPid:")).and_then(|value| value.trim().parse().ok())
}
