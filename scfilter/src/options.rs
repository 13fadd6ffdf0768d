//! Command line of scfilter.

use std::path::PathBuf;

use argh::FromArgs;
use chainload::{usage, Chained};

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] [--] PROG [ARGS...]",
    help_triggers("-h", "--help"),
    example = "The last step of a chain, after capdrop set no_new_privs:\n  $ capdrop -- scfilter -- sh -c 'grep Seccomp /proc/self/status'",
    example = "A profile of your own:\n  $ capdrop -- scfilter --profile ./strict.json -- ./server",
    note = "Run it after capdrop: the kernel needs no_new_privs, and the rules tied\nto capabilities are decided on the bounding set scfilter runs with.\nISOKIT_TRACE=1 prints the profile's size. The manual: man scfilter.",
    error_code(125, "scfilter itself failed (bad option or profile, the kernel refused)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found")
)]
/// Load a seccomp filter (Docker's default profile), then exec PROG.
pub struct Options {
    /// FILE: Docker's JSON profile or an OCI linux.seccomp
    #[argh(option, arg_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// FILE: write the compiled BPF (for bwrap --seccomp); without PROG, load nothing and exit 0
    #[argh(option, arg_name = "FILE")]
    pub emit_bpf: Option<PathBuf>,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the program to run, and its arguments
    #[argh(positional, greedy, arg_name = "PROG")]
    command: Vec<String>,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        self.command.len()
    }

    fn version_asked(&self) -> bool {
        self.version
    }
}

impl Options {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.command.is_empty() && self.emit_bpf.is_none() {
            return Err(usage("missing command to run"));
        }
        Ok(())
    }
}
