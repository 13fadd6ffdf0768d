//! Is this process in a namespace of its own? The rule netns-setup uses
//! for networks: walk up the ancestors that /proc shows (PPid in
//! /proc/PID/status) until one is in another namespace of the kind.

use std::fs;
use std::path::PathBuf;

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
        match namespace_of(current, kind) {
            Some(theirs) if theirs != own => return Ok(true),
            Some(_) => pid = parent_of(&current.to_string()),
            None => return Ok(false),
        }
    }
    Ok(false)
}

fn namespace_of(pid: u32, kind: &str) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/ns/{kind}")).ok()
}

/// The PPid line of /proc/PID/status (0 for a namespace's PID 1).
fn parent_of(pid: &str) -> Option<u32> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("PPid:")).and_then(|value| value.trim().parse().ok())
}
