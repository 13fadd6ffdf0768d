//! Finding a container's cgroup directories (cgset made `isokit/NAME` in
//! each hierarchy it drives), and the freezer: the one copy of the pause
//! rule, used by `pause`/`resume` and, through `--cgroup`, by scripts/cpause.

use std::fs;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{bail, Context};

/// The hierarchies mounted here: (mount point, controllers; empty for v2).
fn hierarchies() -> Vec<(PathBuf, Vec<String>)> {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mut fields = right.split_whitespace();
        let kind = fields.next().unwrap_or("");
        let options = fields.nth(1).unwrap_or("");
        let Some(point) = left.split_whitespace().nth(4) else { continue };
        match kind {
            "cgroup2" => found.push((PathBuf::from(point), Vec::new())),
            "cgroup" => {
                let controllers = options.split(',').filter(|o| !matches!(*o, "rw" | "ro")).map(String::from).collect();
                found.push((PathBuf::from(point), controllers));
            }
            _ => {}
        }
    }
    found
}

pub fn has_v1_freezer() -> bool {
    hierarchies().iter().any(|(_, c)| c.iter().any(|c| c == "freezer"))
}

/// isokit/NAME in every hierarchy where it exists, with its controllers.
pub fn dirs(name: &str) -> Vec<(PathBuf, Vec<String>)> {
    hierarchies()
        .into_iter()
        .map(|(point, controllers)| (point.join("isokit").join(name), controllers))
        .filter(|(dir, _)| dir.is_dir())
        .collect()
}

/// Every process in the cgroup, from the first hierarchy that has it.
pub fn pids(name: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = Vec::new();
    for (dir, _) in dirs(name) {
        if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The freezer's control file for the cgroup: v1 freezer.state, or v2
/// cgroup.freeze (with its read-back in cgroup.events).
enum Freezer {
    V1(PathBuf),
    V2(PathBuf),
}

fn freezer(name: &str) -> Option<Freezer> {
    let found = dirs(name);
    if let Some((dir, _)) = found.iter().find(|(_, c)| c.iter().any(|c| c == "freezer")) {
        return Some(Freezer::V1(dir.clone()));
    }
    found.into_iter().find(|(d, c)| c.is_empty() && d.join("cgroup.freeze").exists()).map(|(d, _)| Freezer::V2(d))
}

pub fn frozen(name: &str) -> bool {
    match freezer(name) {
        Some(Freezer::V1(dir)) => fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN"),
        Some(Freezer::V2(dir)) => {
            fs::read_to_string(dir.join("cgroup.events")).is_ok_and(|s| s.lines().any(|l| l == "frozen 1"))
        }
        None => false,
    }
}

/// Freeze or thaw the cgroup, then wait until the kernel reports it done
/// (v1 goes through FREEZING; v2 sets `frozen 1` once every task stopped).
pub fn set_frozen(name: &str, freeze: bool) -> anyhow::Result<()> {
    let (file, value) = match freezer(name) {
        Some(Freezer::V1(dir)) => (dir.join("freezer.state"), if freeze { "FROZEN" } else { "THAWED" }),
        Some(Freezer::V2(dir)) => (dir.join("cgroup.freeze"), if freeze { "1" } else { "0" }),
        None => bail!("no freezer for cgroup 'isokit/{name}' (neither v1 freezer.state nor v2 cgroup.freeze)"),
    };
    for _ in 0..200 {
        // v1 may stay FREEZING while a task is in an uninterruptible
        // sleep: writing FROZEN again retries, as runc does.
        fs::write(&file, value).with_context(|| format!("write '{value}' to '{}'", file.display()))?;
        if frozen(name) == freeze {
            return Ok(());
        }
        sleep(Duration::from_millis(10));
    }
    bail!("cgroup 'isokit/{name}' did not become {}", if freeze { "frozen" } else { "thawed" })
}
