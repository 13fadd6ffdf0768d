//! `--map-subids`: root inside is the caller, and ids 1..N are the
//! caller's first subordinate range of /etc/subuid and /etc/subgid
//! (subuid(5)), written by newuidmap(1) and newgidmap(1) from outside.
//!
//! An unprivileged process may map only its own id into a user namespace
//! (user_namespaces(7)); the setuid helpers of the uidmap package write
//! the ranges the administrator granted in /etc/subuid and /etc/subgid,
//! which they check themselves. With them, a rootless container has the
//! ids an image expects: `chown 1000`, `su nobody`, capdrop --user.

use anyhow::{anyhow, bail, Context};
use nix::unistd::{Gid, Pid, Uid};

/// One subordinate range: ids START..START+COUNT on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub count: u64,
}

/// The caller's ids and ranges, read before anything is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubIds {
    pub uid: Uid,
    pub gid: Gid,
    pub uids: Range,
    pub gids: Range,
}

impl SubIds {
    /// The caller's first range in each file, found by user name or uid
    /// (subuid(5) allows both), the name read from /etc/passwd.
    pub fn of_caller() -> anyhow::Result<SubIds> {
        let (uid, gid) = (Uid::current(), Gid::current());
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let name = user_name(&passwd, uid.as_raw());
        let shown = name.clone().unwrap_or_else(|| uid.to_string());
        let range = |file: &str| -> anyhow::Result<Range> {
            let text = match std::fs::read_to_string(file) {
                Ok(text) => text,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(err) => return Err(err).with_context(|| format!("read '{file}'")),
            };
            first_range(&text, name.as_deref(), uid.as_raw()).ok_or_else(|| {
                anyhow!("--map-subids: user '{shown}' has no range in {file} (see subuid(5), usermod --add-subuids)")
            })
        };
        Ok(SubIds { uid, gid, uids: range("/etc/subuid")?, gids: range("/etc/subgid")? })
    }

    /// Run newuidmap and newgidmap on `pid`: 0 = the caller, 1..=COUNT =
    /// the range.
    pub fn write_maps(&self, pid: Pid) -> anyhow::Result<()> {
        run_helper("newuidmap", pid, self.uid.as_raw(), self.uids)?;
        run_helper("newgidmap", pid, self.gid.as_raw(), self.gids)
    }
}

fn run_helper(helper: &str, pid: Pid, own: u32, range: Range) -> anyhow::Result<()> {
    let args = [
        pid.to_string(),
        "0".into(),
        own.to_string(),
        "1".into(),
        "1".into(),
        range.start.to_string(),
        range.count.to_string(),
    ];
    let output = std::process::Command::new(helper).args(&args).output();
    let output = match output {
        Ok(output) => output,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!("--map-subids: {helper} not found in PATH (install the uidmap package)")
        }
        Err(err) => return Err(err).with_context(|| format!("run {helper}")),
    };
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said = said.lines().next().unwrap_or("").trim().to_string();
        bail!("{helper} {}: {} ({said})", args.join(" "), output.status);
    }
    Ok(())
}

/// Field 1 of the /etc/passwd line whose uid is `uid`.
fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 3 && fields[2].parse() == Ok(uid)).then(|| fields[0].to_string())
    })
}

/// The first `NAME:START:COUNT` (or `UID:START:COUNT`) line of the caller
/// with a count of at least one.
fn first_range(text: &str, name: Option<&str>, uid: u32) -> Option<Range> {
    let uid = uid.to_string();
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let (who, start, count) = (fields.next()?, fields.next()?, fields.next()?);
        if fields.next().is_some() || (Some(who) != name && who != uid) {
            return None;
        }
        let range = Range { start: start.parse().ok()?, count: count.parse().ok()? };
        (range.count > 0).then_some(range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_range_of_the_user_by_name_or_uid() {
        let text = "other:100000:65536\n# no comment syntax, but harmless\nalice:200000:0\nalice:300000:65536\n1001:400000:10\n";
        assert_eq!(first_range(text, Some("alice"), 1000), Some(Range { start: 300000, count: 65536 }));
        assert_eq!(first_range(text, Some("bob"), 1001), Some(Range { start: 400000, count: 10 }));
        assert_eq!(first_range(text, Some("carol"), 1002), None);
        assert_eq!(first_range("alice:x:1\n", Some("alice"), 1000), None);
    }

    #[test]
    fn the_name_comes_from_passwd() {
        let passwd = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(user_name(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(user_name(passwd, 5), None);
    }
}
