//! A minimal /dev on tmpfs, as Docker gives a container: the usual
//! character devices, a devpts of its own, /dev/shm and the fd links.
//!
//! The nodes are made with mknod in the new tmpfs, or, where mknod is not
//! allowed (a user namespace), bind-mounted from the host's /dev. Nothing is
//! ever taken from the image's /dev, which the tmpfs hides: a device node
//! (or a symlink named null) planted in an image must not reach the
//! container (runc CVE-2025-31133).

use std::os::fd::OwnedFd;
use std::path::Path;

use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::{open, openat, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::{makedev, mkdirat, mknodat, umask, Mode, SFlag};
use nix::unistd::symlinkat;

use crate::fresh;
use crate::mounts::Root;
use crate::resolve;
use crate::sys::{self, attr};

/// name, major, minor (devices.txt): all mode 0666, as Docker makes them.
const DEVICES: &[(&str, u64, u64)] =
    &[("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

const LINKS: &[(&str, &str)] = &[
    ("ptmx", "pts/ptmx"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

impl Root {
    pub fn mount_dev(&self) -> anyhow::Result<()> {
        let target = resolve::special_directory(&self.fd, "dev", &self.made)?;
        let dev = sys::new_filesystem("tmpfs", &[("mode", "0755"), ("size", "65536k")], attr::NOSUID | attr::NOEXEC)
            .context("mount tmpfs for /dev")?;
        sys::attach(&dev, &target).context("attach tmpfs on '/dev'")?;
        // Everything below goes inside the tmpfs just made, by name (see
        // `fresh` for why mount(2) is safe there).
        fresh::enter(&dev, "/dev")?;
        // The modes below are meant exactly; the caller's umask is put back
        // before PROG runs.
        let saved = umask(Mode::empty());
        let made = populate(&dev);
        umask(saved);
        made?;

        // Terminals belong to group tty (5), as Docker makes them, where that
        // group exists: in a user namespace that does not map gid 5 the
        // kernel refuses the option (EINVAL), and devpts is made without it.
        let devpts = "newinstance,ptmxmode=0666,mode=0620";
        let devpts_flags = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC;
        match fresh::try_mount_new("devpts", "pts", devpts_flags, &format!("{devpts},gid={TTY_GID}")) {
            Err(Errno::EINVAL) => fresh::mount_new("devpts", "pts", devpts_flags, devpts, "/dev/pts")?,
            other => other.context("mount devpts on '/dev/pts'")?,
        }
        fresh::mount_new(
            "tmpfs",
            "shm",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            "mode=1777,size=65536k",
            "/dev/shm",
        )
    }
}

const TTY_GID: u32 = 5;

fn populate(dev: &OwnedFd) -> anyhow::Result<()> {
    for &(name, major, minor) in DEVICES {
        make_device(dev, name, major, minor)?;
    }
    for (name, to) in LINKS {
        symlinkat(*to, dev, *name).with_context(|| format!("link '/dev/{name}'"))?;
    }
    mkdirat(dev, "pts", Mode::from_bits_truncate(0o755)).context("make '/dev/pts'")?;
    mkdirat(dev, "shm", Mode::from_bits_truncate(0o1777)).context("make '/dev/shm'")?;
    Ok(())
}

fn make_device(dev: &OwnedFd, name: &str, major: u64, minor: u64) -> anyhow::Result<()> {
    let mode = Mode::from_bits_truncate(0o666);
    match mknodat(dev, name, SFlag::S_IFCHR, mode, makedev(major, minor)) {
        Ok(()) => Ok(()),
        Err(Errno::EPERM) => bind_host_device(dev, name),
        Err(err) => Err(err).with_context(|| format!("mknod '/dev/{name}'")),
    }
}

/// Where mknod is refused: an empty file as mountpoint, the host's node
/// bound on it.
fn bind_host_device(dev: &OwnedFd, name: &str) -> anyhow::Result<()> {
    let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    drop(openat(dev, name, flags, Mode::from_bits_truncate(0o666)).with_context(|| format!("create '/dev/{name}'"))?);
    let host = format!("/dev/{name}");
    let source = open(host.as_str(), OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("open the host's '{host}'"))?;
    let copy = sys::clone_tree(&source, Path::new(""), false).with_context(|| format!("bind the host's '{host}'"))?;
    sys::attach(&copy, open_entry(dev, name)?).with_context(|| format!("attach the host's '{host}'"))
}

fn open_entry(dev: &OwnedFd, name: &str) -> anyhow::Result<OwnedFd> {
    resolve::optional_entry(dev, name)?.with_context(|| format!("'/dev/{name}' vanished"))
}
