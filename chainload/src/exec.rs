//! The final step of every tool: exec the command line's tail.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::anyhow;

use crate::{usage, Tool, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND};

/// The command could not be executed: 127 if it was not found, else 126,
/// as coreutils' env, chroot and nice report it.
#[derive(Debug)]
pub struct ExecFailure {
    program: OsString,
    error: io::Error,
}

impl ExecFailure {
    /// For tools that exec by other means than [`Tool::exec`] (pivot's
    /// `--next-from-host` execs an fd): the same 126/127 reporting.
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
    /// Before exec: no fd the tool opened may survive (see `fds`), and the
    /// working directory must be reachable from the root, so that a
    /// directory left open on the host cannot become the command's cwd.
    pub fn exec(&self, tail: &[OsString]) -> anyhow::Error {
        let Some(program) = tail.first() else {
            return usage("missing command to run");
        };
        if let Err(err) = self.check_before_exec() {
            return err;
        }
        // CommandExt::exec rather than execvp: it also restores the default
        // SIGPIPE disposition (the Rust runtime ignores SIGPIPE) and empties
        // the signal mask, so the command starts in a standard state.
        let error = Command::new(program).args(&tail[1..]).exec();
        anyhow::Error::new(ExecFailure { program: program.clone(), error })
    }

    /// The checks `exec` makes, for tools that exec by other means.
    pub fn check_before_exec(&self) -> anyhow::Result<()> {
        let leaks = self.inherited_fds.leaks();
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
            _ => Err(anyhow!("refusing to exec: the working directory is outside the root (chdir into the new root first)")),
        }
    }
}
