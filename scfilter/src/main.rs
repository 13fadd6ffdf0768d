//! scfilter: load a seccomp filter, then exec the rest of the command line.
//! The last step of a chain: after it, only the program runs.
// unsafe only in `sys`, the thin seccomp/prctl/uname wrappers.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod arena;
mod bpf;
mod options;
mod profile;
#[allow(unsafe_code)]
mod sys;
mod tables;

use std::borrow::Cow;
use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use chainload::Tool;
use nix::errno::Errno;

use options::Options;

#[global_allocator]
static ARENA: arena::Arena = arena::Arena::new();

/// Docker's default profile, moby's seccomp/default.json as data.
const DOCKER_DEFAULT: &str = include_str!("../profiles/docker-default.json");

fn main() -> ExitCode {
    chainload::main("scfilter", run)
}

/// Read the profile, decide its rules for this process (bounding set,
/// kernel), compile, write or load, then exec. Nothing is loaded unless the
/// whole profile compiled.
fn run(tool: &Tool, options: Options, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    options.check()?;

    let (label, text) = match &options.profile {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("read profile '{}'", path.display()))?;
            (path.display().to_string(), Cow::Owned(text))
        }
        None => ("docker-default (built in)".to_string(), Cow::Borrowed(DOCKER_DEFAULT)),
    };
    let facts = profile::Facts {
        bounding: sys::bounding_set().context("read the bounding set")?,
        kernel: profile::kernel_version(&sys::kernel_release().context("uname")?)?,
    };
    let parsed = profile::parse(&text).with_context(|| format!("bad profile '{label}'"))?;
    let policy = parsed.resolve(&facts).with_context(|| format!("bad profile '{label}'"))?;
    let program = bpf::compile(&policy).with_context(|| format!("compile profile '{label}'"))?;

    if let Some(path) = &options.emit_bpf {
        std::fs::write(path, bpf::to_bytes(&program.insns)).with_context(|| format!("write '{}'", path.display()))?;
    }
    if tail.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // Last before exec (as bubblewrap does): from here on every call this
    // process makes goes through the filter.
    sys::load_filter(&program.insns, policy.flags).map_err(|err| match err {
        Errno::EACCES => anyhow!(
            "load seccomp filter: no_new_privs is not set and CAP_SYS_ADMIN is not held (run scfilter after capdrop)"
        ),
        err => anyhow!("load seccomp filter: {}", err.desc()),
    })?;
    tool.trace(format_args!(
        "profile {label}: {} rules, {} system calls on {} ABIs, {} instructions{}",
        policy.rules.len(),
        program.calls,
        policy.abis.len(),
        program.insns.len(),
        if program.unknown.is_empty() {
            String::new()
        } else {
            format!("; unknown names skipped: {}", program.unknown.join(","))
        },
    ));
    Err(tool.exec(&tail))
}
