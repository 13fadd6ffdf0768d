//! isokit-oci: the runc command line over an OCI bundle. `create`
//! translates config.json into the isokit chain (src/translate.rs) and
//! runs it up to the start gate; the other commands read the state
//! directory and the kernel.
// unsafe only in sys.rs, the raw-fd wrappers.
#![deny(unsafe_code)]

mod args;
mod caps;
mod cgroups;
mod commands;
mod gate;
mod joins;
mod lifecycle;
mod spec;
mod state;
#[allow(unsafe_code)]
mod sys;
mod translate;

use std::ffi::OsString;
use std::process::ExitCode;

use chainload::Tool;

const HELP: &str = include_str!("../../man/help/isokit-oci.txt");

fn main() -> ExitCode {
    // First thing: the gate and sysctl steps must know which fds they
    // inherited before anything is opened.
    let tool = Tool::start("isokit-oci");
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let words: Vec<String> = argv.iter().map(|w| w.to_string_lossy().into_owned()).collect();
    let (global, command) = match args::parse(&words) {
        Ok(parsed) => parsed,
        Err(err) => return ExitCode::from(fail(None, &err)),
    };
    let Some(command) = command else {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    };
    if command.flag("help") || command.name == "help" {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    }
    // As every isokit tool: never run with borrowed privileges.
    if nix::unistd::getuid() != nix::unistd::geteuid() {
        return ExitCode::from(fail(Some(&global), &anyhow::anyhow!("refusing to run setuid (euid differs from uid)")));
    }
    let outcome = match command.name.as_str() {
        "version" => {
            println!("isokit-oci (isokit) {}\nspec: 1.0.2", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        // The internal steps keep the tail byte-exact (OsString).
        "gate" | "sysctl" => {
            let tail = argv[argv.len() - command.tail.len()..].to_vec();
            commands::internal(&tool, &command, tail)
        }
        _ => commands::run(&global, &command),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => ExitCode::from(fail(Some(&global), &err)),
    }
}

/// Print the error once on stderr and, with --log, as a log line (json:
/// containerd reads the last `"level":"error"` line's msg).
fn fail(global: Option<&args::Global>, err: &anyhow::Error) -> u8 {
    let status = chainload::report("isokit-oci", err);
    if let Some(global) = global {
        commands::log(global, "error", &chainload::describe(err));
    }
    // runc exits 1 for its own errors; 126/127 stay for a program that
    // cannot be run (the gate's).
    if status == chainload::EXIT_TOOL_FAILED {
        1
    } else {
        status
    }
}
