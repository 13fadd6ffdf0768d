//! The state directory: ROOT/ID/ holds `state.json` (what create
//! recorded), `exec.fifo` while the container waits for `start`,
//! `init.pid` (unshare-lite's) and `seccomp.json` (the profile pivot binds
//! in). A container's status is read from the kernel each time, never
//! stored: the launcher alive (same start time) and the fifo present is
//! "created", alive without it "running", frozen "paused", gone "stopped".

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::cgroups;

#[derive(Serialize, Deserialize, Clone)]
pub struct Record {
    pub id: String,
    pub bundle: String,
    pub rootfs: String,
    /// The launcher (the chain's first process, unshare-lite's outer half
    /// once exec'd): conmon and containerd wait for it, its status is the
    /// program's.
    pub pid: i32,
    pub pid_start: u64,
    /// The container's init, inside the new namespaces (exec joins it).
    pub init: i32,
    pub cgroup: String,
    pub namespaces: Vec<String>,
    pub seccomp: bool,
    pub created: String,
    pub annotations: BTreeMap<String, String>,
}

pub struct Container {
    pub dir: PathBuf,
    pub record: Record,
}

/// A container id: what runc accepts, and never a path.
pub fn check_id(id: &str) -> anyhow::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c));
    if !ok {
        bail!("invalid container id '{id}'");
    }
    Ok(())
}

/// The start time of a process (field 22 of /proc/PID/stat), to tell it
/// from a later process with the same number.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The state letter of a process (field 3 of /proc/PID/stat).
fn process_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().next()?.chars().next()
}

impl Container {
    pub fn load(root: &Path, id: &str) -> anyhow::Result<Option<Container>> {
        check_id(id)?;
        let dir = root.join(id);
        let text = match fs::read_to_string(dir.join("state.json")) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err).with_context(|| format!("read state of '{id}'")),
        };
        let record = serde_json::from_str(&text).with_context(|| format!("read state of '{id}'"))?;
        Ok(Some(Container { dir, record }))
    }

    /// Like load, in runc's words when it is not there.
    pub fn get(root: &Path, id: &str) -> anyhow::Result<Container> {
        Container::load(root, id)?.ok_or_else(|| anyhow::anyhow!("container does not exist"))
    }

    /// The launcher still runs: same start time (not a reused PID), and
    /// not a zombie (it exited; its new parent has not reaped it yet).
    pub fn alive(&self) -> bool {
        let pid = self.record.pid;
        start_time(pid) == Some(self.record.pid_start) && !matches!(process_state(pid), Some('Z' | 'X'))
    }

    pub fn status(&self) -> &'static str {
        if !self.alive() {
            return "stopped";
        }
        if self.dir.join("exec.fifo").exists() {
            return "created";
        }
        if cgroups::frozen(&self.record.cgroup) {
            return "paused";
        }
        "running"
    }

    /// The runtime-spec state.
    pub fn state_json(&self) -> serde_json::Value {
        let status = self.status();
        let pid = if status == "stopped" { 0 } else { self.record.pid };
        serde_json::json!({
            "ociVersion": "1.0.2",
            "id": self.record.id,
            "status": status,
            "pid": pid,
            "bundle": self.record.bundle,
            "rootfs": self.record.rootfs,
            "created": self.record.created,
            "annotations": self.record.annotations,
        })
    }
}

/// Write a file whole or not at all (a reader never sees half of it).
pub fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, data).and_then(|()| fs::rename(&tmp, path)).with_context(|| format!("write '{}'", path.display()))
}

/// The time now as RFC 3339 in UTC, without a date library.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest / 60 % 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_never_paths() {
        assert!(check_id("abc-1.2_x").is_ok());
        for bad in ["", "../x", "a/b", ".hidden"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
    }
}
