//! Applying one layer (a tar stream) onto the root being built, as the
//! image-spec's `layer.md` says: entries in order, `.wh.NAME` deletes NAME
//! of the layers below, `.wh..wh..opq` empties its directory of them.
//!
//! Every name is made relative to the root's fd (see `inroot`): an
//! absolute name is taken as inside the root, and a name or hard-link
//! target with a `..` component is refused outright, as is a whiteout of
//! `.` or `..`. Owners are kept as stored (or moved through `--map-ids`,
//! see `ids`) and setuid/setgid bits only when running as root, in a user
//! namespace or not (otherwise neither could be honoured honestly); device
//! nodes are left out unless asked for; extended attributes are applied as
//! `xattrs` says, last.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstat, futimens, makedev, mkdirat, mknodat, Mode, SFlag};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, symlinkat, Gid, Uid};
use tar::EntryType;

use crate::ids::Owners;
use crate::inroot::{self, kind, lstat, open_plain};
use crate::xattrs::{self, Verdict};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

pub struct Options {
    pub devices: bool,
    pub as_root: bool,
    /// How owners are given; None when not root (every file is ours).
    pub owners: Option<Owners>,
}

#[derive(Default)]
pub struct Report {
    pub entries: u64,
    pub skipped_devices: Vec<PathBuf>,
    /// Attributes left out: the file, the attribute, why.
    pub skipped_xattrs: Vec<(PathBuf, OsString, &'static str)>,
    /// Files given to nobody: their stored uid and gid were outside.
    pub given_to_nobody: Vec<(PathBuf, u64, u64)>,
}

/// What an entry sets on the file it makes, after making it.
struct Meta {
    owner: (u64, u64),
    mode: Mode,
    mtime: Option<u64>,
    xattrs: BTreeMap<OsString, Vec<u8>>,
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
    let xattrs = xattrs::from_pax(entry)?;
    let header = entry.header();
    let entry_type = header.entry_type();
    let mode = Mode::from_bits_truncate(
        header.mode().context("read the mode")? & if options.as_root { 0o7777 } else { 0o777 },
    );
    let owner = (header.uid().context("read the uid")?, header.gid().context("read the gid")?);
    let mtime = header.mtime().unwrap_or(0);
    let mut meta = Meta { owner, mode, mtime: Some(mtime), xattrs };
    let mut done = Done { parent: &parent, name, path, options, report };

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
            done.finish(Some(file.as_fd()), &meta, false)?;
        }
        EntryType::Directory => {
            if !is_dir {
                mkdirat(&parent, name, Mode::from_bits_truncate(0o700)).context("create the directory")?;
            }
            let fd = open_plain(&parent, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY).context("open the directory")?;
            meta.mtime = None;
            done.finish(Some(fd.as_fd()), &meta, is_dir)?;
        }
        EntryType::Symlink => {
            // The target is stored as written: it is only ever followed
            // inside the root (here, and in the container after pivot).
            let target = entry.link_name().context("read the symlink target")?.context("a symlink without a target")?;
            symlinkat(target.as_ref(), &parent, name).context("create the symlink")?;
            done.finish(None, &meta, false)?;
        }
        EntryType::Link => {
            let target = entry.link_name().context("read the link target")?.context("a hard link without a target")?;
            let target = clean(&target)?;
            hard_link(root, &target, &parent, name)?;
            // The inode is the target's: owner, mode and attributes with it.
        }
        EntryType::Fifo => {
            mknodat(&parent, name, SFlag::S_IFIFO, mode, 0).context("create the fifo")?;
            done.finish(None, &meta, false)?;
        }
        EntryType::Char | EntryType::Block if options.devices && options.as_root => {
            let kind = if entry_type == EntryType::Char { SFlag::S_IFCHR } else { SFlag::S_IFBLK };
            let major = header.device_major().ok().flatten().unwrap_or(0);
            let minor = header.device_minor().ok().flatten().unwrap_or(0);
            mknodat(&parent, name, kind, mode, makedev(major.into(), minor.into()))
                .context("create the device node")?;
            done.finish(None, &meta, false)?;
        }
        EntryType::Char | EntryType::Block => {
            done.report.skipped_devices.push(path.to_path_buf());
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

/// The file an entry made, to finish: owner, mode, attributes, time.
struct Done<'a> {
    parent: &'a OwnedFd,
    name: &'a Path,
    path: &'a Path,
    options: &'a Options,
    report: &'a mut Report,
}

impl Done<'_> {
    /// Owner first, then the mode: chown(2) clears setuid and setgid bits
    /// and file capabilities, so the mode and the attributes come after
    /// it. `fd` is the file's when it has one (a regular file or a
    /// directory); symlinks, fifos and devices get no mode of their own
    /// here (mknodat gave the fifo's) and no attributes. `merged`: the
    /// directory was there already (an earlier layer's).
    fn finish(&mut self, fd: Option<BorrowedFd<'_>>, meta: &Meta, merged: bool) -> anyhow::Result<()> {
        let mut mode = meta.mode;
        if self.chown(meta.owner)? {
            // A setuid file of an owner it no longer has means nothing good.
            mode.remove(Mode::S_ISUID | Mode::S_ISGID);
        }
        let Some(fd) = fd else { return self.set_xattrs(None, &meta.xattrs) };
        fchmod(fd, mode).context("set the mode")?;
        if merged {
            self.drop_old_xattrs(fd, &meta.xattrs)?;
        }
        self.set_xattrs(Some(fd), &meta.xattrs)?;
        if let Some(mtime) = meta.mtime {
            let time = TimeSpec::new(i64::try_from(mtime).unwrap_or(0), 0);
            futimens(fd, &time, &time).context("set the modification time")?;
        }
        Ok(())
    }

    /// Give the stored owner (through `--map-ids`); true when it fell to
    /// nobody. Not root: nothing (an unprivileged unpacker owns all it makes).
    fn chown(&mut self, (uid, gid): (u64, u64)) -> anyhow::Result<bool> {
        let Some(owners) = &self.options.owners else { return Ok(false) };
        let owner = owners.owner(uid, gid)?;
        if owner.fallback {
            self.report.given_to_nobody.push((self.path.to_path_buf(), uid, gid));
        }
        fchownat(
            self.parent,
            self.name,
            Some(Uid::from_raw(owner.uid)),
            Some(Gid::from_raw(owner.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .context("set the owner")?;
        Ok(owner.fallback)
    }

    fn skip(&mut self, name: &OsString, why: &'static str) {
        self.report.skipped_xattrs.push((self.path.to_path_buf(), name.clone(), why));
    }

    /// Set the attributes a root keeps (see `xattrs`) through the file's
    /// own fd: never a path, so nothing planted in the root can redirect
    /// them, and never on a symlink (the kernel allows user.* only on
    /// regular files and directories; a capability means nothing elsewhere).
    fn set_xattrs(&mut self, fd: Option<BorrowedFd<'_>>, wanted: &BTreeMap<OsString, Vec<u8>>) -> anyhow::Result<()> {
        for (name, value) in wanted {
            let value = match xattrs::verdict(name.as_bytes()) {
                Verdict::Skip(why) => {
                    self.skip(name, why);
                    continue;
                }
                Verdict::Keep => value.clone(),
                Verdict::Capability => {
                    let Some(owners) = &self.options.owners else {
                        self.skip(name, "file capabilities need root, or root in a user namespace");
                        continue;
                    };
                    let Some(rootid) = owners.root() else {
                        self.skip(name, "the container's root is outside the ids this unpack gives");
                        continue;
                    };
                    xattrs::capability(value, rootid).context("read security.capability")?
                }
            };
            let Some(fd) = fd else {
                self.skip(name, "only regular files and directories get attributes");
                continue;
            };
            match chainload::xattr::fsetxattr(fd, name, &value) {
                Ok(()) => {}
                Err(Errno::ENOTSUP) => self.skip(name, "the store's file system does not hold it"),
                Err(err) => return Err(err).with_context(|| format!("set attribute '{}'", name.to_string_lossy())),
            }
        }
        Ok(())
    }

    /// A directory stated again takes this layer's attributes: the ones a
    /// root keeps that an earlier layer gave it go first.
    fn drop_old_xattrs(&mut self, fd: BorrowedFd<'_>, wanted: &BTreeMap<OsString, Vec<u8>>) -> anyhow::Result<()> {
        let names = match chainload::xattr::flistxattr(fd) {
            Ok(names) => names,
            Err(Errno::ENOTSUP) => return Ok(()),
            Err(err) => return Err(err).context("list attributes"),
        };
        for name in names.iter().filter(|n| !wanted.contains_key(*n)) {
            if xattrs::verdict(name.as_bytes()) != Verdict::Keep {
                continue;
            }
            chainload::xattr::fremovexattr(fd, name)
                .with_context(|| format!("remove attribute '{}'", name.to_string_lossy()))?;
        }
        Ok(())
    }
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
