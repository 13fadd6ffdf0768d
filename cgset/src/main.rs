//! cgset: place a process in a cgroup with limits, then exec the rest of
//! the command line in it. cgroup v2 first; v1 for what v2 lacks.
// unsafe only in devices_bpf::sys, the bpf(2) wrapper.
#![deny(unsafe_code)]

mod cgroup;
mod devices;
mod devices_bpf;
mod files;
mod limits;
mod mounts;
mod options;
mod v1;
mod v2;
mod values;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use chainload::Tool;

use cgroup::{Created, Target};
use mounts::{Hierarchy, Version};
use options::{Options, Plan};

fn main() -> ExitCode {
    chainload::main("cgset", run)
}

/// The steps, in a fixed order: check everything; find the hierarchies;
/// create the cgroup and write the limits in each; move the processes in;
/// read their membership back; exec. Any failure after the first mkdir
/// moves the processes back and removes what this run made.
fn run(tool: &Tool, options: Options, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let plan = options.plan(std::process::id() as i32)?;
    let hierarchies = mounts::read()?;
    let relative = format!("{}/{}", cgroup::PARENT, plan.name.join("/"));

    if plan.remove {
        let removed = cgroup::remove(&hierarchies, &plan.name)?;
        let dirs: Vec<String> = removed.iter().map(|d| d.display().to_string()).collect();
        tool.trace(format_args!("removed {}", dirs.join(" ")));
        return finish(tool, &tail);
    }

    let unified = hierarchies.iter().find(|h| h.version == Version::V2);
    let v2_offers = match unified {
        Some(unified) => v2::offered(&unified.dir)?,
        None => Vec::new(),
    };
    let targets = cgroup::resolve(&hierarchies, &v2_offers, &plan.limits.wanted())?;
    // Where each process is now: checks that it exists before anything is
    // made, and is where it goes back to if a later step fails.
    let origins = plan.pids.iter().map(|&pid| proc_cgroup(pid)).collect::<anyhow::Result<Vec<String>>>()?;

    let mut created = Created::default();
    let mut moved: Vec<(i32, Hierarchy, String)> = Vec::new();
    let err = match place(&plan, &targets, &origins, &relative, &mut created, &mut moved) {
        Ok(report) => {
            tool.trace(format_args!("{relative}: {report}"));
            if tail.is_empty() {
                created.forget();
                return Ok(ExitCode::SUCCESS);
            }
            // Returns only if PROG could not be run: then the cgroup made
            // for it is undone like any other failed step.
            tool.exec(&tail)
        }
        Err(err) => err,
    };
    Err(undo(err, &moved, &mut created))
}

/// Move the processes back where they were, then remove the directories
/// this run made (a cgroup with processes in it cannot be removed).
fn undo(err: anyhow::Error, moved: &[(i32, Hierarchy, String)], created: &mut Created) -> anyhow::Error {
    for (pid, hierarchy, origin) in moved.iter().rev() {
        if let Some(dir) = cgroup::dir_of(hierarchy, origin) {
            let _ = cgroup::move_into(&dir, *pid);
        }
    }
    let left = created.undo();
    if left.is_empty() {
        err
    } else {
        err.context(format!("(could not remove {})", left.join(", ")))
    }
}

/// Create, limit, move, verify. Returns the trace text.
fn place(
    plan: &Plan,
    targets: &[Target],
    origins: &[String],
    relative: &str,
    created: &mut Created,
    moved: &mut Vec<(i32, Hierarchy, String)>,
) -> anyhow::Result<String> {
    let mut leaves: Vec<PathBuf> = Vec::new();
    let mut report = Vec::new();
    for target in targets {
        let leaf = target.create(&plan.name, created)?;
        let writes = target.apply(&leaf, &plan.limits)?;
        report.push(format!("{} {}", target.hierarchy.label(), leaf.display()) + &prefixed(" ", &writes.join(" ")));
        leaves.push(leaf);
    }
    let own_pid = std::process::id() as i32;
    for (&pid, origin) in plan.pids.iter().zip(origins) {
        // Read once: cgset makes no thread between here and exec.
        let single_threaded = pid == own_pid && cgroup::single_threaded()?;
        for (target, leaf) in targets.iter().zip(&leaves) {
            if skips(plan, target) {
                continue;
            }
            let before = mounts::cgroup_of(origin, &target.hierarchy.version).unwrap_or_default();
            moved.push((pid, target.hierarchy.clone(), before));
            let result = match pid == own_pid {
                true => cgroup::move_self(leaf, &target.hierarchy.version, pid, single_threaded),
                false => cgroup::move_into(leaf, pid),
            };
            result.with_context(|| format!("move process {pid} into '{}'", leaf.display()))?;
        }
        // Every hierarchy, v1 tasks moves included: a half-move is an error.
        verify(pid, targets.iter().filter(|t| !skips(plan, t)), relative)?;
    }
    let pids: Vec<String> = plan.pids.iter().map(i32::to_string).collect();
    if !pids.is_empty() {
        report.push(format!("moved {}", pids.join(",")));
    }
    if plan.leave_v2 && targets.iter().any(|t| t.hierarchy.version == Version::V2) {
        report.push("v2 move left to the next step".to_string());
    }
    Ok(report.join("; "))
}

/// With --leave-v2 the v2 hierarchy is made and limited, not joined: the
/// next step clones its child into it (CLONE_INTO_CGROUP), which skips the
/// wait a migration through cgroup.procs can take (an RCU grace period).
fn skips(plan: &Plan, target: &Target) -> bool {
    plan.leave_v2 && target.hierarchy.version == Version::V2
}

/// Read the process's membership back from the kernel: every hierarchy must
/// now show isokit/NAME below the mount's root.
fn verify<'a>(pid: i32, targets: impl Iterator<Item = &'a Target>, relative: &str) -> anyhow::Result<()> {
    let now = proc_cgroup(pid)?;
    for target in targets {
        let expected = target.hierarchy.cgroup_path(relative);
        let actual = mounts::cgroup_of(&now, &target.hierarchy.version);
        if actual.as_deref() != Some(expected.as_str()) {
            return Err(anyhow!(
                "process {pid} is in '{}' of the {} hierarchy, not '{expected}'",
                actual.unwrap_or_default(),
                target.hierarchy.label()
            ));
        }
    }
    Ok(())
}

fn proc_cgroup(pid: i32) -> anyhow::Result<String> {
    let path = format!("/proc/{pid}/cgroup");
    std::fs::read_to_string(&path).with_context(|| format!("process {pid}: read '{path}'"))
}

fn prefixed(prefix: &str, text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("{prefix}{text}")
    }
}

/// After --remove: exec the tail, or exit 0 when there is none.
fn finish(tool: &Tool, tail: &[std::ffi::OsString]) -> anyhow::Result<ExitCode> {
    if tail.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(tool.exec(tail))
}
