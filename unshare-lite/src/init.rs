//! `--pid`: the launcher that stays outside, and the PID-1 init inside.
//!
//! A process that is PID 1 of a namespace gets no signal whose action is
//! the default, so a plain program run as PID 1 ignores SIGTERM and SIGINT,
//! and nobody reaps the zombies of orphans re-parented to it. The init
//! here (like tini, or `docker run --init`) runs the command as PID 2,
//! passes on the signals it receives, reaps every child, and exits with the
//! command's status: the kernel then kills what is left in the namespace.

use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::process::ExitCode;

use anyhow::Context;
use chainload::creds::{self, RawSets};
use chainload::{report, sys, Tool, EXIT_TOOL_FAILED};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};

use crate::cgroupdir::CgroupDir;
use crate::join::Joins;
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

/// What the launcher holds for the init: the namespace files to join,
/// the cgroup to start it in, and --detach-init's fd.
pub struct Inherited {
    pub joins: Joins,
    pub cgroup: Option<CgroupDir>,
    pub leave: Option<OwnedFd>,
}

/// Fork the init, then relay signals to it until it exits (or, with
/// --detach-init, until told to leave), and return its status. The
/// launcher stays in the caller's namespaces, so that later steps
/// (netns-setup, pivot) can find the outside through it.
pub fn launch(tool: &Tool, plan: &Plan, inherited: Inherited, tail: &[OsString]) -> anyhow::Result<ExitCode> {
    let Inherited { joins, cgroup, leave } = inherited;
    let signals = waited_signals();
    // An ignored SIGCHLD (the caller's, inherited) would make the kernel
    // reap the children itself: no exit status, and a wait forever.
    sys::default_action(Signal::SIGCHLD).context("reset SIGCHLD")?;
    signals.thread_block().context("block signals")?;
    // The init waits on this pipe before anything else: one byte means the
    // launcher is done (the pidfile is written), so the command never runs
    // before its pidfile exists; end of file means the launcher died, and
    // catches a death before PR_SET_PDEATHSIG was asked for (the usual
    // getppid() check does not work across a PID namespace: the parent is
    // outside, getppid() is 0).
    let (alive_read, alive_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe")?;
    let forked = match &cgroup {
        Some(dir) => sys::fork_into_cgroup(dir.fd.as_fd())
            .with_context(|| format!("start the init in cgroup '{}' (clone3 CLONE_INTO_CGROUP)", dir.path.display())),
        None => sys::fork().context("fork the init"),
    };
    // The init is in its cgroup now (or was not made): the handle on the
    // host's cgroup tree is closed on both sides before anything else.
    let cgroup_shown = cgroup.map(|dir| dir.path);
    match forked? {
        ForkResult::Child => {
            // The leave pipe is the launcher's business, and a host fd.
            drop((alive_write, leave));
            let status = run_init(tool, plan, joins, tail, alive_read);
            sys::exit_now(status);
        }
        ForkResult::Parent { child } => {
            // The init joins the namespaces; the launcher stays outside
            // and holds no handle on them.
            drop((alive_read, joins));
            if let Some(path) = &plan.pidfile {
                if let Err(err) = write_pidfile(path, child) {
                    let _ = kill(child, Signal::SIGKILL);
                    let _ = waitpid(child, None);
                    return Err(err);
                }
            }
            if let Err(err) = nix::unistd::write(&alive_write, b"g") {
                let _ = kill(child, Signal::SIGKILL);
                let _ = waitpid(child, None);
                return Err(anyhow::Error::new(err).context("start the init"));
            }
            let leaving = if leave.is_some() { "; the launcher leaves when told" } else { "" };
            match &cgroup_shown {
                Some(dir) => tool.trace(format_args!(
                    "{}; init pid {child} in cgroup {}{leaving}",
                    plan.describe(),
                    dir.display()
                )),
                None => tool.trace(format_args!("{}; init pid {child}{leaving}", plan.describe())),
            }
            let status = match relay_until_exit(&signals, child, false, leave.as_ref().map(AsFd::as_fd))? {
                Ended::Exited(status) => status,
                // --detach-init: the init is the container's process from
                // now on. The kernel gives it to the nearest subreaper
                // (conmon, a containerd shim), which gets its exit status;
                // engines find the container's namespaces through its PID.
                // The init asked for no SIGKILL on this exit.
                Ended::Left => 0,
            };
            drop(alive_write);
            // The container is over: end without unmapping memory piece
            // by piece (see exit_now).
            sys::exit_now(status)
        }
    }
}

/// PID 1: finish the namespaces, start the command as PID 2, then relay
/// and reap. Returns the exit status (errors are printed here).
fn run_init(tool: &Tool, plan: &Plan, joins: Joins, tail: &[OsString], alive: OwnedFd) -> u8 {
    if let Err(err) = wait_for_launcher(&alive, plan.detach_init.is_some()) {
        return report(tool.name(), &err);
    }
    drop(alive);
    if let Err(err) = sys::set_non_dumpable().and_then(|()| crate::setup_inside(plan, joins)) {
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
    show_as_init(tail);
    if let Err(err) = keep_only_what_the_init_needs() {
        // Fail closed: an init holding every capability is what this step
        // exists to prevent, so the command does not run on without it.
        let _ = kill(command, Signal::SIGKILL);
        let _ = waitpid(command, None);
        return report(tool.name(), &err);
    }
    // The command keeps the caller's working directory; the init must not,
    // or it would pin a host directory inside the container for its whole
    // life. pivot_root moves processes whose cwd is the old root.
    let _ = std::env::set_current_dir("/");
    match relay_until_exit(&waited_signals(), command, true, None) {
        Ok(Ended::Exited(status)) => status,
        // Without a leave fd the wait only ends with the command.
        Ok(Ended::Left) => 0,
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

/// Ask for SIGKILL when the launcher dies, then wait for its go: one
/// byte once the pidfile is written. End of file instead means it died
/// (before or after the prctl) or gave up after a failed pidfile. With
/// --detach-init the launcher leaves on purpose once told: no SIGKILL is
/// asked for, and only a death before the go counts.
fn wait_for_launcher(alive: &OwnedFd, detached: bool) -> anyhow::Result<()> {
    if !detached {
        nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).context("prctl(PR_SET_PDEATHSIG)")?;
    }
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(alive, &mut byte) {
            Ok(1) => break,
            // Nobody is left to report to; leave as a killed process would.
            Ok(_) => std::process::exit(i32::from(EXIT_TOOL_FAILED)),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(anyhow::Error::new(err).context("read the launcher's pipe")),
        }
    }
    if detached {
        return Ok(());
    }
    // The launcher keeps its end open while it lives: a hang-up now means
    // it died after its go but before the prctl, which then came too late.
    let mut fds = [PollFd::new(alive.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).context("poll the launcher's pipe")?;
    if fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLHUP)) {
        std::process::exit(i32::from(EXIT_TOOL_FAILED));
    }
    Ok(())
}

/// Wait for `child`, passing on every relayed signal. With `reap_all`
/// (the init), every other child that exits is reaped too: those are
/// orphans the kernel re-parented to PID 1, and a terminal's signals go
/// to the command's foreground process group (see `terminal_target`).
/// Returns the child's status, 128+N if it was killed by signal N.
///
/// A terminal signals its whole foreground process group at once, and the
/// launcher and the init are always in one group (fork keeps it): when
/// the caller's terminal sends Ctrl-C both get it from the kernel. Passed
/// on by both, the command would get it twice. So the launcher does not
/// pass on what a terminal sent (si_code SI_KERNEL), the init passes it on
/// unless the command shares the init's group (the terminal reached it
/// then too), and whatever anyone sent with kill(2) (ckill, a supervisor)
/// reaches the launcher alone and is passed on down.
///
/// With `leave` (the launcher's --detach-init fd), it also ends as soon as
/// that fd is readable or hung up, with Ended::Left; a signal waiting at
/// the same time is handled first.
fn relay_until_exit(signals: &SigSet, child: Pid, reap_all: bool, leave: Option<BorrowedFd>) -> anyhow::Result<Ended> {
    let wanted = if reap_all { None } else { Some(child) };
    // A signalfd (the signals are blocked) says who sent each signal.
    let signalfd = SignalFd::with_flags(signals, SfdFlags::SFD_CLOEXEC).context("signalfd")?;
    loop {
        if let Some(leave) = leave {
            let mut fds = [PollFd::new(signalfd.as_fd(), PollFlags::POLLIN), PollFd::new(leave, PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(anyhow::Error::new(err).context("poll the signalfd and --detach-init's fd")),
            }
            let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
            if !ready(&fds[0]) && ready(&fds[1]) {
                return Ok(Ended::Left);
            }
        }
        let Some(info) = signalfd.read_signal().context("read the signalfd")? else { continue };
        let signal = Signal::try_from(info.ssi_signo as libc::c_int).context("signalfd")?;
        if signal != Signal::SIGCHLD {
            let from_terminal = info.ssi_code == SI_KERNEL && TERMINAL.contains(&signal);
            let target = match (reap_all, from_terminal) {
                (false, true) => None,
                (false, false) => Some(child),
                (true, _) if TERMINAL.contains(&signal) => terminal_target(child, from_terminal),
                (true, _) => Some(child),
            };
            // The child may be gone already; its exit is collected next.
            if let Some(target) = target {
                let _ = kill(target, signal);
            }
            continue;
        }
        loop {
            match waitpid(wanted, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == child => return Ok(Ended::Exited(code as u8)),
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == child => {
                    return Ok(Ended::Exited(128 + signal as u8))
                }
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) => continue, // an orphan reaped
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => return Err(anyhow::Error::new(err).context("waitpid")),
            }
        }
    }
}

/// How relay_until_exit ended: the child's status, or told to leave.
enum Ended {
    Exited(u8),
    Left,
}

/// The signals a terminal sends to its foreground process group: the init
/// passes them on to a group too, as a terminal would (tini -g), so that
/// Ctrl-C at the caller's terminal stops every process of a pipeline
/// inside at once, not only the shell that started it. SIGTERM, SIGUSR1
/// and SIGUSR2 are for the command alone, as `docker stop` means them.
const TERMINAL: [Signal; 4] = [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGHUP, Signal::SIGWINCH];

/// si_code of a signal the kernel sent (a terminal's), <asm-generic/siginfo.h>.
const SI_KERNEL: i32 = 0x80;

/// Where a terminal signal goes, as the kernel shows the command now:
/// the foreground process group of the command's controlling terminal
/// when that group lives in this PID namespace (an interactive shell
/// inside put a job there); else the command's own process group when it
/// leads one inside (`--new-session`: the command and the pipelines it
/// starts); else the command alone. A group outside (the caller's) reads
/// as 0 here, so no signal can leave the container. Negative: kill(2)'s
/// "every process of the group".
///
/// None when the signal came from the terminal and the command is in the
/// init's own group: the terminal signalled it already.
fn terminal_target(command: Pid, from_terminal: bool) -> Option<Pid> {
    let group = nix::unistd::getpgid(Some(command)).ok();
    if from_terminal && group == nix::unistd::getpgid(None).ok() {
        return None;
    }
    let group = foreground_group(command).or(group.map(Pid::as_raw).filter(|&group| group > 0));
    Some(group.map_or(command, |group| Pid::from_raw(-group)))
}

/// tpgid, field 8 of /proc/COMMAND/stat (proc(5)), if positive: the
/// foreground group of the command's terminal, numbered in the namespace
/// of that /proc. Only read from a /proc of this PID namespace (where
/// /proc/self is the init's 1): the host's would number another process.
fn foreground_group(command: Pid) -> Option<i32> {
    if std::fs::read_link("/proc/self").ok()? != std::path::Path::new("1") {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{command}/stat")).ok()?;
    tpgid(&stat).filter(|&group| group > 0)
}

/// Field 8 of a /proc/PID/stat line, counted after the command name.
fn tpgid(stat: &str) -> Option<i32> {
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(8 - 3)?.parse().ok()
}

/// The only capability the init uses once the command runs: CAP_KILL, to
/// relay signals to a command that switched to another user (kill(2)
/// needs a matching uid otherwise). It reaches only the processes of this
/// PID namespace, and a container's root has it by default anyway.
const CAP_KILL: u64 = 1 << 5; // <linux/capability.h>

/// Drop every privilege of the init but CAP_KILL (when it had it), for
/// the rest of the container's life. The init lives inside the container:
/// a process there holding CAP_SYS_PTRACE can write its memory, and would
/// otherwise take over every capability the chain had before capdrop.
/// The order follows capabilities(7): no_new_privs first (no exec by a
/// hijacked init can gain anything), the bounding set while CAP_SETPCAP is
/// still effective, the ambient set, then permitted, effective and
/// inheritable in one capset(2). Then the kernel is asked what is left.
fn keep_only_what_the_init_needs() -> anyhow::Result<()> {
    nix::sys::prctl::set_no_new_privs().context("prctl(PR_SET_NO_NEW_PRIVS, 1)")?;
    let current = creds::capget().context("capget")?;
    // Without CAP_SETPCAP (an unprivileged caller) the bounding set
    // cannot shrink; no_new_privs already stops exec from using it.
    let setpcap = 1u64 << 8; // CAP_SETPCAP
    if current.permitted & setpcap != 0 {
        creds::capset(RawSets { effective: current.permitted, ..current }).context("raise the effective set")?;
        // Every capability the kernel knows is dropped, present or not
        // (dropping an absent one succeeds), up to the first number it
        // refuses: the bounding set ends empty without being read first,
        // ~42 prctl(PR_CAPBSET_READ) fewer.
        for cap in 0..64 {
            match creds::bounding_drop(cap) {
                Ok(()) => {}
                Err(nix::errno::Errno::EINVAL) => break, // past the last capability
                Err(err) => {
                    return Err(err).with_context(|| format!("drop capability {cap} from the bounding set"));
                }
            }
        }
    }
    match creds::ambient_clear_all() {
        Ok(()) | Err(nix::errno::Errno::EINVAL) => {} // EINVAL: no ambient set before Linux 4.3
        Err(err) => return Err(err).context("clear the ambient set"),
    }
    let kept = current.permitted & CAP_KILL;
    creds::capset(RawSets { effective: kept, permitted: kept, inheritable: 0 })
        .context("drop the init's capabilities")?;
    let after = creds::capget().context("capget")?;
    if after != (RawSets { effective: kept, permitted: kept, inheritable: 0 }) {
        anyhow::bail!(
            "the init kept capabilities it does not need: permitted {:#x}, effective {:#x}",
            after.permitted,
            after.effective
        );
    }
    Ok(())
}

/// The name `ps` shows for the init instead of the launcher's full command
/// line, whose host paths (the checkout, the image directory) would leak
/// the host's layout into the container.
const INIT_NAME: &str = "unshare-lite-init";

/// Rewrite the init's argv area in place, so /proc/1/cmdline reads
/// `unshare-lite-init PROG` (PROG's file name only). prctl(PR_SET_MM) would
/// need CAP_SYS_RESOURCE; writing the area through /proc/self/mem needs
/// nothing, and the kernel reads cmdline from that memory. Cosmetic, so
/// best effort: without /proc it is left as it was. The init reads its
/// arguments no more (the tail is copied), so overwriting them is safe.
fn show_as_init(tail: &[OsString]) {
    let program = tail.first().map(std::path::Path::new).and_then(std::path::Path::file_name);
    let mut title = INIT_NAME.as_bytes().to_vec();
    if let Some(program) = program {
        title.push(0); // argv words are NUL-separated
        title.extend_from_slice(std::os::unix::ffi::OsStrExt::as_bytes(program));
    }
    let _ = overwrite_argv_area(&title);
}

fn overwrite_argv_area(title: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let (start, end) = argv_area(&stat).ok_or(std::io::ErrorKind::InvalidData)?;
    let Some(len) = end.checked_sub(start).and_then(|len| usize::try_from(len).ok()).filter(|&len| len > 0) else {
        return Ok(());
    };
    // NUL padding to the end of the area, whose last byte stays NUL (the
    // kernel then reads it as plain argv, not as a setproctitle string).
    let mut area: Vec<u8> = title.iter().copied().take(len - 1).collect();
    area.resize(len, 0);
    let mut mem = std::fs::OpenOptions::new().write(true).open("/proc/self/mem")?;
    mem.seek(SeekFrom::Start(start))?;
    mem.write_all(&area)
}

/// arg_start and arg_end, fields 48 and 49 of /proc/PID/stat (proc(5)),
/// counted after the command name, which may hold spaces and parentheses.
fn argv_area(stat: &str) -> Option<(u64, u64)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(48 - 3);
    let start = fields.next()?.parse().ok()?;
    let end = fields.next()?.parse().ok()?;
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argv_area_is_found_after_an_awkward_command_name() {
        let mut fields: Vec<String> = (3..=52).map(|n| n.to_string()).collect();
        fields[48 - 3] = "1000".to_string();
        fields[49 - 3] = "1050".to_string();
        let stat = format!("42 (a) b (c) {}", fields.join(" "));
        assert_eq!(argv_area(&stat), Some((1000, 1050)));
        assert_eq!(argv_area("42 (short) S 1"), None);
    }

    #[test]
    fn tpgid_is_field_8() {
        // pid (comm) state ppid pgrp session tty_nr tpgid flags...
        assert_eq!(tpgid("2 (a) b) S 1 2 2 34817 7 4194304 0"), Some(7));
        assert_eq!(tpgid("2 (sh) S 1 2 2 0 -1 4194304"), Some(-1));
        assert_eq!(tpgid("2 (sh) S 1"), None);
    }
}
