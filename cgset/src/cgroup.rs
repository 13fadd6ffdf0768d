//! One cgroup, `isokit/NAME`, across the hierarchies that drive it: which
//! hierarchy gets which controller, creating the directories, undoing them.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};

use crate::files;
use crate::limits::{Limits, Wanted};
use crate::mounts::{Hierarchy, Version};
use crate::{v1, v2};

/// The directory every isokit cgroup lives in, below each hierarchy's root.
pub const PARENT: &str = "isokit";

/// A hierarchy cgset places the cgroup in, and the controllers it drives
/// there (named as that hierarchy names them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub hierarchy: Hierarchy,
    pub controllers: Vec<String>,
}

/// Choose a hierarchy for every wanted controller: v2 when the v2
/// hierarchy offers it (V2_OFFERS, its root's cgroup.controllers), else the
/// v1 hierarchy it is bound to. The v2 hierarchy, when mounted, is always
/// a target even with nothing to drive: systemd-style hybrid hosts track
/// processes there, and joining it keeps the container's own view of
/// /proc/self/cgroup (`0::/` in a cgroup namespace) consistent with the
/// v1 lines. Named v1 hierarchies (name=systemd) and v1 controllers not
/// asked for are left alone.
pub fn resolve(hierarchies: &[Hierarchy], v2_offers: &[String], wanted: &[Wanted]) -> anyhow::Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::new();
    let unified = hierarchies.iter().find(|h| h.version == Version::V2);
    if let Some(unified) = unified {
        targets.push(Target { hierarchy: unified.clone(), controllers: Vec::new() });
    }
    for want in wanted {
        let on_v2 = match (unified, &want.v2) {
            (Some(unified), Some(name)) if name == "cgroup" || v2_offers.contains(name) => Some((unified, name)),
            // v2 filters devices with a BPF program, not a controller; a
            // hybrid host's v1 devices controller is used where mounted.
            (Some(unified), Some(name)) if name == "devices" && !v1_bound(hierarchies, name) => Some((unified, name)),
            _ => None,
        };
        let (hierarchy, name) = match (on_v2, &want.v1) {
            (Some((unified, name)), _) => (unified.clone(), name.clone()),
            (_, Some(name)) => {
                let bound = hierarchies.iter().find(|h| matches!(&h.version, Version::V1(c) if c.contains(name)));
                match bound {
                    Some(hierarchy) => (hierarchy.clone(), name.clone()),
                    None => return Err(anyhow!("no cgroup hierarchy offers the {} controller", want.describe())),
                }
            }
            _ => return Err(anyhow!("no cgroup hierarchy offers the {} controller", want.describe())),
        };
        match targets.iter_mut().find(|t| t.hierarchy == hierarchy) {
            Some(target) => target.controllers.push(name),
            None => targets.push(Target { hierarchy, controllers: vec![name] }),
        }
    }
    if targets.is_empty() {
        return Err(match hierarchies.is_empty() {
            true => anyhow!("no cgroup hierarchy is mounted (none in /proc/self/mountinfo)"),
            false => anyhow!("nothing to do: no limit given, and no cgroup v2 hierarchy to join"),
        });
    }
    Ok(targets)
}

fn v1_bound(hierarchies: &[Hierarchy], controller: &str) -> bool {
    hierarchies.iter().any(|h| matches!(&h.version, Version::V1(c) if c.iter().any(|n| n == controller)))
}

/// Directories this run made, in the order made, so that a failure can
/// remove exactly them and nothing that was there before.
#[derive(Default)]
pub struct Created(Vec<PathBuf>);

impl Created {
    /// Remove what was made, deepest first. A directory that cannot be
    /// removed (a process got in meanwhile) is left and reported.
    pub fn undo(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        while let Some(dir) = self.0.pop() {
            if let Err(err) = std::fs::remove_dir(&dir) {
                left.push(format!("{}: {err}", dir.display()));
            }
        }
        left
    }

    pub fn forget(&mut self) {
        self.0.clear();
    }
}

impl Target {
    /// Make `isokit/NAME` (each level that is missing) in this hierarchy
    /// and return the leaf. v2: each parent enables the controllers for the
    /// level below first. v1 cpuset: each level gets cpus and mems.
    pub fn create(&self, name: &[String], created: &mut Created) -> anyhow::Result<PathBuf> {
        let mut dir = self.hierarchy.dir.clone();
        for component in std::iter::once(PARENT).chain(name.iter().map(String::as_str)) {
            if self.hierarchy.version == Version::V2 {
                v2::enable(&dir, &self.controllers)?;
            }
            dir.push(component);
            match std::fs::create_dir(&dir) {
                Ok(()) => created.0.push(dir.clone()),
                Err(err) if err.kind() == ErrorKind::AlreadyExists => {
                    // A cgroup made earlier is joined; anything else there is not a cgroup.
                    if !dir.symlink_metadata().map(|m| m.is_dir()).unwrap_or(false) {
                        return Err(anyhow!("'{}' exists and is not a directory", dir.display()));
                    }
                }
                Err(err) => return Err(err).with_context(|| format!("create cgroup '{}'", dir.display())),
            }
            // Whenever cpuset is bound here, asked for or only co-mounted
            // with a controller that was (e.g. `cpu,cpuset`).
            if matches!(&self.hierarchy.version, Version::V1(bound) if bound.iter().any(|c| c == "cpuset")) {
                v1::inherit_cpuset(&dir)?;
            }
        }
        Ok(dir)
    }

    /// Write the limits for this hierarchy's controllers, then the --set
    /// files that belong to them.
    pub fn apply(&self, leaf: &Path, limits: &Limits) -> anyhow::Result<Vec<String>> {
        let mut done = match self.hierarchy.version {
            Version::V2 => v2::apply(leaf, limits, &self.controllers)?,
            Version::V1(_) => v1::apply(leaf, limits, &self.controllers)?,
        };
        for (file, value) in &limits.settings {
            if self.owns_file(file) {
                files::write(&leaf.join(file), value)?;
                done.push(format!("{file}={value}"));
            }
        }
        Ok(done)
    }

    fn owns_file(&self, file: &str) -> bool {
        let want = Wanted::for_file(file);
        let name = match self.hierarchy.version {
            Version::V2 => want.v2,
            Version::V1(_) => want.v1,
        };
        name.is_some_and(|name| self.controllers.contains(&name))
    }
}

/// Move process PID into the cgroup LEAF: writing a PID to cgroup.procs
/// moves all its threads (cgroups(7); v1 and v2 alike).
pub fn move_into(leaf: &Path, pid: i32) -> anyhow::Result<()> {
    files::write(&leaf.join("cgroup.procs"), &pid.to_string())
}

/// How cgset moves itself into the cgroup LEAF of a hierarchy of VERSION.
///
/// Moving a whole process (cgroup.procs, or any PID other than 0) takes
/// the global `cgroup_threadgroup_rwsem` for writing, so that no thread of
/// the group forks, execs or exits meanwhile; taking it costs an RCU grace
/// period (percpu_down_write), 10-25 ms measured here. The kernel skips it
/// for one thread moving itself: kernel/cgroup/cgroup.c,
/// cgroup_procs_write_start(buf, threadgroup, ...) takes it only when
/// `pid || threadgroup` ("If we migrate a single thread, we don't care
/// about threadgroup stability. If the thread is `current`..."), and
/// cgroup-v1.c passes threadgroup = false from the v1 `tasks` file. So
/// "0" written to `tasks` moves the calling thread without the wait (read
/// in mainline's source and measured on this 6.18 kernel; a kernel
/// without that check takes the lock here too: as correct, only slower).
///
/// That moves one thread only: it is the whole of cgset when SINGLE_THREADED
/// (read from /proc/self/status, see `single_threaded`). Otherwise, and on
/// v2 (whose cgroup.threads moves threads only inside one threaded
/// subtree, never between domain cgroups: cgroup-v2.rst "Threads"),
/// cgroup.procs moves the whole process, so no thread is left behind.
pub fn move_self(leaf: &Path, version: &Version, pid: i32, single_threaded: bool) -> anyhow::Result<()> {
    match version {
        Version::V1(_) if single_threaded => files::write(&leaf.join("tasks"), "0"),
        _ => move_into(leaf, pid),
    }
}

/// Whether this process has one thread, from `Threads:` in
/// /proc/self/status (proc(5)). cgset starts no thread of its own, but
/// this is read, not assumed: a thread it did not know of would otherwise
/// stay in the old cgroup.
pub fn single_threaded() -> anyhow::Result<bool> {
    let path = "/proc/self/status";
    let status = std::fs::read_to_string(path).with_context(|| format!("read '{path}'"))?;
    match thread_count(&status) {
        Some(count) => Ok(count == 1),
        None => Err(anyhow!("read '{path}': no Threads: line")),
    }
}

fn thread_count(status: &str) -> Option<u32> {
    status.lines().find_map(|line| line.strip_prefix("Threads:")).and_then(|count| count.trim().parse().ok())
}

/// The directory of cgroup PATH (as /proc/PID/cgroup shows it) in HIERARCHY,
/// if it lies below the mount's root.
pub fn dir_of(hierarchy: &Hierarchy, path: &str) -> Option<PathBuf> {
    let root = hierarchy.root.trim_end_matches('/');
    let below = path.strip_prefix(root)?;
    if !below.is_empty() && !below.starts_with('/') {
        return None;
    }
    Some(hierarchy.dir.join(below.trim_start_matches('/')))
}

/// `--remove`: delete `isokit/NAME` in every hierarchy where it exists,
/// with any empty cgroups below it (deepest first, as rmdir(2) on cgroupfs
/// requires). `isokit/` itself stays: another cgset may be creating a
/// sibling in it at this moment. Returns the directories removed.
pub fn remove(hierarchies: &[Hierarchy], name: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let relative: PathBuf = std::iter::once(PARENT).chain(name.iter().map(String::as_str)).collect();
    let mut removed = Vec::new();
    let mut first_error = None;
    for hierarchy in hierarchies {
        let dir = hierarchy.dir.join(&relative);
        match dir.symlink_metadata() {
            Ok(meta) if meta.is_dir() => match remove_tree(&dir) {
                Ok(()) => removed.push(dir),
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            },
            _ => continue,
        }
    }
    if let Some(err) = first_error {
        return Err(err);
    }
    if removed.is_empty() {
        return Err(anyhow!("no cgroup '{}' in any hierarchy", relative.display()));
    }
    Ok(removed)
}

fn remove_tree(dir: &Path) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("read '{}'", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("read '{}'", dir.display()))?;
        // file_type() does not follow symlinks: only real subdirectories.
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_tree(&entry.path())?;
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        // rmdir(2) of a cgroup that still has processes fails with EBUSY.
        Err(err) if err.kind() == ErrorKind::ResourceBusy => {
            Err(anyhow!("remove cgroup '{}': Device or resource busy (processes are still in it)", dir.display()))
        }
        Err(err) => Err(err).with_context(|| format!("remove cgroup '{}'", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::fake::Tree;
    use crate::mounts;
    use crate::values::Limit;

    const HYBRID: &str = "\
32 31 0:29 / /cg/cpu rw - cgroup cgroup rw,cpu
35 31 0:32 / /cg/memory rw - cgroup cgroup rw,memory
36 31 0:33 / /cg/pids rw - cgroup cgroup rw,pids
40 31 0:37 / /cg/systemd rw - cgroup cgroup rw,name=systemd
41 31 0:38 / /cg/unified rw - cgroup2 cgroup2 rw
";

    fn labels(targets: &[Target]) -> Vec<(String, Vec<String>)> {
        targets.iter().map(|t| (t.hierarchy.label(), t.controllers.clone())).collect()
    }

    fn s(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn hybrid_uses_v1_for_what_v2_lacks_and_always_joins_v2() {
        let limits = Limits {
            memory: Some(Limit::Value(1)),
            pids: Some(Limit::Value(1)),
            settings: vec![("hugetlb.2MB.max".into(), "0".into())],
            ..Limits::default()
        };
        let targets = resolve(&mounts::parse(HYBRID), &s(&["hugetlb"]), &limits.wanted()).expect("resolve");
        assert_eq!(
            labels(&targets),
            [("v2".into(), s(&["hugetlb"])), ("memory".into(), s(&["memory"])), ("pids".into(), s(&["pids"]))]
        );
        let none = resolve(&mounts::parse(HYBRID), &[], &[]).expect("resolve");
        assert_eq!(labels(&none), [("v2".into(), vec![])]);
        let v1_only = mounts::parse("1 0 0:5 / /cg/memory rw - cgroup none rw,memory\n");
        assert!(resolve(&v1_only, &[], &[]).is_err(), "nothing to join");
    }

    #[test]
    fn pure_v2_takes_everything_and_missing_controllers_are_errors() {
        let v2 = mounts::parse("1 0 0:5 / /cg rw - cgroup2 none rw\n");
        let limits = Limits { memory: Some(Limit::Max), io_weight: Some(5), ..Limits::default() };
        let targets = resolve(&v2, &s(&["memory", "io"]), &limits.wanted()).expect("resolve");
        assert_eq!(labels(&targets), [("v2".into(), s(&["memory", "io"]))]);
        let err = resolve(&v2, &s(&["memory"]), &limits.wanted()).expect_err("no io");
        assert_eq!(err.to_string(), "no cgroup hierarchy offers the io (v1: blkio) controller");
        let blkio = Limits { settings: vec![("blkio.weight".into(), "5".into())], ..Limits::default() };
        assert!(resolve(&v2, &s(&["io"]), &blkio.wanted()).is_err());
    }

    fn hierarchy(tree: &Tree, version: Version) -> Hierarchy {
        Hierarchy { version, root: "/".into(), dir: tree.0.clone() }
    }

    #[test]
    fn v2_create_enables_controllers_down_to_the_leaf_parent() {
        let tree = Tree::new("cg-v2");
        tree.cgroup("", &[("cgroup.subtree_control", "")]);
        tree.cgroup("isokit", &[("cgroup.subtree_control", "")]);
        tree.cgroup("isokit/web", &[("cgroup.subtree_control", ""), ("memory.max", "max")]);
        let target = Target { hierarchy: hierarchy(&tree, Version::V2), controllers: s(&["memory", "pids"]) };
        let mut created = Created::default();
        let leaf = target.create(&s(&["web"]), &mut created).expect("create");
        assert_eq!(leaf, tree.0.join("isokit/web"));
        assert_eq!(tree.read("cgroup.subtree_control"), "+memory +pids");
        assert_eq!(tree.read("isokit/cgroup.subtree_control"), "+memory +pids");
        assert_eq!(tree.read("isokit/web/cgroup.subtree_control"), "", "never in the leaf");
        assert!(created.undo().is_empty(), "existing cgroups are joined, not made");
        assert!(tree.exists("isokit/web"));
    }

    #[test]
    fn a_failure_removes_exactly_what_was_made() {
        let tree = Tree::new("cg-undo");
        tree.cgroup("isokit/other", &[]);
        let target = Target { hierarchy: hierarchy(&tree, Version::V1(s(&["memory"]))), controllers: s(&["memory"]) };
        let mut created = Created::default();
        let leaf = target.create(&s(&["a", "b"]), &mut created).expect("create");
        // The fake tree has no control files: the write fails, naming the file.
        let limits = Limits { memory: Some(Limit::Value(64 << 20)), ..Limits::default() };
        let err = target.apply(&leaf, &limits).expect_err("no such file");
        let file = leaf.join("memory.limit_in_bytes");
        assert_eq!(
            chainload::describe(&err),
            format!("write '67108864' to '{}': No such file or directory", file.display())
        );
        assert!(created.undo().is_empty());
        assert!(!tree.exists("isokit/a"));
        assert!(tree.exists("isokit/other"));
    }

    #[test]
    fn a_comounted_cpuset_gets_cpus_and_mems_even_when_only_cpu_is_asked_for() {
        let tree = Tree::new("cg-comount");
        tree.cgroup("", &[("cpuset.cpus", "0-3"), ("cpuset.mems", "0")]);
        tree.cgroup("isokit", &[("cpuset.cpus", ""), ("cpuset.mems", "")]);
        tree.cgroup("isokit/a", &[("cpuset.cpus", ""), ("cpuset.mems", "")]);
        let target =
            Target { hierarchy: hierarchy(&tree, Version::V1(s(&["cpu", "cpuset"]))), controllers: s(&["cpu"]) };
        target.create(&s(&["a"]), &mut Created::default()).expect("create");
        assert_eq!(tree.read("isokit/a/cpuset.cpus"), "0-3");
        assert_eq!(tree.read("isokit/a/cpuset.mems"), "0");
    }

    #[test]
    fn set_files_go_to_the_hierarchy_of_their_controller() {
        let tree = Tree::new("cg-set");
        let leaf = tree.cgroup("isokit/a", &[("memory.soft_limit_in_bytes", "0")]);
        let limits = Limits {
            settings: vec![("memory.soft_limit_in_bytes".into(), "4096".into()), ("pids.max".into(), "3".into())],
            ..Limits::default()
        };
        let target = Target { hierarchy: hierarchy(&tree, Version::V1(s(&["memory"]))), controllers: s(&["memory"]) };
        assert_eq!(target.apply(&leaf, &limits).expect("apply"), ["memory.soft_limit_in_bytes=4096"]);
        assert_eq!(tree.read("isokit/a/memory.soft_limit_in_bytes"), "4096");
    }

    #[test]
    fn remove_takes_empty_children_and_leaves_isokit() {
        let tree = Tree::new("cg-remove");
        tree.cgroup("isokit/a/inner/deeper", &[]);
        tree.cgroup("isokit/b", &[]);
        let hierarchies = [hierarchy(&tree, Version::V2)];
        remove(&hierarchies, &s(&["a"])).expect("remove");
        assert!(!tree.exists("isokit/a") && tree.exists("isokit/b"));
        let err = remove(&hierarchies, &s(&["a"])).expect_err("gone");
        assert_eq!(err.to_string(), "no cgroup 'isokit/a' in any hierarchy");
    }

    #[test]
    fn thread_count_from_proc_status() {
        assert_eq!(thread_count("Name:\tcgset\nTgid:\t7\nThreads:\t1\nSigQ:\t0/1\n"), Some(1));
        assert_eq!(thread_count("Threads:\t12\n"), Some(12));
        assert_eq!(thread_count("Name:\tx\n"), None);
    }

    #[test]
    fn a_single_thread_moves_itself_through_v1_tasks_else_cgroup_procs() {
        let tree = Tree::new("cg-move-self");
        let leaf = tree.cgroup("a", &[("tasks", ""), ("cgroup.procs", "")]);
        let v1 = Version::V1(s(&["memory"]));
        move_self(&leaf, &v1, 4242, true).expect("move");
        assert_eq!((tree.read("a/tasks"), tree.read("a/cgroup.procs")), ("0".into(), "".into()));
        let leaf = tree.cgroup("b", &[("tasks", ""), ("cgroup.procs", "")]);
        move_self(&leaf, &v1, 4242, false).expect("move");
        assert_eq!((tree.read("b/tasks"), tree.read("b/cgroup.procs")), ("".into(), "4242".into()));
        let leaf = tree.cgroup("c", &[("cgroup.procs", "")]);
        move_self(&leaf, &Version::V2, 4242, true).expect("move");
        assert_eq!(tree.read("c/cgroup.procs"), "4242");
    }

    #[test]
    fn dirs_of_proc_cgroup_paths() {
        let h = Hierarchy { version: Version::V2, root: "/lxc/c1".into(), dir: "/cg".into() };
        assert_eq!(dir_of(&h, "/lxc/c1/isokit/a"), Some(PathBuf::from("/cg/isokit/a")));
        assert_eq!(dir_of(&h, "/lxc/c1"), Some(PathBuf::from("/cg/")));
        assert_eq!(dir_of(&h, "/lxc/c10"), None);
        assert_eq!(dir_of(&h, "/other"), None);
    }
}
