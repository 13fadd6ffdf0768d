//! netns-setup: wire the network namespace a container runs in (loopback,
//! a veth pair to the outer namespace, addresses, default route), then
//! exec the rest of the command line.
#![forbid(unsafe_code)]

mod cidr;
mod netlink;
mod options;
mod outer;
mod sysctl;
mod veth;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Context;
use chainload::Tool;

use netlink::Netlink;
use options::Options;

fn main() -> ExitCode {
    chainload::main("netns-setup", run)
}

/// The steps, in a fixed order: check the options, find the outer
/// namespace (refusing to wire the one we are in), open one netlink socket
/// per namespace, ask the kernel about every name before creating
/// anything, then loopback, then the veth pair, then the sysctls (last,
/// so that a key of the new eth0, net.ipv4.conf.eth0.*, exists).
fn run(tool: &Tool, options: Options, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let plan = options.plan()?;

    // Loopback alone, in a user namespace of its own (rootless contain):
    // the launcher is outside it, so its /proc/PID/ns/net cannot be opened
    // from here, and need not be. The outer namespace is only looked for
    // so as not to wire the host's; from a child user namespace the kernel
    // already refuses that (CAP_NET_ADMIN there counts only in network
    // namespaces this user namespace owns).
    if plan.veth.is_none() && plan.outer_netns.is_none() && outer::in_child_user_namespace() {
        let mut inside = Netlink::open().context("in the container's network namespace")?;
        loopback_up(&mut inside)?;
        apply_sysctls(&plan)?;
        drop(inside);
        tool.trace(format_args!("lo up in a user namespace's own network namespace{}", sysctl_note(&plan)));
        return Err(tool.exec(&tail));
    }
    let namespaces = outer::find(plan.outer_netns.as_deref())?;
    let mut inside = Netlink::open().context("in the container's network namespace")?;
    let done = match &plan.veth {
        None => {
            loopback_up(&mut inside)?;
            format!("lo up in {}", outer::Namespaces::name(&namespaces.own))
        }
        Some(veth) => {
            let mut outside = outer::netlink_in_outer(&namespaces)?;
            veth::check(&mut inside, &mut outside, veth)?;
            loopback_up(&mut inside)?;
            veth::create(&mut inside, &mut outside, veth, &namespaces)?;
            veth::describe(veth, &namespaces)
        }
    };
    apply_sysctls(&plan)?;
    let done = format!("{done}{}", sysctl_note(&plan));
    // The namespace files and sockets are close-on-exec; dropping them
    // here as well means PROG could not get them even by a bug in that.
    drop(namespaces);
    drop(inside);
    tool.trace(format_args!("{done}"));
    Err(tool.exec(&tail))
}

/// A failure here leaves nothing behind: the veth pair lives in this
/// namespace, which dies with the chain once netns-setup exits 125.
fn apply_sysctls(plan: &options::Plan) -> anyhow::Result<()> {
    plan.sysctls.iter().try_for_each(|sysctl| sysctl.apply())
}

fn sysctl_note(plan: &options::Plan) -> String {
    if plan.sysctls.is_empty() {
        return String::new();
    }
    let keys: Vec<&str> = plan.sysctls.iter().map(|s| s.key.as_str()).collect();
    format!("; sysctl {}", keys.join(","))
}

fn loopback_up(inside: &mut Netlink) -> anyhow::Result<()> {
    let index = inside.index("lo").context("find 'lo'")?;
    inside.set_up(index).context("bring 'lo' up")
}
