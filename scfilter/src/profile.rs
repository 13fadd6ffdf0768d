//! Seccomp profiles as JSON, and what one means for this process.
//!
//! One reader takes both formats people have: Docker's (`archMap`, and
//! per-rule `includes`/`excludes` on capabilities, architectures and kernel
//! version) and the OCI runtime-spec `linux.seccomp` object
//! (`architectures`, `flags`, plain rules). `resolve` then decides, as
//! Docker does when it turns its profile into the OCI one, which rules
//! apply to this process: the capabilities are those of its bounding set,
//! the architecture is the one this binary runs on.

use std::borrow::Cow;

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;

/// A profile as written. Unknown fields are ignored, as Docker and runc do
/// (`comment`, `listenerPath`...).
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Profile<'a> {
    default_action: String,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<ArchMap>>,
    flags: Option<Vec<String>>,
    #[serde(borrow)]
    syscalls: Option<Vec<Syscall<'a>>>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Syscall<'a> {
    // Borrowed from the profile's text (names have no escapes): one
    // allocation per name less, which the default profile's 400 names feel.
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    names: Option<Vec<Cow<'a, str>>>,
    action: String,
    errno_ret: Option<u32>,
    args: Option<Vec<Arg>>,
    includes: Option<Condition>,
    excludes: Option<Condition>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Condition {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Arg {
    index: u32,
    value: u64,
    value_two: Option<u64>,
    op: String,
}

/// What the filter does with a system call (seccomp(2), SECCOMP_RET_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    Errno(u16),
    KillThread,
    KillProcess,
    Trap,
    Trace(u16),
    Log,
}

/// One comparison of a 64-bit argument, as libseccomp's SCMP_CMP_*.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & mask) == value`
    MaskedEq(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cmp {
    pub index: u8,
    pub op: Op,
    pub value: u64,
}

/// A rule that applies: these names get `action` when every comparison
/// holds (no comparison: always).
#[derive(Debug, PartialEq, Eq)]
pub struct Rule<'a> {
    pub names: Vec<&'a str>,
    pub action: Action,
    pub cmps: Vec<Cmp>,
}

/// The x86 system call ABIs a filter can cover on an x86_64 kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    // The discriminants index the columns of tables::SYSCALLS.
    X86_64 = 0,
    I386 = 1,
    X32 = 2,
}

/// SECCOMP_FILTER_FLAG_* bits for seccomp(2).
pub const FLAG_TSYNC: u32 = 1;
pub const FLAG_LOG: u32 = 2;
pub const FLAG_SPEC_ALLOW: u32 = 4;
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 32;

/// A profile resolved for this process: ready to compile.
#[derive(Debug)]
pub struct Policy<'a> {
    pub default: Action,
    /// Always starts with the native ABI.
    pub abis: Vec<Abi>,
    pub flags: u32,
    pub rules: Vec<Rule<'a>>,
}

/// What `includes`/`excludes` are decided against.
pub struct Facts {
    /// The bounding set, as a mask (bit N = capability N): Docker decides
    /// on the container's bounding set, the most the process can ever hold.
    pub bounding: u64,
    /// The running kernel's (major, minor).
    pub kernel: (u32, u32),
}

/// Docker's name for the architecture this binary runs on (Go's GOARCH).
const NATIVE: &str = "amd64";

/// Capability names by number (capabilities(7)), as profiles spell them.
const CAP_NAMES: &str = "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP \
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE \
    SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME \
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG \
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE";

pub fn cap_number(name: &str) -> Option<u32> {
    let bare = name.strip_prefix("CAP_").unwrap_or(name);
    CAP_NAMES.split_ascii_whitespace().position(|n| n.eq_ignore_ascii_case(bare)).map(|n| n as u32)
}

/// Parse a profile; the error says where the JSON is wrong.
pub fn parse(text: &str) -> anyhow::Result<Profile<'_>> {
    serde_json::from_str(text).map_err(|err| anyhow!("{err}"))
}

impl<'a> Profile<'a> {
    /// Decide which rules apply, and check every action, operator, flag and
    /// architecture name: a profile that cannot be applied as written is an
    /// error, never a weaker filter. Unknown system call names are not
    /// errors (they are skipped when compiling, as Docker does: a profile
    /// serves kernels older and newer than the one it was written for).
    pub fn resolve(&'a self, facts: &Facts) -> anyhow::Result<Policy<'a>> {
        let default_errno = self.default_errno_ret.unwrap_or(EPERM);
        let default = action(&self.default_action, Some(default_errno)).context("defaultAction")?;
        if self.architectures.is_some() && self.arch_map.is_some() {
            bail!("both 'architectures' and 'archMap' are given: use one");
        }
        let mut abis = vec![Abi::X86_64];
        let named: Vec<&String> = match (&self.architectures, &self.arch_map) {
            (Some(list), _) => list.iter().collect(),
            (_, Some(map)) => map
                .iter()
                .filter(|entry| entry.architecture == "SCMP_ARCH_X86_64")
                .flat_map(|entry| std::iter::once(&entry.architecture).chain(entry.sub_architectures.iter().flatten()))
                .collect(),
            _ => Vec::new(),
        };
        for name in named {
            if let Some(abi) = abi(name)? {
                if !abis.contains(&abi) {
                    abis.push(abi);
                }
            }
        }
        let mut flags = 0;
        for name in self.flags.iter().flatten() {
            flags |= flag(name)?;
        }
        let mut rules = Vec::new();
        for (n, call) in self.syscalls.iter().flatten().enumerate() {
            let rule = call.resolve(facts).with_context(|| format!("syscalls[{n}]"))?;
            // A rule that does what the default does is dropped, as runc
            // does: otherwise a conditional one could hide a later rule.
            if let Some(rule) = rule.filter(|rule| rule.action != default) {
                rules.push(rule);
            }
        }
        Ok(Policy { default, abis, flags, rules })
    }
}

impl Profile<'_> {
    /// What `resolve` can depend on: the capabilities the rules name (as a
    /// mask of the bounding set) and the kernel versions they compare
    /// against. Two processes alike in these get the same policy, which is
    /// what lets the built-in profile be compiled ahead, at build time.
    // Called by build.rs, which includes this file: the binary itself
    // uses what build.rs stored (precompiled.rs).
    #[allow(dead_code)]
    pub fn dependencies(&self) -> anyhow::Result<(u64, Vec<(u32, u32)>)> {
        let (mut caps, mut kernels) = (0u64, Vec::new());
        for call in self.syscalls.iter().flatten() {
            for condition in [&call.includes, &call.excludes].into_iter().flatten() {
                for name in condition.caps.iter().flatten() {
                    // An unknown name holds for nobody: no bit to depend on.
                    if let Some(n) = cap_number(name) {
                        caps |= 1 << n;
                    }
                }
                if let Some(version) = &condition.min_kernel {
                    let version = kernel_version(version)?;
                    if !kernels.contains(&version) {
                        kernels.push(version);
                    }
                }
            }
        }
        Ok((caps, kernels))
    }
}

const EPERM: u32 = 1;

impl<'a> Syscall<'a> {
    fn resolve(&'a self, facts: &Facts) -> anyhow::Result<Option<Rule<'a>>> {
        let names = match (&self.name, &self.names) {
            (Some(_), Some(_)) => bail!("both 'name' and 'names' are given: use one"),
            (Some(name), None) => vec![name.as_ref()],
            (None, Some(names)) => names.iter().map(Cow::as_ref).collect(),
            (None, None) => Vec::new(),
        };
        let action = action(&self.action, self.errno_ret).context("action")?;
        let mut cmps = Vec::new();
        for arg in self.args.iter().flatten() {
            cmps.push(arg.cmp()?);
        }
        let applies = match (&self.includes, &self.excludes) {
            (Some(inc), _) if !inc.holds(facts, true)? => false,
            (_, Some(exc)) if exc.holds(facts, false)? => false,
            _ => true,
        };
        Ok(applies.then_some(Rule { names, action, cmps }))
    }
}

impl Condition {
    /// `includes` (all = true): every listed condition holds. `excludes`
    /// (all = false): any listed condition holds. Docker's rules.
    fn holds(&self, facts: &Facts, all: bool) -> anyhow::Result<bool> {
        let mut tests = Vec::new();
        if let Some(arches) = &self.arches {
            tests.push(arches.iter().any(|arch| arch == NATIVE));
        }
        if let Some(caps) = &self.caps {
            let held = |name: &String| cap_number(name).is_some_and(|n| facts.bounding >> n & 1 == 1);
            tests.push(if all { caps.iter().all(held) } else { caps.iter().any(held) });
        }
        if let Some(version) = &self.min_kernel {
            tests.push(facts.kernel >= kernel_version(version)?);
        }
        Ok(if all { tests.iter().all(|&t| t) } else { tests.iter().any(|&t| t) })
    }
}

impl Arg {
    fn cmp(&self) -> anyhow::Result<Cmp> {
        let index = u8::try_from(self.index)
            .ok()
            .filter(|&i| i < 6)
            .ok_or_else(|| anyhow!("argument index {} is not 0 to 5", self.index))?;
        let two = self.value_two.unwrap_or(0);
        let (op, value) = match self.op.as_str() {
            "SCMP_CMP_NE" => (Op::Ne, self.value),
            "SCMP_CMP_LT" => (Op::Lt, self.value),
            "SCMP_CMP_LE" => (Op::Le, self.value),
            "SCMP_CMP_EQ" => (Op::Eq, self.value),
            "SCMP_CMP_GE" => (Op::Ge, self.value),
            "SCMP_CMP_GT" => (Op::Gt, self.value),
            // Docker's JSON puts the mask in `value`, the result in `valueTwo`.
            "SCMP_CMP_MASKED_EQ" => (Op::MaskedEq(self.value), two),
            other => bail!("unknown operator '{other}'"),
        };
        Ok(Cmp { index, op, value })
    }
}

fn action(name: &str, errno: Option<u32>) -> anyhow::Result<Action> {
    let data = |default: u32| -> anyhow::Result<u16> {
        let value = errno.unwrap_or(default);
        // The kernel hands back at most MAX_ERRNO (4095).
        u16::try_from(value).ok().filter(|&v| v <= 4095).ok_or_else(|| anyhow!("errnoRet {value} is above 4095"))
    };
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(data(EPERM)?),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_TRACE" => Action::Trace(data(0)?),
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_NOTIFY" => bail!("SCMP_ACT_NOTIFY needs a listener, which scfilter does not provide"),
        other => bail!("unknown action '{other}'"),
    })
}

/// SCMP_ARCH_* names; architectures that cannot run on an x86_64 kernel are
/// left out (a profile lists them all for other machines).
fn abi(name: &str) -> anyhow::Result<Option<Abi>> {
    match name {
        "SCMP_ARCH_X86_64" => Ok(Some(Abi::X86_64)),
        "SCMP_ARCH_X86" => Ok(Some(Abi::I386)),
        "SCMP_ARCH_X32" => Ok(Some(Abi::X32)),
        other if other.starts_with("SCMP_ARCH_") => Ok(None),
        other => bail!("unknown architecture '{other}'"),
    }
}

fn flag(name: &str) -> anyhow::Result<u32> {
    match name {
        "SECCOMP_FILTER_FLAG_TSYNC" => Ok(FLAG_TSYNC),
        "SECCOMP_FILTER_FLAG_LOG" => Ok(FLAG_LOG),
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => Ok(FLAG_SPEC_ALLOW),
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => Ok(FLAG_WAIT_KILLABLE_RECV),
        other => bail!("unknown flag '{other}'"),
    }
}

/// "4.8" or "5.10.0" as (major, minor).
pub fn kernel_version(text: &str) -> anyhow::Result<(u32, u32)> {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let mut number = || parts.next().and_then(|p| p.parse::<u32>().ok());
    match (number(), number()) {
        (Some(major), Some(minor)) => Ok((major, minor)),
        _ => bail!("kernel version '{text}' is not MAJOR.MINOR"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS_ADMIN: u64 = 1 << 21;

    fn resolve(text: &'static str, bounding: u64) -> anyhow::Result<Policy<'static>> {
        // A policy borrows its profile; tests let both live to the end.
        let profile: &'static Profile<'static> = Box::leak(Box::new(parse(text)?));
        profile.resolve(&Facts { bounding, kernel: (6, 1) })
    }

    fn names_with(policy: &Policy, name: &str) -> Vec<(Action, Vec<Cmp>)> {
        policy.rules.iter().filter(|r| r.names.contains(&name)).map(|r| (r.action, r.cmps.clone())).collect()
    }

    #[test]
    fn docker_default_without_sys_admin() {
        let policy = resolve(crate::DOCKER_DEFAULT, 0).expect("resolves");
        assert_eq!(policy.default, Action::Errno(1));
        assert_eq!(policy.abis, vec![Abi::X86_64, Abi::I386, Abi::X32]);
        assert!(names_with(&policy, "unshare").is_empty());
        assert_eq!(names_with(&policy, "clone3"), vec![(Action::Errno(38), vec![])]);
        let clone = names_with(&policy, "clone");
        assert_eq!(clone, vec![(Action::Allow, vec![Cmp { index: 0, op: Op::MaskedEq(0x7e02_0000), value: 0 }])]);
        assert_eq!(names_with(&policy, "personality").len(), 5);
        assert_eq!(names_with(&policy, "arch_prctl"), vec![(Action::Allow, vec![])]);
        assert!(names_with(&policy, "riscv_flush_icache").is_empty());
        assert_eq!(names_with(&policy, "ptrace"), vec![(Action::Allow, vec![])], "minKernel 4.8 holds on 6.1");
    }

    #[test]
    fn docker_default_with_sys_admin() {
        let policy = resolve(crate::DOCKER_DEFAULT, SYS_ADMIN).expect("resolves");
        assert_eq!(names_with(&policy, "unshare"), vec![(Action::Allow, vec![])]);
        assert_eq!(names_with(&policy, "clone3"), vec![(Action::Allow, vec![])]);
        assert_eq!(names_with(&policy, "clone"), vec![(Action::Allow, vec![])]);
    }

    #[test]
    fn oci_object() {
        let text = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_AARCH64"],
            "flags":["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":1,"value":1,"op":"SCMP_CMP_GE"}]},
                        {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#;
        let policy = resolve(text, 0).expect("resolves");
        assert_eq!(policy.default, Action::Allow);
        assert_eq!(policy.abis, vec![Abi::X86_64, Abi::I386]);
        assert_eq!(policy.flags, FLAG_LOG);
        assert_eq!(policy.rules.len(), 1, "the rule equal to the default is dropped");
        assert_eq!(policy.rules[0].action, Action::Errno(13));
    }

    #[test]
    fn malformed_profiles_are_errors() {
        for text in [
            "{",
            r#"{"syscalls":[]}"#,
            r#"{"defaultAction":"SCMP_ACT_NOPE"}"#,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":5000}"#,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["X86"]}"#,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_NOPE"]}"#,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_LIKE"}]}]}"#,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"x","names":["y"],"action":"SCMP_ACT_ALLOW"}]}"#,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"new"}}]}"#,
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["x"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        ] {
            assert!(resolve(text, 0).is_err(), "{text}");
        }
    }

    #[test]
    fn excludes_any_includes_all() {
        let text = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["a"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN","CAP_BPF"]}},
            {"names":["b"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_CHOWN","CAP_SYS_ADMIN"]}},
            {"names":["c"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_NO_SUCH"]}}]}"#;
        let policy = resolve(text, SYS_ADMIN).expect("resolves");
        let names: Vec<&str> = policy.rules.iter().map(|r| r.names[0]).collect();
        assert!(names.is_empty(), "{names:?}");
        let policy = resolve(text, SYS_ADMIN | 1 << 39).expect("resolves");
        assert_eq!(policy.rules.len(), 1);
        assert_eq!(policy.rules[0].names, vec!["a"]);
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("4.8").ok(), Some((4, 8)));
        assert_eq!(kernel_version("6.18.44-fc").ok(), Some((6, 18)));
        assert!(kernel_version("6").is_err());
    }
}
