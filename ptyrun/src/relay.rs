//! `--relay`: PROG on the new terminal, ptyrun between it and the caller's.
//!
//! The parent keeps the master side and copies bytes both ways; signals
//! are taken from a signalfd (blocked, so none is lost between fork and
//! the loop, and none interrupts a write half-way). The caller's terminal
//! is put in raw mode, so that every key (Ctrl-C, Ctrl-Z, Ctrl-\) reaches
//! the terminal inside as a byte and its line discipline signals the
//! foreground job there; a guard puts the caller's modes back whichever
//! way the relay ends.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::ExitCode;

use anyhow::Context;
use chainload::{report, sys::fork, Tool};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, SpecialCharacterIndices, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};

use crate::pty::{become_terminal_of, Pty};
use crate::sys;

/// Passed on to PROG as the init passes them on (SIGHUP is a hang-up instead).
const FORWARDED: [Signal; 5] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGQUIT, Signal::SIGUSR1, Signal::SIGUSR2];

/// The caller's terminal modes, put back when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Raw mode on stdin if it is a terminal; None if it is not.
    fn enter() -> anyhow::Result<Option<RawMode>> {
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(stdin.as_fd()) else { return Ok(None) };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).context("put the caller's terminal in raw mode")?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // TCSANOW: never wait for output a stopped terminal will not drain.
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

pub fn run(tool: &Tool, pty: Pty, tail: &[OsString]) -> anyhow::Result<ExitCode> {
    copy_window_size(&pty.master);
    let mut signals = SigSet::empty();
    for signal in FORWARDED {
        signals.add(signal);
    }
    for signal in [Signal::SIGCHLD, Signal::SIGWINCH, Signal::SIGHUP] {
        signals.add(signal);
    }
    // The caller's mask, for PROG: Command::exec does not reset the mask
    // (SigBlk seen inherited with Rust 1.95), so the child puts it back.
    let callers_mask = signals.thread_swap_mask(SigmaskHow::SIG_BLOCK).context("block signals")?;
    let signalfd =
        SignalFd::with_flags(&signals, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).context("signalfd")?;
    let raw = RawMode::enter()?;

    let child = match fork().context("fork the command")? {
        ForkResult::Child => {
            // The child must not restore the caller's modes, nor keep the
            // master or the signalfd (both are close-on-exec anyway).
            std::mem::forget(raw);
            drop(signalfd);
            let Pty { master, slave, .. } = pty;
            drop(master);
            // The caller's stderr, kept close-on-exec: an error before or
            // in the exec (PROG not found: 127) goes there, one line as
            // from every tool, not into the terminal the relay copies to
            // stdout. A successful exec closes it.
            let callers_stderr = std::io::stderr().as_fd().try_clone_to_owned().ok();
            let err = match callers_mask
                .thread_set_mask()
                .context("restore the signal mask")
                .and_then(|()| become_terminal_of(&slave))
            {
                Ok(()) => {
                    drop(slave);
                    tool.exec(tail)
                }
                Err(err) => err,
            };
            if let Some(fd) = callers_stderr {
                let _ = nix::unistd::dup2_stderr(fd);
            }
            std::process::exit(i32::from(report(tool.name(), &err)));
        }
        ForkResult::Parent { child } => child,
    };
    let Pty { master, slave, name } = pty;
    // Our copy of the slave would keep the terminal open after PROG exits.
    drop(slave);
    sys::close_all_but(&[0, 1, 2, master.as_raw_fd(), signalfd.as_raw_fd()]);
    fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).context("make the master non-blocking")?;
    tool.trace(format_args!("terminal {name}; relaying for pid {child}"));

    let status = Relay { master: Some(master), to_master: Vec::new(), stdin_open: true, stdout_ok: true }
        .until_exit(&signalfd, child)?;
    drop(raw);
    Ok(ExitCode::from(status))
}

/// TIOCGWINSZ on the caller's terminal (stdin, else stdout), TIOCSWINSZ
/// on ours: the kernel then sends SIGWINCH to the foreground job inside.
fn copy_window_size(master: &OwnedFd) {
    let size = sys::window_size(std::io::stdin().as_fd()).or_else(|_| sys::window_size(std::io::stdout().as_fd()));
    if let Ok(size) = size {
        let _ = sys::set_window_size(master, &size);
    }
}

struct Relay {
    /// None once hung up (SIGHUP).
    master: Option<OwnedFd>,
    /// Typed by the caller, not yet taken by the terminal inside.
    to_master: Vec<u8>,
    stdin_open: bool,
    stdout_ok: bool,
}

impl Relay {
    fn until_exit(&mut self, signalfd: &SignalFd, child: Pid) -> anyhow::Result<u8> {
        let mut buf = [0u8; 8192];
        let mut master_readable = true;
        loop {
            let stdin = std::io::stdin();
            let master = self.master.as_ref().map(|m| m.as_fd());
            // A hung-up fd reports POLLHUP whatever was asked: poll only the
            // fds there is something to do with, or the loop would spin.
            let want_stdin = self.stdin_open && self.to_master.is_empty() && master.is_some();
            let want_master = master.is_some() && (master_readable || !self.to_master.is_empty());
            let mut fds = vec![PollFd::new(signalfd.as_fd(), PollFlags::POLLIN)];
            if want_stdin {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            if let (true, Some(master)) = (want_master, master) {
                let mut events = PollFlags::empty();
                if master_readable {
                    events |= PollFlags::POLLIN;
                }
                if !self.to_master.is_empty() {
                    events |= PollFlags::POLLOUT;
                }
                fds.push(PollFd::new(master, events));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Err(Errno::EINTR) => continue,
                other => other.context("poll")?,
            };
            let ready = |i: usize| fds.get(i).and_then(PollFd::revents).unwrap_or(PollFlags::empty());
            let sig_ready = ready(0);
            let stdin_ready = if want_stdin { ready(1) } else { PollFlags::empty() };
            let master_ready = if want_master { ready(fds.len() - 1) } else { PollFlags::empty() };
            drop(fds);

            let input = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
            if master_ready.contains(PollFlags::POLLOUT) {
                self.write_master()?;
            }
            if master_ready.intersects(input) {
                master_readable = self.copy_out(&mut buf);
            }
            if stdin_ready.intersects(input) {
                self.read_stdin(&mut buf)?;
            }
            if sig_ready.contains(PollFlags::POLLIN) {
                if let Some(status) = self.take_signals(signalfd, child)? {
                    // What PROG wrote just before exiting is still in the
                    // master: pass it on before leaving.
                    while self.copy_out(&mut buf) {}
                    return Ok(status);
                }
            }
        }
    }

    /// Read the master once and write it to stdout. False when nothing more
    /// will come for now (EAGAIN) or ever (EIO: no slave left open).
    fn copy_out(&mut self, buf: &mut [u8]) -> bool {
        let Some(master) = &self.master else { return false };
        match nix::unistd::read(master, buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                if self.stdout_ok {
                    let mut out = std::io::stdout().lock();
                    // A caller that closed its end gets no more output; the
                    // relay goes on until PROG exits.
                    self.stdout_ok = out.write_all(&buf[..n]).and_then(|()| out.flush()).is_ok();
                }
                true
            }
        }
    }

    fn read_stdin(&mut self, buf: &mut [u8]) -> anyhow::Result<()> {
        match nix::unistd::read(std::io::stdin().as_fd(), buf) {
            Ok(0) | Err(Errno::EIO) => {
                // The caller's input ended: end the input inside as a
                // terminal does, with its end-of-file character.
                self.stdin_open = false;
                if let Some(master) = &self.master {
                    if let Ok(modes) = tcgetattr(master) {
                        self.to_master.push(modes.control_chars[SpecialCharacterIndices::VEOF as usize]);
                    }
                }
            }
            Ok(n) => self.to_master.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(err) => return Err(anyhow::Error::new(err).context("read stdin")),
        }
        self.write_master()
    }

    fn write_master(&mut self) -> anyhow::Result<()> {
        let Some(master) = &self.master else {
            self.to_master.clear();
            return Ok(());
        };
        match nix::unistd::write(master, &self.to_master) {
            Ok(n) => {
                self.to_master.drain(..n);
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            // EIO: nobody inside has the terminal open any more.
            Err(_) => self.to_master.clear(),
        }
        Ok(())
    }

    /// Handle pending signals; Some(status) once PROG has exited.
    fn take_signals(&mut self, signalfd: &SignalFd, child: Pid) -> anyhow::Result<Option<u8>> {
        let mut exited = None;
        while let Some(info) = signalfd.read_signal().context("read signalfd")? {
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else { continue };
            match signal {
                Signal::SIGCHLD => exited = exited.or(reap(child)?),
                Signal::SIGWINCH => {
                    if let Some(master) = &self.master {
                        copy_window_size(master);
                    }
                }
                // The caller's terminal went away: hang ours up too, which
                // sends SIGHUP to the session inside as a real hang-up does.
                Signal::SIGHUP => self.master = None,
                other => {
                    let _ = kill(child, other);
                }
            }
        }
        Ok(exited)
    }
}

/// The status of PROG if it has exited: its code, or 128+N if killed by N.
fn reap(child: Pid) -> anyhow::Result<Option<u8>> {
    match waitpid(child, Some(WaitPidFlag::WNOHANG)).context("wait for the command")? {
        WaitStatus::Exited(_, code) => Ok(Some(code as u8)),
        WaitStatus::Signaled(_, signal, _) => Ok(Some(128 + signal as u8)),
        _ => Ok(None),
    }
}
