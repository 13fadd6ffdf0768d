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
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::cidr::Cidr;

/// Big enough for any single answer to a non-dump request (a link
/// message with its statistics is a few KiB).
const RECEIVE_BUFFER: usize = 64 * 1024;
/// nlmsgerr attribute carrying the kernel's text (linux/netlink.h).
const NLMSGERR_ATTR_MSG: u16 = 1;

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
    pub fn link(&mut self, name: &str) -> anyhow::Result<Option<LinkMessage>> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.to_string()));
        let sequence = self.send(RouteNetlinkMessage::GetLink(message), NLM_F_REQUEST)?;
        match self.answer(sequence)? {
            Answer::Message(RouteNetlinkMessage::NewLink(link)) => Ok(Some(link)),
            Answer::Message(other) => Err(anyhow!("unexpected netlink answer {other:?}")),
            Answer::Error(err) if err.errno == libc::ENODEV => Ok(None),
            Answer::Error(err) => Err(err.into()),
            Answer::Ack => Err(anyhow!("netlink answered an ack to a query")),
        }
    }

    /// The index of the link named `name`, which must exist.
    pub fn index(&mut self, name: &str) -> anyhow::Result<u32> {
        match self.link(name)? {
            Some(link) => Ok(link.header.index),
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
        self.request(RouteNetlinkMessage::NewLink(message), NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Delete the link named `name` (by name, so that cleanup works even
    /// when its index was never learnt).
    pub fn delete_link(&mut self, name: &str) -> anyhow::Result<()> {
        let mut message = LinkMessage::default();
        message.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.request(RouteNetlinkMessage::DelLink(message), 0)
    }

    pub fn set_up(&mut self, index: u32) -> anyhow::Result<()> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        message.header.flags = LinkFlags::Up;
        message.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(message), 0)
    }

    /// Enslave link `index` to `master` (a bridge port).
    pub fn set_master(&mut self, index: u32, master: u32) -> anyhow::Result<()> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        message.attributes.push(LinkAttribute::Controller(master));
        self.request(RouteNetlinkMessage::SetLink(message), 0)
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
        self.request(RouteNetlinkMessage::NewAddress(message), NLM_F_CREATE | NLM_F_EXCL)
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
        self.request(RouteNetlinkMessage::NewRoute(message), NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Send a request that changes something and wait for the kernel's ack.
    fn request(&mut self, message: RouteNetlinkMessage, flags: u16) -> anyhow::Result<()> {
        let sequence = self.send(message, NLM_F_REQUEST | NLM_F_ACK | flags)?;
        match self.answer(sequence)? {
            Answer::Ack => Ok(()),
            Answer::Error(err) => Err(err.into()),
            Answer::Message(other) => Err(anyhow!("unexpected netlink answer {other:?}")),
        }
    }

    fn send(&mut self, message: RouteNetlinkMessage, flags: u16) -> anyhow::Result<u32> {
        self.sequence += 1;
        let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(message));
        packet.header.flags = flags;
        packet.header.sequence_number = self.sequence;
        packet.finalize();
        let mut buffer = vec![0; packet.buffer_len()];
        packet.serialize(&mut buffer);
        self.socket.send(&buffer, 0).context("send a netlink request")?;
        Ok(self.sequence)
    }

    /// The first answer to request `sequence` (answers to anything else,
    /// which a unicast socket should not get, are skipped).
    fn answer(&mut self, sequence: u32) -> anyhow::Result<Answer> {
        loop {
            let mut buffer = Vec::with_capacity(RECEIVE_BUFFER);
            let size = self.socket.recv(&mut buffer, libc::MSG_TRUNC).context("receive a netlink answer")?;
            if size > buffer.len() {
                return Err(anyhow!("netlink answer of {size} bytes truncated"));
            }
            let mut rest = &buffer[..];
            while !rest.is_empty() {
                let packet = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                    .map_err(|err| anyhow!("malformed netlink answer: {err}"))?;
                let length = packet.header.length as usize;
                if packet.header.sequence_number == sequence {
                    match packet.payload {
                        NetlinkPayload::InnerMessage(message) => return Ok(Answer::Message(message)),
                        NetlinkPayload::Error(error) => {
                            return Ok(match error.code {
                                None => Answer::Ack,
                                Some(code) => Answer::Error(KernelError { errno: -code.get(), text: ack_text(&error.header) }),
                            })
                        }
                        _ => {}
                    }
                }
                if length == 0 || length > rest.len() {
                    break;
                }
                rest = &rest[align(length).min(rest.len())..];
            }
        }
    }
}

enum Answer {
    Ack,
    Error(KernelError),
    Message(RouteNetlinkMessage),
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

/// The kernel's text in an extended ack: with NETLINK_CAP_ACK the error
/// carries the request's 16-byte header only, then attributes
/// (linux/netlink.h, struct nlmsgerr).
fn ack_text(after_code: &[u8]) -> Option<String> {
    const NLMSGHDR: usize = 16;
    let mut attributes = after_code.get(NLMSGHDR..)?;
    while attributes.len() >= 4 {
        let length = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
        let kind = u16::from_ne_bytes([attributes[2], attributes[3]]) & 0x3fff;
        if length < 4 || length > attributes.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let text = &attributes[4..length];
            let text = text.split(|&b| b == 0).next().unwrap_or_default();
            return Some(String::from_utf8_lossy(text).into_owned()).filter(|t| !t.is_empty());
        }
        attributes = attributes.get(align(length)..)?;
    }
    None
}

/// The kind of a link (`bridge`, `veth`, ...) as the kernel reports it.
pub fn kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|attribute| match attribute {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        }),
        _ => None,
    })
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
        assert_eq!(ack_text(&bytes).as_deref(), Some("Master device is not a bridge"));
        assert_eq!(ack_text(&bytes[..16]), None);
        assert_eq!(ack_text(&bytes[..20]), None);
    }
}
