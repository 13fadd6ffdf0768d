//! Addresses with a prefix length (`10.88.0.2/16`, `fd00::2/64`) and the
//! checks made on them before anything is created.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An interface address: the address itself and its prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    fn max_prefix(addr: IpAddr) -> u8 {
        if addr.is_ipv4() {
            32
        } else {
            128
        }
    }

    /// Whether `ip` lies in this address's network (same family, same
    /// leading `prefix` bits).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let bits = usize::from(prefix);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[whole] & mask == b[whole] & mask
}

impl FromStr for Cidr {
    type Err = String;

    /// `ADDR/LEN`. The prefix is required: an address alone would be a
    /// /32 (or /128) with no on-link network, which is never what a
    /// container's interface needs.
    fn from_str(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("invalid address '{text}': expected ADDRESS/PREFIX, e.g. 10.88.0.2/16"))?;
        let addr: IpAddr =
            addr.parse().map_err(|_| format!("invalid address '{text}': '{addr}' is not an IPv4 or IPv6 address"))?;
        let max = Cidr::max_prefix(addr);
        let prefix = prefix
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max && !prefix.starts_with('+'))
            .ok_or_else(|| format!("invalid address '{text}': prefix length must be 0 to {max}"))?;
        if addr.is_unspecified() || addr.is_multicast() {
            return Err(format!("invalid address '{text}': not a unicast address"));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A bare address (the gateway), unicast only.
pub fn parse_ip(text: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = text.parse().map_err(|_| format!("invalid address '{text}': not an IPv4 or IPv6 address"))?;
    if ip.is_unspecified() || ip.is_multicast() {
        return Err(format!("invalid address '{text}': not a unicast address"));
    }
    Ok(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str) -> Result<Cidr, String> {
        text.parse()
    }

    #[test]
    fn parses_v4_and_v6() {
        assert_eq!(cidr("10.88.0.2/16").unwrap().to_string(), "10.88.0.2/16");
        assert_eq!(cidr("fd00::2/64").unwrap().to_string(), "fd00::2/64");
        assert_eq!(cidr("10.0.0.1/0").unwrap().prefix, 0);
        assert_eq!(cidr("fd00::1/128").unwrap().prefix, 128);
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "10.88.0.2",
            "10.88.0.2/",
            "/16",
            "10.88.0.300/16",
            "10.88.0.2/33",
            "fd00::2/129",
            "10.88.0.2/-1",
            "10.88.0.2/+8",
            "10.88.0.2/16/1",
            "10.88.0/16",
            "eth0/16",
            "0.0.0.0/0",
            "224.0.0.1/4",
            "::/0",
            " 10.0.0.1/8",
            "10.0.0.1/ 8",
        ] {
            assert!(cidr(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn contains_follows_the_prefix() {
        let net = cidr("10.88.0.2/16").unwrap();
        assert!(net.contains("10.88.255.1".parse().unwrap()));
        assert!(!net.contains("10.89.0.1".parse().unwrap()));
        assert!(!net.contains("fd00::1".parse().unwrap()));
        let odd = cidr("192.168.1.130/25").unwrap();
        assert!(odd.contains("192.168.1.129".parse().unwrap()));
        assert!(!odd.contains("192.168.1.127".parse().unwrap()));
        assert!(cidr("fd00::2/64").unwrap().contains("fd00::ffff:1".parse().unwrap()));
        assert!(cidr("10.0.0.1/0").unwrap().contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn gateway_must_be_unicast() {
        assert!(parse_ip("10.88.0.1").is_ok());
        assert!(parse_ip("fe80::1").is_ok());
        assert!(parse_ip("0.0.0.0").is_err());
        assert!(parse_ip("10.88.0.1/16").is_err());
    }
}
