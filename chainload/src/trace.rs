//! `ISOKIT_TRACE`: one line per step on stderr, so a chain can be watched.
//!
//! `ISOKIT_TRACE=1` prints what each tool did; `ISOKIT_TRACE=time` prefixes
//! each line with CLOCK_MONOTONIC in microseconds, which is how
//! `scripts/bench` attributes launch time to steps.

use std::fmt;
use std::io::Write;

use nix::time::{clock_gettime, ClockId};

use crate::Tool;

#[derive(Clone, Copy)]
pub(crate) enum Trace {
    Off,
    On,
    Timed,
}

impl Trace {
    pub(crate) fn from_env() -> Trace {
        match std::env::var_os("ISOKIT_TRACE") {
            None => Trace::Off,
            Some(v) if v.is_empty() || v == "0" => Trace::Off,
            Some(v) if v == "time" => Trace::Timed,
            Some(_) => Trace::On,
        }
    }
}

impl Tool {
    /// Whether step lines are printed: a tool whose line takes work to
    /// build (looking things up only the line shows) asks first.
    pub fn tracing(&self) -> bool {
        !matches!(self.trace, Trace::Off)
    }

    /// Print one step line: `tool: what it did`.
    ///
    /// The line is formatted first and written with one write(2): stderr is
    /// unbuffered, and eprintln! writes each piece on its own, so the lines
    /// of two steps printing at once (the unshare-lite launcher and the
    /// next step in its child) could interleave mid-line.
    pub fn trace(&self, what: fmt::Arguments<'_>) {
        let line = match self.trace {
            Trace::Off => return,
            Trace::On => format!("{}: {what}\n", self.name),
            Trace::Timed => {
                let micros = clock_gettime(ClockId::CLOCK_MONOTONIC)
                    .map(|t| t.tv_sec() as i128 * 1_000_000 + t.tv_nsec() as i128 / 1_000)
                    .unwrap_or(0);
                format!("[{micros}] {}: {what}\n", self.name)
            }
        };
        // A trace line that cannot be written changes nothing of the step.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}
