//! ptyrun: give the rest of the command line a terminal of the container's
//! own devpts, relayed to the caller's terminal or handed to a console
//! socket (the OCI --console-socket protocol).
// unsafe only in `sys`, the thin ioctl and fd wrappers.
#![deny(unsafe_code)]

mod console;
mod options;
mod pty;
mod relay;
#[allow(unsafe_code)]
mod sys;

use std::ffi::OsString;
use std::process::ExitCode;

use chainload::Tool;

use options::{Mode, Options};
use pty::Pty;

fn main() -> ExitCode {
    chainload::main("ptyrun", run)
}

/// Check the options, open the terminal pair (checked to be the
/// container's), then relay, or send the master and exec.
fn run(tool: &Tool, options: Options, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let mode = options.mode()?;
    // The relay lives on inside the container with the caller's terminal
    // as its stdio: no process there may ptrace it or read its fds.
    chainload::sys::set_non_dumpable()?;
    // The socket first: an inherited fd that is not one fails before any
    // terminal exists.
    let socket = match &mode {
        Mode::Relay => None,
        Mode::ConsoleFd(fd) => Some(console::adopt(*fd)?),
        Mode::ConsoleSocket(path) => Some(console::connect(path)?),
    };
    let pty = Pty::open()?;
    let Some(socket) = socket else {
        return relay::run(tool, pty, &tail);
    };
    console::send(socket, &pty.master, "/dev/pts/ptmx")?;
    tool.trace(format_args!("terminal {} sent over the console socket", pty.name));
    let Pty { master, slave, .. } = pty;
    drop(master);
    pty::become_terminal_of(&slave)?;
    drop(slave);
    Err(tool.exec(&tail))
}
