//! The commands that only read the state and the kernel, or write cgroup
//! files through the kit: state, kill, list, ps, pause, resume, update,
//! features, explain; and the dispatch to the lifecycle commands.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use chainload::{usage, Tool};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::args::{Command, Global};
use crate::gate::{self, Gate};
use crate::lifecycle::{self, bin_dir};
use crate::state::{self, Container};
use crate::{cgroups, spec, translate};

/// The state directory: --root, or /run/isokit-oci for root and
/// $XDG_RUNTIME_DIR/isokit-oci for anyone else.
fn root_dir(global: &Global) -> PathBuf {
    if let Some(root) = &global.root {
        return PathBuf::from(root);
    }
    if !nix::unistd::geteuid().is_root() {
        if let Ok(dir) = std::env::var("XDG_RUNTIME_DIR") {
            return Path::new(&dir).join("isokit-oci");
        }
    }
    PathBuf::from("/run/isokit-oci")
}

/// One log line in --log (json: level, msg, time, as runc writes them).
pub fn log(global: &Global, level: &str, msg: &str) {
    let Some(file) = &global.log else { return };
    let time = state::now_rfc3339();
    let line = if global.json {
        serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
    } else {
        format!("time=\"{time}\" level={level} msg={msg:?}")
    };
    if let Ok(mut out) = OpenOptions::new().create(true).append(true).open(file) {
        let _ = writeln!(out, "{line}");
    }
}

pub fn run(global: &Global, command: &Command) -> anyhow::Result<ExitCode> {
    let root = root_dir(global);
    if global.debug {
        log(global, "debug", &format!("{} {}", command.name, command.operands.join(" ")));
    }
    match command.name.as_str() {
        "create" => lifecycle::create(global, &root, command),
        "start" => lifecycle::start(&root, command.id()?),
        "run" => bail!("run: use create and start (isokit-oci keeps the two steps separate)"),
        "delete" => lifecycle::delete(&root, command.id()?, command.flag("force")),
        "exec" => lifecycle::exec(global, &root, command),
        "state" => print_json(&Container::get(&root, command.id()?)?.state_json()),
        "kill" => kill_command(&root, command),
        "list" => list(&root, command),
        "ps" => ps(&root, command),
        "pause" | "resume" => freeze(&root, command, command.name == "pause"),
        "update" => update(&root, command),
        "features" => print_json(&features()),
        "explain" => explain(command),
        other => Err(usage(format!("unknown command '{other}'"))),
    }
}

pub fn internal(tool: &Tool, command: &Command, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let number = |name: &str| -> anyhow::Result<Option<i32>> {
        command.value(name).map(|v| v.parse().map_err(|_| anyhow!("gate: invalid --{name} '{v}'"))).transpose()
    };
    match command.name.as_str() {
        "gate" => {
            let umask = command
                .value("umask")
                .map(|m| u32::from_str_radix(m, 8))
                .transpose()
                .map_err(|_| anyhow!("gate: invalid --umask"))?;
            let ready = number("ready-fd")?.ok_or_else(|| anyhow!("gate: --ready-fd is required"))?;
            let gate = Gate {
                ready,
                fifo: number("fifo-fd")?,
                cwd: command.value("cwd").map(String::from),
                umask,
                masked: command.values("masked"),
                readonly: command.values("readonly"),
            };
            gate::gate(tool, gate, tail)
        }
        _ => gate::sysctl(tool, command.operands.clone(), tail),
    }
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<ExitCode> {
    let text = serde_json::to_string_pretty(value)?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// A signal by number, or by name with or without SIG.
fn parse_signal(text: &str) -> anyhow::Result<Signal> {
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).map_err(|_| anyhow!("invalid signal '{text}'"));
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
    name.parse().map_err(|_| anyhow!("invalid signal '{text}'"))
}

fn kill_command(root: &Path, command: &Command) -> anyhow::Result<ExitCode> {
    let container = Container::get(root, command.id()?)?;
    let signal = parse_signal(command.operands.get(1).map_or("SIGTERM", String::as_str))?;
    if container.status() == "stopped" {
        bail!("container not running");
    }
    if command.flag("all") {
        for pid in cgroups::pids(&container.record.cgroup) {
            let _ = kill(Pid::from_raw(pid), signal);
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The launcher relays the signal to the init, which relays it to the
    // program; SIGKILL ends the launcher, and the init with it (its
    // parent-death signal), and so the whole PID namespace.
    kill(Pid::from_raw(container.record.pid), signal).context("kill the container")?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn containers(root: &Path) -> Vec<Container> {
    let Ok(entries) = fs::read_dir(root) else { return Vec::new() };
    let mut ids: Vec<String> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    ids.sort();
    ids.iter().filter_map(|id| Container::load(root, id).ok().flatten()).collect()
}

fn list(root: &Path, command: &Command) -> anyhow::Result<ExitCode> {
    let all = containers(root);
    if command.value("format") == Some("json") {
        return print_json(&serde_json::Value::Array(all.iter().map(Container::state_json).collect()));
    }
    if command.flag("quiet") {
        all.iter().for_each(|c| println!("{}", c.record.id));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<24} {:<8} {:<8} {:<40} CREATED", "ID", "PID", "STATUS", "BUNDLE");
    for c in &all {
        let status = c.status();
        let pid = if status == "stopped" { 0 } else { c.record.pid };
        println!("{:<24} {:<8} {:<8} {:<40} {}", c.record.id, pid, status, c.record.bundle, c.record.created);
    }
    Ok(ExitCode::SUCCESS)
}

fn ps(root: &Path, command: &Command) -> anyhow::Result<ExitCode> {
    let container = Container::get(root, command.id()?)?;
    if container.status() == "stopped" {
        bail!("container not running");
    }
    let pids = cgroups::pids(&container.record.cgroup);
    match command.value("format").unwrap_or("table") {
        "json" => print_json(&serde_json::json!(pids)),
        "table" => {
            println!("{:>8} CMD", "PID");
            for pid in pids {
                let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmd: Vec<String> = cmd
                    .split(|b| *b == 0)
                    .filter(|w| !w.is_empty())
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                println!("{pid:>8} {}", cmd.join(" "));
            }
            Ok(ExitCode::SUCCESS)
        }
        other => Err(usage(format!("ps: invalid --format '{other}' (table, json)"))),
    }
}

/// pause/resume ID, or --cgroup NAME for a cgroup below isokit/ that
/// isokit-oci did not make (scripts/cpause: contain's containers).
fn freeze(root: &Path, command: &Command, pause: bool) -> anyhow::Result<ExitCode> {
    let cgroup = match command.value("cgroup") {
        Some(name) => {
            if name.split('/').any(|p| p == ".." || p.is_empty()) {
                bail!("invalid --cgroup '{name}'");
            }
            name.to_string()
        }
        None => {
            let container = Container::get(root, command.id()?)?;
            match (container.status(), pause) {
                ("running", true) | ("paused", false) => {}
                ("paused", true) => bail!("container already paused"),
                (_, true) => bail!("container not running"),
                (_, false) => bail!("container not paused"),
            }
            container.record.cgroup
        }
    };
    cgroups::set_frozen(&cgroup, pause)?;
    Ok(ExitCode::SUCCESS)
}

/// update: memory, pids and cpu limits through cgset (which applies and
/// exits when given no program). Every other limit is refused by name.
fn update(root: &Path, command: &Command) -> anyhow::Result<ExitCode> {
    let container = Container::get(root, command.id()?)?;
    if container.status() == "stopped" {
        bail!("container not running");
    }
    let mut args = vec!["--name".to_string(), container.record.cgroup.clone()];
    if let Some(file) = command.value("resources") {
        let text = if file == "-" {
            std::io::read_to_string(std::io::stdin())?
        } else {
            fs::read_to_string(file).with_context(|| format!("read '{file}'"))?
        };
        let resources: spec::Resources =
            serde_json::from_str(&text).with_context(|| format!("parse resources '{file}'"))?;
        if !resources.devices.is_empty() {
            bail!("update: resources.devices cannot be changed");
        }
        args.extend(translate::resource_args(&resources)?);
    }
    for (key, value) in &command.flags {
        match key.as_str() {
            "resources" => {}
            "memory" => args.extend(["--memory".into(), value.clone()]),
            "memory-swap" => args.extend(["--memory-swap".into(), value.clone()]),
            "pids-limit" => args.extend(["--pids".into(), value.clone()]),
            "cpuset-cpus" => args.extend(["--cpuset".into(), value.clone()]),
            "cpu-quota" => {
                let quota: f64 = value.parse().map_err(|_| anyhow!("update: invalid --cpu-quota '{value}'"))?;
                let period: f64 = command.value("cpu-period").unwrap_or("100000").parse().map_err(|_| anyhow!("update: invalid --cpu-period"))?;
                args.extend(["--cpus".into(), format!("{}", quota / period)]);
            }
            "cpu-period" => {}
            other => bail!("update: --{other} is not supported by isokit-oci (memory, memory-swap, pids-limit, cpu-quota, cpu-period, cpuset-cpus)"),
        }
    }
    let status = std::process::Command::new(bin_dir()?.join("cgset")).args(&args).status().context("run cgset")?;
    if !status.success() {
        bail!("update: cgset failed ({status})");
    }
    Ok(ExitCode::SUCCESS)
}

/// What this runtime does, as the runtime-spec features document says it.
fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.0.2",
        "hooks": [],
        "mountOptions": ["bind", "rbind", "ro", "rw", "size"],
        "linux": {
            "namespaces": ["mount", "pid", "network", "ipc", "uts", "cgroup"],
            "capabilities": crate::caps::ALL.iter().map(|c| format!("CAP_{}", c.to_ascii_uppercase())).collect::<Vec<_>>(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {"enabled": true},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false}
        },
        "annotations": {"org.opencontainers.runtime-spec.features.isokit-oci.chain": "cgset unshare-lite netns-setup pivot capdrop scfilter ptyrun"}
    })
}

/// explain --bundle DIR: the chain create would run, one step per line,
/// each word quoted for sh.
fn explain(command: &Command) -> anyhow::Result<ExitCode> {
    let bundle = fs::canonicalize(command.value("bundle").unwrap_or(".")).context("bundle")?;
    let config = lifecycle::read_config(&bundle)?;
    let root_path = config.root.as_ref().map(|r| r.path.as_str()).unwrap_or("rootfs");
    let rootfs = bundle.join(root_path);
    let bin = bin_dir()?;
    let id = command.operands.first().map_or("ID", String::as_str);
    let dir = PathBuf::from("/run/isokit-oci").join(id);
    let terminal = config.process.as_ref().is_some_and(|p| p.terminal);
    let fds = translate::Fds { ready: 3, fifo: Some(4), console: terminal.then_some(5), leave: Some(6) };
    let ctx = translate::Context::on_this_host(&bin, &dir, &rootfs, id, fds);
    let chain = translate::translate(&config, &ctx)?;
    let quote = |w: &str| {
        if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@".contains(c)) {
            w.to_string()
        } else {
            format!("'{}'", w.replace('\'', "'\\''"))
        }
    };
    let env: Vec<String> = chain.env.iter().map(|e| quote(e)).collect();
    if let Some(dir) = &chain.v2_dir {
        // What a shell line cannot say: create makes this directory and
        // starts the first step in it (cgset --leave-v2 joins v1 only).
        println!("# started inside cgroup {} (clone3 CLONE_INTO_CGROUP)", dir.display());
    }
    println!("env -i {} \\", env.join(" "));
    for step in &chain.steps {
        let words: Vec<String> = step.iter().map(|w| quote(w)).collect();
        println!("{} -- \\", words.join(" "));
    }
    let words: Vec<String> = chain.command.iter().map(|w| quote(w)).collect();
    println!("{}", words.join(" "));
    Ok(ExitCode::SUCCESS)
}
