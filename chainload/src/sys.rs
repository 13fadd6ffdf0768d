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
pub fn refuse_setuid() -> anyhow::Result<()> {
    let (real, effective) = (nix::unistd::getuid(), nix::unistd::geteuid());
    if real != effective {
        anyhow::bail!("refusing to run setuid (real uid {real}, effective uid {effective}): run it as root or inside a user namespace");
    }
    Ok(())
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
