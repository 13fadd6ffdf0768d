//! Users and groups from the current root's /etc/passwd and /etc/group.
//!
//! No NSS: inside a container the names must be the image's, and a static
//! binary cannot load NSS modules anyway. The files are parsed as bytes;
//! malformed lines are skipped, as glibc's files backend skips them.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context};

pub const PASSWD: &str = "/etc/passwd";
pub const GROUP: &str = "/etc/group";

/// Larger files are refused: an image could point /etc/passwd at a huge
/// file to make capdrop eat memory.
const MAX_FILE_SIZE: u64 = 64 << 20;

/// The uid/gid value setresuid(2) and setresgid(2) read as "unchanged".
const UNCHANGED_ID: u32 = u32::MAX;

/// What `--user` and `--groups` resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, in order, without duplicates.
    pub groups: Vec<u32>,
}

/// The contents of one of the files, or None if it does not exist.
pub fn read(path: &str) -> anyhow::Result<Option<Vec<u8>>> {
    // O_NONBLOCK: opening a FIFO planted in an image must not hang.
    let file = match OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(Path::new(path))
    {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("open '{path}'")),
    };
    let meta = file.metadata().with_context(|| format!("stat '{path}'"))?;
    if !meta.is_file() {
        bail!("read '{path}': not a regular file");
    }
    let mut text = Vec::new();
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut text).with_context(|| format!("read '{path}'"))?;
    if text.len() as u64 > MAX_FILE_SIZE {
        bail!("read '{path}': larger than {MAX_FILE_SIZE} bytes");
    }
    Ok(Some(text))
}

struct PasswdLine<'a> {
    name: &'a [u8],
    uid: u32,
    gid: u32,
}

struct GroupLine<'a> {
    name: &'a [u8],
    gid: u32,
    members: Vec<&'a [u8]>,
}

/// Lines with their fields, skipping blank, comment and NIS (`+`/`-`) lines.
fn records(text: &[u8]) -> impl Iterator<Item = Vec<&[u8]>> {
    text.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty() && !matches!(line[0], b'#' | b'+' | b'-'))
        .map(|line| line.split(|&b| b == b':').collect::<Vec<_>>())
        .filter(|fields| !fields[0].is_empty())
}

fn passwd_lines(text: &[u8]) -> impl Iterator<Item = PasswdLine<'_>> {
    records(text).filter_map(|f| {
        (f.len() >= 4).then_some(())?;
        Some(PasswdLine { name: f[0], uid: number(f[2])?, gid: number(f[3])? })
    })
}

fn group_lines(text: &[u8]) -> impl Iterator<Item = GroupLine<'_>> {
    records(text).filter_map(|f| {
        (f.len() >= 4).then_some(())?;
        let members = f[3].split(|&b| b == b',').filter(|m| !m.is_empty()).collect();
        Some(GroupLine { name: f[0], gid: number(f[2])?, members })
    })
}

/// A decimal id: digits only (no sign, no spaces), below (uid_t)-1.
pub fn number(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse::<u32>().ok().filter(|&id| id != UNCHANGED_ID)
}

fn check_name<'a>(what: &str, name: &'a str) -> Result<&'a str, String> {
    if name.is_empty() {
        return Err(format!("empty {what} name"));
    }
    if name.contains([':', ',', '\n']) {
        return Err(format!("invalid {what} name '{name}'"));
    }
    Ok(name)
}

/// Resolve `USER[:GROUP]`. A number always works; a uid found in passwd
/// brings its gid and, through its name, its groups from /etc/group; one
/// that is not found gets the gid of the same number (unless GROUP says).
/// The supplementary groups are what initgroups(3) gives: the gid, then
/// every group listing the user as a member.
pub fn resolve_user(spec: &str, passwd: Option<&[u8]>, group: Option<&[u8]>) -> Result<Ids, String> {
    let (user, group_spec) = match spec.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (spec, None),
    };
    let user = check_name("user", user)?;
    let entry = match number(user.as_bytes()) {
        Some(uid) => passwd_lines(passwd.unwrap_or_default()).find(|line| line.uid == uid),
        None if user.bytes().all(|b| b.is_ascii_digit()) => return Err(format!("invalid uid '{user}'")),
        None => match passwd_lines(passwd.unwrap_or_default()).find(|line| line.name == user.as_bytes()) {
            Some(entry) => Some(entry),
            None => return Err(format!("unknown user '{user}' (not in {PASSWD})")),
        },
    };
    let uid = entry.as_ref().map_or_else(|| number(user.as_bytes()).unwrap_or(UNCHANGED_ID), |e| e.uid);
    let gid = match group_spec {
        Some(spec) => resolve_group(check_name("group", spec)?, group)?,
        None => entry.as_ref().map_or(uid, |e| e.gid),
    };
    let mut groups = vec![gid];
    if let Some(entry) = &entry {
        let member_of = group_lines(group.unwrap_or_default()).filter(|line| line.members.contains(&entry.name));
        for line in member_of {
            if !groups.contains(&line.gid) {
                groups.push(line.gid);
            }
        }
    }
    Ok(Ids { uid, gid, groups })
}

/// Resolve one group name or number.
fn resolve_group(spec: &str, group: Option<&[u8]>) -> Result<u32, String> {
    if let Some(gid) = number(spec.as_bytes()) {
        return Ok(gid);
    }
    if spec.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid gid '{spec}'"));
    }
    match group_lines(group.unwrap_or_default()).find(|line| line.name == spec.as_bytes()) {
        Some(line) => Ok(line.gid),
        None => Err(format!("unknown group '{spec}' (not in {GROUP})")),
    }
}

/// Resolve a comma-separated `--groups` list, keeping its order.
pub fn resolve_groups(list: &str, group: Option<&[u8]>) -> Result<Vec<u32>, String> {
    let mut gids = Vec::new();
    for spec in list.split(',') {
        let gid = resolve_group(check_name("group", spec)?, group)?;
        if !gids.contains(&gid) {
            gids.push(gid);
        }
    }
    Ok(gids)
}

/// The first name for a uid, for --show.
pub fn user_name(uid: u32, passwd: Option<&[u8]>) -> Option<String> {
    passwd_lines(passwd?).find(|line| line.uid == uid).map(|line| String::from_utf8_lossy(line.name).into_owned())
}

/// The first name for a gid, for --show.
pub fn group_name(gid: u32, group: Option<&[u8]>) -> Option<String> {
    group_lines(group?).find(|line| line.gid == gid).map(|line| String::from_utf8_lossy(line.name).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD_TEXT: &[u8] = b"root:x:0:0:root:/root:/bin/sh\n\
        # a comment\n\
        +nis::::::\n\
        broken line\n\
        bad:x:notanumber:1::/:/bin/sh\n\
        alice:x:1234:2345:Alice:/home/alice:/bin/sh\n\
        nobody:x:65534:65534::/:/bin/false\n\
        alias:x:1234:9::/:/bin/sh\n";
    const GROUP_TEXT: &[u8] = b"root:x:0:\n\
        wheel:x:4444:alice\n\
        staff:x:5555:bob,alice\n\
        alicegrp:x:2345:\n\
        other:x:6666:alicex,xalice\n\
        dup:x:4444:alice\n";

    fn user(spec: &str) -> Result<Ids, String> {
        resolve_user(spec, Some(PASSWD_TEXT), Some(GROUP_TEXT))
    }

    #[test]
    fn a_name_brings_its_gid_and_exact_memberships() {
        assert_eq!(user("alice"), Ok(Ids { uid: 1234, gid: 2345, groups: vec![2345, 4444, 5555] }));
    }

    #[test]
    fn a_number_in_passwd_is_that_user() {
        assert_eq!(user("1234"), user("alice"));
    }

    #[test]
    fn a_number_absent_from_passwd_gets_the_same_gid() {
        assert_eq!(user("4321"), Ok(Ids { uid: 4321, gid: 4321, groups: vec![4321] }));
        assert_eq!(resolve_user("4321", None, None), Ok(Ids { uid: 4321, gid: 4321, groups: vec![4321] }));
    }

    #[test]
    fn the_group_part_replaces_the_gid() {
        assert_eq!(user("alice:staff"), Ok(Ids { uid: 1234, gid: 5555, groups: vec![5555, 4444] }));
        assert_eq!(user("nobody:77"), Ok(Ids { uid: 65534, gid: 77, groups: vec![77] }));
    }

    #[test]
    fn unknown_empty_and_malformed_values_are_refused() {
        for spec in [
            "nosuchuser",
            "",
            ":wheel",
            "alice:",
            "alice:nosuch",
            "a:b:c",
            "-1",
            "+5",
            "4294967295",
            "99999999999",
            "bad",
        ] {
            assert!(user(spec).is_err(), "{spec:?} accepted");
        }
        assert!(resolve_user("alice", None, None).is_err());
    }

    #[test]
    fn group_lists_resolve_names_and_numbers_in_order() {
        assert_eq!(resolve_groups("staff,10,wheel,10", Some(GROUP_TEXT)), Ok(vec![5555, 10, 4444]));
        for list in ["", "wheel,", ",wheel", "nosuch", "wheel,,staff"] {
            assert!(resolve_groups(list, Some(GROUP_TEXT)).is_err(), "{list:?} accepted");
        }
    }

    #[test]
    fn names_for_show() {
        assert_eq!(user_name(1234, Some(PASSWD_TEXT)).as_deref(), Some("alice"));
        assert_eq!(group_name(4444, Some(GROUP_TEXT)).as_deref(), Some("wheel"));
        assert_eq!(user_name(7, Some(PASSWD_TEXT)), None);
    }
}
