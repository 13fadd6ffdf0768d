//! Where the cgroup hierarchies are: read from /proc/self/mountinfo, never
//! assumed to be under /sys/fs/cgroup (proc(5), "mountinfo").

use std::path::PathBuf;

use anyhow::Context;
use chainload::mountinfo::unescape;

/// The v1 controllers the kernel may bind to a hierarchy (cgroups(7)). A
/// v1 mount's super options list its controllers among other options
/// (`rw,memory`, `rw,cpu,cpuacct`, `rw,xattr,name=systemd`).
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "blkio",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// A v1 hierarchy and the controllers bound to it (empty for a named
    /// hierarchy such as name=systemd).
    V1(Vec<String>),
    V2,
}

/// One cgroup hierarchy as this process sees it mounted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    pub version: Version,
    /// The cgroup the mount shows as its top, as a path of the hierarchy
    /// relative to this process's cgroup namespace: `/` on the host.
    pub root: String,
    /// Where it is mounted.
    pub dir: PathBuf,
}

impl Hierarchy {
    /// A short name for messages and the trace: `memory`, `cpu,cpuacct`, `v2`.
    pub fn label(&self) -> String {
        match &self.version {
            Version::V1(controllers) if controllers.is_empty() => "v1".to_string(),
            Version::V1(controllers) => controllers.join(","),
            Version::V2 => "v2".to_string(),
        }
    }

    /// The path /proc/PID/cgroup shows for `relative` (e.g. isokit/web)
    /// below this mount's root.
    pub fn cgroup_path(&self, relative: &str) -> String {
        format!("{}/{relative}", self.root.trim_end_matches('/'))
    }
}

pub fn read() -> anyhow::Result<Vec<Hierarchy>> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").context("read '/proc/self/mountinfo'")?;
    Ok(parse(&text))
}

/// Every cgroup hierarchy mounted, once each: the first mount of a
/// hierarchy wins (bind mounts of it later in the table are ignored), and
/// read-only mounts are skipped (writing there would only fail).
pub fn parse(mountinfo: &str) -> Vec<Hierarchy> {
    let mut found: Vec<Hierarchy> = Vec::new();
    for line in mountinfo.lines() {
        let Some(hierarchy) = parse_line(line) else { continue };
        if !found.iter().any(|h| h.version == hierarchy.version) {
            found.push(hierarchy);
        }
    }
    found
}

/// `36 25 0:31 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory`:
/// root is field 4, mount point field 5, mount options field 6; after the
/// ` - ` separator come the filesystem type, source and super options.
fn parse_line(line: &str) -> Option<Hierarchy> {
    let (mount, fs) = line.split_once(" - ")?;
    let fields: Vec<&str> = mount.split(' ').collect();
    let fs_fields: Vec<&str> = fs.split(' ').collect();
    let (root, dir, options) = (fields.get(3)?, fields.get(4)?, fields.get(5)?);
    if options.split(',').any(|o| o == "ro") {
        return None;
    }
    let version = match *fs_fields.first()? {
        "cgroup2" => Version::V2,
        "cgroup" => {
            let super_options = fs_fields.get(2)?;
            let controllers =
                super_options.split(',').filter(|o| V1_CONTROLLERS.contains(o)).map(str::to_string).collect();
            Version::V1(controllers)
        }
        _ => return None,
    };
    Some(Hierarchy { version, root: unescape(root), dir: PathBuf::from(unescape(dir)) })
}

/// The cgroup of each hierarchy for one process, from /proc/PID/cgroup:
/// `4:memory:/isokit/web` (v1) or `0::/isokit/web` (v2).
pub fn cgroup_of(proc_cgroup: &str, version: &Version) -> Option<String> {
    proc_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = match version {
            Version::V2 => id == "0" && controllers.is_empty(),
            Version::V1(wanted) => {
                let listed: Vec<&str> = controllers.split(',').collect();
                id != "0" && !wanted.is_empty() && wanted.iter().all(|c| listed.contains(&c.as_str()))
            }
        };
        matches.then(|| path.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
90 80 0:32 /sub /mnt/memory-again rw,relatime - cgroup cgroup rw,memory
91 80 0:38 / /mnt/ro\\040view ro,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_each_hierarchy_once_with_its_controllers() {
        let found = parse(HYBRID);
        let labels: Vec<String> = found.iter().map(Hierarchy::label).collect();
        assert_eq!(labels, ["cpu", "memory", "v1", "v2"]);
        assert_eq!(found[1].dir, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(found[3].version, Version::V2);
    }

    #[test]
    fn comounted_controllers_and_mount_roots() {
        let found = parse("1 0 0:5 /lxc/c1 /cg/x\\040y rw - cgroup none rw,cpu,cpuacct,noprefix\n");
        assert_eq!(found[0].version, Version::V1(vec!["cpu".into(), "cpuacct".into()]));
        assert_eq!(found[0].dir, PathBuf::from("/cg/x y"));
        assert_eq!(found[0].cgroup_path("isokit/a"), "/lxc/c1/isokit/a");
        assert_eq!(parse("1 0 0:5 / /cg rw - cgroup2 none rw\n")[0].cgroup_path("isokit/a"), "/isokit/a");
    }

    #[test]
    fn read_only_mounts_are_skipped() {
        assert!(parse("1 0 0:5 / /cg ro - cgroup2 none rw\n").is_empty());
    }

    #[test]
    fn proc_cgroup_lines_by_version() {
        let text = "9:name=systemd:/\n4:memory:/isokit/a\n1:cpu,cpuacct:/x\n0::/isokit/a\n";
        assert_eq!(cgroup_of(text, &Version::V2).as_deref(), Some("/isokit/a"));
        assert_eq!(cgroup_of(text, &Version::V1(vec!["memory".into()])).as_deref(), Some("/isokit/a"));
        assert_eq!(cgroup_of(text, &Version::V1(vec!["cpuacct".into()])).as_deref(), Some("/x"));
        assert_eq!(cgroup_of(text, &Version::V1(vec!["pids".into()])), None);
    }
}
