//! The fds a tool inherited, and the check that nothing else leaks.
//!
//! A tool opens files on the host (directories, namespace files, netlink
//! sockets). If one of them stayed open across the final exec, the
//! container would hold a handle to the host: runc CVE-2024-21626 was a
//! leaked fd to the host's /sys/fs/cgroup. Every open in isokit is
//! close-on-exec; this check makes a mistake in that rule fail closed.

use std::os::fd::{AsRawFd, RawFd};

use nix::dir::Dir;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::stat::Mode;

/// Highest fd probed when /proc is not mounted (after `pivot --no-proc`).
const PROBE_LIMIT: RawFd = 1024;

pub(crate) struct FdSet(Vec<RawFd>);

impl FdSet {
    pub(crate) fn open_now() -> FdSet {
        FdSet(list_open_fds())
    }

    /// Open fds that were not inherited and would survive exec.
    pub(crate) fn leaks(&self) -> Vec<RawFd> {
        list_open_fds()
            .into_iter()
            .filter(|fd| !self.0.contains(fd))
            .filter(|&fd| !is_close_on_exec(fd))
            .collect()
    }
}

fn is_close_on_exec(fd: RawFd) -> bool {
    match fcntl(unsafe_borrow(fd), FcntlArg::F_GETFD) {
        Ok(bits) => FdFlag::from_bits_truncate(bits).contains(FdFlag::FD_CLOEXEC),
        Err(_) => true, // closed meanwhile: cannot leak
    }
}

fn list_open_fds() -> Vec<RawFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    match Dir::open("/proc/self/fd", flags, Mode::empty()) {
        Ok(mut dir) => {
            let own = dir.as_raw_fd();
            dir.iter()
                .filter_map(|entry| entry.ok())
                .filter_map(|entry| entry.file_name().to_str().ok()?.parse::<RawFd>().ok())
                .filter(|&fd| fd != own)
                .collect()
        }
        Err(_) => (0..PROBE_LIMIT).filter(|&fd| fcntl(unsafe_borrow(fd), FcntlArg::F_GETFD).is_ok()).collect(),
    }
}

/// nix 0.30 takes `AsFd` for fcntl; an fd number we only query is borrowed
/// for the length of the call.
fn unsafe_borrow(fd: RawFd) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: the borrowed fd is used only for F_GETFD, which fails with
    // EBADF (handled by the callers) when the number is not open.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;

    #[test]
    fn close_on_exec_files_are_not_leaks() {
        let before = FdSet::open_now();
        let _file = std::fs::File::open("/proc/self/status").expect("open");
        assert!(before.leaks().is_empty());
    }

    #[test]
    fn an_inheritable_fd_is_reported() {
        let before = FdSet::open_now();
        let fd = std::fs::File::open("/proc/self/status").expect("open").into_raw_fd();
        fcntl(unsafe_borrow(fd), FcntlArg::F_SETFD(FdFlag::empty())).expect("clear cloexec");
        assert!(before.leaks().contains(&fd));
        nix::unistd::close(fd).expect("close");
    }
}
