//! Thin wrappers for system calls that every tool may need.

use anyhow::Context;

/// Make this process non-dumpable, so that a process inside the container
/// cannot open `/proc/PID/exe` of an isokit process that lives on in it (the
/// PID-1 init, a step running after `pivot`) and overwrite the host binary
/// (runc CVE-2019-5736) or ptrace it. Non-dumpable processes' /proc files
/// are owned by root of the initial user namespace.
pub fn set_non_dumpable() -> anyhow::Result<()> {
    nix::sys::prctl::set_dumpable(false).context("prctl(PR_SET_DUMPABLE, 0)")
}

/// Refuse to run with a real uid different from the effective one: isokit
/// tools are never installed setuid, and a setuid install would hand every
/// user the privileges the tools use.
pub(crate) fn refuse_setuid() -> anyhow::Result<()> {
    let (real, effective) = (nix::unistd::getuid(), nix::unistd::geteuid());
    if real != effective {
        anyhow::bail!("refusing to run setuid (real uid {real}, effective uid {effective}): run it as root or inside a user namespace");
    }
    Ok(())
}

/// End the process now with `status`, stdout flushed first: _exit(2)
/// instead of the Rust runtime's exit. For the unshare-lite launcher and
/// init, which end when the container does: through the runtime, the
/// signal stack it made for the main thread and musl's heap pages were
/// unmapped one by one (four munmap per launch, each flushing TLBs on
/// every CPU the process ran on), moments before exit_mmap drops the
/// whole address space at once. Nothing else is skipped that exit does
/// not do itself: the kernel closes the fds, and stderr is unbuffered.
pub fn exit_now(status: u8) -> ! {
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // SAFETY: _exit ends the process at once; no code of this process
    // runs after it, so no state it leaves half-done can be observed.
    unsafe { libc::_exit(i32::from(status)) }
}

/// fork(2).
///
/// nix marks fork unsafe because, in a multi-threaded program, the child
/// may find locks held by threads that no longer exist. isokit tools are
/// single-threaded by contract (unshare and setns of user and mount
/// namespaces require it too), so the child is a complete copy.
pub fn fork() -> nix::Result<nix::unistd::ForkResult> {
    // SAFETY: single-threaded process, see above.
    unsafe { nix::unistd::fork() }
}

/// What a signal does when it arrives, as far as exec keeps it: a handler
/// is reset to the default by exec, an ignored signal stays ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disposition {
    Default,
    Ignored,
    Handled,
}

/// The current disposition of signal `signo`, or None for a number the C
/// library refuses (SIGKILL/SIGSTOP are fine to query; musl keeps 32-34).
/// nix's sigaction takes only the named signals, not the real-time ones.
pub(crate) fn disposition(signo: libc::c_int) -> Option<Disposition> {
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only queries; `old` is written by the call.
    if unsafe { libc::sigaction(signo, std::ptr::null(), old.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: sigaction succeeded, so it filled `old`.
    let handler = unsafe { old.assume_init() }.sa_sigaction;
    Some(match handler {
        libc::SIG_DFL => Disposition::Default,
        libc::SIG_IGN => Disposition::Ignored,
        _ => Disposition::Handled,
    })
}

/// The signals whose disposition `set_disposition` changed in this
/// process, bit N-1 for signal N: what `Tool::exec` must put back (see
/// `CallerSignals::restore`), without asking the kernel about the others.
static TOUCHED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) fn touched_dispositions() -> u64 {
    TOUCHED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Set signal `signo` to its default action or to ignored. Every change
/// of a disposition in isokit goes through here, and is recorded.
pub(crate) fn set_disposition(signo: libc::c_int, wanted: Disposition) -> nix::Result<()> {
    if (1..=64).contains(&signo) {
        // Recorded before the call: a failed change is put back too, harmlessly.
        TOUCHED.fetch_or(1u64 << (signo - 1), std::sync::atomic::Ordering::Relaxed);
    }
    // SAFETY: a zeroed sigaction is valid (empty mask, no flags); only
    // SIG_DFL or SIG_IGN is installed, so no handler code can ever run.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = match wanted {
        Disposition::Ignored => libc::SIG_IGN,
        _ => libc::SIG_DFL,
    };
    // SAFETY: `action` is a valid, initialised struct that outlives the call.
    if unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) } != 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(())
}

/// Give `signal` its default action in this process, for a tool that needs
/// it for itself (the PID-1 init waits for SIGCHLD, which a caller may
/// ignore: the kernel would then reap its children before it could). The
/// command still gets the caller's disposition back: `Tool::exec` restores
/// what `Tool::start` recorded.
pub fn default_action(signal: nix::sys::signal::Signal) -> nix::Result<()> {
    set_disposition(signal as libc::c_int, Disposition::Default)
}

/// close_range(first, last, CLOSE_RANGE_CLOEXEC): mark every open fd
/// from `first` to `last` close-on-exec (Linux 5.11; EINVAL before).
pub(crate) fn close_range_cloexec(first: libc::c_uint, last: libc::c_uint) -> nix::Result<()> {
    // SAFETY: close_range takes three integers and touches no memory of ours;
    // with CLOSE_RANGE_CLOEXEC it closes nothing, so no fd we own goes away.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, libc::CLOSE_RANGE_CLOEXEC) };
    nix::errno::Errno::result(ret).map(drop)
}

/// getdents64(2): read directory entries of the open directory `dir` into
/// `buffer`; the number of bytes filled, 0 at the end.
pub(crate) fn getdents64(dir: impl std::os::fd::AsFd, buffer: &mut [u8]) -> nix::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: the kernel writes at most buffer.len() bytes into the buffer,
    // which is borrowed mutably for the call.
    let ret =
        unsafe { libc::syscall(libc::SYS_getdents64, dir.as_fd().as_raw_fd(), buffer.as_mut_ptr(), buffer.len()) };
    nix::errno::Errno::result(ret).map(|n| n as usize)
}

/// The names in a buffer filled by getdents64: struct linux_dirent64 is
/// d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), then the name,
/// NUL-terminated, the record padded to d_reclen.
pub(crate) fn dirent_names(buffer: &[u8]) -> impl Iterator<Item = &[u8]> {
    const NAME: usize = 19;
    let mut at = 0;
    std::iter::from_fn(move || {
        let record = buffer.get(at..)?;
        let length = usize::from(u16::from_ne_bytes([*record.get(16)?, *record.get(17)?]));
        let entry = record.get(NAME..length)?;
        at += length;
        let end = entry.iter().position(|&b| b == 0).unwrap_or(entry.len());
        Some(&entry[..end])
    })
}

/// The type of the namespace an nsfs fd refers to, as its CLONE_NEW* bit:
/// ioctl(NS_GET_NSTYPE) (ioctl_ns(2), Linux 4.11). Unlike readlink of
/// /proc/self/fd/N, it does not depend on how the file was reached (a bind
/// mount such as /run/netns/x reads as its path there).
pub fn namespace_type(fd: std::os::fd::BorrowedFd) -> nix::Result<libc::c_int> {
    /// _IO(0xb7, 0x3), <linux/nsfs.h>.
    const NS_GET_NSTYPE: libc::c_ulong = (0xb7 << 8) | 0x3;
    use std::os::fd::AsRawFd;
    // SAFETY: NS_GET_NSTYPE takes no argument and writes no memory; the fd
    // is borrowed, so it stays open for the call.
    let kind = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
    nix::errno::Errno::result(kind)
}

/// struct clone_args of clone3(2), <linux/sched.h>, up to `cgroup`
/// (CLONE_ARGS_SIZE_VER2, Linux 5.7). libc has no x86_64 definition.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// CLONE_INTO_CGROUP, <linux/sched.h>: clone3 only (a 64-bit flag).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// fork(2) whose child starts in the cgroup v2 directory `cgroup`:
/// clone3(2) with CLONE_INTO_CGROUP (Linux 5.7). The child never runs
/// outside it, and no process is migrated: writing cgroup.procs waits on
/// cgroup_threadgroup_rwsem, an RCU grace period, which this skips.
///
/// The child goes on as a fork child does (same stack, a copy of memory)
/// and isokit tools are single-threaded (see [`fork`]). One difference
/// from the C library's fork: the library's cached thread id is not
/// updated in the child, so raise(3) there would aim at the parent's id,
/// which in the child's own PID namespace may name another process of the
/// container. abort(3) raises SIGABRT first, and a panic aborts (panic =
/// "abort"): the child therefore gets a panic hook that prints the panic
/// and exits with 134 (128 + SIGABRT) instead. Nothing else a
/// single-threaded tool calls reads that cache.
pub fn fork_into_cgroup(cgroup: std::os::fd::BorrowedFd) -> nix::Result<nix::unistd::ForkResult> {
    use std::os::fd::AsRawFd;
    let mut args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed, alive for
    // the call; with no stack given the child runs on a copy of this
    // one, exactly as after fork(2), which the comment above covers.
    let pid = unsafe { libc::syscall(libc::SYS_clone3, &mut args as *mut CloneArgs, std::mem::size_of::<CloneArgs>()) };
    match nix::errno::Errno::result(pid)? {
        0 => {
            std::panic::set_hook(Box::new(|info| {
                eprintln!("{info}");
                std::process::exit(128 + libc::SIGABRT)
            }));
            Ok(nix::unistd::ForkResult::Child)
        }
        child => Ok(nix::unistd::ForkResult::Parent { child: nix::unistd::Pid::from_raw(child as libc::pid_t) }),
    }
}

/// Take ownership of an fd known only by number (handed down the chain,
/// or just returned by a dup).
pub fn adopt(fd: std::os::fd::RawFd) -> nix::Result<std::os::fd::OwnedFd> {
    nix::fcntl::fcntl(borrow_checked(fd)?, nix::fcntl::FcntlArg::F_GETFD)?;
    // SAFETY: the fd is open (F_GETFD succeeded) and nothing else in this
    // process owns it: the caller got it by number for its sole use.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

fn borrow_checked(fd: std::os::fd::RawFd) -> nix::Result<std::os::fd::BorrowedFd<'static>> {
    // SAFETY: F_GETFD on an arbitrary number reads flags only; a closed
    // number gives EBADF, which is the answer wanted.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: the fd is open (checked just above); the borrow is used
    // at once, before anything in this single-threaded process closes it.
    Ok(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
}
