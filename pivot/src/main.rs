//! pivot: switch into an image's root filesystem, with a fresh /proc, a
//! minimal /dev, a read-only /sys and the volumes asked for, then exec the
//! rest of the command line inside it.
// deny rather than forbid: the one module of syscall wrappers opts out.
#![deny(unsafe_code)]

mod dev;
mod fresh;
mod host_prog;
mod mounts;
mod options;
mod resolve;

// The only module with `unsafe`: thin system call wrappers.
#[allow(unsafe_code)]
mod sys;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use chainload::{ancestor_in_other_namespace, own_namespaces, Tool};
use nix::mount::{umount2, MntFlags};
use nix::unistd::{chdir, fchdir, pivot_root};

use host_prog::HostProgram;
use mounts::{Image, Root, Volume};
use options::{Options, Plan, RootKind};

/// A bump allocator: this step execs within a millisecond, and musl's
/// allocator would map and unmap the same pages dozens of times meanwhile
/// (see `chainload::Arena`).
#[global_allocator]
static ALLOCATOR: chainload::Arena = chainload::Arena::new();

fn main() -> ExitCode {
    chainload::main("pivot", run)
}

/// The steps, in a fixed order whatever the order of the options. Nothing
/// is mounted until every input has been checked and opened.
fn run(tool: &Tool, options: Options, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let plan = options.plan()?;
    // Before anything is made: an inherited directory, O_PATH or namespace
    // fd would still reach the host after pivot_root.
    tool.refuse_inherited_host_handles()?;
    // One walk up the ancestors answers the three questions the steps ask.
    let [new_mount_namespace, new_net_namespace, new_cgroup_namespace] = own_namespaces(["mnt", "net", "cgroup"])?;
    if !new_mount_namespace {
        bail!("refusing to pivot the host's root: no ancestor is in another mount namespace (run it inside unshare-lite --mount)");
    }

    // Inputs on the host, opened before anything is mounted.
    let image = Image::open(&plan.newroot)?;
    let volumes = plan.binds.iter().map(Volume::prepare).collect::<anyhow::Result<Vec<_>>>()?;
    let next = match (plan.next_from_host, tail.first()) {
        (true, Some(program)) => Some(HostProgram::load(program)?),
        _ => None,
    };

    mounts::make_private()?;
    let root = mounts::make_root(&image, &plan.root)?;
    let namespaces = NewNamespaces { net: new_net_namespace, cgroup: new_cgroup_namespace };
    if let Err(err) = fill(&root, &plan, volumes, namespaces) {
        root.undo();
        return Err(err);
    }
    let from_host = next.as_ref().map(|program| program.how);
    // The PID namespace only changes what the trace line says about /proc:
    // looked up, and the line built, only when it is printed.
    if tool.tracing() {
        let new_pid_namespace = ancestor_in_other_namespace("pid")?.exists();
        tool.trace(format_args!("{}", describe(&plan, &image.path, new_pid_namespace, new_net_namespace, from_host)));
    }

    drop(image); // no handle on the host's directory past this point
                 // From here on this process runs inside the container with the host's
                 // binary: no process inside may reach it through /proc/PID/exe.
    chainload::sys::set_non_dumpable()?;
    switch_root(&root.fd)?;
    drop(root);
    match next {
        Some(program) => Err(program.exec(tool, &tail)),
        None => Err(tool.exec(&tail)),
    }
}

/// Which namespaces of its own, besides the mount namespace, this process has.
struct NewNamespaces {
    net: bool,
    cgroup: bool,
}

/// Everything mounted inside the new root: the system mounts first, so a
/// volume may go below /dev or /run; the root made read-only last.
fn fill(root: &Root, plan: &Plan, volumes: Vec<Volume>, namespaces: NewNamespaces) -> anyhow::Result<()> {
    if plan.proc {
        root.mount_proc()?;
    }
    if plan.dev {
        root.mount_dev()?;
    }
    if plan.sys {
        // Outside a cgroup namespace of its own a cgroup mount would show
        // the host's whole tree: then /sys/fs/cgroup stays empty.
        let cgroup = plan.cgroup && namespaces.cgroup;
        root.mount_sys(namespaces.net, cgroup)?;
    }
    for tmpfs in &plan.tmpfs {
        root.mount_tmpfs(tmpfs)?;
    }
    for volume in &volumes {
        root.mount_bind(volume)?;
    }
    if plan.read_only_root {
        root.make_read_only()?;
    }
    Ok(())
}

/// pivot_root(".", "."), as pivot_root(2) documents: the old root ends up
/// mounted on top of the new one at ".", so no put-old directory is needed
/// (and none is written into a read-only image); unmounting "." then
/// detaches the old root, and chdir("/") leaves no handle on it.
fn switch_root(root: &std::os::fd::OwnedFd) -> anyhow::Result<()> {
    fchdir(root).context("chdir into the new root")?;
    pivot_root(".", ".").context("pivot_root into the new root (run it inside unshare-lite --mount)")?;
    umount2(".", MntFlags::MNT_DETACH).context("detach the old root")?;
    chdir(Path::new("/")).context("chdir to the new '/'")
}

fn describe(plan: &Plan, image: &Path, new_pid: bool, new_net: bool, from_host: Option<&str>) -> String {
    let mut parts = vec![match &plan.root {
        RootKind::Bind => format!("root '{}'", image.display()),
        RootKind::Overlay(upper) => format!("root overlay '{}' upper '{}'", image.display(), upper.display()),
        RootKind::TmpOverlay => format!("root overlay '{}' upper tmpfs", image.display()),
    }];
    if plan.proc {
        parts.push(if new_pid { "proc".into() } else { "proc (host PIDs: no new PID namespace)".into() });
    }
    if plan.dev {
        parts.push("dev".into());
    }
    if plan.sys {
        parts.push(if new_net { "sysfs ro".into() } else { "sys ro bind".into() });
    }
    parts.extend(plan.tmpfs.iter().map(|t| format!("tmpfs {}", t.destination.display())));
    parts.extend(plan.binds.iter().map(|b| {
        format!("bind {}:{}{}", b.source.display(), b.destination.display(), if b.read_only { ":ro" } else { "" })
    }));
    if plan.read_only_root {
        parts.push("root ro".into());
    }
    let next = from_host.map(|how| format!("; next step from the host through a {how}")).unwrap_or_default();
    format!("{}; pivot_root{next}", parts.join(", "))
}
