//! Capability names, sets of capabilities, and what the running kernel knows.
//!
//! A set is a 64-bit mask, bit N for capability N, as the kernel prints it
//! in /proc/PID/status (CapEff, CapBnd...). Names follow capabilities(7)
//! and <linux/capability.h>, lowercase and without the `cap_` prefix.

use std::fmt;

/// Every capability this program knows by name, indexed by number.
const NAMES: [&str; 41] = [
    "chown",              // 0
    "dac_override",       // 1
    "dac_read_search",    // 2
    "fowner",             // 3
    "fsetid",             // 4
    "kill",               // 5
    "setgid",             // 6
    "setuid",             // 7
    "setpcap",            // 8
    "linux_immutable",    // 9
    "net_bind_service",   // 10
    "net_broadcast",      // 11
    "net_admin",          // 12
    "net_raw",            // 13
    "ipc_lock",           // 14
    "ipc_owner",          // 15
    "sys_module",         // 16
    "sys_rawio",          // 17
    "sys_chroot",         // 18
    "sys_ptrace",         // 19
    "sys_pacct",          // 20
    "sys_admin",          // 21
    "sys_boot",           // 22
    "sys_nice",           // 23
    "sys_resource",       // 24
    "sys_time",           // 25
    "sys_tty_config",     // 26
    "mknod",              // 27
    "lease",              // 28
    "audit_write",        // 29
    "audit_control",      // 30
    "setfcap",            // 31
    "mac_override",       // 32
    "mac_admin",          // 33
    "syslog",             // 34
    "wake_alarm",         // 35
    "block_suspend",      // 36
    "audit_read",         // 37
    "perfmon",            // 38
    "bpf",                // 39
    "checkpoint_restore", // 40
];

/// Docker's default capabilities (moby's oci/caps/defaults.go), which
/// capdrop keeps unless told otherwise. MKNOD is among them because the
/// device cgroup (`cgset --devices default`) stops a node the container
/// makes from being opened: run capdrop under it, as `contain` does. (Without
/// a device cgroup a container's root could `mknod` the host's disk in its
/// /dev tmpfs and write to it: then `--drop mknod`.)
const DOCKER_DEFAULT: [&str; 14] = [
    "chown",
    "dac_override",
    "fsetid",
    "fowner",
    "mknod",
    "net_raw",
    "setgid",
    "setuid",
    "setfcap",
    "setpcap",
    "net_bind_service",
    "sys_chroot",
    "kill",
    "audit_write",
];

/// The highest capability number the mask can hold.
pub const MAX_CAP: u32 = 63;

/// A set of capabilities, bit N for capability N.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSet(pub u64);

impl CapSet {
    pub const EMPTY: CapSet = CapSet(0);

    /// Capabilities 0 to `last`, inclusive.
    pub fn up_to(last: u32) -> CapSet {
        let last = last.min(MAX_CAP);
        CapSet(if last == MAX_CAP { u64::MAX } else { (1u64 << (last + 1)) - 1 })
    }

    pub fn docker_default() -> CapSet {
        DOCKER_DEFAULT.iter().filter_map(|name| number_of(name)).fold(CapSet::EMPTY, CapSet::with)
    }

    pub fn with(self, cap: u32) -> CapSet {
        CapSet(self.0 | (1u64 << cap))
    }

    pub fn contains(self, cap: u32) -> bool {
        cap <= MAX_CAP && self.0 & (1u64 << cap) != 0
    }

    pub fn intersection(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }

    pub fn union(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0)
    }

    pub fn minus(self, other: CapSet) -> CapSet {
        CapSet(self.0 & !other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The capability numbers in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = u32> {
        (0..=MAX_CAP).filter(move |&cap| self.contains(cap))
    }
}

/// `chown,kill` (names, or the number for a capability newer than this
/// program); `none` for the empty set.
impl fmt::Display for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<String> = self.iter().map(name_of).collect();
        f.write_str(&names.join(","))
    }
}

/// The name of capability `cap`, or its number if it has none here.
pub fn name_of(cap: u32) -> String {
    match NAMES.get(cap as usize) {
        Some(name) => (*name).to_string(),
        None => cap.to_string(),
    }
}

/// The number of a capability name: case-insensitive, `cap_` optional.
pub fn number_of(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
    NAMES.iter().position(|known| *known == bare).map(|index| index as u32)
}

/// Parse a comma-separated list of names. The error says what is wrong
/// and lists the valid names.
pub fn parse_list(list: &str) -> Result<CapSet, String> {
    let mut set = CapSet::EMPTY;
    for name in list.split(',') {
        if name.is_empty() {
            return Err(format!("empty capability name in '{list}'"));
        }
        match number_of(name) {
            Some(cap) => set = set.with(cap),
            None => return Err(format!("unknown capability '{name}' (valid: {})", NAMES.join(" "))),
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_is_the_mask_docker_shows() {
        assert_eq!(CapSet::docker_default(), CapSet(0xa80425fb));
    }

    #[test]
    fn names_are_case_insensitive_with_or_without_prefix() {
        for spelling in ["net_bind_service", "NET_BIND_SERVICE", "cap_net_bind_service", "CAP_Net_Bind_Service"] {
            assert_eq!(number_of(spelling), Some(10), "{spelling}");
        }
        assert_eq!(number_of("cap_"), None);
        assert_eq!(number_of("capchown"), None);
    }

    #[test]
    fn lists_parse_and_reject_empty_or_unknown_names() {
        assert_eq!(parse_list("chown,KILL,cap_kill"), Ok(CapSet(0b10_0001)));
        assert!(parse_list("").is_err());
        assert!(parse_list("chown,").is_err());
        assert!(parse_list("chown,,kill").is_err());
        let err = parse_list("chown,bogus").unwrap_err();
        assert!(err.starts_with("unknown capability 'bogus' (valid: chown dac_override"), "{err}");
    }

    #[test]
    fn sets_print_as_names_and_numbers() {
        assert_eq!(CapSet::EMPTY.to_string(), "none");
        assert_eq!(CapSet(0).with(10).with(40).with(41).to_string(), "net_bind_service,checkpoint_restore,41");
    }

    #[test]
    fn up_to_covers_the_edges() {
        assert_eq!(CapSet::up_to(0), CapSet(1));
        assert_eq!(CapSet::up_to(40), CapSet(0x1ff_ffff_ffff));
        assert_eq!(CapSet::up_to(63), CapSet(u64::MAX));
        assert_eq!(CapSet::up_to(99), CapSet(u64::MAX));
    }
}
