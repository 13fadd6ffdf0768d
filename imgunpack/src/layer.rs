//! Applying one layer (a tar stream) onto the root being built, as the
//! image-spec's `layer.md` says: entries in order, `.wh.NAME` deletes NAME
//! of the layers below, `.wh..wh..opq` empties its directory of them.
//!
//! Every name is made relative to the root's fd (see `inroot`): an
//! absolute name is taken as inside the root, and a name or hard-link
//! target with a `..` component is refused outright, as is a whiteout of
//! `.` or `..`. Owners are kept as stored and setuid/setgid bits only when
//! running as root (otherwise neither could be honoured honestly); device
//! nodes are left out unless asked for.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstat, futimens, makedev, mkdirat, mknodat, Mode, SFlag};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, symlinkat, Gid, Uid};
use tar::EntryType;

use crate::inroot::{self, kind, lstat, open_plain};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

pub struct Options {
    pub devices: bool,
    pub as_root: bool,
}

#[derive(Default)]
pub struct Report {
    pub entries: u64,
    pub skipped_devices: Vec<PathBuf>,
}

/// Apply the tar stream `tar` onto `root`.
pub fn apply(root: &OwnedFd, tar: impl Read, options: &Options, report: &mut Report) -> anyhow::Result<()> {
    let mut archive = tar::Archive::new(tar);
    // Names this layer made: an opaque marker hides the layers below, not
    // entries of its own layer that came before it.
    let mut made: HashSet<PathBuf> = HashSet::new();
    for entry in archive.entries().context("read the layer")? {
        let mut entry = entry.context("read the layer")?;
        let raw = entry.path().context("read an entry name")?.into_owned();
        let path = clean(&raw)?;
        apply_entry(root, &mut entry, &path, options, &mut made, report)
            .with_context(|| format!("entry '{}'", raw.display()))?;
        report.entries += 1;
    }
    Ok(())
}

/// The name relative to the root: `/`, `.` dropped; `..` refused.
pub fn clean(raw: &Path) -> anyhow::Result<PathBuf> {
    let mut path = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(name) => path.push(name),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                bail!("refusing entry '{}': a '..' in a layer path could reach outside the image", raw.display())
            }
            Component::Prefix(_) => bail!("refusing entry '{}'", raw.display()),
        }
    }
    Ok(path)
}

fn apply_entry(
    root: &OwnedFd,
    entry: &mut tar::Entry<impl Read>,
    path: &Path,
    options: &Options,
    made: &mut HashSet<PathBuf>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (Some(name), Some(dir)) = (path.file_name(), path.parent()) else {
        return Ok(()); // the root itself ("./"): it stays as made
    };
    let name = Path::new(name);
    let parent = inroot::directory(root, dir)?;
    let text = name.to_string_lossy();
    if text == OPAQUE {
        return inroot::empty(&parent, |child| made.contains(&dir.join(child)));
    }
    if let Some(hidden) = text.strip_prefix(WHITEOUT) {
        if hidden.is_empty() || hidden == "." || hidden == ".." || hidden.contains('/') {
            bail!("refusing whiteout '{}': it names no entry of its directory", path.display());
        }
        return inroot::remove(&parent, Path::new(hidden));
    }
    let header = entry.header();
    let entry_type = header.entry_type();
    let mode = Mode::from_bits_truncate(
        header.mode().context("read the mode")? & if options.as_root { 0o7777 } else { 0o777 },
    );
    let owner = (header.uid().context("read the uid")?, header.gid().context("read the gid")?);
    let mtime = header.mtime().unwrap_or(0);

    // Whatever was at the name goes first (a directory stays when a
    // directory replaces it: tar merges them). Nothing is ever opened
    // through an existing name, so a symlink there cannot redirect a write.
    let existing = lstat(&parent, name)?;
    let is_dir = existing.as_ref().is_some_and(|s| kind(s) == SFlag::S_IFDIR);
    if existing.is_some() && !(entry_type.is_dir() && is_dir) {
        inroot::remove(&parent, name)?;
    }
    match entry_type {
        EntryType::Regular | EntryType::Continuous => {
            let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let fd = openat(&parent, name, flags, Mode::from_bits_truncate(0o600)).context("create the file")?;
            let mut file = File::from(fd);
            io::copy(entry, &mut file).context("write the file")?;
            finish(&parent, name, file.as_fd(), owner, mode, options, Some(mtime))?;
        }
        EntryType::Directory => {
            if !is_dir {
                mkdirat(&parent, name, Mode::from_bits_truncate(0o700)).context("create the directory")?;
            }
            let fd = open_plain(&parent, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY).context("open the directory")?;
            finish(&parent, name, fd.as_fd(), owner, mode, options, None)?;
        }
        EntryType::Symlink => {
            // The target is stored as written: it is only ever followed
            // inside the root (here, and in the container after pivot).
            let target = entry.link_name().context("read the symlink target")?.context("a symlink without a target")?;
            symlinkat(target.as_ref(), &parent, name).context("create the symlink")?;
            chown(&parent, name, owner, options)?;
        }
        EntryType::Link => {
            let target = entry.link_name().context("read the link target")?.context("a hard link without a target")?;
            let target = clean(&target)?;
            hard_link(root, &target, &parent, name)?;
        }
        EntryType::Fifo => {
            mknodat(&parent, name, SFlag::S_IFIFO, mode, 0).context("create the fifo")?;
            chown(&parent, name, owner, options)?;
        }
        EntryType::Char | EntryType::Block if options.devices && options.as_root => {
            let kind = if entry_type == EntryType::Char { SFlag::S_IFCHR } else { SFlag::S_IFBLK };
            let major = header.device_major().ok().flatten().unwrap_or(0);
            let minor = header.device_minor().ok().flatten().unwrap_or(0);
            mknodat(&parent, name, kind, mode, makedev(major.into(), minor.into()))
                .context("create the device node")?;
            chown(&parent, name, owner, options)?;
        }
        EntryType::Char | EntryType::Block => {
            report.skipped_devices.push(path.to_path_buf());
            return Ok(());
        }
        // A pax global header carries no file.
        EntryType::XGlobalHeader => return Ok(()),
        // PAX and GNU long-name headers are consumed by the tar crate;
        // anything else (sparse files, volume labels) has no place here.
        other => bail!("unsupported entry type {other:?}"),
    }
    made.insert(path.to_path_buf());
    Ok(())
}

/// Owner first, then the mode: chown(2) clears setuid and setgid bits.
fn finish(
    parent: &OwnedFd,
    name: &Path,
    fd: impl AsFd,
    owner: (u64, u64),
    mode: Mode,
    options: &Options,
    mtime: Option<u64>,
) -> anyhow::Result<()> {
    chown(parent, name, owner, options)?;
    fchmod(&fd, mode).context("set the mode")?;
    if let Some(mtime) = mtime {
        let time = TimeSpec::new(i64::try_from(mtime).unwrap_or(0), 0);
        futimens(&fd, &time, &time).context("set the modification time")?;
    }
    Ok(())
}

fn chown(parent: &OwnedFd, name: &Path, (uid, gid): (u64, u64), options: &Options) -> anyhow::Result<()> {
    if !options.as_root {
        return Ok(()); // an unprivileged unpacker owns everything it makes
    }
    let uid = u32::try_from(uid).context("uid out of range")?;
    let gid = u32::try_from(gid).context("gid out of range")?;
    fchownat(parent, name, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)), AtFlags::AT_SYMLINK_NOFOLLOW)
        .context("set the owner")
}

/// A hard link to `target`, a name already in the root: looked up inside
/// the root (absolute names and symlinks on the way stay in it), the last
/// component not followed, and linked by fd, so no path string can make
/// it name a file outside.
fn hard_link(root: &OwnedFd, target: &Path, parent: &OwnedFd, name: &Path) -> anyhow::Result<()> {
    let fd = match inroot::open_in_root(root, target, OFlag::O_PATH | OFlag::O_NOFOLLOW) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => bail!("hard link to '{}', which is not in the image", target.display()),
        Err(err) => return Err(err).with_context(|| format!("open hard link target '{}'", target.display())),
    };
    let stat = fstat(&fd).context("stat the hard link target")?;
    if kind(&stat) == SFlag::S_IFDIR {
        bail!("hard link to directory '{}'", target.display());
    }
    linkat(&fd, "", parent, name, AtFlags::AT_EMPTY_PATH).context("create the hard link")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_in_the_root() {
        assert_eq!(clean(Path::new("/etc/passwd")).unwrap(), PathBuf::from("etc/passwd"));
        assert_eq!(clean(Path::new("./a/./b")).unwrap(), PathBuf::from("a/b"));
        assert!(clean(Path::new("a/../../b")).is_err());
        assert!(clean(Path::new("..")).is_err());
    }
}
