//! Finding a container's cgroup directories (cgset made `isokit/NAME` in
//! each hierarchy it drives), and the freezer: the one copy of the pause
//! rule, used by `pause`/`resume` and, through `--cgroup`, by scripts/cpause.

use std::fs;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{bail, Context};
use chainload::mountinfo::unescape;

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

/// The cgroup v2 hierarchy, as cgset finds it: the first cgroup2 mount
/// that is not read-only (pure v2 at /sys/fs/cgroup, hybrid at
/// /sys/fs/cgroup/unified; found, never assumed).
pub fn v2_mount() -> Option<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    v2_mount_in(&info)
}

fn v2_mount_in(info: &str) -> Option<PathBuf> {
    info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fields: Vec<&str> = left.split(' ').collect();
        let read_only = fields.get(5)?.split(',').any(|o| o == "ro");
        let point = fields.get(4)?;
        (right.split(' ').next()? == "cgroup2" && !read_only).then(|| PathBuf::from(unescape(point)))
    })
}

/// Make `isokit/NAME` in the v2 hierarchy at `mount` (each missing level),
/// so that the chain's first process can be started inside it
/// (CLONE_INTO_CGROUP). cgset, which runs next with --leave-v2, finds it
/// made, enables the controllers down the tree and writes the limits; a
/// failure is undone by the caller (cgset --remove).
pub fn make_v2_dir(mount: &std::path::Path, name: &str) -> anyhow::Result<PathBuf> {
    let mut dir = mount.to_path_buf();
    for component in std::iter::once("isokit").chain(name.split('/')) {
        dir.push(component);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(err) => return Err(err).with_context(|| format!("create cgroup '{}'", dir.display())),
        }
    }
    Ok(dir)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v2_mount_is_found_not_assumed() {
        let hybrid = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(v2_mount_in(hybrid), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        let pure = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(v2_mount_in(pure), Some(PathBuf::from("/sys/fs/cgroup")));
        let ro_first = "1 0 0:5 / /ro ro - cgroup2 none rw\n2 0 0:5 / /a\\040b rw - cgroup2 none rw\n";
        assert_eq!(v2_mount_in(ro_first), Some(PathBuf::from("/a b")));
        assert_eq!(v2_mount_in("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"), None);
    }
}
