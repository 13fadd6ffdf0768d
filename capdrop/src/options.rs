//! Command line of capdrop, and the plan it resolves to before anything
//! is changed.

use argh::FromArgs;
use chainload::{usage, Chained};

use crate::caps::{self, CapSet};
use crate::passwd::{self, Ids};
use crate::sys::Sets;

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] [--] PROG [ARGS...]",
    help_triggers("-h", "--help"),
    example = "Root with Docker's default capabilities:\n  $ capdrop -- sh -c 'grep Cap /proc/self/status'",
    example = "A server as nobody that may bind port 80, and nothing else:\n  $ capdrop --user nobody --keep net_bind_service -- httpd -f -p 80",
    note = "CAPS: comma-separated names, with or without CAP_ (default,sys_ptrace).\nKeep mknod only under a device cgroup (cgset --devices default).\nISOKIT_TRACE=1 prints the credentials. The manual: man capdrop.",
    error_code(125, "capdrop itself failed (bad option, a step failed or left privileges)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found")
)]
/// Drop capabilities, switch user and groups, set no_new_privs, exec PROG.
pub struct Options {
    /// CAPS to keep: none, all, default or a list (default: Docker's set); default in a list stands for that set
    #[argh(option, arg_name = "CAPS")]
    keep: Option<String>,
    /// CAPS to remove from the kept set
    #[argh(option, arg_name = "CAPS")]
    drop: Option<String>,
    /// USER[:GROUP]: switch to a name or number
    #[argh(option, arg_name = "USER[:GROUP]")]
    user: Option<String>,
    /// LIST: exactly these supplementary groups
    #[argh(option, arg_name = "LIST")]
    groups: Option<String>,
    /// leave no_new_privs off (setuid programs gain privileges)
    #[argh(switch)]
    allow_new_privs: bool,
    /// keep the caller's session keyring (default: a new one)
    #[argh(switch)]
    no_new_keyring: bool,
    /// print the resulting credentials; without PROG, exit 0
    #[argh(switch)]
    show: bool,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the program to run, and its arguments
    #[argh(positional, greedy, arg_name = "PROG")]
    command: Vec<String>,
}

impl Chained for Options {
    fn command_len(&self) -> usize {
        self.command.len()
    }

    fn version_asked(&self) -> bool {
        self.version
    }
}

/// Which capabilities to keep, as the user said it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Default,
    All,
    /// A list; `with_default` when it names `default`, which stands for
    /// those of Docker's set the caller holds.
    Named {
        caps: CapSet,
        with_default: bool,
    },
}

/// `--keep` as written: `all`, `none`, `default` alone (the same as no
/// --keep), or a list of names in which `default` may appear.
fn parse_keep(value: &str) -> Result<Keep, String> {
    match value.to_ascii_lowercase().as_str() {
        "all" => return Ok(Keep::All),
        "none" => return Ok(Keep::Named { caps: CapSet::EMPTY, with_default: false }),
        "default" => return Ok(Keep::Default),
        _ => {}
    }
    let (mut caps, mut with_default) = (CapSet::EMPTY, false);
    for name in value.split(',') {
        if name.eq_ignore_ascii_case("default") {
            with_default = true;
        } else if name.is_empty() {
            return Err(format!("empty capability name in '{value}'"));
        } else {
            caps = caps.union(caps::parse_list(name)?);
        }
    }
    Ok(Keep::Named { caps, with_default })
}

/// The command line, checked; nothing read from the system yet.
#[derive(Debug)]
pub struct Request {
    pub keep: Keep,
    pub drop: CapSet,
    pub user: Option<String>,
    pub groups: Option<String>,
    pub no_new_privs: bool,
    pub new_keyring: bool,
    pub show: bool,
}

impl Options {
    /// Check every value and combination, or say what is wrong.
    pub fn request(&self) -> anyhow::Result<Request> {
        if self.command.is_empty() && !self.show {
            return Err(usage("missing command to run"));
        }
        let keep = match self.keep.as_deref() {
            None => Keep::Default,
            Some(value) => parse_keep(value).map_err(|e| usage(format!("--keep: {e}")))?,
        };
        let drop = match self.drop.as_deref() {
            None => CapSet::EMPTY,
            Some(list) => caps::parse_list(list).map_err(|e| usage(format!("--drop: {e}")))?,
        };
        if self.user.as_deref() == Some("") {
            return Err(usage("--user: empty user name"));
        }
        if self.groups.as_deref() == Some("") {
            return Err(usage("--groups: empty list"));
        }
        Ok(Request {
            keep,
            drop,
            user: self.user.clone(),
            groups: self.groups.clone(),
            no_new_privs: !self.allow_new_privs,
            new_keyring: !self.no_new_keyring,
            show: self.show,
        })
    }
}

/// What the kernel says about the caller, which the plan depends on.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub last_cap: u32,
    pub permitted: CapSet,
    pub bounding: CapSet,
    pub euid: u32,
}

/// New ids, each only if asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdChange {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub groups: Option<Vec<u32>>,
}

/// Everything capdrop will set, resolved and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub ids: IdChange,
    pub bounding: CapSet,
    pub sets: Sets,
    pub ambient: CapSet,
    pub no_new_privs: bool,
    pub new_keyring: bool,
}

/// Resolve names against the current root's files.
pub fn resolve_ids(request: &Request) -> anyhow::Result<IdChange> {
    let needs_group_file = request.user.is_some() || request.groups.is_some();
    let group = if needs_group_file { passwd::read(passwd::GROUP)? } else { None };
    let mut change = IdChange::default();
    if let Some(spec) = &request.user {
        let passwd_text = passwd::read(passwd::PASSWD)?;
        let Ids { uid, gid, groups } = passwd::resolve_user(spec, passwd_text.as_deref(), group.as_deref())
            .map_err(|e| usage(format!("--user: {e}")))?;
        change = IdChange { uid: Some(uid), gid: Some(gid), groups: Some(groups) };
    }
    if let Some(list) = &request.groups {
        change.groups =
            Some(passwd::resolve_groups(list, group.as_deref()).map_err(|e| usage(format!("--groups: {e}")))?);
    }
    Ok(change)
}

/// Decide the five capability sets (capabilities(7), "Transformation of
/// capabilities during execve()"):
/// - root's capabilities after exec are its bounding set, whatever the
///   permitted set was, so the bounding set is the kept set for everyone;
/// - a non-root user's permitted set after exec is its ambient set (for a
///   program without file capabilities), and an ambient capability must be
///   permitted and inheritable, so the three are the kept set when --keep
///   names it, and empty otherwise. Root's inheritable and ambient stay
///   empty (CVE-2022-29162: a non-empty inheritable set survives into
///   programs with file capabilities).
pub fn plan(request: &Request, ids: IdChange, caller: Caller) -> anyhow::Result<Plan> {
    let known = CapSet::up_to(caller.last_cap);
    let held = caller.permitted.intersection(caller.bounding);
    let kept = match request.keep {
        Keep::Default => CapSet::docker_default().intersection(known).intersection(held),
        Keep::All => known.intersection(held),
        Keep::Named { caps: named, with_default } => {
            let unknown = named.minus(known);
            if !unknown.is_empty() {
                return Err(usage(format!(
                    "--keep: the running kernel does not know {unknown} (its last capability is {})",
                    caller.last_cap
                )));
            }
            let missing = named.minus(held);
            if !missing.is_empty() {
                return Err(usage(format!("--keep: cannot keep {missing}: the calling process does not hold it")));
            }
            if with_default {
                named.union(CapSet::docker_default().intersection(known).intersection(held))
            } else {
                named
            }
        }
    }
    .minus(request.drop);
    let root = ids.uid.unwrap_or(caller.euid) == 0;
    let explicit = request.keep != Keep::Default;
    let (sets, ambient) = if root {
        (Sets { effective: kept, permitted: kept, inheritable: CapSet::EMPTY }, CapSet::EMPTY)
    } else if explicit {
        (Sets { effective: kept, permitted: kept, inheritable: kept }, kept)
    } else {
        (Sets { effective: CapSet::EMPTY, permitted: CapSet::EMPTY, inheritable: CapSet::EMPTY }, CapSet::EMPTY)
    };
    Ok(Plan {
        ids,
        bounding: kept,
        sets,
        ambient,
        no_new_privs: request.no_new_privs,
        new_keyring: request.new_keyring,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Caller =
        Caller { last_cap: 40, permitted: CapSet(0x1ff_ffff_ffff), bounding: CapSet(0x1ff_ffff_ffff), euid: 0 };

    fn request(words: &[&str]) -> anyhow::Result<Request> {
        let options = Options::from_args(&["capdrop"], words).map_err(|e| anyhow::anyhow!(e.output))?;
        options.request()
    }

    fn plan_for(words: &[&str], uid: Option<u32>, caller: Caller) -> anyhow::Result<Plan> {
        let ids = IdChange { uid, gid: uid, groups: uid.map(|u| vec![u]) };
        plan(&request(words)?, ids, caller)
    }

    #[test]
    fn root_keeps_docker_default_with_empty_inheritable_and_ambient() {
        let plan = plan_for(&["true"], None, FULL).expect("valid");
        assert_eq!(plan.bounding, CapSet(0xa80425fb));
        assert_eq!(plan.sets.permitted, CapSet(0xa80425fb));
        assert_eq!(plan.sets.effective, CapSet(0xa80425fb));
        assert_eq!(plan.sets.inheritable, CapSet::EMPTY);
        assert_eq!(plan.ambient, CapSet::EMPTY);
        assert!(plan.no_new_privs);
    }

    #[test]
    fn non_root_gets_ambient_only_for_named_caps() {
        let plan = plan_for(&["--keep", "NET_BIND_SERVICE", "true"], Some(65534), FULL).expect("valid");
        assert_eq!(plan.bounding, CapSet(1 << 10));
        assert_eq!(plan.ambient, CapSet(1 << 10));
        assert_eq!(plan.sets.inheritable, CapSet(1 << 10));
        let plan = plan_for(&["true"], Some(65534), FULL).expect("valid");
        assert_eq!(plan.bounding, CapSet(0xa80425fb));
        assert_eq!(plan.sets.permitted, CapSet::EMPTY);
        assert_eq!(plan.ambient, CapSet::EMPTY);
    }

    #[test]
    fn keep_none_all_and_drop() {
        assert_eq!(plan_for(&["--keep", "none", "true"], None, FULL).expect("valid").bounding, CapSet::EMPTY);
        assert_eq!(plan_for(&["--keep", "ALL", "true"], None, FULL).expect("valid").bounding, FULL.bounding);
        let dropped = plan_for(&["--drop", "cap_chown,Kill", "true"], None, FULL).expect("valid");
        assert_eq!(dropped.bounding, CapSet(0xa80425fb & !0b10_0001));
    }

    #[test]
    fn caps_the_kernel_or_the_caller_lacks() {
        let old_kernel = Caller { last_cap: 37, ..FULL };
        assert!(plan_for(&["--keep", "bpf", "true"], None, old_kernel).is_err());
        assert!(plan_for(&["--drop", "bpf", "true"], None, old_kernel).is_ok());
        assert_eq!(plan_for(&["--keep", "all", "true"], None, old_kernel).expect("valid").bounding, CapSet::up_to(37));
        let no_resource = Caller { bounding: CapSet(FULL.bounding.0 & !(1 << 24)), ..FULL };
        assert!(plan_for(&["--keep", "sys_resource", "true"], None, no_resource).is_err());
        assert!(!plan_for(&["--keep", "all", "true"], None, no_resource).expect("valid").bounding.contains(24));
    }

    #[test]
    fn default_in_a_list_stands_for_the_default_set() {
        // Docker's default set, MKNOD included.
        const DOCKER: u64 = 0xa80425fb;
        let plan = plan_for(&["--keep", "DEFAULT,sys_ptrace", "true"], None, FULL).expect("valid");
        assert_eq!(plan.bounding, CapSet(DOCKER | 1 << 19));
        assert_eq!(
            plan_for(&["--keep", "default", "true"], None, FULL).expect("valid"),
            plan_for(&["true"], None, FULL).expect("valid")
        );
        let dropped = plan_for(&["--keep", "net_admin,default", "--drop", "kill", "true"], None, FULL).expect("valid");
        assert_eq!(dropped.bounding, CapSet((DOCKER | 1 << 12) & !(1 << 5)));
        // Like the default alone, it leaves out what the caller lacks.
        let no_chown = Caller { bounding: CapSet(FULL.bounding.0 & !1), ..FULL };
        assert_eq!(
            plan_for(&["--keep", "default,sys_ptrace", "true"], None, no_chown).expect("valid").bounding,
            CapSet((DOCKER | 1 << 19) & !1)
        );
        // A non-root user gets a listed default through the ambient set.
        let nobody = plan_for(&["--keep", "default,net_admin", "true"], Some(65534), FULL).expect("valid");
        assert_eq!(nobody.ambient, CapSet(DOCKER | 1 << 12));
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for words in [
            &["--keep", "bogus", "true"][..],
            &["--keep", "", "true"],
            &["--drop", "chown,", "true"],
            &["--keep", "all,chown", "true"],
            &["--keep", "default,", "true"],
            &["--keep", "default,bogus", "true"],
            &["--keep", "default,none", "true"],
            &["--user", "", "true"],
            &["--groups", "", "true"],
            &[],
            &["--keep", "none"],
        ] {
            assert!(request(words).is_err(), "{words:?} accepted");
        }
        assert!(request(&["--show"]).is_ok());
    }
}
