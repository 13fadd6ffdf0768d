//! Terminal ioctls nix has no wrapper for (tty_ioctl(4), pty(7)).

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::pty::Winsize;

fn check(ret: libc::c_int) -> nix::Result<libc::c_int> {
    Errno::result(ret)
}

/// TIOCSPTLCK 0: unlock the slave side, so that it can be opened.
pub fn unlock(master: impl AsFd) -> nix::Result<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the pointer, which is valid.
    check(unsafe { libc::ioctl(master.as_fd().as_raw_fd(), libc::TIOCSPTLCK, &unlock) }).map(drop)
}

/// TIOCGPTN: the number N of the slave, /dev/pts/N.
pub fn number(master: impl AsFd) -> nix::Result<u32> {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int through the valid pointer.
    check(unsafe { libc::ioctl(master.as_fd().as_raw_fd(), libc::TIOCGPTN, &mut n) })?;
    Ok(n)
}

/// TIOCGPTPEER (Linux 4.13): open the slave through the master itself, in
/// the master's own devpts instance, with no path lookup that a process
/// inside could redirect.
pub fn open_peer(master: impl AsFd) -> nix::Result<OwnedFd> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes the open flags as its integer argument and
    // returns a new fd, which we own from here on.
    let fd = check(unsafe { libc::ioctl(master.as_fd().as_raw_fd(), libc::TIOCGPTPEER, flags) })?;
    // SAFETY: fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// TIOCSCTTY 0: make the terminal the controlling terminal of this
/// session (the caller must be a session leader without one).
pub fn make_controlling(tty: impl AsFd) -> nix::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal).
    check(unsafe { libc::ioctl(tty.as_fd().as_raw_fd(), libc::TIOCSCTTY, 0) }).map(drop)
}

pub fn window_size(tty: impl AsFd) -> nix::Result<Winsize> {
    let mut size = Winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one struct winsize through the valid pointer.
    check(unsafe { libc::ioctl(tty.as_fd().as_raw_fd(), libc::TIOCGWINSZ, &mut size) })?;
    Ok(size)
}

pub fn set_window_size(tty: impl AsFd, size: &Winsize) -> nix::Result<()> {
    // SAFETY: TIOCSWINSZ reads one struct winsize from the valid pointer.
    check(unsafe { libc::ioctl(tty.as_fd().as_raw_fd(), libc::TIOCSWINSZ, size) }).map(drop)
}

/// Take ownership of an inherited fd number, if it is open.
pub fn adopt_fd(fd: libc::c_int) -> nix::Result<OwnedFd> {
    // SAFETY: F_GETFD only queries the number; it fails with EBADF when the
    // fd is not open.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: the fd is open, was inherited for ptyrun to consume, and
    // nothing else in the process refers to it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Close every open fd but those in `keep`: the relay lives on inside the
/// container and needs nothing it inherited beyond its stdio. The fds are
/// listed first, then closed (closing while reading the directory would
/// change it under the iteration).
pub fn close_all_but(keep: &[libc::c_int]) {
    let listed: Vec<libc::c_int> = match std::fs::read_dir("/proc/self/fd") {
        Ok(entries) => entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
        Err(_) => (0..1024).collect(),
    };
    for fd in listed.into_iter().filter(|fd| !keep.contains(fd)) {
        // SAFETY: no Rust object of the relay owns these fds (they were
        // inherited, or belonged to the read_dir iterator, now dropped);
        // closing a number that is not open only returns EBADF.
        unsafe { libc::close(fd) };
    }
}
