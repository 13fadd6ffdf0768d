//! File operations relative to a directory fd of the root being built,
//! never through a path string joined onto it.
//!
//! Parents are opened with openat2(2) RESOLVE_IN_ROOT: a symlink planted by
//! an earlier layer (`evil -> /etc`, `evil -> ../../..`) is followed as the
//! container will follow it, inside the root, so a later `evil/passwd`
//! lands in the image's /etc, never the host's (the approach of
//! pivot/src/resolve.rs). The last component is always handled without
//! following it: a name is unlinked and made afresh, never opened through.
// The two openat2 primitives are chainload's (chainload::inroot), shared
// with pivot; what is here is what only unpacking needs.

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

pub use chainload::inroot::{open_in_root, open_plain};

pub fn kind(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT
}

/// The entry `name` of `parent`, not followed; None when absent.
pub fn lstat(parent: impl AsFd, name: &Path) -> anyhow::Result<Option<FileStat>> {
    match fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(stat)),
        Err(Errno::ENOENT) => Ok(None),
        Err(err) => Err(anyhow!(err)).with_context(|| format!("stat '{}'", name.display())),
    }
}

/// The directory `dir` (relative to the root) as a directory fd, made with
/// its missing parents (mode 0755, as tar does) when absent. A component
/// that is a symlink to something missing is refused: making it would
/// create a path the image chose, maybe outside every directory listed.
pub fn directory(root: &OwnedFd, dir: &Path) -> anyhow::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
    match open_in_root(root, dir, flags) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(Errno::ENOTDIR) => bail!("'{}' is not a directory", dir.display()),
        Err(Errno::EXDEV | Errno::ELOOP) => {
            bail!("'{}' resolves through a magic link or a symlink loop", dir.display())
        }
        Err(err) => return Err(anyhow!(err)).with_context(|| format!("open '{}'", dir.display())),
    }
    let mut parent = open_plain(root, Path::new("."), flags).context("open the root")?;
    let mut prefix = PathBuf::new();
    for name in dir.iter() {
        prefix.push(name);
        match open_in_root(root, &prefix, flags) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(err) => return Err(anyhow!(err)).with_context(|| format!("open '{}'", prefix.display())),
        }
        if lstat(&parent, Path::new(name))?.is_some() {
            bail!("'{}' is a symlink to a missing target: refusing to create a directory through it", prefix.display());
        }
        mkdirat(&parent, name, Mode::from_bits_truncate(0o755))
            .with_context(|| format!("create directory '{}'", prefix.display()))?;
        parent = open_plain(&parent, Path::new(name), flags).with_context(|| format!("open '{}'", prefix.display()))?;
    }
    Ok(parent)
}

/// Remove `name` from `parent` and, for a directory, everything below it,
/// never following a symlink (a symlink is removed, not its target).
pub fn remove(parent: &OwnedFd, name: &Path) -> anyhow::Result<()> {
    let Some(stat) = lstat(parent, name)? else { return Ok(()) };
    if kind(&stat) != SFlag::S_IFDIR {
        return unlinkat(parent, name, UnlinkatFlags::NoRemoveDir)
            .with_context(|| format!("remove '{}'", name.display()));
    }
    let dir = open_plain(parent, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
        .with_context(|| format!("open '{}'", name.display()))?;
    empty(&dir, |_| false)?;
    unlinkat(parent, name, UnlinkatFlags::RemoveDir).with_context(|| format!("remove directory '{}'", name.display()))
}

/// Remove every entry of `dir` for which `keep` is false.
pub fn empty(dir: &OwnedFd, keep: impl Fn(&Path) -> bool) -> anyhow::Result<()> {
    let copy = dir.try_clone().context("duplicate a directory fd")?;
    let mut listing = Dir::from_fd(copy).context("list a directory")?;
    let mut names = Vec::new();
    for entry in listing.iter() {
        let entry = entry.context("read a directory")?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(PathBuf::from(name));
        }
    }
    for name in names.iter().filter(|n| !keep(n)) {
        remove(dir, name)?;
    }
    Ok(())
}
