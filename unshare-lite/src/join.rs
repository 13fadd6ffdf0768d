//! `--join TYPE=PATH`: enter namespaces that already exist (setns(2)), as
//! nsenter does, so that a container can share another one's network
//! (`podman run --network container:X`, the namespaces of a pod).
//!
//! Every file is opened and checked before any namespace is entered:
//! after a setns into a mount or user namespace the same path may name
//! another file, or be out of reach, and a wrong path then fails with
//! nothing done. The files are close-on-exec and each is closed right
//! after its setns: a namespace fd reaching PROG would let it join the
//! namespace back (or the host's).

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use nix::sched::{setns, CloneFlags};
use nix::sys::statfs::{fstatfs, NSFS_MAGIC};

/// A namespace type, as /proc/PID/ns names it (and nsenter(1)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Mnt,
    Uts,
    Ipc,
    Net,
    Pid,
    Cgroup,
    User,
    Time,
}

impl Kind {
    const ALL: [Kind; 8] =
        [Kind::Mnt, Kind::Uts, Kind::Ipc, Kind::Net, Kind::Pid, Kind::Cgroup, Kind::User, Kind::Time];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Mnt => "mnt",
            Kind::Uts => "uts",
            Kind::Ipc => "ipc",
            Kind::Net => "net",
            Kind::Pid => "pid",
            Kind::Cgroup => "cgroup",
            Kind::User => "user",
            Kind::Time => "time",
        }
    }

    /// The nstype given to setns(2), so that the kernel itself refuses a
    /// file of another type. nix 0.30 has no CLONE_NEWTIME: from libc.
    fn flag(self) -> CloneFlags {
        match self {
            Kind::Mnt => CloneFlags::CLONE_NEWNS,
            Kind::Uts => CloneFlags::CLONE_NEWUTS,
            Kind::Ipc => CloneFlags::CLONE_NEWIPC,
            Kind::Net => CloneFlags::CLONE_NEWNET,
            Kind::Pid => CloneFlags::CLONE_NEWPID,
            Kind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            Kind::User => CloneFlags::CLONE_NEWUSER,
            Kind::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        }
    }
}

/// One `--join`, as parsed: nothing is opened yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Join {
    pub kind: Kind,
    pub path: PathBuf,
}

/// `TYPE=PATH`, TYPE one of /proc/PID/ns's names.
pub fn parse_join(value: &str) -> Result<Join, String> {
    let names = || Kind::ALL.map(Kind::name).join(" ");
    let Some((name, path)) = value.split_once('=') else {
        return Err(format!("--join '{value}': expected TYPE=PATH, TYPE one of {}", names()));
    };
    let Some(kind) = Kind::ALL.into_iter().find(|kind| kind.name() == name) else {
        return Err(format!("--join '{value}': unknown namespace type '{name}' ({})", names()));
    };
    if path.is_empty() {
        return Err(format!("--join '{value}': the path is empty"));
    }
    Ok(Join { kind, path: PathBuf::from(path) })
}

/// The order the other joins are made in, after user and pid (which the
/// launcher makes before it forks): nsenter's. The mount namespace comes
/// last of those that move the process itself, since joining it also
/// moves the root and the working directory to that namespace's root.
const INSIDE_ORDER: [Kind; 6] = [Kind::Cgroup, Kind::Ipc, Kind::Uts, Kind::Net, Kind::Time, Kind::Mnt];

struct Opened {
    kind: Kind,
    path: PathBuf,
    file: File,
}

/// The namespace files, open and checked, not entered yet.
pub struct Joins(Vec<Opened>);

impl Joins {
    /// Open every file and check that it is a namespace file of the type
    /// asked for, before any namespace is entered. With `foreign`, a file
    /// that is one of this process's own namespaces is refused: checked on
    /// the open file, so a PID in /proc/PID/ns that was reused between the
    /// caller's check and this open cannot land the command in the
    /// caller's namespace.
    pub fn open(joins: &[Join], foreign: bool) -> anyhow::Result<Joins> {
        let mut opened = Vec::new();
        for join in joins {
            let shown = join.path.display();
            // std opens with O_CLOEXEC: the fd never reaches PROG.
            let file = File::open(&join.path).with_context(|| format!("open namespace '{shown}'"))?;
            check_type(&file, join.kind, &join.path)?;
            let opened_one = Opened { kind: join.kind, path: join.path.clone(), file };
            if foreign && same_as_current(&opened_one)? {
                bail!("join '{shown}': that is this process's own {} namespace (--join-foreign)", join.kind.name());
            }
            opened.push(opened_one);
        }
        Ok(Joins(opened))
    }

    /// Enter the namespace of this type, if one is to be joined, and close
    /// its file.
    pub fn enter(&mut self, kind: Kind) -> anyhow::Result<()> {
        let Some(index) = self.0.iter().position(|opened| opened.kind == kind) else { return Ok(()) };
        let opened = self.0.remove(index);
        if kind == Kind::User && same_as_current(&opened)? {
            // setns(2) refuses (EINVAL) to join the user namespace the
            // process is in; being in it already is what was asked.
            return Ok(());
        }
        let Opened { kind, path, file } = opened;
        setns(file, kind.flag())
            .with_context(|| format!("join the {} namespace '{}' (setns)", kind.name(), path.display()))
    }

    /// Enter the rest, in nsenter's order; every file is closed after.
    pub fn enter_rest(mut self) -> anyhow::Result<()> {
        for kind in INSIDE_ORDER {
            self.enter(kind)?;
        }
        // user and pid were entered by the launcher; nothing is left.
        debug_assert!(self.0.is_empty());
        Ok(())
    }
}

/// A namespace file lives on nsfs, and the kernel tells its type
/// (ioctl_ns(2)): a regular file, a directory or a namespace of another
/// type is refused here, before any namespace is entered, with a plain
/// message instead of setns's bare EINVAL later.
fn check_type(file: &File, kind: Kind, path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    let fs = fstatfs(file).with_context(|| format!("statfs '{shown}'"))?;
    if fs.filesystem_type() != NSFS_MAGIC {
        bail!("join '{shown}': not a namespace file (expected /proc/PID/ns/{} or a bind mount of one)", kind.name());
    }
    let bits =
        chainload::sys::namespace_type(file.as_fd()).with_context(|| format!("ioctl NS_GET_NSTYPE '{shown}'"))?;
    if bits != kind.flag().bits() {
        let actual = Kind::ALL.into_iter().find(|other| other.flag().bits() == bits).map_or("unknown", Kind::name);
        bail!("join '{shown}': a {actual} namespace, not {}", kind.name());
    }
    Ok(())
}

/// Is the opened file the namespace of its type this process is in?
fn same_as_current(opened: &Opened) -> anyhow::Result<bool> {
    let name = opened.kind.name();
    let target = opened.file.metadata().with_context(|| format!("stat the {name} namespace file"))?;
    let own = format!("/proc/self/ns/{name}");
    let current = std::fs::metadata(&own).with_context(|| format!("stat '{own}'"))?;
    Ok(target.dev() == current.dev() && target.ino() == current.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_takes_type_equals_path() {
        assert_eq!(parse_join("net=/run/netns/x"), Ok(Join { kind: Kind::Net, path: PathBuf::from("/run/netns/x") }));
        assert_eq!(parse_join("time=/proc/1/ns/time").map(|j| j.kind), Ok(Kind::Time));
        assert!(parse_join("network=/x").is_err());
        assert!(parse_join("/proc/1/ns/net").is_err());
        assert!(parse_join("net=").is_err());
    }
}
