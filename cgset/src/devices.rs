//! The device cgroup: which device nodes the cgroup's processes may open
//! or create, whatever their capabilities. A container holding CAP_MKNOD
//! can make a node for the host's disk; this is what keeps it from opening
//! it (cgroup-v1/devices.rst; on v2 a BPF_PROG_TYPE_CGROUP_DEVICE program).
//!
//! Rules are allow-lists: everything not allowed is denied. The v1 writes
//! are here; the v2 program is assembled in `devices_bpf`.

use anyhow::{anyhow, bail};

/// One allow rule, as cgroup v1 writes it: `TYPE MAJOR:MINOR ACCESS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub kind: Kind,
    /// None: any (`*`).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: Access,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    All,
    Char,
    Block,
}

/// Bits as the v2 program sees them (BPF_DEVCG_ACC_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access(pub u32);

pub const MKNOD: u32 = 1;
pub const READ: u32 = 2;
pub const WRITE: u32 = 4;

/// Docker's default device rules (runc's AllowedDevices): mknod of any
/// node, and use of the standard ones only.
const DOCKER_DEFAULT: [&str; 11] = [
    "c *:* m",
    "b *:* m",
    "c 1:3 rwm",   // null
    "c 1:5 rwm",   // zero
    "c 1:7 rwm",   // full
    "c 1:8 rwm",   // random
    "c 1:9 rwm",   // urandom
    "c 5:0 rwm",   // tty
    "c 5:1 rwm",   // console
    "c 5:2 rwm",   // ptmx
    "c 136:* rwm", // pts/*
];

/// The rules for `--devices default` plus each `--device-allow`.
pub fn rules(extra: &[String]) -> anyhow::Result<Vec<Rule>> {
    DOCKER_DEFAULT.iter().map(|r| parse(r)).chain(extra.iter().map(|r| parse(r))).collect()
}

/// `c 1:3 rwm`, `b 8:* r`, `a` (all types, any number, rwm).
pub fn parse(text: &str) -> anyhow::Result<Rule> {
    let bad = || anyhow!("invalid device rule '{text}' (expected TYPE MAJOR:MINOR ACCESS, e.g. 'c 1:3 rwm')");
    let words: Vec<&str> = text.split_whitespace().collect();
    let (kind, numbers, access) = match words.as_slice() {
        ["a"] => return Ok(Rule { kind: Kind::All, major: None, minor: None, access: Access(MKNOD | READ | WRITE) }),
        [kind, numbers, access] => (*kind, *numbers, *access),
        [kind, numbers] => (*kind, *numbers, "rwm"),
        _ => return Err(bad()),
    };
    let kind = match kind {
        "a" => Kind::All,
        "c" => Kind::Char,
        "b" => Kind::Block,
        _ => return Err(bad()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    let number = |n: &str| -> anyhow::Result<Option<u32>> {
        match n {
            "*" => Ok(None),
            n => n.parse().map(Some).map_err(|_| bad()),
        }
    };
    let mut bits = 0;
    for c in access.chars() {
        bits |= match c {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => return Err(bad()),
        };
    }
    if bits == 0 {
        bail!("{}", bad());
    }
    Ok(Rule { kind, major: number(major)?, minor: number(minor)?, access: Access(bits) })
}

impl Rule {
    /// The v1 devices.allow line.
    pub fn v1_text(&self) -> String {
        let kind = match self.kind {
            Kind::All => 'a',
            Kind::Char => 'c',
            Kind::Block => 'b',
        };
        let number = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')] {
            if self.access.0 & bit != 0 {
                access.push(c);
            }
        }
        format!("{kind} {}:{} {access}", number(self.major), number(self.minor))
    }
}

/// v1: `a` to devices.deny empties the cgroup's allow-list (new cgroups
/// copy their parent's, usually `a *:* rwm`), then each rule is allowed.
pub fn v1_writes(rules: &[Rule]) -> Vec<(&'static str, String)> {
    std::iter::once(("devices.deny", "a".to_string()))
        .chain(rules.iter().map(|r| ("devices.allow", r.v1_text())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        for text in ["c 1:3 rwm", "b 8:* r", "c *:* m", "a *:* rwm", "c 136:* rw"] {
            assert_eq!(parse(text).expect("valid").v1_text(), text);
        }
        assert_eq!(parse("a").expect("valid").v1_text(), "a *:* rwm");
        assert_eq!(parse("c 10:229").expect("valid").v1_text(), "c 10:229 rwm");
    }

    #[test]
    fn bad_rules() {
        for text in ["", "x 1:3 rwm", "c 1 rwm", "c 1:x rwm", "c 1:3 rwx", "c 1:3 rwm extra", "c -1:3 r"] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn v1_denies_all_then_allows() {
        let writes = v1_writes(&rules(&["c 10:229 rw".to_string()]).expect("valid"));
        assert_eq!(writes[0], ("devices.deny", "a".to_string()));
        assert_eq!(writes[1], ("devices.allow", "c *:* m".to_string()));
        assert_eq!(writes.last(), Some(&("devices.allow", "c 10:229 rw".to_string())));
        assert_eq!(writes.len(), 13);
    }
}
