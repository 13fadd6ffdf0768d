//! Extended attributes of an open file (fsetxattr(2), flistxattr(2),
//! fremovexattr(2)), which nix lacks. Only the fd forms: a file named by a
//! path could be swapped for a symlink between a check and the call, an
//! open fd cannot.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use nix::errno::Errno;

fn c_name(name: &OsStr) -> nix::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| Errno::EINVAL)
}

/// Set attribute `name` of the open file `fd` to `value`.
pub fn fsetxattr(fd: impl AsFd, name: &OsStr, value: &[u8]) -> nix::Result<()> {
    let name = c_name(name)?;
    // SAFETY: `name` is a NUL-terminated string and `value` a live slice of
    // the length given; the kernel only reads both during the call.
    let result =
        unsafe { libc::fsetxattr(fd.as_fd().as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    Errno::result(result).map(drop)
}

/// Remove attribute `name` of the open file `fd`.
pub fn fremovexattr(fd: impl AsFd, name: &OsStr) -> nix::Result<()> {
    let name = c_name(name)?;
    // SAFETY: `name` is a NUL-terminated string the kernel only reads.
    Errno::result(unsafe { libc::fremovexattr(fd.as_fd().as_raw_fd(), name.as_ptr()) }).map(drop)
}

/// The names of the attributes of the open file `fd`.
pub fn flistxattr(fd: impl AsFd) -> nix::Result<Vec<OsString>> {
    let fd = fd.as_fd().as_raw_fd();
    loop {
        // SAFETY: a null buffer of size 0 only asks for the size needed.
        let size = Errno::result(unsafe { libc::flistxattr(fd, std::ptr::null_mut(), 0) })?;
        let mut buffer = vec![0u8; usize::try_from(size).map_err(|_| Errno::EINVAL)?];
        // SAFETY: `buffer` is writable for its whole length, given as the size.
        match Errno::result(unsafe { libc::flistxattr(fd, buffer.as_mut_ptr().cast(), buffer.len()) }) {
            Ok(filled) => {
                buffer.truncate(usize::try_from(filled).map_err(|_| Errno::EINVAL)?);
                return Ok(buffer
                    .split(|&b| b == 0)
                    .filter(|name| !name.is_empty())
                    .map(|name| OsString::from_vec(name.to_vec()))
                    .collect());
            }
            // An attribute was added between the two calls: ask again.
            Err(Errno::ERANGE) => continue,
            Err(err) => return Err(err),
        }
    }
}
