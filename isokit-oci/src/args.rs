//! The runc command line: global options, a command, its options and
//! operands. Hand-parsed because engines write `--log-format=json` and
//! runc's single-dash long forms (`-pid-file`) as well as the plain ones.

use std::collections::BTreeMap;

use anyhow::anyhow;
use chainload::usage;

pub struct Global {
    pub root: Option<String>,
    pub log: Option<String>,
    pub json: bool,
    pub debug: bool,
}

pub struct Command {
    pub name: String,
    pub flags: BTreeMap<String, String>,
    /// Every value of a repeatable option, in order.
    pub lists: BTreeMap<String, Vec<String>>,
    pub operands: Vec<String>,
    /// Everything after a `--` that ends the options (gate, sysctl, exec).
    pub tail: Vec<String>,
}

/// Options that take a value, per command; every other option is a flag.
fn takes_value(command: &str, option: &str) -> bool {
    if command == "gate" {
        return matches!(option, "ready-fd" | "fifo-fd" | "cwd" | "umask" | "masked" | "readonly");
    }
    match option {
        "bundle" | "b" | "pid-file" | "console-socket" | "preserve-fds" | "process" | "p" => true,
        "format" | "f" => matches!(command, "list" | "ps"),
        "cwd" | "env" | "e" | "user" | "u" | "cap" | "c" | "process-label" | "apparmor" => command == "exec",
        "memory" | "memory-swap" | "pids-limit" | "cpu-quota" | "cpu-period" | "cpu-shares" | "cpuset-cpus"
        | "resources" | "r" | "cpuset-mems" | "kernel-memory" | "blkio-weight" | "cpu-rt-period" | "cpu-rt-runtime"
        | "memory-reservation" | "l3-cache-schema" | "mem-bw-schema" => command == "update",
        "cgroup" => matches!(command, "pause" | "resume"),
        _ => false,
    }
}

const FLAGS: &[(&str, &[&str])] = &[
    ("create", &["bundle", "b", "pid-file", "console-socket", "preserve-fds", "no-pivot", "no-new-keyring"]),
    ("run", &[]),
    ("start", &[]),
    ("state", &[]),
    ("kill", &["all", "a"]),
    ("delete", &["force", "f"]),
    ("list", &["format", "f", "quiet", "q"]),
    (
        "exec",
        &[
            "process",
            "p",
            "detach",
            "d",
            "pid-file",
            "console-socket",
            "tty",
            "t",
            "preserve-fds",
            "no-new-privs",
            "cwd",
            "env",
            "e",
            "user",
            "u",
            "cap",
            "c",
        ],
    ),
    ("ps", &["format", "f"]),
    ("pause", &["cgroup"]),
    ("resume", &["cgroup"]),
    (
        "update",
        &[
            "memory",
            "memory-swap",
            "pids-limit",
            "cpu-quota",
            "cpu-period",
            "cpu-shares",
            "cpuset-cpus",
            "resources",
            "r",
            "cpuset-mems",
            "kernel-memory",
            "blkio-weight",
            "cpu-rt-period",
            "cpu-rt-runtime",
            "memory-reservation",
            "l3-cache-schema",
            "mem-bw-schema",
        ],
    ),
    ("features", &[]),
    ("explain", &["bundle", "b"]),
    ("gate", &["ready-fd", "fifo-fd", "cwd", "umask", "masked", "readonly"]),
    ("sysctl", &[]),
];

/// Split `--name=value` and `-name` into name and value.
fn option_name(word: &str) -> Option<(String, Option<String>)> {
    let bare = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
    if bare.is_empty() {
        return None;
    }
    Some(match bare.split_once('=') {
        Some((name, value)) => (name.to_string(), Some(value.to_string())),
        None => (bare.to_string(), None),
    })
}

pub fn parse(args: &[String]) -> anyhow::Result<(Global, Option<Command>)> {
    let mut global = Global { root: None, log: None, json: false, debug: false };
    let mut words = args.iter().peekable();
    while let Some(word) = words.peek() {
        let Some((name, value)) = option_name(word) else { break };
        words.next();
        let mut value = || {
            value
                .clone()
                .or_else(|| words.next().cloned())
                .ok_or_else(|| usage(format!("option '--{name}' needs a value")))
        };
        match name.as_str() {
            "root" => global.root = Some(value()?),
            "log" => global.log = Some(value()?),
            "log-format" => {
                global.json = match value()?.as_str() {
                    "json" => true,
                    "text" => false,
                    other => return Err(usage(format!("invalid --log-format '{other}' (text, json)"))),
                }
            }
            "debug" => global.debug = true,
            "systemd-cgroup" => {
                return Err(anyhow!(
                    "--systemd-cgroup: not supported, isokit-oci drives cgroupfs (podman --cgroup-manager cgroupfs)"
                ))
            }
            "help" | "h" => {
                return Ok((
                    global,
                    Some(Command {
                        name: "help".into(),
                        flags: BTreeMap::new(),
                        lists: BTreeMap::new(),
                        operands: vec![],
                        tail: vec![],
                    }),
                ))
            }
            "version" | "v" => {
                return Ok((
                    global,
                    Some(Command {
                        name: "version".into(),
                        flags: BTreeMap::new(),
                        lists: BTreeMap::new(),
                        operands: vec![],
                        tail: vec![],
                    }),
                ))
            }
            other => return Err(usage(format!("unrecognized global option '--{other}'"))),
        }
    }
    let Some(name) = words.next() else { return Ok((global, None)) };
    let allowed = FLAGS
        .iter()
        .find(|(command, _)| command == name)
        .map(|(_, flags)| *flags)
        .ok_or_else(|| usage(format!("unknown command '{name}'")))?;
    let mut command = Command {
        name: name.clone(),
        flags: BTreeMap::new(),
        lists: BTreeMap::new(),
        operands: Vec::new(),
        tail: Vec::new(),
    };
    while let Some(word) = words.next() {
        if word == "--" {
            command.tail = words.by_ref().cloned().collect();
            break;
        }
        match option_name(word) {
            Some((option, inline)) if command.operands.is_empty() || name != "kill" => {
                if option == "help" || option == "h" {
                    command.flags.insert("help".into(), String::new());
                    continue;
                }
                if !allowed.contains(&option.as_str()) {
                    return Err(usage(format!("{name}: unrecognized option '{word}'")));
                }
                let value = if takes_value(name, &option) {
                    inline
                        .or_else(|| words.next().cloned())
                        .ok_or_else(|| usage(format!("{name}: option '--{option}' needs a value")))?
                } else {
                    inline.unwrap_or_else(|| "true".into())
                };
                command.lists.entry(long(name, &option).into()).or_default().push(value.clone());
                command.flags.insert(long(name, &option).into(), value);
            }
            _ => {
                command.operands.push(word.clone());
                // exec ID CMD...: the command is everything after the id.
                if name == "exec" {
                    command.tail = words.by_ref().cloned().collect();
                    break;
                }
            }
        }
    }
    Ok((global, Some(command)))
}

/// One name per option, whatever short form was used.
fn long<'a>(command: &str, option: &'a str) -> &'a str {
    match option {
        "f" if command == "delete" => "force",
        "f" => "format",
        "b" => "bundle",
        "a" => "all",
        "p" => "process",
        "d" => "detach",
        "t" => "tty",
        "q" => "quiet",
        "e" => "env",
        "u" => "user",
        "c" => "cap",
        "r" => "resources",
        other => other,
    }
}

impl Command {
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains_key(name)
    }
    pub fn value(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }
    pub fn values(&self, name: &str) -> Vec<String> {
        self.lists.get(name).cloned().unwrap_or_default()
    }
    /// The one ID operand the command needs.
    pub fn id(&self) -> anyhow::Result<&str> {
        self.operands.first().map(String::as_str).ok_or_else(|| usage(format!("{}: missing container id", self.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn global_options_take_both_forms() {
        let (g, c) = parse(&words("--root /r --log-format=json --log /l create --bundle /b --pid-file=/p c1")).unwrap();
        assert_eq!(g.root.as_deref(), Some("/r"));
        assert!(g.json);
        let c = c.unwrap();
        assert_eq!(c.value("bundle"), Some("/b"));
        assert_eq!(c.value("pid-file"), Some("/p"));
        assert_eq!(c.operands, ["c1"]);
    }

    #[test]
    fn kill_takes_a_signal_operand_and_exec_a_command() {
        let (_, c) = parse(&words("kill --all c1 -9")).unwrap();
        assert_eq!(c.unwrap().operands, ["c1", "-9"]);
        let (_, c) = parse(&words("exec --detach c1 ls -l")).unwrap();
        let c = c.unwrap();
        assert_eq!((c.operands.len(), c.tail.len()), (1, 2));
    }

    #[test]
    fn unknown_options_are_refused() {
        assert!(parse(&words("create --bogus c1")).is_err());
        assert!(parse(&words("--bogus state c1")).is_err());
    }
}
