//! `--cgroup-dir DIR`: the init is born in a cgroup v2 directory
//! (clone3 with CLONE_INTO_CGROUP) instead of being moved there.
//!
//! Moving a running process (a write to cgroup.procs, what cgset does)
//! waits for an RCU grace period; a child started inside costs nothing
//! extra, and is never seen outside its cgroup, not even for an instant.
//! The directory is opened first, before any namespace is made or
//! joined, as an O_PATH, close-on-exec handle closed once the init
//! exists: PROG never holds it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, CGROUP2_SUPER_MAGIC};

pub struct CgroupDir {
    pub path: PathBuf,
    pub fd: OwnedFd,
}

impl CgroupDir {
    pub fn open(path: &Path) -> anyhow::Result<CgroupDir> {
        let shown = path.display();
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = open(path, flags, Mode::empty()).with_context(|| format!("open cgroup directory '{shown}'"))?;
        let fs = fstatfs(fd.as_fd()).with_context(|| format!("statfs '{shown}'"))?;
        if fs.filesystem_type() != CGROUP2_SUPER_MAGIC {
            // CLONE_INTO_CGROUP takes v2 directories only; a v1 hierarchy
            // gets its members through cgroup.procs (cgset --pid).
            bail!("cgroup directory '{shown}': not on cgroup2 (CLONE_INTO_CGROUP needs a cgroup v2 directory)");
        }
        Ok(CgroupDir { path: path.to_path_buf(), fd })
    }
}
