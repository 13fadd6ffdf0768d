//! capdrop: drop capabilities, switch user and groups, set no_new_privs,
//! check the result with the kernel, then exec the rest of the command line.
// unsafe only in `sys`, the thin capget/capset/prctl wrappers.
#![deny(unsafe_code)]

mod caps;
mod options;
mod passwd;
mod state;
mod steps;
#[allow(unsafe_code)]
mod sys;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chainload::Tool;

use caps::CapSet;
use options::{Caller, Options};
use state::State;

/// A bump allocator: this step execs within a millisecond, and musl's
/// allocator would map and unmap the same pages dozens of times meanwhile
/// (see `chainload::Arena`).
#[global_allocator]
static ALLOCATOR: chainload::Arena = chainload::Arena::new();

fn main() -> ExitCode {
    chainload::main("capdrop", run)
}

/// Parse and check, read the caller's credentials, resolve names, apply
/// the plan (see `steps::apply` for the order), read everything back and
/// compare, then exec. Nothing is changed before the whole plan is known.
fn run(tool: &Tool, options: Options, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let request = options.request()?;
    // While capdrop runs inside the container it holds capabilities:
    // no process there may ptrace it or open its /proc/PID/exe.
    chainload::sys::set_non_dumpable()?;

    let last_cap = state::kernel_last_cap()?;
    // The sets /proc/self/status showed at start: one read of it fewer.
    let start = tool.status_at_start();
    let known = start.cap_bnd.map(|bounding| (CapSet(bounding), CapSet(start.cap_amb.unwrap_or(0))));
    let before = State::read_with(last_cap, known)?;
    let caller = Caller { last_cap, permitted: before.sets.permitted, bounding: before.bounding, euid: before.uids[1] };
    let ids = options::resolve_ids(&request)?;
    let plan = options::plan(&request, ids, caller)?;
    let names = if request.show { Some((passwd::read(passwd::PASSWD)?, passwd::read(passwd::GROUP)?)) } else { None };

    steps::apply(&plan, before.bounding)?;
    let after = State::read(last_cap)?;
    steps::verify(&plan, &after)?;

    tool.trace(format_args!(
        "uid {} gid {} groups {}; bounding {}; permitted {}; ambient {}; no_new_privs {}",
        after.uids[0],
        after.gids[0],
        steps::join(&after.groups),
        after.bounding,
        after.sets.permitted,
        after.ambient,
        u8::from(after.no_new_privs),
    ));
    if let Some((passwd_text, group_text)) = names {
        let text = after.describe(passwd_text.as_deref(), group_text.as_deref());
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).context("write to stdout")?;
    }
    if tail.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(tool.exec(&tail))
}
