//! The chain-loading contract shared by every isokit tool.
//!
//! Every tool has the same shape: parse its own options, check them, do one
//! isolation step, then exec the rest of its command line in the same
//! process. This crate holds the parts of that shape that are the same for
//! all of them, and nothing specific to one step:
//!
//! * [`Tool::parse`]: own options through argh, the tail kept byte-exact;
//! * [`Tool::exec`], [`Tool::exec_fd`]: exec the tail with the 126/127
//!   convention, after checking that no fd opened by the tool would leak
//!   into it and restoring the caller's signal mask and dispositions;
//! * [`main`]: one place that prints errors (`tool: what failed: why`) and
//!   maps them to exit status 125;
//! * [`Tool::trace`]: the `ISOKIT_TRACE=1` step lines;
//! * [`sys`]: thin wrappers for the few system calls nix lacks.

mod args;
mod error;
mod exec;
mod fds;
mod signals;
pub mod sys;
mod trace;

pub use args::Chained;
pub use error::{describe, report, usage, Usage};
pub use exec::ExecFailure;

use std::process::ExitCode;

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
    inherited_fds: fds::FdSet,
    signals: signals::CallerSignals,
    trace: trace::Trace,
}

impl Tool {
    /// Record the state the tool started with. Call it first thing, before
    /// anything opens a file.
    pub fn start(name: &'static str) -> Tool {
        Tool {
            name,
            inherited_fds: fds::FdSet::open_now(),
            signals: signals::CallerSignals::record(),
            trace: trace::Trace::from_env(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Run a tool's body and turn its outcome into the process exit status.
///
/// `body` returns the status to exit with when it does not exec (the
/// launcher of `unshare-lite --pid` returns its child's status); errors are
/// printed here, once, as `tool: what failed: why`.
pub fn main(name: &'static str, body: fn(&Tool) -> anyhow::Result<ExitCode>) -> ExitCode {
    let tool = Tool::start(name);
    match body(&tool) {
        Ok(code) => code,
        Err(err) => ExitCode::from(error::report(name, &err)),
    }
}
