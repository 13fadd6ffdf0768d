//! Command line of unshare-lite, and the checks made before anything runs.

use std::path::PathBuf;

use argh::FromArgs;
use chainload::{usage, Chained};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid};

use crate::join::{parse_join, Join, Kind};

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] [--] PROG [ARGS...]",
    help_triggers("-h", "--help"),
    example = "A shell in the six namespaces of a container:\n  $ unshare-lite --all --hostname box -- sh -c 'hostname; echo $$'",
    example = "Root of a new user namespace, with a /proc of its own:\n  $ unshare-lite --user --map-root --pid --mount-proc -- id",
    example = "The network of /run/netns/x, in a mount namespace of its own:\n  $ unshare-lite --join net=/run/netns/x --mount -- ip addr",
    note = "The init keeps only CAP_KILL and shows as 'unshare-lite-init PROG'.\nISOKIT_TRACE=1 prints what was made. The manual: man unshare-lite.",
    error_code(125, "unshare-lite itself failed (bad option, a namespace could not be made)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found")
)]
/// Create new Linux namespaces, then exec PROG inside them.
pub struct Options {
    /// new mount namespace (/ made recursively private)
    #[argh(switch)]
    mount: bool,
    /// new UTS namespace (hostname)
    #[argh(switch)]
    uts: bool,
    /// new IPC namespace
    #[argh(switch)]
    ipc: bool,
    /// new network namespace (only lo; see netns-setup)
    #[argh(switch)]
    net: bool,
    /// new PID namespace: forks, PROG runs under a PID-1 init
    #[argh(switch)]
    pid: bool,
    /// new cgroup namespace (the current cgroup becomes /)
    #[argh(switch)]
    cgroup: bool,
    /// new user namespace, made first so it owns the others
    #[argh(switch)]
    user: bool,
    /// new time namespace (see --monotonic, --boottime)
    #[argh(switch)]
    time: bool,
    /// mount, uts, ipc, net, pid and cgroup together
    #[argh(switch)]
    all: bool,
    /// TYPE=PATH: join the namespace at PATH (repeatable; TYPE is mnt,
    /// uts, ipc, net, pid, cgroup, user or time)
    #[argh(option, arg_name = "TYPE=PATH", from_str_fn(parse_join))]
    join: Vec<Join>,
    /// refuse a --join file that is a namespace this process is in
    /// already (a reused PID in /proc/PID/ns)
    #[argh(switch)]
    join_foreign: bool,
    /// NAME: set the hostname (requires --uts)
    #[argh(option, arg_name = "NAME")]
    hostname: Option<String>,
    /// map the caller's uid and gid to 0 (implies --user)
    #[argh(switch)]
    map_root: bool,
    /// UID: map the caller's uid and gid to UID (implies --user)
    #[argh(option, arg_name = "UID")]
    map_user: Option<u32>,
    /// caller as 0, its /etc/subuid and /etc/subgid range as 1..N, by
    /// newuidmap/newgidmap (implies --user)
    #[argh(switch)]
    map_subids: bool,
    /// MODE of /: private (default), slave, shared, unchanged
    #[argh(option, arg_name = "MODE", from_str_fn(parse_propagation))]
    propagation: Option<Propagation>,
    /// mount a fresh /proc (implies --mount)
    #[argh(switch)]
    mount_proc: bool,
    /// DIR: start the init in this cgroup v2 directory (clone3
    /// CLONE_INTO_CGROUP; requires --pid)
    #[argh(option, arg_name = "DIR")]
    cgroup_dir: Option<PathBuf>,
    /// FILE: write the init's PID before PROG runs
    #[argh(option, arg_name = "FILE")]
    pidfile: Option<PathBuf>,
    /// exec PROG as PID 1, without the init (requires --pid)
    #[argh(switch)]
    as_pid1: bool,
    /// FD: the launcher leaves once pipe FD is readable or closed; the
    /// init runs on under the nearest subreaper (requires --pid)
    #[argh(option, arg_name = "FD")]
    detach_init: Option<i32>,
    /// PROG without the caller's terminal (requires --pid)
    #[argh(switch)]
    new_session: bool,
    /// SECS: offset CLOCK_MONOTONIC (requires --time)
    #[argh(option, arg_name = "SECS")]
    monotonic: Option<i64>,
    /// SECS: offset CLOCK_BOOTTIME (requires --time)
    #[argh(option, arg_name = "SECS")]
    boottime: Option<i64>,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Private,
    Slave,
    Shared,
    Unchanged,
}

impl Propagation {
    /// The mount(2) flag, or None for "leave it as it is".
    pub fn flag(self) -> Option<MsFlags> {
        match self {
            Propagation::Private => Some(MsFlags::MS_PRIVATE),
            Propagation::Slave => Some(MsFlags::MS_SLAVE),
            Propagation::Shared => Some(MsFlags::MS_SHARED),
            Propagation::Unchanged => None,
        }
    }
}

fn parse_propagation(value: &str) -> Result<Propagation, String> {
    match value {
        "private" => Ok(Propagation::Private),
        "slave" => Ok(Propagation::Slave),
        "shared" => Ok(Propagation::Shared),
        "unchanged" => Ok(Propagation::Unchanged),
        other => Err(format!("unsupported propagation mode '{other}' (private, slave, shared, unchanged)")),
    }
}

/// Ids to map in a new user namespace: one id inside for the caller's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside_uid: Uid,
    pub outside_gid: Gid,
}

/// Offsets for a new time namespace, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeOffsets {
    pub monotonic: i64,
    pub boottime: i64,
}

/// What to do, checked and resolved; built before any system call.
#[derive(Debug)]
pub struct Plan {
    /// Namespaces the process itself moves into (not user, pid or time).
    pub namespaces: CloneFlags,
    pub user: bool,
    pub map: Option<IdMap>,
    /// Map the caller's subordinate ranges (newuidmap, newgidmap).
    pub map_subids: bool,
    pub pid: bool,
    /// Existing namespaces to enter, at most one of each type, none of a
    /// type also made new.
    pub joins: Vec<Join>,
    /// Refuse a join file that is one of this process's own namespaces.
    pub join_foreign: bool,
    pub as_pid1: bool,
    /// The fd on which the launcher waits to leave the init on its own
    /// (see init::launch).
    pub detach_init: Option<i32>,
    pub new_session: bool,
    pub time: Option<TimeOffsets>,
    pub hostname: Option<String>,
    pub propagation: Propagation,
    pub mount_proc: bool,
    pub pidfile: Option<PathBuf>,
    /// The cgroup v2 directory the init starts in.
    pub cgroup_dir: Option<PathBuf>,
}

/// Longest hostname the kernel accepts (HOST_NAME_MAX).
const HOST_NAME_MAX: usize = 64;

impl Options {
    /// Check every combination and resolve the plan, or say what is wrong.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let all = self.all;
        let mount = self.mount || all || self.mount_proc;
        let uts = self.uts || all;
        let pid = self.pid || all;
        let user = self.user || self.map_root || self.map_user.is_some() || self.map_subids;
        let time = self.time;

        if self.hostname.is_some() && !uts {
            // Without a new UTS namespace this would rename the host.
            return Err(usage("--hostname requires --uts (or --all)"));
        }
        if let Some(name) = &self.hostname {
            if name.is_empty() || name.len() > HOST_NAME_MAX {
                return Err(usage(format!("invalid hostname '{name}': must be 1 to {HOST_NAME_MAX} bytes")));
            }
        }
        if [self.map_root, self.map_user.is_some(), self.map_subids].iter().filter(|&&given| given).count() > 1 {
            return Err(usage("--map-root, --map-user and --map-subids are mutually exclusive"));
        }
        if self.propagation.is_some() && !mount {
            return Err(usage("--propagation requires --mount"));
        }
        if self.as_pid1 && !pid {
            return Err(usage("--as-pid1 requires --pid"));
        }
        let joins_pid = self.join.iter().any(|join| join.kind == Kind::Pid);
        if let Some(fd) = self.detach_init {
            if !pid && !joins_pid {
                // Without a fork there is no launcher to leave.
                return Err(usage("--detach-init requires --pid (or --join pid)"));
            }
            if fd < 3 {
                return Err(usage(format!("--detach-init {fd}: needs an fd of its own, 3 or above")));
            }
        }
        if self.new_session && !pid && !joins_pid {
            // setsid(2) fails for a process group leader, which a command
            // started from a shell is; the init's child never is.
            return Err(usage("--new-session requires --pid"));
        }
        if self.cgroup_dir.is_some() && !pid && !joins_pid {
            // Only a new process can start in a cgroup; without a fork,
            // this process would have to be moved (cgset does that).
            return Err(usage("--cgroup-dir requires --pid (or --join pid): only the init is started in the cgroup"));
        }
        if matches!(&self.cgroup_dir, Some(path) if path.as_os_str().is_empty()) {
            return Err(usage("--cgroup-dir needs a directory"));
        }
        if self.mount_proc && matches!(self.propagation, Some(Propagation::Shared | Propagation::Unchanged)) {
            // The new /proc would propagate to the caller's namespace and
            // hide its /proc there.
            return Err(usage("--mount-proc requires --propagation private or slave"));
        }
        if (self.monotonic.is_some() || self.boottime.is_some()) && !time {
            return Err(usage("--monotonic and --boottime require --time"));
        }
        if self.command.is_empty() {
            return Err(usage("missing command to run"));
        }
        if matches!(&self.pidfile, Some(path) if path.as_os_str().is_empty()) {
            return Err(usage("--pidfile needs a file name"));
        }

        self.check_joins(JoinContext { mount, uts, pid, user, time, all })?;

        let mut namespaces = CloneFlags::empty();
        for (wanted, flag) in [
            (mount, CloneFlags::CLONE_NEWNS),
            (uts, CloneFlags::CLONE_NEWUTS),
            (self.ipc || all, CloneFlags::CLONE_NEWIPC),
            (self.net || all, CloneFlags::CLONE_NEWNET),
            (self.cgroup || all, CloneFlags::CLONE_NEWCGROUP),
        ] {
            if wanted {
                namespaces |= flag;
            }
        }
        let inside = if self.map_root { Some(0) } else { self.map_user };
        Ok(Plan {
            namespaces,
            user,
            map: inside.map(|inside| IdMap { inside, outside_uid: Uid::current(), outside_gid: Gid::current() }),
            map_subids: self.map_subids,
            pid,
            joins: self.join.clone(),
            join_foreign: self.join_foreign,
            as_pid1: self.as_pid1,
            detach_init: self.detach_init,
            new_session: self.new_session,
            time: time
                .then(|| TimeOffsets { monotonic: self.monotonic.unwrap_or(0), boottime: self.boottime.unwrap_or(0) }),
            hostname: self.hostname.clone(),
            propagation: self.propagation.unwrap_or(Propagation::Private),
            mount_proc: self.mount_proc,
            pidfile: self.pidfile.clone(),
            cgroup_dir: self.cgroup_dir.clone(),
        })
    }
}

/// What the other options make new, for the checks of --join.
struct JoinContext {
    mount: bool,
    uts: bool,
    pid: bool,
    user: bool,
    time: bool,
    all: bool,
}

impl Options {
    /// The kernel's rules for setns(2), checked before anything happens.
    fn check_joins(&self, made: JoinContext) -> anyhow::Result<()> {
        let new = |kind: Kind| match kind {
            Kind::Mnt => made.mount,
            Kind::Uts => made.uts,
            Kind::Ipc => self.ipc || made.all,
            Kind::Net => self.net || made.all,
            Kind::Pid => made.pid,
            Kind::Cgroup => self.cgroup || made.all,
            Kind::User => made.user,
            Kind::Time => made.time,
        };
        for (index, join) in self.join.iter().enumerate() {
            let name = join.kind.name();
            if self.join[..index].iter().any(|earlier| earlier.kind == join.kind) {
                return Err(usage(format!("--join {name} is given twice")));
            }
            if new(join.kind) {
                // A process is in one namespace of each type: the one
                // joined or a new one, not both.
                return Err(usage(format!("--join {name} and a new {name} namespace: choose one")));
            }
            if made.user && join.kind != Kind::User {
                // setns(2) needs CAP_SYS_ADMIN in the user namespace that
                // owns the target; a new user namespace gives capabilities
                // only over what it owns, and it owns nothing yet.
                return Err(usage(format!(
                    "--join {name} cannot follow a new user namespace (--user): join the user namespace that owns it instead (--join user=...)"
                )));
            }
        }
        let joins_mnt = self.join.iter().any(|join| join.kind == Kind::Mnt);
        let forks = made.pid || self.join.iter().any(|join| join.kind == Kind::Pid);
        if joins_mnt && self.pidfile.is_some() && !forks {
            // Without a fork the pidfile is written by the process that
            // entered the other mount namespace: the caller's path would
            // name a file there.
            return Err(usage("--pidfile with --join mnt requires --pid or --join pid"));
        }
        Ok(())
    }
}

impl Plan {
    /// Whether unshare-lite forks: a new or joined PID namespace holds only
    /// children of the process that made or joined it (pid_namespaces(7)).
    pub fn forks(&self) -> bool {
        self.pid || self.joins.iter().any(|join| join.kind == Kind::Pid)
    }

    /// What was made and joined, for the trace line.
    pub fn describe(&self) -> String {
        let made = self.describe_new();
        if self.joins.is_empty() {
            return made;
        }
        let joined: Vec<String> =
            self.joins.iter().map(|join| format!("{}={}", join.kind.name(), join.path.display())).collect();
        let joined = format!("joined {}", joined.join(","));
        if self.describe_new_is_empty() {
            joined
        } else {
            format!("{made}; {joined}")
        }
    }

    fn describe_new_is_empty(&self) -> bool {
        !self.user && !self.pid && self.namespaces.is_empty() && self.time.is_none()
    }

    /// Short names of the namespaces made.
    fn describe_new(&self) -> String {
        let mut names = Vec::new();
        if self.user {
            names.push("user");
        }
        for (flag, name) in [
            (CloneFlags::CLONE_NEWNS, "mnt"),
            (CloneFlags::CLONE_NEWUTS, "uts"),
            (CloneFlags::CLONE_NEWIPC, "ipc"),
            (CloneFlags::CLONE_NEWNET, "net"),
        ] {
            if self.namespaces.contains(flag) {
                names.push(name);
            }
        }
        if self.pid {
            names.push("pid");
        }
        if self.namespaces.contains(CloneFlags::CLONE_NEWCGROUP) {
            names.push("cgroup");
        }
        if self.time.is_some() {
            names.push("time");
        }
        if names.is_empty() {
            "no new namespaces".to_string()
        } else {
            format!("new {}", names.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(words: &[&str]) -> anyhow::Result<Plan> {
        let options = Options::from_args(&["unshare-lite"], words).map_err(|e| anyhow::anyhow!(e.output))?;
        options.plan()
    }

    #[test]
    fn all_means_six_namespaces() {
        let plan = plan(&["--all", "true"]).expect("valid");
        assert_eq!(plan.describe(), "new mnt,uts,ipc,net,pid,cgroup");
    }

    #[test]
    fn hostname_without_uts_is_refused() {
        assert!(plan(&["--hostname", "x", "true"]).is_err());
        assert!(plan(&["--uts", "--hostname", "x", "true"]).is_ok());
    }

    #[test]
    fn hostname_length_is_checked() {
        let long = "a".repeat(65);
        assert!(plan(&["--uts", "--hostname", &long, "true"]).is_err());
        assert!(plan(&["--uts", "--hostname", "", "true"]).is_err());
    }

    #[test]
    fn conflicting_and_dependent_options_are_refused() {
        assert!(plan(&["--map-root", "--map-user", "5", "true"]).is_err());
        assert!(plan(&["--map-root", "--map-subids", "true"]).is_err());
        assert!(plan(&["--map-subids", "true"]).is_ok_and(|plan| plan.user && plan.map_subids));
        assert!(plan(&["--as-pid1", "true"]).is_err());
        assert!(plan(&["--propagation", "slave", "true"]).is_err());
        assert!(plan(&["--monotonic", "5", "true"]).is_err());
        assert!(plan(&["--mount", "--propagation", "bogus", "true"]).is_err());
        assert!(plan(&["--mount"]).is_err());
        assert!(plan(&["--new-session", "true"]).is_err());
        assert!(plan(&["--mount-proc", "--propagation", "shared", "true"]).is_err());
        assert!(plan(&["--pid", "--new-session", "true"]).is_ok());
        assert!(plan(&["--cgroup-dir", "/sys/fs/cgroup/x", "true"]).is_err());
        assert!(plan(&["--pid", "--cgroup-dir", "/sys/fs/cgroup/x", "true"]).is_ok());
    }

    #[test]
    fn map_root_implies_user_and_mount_proc_implies_mount() {
        let plan = plan(&["--map-root", "--mount-proc", "true"]).expect("valid");
        assert!(plan.user);
        assert_eq!(plan.map.map(|m| m.inside), Some(0));
        assert!(plan.namespaces.contains(CloneFlags::CLONE_NEWNS));
    }

    #[test]
    fn joins_follow_setns_rules() {
        assert!(plan(&["--join", "net=/n", "--net", "true"]).is_err());
        assert!(plan(&["--join", "mnt=/m", "--mount-proc", "true"]).is_err());
        assert!(plan(&["--join", "net=/n", "--join", "net=/m", "true"]).is_err());
        assert!(plan(&["--join", "net=/n", "--map-root", "true"]).is_err());
        assert!(plan(&["--join", "user=/u", "--map-root", "true"]).is_err());
        assert!(plan(&["--join", "mnt=/m", "--pidfile", "p", "true"]).is_err());
        assert!(plan(&["--detach-init", "5", "--net", "true"]).is_err());
        assert!(plan(&["--detach-init", "0", "--pid", "true"]).is_err());
        assert!(plan(&["--detach-init", "5", "--pid", "true"]).is_ok());
        assert!(plan(&["--join", "pid=/p", "--as-pid1", "true"]).is_err());
        let plan =
            plan(&["--join", "user=/u", "--join", "pid=/p", "--join", "net=/n", "--mount", "true"]).expect("valid");
        assert!(plan.forks() && !plan.pid);
        assert_eq!(plan.describe(), "new mnt; joined user=/u,pid=/p,net=/n");
    }

    #[test]
    fn time_offsets_default_to_zero() {
        let plan = plan(&["--time", "--boottime", "-10", "true"]).expect("valid");
        assert_eq!(plan.time, Some(TimeOffsets { monotonic: 0, boottime: -10 }));
    }
}
