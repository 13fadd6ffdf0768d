//! Compile the built-in profile (Docker's default) at build time for the
//! processes scfilter usually runs as, so that a launch skips parsing 13 kB
//! of JSON and compiling it: about 0.15 ms of the link's cost. The same
//! source files as the binary's do the work (included below), so what is
//! stored is exactly what scfilter would compile at run time; a process
//! that matches no stored variant still gets it compiled then.

#[allow(dead_code)]
#[path = "src/bpf.rs"]
mod bpf;
#[allow(dead_code)]
#[path = "src/profile.rs"]
mod profile;
#[path = "src/tables.rs"]
mod tables;

use std::fmt::Write as _;

/// The bounding sets ahead of time: capdrop's default (Docker's 14
/// capabilities, CapBnd a80425fb) and every capability (a root caller
/// without capdrop, and `contain --privileged`'s set).
const BOUNDING_SETS: [u64; 2] = [0xa804_25fb, (1 << 41) - 1];

fn main() -> anyhow::Result<()> {
    println!("cargo::rerun-if-changed=profiles/docker-default.json");
    println!("cargo::rerun-if-changed=src/bpf.rs");
    println!("cargo::rerun-if-changed=src/profile.rs");
    println!("cargo::rerun-if-changed=src/tables.rs");
    let text = std::fs::read_to_string("profiles/docker-default.json")?;
    let parsed = profile::parse(&text)?;
    let (caps, kernels) = parsed.dependencies()?;
    // Every version the profile compares against is older than any kernel
    // this kit runs on (openat2 needs 5.6): stored for "at least" each.
    let newest = kernels.iter().max().copied().unwrap_or((0, 0));

    let mut out = String::new();
    writeln!(out, "pub const CAPS: u64 = {caps:#x};")?;
    writeln!(out, "pub const KERNELS: &[(u32, u32)] = &{kernels:?};")?;
    writeln!(out, "pub const VARIANTS: &[Variant] = &[")?;
    for bounding in BOUNDING_SETS {
        let facts = profile::Facts { bounding, kernel: newest };
        let policy = parsed.resolve(&facts)?;
        let program = bpf::compile(&policy)?;
        writeln!(out, "    Variant {{")?;
        writeln!(out, "        bounding: {:#x},", bounding & caps)?;
        writeln!(out, "        rules: {}, calls: {}, abis: {},", policy.rules.len(), program.calls, policy.abis.len())?;
        writeln!(out, "        flags: {}, unknown: &{:?},", policy.flags, program.unknown)?;
        write!(out, "        insns: &[")?;
        for insn in &program.insns {
            write!(out, "Insn {{ code: {}, jt: {}, jf: {}, k: {} }}, ", insn.code, insn.jt, insn.jf, insn.k)?;
        }
        writeln!(out, "],\n    }},")?;
    }
    writeln!(out, "];")?;
    let dir = std::env::var("OUT_DIR")?;
    std::fs::write(format!("{dir}/precompiled.rs"), out)?;
    Ok(())
}
