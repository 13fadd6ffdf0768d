//! A small synchronous rtnetlink client: one request, one answer.
//!
//! netlink-packet-route lays out the messages and netlink-sys owns the
//! socket (opened SOCK_CLOEXEC); the request/answer loop is written here,
//! because the async `rtnetlink` crate would bring a whole runtime into a
//! single-threaded tool that sends half a dozen messages. A socket belongs
//! for its whole life to the network namespace it was created in
//! (netlink(7)), which is how one process talks to two namespaces.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::fd::RawFd;

use anyhow::{anyhow, Context};
use netlink_packet_core::{Emitable, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::cidr::Cidr;

/// Big enough for any single answer to a non-dump request (a link
/// message with its statistics is a few KiB).
const RECEIVE_BUFFER: usize = 64 * 1024;
/// nlmsgerr attribute carrying the kernel's text (linux/netlink.h).
const NLMSGERR_ATTR_MSG: u16 = 1;
/// sizeof(struct nlmsghdr).
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;

pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

/// An error the kernel answered, with its extended-ack text when it gave one
/// ("Master device is not a bridge").
#[derive(Debug)]
pub struct KernelError {
    errno: i32,
    text: Option<String>,
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", nix::errno::Errno::from_raw(self.errno).desc())?;
        match &self.text {
            Some(text) => write!(f, " ({text})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for KernelError {}

impl Netlink {
    /// Open a route netlink socket in the current network namespace.
    pub fn open() -> anyhow::Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE).context("open a netlink socket")?;
        socket.bind_auto().context("bind the netlink socket")?;
        socket.connect(&SocketAddr::new(0, 0)).context("connect the netlink socket")?;
        // Best effort: older kernels lack these, and the errno alone is
        // still a correct (if terser) answer.
        let _ = socket.set_ext_ack(true);
        let _ = socket.set_cap_ack(true);
        Ok(Netlink { socket, sequence: 0 })
    }

    /// The link named `name`, or None if there is none.
    pub fn link(&mut self, name: &str) -> anyhow::Result<Option<Link>> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.to_string()));
        let sequence = self.send(libc::RTM_GETLINK, NLM_F_REQUEST, &message)?;
        match self.answer(sequence)? {
            Answer::Link(link) => Ok(Some(link)),
            Answer::Error(err) if err.errno == libc::ENODEV => Ok(None),
            Answer::Error(err) => Err(err.into()),
            Answer::Ack => Err(anyhow!("netlink answered an ack to a query")),
        }
    }

    /// The index of the link named `name`, which must exist.
    pub fn index(&mut self, name: &str) -> anyhow::Result<u32> {
        match self.link(name)? {
            Some(link) => Ok(link.index),
            None => Err(anyhow::Error::new(io::Error::from_raw_os_error(libc::ENODEV))),
        }
    }

    /// Create a veth pair: `name` here, `peer` directly in the network
    /// namespace `peer_netns` (IFLA_NET_NS_FD on the peer: the peer is born
    /// there, never exists here, so its name cannot clash with ours).
    pub fn create_veth(&mut self, name: &str, peer: &str, peer_netns: RawFd, mtu: Option<u32>) -> anyhow::Result<()> {
        let mut peer_message = LinkMessage::default();
        peer_message.attributes.push(LinkAttribute::IfName(peer.to_string()));
        peer_message.attributes.push(LinkAttribute::NetNsFd(peer_netns));
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(mtu) = mtu {
            peer_message.attributes.push(LinkAttribute::Mtu(mtu));
            message.attributes.push(LinkAttribute::Mtu(mtu));
        }
        message.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_message))),
        ]));
        // NLM_F_EXCL: an existing link of that name is an error, never reused.
        self.request(libc::RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &message)
    }

    /// Delete the link named `name` (by name, so that cleanup works even
    /// when its index was never learnt).
    pub fn delete_link(&mut self, name: &str) -> anyhow::Result<()> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.request(libc::RTM_DELLINK, 0, &message)
    }

    pub fn set_up(&mut self, index: u32) -> anyhow::Result<()> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        message.header.flags = LinkFlags::Up;
        message.header.change_mask = LinkFlags::Up;
        self.request(libc::RTM_SETLINK, 0, &message)
    }

    /// Enslave link `index` to `master` (a bridge port).
    pub fn set_master(&mut self, index: u32, master: u32) -> anyhow::Result<()> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        message.attributes.push(LinkAttribute::Controller(master));
        self.request(libc::RTM_SETLINK, 0, &message)
    }

    /// Add an address to link `index`. IPv6 addresses are added with
    /// IFA_F_NODAD: duplicate address detection would keep the address
    /// "tentative" (unusable) for about a second after the link comes up,
    /// and on a container's own link there is nobody to collide with.
    pub fn add_address(&mut self, index: u32, cidr: Cidr) -> anyhow::Result<()> {
        let mut message = AddressMessage::default();
        message.header.family = family(cidr.addr);
        message.header.prefix_len = cidr.prefix;
        message.header.index = index;
        if cidr.addr.is_ipv6() {
            message.header.flags = AddressHeaderFlags::Nodad;
            message.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        message.attributes.push(AddressAttribute::Local(cidr.addr));
        message.attributes.push(AddressAttribute::Address(cidr.addr));
        self.request(libc::RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &message)
    }

    /// The default route of the gateway's family, through link `index`.
    pub fn add_default_route(&mut self, index: u32, gateway: IpAddr) -> anyhow::Result<()> {
        let mut message = RouteMessage::default();
        message.header.address_family = family(gateway);
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        message.header.protocol = RouteProtocol::Boot;
        message.header.scope = RouteScope::Universe;
        message.header.kind = RouteType::Unicast;
        message.attributes.push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
        message.attributes.push(RouteAttribute::Oif(index));
        self.request(libc::RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &message)
    }

    /// Send a request that changes something and wait for the kernel's ack.
    fn request(&mut self, kind: u16, flags: u16, body: &dyn Emitable) -> anyhow::Result<()> {
        let sequence = self.send(kind, NLM_F_REQUEST | NLM_F_ACK | flags, body)?;
        match self.answer(sequence)? {
            Answer::Ack => Ok(()),
            Answer::Error(err) => Err(err.into()),
            Answer::Link(_) => Err(anyhow!("netlink answered a link to a request")),
        }
    }

    /// Frame `body` with a netlink header (struct nlmsghdr) and send it.
    fn send(&mut self, kind: u16, flags: u16, body: &dyn Emitable) -> anyhow::Result<u32> {
        self.sequence += 1;
        let length = NLMSG_HDRLEN + body.buffer_len();
        let mut buffer = vec![0; length];
        let total = u32::try_from(length).context("netlink request too large")?;
        buffer[0..4].copy_from_slice(&total.to_ne_bytes());
        buffer[4..6].copy_from_slice(&kind.to_ne_bytes());
        buffer[6..8].copy_from_slice(&flags.to_ne_bytes());
        buffer[8..12].copy_from_slice(&self.sequence.to_ne_bytes());
        body.emit(&mut buffer[NLMSG_HDRLEN..]);
        self.socket.send(&buffer, 0).context("send a netlink request")?;
        Ok(self.sequence)
    }

    /// The first answer to request `sequence` (answers to anything else,
    /// which a unicast socket should not get, are skipped). The framing is
    /// read here and only link messages are parsed by the crate: going
    /// through its RouteNetlinkMessage enum would link the parsers of
    /// every rtnetlink message (traffic control, neighbours...) into the
    /// binary.
    fn answer(&mut self, sequence: u32) -> anyhow::Result<Answer> {
        loop {
            let mut buffer = Vec::with_capacity(RECEIVE_BUFFER);
            let size = self.socket.recv(&mut buffer, libc::MSG_TRUNC).context("receive a netlink answer")?;
            if size > buffer.len() {
                return Err(anyhow!("netlink answer of {size} bytes truncated"));
            }
            let mut rest = &buffer[..];
            while rest.len() >= NLMSG_HDRLEN {
                let length = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let kind = u16::from_ne_bytes([rest[4], rest[5]]);
                let flags = u16::from_ne_bytes([rest[6], rest[7]]);
                let seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
                if length < NLMSG_HDRLEN || length > rest.len() {
                    return Err(anyhow!("malformed netlink answer (length {length})"));
                }
                let body = &rest[NLMSG_HDRLEN..length];
                if seq == sequence {
                    if kind == NLMSG_ERROR && body.len() >= 4 {
                        let code = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
                        return Ok(match code {
                            0 => Answer::Ack,
                            _ => Answer::Error(KernelError { errno: -code, text: ack_text(&body[4..], flags) }),
                        });
                    }
                    if kind == libc::RTM_NEWLINK {
                        let link = Link::parse(body).ok_or_else(|| anyhow!("malformed netlink link message"))?;
                        return Ok(Answer::Link(link));
                    }
                }
                rest = &rest[align(length).min(rest.len())..];
            }
        }
    }
}

enum Answer {
    Ack,
    Error(KernelError),
    Link(Link),
}

/// What netns-setup needs to know of an existing link.
pub struct Link {
    pub index: u32,
    /// IFLA_INFO_KIND: "bridge", "veth", ... (None for devices without
    /// rtnl_link_ops, such as a physical NIC).
    pub kind: Option<String>,
}

impl Link {
    /// Read an RTM_NEWLINK body: struct ifinfomsg (16 bytes, the index at
    /// offset 4), then attributes; the kind is nested in IFLA_LINKINFO.
    /// Read by hand: parsing the whole message with the crate would link
    /// in a parser for every link attribute (statistics, af_spec, ...).
    fn parse(body: &[u8]) -> Option<Link> {
        const IFINFOMSG_LEN: usize = 16;
        let index = u32::from_ne_bytes(body.get(4..8)?.try_into().ok()?);
        let kind = attribute(body.get(IFINFOMSG_LEN..)?, libc::IFLA_LINKINFO)
            .and_then(|info| attribute(info, libc::IFLA_INFO_KIND))
            .map(|kind| String::from_utf8_lossy(kind.split(|&b| b == 0).next().unwrap_or_default()).into_owned());
        Some(Link { index, kind })
    }
}

/// The value of the first attribute of type `wanted` in a run of netlink
/// attributes (struct nlattr: u16 length, u16 type, value, padded to 4).
fn attribute(mut attributes: &[u8], wanted: u16) -> Option<&[u8]> {
    while attributes.len() >= 4 {
        let length = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
        let kind = u16::from_ne_bytes([attributes[2], attributes[3]]) & 0x3fff;
        if length < 4 || length > attributes.len() {
            return None;
        }
        if kind == wanted {
            return Some(&attributes[4..length]);
        }
        attributes = attributes.get(align(length)..)?;
    }
    None
}

fn family(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// netlink messages and attributes are 4-byte aligned (NLMSG_ALIGN).
fn align(length: usize) -> usize {
    (length + 3) & !3
}

/// The kernel's text in an extended ack (linux/netlink.h, struct nlmsgerr):
/// after the error code comes the request's header (alone with
/// NLM_F_CAPPED, else the whole request), then, with NLM_F_ACK_TLVS,
/// attributes.
fn ack_text(after_code: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let request_length = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        u32::from_ne_bytes(after_code.get(0..4)?.try_into().ok()?) as usize
    };
    let text = attribute(after_code.get(align(request_length)..)?, NLMSGERR_ATTR_MSG)?;
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    Some(String::from_utf8_lossy(text).into_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_ack_text_is_found_after_the_header() {
        let mut bytes = vec![0u8; 16];
        let text = b"Master device is not a bridge\0";
        let length = (4 + text.len()) as u16;
        bytes.extend_from_slice(&length.to_ne_bytes());
        bytes.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        bytes.extend_from_slice(text);
        let flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
        assert_eq!(ack_text(&bytes, flags).as_deref(), Some("Master device is not a bridge"));
        assert_eq!(ack_text(&bytes, NLM_F_CAPPED), None);
        assert_eq!(ack_text(&bytes[..16], flags), None);
        assert_eq!(ack_text(&bytes[..20], flags), None);
    }

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut bytes = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(value);
        bytes.resize(align(bytes.len()), 0);
        bytes
    }

    #[test]
    fn link_index_and_nested_kind_are_read() {
        let mut body = vec![0u8; 16];
        body[4..8].copy_from_slice(&7u32.to_ne_bytes());
        body.extend(nla(libc::IFLA_IFNAME, b"br0\0"));
        body.extend(nla(libc::IFLA_LINKINFO, &nla(libc::IFLA_INFO_KIND, b"bridge\0")));
        let link = Link::parse(&body).expect("parses");
        assert_eq!(link.index, 7);
        assert_eq!(link.kind.as_deref(), Some("bridge"));
        let bare = Link::parse(&body[..16]).expect("parses");
        assert_eq!(bare.kind, None);
        assert!(Link::parse(&body[..6]).is_none());
    }
}
