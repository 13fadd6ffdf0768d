//! Command line of cgset, and every check made before anything is created.

use argh::FromArgs;
use chainload::{usage, Chained};

use crate::limits::Limits;
use crate::values::{self, Limit};

#[derive(FromArgs)]
#[argh(
    usage = "[OPTIONS] [--] [PROG [ARGS...]]",
    help_triggers("-h", "--help"),
    example = "A shell limited to 256 MiB, no swap, half a CPU, 64 processes:\n  $ cgset --name web --memory 256M --memory-swap 256M --cpus 0.5 \\\n      --pids 64 -- sh\n  $ cgset --remove --name web",
    example = "Docker's device rules, and /dev/fuse:\n  $ cgset --name web --device-allow 'c 10:229 rwm' -- sh",
    example = "Limit a running process:\n  $ cgset --name batch --pid 4242 --cpuset 0",
    example = "Let the next step start its child in the v2 cgroup (no migration wait):\n  $ cgset --name web --pids 64 --leave-v2 -- \\\n      unshare-lite --cgroup-dir /sys/fs/cgroup/isokit/web --all -- sh",
    note = "Without PROG, cgset applies and exits. ISOKIT_TRACE=1 prints the\nvalues written. The manual: man cgset.",
    error_code(125, "cgset itself failed (bad value, a cgroup could not be made or joined)"),
    error_code(126, "PROG was found but could not be executed"),
    error_code(127, "PROG was not found")
)]
/// Place a process in a cgroup with resource limits, then exec PROG in it.
pub struct Options {
    /// PATH: the cgroup isokit/PATH (default: the joining PID)
    #[argh(option, arg_name = "PATH")]
    name: Option<String>,
    /// SIZE: memory limit (K, M, G, or max)
    #[argh(option, arg_name = "SIZE")]
    memory: Option<String>,
    /// SIZE: memory plus swap, at least --memory
    #[argh(option, arg_name = "SIZE")]
    memory_swap: Option<String>,
    /// CPU time in CPUs, e.g. 0.5
    #[argh(option, arg_name = "N")]
    cpus: Option<String>,
    /// relative CPU weight, 1 to 10000
    #[argh(option, arg_name = "N")]
    cpu_weight: Option<String>,
    /// the number of processes allowed
    #[argh(option, arg_name = "N")]
    pids: Option<String>,
    /// relative I/O weight, 1 to 10000
    #[argh(option, arg_name = "N")]
    io_weight: Option<String>,
    /// LIST of CPUs allowed, e.g. 0-3,6
    #[argh(option, arg_name = "LIST")]
    cpuset: Option<String>,
    /// default: deny every device but Docker's standard set
    #[argh(option, arg_name = "default")]
    devices: Option<String>,
    /// RULE: also allow 'TYPE MAJOR:MINOR ACCESS', repeatable
    #[argh(option, arg_name = "RULE")]
    device_allow: Vec<String>,
    /// FILE=VALUE: write a control file, repeatable
    #[argh(option, arg_name = "FILE=VALUE")]
    set: Vec<String>,
    /// PID: move PID instead of cgset, repeatable
    #[argh(option, arg_name = "PID")]
    pid: Vec<String>,
    /// make and limit the v2 cgroup but do not move into it: the next
    /// step starts its child there (unshare-lite --cgroup-dir)
    #[argh(switch)]
    leave_v2: bool,
    /// delete the (empty) cgroup --name
    #[argh(switch)]
    remove: bool,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// the program to run in the cgroup, and its arguments
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

/// What to do, checked; built before any file is touched.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// Components of NAME, below isokit/.
    pub name: Vec<String>,
    pub limits: Limits,
    /// The processes to move in (cgset's own PID when it execs PROG).
    pub pids: Vec<i32>,
    pub remove: bool,
    /// Move into the v1 hierarchies only: the v2 move is the next step's.
    pub leave_v2: bool,
}

impl Options {
    /// Check every value and combination; OWN_PID names the default cgroup.
    pub fn plan(&self, own_pid: i32) -> anyhow::Result<Plan> {
        let has_command = !self.command.is_empty();
        let mut pids = Vec::new();
        for text in &self.pid {
            match text.parse::<i32>() {
                Ok(pid) if pid > 0 => pids.push(pid),
                _ => return Err(usage(format!("invalid PID '{text}'"))),
            }
        }
        let limits = self.limits()?;
        if self.remove {
            if !limits.is_empty() || !pids.is_empty() {
                return Err(usage("--remove takes only --name (and PROG to run afterwards)"));
            }
            if self.name.is_none() {
                return Err(usage("--remove requires --name"));
            }
        }
        if self.leave_v2 && (self.remove || !pids.is_empty() || self.name.is_none()) {
            // The next step must be told the directory, so it needs a name;
            // another process has no next step to hand the move to.
            return Err(usage("--leave-v2 takes --name and PROG, without --pid or --remove"));
        }
        if !self.remove && self.name.is_none() && pids.is_empty() && !has_command {
            return Err(usage("--name is required without PROG or --pid (the default name is the joining PID)"));
        }
        if pids.is_empty() && has_command && !self.remove {
            pids.push(own_pid);
        }
        let name = match (&self.name, pids.first()) {
            (Some(name), _) => values::parse_name(name).map_err(usage)?,
            (None, Some(pid)) => vec![pid.to_string()],
            (None, None) => vec![own_pid.to_string()],
        };
        Ok(Plan { name, limits, pids, remove: self.remove, leave_v2: self.leave_v2 })
    }

    fn limits(&self) -> anyhow::Result<Limits> {
        let memory = self.memory.as_deref().map(values::parse_size).transpose().map_err(usage)?;
        let memory_swap = self.memory_swap.as_deref().map(values::parse_size).transpose().map_err(usage)?;
        match (memory, memory_swap) {
            (None, Some(_)) => return Err(usage("--memory-swap requires --memory")),
            (Some(Limit::Max), Some(Limit::Value(_))) => {
                return Err(usage("--memory-swap requires a --memory limit (not max)"));
            }
            (Some(Limit::Value(memory)), Some(Limit::Value(total))) if total < memory => {
                return Err(usage("--memory-swap (memory plus swap) must be at least --memory"));
            }
            _ => {}
        }
        let settings: Vec<(String, String)> =
            self.set.iter().map(|s| values::parse_setting(s)).collect::<Result<_, _>>().map_err(usage)?;
        Ok(Limits {
            memory,
            memory_swap,
            cpu_quota: self.cpus.as_deref().map(values::parse_cpus).transpose().map_err(usage)?,
            cpu_weight: self.cpu_weight.as_deref().map(values::parse_weight).transpose().map_err(usage)?,
            pids: self.pids.as_deref().map(values::parse_pids).transpose().map_err(usage)?,
            io_weight: self.io_weight.as_deref().map(values::parse_weight).transpose().map_err(usage)?,
            cpuset: self.cpuset.as_deref().map(values::parse_cpu_list).transpose().map_err(usage)?,
            devices: match (self.devices.as_deref(), self.device_allow.is_empty()) {
                (None, true) => None,
                (None | Some("default"), _) => {
                    Some(crate::devices::rules(&self.device_allow).map_err(|e| usage(e.to_string()))?)
                }
                (Some(other), _) => {
                    return Err(usage(format!("invalid --devices '{other}' (the one set is 'default')")))
                }
            },
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(words: &[&str]) -> anyhow::Result<Plan> {
        let options = Options::from_args(&["cgset"], words).map_err(|e| anyhow::anyhow!(e.output))?;
        options.plan(4242)
    }

    #[test]
    fn prog_moves_cgset_itself_into_a_cgroup_named_after_its_pid() {
        let plan = plan(&["--memory", "32M", "sh"]).expect("valid");
        assert_eq!((plan.name, plan.pids), (vec!["4242".to_string()], vec![4242]));
        let plan = plan_ok(&["--pid", "7", "--pid", "8"]);
        assert_eq!((plan.name, plan.pids), (vec!["7".to_string()], vec![7, 8]));
    }

    fn plan_ok(words: &[&str]) -> Plan {
        plan(words).expect("valid")
    }

    #[test]
    fn without_prog_nothing_moves() {
        let plan = plan_ok(&["--name", "web", "--pids", "5"]);
        assert!(plan.pids.is_empty());
        assert!(super::tests::plan(&["--pids", "5"]).is_err(), "no name to find it by");
    }

    #[test]
    fn bad_values_and_combinations_are_refused() {
        for words in [
            &["--memory", "32X", "sh"][..],
            &["--memory-swap", "32M", "sh"],
            &["--memory", "64M", "--memory-swap", "32M", "sh"],
            &["--memory", "max", "--memory-swap", "32M", "sh"],
            &["--cpus", "-1", "sh"],
            &["--cpu-weight", "0", "sh"],
            &["--pids", "ten", "sh"],
            &["--cpuset", "0-", "sh"],
            &["--set", "memory.max", "sh"],
            &["--pid", "0"],
            &["--pid", "-5"],
            &["--name", "../x", "sh"],
            &["--remove"],
            &["--remove", "--name", "x", "--pids", "3"],
            &["--devices", "all", "sh"],
            &["--device-allow", "c 1:3 rwx", "sh"],
            &["--leave-v2", "sh"],
            &["--leave-v2", "--name", "x", "--pid", "7"],
            &["--leave-v2", "--remove", "--name", "x"],
        ] {
            assert!(plan(words).is_err(), "{words:?}");
        }
    }

    #[test]
    fn remove_needs_only_a_name() {
        let plan = plan_ok(&["--remove", "--name", "a/b"]);
        assert!(plan.remove && plan.pids.is_empty());
        assert_eq!(plan.name, ["a", "b"]);
    }
}
