//! The final step of every tool: exec the command line's tail.

use std::ffi::{CString, OsString};
use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use anyhow::{anyhow, Context};
use nix::fcntl::AtFlags;
use nix::unistd::execveat;

use crate::{usage, Tool, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND};

/// The command could not be executed: 127 if it was not found, else 126,
/// as coreutils' env, chroot and nice report it.
#[derive(Debug)]
pub struct ExecFailure {
    program: OsString,
    error: io::Error,
}

impl ExecFailure {
    /// PROG was found (or not) before anything was done, by other means
    /// than exec (pivot's `--next-from-host` reads it from the host): the
    /// same 126/127 reporting.
    pub fn new(program: OsString, error: io::Error) -> ExecFailure {
        ExecFailure { program, error }
    }

    pub fn status(&self) -> u8 {
        match self.error.kind() {
            io::ErrorKind::NotFound => EXIT_NOT_FOUND,
            _ => EXIT_CANNOT_EXEC,
        }
    }
}

impl fmt::Display for ExecFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.error.raw_os_error() {
            Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
            None => self.error.to_string(),
        };
        write!(f, "cannot run '{}': {why}", self.program.to_string_lossy())
    }
}

impl std::error::Error for ExecFailure {}

impl Tool {
    /// Replace this process with the tail of the command line, looked up in
    /// PATH as this process sees it now. Returns only on failure.
    ///
    /// Before exec: no fd the tool opened may survive (see `fds`), the
    /// working directory must be reachable from the root, so that a
    /// directory left open on the host cannot become the command's cwd, and
    /// the signal mask and dispositions are put back as the caller gave them.
    pub fn exec(&self, tail: &[OsString]) -> anyhow::Error {
        let (program, argv) = match self.prepare(tail) {
            Ok(prepared) => prepared,
            Err(err) => return err,
        };
        let Err(errno) = nix::unistd::execvp(&argv[0], &argv);
        anyhow::Error::new(ExecFailure::new(program, io::Error::from_raw_os_error(errno as i32)))
    }

    /// As [`Tool::exec`], but run the executable open at `executable`
    /// (execveat with AT_EMPTY_PATH) rather than looking `tail[0]` up;
    /// `tail[0]` is still argv[0] and the name in messages. pivot's
    /// `--next-from-host` execs a sealed copy of a host binary this way.
    pub fn exec_fd(&self, executable: BorrowedFd<'_>, tail: &[OsString]) -> anyhow::Error {
        let (program, argv) = match self.prepare(tail) {
            Ok(prepared) => prepared,
            Err(err) => return err,
        };
        let env: Result<Vec<CString>, _> = std::env::vars_os()
            .map(|(key, value)| {
                let mut pair = key.into_vec();
                pair.push(b'=');
                pair.extend(value.into_vec());
                CString::new(pair)
            })
            .collect();
        let Ok(env) = env else {
            return anyhow!("refusing to exec: the environment contains a NUL byte");
        };
        let Err(errno) = execveat(executable, c"", &argv, &env, AtFlags::AT_EMPTY_PATH);
        anyhow::Error::new(ExecFailure::new(program, io::Error::from_raw_os_error(errno as i32)))
    }

    /// Everything both execs do first: checks, argv as C strings, signals.
    fn prepare(&self, tail: &[OsString]) -> anyhow::Result<(OsString, Vec<CString>)> {
        let Some(program) = tail.first() else {
            return Err(usage("missing command to run"));
        };
        let argv = tail
            .iter()
            .map(|word| CString::new(word.as_bytes()))
            .collect::<Result<Vec<CString>, _>>()
            .map_err(|_| anyhow!("cannot run '{}': an argument contains a NUL byte", program.to_string_lossy()))?;
        self.check_before_exec()?;
        self.signals.restore().context("restore the caller's signal mask and dispositions")?;
        Ok((program.clone(), argv))
    }

    /// Refuse to go on when an fd the tool inherited is a handle on the
    /// host's filesystem or namespaces (a directory, an O_PATH fd, a
    /// namespace file): a tool that switches the root filesystem (pivot)
    /// calls this before it changes anything, because such an fd would
    /// reach the host from inside. Stdio included: a terminal or a pipe is
    /// fine there, a directory is not.
    pub fn refuse_inherited_host_handles(&self) -> anyhow::Result<()> {
        let Some(&(fd, what)) = self.inherited_fds.host_handles().first() else {
            return Ok(());
        };
        let target =
            std::fs::read_link(format!("/proc/self/fd/{fd}")).map(|p| p.display().to_string()).unwrap_or_default();
        Err(anyhow!(
            "inherited fd {fd} '{target}' is {what}: it would reach the host from inside the new root (close it before the chain, e.g. {fd}<&-)"
        ))
    }

    /// The checks made before exec: nothing the tool opened leaks (made
    /// close-on-exec, or checked on a kernel before 5.11), and the working
    /// directory is inside the root.
    fn check_before_exec(&self) -> anyhow::Result<()> {
        // Enforced rather than listed and checked where the kernel can
        // (see FdSet::close_others_on_exec): no listing of /proc/self/fd
        // before every exec, which after pivot is a fresh procfs's.
        let leaks = if self.inherited_fds.close_others_on_exec() { Vec::new() } else { self.inherited_fds.leaks() };
        if !leaks.is_empty() {
            return Err(anyhow!(
                "refusing to exec: fd {leaks:?} opened by {} is not close-on-exec (this is a bug in {0})",
                self.name
            ));
        }
        // getcwd(2) reports a directory outside the root as "(unreachable)…"
        // (libc turns it into ENOENT): either way it is not under '/'.
        match std::env::current_dir() {
            Ok(dir) if dir.is_absolute() => Ok(()),
            _ => Err(anyhow!(
                "refusing to exec: the working directory is outside the root (chdir into the new root first)"
            )),
        }
    }
}
