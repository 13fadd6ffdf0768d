//! The two steps isokit-oci runs inside the chain it built (internal
//! subcommands, not for users):
//!
//! * `gate`: the last step before the process. It sets the working
//!   directory and umask, checks the program can be found, tells `create`
//!   the container is ready (one byte on --ready-fd), then blocks opening
//!   reading the exec fifo until `start` writes into it (runc's exec.fifo,
//!   the other way round) and execs the process.
//! * `sysctl`: writes namespaced sysctls from inside the container's new
//!   network and IPC namespaces (/proc/sys/net follows the writer's netns),
//!   before pivot, while the host's /proc is still mounted.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use chainload::{ExecFailure, Tool};

pub struct Gate {
    pub ready: i32,
    pub fifo: Option<i32>,
    pub cwd: Option<String>,
    pub umask: Option<u32>,
    /// config.json's maskedPaths and readonlyPaths, to check (not to do:
    /// pivot did it, with its own lists).
    pub masked: Vec<String>,
    pub readonly: Vec<String>,
}

fn read_only(path: &str) -> bool {
    nix::sys::statvfs::statvfs(path).is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

/// Read back what pivot made of the config's masked and read-only paths:
/// a masked file is the null device, a masked directory an empty
/// read-only one; below /sys, where pivot makes everything read-only,
/// read-only is accepted for masked too (docs/OCI.md). A path the kernel
/// lacks needs nothing.
fn check_hidden(masked: &[String], readonly: &[String]) -> anyhow::Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    for path in masked {
        let Ok(meta) = fs::symlink_metadata(path) else { continue };
        let null = meta.file_type().is_char_device() && meta.rdev() == nix::sys::stat::makedev(1, 3);
        let empty_dir = meta.is_dir() && read_only(path) && fs::read_dir(path).is_ok_and(|mut d| d.next().is_none());
        let sys = path.starts_with("/sys/") && read_only(path);
        if !(null || empty_dir || sys) {
            bail!("config.json: linux.maskedPaths: '{path}' is not hidden by pivot");
        }
    }
    for path in readonly {
        if fs::symlink_metadata(path).is_ok() && !read_only(path) {
            bail!("config.json: linux.readonlyPaths: '{path}' is not read-only");
        }
    }
    Ok(())
}

fn inherited(fd: i32) -> anyhow::Result<OwnedFd> {
    crate::sys::adopt(fd).with_context(|| format!("fd {fd} was not passed on"))
}

/// PROG as exec would find it in PATH, or the 127/126 error runc gives at
/// create (podman derives the container's exit status from the words).
fn find_program(prog: &str) -> anyhow::Result<()> {
    let candidates: Vec<std::path::PathBuf> = if prog.contains('/') {
        vec![prog.into()]
    } else {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        path.split(':').map(|dir| Path::new(dir).join(prog)).collect()
    };
    for candidate in &candidates {
        if let Ok(meta) = fs::metadata(candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(());
            }
        }
    }
    let error = std::io::Error::from_raw_os_error(libc::ENOENT);
    Err(anyhow::Error::new(ExecFailure::new(prog.into(), error)).context(if prog.contains('/') {
        format!("exec '{prog}': no such file or directory")
    } else {
        format!("exec '{prog}': executable file not found in $PATH")
    }))
}

/// Block until `start` writes its byte into the exec fifo. The fd is the
/// fifo's read end, opened by create without waiting for a writer; poll(2)
/// on a fifo that never had a writer waits (no POLLHUP until one came and
/// went), so this sleeps until start opens the fifo and writes.
fn wait_for_start(fifo: OwnedFd) -> anyhow::Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::io::Read;
    loop {
        let mut fds = [PollFd::new(std::os::fd::AsFd::as_fd(&fifo), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err).context("wait on the exec fifo"),
            Ok(_) => break,
        }
    }
    let mut byte = [0u8; 1];
    match fs::File::from(fifo).read(&mut byte) {
        Ok(1) => Ok(()),
        _ => bail!("the exec fifo closed without the start signal"),
    }
}

pub fn gate(tool: &Tool, gate: Gate, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    let prog = tail.first().ok_or_else(|| anyhow!("gate: missing command"))?;
    // Other processes of the container may exist by now (exec): they must
    // not reach this host binary through /proc/PID/exe (CVE-2019-5736).
    chainload::sys::set_non_dumpable()?;
    if let Some(umask) = gate.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    }
    if let Some(cwd) = &gate.cwd {
        std::env::set_current_dir(cwd).with_context(|| format!("chdir to cwd '{cwd}'"))?;
    }
    check_hidden(&gate.masked, &gate.readonly)?;
    find_program(&prog.to_string_lossy())?;
    let ready = fs::File::from(inherited(gate.ready)?);
    (&ready).write_all(b"r").context("tell create the container is ready")?;
    drop(ready);
    if let Some(fd) = gate.fifo {
        wait_for_start(inherited(fd)?)?;
    }
    Err(tool.exec(&tail))
}

pub fn sysctl(tool: &Tool, settings: Vec<String>, tail: Vec<OsString>) -> anyhow::Result<ExitCode> {
    for setting in &settings {
        let (key, value) = setting.split_once('=').ok_or_else(|| anyhow!("sysctl: '{setting}' is not KEY=VALUE"))?;
        if key.contains("..") || key.contains('/') {
            bail!("sysctl: invalid key '{key}'");
        }
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        fs::write(&path, value).with_context(|| format!("write sysctl '{key}'"))?;
        tool.trace(format_args!("sysctl {key}={value}"));
    }
    Err(tool.exec(&tail))
}
