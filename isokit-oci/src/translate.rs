//! config.json as the isokit chain. Pure: reads the parsed config and a
//! few paths, returns the command lines; nothing is created here, so every
//! refusal happens before anything exists. The order is scripts/contain's
//! (scripts/lib/plan.sh): cgset, unshare-lite, netns-setup, pivot, capdrop,
//! scfilter, ptyrun, then the start gate that holds the process until
//! `start`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};

use crate::caps;
use crate::spec::{self, Config, Linux, Mount, Process, Resources};

/// Where the tools are inside the container (bound read-only by pivot) and
/// where the seccomp profile is, as contain binds them.
pub const TOOLS_INSIDE: &str = "/dev/.isokit";
pub const SECCOMP_INSIDE: &str = "/dev/.isokit-seccomp.json";

/// The fds the chain is given, beyond stdio and the preserved ones.
pub struct Fds {
    pub ready: i32,
    pub fifo: Option<i32>,
    pub console: Option<i32>,
    /// The launcher's leave pipe (unshare-lite --detach-init): create
    /// closes its end once the container is ready, and the init becomes
    /// the container's process, the PID engines are given.
    pub leave: Option<i32>,
}

/// Everything `create` needs that is not in config.json.
pub struct Context<'a> {
    pub bin: &'a Path,
    pub state: &'a Path,
    pub rootfs: &'a Path,
    pub id: &'a str,
    pub fds: Fds,
    /// A v1 freezer hierarchy is mounted: cgset must place the container
    /// there too, or `pause` could not freeze it.
    pub v1_freezer: bool,
    /// The cgroup v2 hierarchy's mount, where one is mounted: the chain's
    /// first process is then started inside isokit/NAME there (see
    /// Chain::v2_dir) and cgset leaves v2 alone (--leave-v2).
    pub v2_mount: Option<PathBuf>,
}

impl<'a> Context<'a> {
    /// The context for a container on this host: which cgroup
    /// hierarchies are mounted is read here, for create and explain alike.
    pub fn on_this_host(bin: &'a Path, state: &'a Path, rootfs: &'a Path, id: &'a str, fds: Fds) -> Self {
        Context {
            bin,
            state,
            rootfs,
            id,
            fds,
            v1_freezer: crate::cgroups::has_v1_freezer(),
            v2_mount: crate::cgroups::v2_mount(),
        }
    }
}

pub struct Chain {
    /// Each step's words, without the `--` that ends it.
    pub steps: Vec<Vec<String>>,
    pub command: Vec<String>,
    pub env: Vec<String>,
    /// The cgroup below isokit/ (cgset --name).
    pub cgroup: String,
    /// The namespaces made or joined, as nsenter names them (exec enters
    /// them through the init).
    pub namespaces: Vec<&'static str>,
    pub seccomp: Option<String>,
    /// isokit/NAME in the v2 hierarchy: create makes it and starts the
    /// chain's first process in it with clone3(CLONE_INTO_CGROUP), so the
    /// launcher and the init (the pid conmon and containerd are given,
    /// whose /proc/PID/cgroup podman reads) are in it from their first
    /// instruction, and nothing migrates: a move through
    /// cgroup.procs waits for an RCU grace period. cgset has --leave-v2
    /// and moves itself into the v1 hierarchies only (`0` to tasks, no
    /// wait either).
    pub v2_dir: Option<PathBuf>,
}

impl Chain {
    /// The whole command line.
    pub fn words(&self) -> Vec<String> {
        let mut words = Vec::new();
        for step in &self.steps {
            words.extend(step.iter().cloned());
            words.push("--".into());
        }
        words.extend(self.command.iter().cloned());
        words
    }

    /// The command line with cgset joining v2 itself (the move through
    /// cgroup.procs): for a kernel that cannot start a process in a
    /// cgroup (clone3 CLONE_INTO_CGROUP, Linux 5.7).
    pub fn words_moving_v2(&self) -> Vec<String> {
        let mut words = self.words();
        if let Some(at) = words.iter().position(|w| w == "--leave-v2") {
            // cgset's own option: the first step's words come first.
            if at < self.steps[0].len() {
                words.remove(at);
            }
        }
        words
    }
}

fn tool(bin: &Path, name: &str) -> String {
    bin.join(name).to_string_lossy().into_owned()
}

fn inside(name: &str) -> String {
    format!("{TOOLS_INSIDE}/{name}")
}

/// Fields of an object that must be absent or empty, refused by name.
fn refuse_rest(
    prefix: &str,
    rest: &std::collections::BTreeMap<String, serde_json::Value>,
    allowed: &[&str],
) -> anyhow::Result<()> {
    for (key, value) in rest {
        if !allowed.contains(&key.as_str()) && !spec::is_empty(value) {
            bail!("config.json: {prefix}{key}: not supported by isokit-oci");
        }
    }
    Ok(())
}

pub fn translate(config: &Config, ctx: &Context) -> anyhow::Result<Chain> {
    // hooks would run host programs; `linux` of other platforms, vm: none apply.
    refuse_rest("", &config.rest, &["ociVersion"])?;
    let process = config.process.as_ref().ok_or_else(|| anyhow!("config.json: process: missing"))?;
    let linux = config.linux.as_ref().ok_or_else(|| anyhow!("config.json: linux: missing"))?;
    refuse_rest("linux.", &linux.rest, &["uidMappings", "gidMappings", "mountLabel"])?;
    if !config.domainname.is_empty() {
        bail!("config.json: domainname: not supported by isokit-oci");
    }
    let Namespaces { made: namespaces, joined } = namespaces(linux)?;
    let cgroup = cgroup_name(&linux.cgroups_path, ctx.id)?;

    let mut cgset = vec![tool(ctx.bin, "cgset"), "--name".into(), cgroup.clone()];
    if let Some(resources) = &linux.resources {
        cgset.extend(resource_args(resources)?);
    }
    if ctx.v1_freezer {
        cgset.extend(["--set".into(), "freezer.state=THAWED".into()]);
    }
    let v2_dir = ctx.v2_mount.as_ref().map(|mount| mount.join("isokit").join(&cgroup));
    if v2_dir.is_some() {
        cgset.push("--leave-v2".into());
    }

    let mut unshare = vec![tool(ctx.bin, "unshare-lite"), "--mount".into()];
    // A joined pid namespace (podman --pid container:X, a pod sharing
    // pid) is entered by --join below: unshare-lite forks into it all the
    // same, and the init is one more process there, under X's PID 1.
    if namespaces.contains(&"pid") {
        unshare.push("--pid".into());
    }
    unshare.push("--new-session".into());
    for (kind, flag) in [("uts", "--uts"), ("ipc", "--ipc"), ("net", "--net"), ("cgroup", "--cgroup")] {
        if namespaces.contains(&kind) {
            unshare.push(flag.into());
        }
    }
    // A joined namespace belongs to its owner (another container, a pod's
    // infra): it is entered as it is, never set up again (no netns-setup,
    // sysctl or hostname there).
    for (kind, path) in &joined {
        unshare.extend(["--join".into(), format!("{kind}={path}")]);
    }
    // The launcher runs in the caller's (the host's) namespaces: a joined
    // path must never turn out to be one of them, checked again on the
    // opened file (create's own check was made on the path, earlier).
    if !joined.is_empty() {
        unshare.push("--join-foreign".into());
    }
    if !config.hostname.is_empty() {
        if joined.iter().any(|(kind, _)| *kind == "uts") {
            bail!("config.json: hostname: the uts namespace is joined, and its hostname belongs to its owner");
        }
        if !namespaces.contains(&"uts") {
            bail!("config.json: hostname: requires a uts namespace");
        }
        unshare.extend(["--hostname".into(), config.hostname.clone()]);
    }
    match linux.rootfs_propagation.as_str() {
        "" | "private" | "rprivate" => {}
        "slave" | "rslave" => unshare.extend(["--propagation".into(), "slave".into()]),
        other => bail!("config.json: linux.rootfsPropagation: '{other}' not supported (private, slave)"),
    }
    unshare.extend(["--pidfile".into(), ctx.state.join("init.pid").to_string_lossy().into_owned()]);
    if let Some(fd) = ctx.fds.leave {
        unshare.extend(["--detach-init".into(), fd.to_string()]);
    }

    let mut steps = vec![cgset, unshare];
    if namespaces.contains(&"net") {
        steps.push(vec![tool(ctx.bin, "netns-setup")]);
    }
    if !linux.sysctl.is_empty() {
        steps.push(sysctl_step(ctx.bin, linux, &namespaces)?);
    }
    let mut entered = namespaces;
    entered.extend(joined.iter().map(|(kind, _)| *kind));
    steps.push(pivot_args(config, linux, ctx)?);

    let ProcessSteps { capdrop, scfilter, pty } = process_steps(process, linux.seccomp.is_some(), ctx.fds.console)?;
    // pivot --next-from-host execs capdrop from the host; the rest of the
    // tools come from their read-only bind inside.
    let mut capdrop_step = vec![tool(ctx.bin, "capdrop")];
    capdrop_step.extend(capdrop);
    steps.push(capdrop_step);
    steps.extend(scfilter);
    steps.extend(pty);
    steps.push(gate_args_checking(process, &ctx.fds, &linux.masked_paths, &linux.readonly_paths));

    Ok(Chain {
        steps,
        command: command(process)?,
        env: process.env.clone(),
        cgroup,
        namespaces: entered,
        seccomp: linux.seccomp.as_ref().map(|s| s.to_string()),
        v2_dir,
    })
}

pub fn command(process: &Process) -> anyhow::Result<Vec<String>> {
    if process.args.is_empty() {
        bail!("config.json: process.args: empty");
    }
    Ok(process.args.clone())
}

/// The steps after the root switch, shared by create and exec.
pub struct ProcessSteps {
    /// capdrop's options (the binary differs: from the host, or inside).
    pub capdrop: Vec<String>,
    pub scfilter: Option<Vec<String>>,
    pub pty: Option<Vec<String>>,
}

/// capdrop's options, scfilter and ptyrun for a process.
pub fn process_steps(process: &Process, seccomp: bool, console: Option<i32>) -> anyhow::Result<ProcessSteps> {
    refuse_rest(
        "process.",
        &process.rest,
        &["consoleSize", "apparmorProfile", "selinuxLabel", "ioPriority", "scheduler"],
    )?;
    for key in ["apparmorProfile", "selinuxLabel", "ioPriority", "scheduler"] {
        if process.rest.get(key).is_some_and(|v| !spec::is_empty(v)) {
            bail!("config.json: process.{key}: not supported by isokit-oci");
        }
    }
    refuse_rest("process.user.", &process.user.rest, &[])?;
    let user = &process.user;
    let mut capdrop = vec!["--user".into(), format!("{}:{}", user.uid, user.gid)];
    if !user.additional_gids.is_empty() {
        let groups: Vec<String> = user.additional_gids.iter().map(u32::to_string).collect();
        capdrop.extend(["--groups".into(), groups.join(",")]);
    }
    capdrop.extend(caps::capdrop_args(process.capabilities.as_ref(), user.uid)?);
    // seccomp(2) without CAP_SYS_ADMIN needs no_new_privs, and scfilter
    // runs after capdrop: with a filter, no_new_privs is always on.
    if !process.no_new_privileges && !seccomp {
        capdrop.push("--allow-new-privs".into());
    }
    let scfilter = seccomp.then(|| vec![inside("scfilter"), "--profile".into(), SECCOMP_INSIDE.into()]);
    let pty = match (process.terminal, console) {
        (false, _) => None,
        (true, Some(fd)) => Some(vec![inside("ptyrun"), "--console-fd".into(), fd.to_string()]),
        (true, None) => bail!("process.terminal is true: --console-socket is required"),
    };
    Ok(ProcessSteps { capdrop, scfilter, pty })
}

pub fn gate_args(process: &Process, fds: &Fds) -> Vec<String> {
    gate_args_checking(process, fds, &[], &[])
}

/// The gate, which also checks that pivot hid each masked path and made
/// each read-only path read-only: pivot has its own fixed lists, and a
/// path of the config's that it does not cover is refused at create.
fn gate_args_checking(process: &Process, fds: &Fds, masked: &[String], readonly: &[String]) -> Vec<String> {
    let mut gate = vec![inside("isokit-oci"), "gate".into(), "--ready-fd".into(), fds.ready.to_string()];
    for path in masked {
        gate.extend(["--masked".into(), path.clone()]);
    }
    for path in readonly {
        gate.extend(["--readonly".into(), path.clone()]);
    }
    if let Some(fd) = fds.fifo {
        gate.extend(["--fifo-fd".into(), fd.to_string()]);
    }
    if !process.cwd.is_empty() {
        gate.extend(["--cwd".into(), process.cwd.clone()]);
    }
    if let Some(umask) = process.user.umask {
        gate.extend(["--umask".into(), format!("{umask:o}")]);
    }
    gate
}

/// The namespaces of linux.namespaces, made new or (with a `path`) joined.
struct Namespaces {
    made: Vec<&'static str>,
    /// Each type with the path unshare-lite --join gets.
    joined: Vec<(&'static str, String)>,
}

/// The namespaces to make or join. Every container gets its own mount
/// namespace, which pivot needs, so it is never joined; a pid namespace
/// is made or joined (the init and the start gate run in either).
fn namespaces(linux: &Linux) -> anyhow::Result<Namespaces> {
    let mut made = Vec::new();
    let mut joined = Vec::new();
    for ns in &linux.namespaces {
        let kind = match ns.kind.as_str() {
            "mount" => "mnt",
            "pid" => "pid",
            "network" => "net",
            "ipc" => "ipc",
            "uts" => "uts",
            "cgroup" => "cgroup",
            "user" | "time" => {
                bail!("config.json: linux.namespaces: a {} namespace is not supported by isokit-oci", ns.kind)
            }
            other => bail!("config.json: linux.namespaces: unknown namespace type '{other}'"),
        };
        if made.contains(&kind) || joined.iter().any(|(j, _)| *j == kind) {
            bail!("config.json: linux.namespaces: the {} namespace is given twice", ns.kind);
        }
        if ns.path.is_empty() {
            made.push(kind);
            continue;
        }
        if kind == "mnt" {
            bail!(
                "config.json: linux.namespaces: joining the {} namespace '{}' is not supported (isokit-oci needs a new one)",
                ns.kind,
                ns.path
            );
        }
        if !ns.path.starts_with('/') {
            bail!("config.json: linux.namespaces: the {} namespace path '{}' is not absolute", ns.kind, ns.path);
        }
        joined.push((kind, ns.path.clone()));
    }
    if !made.contains(&"mnt") {
        bail!("config.json: linux.namespaces: isokit-oci needs a new mount namespace");
    }
    if !made.contains(&"pid") && !joined.iter().any(|(kind, _)| *kind == "pid") {
        bail!("config.json: linux.namespaces: isokit-oci needs a pid namespace, new or joined");
    }
    Ok(Namespaces { made, joined })
}

/// cgroupsPath as the name below isokit/ (cgset makes isokit/NAME in every
/// hierarchy): `/libpod_parent/libpod-ID` becomes
/// `isokit/libpod_parent/libpod-ID`.
fn cgroup_name(path: &str, id: &str) -> anyhow::Result<String> {
    if path.contains(':') {
        bail!("config.json: linux.cgroupsPath: '{path}' is a systemd slice; isokit-oci drives cgroupfs only");
    }
    let name = path.trim_matches('/');
    if name.split('/').any(|part| part == ".." || part == ".") {
        bail!("config.json: linux.cgroupsPath: '{path}' must not contain '.' or '..'");
    }
    Ok(if name.is_empty() { id.to_string() } else { name.to_string() })
}

pub fn resource_args(resources: &Resources) -> anyhow::Result<Vec<String>> {
    refuse_rest("linux.resources.", &resources.rest, &[])?;
    let mut args = Vec::new();
    if let Some(memory) = &resources.memory {
        refuse_rest(
            "linux.resources.memory.",
            &memory.rest,
            &["disableOOMKiller", "useHierarchy", "checkBeforeUpdate"],
        )?;
        if let Some(limit) = memory.limit.filter(|l| *l > 0) {
            args.extend(["--memory".into(), limit.to_string()]);
        }
        if let Some(swap) = memory.swap.filter(|s| *s > 0) {
            args.extend(["--memory-swap".into(), swap.to_string()]);
        }
    }
    if let Some(cpu) = &resources.cpu {
        refuse_rest("linux.resources.cpu.", &cpu.rest, &["mems"])?;
        if let Some(quota) = cpu.quota.filter(|q| *q > 0) {
            let period = cpu.period.unwrap_or(100_000).max(1);
            args.extend(["--cpus".into(), format!("{}", quota as f64 / period as f64)]);
        }
        if let Some(shares) = cpu.shares.filter(|s| *s > 0) {
            // cgroup v2's weight from v1 shares, the conversion runc and
            // crun use: 2..262144 onto 1..10000.
            let weight = 1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142;
            args.extend(["--cpu-weight".into(), weight.to_string()]);
        }
        if !cpu.cpus.is_empty() {
            args.extend(["--cpuset".into(), cpu.cpus.clone()]);
        }
    }
    if let Some(pids) = &resources.pids {
        if pids.limit > 0 {
            args.extend(["--pids".into(), pids.limit.to_string()]);
        }
    }
    args.extend(device_args(&resources.devices)?);
    Ok(args)
}

/// The device rules: a first "deny all" (what podman and containerd send)
/// becomes cgset's default rules (Docker's standard nodes, the ones pivot
/// makes in /dev), and each allow rule after it a --device-allow.
fn device_args(rules: &[spec::DeviceRule]) -> anyhow::Result<Vec<String>> {
    let Some((first, rest)) = rules.split_first() else {
        return Ok(Vec::new());
    };
    let deny_all = !first.allow
        && first.kind.as_deref().is_none_or(|k| k == "a")
        && first.major.is_none()
        && first.minor.is_none();
    if !deny_all {
        bail!("config.json: linux.resources.devices: the first rule must deny all devices");
    }
    let mut args = vec!["--devices".into(), "default".into()];
    for rule in rest {
        if !rule.allow {
            bail!("config.json: linux.resources.devices: a deny rule after the first is not supported");
        }
        let number = |n: Option<i64>| n.filter(|n| *n >= 0).map_or("*".to_string(), |n| n.to_string());
        args.extend([
            "--device-allow".into(),
            format!(
                "{} {}:{} {}",
                rule.kind.as_deref().unwrap_or("a"),
                number(rule.major),
                number(rule.minor),
                rule.access.as_deref().unwrap_or("rwm")
            ),
        ]);
    }
    Ok(args)
}

/// Namespaced sysctls only, each in a namespace the container owns.
fn sysctl_step(bin: &Path, linux: &Linux, namespaces: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut step = vec![tool(bin, "isokit-oci"), "sysctl".into()];
    for (key, value) in &linux.sysctl {
        let ns = if key.starts_with("net.") {
            "net"
        } else if key.starts_with("kernel.msg")
            || key.starts_with("kernel.sem")
            || key.starts_with("kernel.shm")
            || key.starts_with("fs.mqueue.")
        {
            "ipc"
        } else {
            bail!("config.json: linux.sysctl: '{key}' is not a namespaced sysctl");
        };
        if !namespaces.contains(&ns) {
            bail!("config.json: linux.sysctl: '{key}' needs the container's own {ns} namespace");
        }
        step.push(format!("{key}={value}"));
    }
    Ok(step)
}

fn pivot_args(config: &Config, linux: &Linux, ctx: &Context) -> anyhow::Result<Vec<String>> {
    let mut pivot = vec![tool(ctx.bin, "pivot")];
    let has = |dest: &str| config.mounts.iter().any(|m| m.destination == dest);
    if !has("/proc") {
        pivot.push("--no-proc".into());
    }
    if !has("/sys") {
        pivot.push("--no-sys".into());
    }
    if !has("/sys/fs/cgroup") {
        pivot.push("--no-cgroup".into());
    }
    if config.root.as_ref().is_some_and(|r| r.readonly) {
        pivot.push("--ro".into());
    }
    for (index, mount) in config.mounts.iter().enumerate() {
        pivot.extend(mount_args(index, mount)?);
    }
    for device in &linux.devices {
        if !["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx"]
            .contains(&device.path.as_str())
        {
            bail!("config.json: linux.devices: '{}' is not a node pivot makes", device.path);
        }
    }
    if linux.seccomp.is_some() {
        pivot.extend(["--bind".into(), format!("{}:{SECCOMP_INSIDE}:ro", ctx.state.join("seccomp.json").display())]);
    }
    pivot.extend(["--bind".into(), format!("{}:{TOOLS_INSIDE}:ro", ctx.bin.display())]);
    pivot.extend(["--next-from-host".into(), ctx.rootfs.to_string_lossy().into_owned()]);
    Ok(pivot)
}

/// Mounts pivot makes by itself are accepted as they are; binds and tmpfs
/// become --bind and --tmpfs; anything else is refused by its index.
fn mount_args(index: usize, mount: &Mount) -> anyhow::Result<Vec<String>> {
    let dest = mount.destination.as_str();
    let is_bind = mount.kind == "bind" || mount.options.iter().any(|o| o == "bind" || o == "rbind");
    let own = matches!(
        (dest, mount.kind.as_str()),
        ("/proc", "proc")
            | ("/dev", "tmpfs")
            | ("/dev/pts", "devpts")
            | ("/dev/shm", _)
            | ("/dev/mqueue", "mqueue")
            | ("/sys", "sysfs")
            | ("/sys/fs/cgroup", "cgroup" | "cgroup2")
    );
    if own {
        return Ok(Vec::new());
    }
    if !dest.starts_with('/') {
        bail!("config.json: mounts[{index}]: destination '{dest}' is not absolute");
    }
    if dest.contains(':') || mount.source.contains(':') {
        bail!("config.json: mounts[{index}]: ':' in a path is not supported");
    }
    if is_bind {
        let ro = if mount.options.iter().any(|o| o == "ro") { ":ro" } else { "" };
        let source = PathBuf::from(&mount.source);
        if !source.is_absolute() {
            bail!("config.json: mounts[{index}]: bind source '{}' is not absolute", mount.source);
        }
        return Ok(vec!["--bind".into(), format!("{}:{dest}{ro}", mount.source)]);
    }
    if mount.kind == "tmpfs" {
        let size = mount.options.iter().find_map(|o| o.strip_prefix("size="));
        return Ok(vec!["--tmpfs".into(), size.map_or(dest.to_string(), |s| format!("{dest}:{s}"))]);
    }
    bail!("config.json: mounts[{index}]: a {} mount at '{dest}' is not supported (bind and tmpfs are)", mount.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        serde_json::from_str(text).unwrap()
    }

    fn ctx() -> Context<'static> {
        Context {
            bin: Path::new("/kit"),
            state: Path::new("/run/x/c1"),
            rootfs: Path::new("/b/rootfs"),
            id: "c1",
            fds: Fds { ready: 3, fifo: Some(4), console: None, leave: Some(6) },
            v1_freezer: false,
            v2_mount: None,
        }
    }

    const BASE: &str = r#"{"process":{"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}},
        "hostname":"h","mounts":[{"destination":"/proc","type":"proc"},{"destination":"/data","type":"bind","source":"/srv","options":["rbind","ro"]}],
        "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"network"}],"cgroupsPath":"/p/c1","resources":{"pids":{"limit":64}}}}"#;

    #[test]
    fn the_chain_follows_contains_order() {
        let chain = translate(&config(BASE), &ctx()).unwrap();
        let first: Vec<&str> = chain.steps.iter().map(|s| s[0].as_str()).collect();
        assert_eq!(
            first,
            [
                "/kit/cgset",
                "/kit/unshare-lite",
                "/kit/netns-setup",
                "/kit/pivot",
                "/kit/capdrop",
                "/dev/.isokit/isokit-oci"
            ]
        );
        assert_eq!(chain.steps[0], ["/kit/cgset", "--name", "p/c1", "--pids", "64"]);
        assert!(chain.steps[3].join(" ").contains("--bind /srv:/data:ro"));
        assert!(chain.steps[3].contains(&"--no-sys".to_string()));
        assert_eq!(chain.command, ["sh"]);
    }

    #[test]
    fn fields_that_cannot_be_honoured_are_refused_by_name() {
        for (from, to, field) in [
            (r#""type":"network""#, r#""type":"bogus""#, "unknown namespace type 'bogus'"),
            (r#""type":"mount""#, r#""type":"mount","path":"/proc/1/ns/mnt""#, "joining the mount namespace"),
            (r#""type":"network""#, r#""type":"network","path":"net""#, "path 'net' is not absolute"),
            (r#""type":"uts""#, r#""type":"uts","path":"/proc/1/ns/uts""#, "hostname"),
            (r#""type":"proc"}"#, r#""type":"nfs"}"#, "mounts[0]"),
            (r#""CAP_KILL"]}"#, r#""CAP_KILL"]},"apparmorProfile":"x""#, "process.apparmorProfile"),
            (r#""hostname":"h""#, r#""hostname":"h","hooks":{"prestart":[{"path":"/x"}]}"#, "hooks"),
            (r#""cgroupsPath":"/p/c1""#, r#""cgroupsPath":"system.slice:x:y""#, "cgroupsPath"),
        ] {
            let text = BASE.replacen(from, to, 1);
            let err = translate(&config(&text), &ctx()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(field), "{to}: {err}");
        }
    }

    #[test]
    fn a_joined_network_namespace_is_passed_on_and_not_set_up() {
        let text = BASE.replacen(r#""type":"network""#, r#""type":"network","path":"/proc/42/ns/net""#, 1);
        let chain = translate(&config(&text), &ctx()).unwrap();
        assert!(chain.steps[1].join(" ").contains("--join net=/proc/42/ns/net"));
        assert!(!chain.steps[1].contains(&"--net".to_string()));
        assert!(!chain.steps.iter().any(|s| s[0] == "/kit/netns-setup"));
        assert!(chain.namespaces.contains(&"net"));
    }

    #[test]
    fn a_joined_pid_namespace_replaces_the_new_one() {
        let text = BASE.replacen(r#""type":"pid""#, r#""type":"pid","path":"/proc/42/ns/pid""#, 1);
        let chain = translate(&config(&text), &ctx()).unwrap();
        assert!(chain.steps[1].join(" ").contains("--join pid=/proc/42/ns/pid"));
        assert!(!chain.steps[1].contains(&"--pid".to_string()));
        assert!(chain.namespaces.contains(&"pid"));
        let without = BASE.replacen(r#"{"type":"pid"},"#, "", 1);
        let err = translate(&config(&without), &ctx()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("needs a pid namespace, new or joined"), "{err}");
    }

    #[test]
    fn seccomp_keeps_no_new_privs_and_adds_scfilter() {
        let text =
            BASE.replacen(r#""cgroupsPath""#, r#""seccomp":{"defaultAction":"SCMP_ACT_ALLOW"},"cgroupsPath""#, 1);
        let chain = translate(&config(&text), &ctx()).unwrap();
        assert!(!chain.words().contains(&"--allow-new-privs".to_string()));
        assert!(chain.steps.iter().any(|s| s[0] == "/dev/.isokit/scfilter"));
        let plain = translate(&config(BASE), &ctx()).unwrap();
        assert!(plain.words().contains(&"--allow-new-privs".to_string()));
    }

    #[test]
    fn with_a_v2_hierarchy_cgset_leaves_v2_to_the_start_in_the_cgroup() {
        let mount = PathBuf::from("/sys/fs/cgroup/unified");
        let chain = translate(&config(BASE), &Context { v2_mount: Some(mount), ..ctx() }).unwrap();
        assert_eq!(chain.steps[0], ["/kit/cgset", "--name", "p/c1", "--pids", "64", "--leave-v2"]);
        assert_eq!(chain.v2_dir, Some(PathBuf::from("/sys/fs/cgroup/unified/isokit/p/c1")));
        assert!(!chain.words_moving_v2().contains(&"--leave-v2".to_string()));
        assert_eq!(chain.words_moving_v2().len() + 1, chain.words().len());
        let plain = translate(&config(BASE), &ctx()).unwrap();
        assert_eq!(plain.v2_dir, None);
        assert!(!plain.words().contains(&"--leave-v2".to_string()));
    }
}
