//! Command line of netns-setup, and every check that can be made before
//! the kernel is asked anything.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;

use argh::FromArgs;
use chainload::{usage, Chained};

use crate::cidr::{parse_ip, Cidr};
use crate::sysctl::Sysctl;

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] [--] PROG [ARGS...]",
    help_triggers("-h", "--help"),
    example = "Inside unshare-lite --net: a veth on a bridge, an address, a route:\n  $ unshare-lite --net --pid -- netns-setup --veth ve-web \\\n      --bridge isokit0 --addr 10.88.0.2/16 --gateway 10.88.0.1 -- sh",
    example = "Only loopback:\n  $ unshare-lite --net -- netns-setup -- ip link",
    note = "ISOKIT_TRACE=1 prints what was made. The manual: man netns-setup.",
    error_code(125, "netns-setup itself failed (bad option, a link could not be made)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found")
)]
/// Wire the network namespace of a container, then exec PROG in it.
pub struct Options {
    /// HOSTIF: make a veth pair, its outer end named HOSTIF
    #[argh(option, arg_name = "HOSTIF")]
    veth: Option<String>,
    /// NAME of the inner end (default eth0; requires --veth)
    #[argh(option, arg_name = "NAME")]
    ifname: Option<String>,
    /// CIDR of the inner end, repeatable (requires --veth)
    #[argh(option, arg_name = "CIDR")]
    addr: Vec<Cidr>,
    /// IP: default route, in an --addr network
    #[argh(option, arg_name = "IP", from_str_fn(parse_ip))]
    gateway: Option<IpAddr>,
    /// CIDR of the outer end, when there is no --bridge
    #[argh(option, arg_name = "CIDR")]
    host_addr: Option<Cidr>,
    /// BR: attach the outer end to the bridge BR
    #[argh(option, arg_name = "BR")]
    bridge: Option<String>,
    /// MTU of both ends, 68 to 65535 (requires --veth)
    #[argh(option, arg_name = "N")]
    mtu: Option<u32>,
    /// PATH of the outer namespace (/proc/PID/ns/net)
    #[argh(option, arg_name = "PATH")]
    outer_netns: Option<PathBuf>,
    /// net.KEY=VALUE: a sysctl of the new namespace, repeatable
    #[argh(option, arg_name = "KEY=VALUE")]
    sysctl: Vec<Sysctl>,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the program to run, and its arguments
    #[argh(positional, greedy, arg_name = "PROG")]
    command: Vec<String>,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        self.command.len()
    }

    fn version_asked(&self) -> bool {
        self.version
    }
}

/// What to do, checked; built before any system call.
#[derive(Debug)]
pub struct Plan {
    pub veth: Option<Veth>,
    pub outer_netns: Option<PathBuf>,
    pub sysctls: Vec<Sysctl>,
}

#[derive(Debug)]
pub struct Veth {
    pub host: String,
    pub inside: String,
    pub addrs: Vec<Cidr>,
    pub gateway: Option<IpAddr>,
    pub host_side: HostSide,
    pub mtu: Option<u32>,
}

/// What becomes of the outer end.
#[derive(Debug, PartialEq, Eq)]
pub enum HostSide {
    Bridge(String),
    Address(Cidr),
    Alone,
}

/// IFNAMSIZ - 1: the kernel keeps names in 16 bytes with the final NUL.
const IFNAME_MAX: usize = 15;
/// The smallest MTU an Ethernet device takes, and the largest a veth takes.
const MTU_RANGE: std::ops::RangeInclusive<u32> = 68..=65535;
/// IPv6 is switched off on a device whose MTU is below 1280 (RFC 8200).
const IPV6_MIN_MTU: u32 = 1280;

impl Options {
    /// Check every combination and resolve the plan, or say what is wrong.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        if self.command.is_empty() {
            return Err(usage("missing command to run"));
        }
        let Some(host) = &self.veth else {
            for (given, name) in [
                (self.ifname.is_some(), "--ifname"),
                (!self.addr.is_empty(), "--addr"),
                (self.gateway.is_some(), "--gateway"),
                (self.host_addr.is_some(), "--host-addr"),
                (self.bridge.is_some(), "--bridge"),
                (self.mtu.is_some(), "--mtu"),
            ] {
                if given {
                    return Err(usage(format!("{name} requires --veth")));
                }
            }
            return Ok(Plan { veth: None, outer_netns: self.outer_netns.clone(), sysctls: self.sysctl.clone() });
        };
        let inside = self.ifname.clone().unwrap_or_else(|| "eth0".to_string());
        check_ifname("--veth", host)?;
        check_ifname("--ifname", &inside)?;
        if let Some(bridge) = &self.bridge {
            check_ifname("--bridge", bridge)?;
            if bridge == host {
                return Err(usage(format!("--veth and --bridge both name '{host}'")));
            }
        }
        let mut seen = HashSet::new();
        for addr in &self.addr {
            if !seen.insert(addr.addr) {
                return Err(usage(format!("--addr {} given twice", addr.addr)));
            }
        }
        if let Some(gateway) = self.gateway {
            check_gateway(gateway, &self.addr)?;
        }
        let host_side = match (&self.bridge, self.host_addr) {
            (Some(_), Some(_)) => {
                return Err(usage(
                    "--bridge and --host-addr are mutually exclusive (the bridge holds the host's address)",
                ));
            }
            (Some(bridge), None) => HostSide::Bridge(bridge.clone()),
            (None, Some(addr)) => HostSide::Address(addr),
            (None, None) => HostSide::Alone,
        };
        if let Some(mtu) = self.mtu {
            if !MTU_RANGE.contains(&mtu) {
                return Err(usage(format!(
                    "invalid --mtu {mtu}: must be {} to {}",
                    MTU_RANGE.start(),
                    MTU_RANGE.end()
                )));
            }
            let v6 = self.addr.iter().chain(self.host_addr.iter()).any(|a| a.addr.is_ipv6());
            if v6 && mtu < IPV6_MIN_MTU {
                return Err(usage(format!("--mtu {mtu} is too small for IPv6 (at least {IPV6_MIN_MTU})")));
            }
        }
        Ok(Plan {
            veth: Some(Veth {
                host: host.clone(),
                inside,
                addrs: self.addr.clone(),
                gateway: self.gateway,
                host_side,
                mtu: self.mtu,
            }),
            outer_netns: self.outer_netns.clone(),
            sysctls: self.sysctl.clone(),
        })
    }
}

/// The rules of the kernel's dev_valid_name(): 1 to 15 bytes, not "." or
/// "..", no '/', ':' or white space. Checked here so that a bad name is a
/// usage error, not an EINVAL halfway through.
fn check_ifname(option: &str, name: &str) -> anyhow::Result<()> {
    let why = if name.is_empty() || name.len() > IFNAME_MAX {
        format!("must be 1 to {IFNAME_MAX} bytes")
    } else if name == "." || name == ".." {
        "is reserved".to_string()
    } else if name.bytes().any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0x0b) {
        "must not contain '/', ':' or white space".to_string()
    } else {
        return Ok(());
    };
    Err(usage(format!("invalid interface name '{name}' for {option}: {why}")))
}

/// The gateway must be reachable on the link: inside one of the networks
/// of --addr, of its own family (or an IPv6 link-local address, which is
/// on every link).
fn check_gateway(gateway: IpAddr, addrs: &[Cidr]) -> anyhow::Result<()> {
    let family = if gateway.is_ipv4() { "IPv4" } else { "IPv6" };
    if !addrs.iter().any(|a| a.addr.is_ipv4() == gateway.is_ipv4()) {
        return Err(usage(format!("--gateway {gateway} requires an {family} --addr")));
    }
    let link_local = matches!(gateway, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
    if link_local || addrs.iter().any(|a| a.contains(gateway)) {
        return Ok(());
    }
    Err(usage(format!("--gateway {gateway} is not in the network of any --addr")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(words: &[&str]) -> anyhow::Result<Plan> {
        let options = Options::from_args(&["netns-setup"], words).map_err(|e| anyhow::anyhow!(e.output))?;
        options.plan()
    }

    #[test]
    fn loopback_only_needs_nothing() {
        let plan = plan(&["true"]).expect("valid");
        assert!(plan.veth.is_none());
    }

    #[test]
    fn a_full_veth_plan() {
        let plan = plan(&[
            "--veth",
            "ve-web",
            "--bridge",
            "br0",
            "--addr",
            "10.88.0.2/16",
            "--addr",
            "fd00::2/64",
            "--gateway",
            "10.88.0.1",
            "--mtu",
            "1400",
            "sh",
        ])
        .expect("valid");
        let veth = plan.veth.expect("veth");
        assert_eq!(veth.inside, "eth0");
        assert_eq!(veth.addrs.len(), 2);
        assert_eq!(veth.host_side, HostSide::Bridge("br0".into()));
        assert_eq!(veth.mtu, Some(1400));
    }

    #[test]
    fn veth_options_require_veth() {
        for words in [
            &["--addr", "10.0.0.2/8", "true"][..],
            &["--bridge", "br0", "true"],
            &["--mtu", "1500", "true"],
            &["--ifname", "x", "true"],
        ] {
            assert!(plan(words).is_err(), "{words:?}");
        }
    }

    #[test]
    fn interface_names_follow_the_kernel_rules() {
        let long = "a".repeat(16);
        for bad in ["", ".", "..", "a/b", "a b", "a:b", "a\tb", long.as_str()] {
            assert!(plan(&["--veth", bad, "true"]).is_err(), "{bad:?}");
            assert!(plan(&["--veth", "ok", "--ifname", bad, "true"]).is_err(), "{bad:?}");
        }
        assert!(plan(&["--veth", &"a".repeat(15), "true"]).is_ok());
    }

    #[test]
    fn gateway_must_be_on_link() {
        assert!(plan(&["--veth", "v", "--gateway", "10.0.0.1", "true"]).is_err());
        assert!(plan(&["--veth", "v", "--addr", "10.0.0.2/24", "--gateway", "10.0.1.1", "true"]).is_err());
        assert!(plan(&["--veth", "v", "--addr", "10.0.0.2/24", "--gateway", "fd00::1", "true"]).is_err());
        assert!(plan(&["--veth", "v", "--addr", "fd00::2/64", "--gateway", "fe80::1", "true"]).is_ok());
        assert!(plan(&["--veth", "v", "--addr", "10.0.0.2/24", "--gateway", "10.0.0.1", "true"]).is_ok());
    }

    #[test]
    fn conflicts_and_ranges() {
        assert!(plan(&["--veth", "v", "--bridge", "b", "--host-addr", "10.0.0.1/24", "true"]).is_err());
        assert!(plan(&["--veth", "v", "--bridge", "v", "true"]).is_err());
        assert!(plan(&["--veth", "v", "--mtu", "67", "true"]).is_err());
        assert!(plan(&["--veth", "v", "--mtu", "65536", "true"]).is_err());
        assert!(plan(&["--veth", "v", "--mtu", "1000", "--addr", "fd00::2/64", "true"]).is_err());
        assert!(plan(&["--veth", "v", "--addr", "10.0.0.2/24", "--addr", "10.0.0.2/16", "true"]).is_err());
        assert!(plan(&["--veth", "v"]).is_err());
    }
}
