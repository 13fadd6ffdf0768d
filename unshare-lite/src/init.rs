//! `--pid`: the launcher that stays outside, and the PID-1 init inside.
//!
//! A process that is PID 1 of a namespace gets no signal whose action is
//! the default, so a plain program run as PID 1 ignores SIGTERM and SIGINT,
//! and nobody reaps the zombies of orphans re-parented to it. The init
//! here (like tini, or `docker run --init`) runs the command as PID 2,
//! passes on the signals it receives, reaps every child, and exits with the
//! command's status: the kernel then kills what is left in the namespace.

use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::process::ExitCode;

use anyhow::Context;
use chainload::{report, sys, Tool, EXIT_TOOL_FAILED};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};

use crate::namespaces::write_pidfile;
use crate::options::Plan;

/// Signals passed from the launcher to the init, and from it to the command.
const RELAYED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// The relayed signals and SIGCHLD, all blocked and taken with sigwait:
/// no handler runs asynchronously and none can be lost between fork and
/// the wait loop. The command gets the caller's mask back: `Tool::exec`
/// restores the mask and dispositions recorded when the tool started.
fn waited_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in RELAYED {
        set.add(signal);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Fork the init, then relay signals to it until it exits, and return its
/// status. The launcher stays in the caller's namespaces, so that later
/// steps (netns-setup) can find the outside through it.
pub fn launch(tool: &Tool, plan: &Plan, tail: &[OsString]) -> anyhow::Result<ExitCode> {
    let signals = waited_signals();
    // An ignored SIGCHLD (the caller's, inherited) would make the kernel
    // reap the children itself: no exit status, and a wait forever.
    sys::default_action(Signal::SIGCHLD).context("reset SIGCHLD")?;
    signals.thread_block().context("block signals")?;
    // The init watches this pipe to learn that the launcher died before it
    // could ask for PR_SET_PDEATHSIG (the usual getppid() check does not
    // work across a PID namespace: the parent is outside, getppid() is 0).
    let (alive_read, alive_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe")?;
    match sys::fork().context("fork the init")? {
        ForkResult::Child => {
            drop(alive_write);
            let status = run_init(tool, plan, tail, alive_read);
            std::process::exit(i32::from(status));
        }
        ForkResult::Parent { child } => {
            drop(alive_read);
            if let Some(path) = &plan.pidfile {
                if let Err(err) = write_pidfile(path, child) {
                    let _ = kill(child, Signal::SIGKILL);
                    let _ = waitpid(child, None);
                    return Err(err);
                }
            }
            tool.trace(format_args!("{}; init pid {child}", plan.describe()));
            let status = relay_until_exit(&signals, child, false)?;
            drop(alive_write);
            Ok(ExitCode::from(status))
        }
    }
}

/// PID 1: finish the namespaces, start the command as PID 2, then relay
/// and reap. Returns the exit status (errors are printed here).
fn run_init(tool: &Tool, plan: &Plan, tail: &[OsString], alive: OwnedFd) -> u8 {
    if let Err(err) = die_with_launcher(&alive) {
        return report(tool.name(), &err);
    }
    drop(alive);
    if let Err(err) = sys::set_non_dumpable().and_then(|()| crate::setup_inside(plan)) {
        return report(tool.name(), &err);
    }
    if plan.as_pid1 {
        return report(tool.name(), &new_session_then_exec(tool, plan, tail));
    }
    let command = match sys::fork() {
        Ok(ForkResult::Child) => return report(tool.name(), &new_session_then_exec(tool, plan, tail)),
        Ok(ForkResult::Parent { child }) => child,
        Err(err) => return report(tool.name(), &anyhow::Error::new(err).context("fork the command")),
    };
    // The command keeps the caller's working directory; the init must not,
    // or it would pin a host directory inside the container for its whole
    // life. pivot_root moves processes whose cwd is the old root.
    let _ = std::env::set_current_dir("/");
    match relay_until_exit(&waited_signals(), command, true) {
        Ok(status) => status,
        Err(err) => report(tool.name(), &err),
    }
}

/// With --new-session, leave the caller's session first: a process whose
/// controlling terminal is the caller's can push input into it with
/// TIOCSTI (bubblewrap CVE-2017-5226); without a controlling terminal,
/// TIOCSTI needs CAP_SYS_ADMIN and /dev/tty cannot be opened.
fn new_session_then_exec(tool: &Tool, plan: &Plan, tail: &[OsString]) -> anyhow::Error {
    if plan.new_session {
        if let Err(err) = nix::unistd::setsid() {
            return anyhow::Error::new(err).context("setsid");
        }
    }
    tool.exec(tail)
}

/// Ask for SIGKILL when the launcher dies, then check it has not died
/// already: its end of the pipe is then closed and poll reports a hang-up.
fn die_with_launcher(alive: &OwnedFd) -> anyhow::Result<()> {
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).context("prctl(PR_SET_PDEATHSIG)")?;
    let mut fds = [PollFd::new(alive.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).context("poll the launcher's pipe")?;
    let hung_up = fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLHUP));
    if hung_up {
        // Nobody is left to report to; leave as a killed process would.
        std::process::exit(i32::from(EXIT_TOOL_FAILED));
    }
    Ok(())
}

/// Wait for `child`, passing on every relayed signal. With `reap_all`
/// (the init), every other child that exits is reaped too: those are
/// orphans the kernel re-parented to PID 1. Returns the child's status,
/// 128+N if it was killed by signal N.
fn relay_until_exit(signals: &SigSet, child: Pid, reap_all: bool) -> anyhow::Result<u8> {
    let wanted = if reap_all { None } else { Some(child) };
    loop {
        let signal = signals.wait().context("sigwait")?;
        if signal != Signal::SIGCHLD {
            // The child may be gone already; its exit is collected next.
            let _ = kill(child, signal);
            continue;
        }
        loop {
            match waitpid(wanted, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == child => return Ok(code as u8),
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == child => return Ok(128 + signal as u8),
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) => continue, // an orphan reaped
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(anyhow::Error::new(err).context("waitpid")),
            }
        }
    }
}

