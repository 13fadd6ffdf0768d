//! The OCI console socket: hand the terminal's master side to whoever
//! asked for it (conmon, containerd's shim), as runc and crun do.
//!
//! One sendmsg on a connected unix stream socket, the master in an
//! SCM_RIGHTS control message and, as data, the master's path (runc sends
//! the file's name; receivers use only the fd).

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{bail, Context};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use nix::sys::stat::{fstat, SFlag};

/// Connect to the socket at `path`, as this process sees it (close-on-exec).
pub fn connect(path: &Path) -> anyhow::Result<OwnedFd> {
    let stream =
        UnixStream::connect(path).with_context(|| format!("connect to console socket '{}'", path.display()))?;
    Ok(OwnedFd::from(stream))
}

/// Take over the inherited fd `fd`, refusing anything but a socket. The
/// fd is ours from here on: it is closed before the program runs.
pub fn adopt(fd: RawFd) -> anyhow::Result<OwnedFd> {
    let owned = crate::sys::adopt_fd(fd).with_context(|| format!("--console-fd {fd}"))?;
    let stat = fstat(&owned).with_context(|| format!("stat --console-fd {fd}"))?;
    if SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFSOCK {
        bail!("--console-fd {fd}: not a socket");
    }
    Ok(owned)
}

/// Send `master` with `name` as payload, then close the socket.
pub fn send(socket: OwnedFd, master: &OwnedFd, name: &str) -> anyhow::Result<()> {
    let fds = [master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<UnixAddr>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None)
        .context("send the terminal over the console socket")?;
    drop(socket);
    Ok(())
}
