//! The veth pair: checked against both namespaces, created, configured,
//! and deleted again if any later step fails.
//!
//! The pair is created from the outer namespace, with the inner end born
//! directly in the container's namespace (IFLA_NET_NS_FD on the peer).
//! The outer namespace is the one shared with the host and other
//! containers, so that is where a name can clash; creating there with
//! NLM_F_EXCL makes "is HOSTIF free" and "take it" one atomic step, and
//! the inner name (eth0) never appears in the outer namespace, where the
//! host may well have an eth0 of its own.

use anyhow::{anyhow, bail, Context};
use std::os::fd::AsRawFd;

use crate::netlink::Netlink;
use crate::options::{HostSide, Veth};
use crate::outer::Namespaces;

/// Ask both namespaces what must hold before anything is created: HOSTIF
/// free outside, NAME free inside, the bridge present and a bridge.
pub fn check(inside: &mut Netlink, outer: &mut Netlink, veth: &Veth) -> anyhow::Result<()> {
    if outer.link(&veth.host).context("look up --veth in the outer network namespace")?.is_some() {
        bail!("interface '{}' already exists in the outer network namespace (choose another --veth name)", veth.host);
    }
    if inside.link(&veth.inside).context("look up --ifname in the container's network namespace")?.is_some() {
        bail!(
            "interface '{}' already exists in the container's network namespace (choose another --ifname)",
            veth.inside
        );
    }
    if let HostSide::Bridge(bridge) = &veth.host_side {
        let link = outer.link(bridge).context("look up --bridge in the outer network namespace")?;
        match link.map(|link| link.kind) {
            None => bail!("bridge '{bridge}' does not exist in the outer network namespace (scripts/netbridge up --name {bridge} makes one)"),
            Some(Some(kind)) if kind == "bridge" => {}
            Some(Some(kind)) => bail!("'{bridge}' in the outer network namespace is not a bridge (it is a {kind})"),
            Some(None) => bail!("'{bridge}' in the outer network namespace is not a bridge"),
        }
    }
    Ok(())
}

/// Create and configure the pair; on any failure after the creation,
/// delete it (deleting one end of a veth deletes both).
pub fn create(inside: &mut Netlink, outer: &mut Netlink, veth: &Veth, namespaces: &Namespaces) -> anyhow::Result<()> {
    outer
        .create_veth(&veth.host, &veth.inside, namespaces.own.as_raw_fd(), veth.mtu)
        .with_context(|| format!("create veth '{}' in the outer network namespace", veth.host))?;
    let configured = configure_outer(outer, veth).and_then(|()| configure_inside(inside, veth));
    if let Err(err) = configured {
        if let Err(cleanup) = outer.delete_link(&veth.host) {
            return Err(err.context(anyhow!("and deleting veth '{}' failed too: {cleanup:#}", veth.host)));
        }
        return Err(err);
    }
    Ok(())
}

/// HOSTIF: on the bridge (port first, then up, so it never forwards as a
/// lone interface) or addressed, then up.
fn configure_outer(outer: &mut Netlink, veth: &Veth) -> anyhow::Result<()> {
    let host = &veth.host;
    let index = outer.index(host).with_context(|| format!("find '{host}' in the outer network namespace"))?;
    match &veth.host_side {
        HostSide::Bridge(bridge) => {
            let master = outer.index(bridge).with_context(|| format!("find bridge '{bridge}'"))?;
            outer.set_master(index, master).with_context(|| format!("attach '{host}' to bridge '{bridge}'"))?;
        }
        HostSide::Address(addr) => {
            outer.add_address(index, *addr).with_context(|| format!("add address {addr} to '{host}'"))?;
        }
        HostSide::Alone => {}
    }
    outer.set_up(index).with_context(|| format!("bring '{host}' up"))
}

/// NAME: addresses, up, then the default route (a route through a link
/// that is down is refused with ENETDOWN).
fn configure_inside(inside: &mut Netlink, veth: &Veth) -> anyhow::Result<()> {
    let name = &veth.inside;
    let index = inside.index(name).with_context(|| format!("find '{name}' in the container's network namespace"))?;
    for addr in &veth.addrs {
        inside.add_address(index, *addr).with_context(|| format!("add address {addr} to '{name}'"))?;
    }
    inside.set_up(index).with_context(|| format!("bring '{name}' up"))?;
    if let Some(gateway) = veth.gateway {
        inside
            .add_default_route(index, gateway)
            .with_context(|| format!("add default route via {gateway} on '{name}'"))?;
    }
    Ok(())
}

/// One line for ISOKIT_TRACE: what was created, and in which namespace.
pub fn describe(veth: &Veth, namespaces: &Namespaces) -> String {
    let outer_side = match &veth.host_side {
        HostSide::Bridge(bridge) => format!(" on bridge {bridge}"),
        HostSide::Address(addr) => format!(" {addr}"),
        HostSide::Alone => String::new(),
    };
    let addrs: Vec<String> = veth.addrs.iter().map(|a| a.to_string()).collect();
    let mut line = format!(
        "lo up; veth {}{outer_side} in {} ({}) <-> {}{}{} in {}",
        veth.host,
        Namespaces::name(&namespaces.outer),
        namespaces.outer_source,
        veth.inside,
        if addrs.is_empty() { "" } else { " " },
        addrs.join(" "),
        Namespaces::name(&namespaces.own),
    );
    if let Some(gateway) = veth.gateway {
        line.push_str(&format!(", default via {gateway}"));
    }
    if let Some(mtu) = veth.mtu {
        line.push_str(&format!(", mtu {mtu}"));
    }
    line
}
