//! One error format for every tool, printed once, in one place.

use std::error::Error;
use std::fmt;

use crate::{ExecFailure, EXIT_TOOL_FAILED};

/// A mistake on the command line: printed with a hint to read `--help`.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Usage {}

/// Build a usage error: `return Err(usage("--hostname requires --uts"))`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// Print `tool: context: cause` on stderr and return the exit status the
/// error stands for.
pub fn report(tool: &str, err: &anyhow::Error) -> u8 {
    eprintln!("{tool}: {}", describe(err));
    if err.downcast_ref::<Usage>().is_some() {
        eprintln!("Try '{tool} --help' for more information.");
    }
    match err.downcast_ref::<ExecFailure>() {
        Some(failure) => failure.status(),
        None => EXIT_TOOL_FAILED,
    }
}

/// The whole chain of an error on one line, each cause once, without Rust's
/// "(os error N)" suffix or nix's "ENOENT: " prefix.
pub fn describe(err: &anyhow::Error) -> String {
    let parts: Vec<String> = err.chain().map(describe_one).collect();
    parts.join(": ")
}

fn describe_one(cause: &(dyn Error + 'static)) -> String {
    if let Some(errno) = cause.downcast_ref::<nix::errno::Errno>() {
        return errno.desc().to_string();
    }
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        if let Some(code) = io.raw_os_error() {
            return nix::errno::Errno::from_raw(code).desc().to_string();
        }
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn os_errors_lose_their_code_suffix() {
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let err = anyhow::Error::new(io).context("open '/x'");
        assert_eq!(describe(&err), "open '/x': No such file or directory");
    }

    #[test]
    fn nix_errors_lose_their_name_prefix() {
        let err: anyhow::Result<()> = Err(nix::errno::Errno::EPERM).context("unshare");
        let err = err.unwrap_err();
        assert_eq!(describe(&err), "unshare: Operation not permitted");
    }

    #[test]
    fn usage_errors_exit_125() {
        assert_eq!(report("t", &usage("bad")), EXIT_TOOL_FAILED);
    }
}
