//! Mounts inside a filesystem pivot itself has just made (the fresh procfs,
//! sysfs, the /dev tmpfs, the /sys/fs/cgroup tmpfs), made with one mount(2)
//! each on a name relative to the working directory.
//!
//! Why this is safe where the image is not: nothing of the image can be
//! reached from there. The directory is the root of a filesystem instance
//! that did not exist a moment ago (or the host's sysfs, cloned without
//! its submounts); its entries are the kernel's or pivot's own, none is a
//! symlink the image could have planted, and no name here contains `..`.
//! So a relative path is resolved exactly as an fd walk would be, and the
//! new mount API's five calls per mount (fsopen, fsconfig, fsmount, an
//! openat2 for the target, move_mount) buy nothing: mount(2) does the same
//! in one. Every target inside the image is still resolved with openat2
//! RESOLVE_IN_ROOT and attached with move_mount (see `resolve`, `sys`).
//!
//! The working directory is left in the last filesystem entered; nothing
//! in pivot uses a relative path outside this module, and `switch_root`
//! changes into the new root before anything else runs.

use std::os::fd::AsFd;

use anyhow::{anyhow, Context};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, AT_FDCWD};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstatat, Mode, SFlag};
use nix::unistd::fchdir;

/// Change into `dir`, the root of a filesystem pivot has just made, so
/// that the functions below work on names inside it.
pub fn enter(dir: impl AsFd, shown: &str) -> anyhow::Result<()> {
    fchdir(dir).with_context(|| format!("enter '{shown}'"))
}

/// A new filesystem instance on `name`: `mount -t fstype -o data`.
pub fn mount_new(fstype: &str, name: &str, flags: MsFlags, data: &str, shown: &str) -> anyhow::Result<()> {
    try_mount_new(fstype, name, flags, data).with_context(|| format!("mount {fstype} on '{shown}'"))
}

/// As `mount_new`, with the kernel's errno, for a caller that handles one.
pub fn try_mount_new(fstype: &str, name: &str, flags: MsFlags, data: &str) -> nix::Result<()> {
    mount(Some(fstype), name, Some(fstype), flags, Some(data))
}

/// Per-mount flags every read-only cover gets.
const READ_ONLY: MsFlags =
    MsFlags::MS_RDONLY.union(MsFlags::MS_NOSUID).union(MsFlags::MS_NODEV).union(MsFlags::MS_NOEXEC);

/// Hide each existing entry of the working directory, as Docker masks
/// them: a file under the host's /dev/null (never a node from the image),
/// a directory under an empty read-only tmpfs. Entries the running kernel
/// lacks are skipped.
pub fn mask(names: &[&str], base: &str) -> anyhow::Result<()> {
    for name in names {
        let shown = format!("{base}/{name}");
        let Some(directory) = kind(name, &shown)? else { continue };
        if directory {
            mount_new("tmpfs", name, READ_ONLY, "size=4096,mode=0555", &shown)
                .with_context(|| format!("mask '{shown}'"))?;
        } else {
            mount(Some("/dev/null"), *name, None::<&str>, MsFlags::MS_BIND, None::<&str>)
                .with_context(|| format!("mask '{shown}' with the host's /dev/null"))?;
        }
    }
    Ok(())
}

/// Make each existing entry of the working directory read-only (nosuid,
/// nodev, noexec too): a bind of the entry on itself, then a remount of
/// that bind (mount(2): a bind's flags can only be changed by a remount).
pub fn read_only(names: &[&str], base: &str) -> anyhow::Result<()> {
    for name in names {
        let shown = format!("{base}/{name}");
        if kind(name, &shown)?.is_none() {
            continue;
        }
        mount(Some(*name), *name, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .with_context(|| format!("bind '{shown}'"))?;
        mount(None::<&str>, *name, None::<&str>, MsFlags::MS_REMOUNT | MsFlags::MS_BIND | READ_ONLY, None::<&str>)
            .with_context(|| format!("make '{shown}' read-only"))?;
    }
    Ok(())
}

/// Make a directory for a mountpoint.
pub fn make_directory(name: &str, mode: u32, shown: &str) -> anyhow::Result<()> {
    nix::sys::stat::mkdirat(AT_FDCWD, name, Mode::from_bits_truncate(mode)).with_context(|| format!("make '{shown}'"))
}

/// Whether `name` is a directory, None when it does not exist. Not
/// following a symlink: no entry masked or made read-only is one, and a
/// symlink is never mounted over (it would be followed).
fn kind(name: &str, shown: &str) -> anyhow::Result<Option<bool>> {
    match fstatat(AT_FDCWD, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) => {
            let kind = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT;
            if kind == SFlag::S_IFLNK {
                return Err(anyhow!("'{shown}' is a symlink: refusing to mount on it"));
            }
            Ok(Some(kind == SFlag::S_IFDIR))
        }
        Err(Errno::ENOENT) => Ok(None),
        Err(err) => Err(anyhow!(err)).context(format!("stat '{shown}'")),
    }
}
