//! Command line of scfilter.

use std::path::PathBuf;

use argh::FromArgs;
use chainload::{usage, Chained};

#[derive(FromArgs)]
#[argh(
    help_triggers("-h", "--help"),
    example = "The last step of a chain, after capdrop has set no_new_privs:\n  $ capdrop -- scfilter -- sh -c 'grep Seccomp /proc/self/status'",
    example = "A profile of your own (Docker's format, or an OCI config.json's linux.seccomp):\n  $ capdrop -- scfilter --profile ./strict.json -- ./server",
    example = "Hand the filter to bubblewrap instead:\n  $ scfilter --emit-bpf /tmp/docker.bpf\n  $ bwrap --ro-bind / / --seccomp 9 9</tmp/docker.bpf -- true",
    note = "Usage: scfilter [--profile FILE] [--emit-bpf FILE] [--] PROG [ARGS...]\nOptions end at the first operand; PROG and everything after it are passed on untouched.\nWithout --profile the filter is Docker's default profile (moby's seccomp/default.json, built in): about 370 system calls allowed, everything else fails with EPERM; clone may not create namespaces, clone3 fails with ENOSYS (so libcs fall back to clone), personality takes only the usual personas. Rules a profile ties to capabilities (mount, unshare, bpf... with CAP_SYS_ADMIN; ptrace with CAP_SYS_PTRACE) are decided, as Docker decides them, on the bounding set the process has when scfilter runs: put scfilter after capdrop.\nThe filter covers x86_64 and, when the profile lists them (Docker's does), the i386 (int 0x80) and x32 ABIs under their own numbers; a system call from an ABI the profile leaves out kills the process. System call names the kernel tables do not know are skipped, as Docker does; any other error in a profile (bad JSON, unknown action, operator, flag or architecture) is exit 125 and nothing is loaded.\nThe kernel loads a filter only with no_new_privs set (capdrop sets it) or with CAP_SYS_ADMIN. The filter stays for the life of the process and its children, across exec; it cannot be removed.\n--emit-bpf decides the capability rules on scfilter's own bounding set: run it with the capabilities the sandbox will have (under capdrop), or the program allows what CAP_SYS_ADMIN allows.\nISOKIT_TRACE=1 prints the profile, the number of rules and instructions, and the names skipped.",
    error_code(125, "scfilter itself failed (bad option, bad profile, the kernel refused the filter)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found"),
)]
/// Load a seccomp filter (Docker's default profile unless told otherwise), then exec PROG.
pub struct Options {
    /// a profile in Docker's JSON format or an OCI linux.seccomp object
    #[argh(option, arg_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// write the compiled BPF program (struct sock_filter[]) to FILE, for bwrap --seccomp; without PROG, load nothing and exit 0
    #[argh(option, arg_name = "FILE")]
    pub emit_bpf: Option<PathBuf>,
    /// the program to run, and its arguments
    #[argh(positional, greedy, arg_name = "PROG")]
    command: Vec<String>,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        self.command.len()
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
