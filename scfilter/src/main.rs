//! scfilter: load a seccomp filter, then exec the rest of the command line.
//! The last step of a chain: after it, only the program runs.
// unsafe only in `sys`, the thin seccomp/prctl/uname wrappers.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod arena;
mod bpf;
mod options;
mod precompiled;
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
    let facts = profile::Facts {
        bounding: sys::bounding_set().context("read the bounding set")?,
        kernel: profile::kernel_version(&sys::kernel_release().context("uname")?)?,
    };
    let filter = match &options.profile {
        None => match precompiled::find(&facts) {
            Some(variant) => Filter::stored(variant),
            None => Filter::compile("docker-default (built in)".into(), DOCKER_DEFAULT, &facts)?,
        },
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("read profile '{}'", path.display()))?;
            Filter::compile(path.display().to_string(), &text, &facts)?
        }
    };

    if let Some(path) = &options.emit_bpf {
        std::fs::write(path, bpf::to_bytes(&filter.insns)).with_context(|| format!("write '{}'", path.display()))?;
    }
    if tail.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    // Last before exec (as bubblewrap does): from here on every call this
    // process makes goes through the filter.
    sys::load_filter(&filter.insns, filter.flags).map_err(|err| match err {
        Errno::EACCES => anyhow!(
            "load seccomp filter: no_new_privs is not set and CAP_SYS_ADMIN is not held (run scfilter after capdrop)"
        ),
        err => anyhow!("load seccomp filter: {}", err.desc()),
    })?;
    tool.trace(format_args!(
        "profile {}: {} rules, {} system calls on {} ABIs, {} instructions{}",
        filter.label,
        filter.rules,
        filter.calls,
        filter.abis,
        filter.insns.len(),
        if filter.unknown.is_empty() {
            String::new()
        } else {
            format!("; unknown names skipped: {}", filter.unknown.join(","))
        },
    ));
    Err(tool.exec(&tail))
}

/// A program ready to load, and what the trace says of it.
struct Filter {
    label: String,
    insns: Cow<'static, [bpf::Insn]>,
    flags: u32,
    rules: usize,
    calls: usize,
    abis: usize,
    unknown: Vec<String>,
}

impl Filter {
    fn stored(variant: &'static precompiled::Variant) -> Filter {
        Filter {
            label: "docker-default (built in, compiled at build time)".into(),
            insns: Cow::Borrowed(variant.insns),
            flags: variant.flags,
            rules: variant.rules,
            calls: variant.calls,
            abis: variant.abis,
            unknown: variant.unknown.iter().map(|name| name.to_string()).collect(),
        }
    }

    fn compile(label: String, text: &str, facts: &profile::Facts) -> anyhow::Result<Filter> {
        let parsed = profile::parse(text).with_context(|| format!("bad profile '{label}'"))?;
        let policy = parsed.resolve(facts).with_context(|| format!("bad profile '{label}'"))?;
        let program = bpf::compile(&policy).with_context(|| format!("compile profile '{label}'"))?;
        Ok(Filter {
            insns: Cow::Owned(program.insns),
            flags: policy.flags,
            rules: policy.rules.len(),
            calls: program.calls,
            abis: policy.abis.len(),
            unknown: program.unknown,
            label,
        })
    }
}
