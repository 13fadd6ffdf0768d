//! create, start, delete and exec: the commands that run or end processes.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, ExitCode};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::args::{Command, Global};
use crate::state::{self, Container, Record};
use crate::sys::Started;
use crate::translate::{self, Fds};
use crate::{cgroups, joins, spec, sys};

/// The directory of this binary: the other isokit tools are beside it.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("find the isokit-oci binary")?;
    Ok(exe.parent().map(Path::to_path_buf).unwrap_or_default())
}

pub fn read_config(bundle: &Path) -> anyhow::Result<spec::Config> {
    let path = bundle.join("config.json");
    let text = fs::read_to_string(&path).with_context(|| format!("read '{}'", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parse '{}'", path.display()))
}

fn preserve_fds(command: &Command) -> anyhow::Result<i32> {
    command.value("preserve-fds").map_or(Ok(0), |n| n.parse().map_err(|_| anyhow!("invalid --preserve-fds '{n}'")))
}

/// Every fd above the preserved ones becomes close-on-exec: the chain gets
/// stdio, the preserved fds and the ones placed for it, nothing else.
fn close_on_exec_from(first: RawFd) {
    let Ok(entries) = fs::read_dir("/proc/self/fd") else { return };
    let fds: Vec<RawFd> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    for fd in fds.into_iter().filter(|fd| *fd >= first) {
        sys::set_cloexec(fd);
    }
}

/// The same fd moved above the numbers place() uses, so that placing
/// cannot overwrite it.
fn high(fd: OwnedFd) -> anyhow::Result<OwnedFd> {
    let moved = fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(1000)).context("duplicate an fd")?;
    sys::adopt(moved).context("duplicate an fd")
}

/// Put each fd at its number for the chain, inheritable. Returns the
/// placed numbers, to close in this process after the spawn.
fn place(fds: Vec<(OwnedFd, RawFd)>) -> anyhow::Result<Vec<RawFd>> {
    // Move them out of the way first, so placing one never closes another.
    let mut high = Vec::new();
    for (fd, target) in fds {
        high.push((self::high(fd)?, target));
    }
    let mut placed = Vec::new();
    for (moved, target) in high {
        sys::dup_to(&moved, target).context("place an fd for the chain")?;
        placed.push(target);
    }
    Ok(placed)
}

/// Wait for the gate's byte on the ready pipe: true if the chain got
/// there, false if every writer is gone first (a step failed).
fn wait_ready(read: OwnedFd) -> bool {
    let mut byte = [0u8; 1];
    matches!(File::from(read).read(&mut byte), Ok(1))
}

/// The environment as the chain gets it: exactly the config's, and
/// ISOKIT_TRACE with --debug.
fn environment(env: &[String], global: &Global) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> =
        env.iter().filter_map(|e| e.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if global.debug {
        pairs.push(("ISOKIT_TRACE".into(), "1".into()));
    }
    pairs
}

fn spawn(words: &[String], env: &[String], global: &Global) -> anyhow::Result<Started> {
    let mut process = Process::new(&words[0]);
    process.args(&words[1..]).env_clear().envs(environment(env, global));
    let child: Child = process.spawn().with_context(|| format!("run '{}'", words[0]))?;
    // Waited for by pid (Started::wait); dropping a Child neither waits
    // nor kills.
    Ok(Started { pid: child.id() as i32 })
}

/// Start `words` inside the cgroup v2 directory `dir` from its first
/// instruction (clone3 CLONE_INTO_CGROUP). None: the kernel refused to
/// start a process there, and the caller joins v2 the old way.
fn spawn_in(dir: &Path, words: &[String], env: &[String], global: &Global) -> anyhow::Result<Option<Started>> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let fd = nix::fcntl::open(dir, flags, Mode::empty())
        .with_context(|| format!("open cgroup directory '{}'", dir.display()))?;
    match sys::spawn_in_cgroup(words, &environment(env, global), fd.as_fd()) {
        Ok(started) => Ok(Some(started)),
        Err(sys::SpawnError::Exec(err)) => Err(err),
        Err(sys::SpawnError::Clone(errno)) => {
            if global.debug {
                eprintln!("isokit-oci: clone3 into '{}': {errno}; joining v2 through cgroup.procs", dir.display());
            }
            Ok(None)
        }
    }
}

fn apply_rlimits(process: &spec::Process) -> anyhow::Result<()> {
    use nix::sys::resource::{setrlimit, Resource};
    for limit in &process.rlimits {
        let resource = match limit.kind.as_str() {
            "RLIMIT_NOFILE" => Resource::RLIMIT_NOFILE,
            "RLIMIT_NPROC" => Resource::RLIMIT_NPROC,
            "RLIMIT_CORE" => Resource::RLIMIT_CORE,
            "RLIMIT_STACK" => Resource::RLIMIT_STACK,
            "RLIMIT_MEMLOCK" => Resource::RLIMIT_MEMLOCK,
            "RLIMIT_FSIZE" => Resource::RLIMIT_FSIZE,
            "RLIMIT_CPU" => Resource::RLIMIT_CPU,
            "RLIMIT_AS" => Resource::RLIMIT_AS,
            "RLIMIT_DATA" => Resource::RLIMIT_DATA,
            "RLIMIT_NICE" => Resource::RLIMIT_NICE,
            "RLIMIT_SIGPENDING" => Resource::RLIMIT_SIGPENDING,
            "RLIMIT_MSGQUEUE" => Resource::RLIMIT_MSGQUEUE,
            "RLIMIT_RTPRIO" => Resource::RLIMIT_RTPRIO,
            "RLIMIT_RTTIME" => Resource::RLIMIT_RTTIME,
            "RLIMIT_LOCKS" => Resource::RLIMIT_LOCKS,
            other => bail!("config.json: process.rlimits: unknown type '{other}'"),
        };
        setrlimit(resource, limit.soft, limit.hard)
            .with_context(|| format!("setrlimit {} {}:{}", limit.kind, limit.soft, limit.hard))?;
    }
    if let Some(adj) = process.oom_score_adj {
        fs::write("/proc/self/oom_score_adj", adj.to_string()).with_context(|| format!("set oomScoreAdj {adj}"))?;
    }
    Ok(())
}

pub fn create(global: &Global, root: &Path, command: &Command) -> anyhow::Result<ExitCode> {
    let id = command.id()?;
    state::check_id(id)?;
    let bundle = fs::canonicalize(command.value("bundle").unwrap_or("."))
        .with_context(|| format!("bundle '{}'", command.value("bundle").unwrap_or(".")))?;
    let mut config = read_config(&bundle)?;
    joins::resolve(root, &mut config)?;
    let root_path = config.root.as_ref().map(|r| r.path.as_str()).unwrap_or("rootfs");
    let rootfs = fs::canonicalize(bundle.join(root_path)).with_context(|| format!("root.path '{root_path}'"))?;
    let process = config.process.clone().unwrap_or_default();
    let preserve = preserve_fds(command)?;
    let fds = Fds {
        ready: 3 + preserve,
        fifo: Some(4 + preserve),
        console: process.terminal.then_some(5 + preserve),
        leave: Some(6 + preserve),
    };
    let bin = bin_dir()?;
    let dir = root.join(id);
    let ctx = translate::Context::on_this_host(&bin, &dir, &rootfs, id, fds);
    // Every refusal happens here, before anything exists.
    let chain = translate::translate(&config, &ctx)?;
    let console = match (process.terminal, command.value("console-socket")) {
        (true, Some(path)) => {
            Some(UnixStream::connect(path).with_context(|| format!("connect to console socket '{path}'"))?)
        }
        (true, None) => bail!("process.terminal is true: --console-socket is required"),
        (false, Some(_)) => bail!("--console-socket given but process.terminal is false"),
        (false, None) => None,
    };

    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .with_context(|| format!("create '{}'", root.display()))?;
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => bail!("container with id exists: {id}"),
        Err(err) => return Err(err).with_context(|| format!("create '{}'", dir.display())),
    }
    let made = (|| -> anyhow::Result<ExitCode> {
        if let Some(profile) = &chain.seccomp {
            fs::write(dir.join("seccomp.json"), profile).context("write the seccomp profile")?;
        }
        let fifo_path = dir.join("exec.fifo");
        nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o600)).context("make the exec fifo")?;
        // The read end, for the gate: a fifo, not a directory or O_PATH
        // handle (pivot refuses those), and closed by the gate before exec.
        let fifo = nix::fcntl::open(&fifo_path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
            .context("open the exec fifo")?;
        let (ready_read, ready_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("make the ready pipe")?;
        let ready_read = high(ready_read)?;
        // The launcher leaves when this end closes (unshare-lite
        // --detach-init): kept here, close-on-exec, until ready.
        let (leave_read, leave_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("make the leave pipe")?;
        let leave_write = high(leave_write)?;
        close_on_exec_from(3 + preserve);
        let mut wanted = vec![(ready_write, 3 + preserve), (fifo, 4 + preserve), (leave_read, 6 + preserve)];
        if let Some(console) = console {
            wanted.push((OwnedFd::from(console), 5 + preserve));
        }
        let placed = place(wanted)?;
        apply_rlimits(&process)?;
        // With a v2 hierarchy, the chain starts inside isokit/NAME there
        // (Chain::v2_dir): the launcher, and the init it forks (whose pid
        // conmon gets), are in every cgroup of the container without a move.
        let child = match (&ctx.v2_mount, &chain.v2_dir) {
            (Some(mount), Some(v2_dir)) => cgroups::make_v2_dir(mount, &chain.cgroup)
                .and_then(|_| spawn_in(v2_dir, &chain.words(), &chain.env, global))
                .and_then(|started| match started {
                    Some(started) => Ok(started),
                    None => spawn(&chain.words_moving_v2(), &chain.env, global),
                }),
            _ => spawn(&chain.words(), &chain.env, global),
        };
        for fd in placed {
            sys::close_raw(fd);
        }
        let mut child = child?;
        if !wait_ready(ready_read) {
            let status = child.wait().context("wait for the chain")?;
            bail!("create: the chain stopped before the container was ready ({status})");
        }
        // Ready: the launcher leaves, and the init, the container's
        // process, goes to the nearest subreaper (conmon, a containerd
        // shim). Its PID is the one engines are given: its /proc/PID/ns
        // files are the container's (podman top, nsenter -t).
        drop(leave_write);
        let left = child.wait().context("wait for the launcher")?;
        if !left.success() {
            bail!("create: the launcher did not leave the container to run on its own ({left})");
        }
        let init = fs::read_to_string(dir.join("init.pid")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        if init <= 0 {
            bail!("create: no init pid in '{}'", dir.join("init.pid").display());
        }
        let pid = init;
        let record = Record {
            id: id.to_string(),
            bundle: bundle.to_string_lossy().into_owned(),
            rootfs: rootfs.to_string_lossy().into_owned(),
            pid,
            pid_start: state::start_time(pid).unwrap_or(0),
            init,
            cgroup: chain.cgroup.clone(),
            namespaces: chain.namespaces.iter().map(|s| s.to_string()).collect(),
            seccomp: chain.seccomp.is_some(),
            created: state::now_rfc3339(),
            annotations: config.annotations.clone(),
        };
        state::write_atomic(&dir.join("state.json"), &serde_json::to_vec(&record)?)?;
        if let Some(file) = command.value("pid-file") {
            state::write_atomic(Path::new(file), pid.to_string().as_bytes())?;
        }
        Ok(ExitCode::SUCCESS)
    })();
    if made.is_err() {
        remove_cgroup(&chain.cgroup);
        let _ = fs::remove_dir_all(&dir);
    }
    made
}

pub fn start(root: &Path, id: &str) -> anyhow::Result<ExitCode> {
    let container = Container::get(root, id)?;
    match container.status() {
        "created" => {}
        "stopped" => bail!("cannot start a container that has stopped"),
        other => bail!("cannot start an already {other} container"),
    }
    let fifo_path = container.dir.join("exec.fifo");
    // Without a reader (the gate is gone) the open fails with ENXIO
    // instead of blocking.
    let fifo = nix::fcntl::open(&fifo_path, OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|_| anyhow!("cannot start a container that has stopped"))?;
    File::from(fifo).write_all(b"0").context("write the exec fifo")?;
    fs::remove_file(&fifo_path).context("remove the exec fifo")?;
    Ok(ExitCode::SUCCESS)
}

/// cgset --remove of the container's cgroup (and of its parent below
/// isokit/ when that is empty), retried while killed processes leave.
pub fn remove_cgroup(name: &str) {
    let Ok(bin) = bin_dir() else { return };
    let remove = |name: &str| {
        Process::new(bin.join("cgset"))
            .args(["--remove", "--name", name])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for _ in 0..100 {
        if cgroups::dirs(name).is_empty() || remove(name) {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    if let Some((parent, _)) = name.rsplit_once('/') {
        remove(parent);
    }
}

pub fn delete(root: &Path, id: &str, force: bool) -> anyhow::Result<ExitCode> {
    // runc: deleting what is not there succeeds (podman deletes after a
    // failed create).
    let Some(container) = Container::load(root, id)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let status = container.status();
    if status != "stopped" {
        if !force {
            bail!("cannot delete container {id} that is not stopped: {status}");
        }
        if status == "paused" {
            cgroups::set_frozen(&container.record.cgroup, false)?;
        }
        let _ = kill(Pid::from_raw(container.record.pid), Signal::SIGKILL);
        for pid in cgroups::pids(&container.record.cgroup) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while (container.alive() || !cgroups::pids(&container.record.cgroup).is_empty()) && Instant::now() < deadline {
            sleep(Duration::from_millis(10));
        }
    }
    remove_cgroup(&container.record.cgroup);
    fs::remove_dir_all(&container.dir).with_context(|| format!("remove '{}'", container.dir.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// exec: the process JSON's program in the running container, through
/// the join path cexec uses: the container's cgroups, nsenter into its
/// namespaces and root, then capdrop, scfilter, ptyrun and the gate.
pub fn exec(global: &Global, root: &Path, command: &Command) -> anyhow::Result<ExitCode> {
    let id = command.id()?;
    let container = Container::get(root, id)?;
    if !matches!(container.status(), "running" | "created") {
        bail!("cannot exec in a stopped container");
    }
    let process: spec::Process = match command.value("process") {
        Some(file) => {
            let text = fs::read_to_string(file).with_context(|| format!("read process '{file}'"))?;
            serde_json::from_str(&text).with_context(|| format!("parse process '{file}'"))?
        }
        None => {
            let config = read_config(Path::new(&container.record.bundle))?;
            let mut process = config.process.unwrap_or_default();
            process.args = command.tail.clone();
            process.terminal = command.flag("tty");
            process
        }
    };
    let preserve = preserve_fds(command)?;
    let console = match (process.terminal, command.value("console-socket")) {
        (true, Some(path)) => {
            Some(UnixStream::connect(path).with_context(|| format!("connect to console socket '{path}'"))?)
        }
        (true, None) => bail!("process.terminal is true: --console-socket is required"),
        _ => None,
    };
    let fds = Fds { ready: 3 + preserve, fifo: None, console: console.as_ref().map(|_| 4 + preserve), leave: None };
    let translate::ProcessSteps { capdrop, scfilter, pty } =
        translate::process_steps(&process, container.record.seccomp, fds.console)?;
    let mut nsenter = vec!["nsenter".to_string(), "--target".into(), container.record.init.to_string()];
    for ns in &container.record.namespaces {
        nsenter.push(match ns.as_str() {
            "mnt" => "--mount".into(),
            other => format!("--{other}"),
        });
    }
    nsenter.extend(["--root".into(), "--wdns=/".into()]);
    let mut steps = vec![nsenter, [vec![format!("{}/capdrop", translate::TOOLS_INSIDE)], capdrop].concat()];
    steps.extend(scfilter);
    steps.extend(pty);
    steps.push(translate::gate_args(&process, &fds));
    let mut words = Vec::new();
    for step in steps {
        words.extend(step);
        words.push("--".into());
    }
    words.extend(translate::command(&process)?);

    // Join every v1 cgroup of the container (limits, freezer) before the
    // process exists, as cexec does: its children inherit them. `0` to
    // tasks moves this one thread (the only one), which waits for no RCU
    // grace period (cgroup.procs, a whole thread group, does). v2 has no
    // such file for a domain cgroup: the process is started in it.
    let me = std::process::id().to_string();
    let mut v2_dir = None;
    for (dir, controllers) in cgroups::dirs(&container.record.cgroup) {
        if controllers.is_empty() {
            v2_dir.get_or_insert(dir);
            continue;
        }
        fs::write(dir.join("tasks"), "0")
            .or_else(|_| fs::write(dir.join("cgroup.procs"), &me))
            .with_context(|| format!("join cgroup '{}'", dir.display()))?;
    }
    let (ready_read, ready_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("make the ready pipe")?;
    let ready_read = high(ready_read)?;
    close_on_exec_from(3 + preserve);
    let mut wanted = vec![(ready_write, 3 + preserve)];
    if let Some(console) = console {
        wanted.push((OwnedFd::from(console), 4 + preserve));
    }
    let placed = place(wanted)?;
    let mut env = process.env.clone();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    let child = match &v2_dir {
        Some(dir) => spawn_in(dir, &words, &env, global).and_then(|started| match started {
            Some(started) => Ok(started),
            None => fs::write(dir.join("cgroup.procs"), &me)
                .with_context(|| format!("join cgroup '{}'", dir.display()))
                .and_then(|()| spawn(&words, &env, global)),
        }),
        None => spawn(&words, &env, global),
    };
    for fd in placed {
        sys::close_raw(fd);
    }
    let mut child = child?;
    let ready = wait_ready(ready_read);
    if command.flag("detach") {
        if !ready {
            let status = child.wait().context("wait for exec")?;
            bail!("exec: the process could not be started ({status})");
        }
        if let Some(file) = command.value("pid-file") {
            state::write_atomic(Path::new(file), child.id().to_string().as_bytes())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(file) = command.value("pid-file") {
        state::write_atomic(Path::new(file), child.id().to_string().as_bytes())?;
    }
    let status = child.wait().context("wait for exec")?;
    Ok(ExitCode::from(
        status.code().map_or_else(
            || 128 + std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0) as u8,
            |c| c as u8,
        ),
    ))
}
