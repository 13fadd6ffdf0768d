//! unshare-lite: create new namespaces, then exec the rest of the command
//! line inside them. With --pid, fork a PID-1 init that runs it.
#![forbid(unsafe_code)]

mod cgroupdir;
mod init;
mod join;
mod mapper;
mod namespaces;
mod options;
mod procfile;
mod subids;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Context;
use chainload::Tool;
use nix::unistd::getpid;

use cgroupdir::CgroupDir;
use join::{Joins, Kind};
use options::{Options, Plan};
use subids::SubIds;

fn main() -> ExitCode {
    chainload::main("unshare-lite", run)
}

/// The steps, in the order the kernel requires whatever the order of the
/// options: the namespace files to join opened (all before any is
/// entered), the user namespace first (joined, or new: the others then
/// belong to it, which is what lets an unprivileged user create them),
/// then the PID and time namespaces that only children enter, then the
/// rest.
fn run(tool: &Tool, options: Options, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let plan = options.plan()?;
    let mut joins = Joins::open(&plan.joins, plan.join_foreign)?;
    let cgroup_dir = plan.cgroup_dir.as_deref().map(CgroupDir::open).transpose()?;
    // Taken before anything is made: a number that is not open is the
    // caller's mistake, said before a namespace exists.
    let leave = plan
        .detach_init
        .map(|fd| chainload::sys::adopt(fd).with_context(|| format!("--detach-init {fd}: not an open file descriptor")))
        .transpose()?;
    // The ranges are read before anything is made: no range, no namespace.
    let subids = if plan.map_subids { Some(SubIds::of_caller()?) } else { None };

    // setns(2): joining a user namespace first gives the capabilities the
    // other joins need, over the namespaces it owns.
    joins.enter(Kind::User)?;
    if plan.user {
        namespaces::enter_user(plan.map, subids)?;
    }
    // A joined PID namespace, like a new one, is pid_for_children only.
    joins.enter(Kind::Pid)?;
    namespaces::prepare_for_children(plan.pid, plan.time)?;
    if plan.forks() {
        return init::launch(tool, &plan, init::Inherited { joins, cgroup: cgroup_dir, leave }, &tail);
    }
    if plan.time.is_some() {
        namespaces::join_time_for_children()?;
    }
    setup_inside(&plan, joins)?;
    if let Some(path) = &plan.pidfile {
        namespaces::write_pidfile(path, getpid())?;
    }
    tool.trace(format_args!("{}", plan.describe()));
    Err(tool.exec(&tail))
}

/// What the process that ends up inside does: join the namespaces to be
/// joined, enter the new ones, then configure them. Propagation is changed
/// before /proc is mounted so that the new /proc does not propagate back
/// to the host.
pub(crate) fn setup_inside(plan: &Plan, joins: Joins) -> anyhow::Result<()> {
    joins.enter_rest()?;
    namespaces::enter(plan.namespaces)?;
    if plan.namespaces.contains(nix::sched::CloneFlags::CLONE_NEWNS) {
        namespaces::set_propagation(plan.propagation)?;
    }
    if plan.mount_proc {
        namespaces::mount_proc()?;
    }
    if let Some(name) = &plan.hostname {
        namespaces::set_hostname(name)?;
    }
    Ok(())
}
