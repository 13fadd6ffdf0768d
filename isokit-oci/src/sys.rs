//! The fd calls nix offers only as unsafe raw-fd functions, each a thin
//! wrapper with its reason for being sound.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// Take ownership of an fd known only by number (handed down the chain,
/// or just returned by a dup).
pub fn adopt(fd: RawFd) -> nix::Result<OwnedFd> {
    nix::fcntl::fcntl(borrow_checked(fd)?, nix::fcntl::FcntlArg::F_GETFD)?;
    // SAFETY: the fd is open (F_GETFD succeeded) and nothing else in this
    // process owns it: the caller got it by number for its sole use.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn borrow_checked(fd: RawFd) -> nix::Result<BorrowedFd<'static>> {
    // SAFETY: F_GETFD on an arbitrary number reads flags only; a closed
    // number gives EBADF, which is the answer wanted.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the fd is open (checked just above); the borrow is used
    // at once, before anything in this single-threaded process closes it.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// dup2(fd, target): target becomes a copy of fd, inheritable across exec.
pub fn dup_to(fd: &OwnedFd, target: RawFd) -> nix::Result<()> {
    // SAFETY: dup2 only replaces `target`, a number the caller reserved for
    // the chain; fd is a live OwnedFd.
    Errno::result(unsafe { libc::dup2(fd.as_raw_fd(), target) }).map(drop)
}

/// Mark an fd close-on-exec, by number (fds inherited from the caller).
pub fn set_cloexec(fd: RawFd) {
    // SAFETY: F_SETFD changes only the flag of that fd; EBADF is harmless.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}

/// Close an fd placed for the chain, once the chain has its copy.
pub fn close_raw(fd: RawFd) {
    // SAFETY: fd was made by dup_to for the child and is owned by nothing
    // in this process.
    unsafe { libc::close(fd) };
}
