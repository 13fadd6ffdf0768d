//! Extended attributes a layer carries in its PAX records, and which of
//! them an unpacked root gets.
//!
//! Kept: `user.*` (the image's own data) and `security.capability` (file
//! capabilities: Debian's iputils-ping is `cap_net_raw+ep` rather than
//! setuid). Everything else is left out, with a trace line:
//! `security.selinux` and the other `security.*` (labels and IMA/EVM
//! signatures of the machine that built the layer, as umoci and
//! containers/storage also leave out security.selinux), `trusted.*`
//! (the host's privileged tools'), `system.*` (ACLs, not applied), and
//! above all overlayfs's own `trusted.overlay.*` and `user.overlay.*`: the
//! root is the lower layer of a container's overlay, where an opaque,
//! whiteout or redirect attribute planted by a layer would hide or
//! redirect files as the layer pleased (umoci leaves trusted.overlay.* out
//! for the same reason; the user.* form is what overlayfs reads when
//! mounted with userxattr in a user namespace).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;

use anyhow::{bail, Context};

const SCHILY: &[u8] = b"SCHILY.xattr.";
const LIBARCHIVE: &[u8] = b"LIBARCHIVE.xattr.";
pub const CAPABILITY: &[u8] = b"security.capability";

/// What becomes of one attribute.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// security.capability: rewritten for the container's root (see [`capability`]).
    Capability,
    Skip(&'static str),
}

pub fn verdict(name: &[u8]) -> Verdict {
    if name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.") {
        Verdict::Skip("overlayfs's own: a layer may not hide or redirect files of the root")
    } else if name == CAPABILITY {
        Verdict::Capability
    } else if name.starts_with(b"user.") {
        Verdict::Keep
    } else if name.starts_with(b"trusted.") {
        Verdict::Skip("trusted.* is the host's privileged tools'")
    } else if name == b"security.selinux" {
        Verdict::Skip("an SELinux label is the building host's policy")
    } else if name.starts_with(b"security.") {
        Verdict::Skip("security.* other than file capabilities is the building host's")
    } else if name.starts_with(b"system.") {
        Verdict::Skip("system.* (ACLs) is not applied")
    } else {
        Verdict::Skip("not an attribute namespace")
    }
}

/// The attributes in the PAX records of `entry`, by name: SCHILY.xattr.NAME
/// with the raw value (GNU tar, Go's archive/tar, star), and
/// LIBARCHIVE.xattr.NAME with the name %-encoded and the value in base64
/// (bsdtar, which writes both forms; SCHILY's wins).
pub fn from_pax(entry: &mut tar::Entry<impl Read>) -> anyhow::Result<BTreeMap<OsString, Vec<u8>>> {
    let mut found = BTreeMap::new();
    let Some(records) = entry.pax_extensions().context("read the PAX records")? else { return Ok(found) };
    let mut libarchive = Vec::new();
    for record in records {
        let record = record.context("read a PAX record")?;
        if let Some(name) = record.key_bytes().strip_prefix(SCHILY) {
            found.insert(OsString::from_vec(name.to_vec()), record.value_bytes().to_vec());
        } else if let Some(name) = record.key_bytes().strip_prefix(LIBARCHIVE) {
            libarchive.push((unpercent(name)?, unbase64(record.value_bytes())?));
        }
    }
    for (name, value) in libarchive {
        found.entry(OsString::from_vec(name)).or_insert(value);
    }
    Ok(found)
}

const V1: u32 = 0x0100_0000;
const V2: u32 = 0x0200_0000;
const V3: u32 = 0x0300_0000;
const REVISION_MASK: u32 = 0xff00_0000;
const EFFECTIVE: u32 = 0x1;

/// A file capability value (struct vfs_cap_data, capability(7) "File
/// capability extended attribute versioning") made for container root
/// `rootid` as this process names it: version 2 when that is our own root
/// (in a user namespace the kernel itself records it as version 3 for the
/// namespace's root), else version 3 naming `rootid`, so that only a
/// container whose root is that id gets the capabilities. Whatever rootid
/// the layer's own value named (the building machine's) is not kept.
pub fn capability(value: &[u8], rootid: u32) -> anyhow::Result<Vec<u8>> {
    let word = |i: usize| value.get(4 * i..4 * i + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    let magic = word(0).context("an empty capability")?;
    let (size, pairs) = match magic & REVISION_MASK {
        V1 => (12, 1),
        V2 => (20, 2),
        V3 => (24, 2),
        other => bail!("unknown capability revision {:#x}", other >> 24),
    };
    if value.len() != size {
        bail!("a capability of revision {} must be {size} bytes, not {}", magic >> 24, value.len());
    }
    // permitted, inheritable for capabilities 0-31, then 32-63.
    let mut sets = [0u32; 4];
    for (i, set) in sets.iter_mut().take(2 * pairs).enumerate() {
        *set = word(1 + i).unwrap_or(0);
    }
    let revision = if rootid == 0 { V2 } else { V3 };
    let mut out: Vec<u8> =
        [revision | (magic & EFFECTIVE)].into_iter().chain(sets).flat_map(u32::to_le_bytes).collect();
    if rootid != 0 {
        out.extend(rootid.to_le_bytes());
    }
    Ok(out)
}

/// RFC 3986 %-decoding, as libarchive writes attribute names.
fn unpercent(text: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter();
    while let Some(&b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let hex = [bytes.next().copied(), bytes.next().copied()];
        let digits = hex.map(|d| d.and_then(|d| char::from(d).to_digit(16)));
        let [Some(high), Some(low)] = digits else { bail!("a bad %-escape in a LIBARCHIVE.xattr name") };
        out.push((high * 16 + low) as u8);
    }
    Ok(out)
}

/// Standard base64, padding optional, as libarchive writes values.
fn unbase64(text: &[u8]) -> anyhow::Result<Vec<u8>> {
    let value = |c: u8| -> anyhow::Result<u32> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => bail!("a bad base64 character in a LIBARCHIVE.xattr value"),
        }
        .into())
    };
    let text: Vec<u8> = text.iter().copied().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        if chunk.len() == 1 {
            bail!("a truncated base64 LIBARCHIVE.xattr value");
        }
        let mut bits = 0u32;
        for &c in chunk {
            bits = bits << 6 | value(c)?;
        }
        bits <<= 6 * (4 - chunk.len() as u32);
        out.extend(&bits.to_be_bytes()[1..chunk.len()]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_kept() {
        assert_eq!(verdict(b"user.mime_type"), Verdict::Keep);
        assert_eq!(verdict(b"security.capability"), Verdict::Capability);
        for skipped in [
            "trusted.overlay.opaque",
            "trusted.overlay.whiteout",
            "user.overlay.redirect",
            "trusted.md5",
            "security.selinux",
            "security.ima",
            "system.posix_acl_access",
            "other.x",
        ] {
            assert!(matches!(verdict(skipped.as_bytes()), Verdict::Skip(_)), "{skipped}");
        }
    }

    // cap_net_raw+ep: bit 13 permitted, effective flag.
    const NET_RAW_V2: [u8; 20] = [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn capabilities_are_made_for_the_containers_root() {
        assert_eq!(capability(&NET_RAW_V2, 0).unwrap(), NET_RAW_V2);
        let v3 = capability(&NET_RAW_V2, 100000).unwrap();
        assert_eq!(v3.len(), 24);
        assert_eq!(&v3[..4], &[1, 0, 0, 3]);
        assert_eq!(&v3[4..20], &NET_RAW_V2[4..]);
        assert_eq!(&v3[20..], &100000u32.to_le_bytes());
        // A layer's own v3 rootid is not kept; v1 grows to v2.
        assert_eq!(capability(&v3, 0).unwrap(), NET_RAW_V2);
        assert_eq!(capability(&[1, 0, 0, 1, 0, 0x20, 0, 0, 0, 0, 0, 0], 0).unwrap(), NET_RAW_V2);
        assert!(capability(&NET_RAW_V2[..19], 0).is_err());
        assert!(capability(&[0, 0, 0, 9], 0).is_err());
    }

    #[test]
    fn libarchive_encodings() {
        assert_eq!(unpercent(b"user.a%20b%3d").unwrap(), b"user.a b=");
        assert!(unpercent(b"user.%2").is_err());
        assert_eq!(unbase64(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(unbase64(b"aGk").unwrap(), b"hi");
        assert_eq!(unbase64(b"").unwrap(), b"");
        assert!(unbase64(b"a").is_err());
        assert!(unbase64(b"a*==").is_err());
    }
}
