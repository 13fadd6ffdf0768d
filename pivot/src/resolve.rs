//! Resolving destinations inside the new root, never outside it.
//!
//! Every lookup starts from a directory fd of the new root with openat2(2)
//! RESOLVE_IN_ROOT: absolute symlinks and `..` in the image are scoped to
//! that root, as if it were already `/`, so `/data -> /etc` reaches the
//! image's /etc and `/data -> ../../..` stops at the image's root (runc
//! CVE-2021-30465, CVE-2024-45310). Magic links (/proc/self/root, ...) are
//! refused. Missing mountpoints are created with mkdirat relative to the fd
//! of their parent, never through a joined path string.

use std::cell::RefCell;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use chainload::inroot;
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

/// What a mountpoint must be: a directory, or a file for a file bind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File,
}

impl Kind {
    pub fn of(stat: &FileStat) -> Kind {
        if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
            Kind::Directory
        } else {
            Kind::File
        }
    }
}

/// Open `path` (absolute, as seen from inside) inside `root` as an O_PATH
/// handle, following symlinks the way the container will, but only inside it.
fn open_in_root(root: impl AsFd, path: &Path) -> nix::Result<OwnedFd> {
    inroot::open_in_root(root, path, OFlag::O_PATH)
}

/// The entry `name` of `parent` as an O_PATH handle, exactly that entry.
fn open_plain(parent: impl AsFd, name: &Path) -> nix::Result<OwnedFd> {
    inroot::open_plain(parent, name, OFlag::O_PATH)
}

/// Open (creating it and its missing parents) the mountpoint `destination`
/// inside `root`, and check it is the `kind` the mount needs. A destination
/// that resolves to the root itself, or a dangling symlink, is refused.
pub fn mountpoint(root: &OwnedFd, destination: &Path, kind: Kind, made: &Made) -> anyhow::Result<OwnedFd> {
    let shown = destination.display();
    let target = match open_in_root(root, destination) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => create(root, destination, kind, made)?,
        Err(Errno::EXDEV | Errno::ELOOP) => {
            bail!(
                "'{shown}' resolves through a magic link (/proc/PID/root and the like) or a symlink loop: refusing it"
            )
        }
        Err(err) => return Err(anyhow!(err)).context(format!("resolve '{shown}' inside the new root")),
    };
    let stat = fstat(&target).with_context(|| format!("stat '{shown}'"))?;
    let root_stat = fstat(root).context("stat the new root")?;
    if (stat.st_dev, stat.st_ino) == (root_stat.st_dev, root_stat.st_ino) {
        bail!("'{shown}' resolves to the root of the image itself (a symlink to / or ..): refusing to mount over it");
    }
    match (Kind::of(&stat), kind) {
        (Kind::Directory, Kind::File) => bail!("'{shown}' is a directory inside the new root, the source is not"),
        (Kind::File, Kind::Directory) => bail!("'{shown}' is not a directory inside the new root"),
        _ => Ok(target),
    }
}

/// Create the missing components of `destination`, one at a time: each
/// existing prefix is resolved inside the root (symlinks followed there),
/// each missing name is made with mkdirat (or an empty file for the last
/// component of a file bind) relative to its parent's fd.
fn create(root: &OwnedFd, destination: &Path, kind: Kind, made: &Made) -> anyhow::Result<OwnedFd> {
    let names: Vec<&Path> = destination
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(Path::new(name)),
            _ => None,
        })
        .collect();
    let mut parent = open_plain(root, Path::new(".")).context("open the new root")?;
    let mut prefix = PathBuf::from("/");
    for (index, name) in names.iter().enumerate() {
        prefix.push(name);
        let shown = prefix.display();
        match open_in_root(root, &prefix) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(err) => return Err(anyhow!(err)).context(format!("resolve '{shown}' inside the new root")),
        }
        // Missing after resolution: either the name is absent, or it is a
        // symlink whose target is missing. Creating a symlink's target would
        // mean creating a path the image chose; refuse that.
        match fstatat(&parent, *name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Err(Errno::ENOENT) => {}
            Ok(_) => bail!("'{shown}' is a symlink to a missing target in the image: refusing to create it"),
            Err(err) => return Err(anyhow!(err)).context(format!("stat '{shown}'")),
        }
        let last = index + 1 == names.len();
        if last && kind == Kind::File {
            let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            drop(
                openat(&parent, *name, flags, Mode::from_bits_truncate(0o644))
                    .with_context(|| format!("create mountpoint '{shown}'"))?,
            );
        } else {
            mkdirat(&parent, *name, Mode::from_bits_truncate(0o755))
                .with_context(|| format!("create mountpoint '{shown}'"))?;
        }
        made.record(&parent, name, !(last && kind == Kind::File))?;
        parent = open_plain(&parent, name).with_context(|| format!("open new mountpoint '{shown}'"))?;
    }
    Ok(parent)
}

/// /proc, /dev or /sys of the image: a directory (made if missing), never a
/// symlink or another kind of file (runc CVE-2019-19921: a /proc symlink
/// let a container's procfs land where the image chose).
pub fn special_directory(root: &OwnedFd, name: &str, made: &Made) -> anyhow::Result<OwnedFd> {
    match fstatat(root, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Err(Errno::ENOENT) => {
            mkdirat(root, name, Mode::from_bits_truncate(0o755))
                .with_context(|| format!("create '/{name}' in the new root"))?;
            made.record(root, Path::new(name), true)?;
        }
        Err(err) => return Err(anyhow!(err)).context(format!("stat '/{name}' in the new root")),
        Ok(stat) => {
            let kind = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT;
            if kind == SFlag::S_IFLNK {
                bail!("the image's /{name} is a symlink: refusing to mount {name} through it");
            }
            if kind != SFlag::S_IFDIR {
                bail!("the image's /{name} is not a directory: refusing to mount {name} on it");
            }
        }
    }
    open_plain(root, Path::new(name)).with_context(|| format!("open '/{name}' in the new root"))
}

/// The mountpoints pivot created in the image (directories, or empty
/// files for file binds), each as its parent's fd and its name, so that a
/// failure later on can remove them again: a plain bind root is the image
/// itself, and a failed start must not leave it changed.
#[derive(Default)]
pub struct Made(RefCell<Vec<(OwnedFd, PathBuf, bool)>>);

impl Made {
    fn record(&self, parent: &OwnedFd, name: &Path, directory: bool) -> anyhow::Result<()> {
        let parent = parent.try_clone().context("duplicate a directory fd")?;
        self.0.borrow_mut().push((parent, name.to_path_buf(), directory));
        Ok(())
    }

    /// Remove them, newest first (children before parents). Best effort:
    /// only called on the way to an error; a directory something was put
    /// in since is not empty and stays.
    pub fn remove_all(&self) {
        for (parent, name, directory) in self.0.borrow_mut().drain(..).rev() {
            let how = if directory { UnlinkatFlags::RemoveDir } else { UnlinkatFlags::NoRemoveDir };
            let _ = unlinkat(&parent, &name, how);
        }
    }
}

/// An entry of a filesystem we mounted ourselves (procfs, sysfs), without
/// following symlinks; None when the running kernel lacks it.
pub fn optional_entry(dir: &OwnedFd, name: &str) -> anyhow::Result<Option<OwnedFd>> {
    match open_plain(dir, Path::new(name)) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(err) => Err(anyhow!(err)).context(format!("open '{name}'")),
    }
}
