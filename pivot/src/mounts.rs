//! The mounts that make the new root, each made detached and attached onto
//! an fd resolved inside the new root (see `resolve` and `sys`).

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{fstat, Mode};

use crate::fresh;
use crate::options::{Bind, RootKind, Tmpfs};
use crate::resolve::{self, Kind};
use crate::sys::{self, attr};

/// Paths of /proc that Docker hides (runc's default maskedPaths): a file is
/// covered with the host's /dev/null, a directory with an empty read-only
/// tmpfs. Paths the running kernel lacks are skipped.
const PROC_MASKED: &[&str] = &[
    "acpi",
    "asound",
    "interrupts",
    "kcore",
    "keys",
    "latency_stats",
    "timer_list",
    "timer_stats",
    "sched_debug",
    "scsi",
];
/// Paths of /proc that stay visible but read-only (runc's readonlyPaths).
const PROC_READ_ONLY: &[&str] = &["bus", "fs", "irq", "sys", "sysrq-trigger"];
/// Paths of /sys that Docker hides.
const SYS_MASKED: &[&str] = &["firmware", "devices/virtual/powercap"];

/// The root mount, attached on NEWROOT in this (private) mount namespace.
pub struct Root {
    /// fd of the root of the new root's mount: every lookup starts here.
    pub fd: OwnedFd,
    /// Where it is attached, to detach it again if a later step fails.
    attached_at: PathBuf,
    /// The overlay work directory pivot made, removed if a later step fails.
    made_workdir: Option<PathBuf>,
    /// The mountpoints pivot made in the root, removed if a later step fails.
    pub made: resolve::Made,
}

/// The new root is nodev: a device node in the image (a tarball unpacked
/// as root keeps them) or one made in the root's tree cannot be opened.
/// Only pivot's own /dev tmpfs holds usable nodes.
const ROOT_ATTRIBUTES: u64 = attr::NODEV;

/// What `make_root` needs to know about NEWROOT on the host.
pub struct Image {
    pub path: PathBuf,
    dir: OwnedFd,
}

impl Image {
    pub fn open(path: &Path) -> anyhow::Result<Image> {
        let path = fs::canonicalize(path).with_context(|| format!("new root '{}'", path.display()))?;
        let dir = open(&path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .with_context(|| format!("new root '{}'", path.display()))?;
        Ok(Image { path, dir })
    }
}

/// Make every mount below `/` in this namespace private, so that nothing
/// mounted from here on propagates back to the namespace it was copied from
/// (pivot_root(2) also refuses a shared parent mount).
pub fn make_private() -> anyhow::Result<()> {
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_PRIVATE | MsFlags::MS_REC, None::<&str>)
        .context("make / private in this mount namespace")
}

/// The root: NEWROOT bound on itself (recursively, as runc does), or an
/// overlay whose lower layer is NEWROOT, attached on NEWROOT.
pub fn make_root(image: &Image, kind: &RootKind) -> anyhow::Result<Root> {
    let shown = image.path.display();
    let mut made_workdir = None;
    let tree = match kind {
        RootKind::Bind => {
            let tree =
                sys::clone_tree(&image.dir, Path::new(""), true).with_context(|| format!("bind new root '{shown}'"))?;
            sys::set_attributes(&tree, ROOT_ATTRIBUTES, true)
                .with_context(|| format!("make new root '{shown}' nodev"))?;
            tree
        }
        RootKind::Overlay(upper) => {
            let (upper, work, made) = overlay_dirs(upper)?;
            made_workdir = made.then(|| work.clone());
            overlay(&image.path, &upper, &work).inspect_err(|_| remove_workdir(made_workdir.as_deref()))?
        }
        RootKind::TmpOverlay => {
            let scratch = sys::new_filesystem("tmpfs", &[("mode", "0755")], ROOT_ATTRIBUTES)
                .context("mount a tmpfs for --tmp-overlay")?;
            for name in ["upper", "work"] {
                nix::sys::stat::mkdirat(&scratch, name, Mode::from_bits_truncate(0o755))
                    .context("make the --tmp-overlay directories")?;
            }
            // The scratch tmpfs is detached: overlayfs reaches it through
            // this process's fd, and keeps it alive after the fd is closed.
            let base = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&scratch));
            overlay(&image.path, Path::new(&format!("{base}/upper")), Path::new(&format!("{base}/work")))?
        }
    };
    if let Err(err) = sys::attach(&tree, &image.dir) {
        remove_workdir(made_workdir.as_deref());
        return Err(anyhow!(err)).context(format!("attach the new root on '{shown}'"));
    }
    Ok(Root { fd: tree, attached_at: image.path.clone(), made_workdir, made: resolve::Made::default() })
}

/// UPPERDIR (must exist) and its work directory, the sibling UPPERDIR.work
/// (overlayfs needs an empty directory on the same filesystem), made if
/// missing. The bool says whether pivot made it.
fn overlay_dirs(upper: &Path) -> anyhow::Result<(PathBuf, PathBuf, bool)> {
    let upper = fs::canonicalize(upper).with_context(|| format!("--overlay '{}'", upper.display()))?;
    if !upper.is_dir() {
        bail!("--overlay '{}': not a directory", upper.display());
    }
    let mut work = upper.clone().into_os_string();
    work.push(".work");
    let work = PathBuf::from(work);
    match fs::create_dir(&work) {
        Ok(()) => Ok((upper, work, true)),
        // symlink_metadata: a symlink planted at UPPERDIR.work would have
        // overlayfs make and use its work/ wherever the link points.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => match fs::symlink_metadata(&work) {
            Ok(meta) if meta.is_dir() => Ok((upper, work, false)),
            Ok(meta) if meta.file_type().is_symlink() => {
                bail!("overlay work directory '{}' is a symlink: refusing to follow it", work.display())
            }
            _ => bail!("overlay work directory '{}' exists and is not a directory", work.display()),
        },
        Err(err) => Err(anyhow!(err)).context(format!("make overlay work directory '{}'", work.display())),
    }
}

fn overlay(lower: &Path, upper: &Path, work: &Path) -> anyhow::Result<OwnedFd> {
    let text = |path: &Path| -> anyhow::Result<String> {
        let text = path.to_str().ok_or_else(|| anyhow!("overlay path '{}' is not UTF-8", path.display()))?;
        // overlayfs splits layer lists on ':' and treats '\' as an escape.
        if text.contains([':', '\\', ',']) {
            bail!("overlay path '{text}' contains ':', ',' or '\\', which overlayfs cannot take");
        }
        Ok(text.to_string())
    };
    let (lower, upper, work) = (text(lower)?, text(upper)?, text(work)?);
    sys::new_filesystem("overlay", &[("lowerdir", &lower), ("upperdir", &upper), ("workdir", &work)], ROOT_ATTRIBUTES)
        .with_context(|| format!("mount overlay (lower '{lower}', upper '{upper}')"))
}

fn remove_workdir(workdir: Option<&Path>) {
    if let Some(dir) = workdir {
        let _ = fs::remove_dir_all(dir);
    }
}

impl Root {
    /// Undo: detach the root and everything mounted below it, remove the
    /// work directory pivot made. Used when a later step fails.
    pub fn undo(&self) {
        // Detached first: the mounts on the made mountpoints go with it,
        // and the fds still reach the directories to remove them.
        let _ = umount2(&self.attached_at, MntFlags::MNT_DETACH);
        self.made.remove_all();
        remove_workdir(self.made_workdir.as_deref());
    }

    /// A fresh procfs on /proc, with Docker's masked and read-only paths.
    pub fn mount_proc(&self) -> anyhow::Result<()> {
        let target = resolve::special_directory(&self.fd, "proc", &self.made)?;
        let proc = sys::new_filesystem("proc", &[], attr::NOSUID | attr::NODEV | attr::NOEXEC).context("mount proc")?;
        sys::attach(&proc, &target).context("attach proc on '/proc'")?;
        // Inside the procfs just made: see `fresh` for why mount(2) is safe there.
        fresh::enter(&proc, "/proc")?;
        fresh::mask(PROC_MASKED, "/proc")?;
        fresh::read_only(PROC_READ_ONLY, "/proc")
    }

    /// /sys read-only: a fresh sysfs when this process has a network
    /// namespace of its own (sysfs shows the mounter's network devices),
    /// else a read-only bind of the host's /sys (without its submounts).
    pub fn mount_sys(&self, new_net_namespace: bool, cgroup: bool) -> anyhow::Result<()> {
        let target = resolve::special_directory(&self.fd, "sys", &self.made)?;
        let flags = attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC;
        let sys_fs = if new_net_namespace {
            sys::new_filesystem("sysfs", &[], flags).context("mount sysfs")?
        } else {
            let copy = sys::clone_tree(open_host("/sys")?, Path::new(""), false).context("bind the host's /sys")?;
            sys::set_attributes(&copy, flags, false).context("make /sys read-only")?;
            copy
        };
        sys::attach(&sys_fs, &target).context("attach sysfs on '/sys'")?;
        // A sysfs just made, or the host's cloned without its submounts:
        // nothing of the image is reachable there (see `fresh`).
        fresh::enter(&sys_fs, "/sys")?;
        fresh::mask(SYS_MASKED, "/sys")?;
        if cgroup {
            mount_cgroups(&sys_fs)?;
        }
        Ok(())
    }

    /// `--tmpfs DST[:SIZE]`: nosuid, nodev, mode 1777.
    pub fn mount_tmpfs(&self, tmpfs: &Tmpfs) -> anyhow::Result<()> {
        let shown = tmpfs.destination.display();
        let target = resolve::mountpoint(&self.fd, &tmpfs.destination, Kind::Directory, &self.made)?;
        let size = tmpfs.size.map(|bytes| bytes.to_string());
        let mut options = vec![("mode", "1777")];
        if let Some(size) = &size {
            options.push(("size", size));
        }
        let fs = sys::new_filesystem("tmpfs", &options, attr::NOSUID | attr::NODEV)
            .with_context(|| format!("mount tmpfs on '{shown}'"))?;
        sys::attach(&fs, &target).with_context(|| format!("attach tmpfs on '{shown}'"))
    }

    /// `--bind`: the prepared copy of SRC attached on DST inside.
    pub fn mount_bind(&self, volume: &Volume) -> anyhow::Result<()> {
        let shown = volume.bind.destination.display();
        let target = resolve::mountpoint(&self.fd, &volume.bind.destination, volume.kind, &self.made)?;
        sys::attach(&volume.tree, &target)
            .with_context(|| format!("bind '{}' on '{shown}'", volume.bind.source.display()))
    }

    /// `--ro`: the root mount alone read-only; volumes keep their own mode.
    pub fn make_read_only(&self) -> anyhow::Result<()> {
        sys::set_attributes(&self.fd, attr::RDONLY, false).context("make the new root read-only")
    }
}

/// A `--bind` source, opened on the host before anything is mounted so that
/// a missing source fails with nothing made.
pub struct Volume {
    bind: Bind,
    kind: Kind,
    tree: OwnedFd,
}

impl Volume {
    pub fn prepare(bind: &Bind) -> anyhow::Result<Volume> {
        let shown = bind.source.display();
        let source = open_host(&bind.source)?;
        let kind = Kind::of(&fstat(&source).with_context(|| format!("stat '{shown}'"))?);
        let tree = sys::clone_tree(&source, Path::new(""), true).with_context(|| format!("bind '{shown}'"))?;
        if bind.read_only {
            // Recursive: a submount of SRC must not stay writable below a
            // read-only volume.
            sys::set_attributes(&tree, attr::RDONLY, true).with_context(|| format!("make '{shown}' read-only"))?;
        }
        Ok(Volume { bind: bind.clone(), kind, tree })
    }
}

fn open_host(path: impl AsRef<Path>) -> anyhow::Result<OwnedFd> {
    let path = path.as_ref();
    open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).with_context(|| format!("open '{}'", path.display()))
}

/// The container's own cgroups, read-only, on /sys/fs/cgroup, as Docker
/// mounts them: programs size themselves from memory.max, cpu.max or
/// memory.limit_in_bytes there. Only called in a cgroup namespace of its
/// own, whose root is the container's cgroup: a mount made there shows
/// that subtree and nothing above it. The hierarchies are those the
/// process is in (/proc/self/cgroup): on a pure v2 host one cgroup2; on
/// a v1 or hybrid host a tmpfs holding one v1 mount per hierarchy, named
/// as the host names them, and `unified` for the v2 one, made read-only
/// once filled.
fn mount_cgroups(sys_fs: &OwnedFd) -> anyhow::Result<()> {
    let Some(target) = resolve::optional_entry(sys_fs, "fs/cgroup")? else { return Ok(()) };
    let text = fs::read_to_string("/proc/self/cgroup").context("read '/proc/self/cgroup'")?;
    let hierarchies = cgroup_hierarchies(&text);
    let flags = attr::RDONLY | attr::NOSUID | attr::NODEV | attr::NOEXEC;
    // In a user namespace the kernel refuses v1 hierarchies, and cgroup2
    // unless the cgroup namespace belongs to it: EPERM, and then nothing
    // is attached (the tmpfs below is attached last) and /sys/fs/cgroup
    // stays empty, as without a cgroup namespace.
    let permitted = |result: nix::Result<OwnedFd>| match result {
        Err(Errno::EPERM) => Ok(None),
        other => other.map(Some),
    };
    if hierarchies.iter().all(|controllers| controllers.is_empty()) {
        let Some(cgroup2) = permitted(sys::new_filesystem("cgroup2", &[], flags)).context("mount cgroup2")? else {
            return Ok(());
        };
        return sys::attach(&cgroup2, &target).context("attach cgroup2 on '/sys/fs/cgroup'");
    }
    let dir =
        sys::new_filesystem("tmpfs", &[("mode", "0755"), ("size", "64k")], attr::NOSUID | attr::NODEV | attr::NOEXEC)
            .context("mount a tmpfs for /sys/fs/cgroup")?;
    // Attached first: mount(2) mounts only inside this namespace's tree.
    // Then filled by name inside the tmpfs just made (see `fresh`), one
    // mkdir and one mount(2) per hierarchy, and made read-only last.
    sys::attach(&dir, &target).context("attach tmpfs on '/sys/fs/cgroup'")?;
    fresh::enter(&dir, "/sys/fs/cgroup")?;
    let read_only = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    for controllers in &hierarchies {
        let (name, fstype, data) = if controllers.is_empty() {
            ("unified".to_string(), "cgroup2", String::new())
        } else {
            // name=systemd and the like: a named hierarchy without
            // controllers; the option list is the controller list.
            (controllers.replace("name=", ""), "cgroup", controllers.clone())
        };
        let shown = format!("/sys/fs/cgroup/{name}");
        fresh::make_directory(&name, 0o755, &shown)?;
        match mount(Some(fstype), name.as_str(), Some(fstype), read_only, Some(data.as_str())) {
            Ok(()) => {}
            // See above: refused in a user namespace. The tmpfs, the
            // working directory, is detached with whatever was mounted on
            // it, so /sys/fs/cgroup stays empty.
            Err(Errno::EPERM) => {
                return umount2(".", MntFlags::MNT_DETACH).context("detach the tmpfs on '/sys/fs/cgroup'");
            }
            Err(err) => return Err(anyhow!(err)).context(format!("mount the cgroup hierarchy '{name}'")),
        }
    }
    sys::set_attributes(&dir, flags, false).context("make /sys/fs/cgroup read-only")
}

/// The controller lists of the hierarchies in /proc/PID/cgroup
/// (`ID:CONTROLLERS:PATH`), "" for the v2 one; each once.
fn cgroup_hierarchies(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(_path)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if !found.iter().any(|known| known == controllers) {
            found.push(controllers.to_string());
        }
    }
    found
}

#[cfg(test)]
mod cgroup_tests {
    use super::*;

    #[test]
    fn hierarchies_come_from_proc_self_cgroup() {
        let hybrid = "9:name=systemd:/\n4:memory:/a/b\n2:cpu,cpuacct:/\n0::/\n";
        assert_eq!(cgroup_hierarchies(hybrid), ["name=systemd", "memory", "cpu,cpuacct", ""]);
        assert_eq!(cgroup_hierarchies("0::/x:y\n"), [""]);
    }
}
