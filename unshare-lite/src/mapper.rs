//! Root's user namespace maps, written from outside by a helper process.
//!
//! After unshare(CLONE_NEWUSER) the process has no capability left in the
//! parent namespace, so it cannot write a gid map without first denying
//! setgroups. A child forked before the unshare stays in the parent
//! namespace with root's capabilities: it waits for the unshare, writes
//! /proc/PARENT/{uid,gid}_map, and exits. For --map-subids it runs
//! newuidmap and newgidmap on PARENT instead (any caller: they are setuid).

use std::os::fd::OwnedFd;

use anyhow::{anyhow, Context};
use chainload::{describe, sys};
use nix::fcntl::OFlag;
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{getpid, pipe2, read, write, ForkResult};

use crate::options::IdMap;
use crate::procfile::write_proc;
use crate::subids::SubIds;

/// What the helper writes.
pub enum Mapping {
    /// One id inside for the caller's, written by root directly.
    Ids(IdMap),
    /// Root inside = the caller, 1..N = its subordinate ranges.
    SubIds(SubIds),
}

pub fn enter_user_mapped_from_outside(map: Mapping) -> anyhow::Result<()> {
    // go: parent -> helper, "the namespace exists, map it".
    // verdict: helper -> parent, the error text if the maps failed.
    let (go_read, go_write) = pipe2(OFlag::O_CLOEXEC).context("pipe")?;
    let (verdict_read, verdict_write) = pipe2(OFlag::O_CLOEXEC).context("pipe")?;
    let parent = getpid();
    match sys::fork().context("fork the id-map helper")? {
        ForkResult::Child => {
            drop((go_write, verdict_read));
            let code = match map_parent_when_told(parent, map, &go_read) {
                Ok(()) => 0,
                Err(err) => {
                    let _ = write(&verdict_write, describe(&err).as_bytes());
                    1
                }
            };
            std::process::exit(code);
        }
        ForkResult::Parent { child } => {
            drop((go_read, verdict_write));
            let unshared = unshare(CloneFlags::CLONE_NEWUSER).context("unshare user namespace");
            // Tell the helper to go on, or (on failure) to stop: closing the
            // pipe without a byte means "do nothing".
            if unshared.is_ok() {
                write(&go_write, b"1").context("wake the id-map helper")?;
            }
            drop(go_write);
            let message = read_all(&verdict_read);
            let status = waitpid(child, None).context("wait for the id-map helper")?;
            unshared?;
            match status {
                WaitStatus::Exited(_, 0) => Ok(()),
                _ if !message.is_empty() => Err(anyhow!(message)),
                other => Err(anyhow!("the id-map helper failed: {other:?}")),
            }
        }
    }
}

fn map_parent_when_told(parent: nix::unistd::Pid, map: Mapping, go: &OwnedFd) -> anyhow::Result<()> {
    let mut byte = [0u8; 1];
    if read(go, &mut byte).context("wait for the user namespace")? == 0 {
        return Ok(()); // the parent's unshare failed; it reports that
    }
    match map {
        Mapping::Ids(map) => write_id_maps(&format!("/proc/{parent}"), map),
        Mapping::SubIds(subids) => subids.write_maps(parent),
    }
}

fn read_all(fd: &OwnedFd) -> String {
    let mut text = Vec::new();
    let mut buffer = [0u8; 512];
    while let Ok(n) = read(fd, &mut buffer) {
        if n == 0 {
            break;
        }
        text.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Write uid_map and gid_map of the process whose /proc directory is `proc`.
pub(crate) fn write_id_maps(proc: &str, map: IdMap) -> anyhow::Result<()> {
    write_proc(&format!("{proc}/uid_map"), &format!("{} {} 1", map.inside, map.outside_uid))?;
    write_proc(&format!("{proc}/gid_map"), &format!("{} {} 1", map.inside, map.outside_gid))
}
