//! The chain-loading contract shared by every isokit tool.
//!
//! Every tool has the same shape: parse its own options, check them, do one
//! isolation step, then exec the rest of its command line in the same
//! process. This crate holds the parts of that shape that are the same for
//! all of them, and nothing specific to one step:
//!
//! * [`main`]: the entry point of every tool: parses its own options
//!   through argh (the tail kept byte-exact), refuses a setuid run, and
//!   prints every error once (`tool: what failed: why`, exit 125);
//! * [`Tool::exec`], [`Tool::exec_fd`]: exec the tail with the 126/127
//!   convention, after checking that no fd opened by the tool would leak
//!   into it and restoring the caller's signal mask and dispositions;
//! * [`Tool::trace`]: the `ISOKIT_TRACE=1` step lines;
//! * [`ancestor_in_other_namespace`]: whether this process has a namespace
//!   of its own, found through the ancestors /proc shows;
//! * [`parse_size`]: the one rule for sizes (K, M, G 1024-based, or bytes);
//! * [`inroot`]: paths opened inside a root filesystem (openat2), never
//!   joined onto it;
//! * [`read_procfs`]: a /proc file read only if it is on a real procfs;
//! * [`sys`]: thin wrappers for the few system calls nix lacks;
//! * [`creds`]: the capability and keyring calls nix lacks;
//! * [`Arena`]: a bump allocator for the tools that exec within a
//!   millisecond (pivot, capdrop);
//! * [`xattr`]: extended attributes of an open file, which nix lacks.

mod ancestry;
mod arena;
mod args;
pub mod creds;
mod error;
mod exec;
mod fds;
pub mod inroot;
pub mod mountinfo;
mod procfs;
mod signals;
mod size;
pub mod sys;
mod trace;
pub mod xattr;

pub use ancestry::{ancestor_in_other_namespace, own_namespaces, Ancestor};
pub use arena::Arena;
pub use args::Chained;
pub use error::{describe, report, usage, Usage};
pub use exec::ExecFailure;
pub use procfs::{read_procfs, StartStatus};
pub use size::parse_size;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use argh::FromArgs;

/// The tool itself failed: a bad option, or its isolation step failed.
pub const EXIT_TOOL_FAILED: u8 = 125;
/// The command was found but could not be executed.
pub const EXIT_CANNOT_EXEC: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// What a tool knows about itself while it runs: its name (the prefix of
/// every message), the fds it inherited (the only ones allowed to reach the
/// next program), the signal mask and dispositions it was given (restored
/// for the next program) and whether tracing is on.
pub struct Tool {
    name: &'static str,
    status: StartStatus,
    inherited_fds: fds::FdSet,
    signals: signals::CallerSignals,
    trace: trace::Trace,
}

impl Tool {
    /// Record the state the tool started with. Call it first thing, before
    /// anything opens a file.
    pub fn start(name: &'static str) -> Tool {
        // One read of /proc/self/status serves the fd table's size, the
        // ignored signals and (capdrop) the capability sets.
        let status = StartStatus::read();
        Tool {
            name,
            status,
            inherited_fds: fds::FdSet::open_now(status.fd_size),
            signals: signals::CallerSignals::record(status.sig_ign),
            trace: trace::Trace::from_env(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// /proc/self/status as it was when the tool started (see
    /// [`StartStatus`]): nothing a tool does before its step changes the
    /// fields kept, and what a step must verify it reads again.
    pub fn status_at_start(&self) -> &StartStatus {
        &self.status
    }
}

/// The whole life of a tool, the same for every one: record what it was
/// given, parse argv, refuse a setuid run, run its body, and turn the
/// outcome into the exit status.
///
/// `--help` and `--version` print on stdout and exit 0. Every error (a
/// usage error included) is printed here, once, as `tool: what failed:
/// why`. `body` gets the options and the command line's tail; it returns
/// the status to exit with when it does not exec (the launcher of
/// `unshare-lite --pid` returns its child's status), or the error
/// [`Tool::exec`] returned.
pub fn main<T: FromArgs + Chained>(
    name: &'static str,
    body: fn(&Tool, T, Vec<OsString>) -> anyhow::Result<ExitCode>,
) -> ExitCode {
    let tool = Tool::start(name);
    let outcome = match args::parse::<T>(name) {
        Ok((options, tail)) => sys::refuse_setuid().and_then(|()| body(&tool, options, tail)),
        Err(args::Exit::Help(text)) => return print_help(name, &text),
        Err(args::Exit::Usage(message)) => Err(usage(message.trim_end())),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => ExitCode::from(error::report(name, &err)),
    }
}

fn print_help(name: &str, text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(error::report(name, &anyhow::Error::new(err).context("write to stdout"))),
    }
}
