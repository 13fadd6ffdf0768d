//! Command line of ptyrun.

use std::os::fd::RawFd;
use std::path::PathBuf;

use argh::FromArgs;
use chainload::{usage, Chained};

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] [--] PROG [ARGS...]",
    help_triggers("-h", "--help"),
    example = "A shell on a terminal of the container's own, relayed to yours:\n  $ unshare-lite --mount --pid --new-session -- \\\n      pivot --next-from-host ./rootfs -- ptyrun --relay -- sh -i",
    example = "The OCI console socket, connected on the host, passed down as fd 3:\n  $ ... pivot --next-from-host ./rootfs -- ptyrun --console-fd 3 -- sh",
    note = "Run it after pivot: the terminal comes from the current root's\n/dev/pts/ptmx, which must be a devpts that the caller's terminal is not on.\nPROG gets the slave as stdio and controlling terminal, never the caller's.\nISOKIT_TRACE=1 names the terminal. The manual: man ptyrun.",
    error_code(125, "ptyrun itself failed (bad option, no devpts of the container)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found")
)]
/// Run PROG on a new terminal of the container's /dev/pts.
pub struct Options {
    /// fork PROG; relay the terminal to ptyrun's stdio (raw mode)
    #[argh(switch)]
    pub relay: bool,
    /// send the master over the unix socket on fd N, exec PROG
    #[argh(option, arg_name = "N")]
    pub console_fd: Option<RawFd>,
    /// connect to PATH (as seen here), send the master, exec PROG
    #[argh(option, arg_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the program to run, and its arguments
    #[argh(positional, greedy, arg_name = "PROG")]
    command: Vec<String>,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        self.command.len()
    }

    fn version_asked(&self) -> bool {
        self.version
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
            (false, Some(fd), None) => {
                return Err(usage(format!("--console-fd {fd}: the socket cannot be stdin, stdout or stderr")))
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(relay: bool, console_fd: Option<RawFd>, console_socket: Option<&str>, command: &[&str]) -> Options {
        Options {
            relay,
            console_fd,
            console_socket: console_socket.map(PathBuf::from),
            version: false,
            command: command.iter().map(|w| w.to_string()).collect(),
        }
    }

    #[test]
    fn exactly_one_mode() {
        assert!(matches!(options(true, None, None, &["sh"]).mode(), Ok(Mode::Relay)));
        assert!(matches!(options(false, Some(3), None, &["sh"]).mode(), Ok(Mode::ConsoleFd(3))));
        assert!(matches!(options(false, None, Some("/s"), &["sh"]).mode(), Ok(Mode::ConsoleSocket(_))));
        assert!(options(false, None, None, &["sh"]).mode().is_err());
        assert!(options(true, Some(3), None, &["sh"]).mode().is_err());
        assert!(options(false, Some(3), Some("/s"), &["sh"]).mode().is_err());
    }

    #[test]
    fn the_socket_cannot_be_stdio_and_a_command_is_needed() {
        for fd in 0..3 {
            assert!(options(false, Some(fd), None, &["sh"]).mode().is_err());
        }
        assert!(options(true, None, None, &[]).mode().is_err());
    }
}
