//! Command line of ptyrun.

use std::os::fd::RawFd;
use std::path::PathBuf;

use argh::FromArgs;
use chainload::{usage, Chained};

#[derive(FromArgs)]
#[argh(
    help_triggers("-h", "--help"),
    example = "An interactive shell on a terminal of the container's own, relayed to yours (what contain -it runs):\n  $ unshare-lite --mount --pid --new-session -- pivot ./rootfs -- ptyrun --relay -- sh -i",
    example = "The OCI console protocol, the socket connected on the host and passed down the chain as fd 3:\n  $ unshare-lite --mount --pid -- pivot ./rootfs -- ptyrun --console-fd 3 -- sh   3<>CONNECTED-SOCKET",
    note = "Usage: ptyrun --relay | --console-fd N | --console-socket PATH [--] PROG [ARGS...]\nOptions end at the first operand; PROG and everything after it are passed on untouched.\nRun it after pivot: the pseudo-terminal comes from /dev/pts/ptmx of the current root, which must be a devpts mount (statfs magic checked) that is not the one the caller's own terminal lives on: ptyrun refuses to hand the container a terminal of the host's /dev/pts. The terminal becomes PROG's controlling terminal (new session, TIOCSCTTY) and its stdin, stdout and stderr; PROG never gets an fd of the caller's terminal, so TIOCSTI typed inside lands in the container's terminal only (bubblewrap CVE-2017-5226).\n--relay forks: PROG runs on the new terminal; ptyrun stays, copies bytes between its own stdio and the terminal, puts the caller's terminal in raw mode (so Ctrl-C is a byte, and the terminal inside turns it into SIGINT for its foreground job), copies the window size at start and on SIGWINCH, passes SIGINT SIGTERM SIGQUIT SIGUSR1 SIGUSR2 on to PROG, hangs the terminal up on SIGHUP, restores the caller's terminal modes whenever it ends, and exits with PROG's status (128+N if PROG was killed by signal N). It is non-dumpable and holds only its stdio, the terminal's master side and a signalfd.\n--console-fd and --console-socket do not fork: the master side is sent over a unix socket with SCM_RIGHTS (the payload is the master's path, as runc sends it), as the OCI runtimes do for conmon and containerd, the socket is closed, and ptyrun execs PROG on the slave side. --console-socket connects to PATH as seen where ptyrun runs, i.e. inside the container after pivot: a socket on the host must be bind-mounted in, or connected before pivot and passed down as --console-fd N (what runc does: the runtime connects, the container's init sends). The fd is closed before PROG runs.\nISOKIT_TRACE=1 prints the terminal's name and the mode.",
    error_code(125, "ptyrun itself failed (bad option, no devpts of the container, the socket refused the terminal)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found"),
)]
/// Run PROG on a new pseudo-terminal of the container's /dev/pts: relayed to the caller's terminal, or handed to a console socket.
pub struct Options {
    /// fork PROG on the new terminal and relay it to ptyrun's own stdio (docker run -it)
    #[argh(switch)]
    pub relay: bool,
    /// send the terminal's master over the connected unix socket on fd N, then exec PROG on it
    #[argh(option, arg_name = "N")]
    pub console_fd: Option<RawFd>,
    /// connect to the unix socket PATH, send the terminal's master over it, then exec PROG on it
    #[argh(option, arg_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// the program to run, and its arguments
    #[argh(positional, greedy, arg_name = "PROG")]
    command: Vec<String>,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        self.command.len()
    }
}

/// Who receives the terminal's master side.
pub enum Mode {
    Relay,
    ConsoleFd(RawFd),
    ConsoleSocket(PathBuf),
}

impl Options {
    /// Exactly one mode, and a command: nothing is opened before this.
    pub fn mode(&self) -> anyhow::Result<Mode> {
        let mode = match (self.relay, self.console_fd, &self.console_socket) {
            (true, None, None) => Mode::Relay,
            (false, Some(fd), None) if fd > 2 => Mode::ConsoleFd(fd),
            (false, Some(fd), None) => return Err(usage(format!("--console-fd {fd}: the socket cannot be stdin, stdout or stderr"))),
            (false, None, Some(path)) => Mode::ConsoleSocket(path.clone()),
            (false, None, None) => return Err(usage("one of --relay, --console-fd, --console-socket is required")),
            _ => return Err(usage("--relay, --console-fd and --console-socket exclude each other")),
        };
        if self.command.is_empty() {
            return Err(usage("missing command to run"));
        }
        Ok(mode)
    }
}
