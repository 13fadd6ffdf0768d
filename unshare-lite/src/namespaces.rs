//! The namespace system calls, each with the kernel rule that orders it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::Context;
use nix::mount::{mount, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::mapper::{self, Mapping};
use crate::options::{IdMap, Propagation, TimeOffsets};
use crate::procfile::write_proc;
use crate::subids::SubIds;

/// nix 0.30 has no CLONE_NEWTIME (Linux 5.6); the bit comes from libc.
fn clone_newtime() -> CloneFlags {
    CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)
}

/// Create a user namespace and map the caller's ids into it.
///
/// user_namespaces(7): a process may write a map for itself only if the map
/// is one line naming its own id, and gid_map only after "deny" was
/// written to setgroups (so that dropping groups cannot be undone). That
/// is what an unprivileged caller gets. A map written by a process that
/// holds CAP_SETGID in the parent namespace has no such limit, so for root
/// a short-lived helper forked before the unshare writes the maps from
/// outside, and setgroups stays allowed: capdrop can then still set
/// supplementary groups inside.
///
/// With the caller's subordinate ranges (--map-subids), the same helper
/// runs newuidmap and newgidmap, whatever the caller.
pub fn enter_user(map: Option<IdMap>, subids: Option<SubIds>) -> anyhow::Result<()> {
    if let Some(subids) = subids {
        return mapper::enter_user_mapped_from_outside(Mapping::SubIds(subids));
    }
    let Some(map) = map else {
        return unshare(CloneFlags::CLONE_NEWUSER).context("unshare user namespace");
    };
    if map.outside_uid.is_root() {
        return mapper::enter_user_mapped_from_outside(Mapping::Ids(map));
    }
    unshare(CloneFlags::CLONE_NEWUSER).context("unshare user namespace")?;
    write_proc("/proc/self/setgroups", "deny")?;
    mapper::write_id_maps("/proc/self", map)
}

/// Create the PID and time namespaces that this process's next child will
/// be born into; the process itself stays where it is (pid_for_children,
/// time_for_children).
///
/// time_namespaces(7): the offsets can be written only before any process
/// has entered the namespace, so they are written here, before the fork.
pub fn prepare_for_children(pid: bool, time: Option<TimeOffsets>) -> anyhow::Result<()> {
    if pid {
        unshare(CloneFlags::CLONE_NEWPID).context("unshare PID namespace")?;
    }
    if let Some(offsets) = time {
        unshare(clone_newtime()).context("unshare time namespace")?;
        let text = format!("monotonic {} 0\nboottime {} 0\n", offsets.monotonic, offsets.boottime);
        write_proc("/proc/self/timens_offsets", &text)?;
    }
    Ok(())
}

/// Without a fork, move this process itself into the time namespace made
/// for its children. setns(2) allows it for a single-threaded process.
pub fn join_time_for_children() -> anyhow::Result<()> {
    let path = "/proc/self/ns/time_for_children";
    let file = File::open(path).with_context(|| format!("open '{path}'"))?;
    setns(file, clone_newtime()).context("setns into the new time namespace")
}

/// Move this process into new mount, UTS, IPC, network and cgroup namespaces.
pub fn enter(namespaces: CloneFlags) -> anyhow::Result<()> {
    if namespaces.is_empty() {
        return Ok(());
    }
    unshare(namespaces).context("unshare")
}

/// Set / to the asked propagation in the new mount namespace, so that
/// mounts made inside do not appear on the host (and, with slave, host
/// mounts still appear inside).
pub fn set_propagation(mode: Propagation) -> anyhow::Result<()> {
    let Some(flag) = mode.flag() else { return Ok(()) };
    mount(None::<&str>, "/", None::<&str>, flag | MsFlags::MS_REC, None::<&str>)
        .with_context(|| format!("make / {mode:?} in the new mount namespace"))
}

/// Mount a fresh procfs on /proc: with a new PID namespace, it shows only
/// that namespace's processes.
pub fn mount_proc() -> anyhow::Result<()> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("proc"), "/proc", Some("proc"), flags, None::<&str>).context("mount proc on '/proc'")
}

pub fn set_hostname(name: &str) -> anyhow::Result<()> {
    nix::unistd::sethostname(name).with_context(|| format!("set hostname '{name}'"))
}

/// Write the pidfile: the PID followed by a newline, written to FILE.tmp
/// and renamed over FILE, so a reader never sees it half-written. FILE.tmp
/// is created with O_EXCL|O_NOFOLLOW, so a symlink planted there (in a
/// shared directory such as /tmp) cannot redirect the write, and a FIFO
/// cannot make the open wait for a reader. rename(2) replaces a symlink at
/// FILE itself, never what it points to.
pub fn write_pidfile(path: &Path, pid: nix::unistd::Pid) -> anyhow::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = Path::new(&temporary);
    let what = || format!("write pidfile '{}'", path.display());
    let mut file = create_temporary(temporary).with_context(what)?;
    let written = file.write_all(format!("{pid}\n").as_bytes()).context("write").and_then(|()| {
        drop(file);
        fs::rename(temporary, path).with_context(|| format!("rename '{}'", temporary.display()))
    });
    if written.is_err() {
        // Leave nothing half-done: the next launch would find it in the way.
        let _ = fs::remove_file(temporary);
    }
    written.with_context(what)
}

/// Create FILE.tmp, which must not exist. One left by a launch killed
/// between create and rename (a regular file of this user) is removed
/// and created again; anything else there is refused, and a swap made
/// after the removal makes the second O_EXCL fail.
fn create_temporary(temporary: &Path) -> anyhow::Result<File> {
    let create =
        || OpenOptions::new().write(true).create_new(true).mode(0o644).custom_flags(libc::O_NOFOLLOW).open(temporary);
    let shown = temporary.display();
    match create() {
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let stale = fs::symlink_metadata(temporary)
                .is_ok_and(|meta| meta.file_type().is_file() && meta.uid() == nix::unistd::geteuid().as_raw());
            if !stale {
                anyhow::bail!(
                    "'{shown}' exists and is not a file of this user (a symlink, a FIFO?): refusing to use it"
                );
            }
            fs::remove_file(temporary).with_context(|| format!("remove the stale '{shown}'"))?;
            create().with_context(|| format!("create '{shown}'"))
        }
        other => other.with_context(|| format!("create '{shown}'")),
    }
}
