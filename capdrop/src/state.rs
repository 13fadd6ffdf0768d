//! The credentials of this process as the kernel reports them: what the
//! result is checked against, and what `--show` prints.

use anyhow::Context;
use chainload::read_procfs;
use nix::errno::Errno;
use nix::unistd::{getgroups, getresgid, getresuid};
use std::fmt::Write;

use crate::caps::{CapSet, MAX_CAP};
use crate::passwd;
use crate::sys::{self, Sets};

/// SECBIT_* flags and their lock bits, in bit order (capabilities(7)).
const SECUREBITS: [&str; 4] = ["noroot", "no-setuid-fixup", "keep-caps", "no-cap-ambient-raise"];

#[derive(Debug)]
pub struct State {
    pub bounding: CapSet,
    pub sets: Sets,
    pub ambient: CapSet,
    /// real, effective, saved
    pub uids: [u32; 3],
    pub gids: [u32; 3],
    pub groups: Vec<u32>,
    pub no_new_privs: bool,
    pub securebits: u32,
}

impl State {
    /// Read everything back: capget(2), the id calls, and the bounding
    /// and ambient sets from /proc/self/status (one read instead of two
    /// prctl(2) calls per capability, which remain the fallback when /proc
    /// is not mounted, after `pivot --no-proc`).
    pub fn read(last_cap: u32) -> anyhow::Result<State> {
        State::read_with(last_cap, None)
    }

    /// As `read`, with the bounding and ambient sets already known: those
    /// of /proc/self/status as the tool started (`Tool::status_at_start`),
    /// for the state before any change, which nothing has changed since.
    /// The state after the changes is always read anew (`read`).
    pub fn read_with(last_cap: u32, known: Option<(CapSet, CapSet)>) -> anyhow::Result<State> {
        let (bounding, ambient) = match known {
            Some(sets) => sets,
            None => match proc_status_sets()? {
                Some(sets) => sets,
                None => prctl_sets(last_cap)?,
            },
        };
        let uids = getresuid().context("getresuid")?;
        let gids = getresgid().context("getresgid")?;
        Ok(State {
            bounding,
            sets: sys::capget().context("capget")?,
            ambient,
            uids: [uids.real.as_raw(), uids.effective.as_raw(), uids.saved.as_raw()],
            gids: [gids.real.as_raw(), gids.effective.as_raw(), gids.saved.as_raw()],
            groups: getgroups().context("getgroups")?.into_iter().map(|g| g.as_raw()).collect(),
            no_new_privs: nix::sys::prctl::get_no_new_privs().context("prctl(PR_GET_NO_NEW_PRIVS)")?,
            securebits: sys::securebits().context("prctl(PR_GET_SECUREBITS)")?,
        })
    }

    /// A `capsh --print`-like description, with the names the current
    /// root's /etc/passwd and /etc/group give the ids (read beforehand:
    /// the new user may not be allowed to read them).
    pub fn describe(&self, passwd_text: Option<&[u8]>, group_text: Option<&[u8]>) -> String {
        let user = |id: u32| named(id, passwd::user_name(id, passwd_text));
        let group = |id: u32| named(id, passwd::group_name(id, group_text));
        let mut out = String::new();
        let lines = [
            ("bounding", self.bounding.to_string()),
            ("effective", self.sets.effective.to_string()),
            ("permitted", self.sets.permitted.to_string()),
            ("inheritable", self.sets.inheritable.to_string()),
            ("ambient", self.ambient.to_string()),
            ("uid", ids(&self.uids, user)),
            ("gid", ids(&self.gids, group)),
            (
                "groups",
                if self.groups.is_empty() {
                    "none".to_string()
                } else {
                    self.groups.iter().map(|&g| group(g)).collect::<Vec<_>>().join(",")
                },
            ),
            ("no_new_privs", u8::from(self.no_new_privs).to_string()),
            ("securebits", securebits(self.securebits)),
        ];
        for (label, value) in lines {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{:<14}{value}", format!("{label}:"));
        }
        out
    }
}

/// The highest capability the running kernel knows. A kernel older than
/// this program lacks some named capabilities; a newer one has numbers
/// without a name here (they are dropped unless `--keep all`).
///
/// Asked of the kernel itself: PR_CAPBSET_READ fails with EINVAL past the
/// last capability (prctl(2)) whatever the bounding set holds, so a binary
/// search finds it in six calls, where reading
/// /proc/sys/kernel/cap_last_cap took eight system calls and a walk through
/// /proc/sys (and needs /proc mounted, which after `pivot --no-proc` it is
/// not). A value too low would leave the capabilities above it in the
/// bounding set, unseen: the search cannot err that way, as every number it
/// keeps the kernel has accepted.
pub fn kernel_last_cap() -> anyhow::Result<u32> {
    let known = |cap: u32| cap <= MAX_CAP && sys::bounding_has(cap).is_ok();
    if !known(0) {
        anyhow::bail!("prctl(PR_CAPBSET_READ) refuses capability 0: no capabilities in this kernel?");
    }
    // Invariant: `low` is known, `high` is not (or past MAX_CAP).
    let (mut low, mut high) = (0, MAX_CAP + 1);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if known(middle) {
            low = middle;
        } else {
            high = middle;
        }
    }
    Ok(low)
}

/// CapBnd and CapAmb from /proc/self/status.
fn proc_status_sets() -> anyhow::Result<Option<(CapSet, CapSet)>> {
    const STATUS: &str = "/proc/self/status";
    let Some(text) = read_procfs(STATUS)? else {
        return Ok(None);
    };
    let field = |name: &str| {
        let value = text.lines().find_map(|line| line.strip_prefix(name))?.trim();
        u64::from_str_radix(value, 16).ok().map(CapSet)
    };
    // A kernel without ambient capabilities (before 4.3) has no CapAmb.
    let ambient = field("CapAmb:").unwrap_or(CapSet::EMPTY);
    match field("CapBnd:") {
        Some(bounding) => Ok(Some((bounding, ambient))),
        None => anyhow::bail!("read '{STATUS}': no CapBnd line"),
    }
}

/// The bounding and ambient sets, one prctl(2) per capability.
fn prctl_sets(last_cap: u32) -> anyhow::Result<(CapSet, CapSet)> {
    let mut bounding = CapSet::EMPTY;
    let mut ambient = CapSet::EMPTY;
    for cap in 0..=last_cap {
        if sys::bounding_has(cap).with_context(|| format!("read bounding capability {cap}"))? {
            bounding = bounding.with(cap);
        }
        match sys::ambient_has(cap) {
            Ok(true) => ambient = ambient.with(cap),
            Ok(false) | Err(Errno::EINVAL) => {} // EINVAL: kernel before 4.3, no ambient set
            Err(err) => return Err(err).with_context(|| format!("read ambient capability {cap}")),
        }
    }
    Ok((bounding, ambient))
}

fn named(id: u32, name: Option<String>) -> String {
    match name {
        Some(name) => format!("{id}({name})"),
        None => id.to_string(),
    }
}

/// One id when real, effective and saved agree; all three otherwise.
fn ids(triple: &[u32; 3], name: impl Fn(u32) -> String) -> String {
    if triple[0] == triple[1] && triple[1] == triple[2] {
        name(triple[0])
    } else {
        format!("real {} effective {} saved {}", name(triple[0]), name(triple[1]), name(triple[2]))
    }
}

fn securebits(bits: u32) -> String {
    let flags: Vec<String> = SECUREBITS
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let on = bits & (1 << (2 * index)) != 0;
            let locked = bits & (1 << (2 * index + 1)) != 0;
            format!("{name}={}{}", if on { "yes" } else { "no" }, if locked { "(locked)" } else { "" })
        })
        .collect();
    format!("{bits:#x} ({})", flags.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn securebits_are_spelled_out() {
        assert_eq!(securebits(0), "0x0 (noroot=no no-setuid-fixup=no keep-caps=no no-cap-ambient-raise=no)");
        assert_eq!(
            securebits(0x2f),
            "0x2f (noroot=yes(locked) no-setuid-fixup=yes(locked) keep-caps=no(locked) no-cap-ambient-raise=no)"
        );
    }

    #[test]
    fn the_last_capability_is_the_one_proc_names() {
        let text = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").expect("read cap_last_cap");
        assert_eq!(kernel_last_cap().expect("search"), text.trim().parse::<u32>().expect("a number"));
    }

    #[test]
    fn ids_collapse_when_equal() {
        assert_eq!(ids(&[5, 5, 5], |i| i.to_string()), "5");
        assert_eq!(ids(&[5, 0, 5], |i| i.to_string()), "real 5 effective 0 saved 5");
    }
}
