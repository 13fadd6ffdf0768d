//! Thin wrappers for the new mount API (open_tree, move_mount, fsopen,
//! fsconfig, fsmount, mount_setattr: Linux 5.2, mount_setattr 5.12), which
//! nix 0.30 and libc's Linux targets lack.
//!
//! Why the new mount API: every mount is first made detached, held by an fd,
//! and then attached onto a destination that is itself an fd resolved inside
//! the new root (openat2 RESOLVE_IN_ROOT). No path string is ever joined onto
//! the root, so a symlink in the image cannot redirect a mount (runc
//! CVE-2021-30465). Constants from include/uapi/linux/mount.h.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;

/// Per-mount attributes (MOUNT_ATTR_*), set by fsmount and mount_setattr.
pub mod attr {
    pub const RDONLY: u64 = 0x01;
    pub const NOSUID: u64 = 0x02;
    pub const NODEV: u64 = 0x04;
    pub const NOEXEC: u64 = 0x08;
}

/// struct mount_attr, MOUNT_ATTR_SIZE_VER0.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn cstring(path: &Path) -> nix::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

fn owned(ret: libc::c_long) -> nix::Result<OwnedFd> {
    if ret < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the system call returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as libc::c_int) })
}

fn unit(ret: libc::c_long) -> nix::Result<()> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// A detached copy of the mount tree at `path` (relative to `dirfd`; an empty
/// path means `dirfd` itself): `mount --bind` (with `recursive`, `--rbind`)
/// without a destination yet.
pub fn clone_tree(dirfd: impl AsFd, path: &Path, recursive: bool) -> nix::Result<OwnedFd> {
    let c_path = cstring(path)?;
    let mut flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    if path.as_os_str().is_empty() {
        flags |= libc::AT_EMPTY_PATH as libc::c_uint;
    }
    // SAFETY: open_tree(2) reads a NUL-terminated path that outlives the call.
    owned(unsafe { libc::syscall(libc::SYS_open_tree, dirfd.as_fd().as_raw_fd(), c_path.as_ptr(), flags) })
}

/// Attach the detached mount `tree` onto the file or directory `target` (an
/// fd, typically O_PATH, resolved beforehand inside the new root).
pub fn attach(tree: impl AsFd, target: impl AsFd) -> nix::Result<()> {
    let empty = c"";
    // SAFETY: both paths are empty NUL-terminated strings; the fds are borrowed.
    unit(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_fd().as_raw_fd(),
            empty.as_ptr(),
            target.as_fd().as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
}

/// Set attributes (`attr::*`) on the mount `tree` refers to, and with
/// `recursive` on every mount below it.
pub fn set_attributes(tree: impl AsFd, attributes: u64, recursive: bool) -> nix::Result<()> {
    let settings = MountAttr { attr_set: attributes, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let empty = c"";
    // SAFETY: mount_setattr(2) reads `settings` (size passed) during the call.
    unit(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_fd().as_raw_fd(),
            empty.as_ptr(),
            flags,
            &settings as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
}

/// A new, detached filesystem instance: fsopen(fstype), one fsconfig per
/// option (`key=value`, or a bare flag key with an empty value), create, and
/// fsmount with the given attributes.
pub fn new_filesystem(fstype: &str, options: &[(&str, &str)], attributes: u64) -> nix::Result<OwnedFd> {
    let c_type = CString::new(fstype).map_err(|_| Errno::EINVAL)?;
    // SAFETY: fsopen(2) reads a NUL-terminated name during the call.
    let context = owned(unsafe { libc::syscall(libc::SYS_fsopen, c_type.as_ptr(), FSOPEN_CLOEXEC) })?;
    // "source" names the mount in mountinfo ("proc", "tmpfs"), as mount(8)
    // would; without it the kernel shows "none".
    for (key, value) in [("source", fstype)].iter().chain(options) {
        let c_key = CString::new(*key).map_err(|_| Errno::EINVAL)?;
        let c_value = CString::new(*value).map_err(|_| Errno::EINVAL)?;
        // FSCONFIG_SET_FLAG is 0: a key without a value is a flag option.
        let (command, value_ptr) =
            if value.is_empty() { (0, std::ptr::null()) } else { (FSCONFIG_SET_STRING, c_value.as_ptr()) };
        // SAFETY: fsconfig(2) reads the NUL-terminated key and value during the call.
        unit(unsafe { libc::syscall(libc::SYS_fsconfig, context.as_raw_fd(), command, c_key.as_ptr(), value_ptr, 0) })?;
    }
    // SAFETY: FSCONFIG_CMD_CREATE takes no key or value.
    unit(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            context.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    })?;
    // SAFETY: fsmount(2) takes the configured context fd and two flag words.
    owned(unsafe { libc::syscall(libc::SYS_fsmount, context.as_raw_fd(), FSMOUNT_CLOEXEC, attributes) })
}
