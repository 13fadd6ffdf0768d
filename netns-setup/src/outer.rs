//! Finding the outer network namespace, and reaching into it.
//!
//! The outer namespace is the one of the nearest ancestor process that is
//! in a network namespace other than ours: normally the `unshare-lite`
//! launcher, which never joins the namespaces it makes
//! (`chainload::ancestor_in_other_namespace` walks up to it).

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{bail, Context};
use chainload::{ancestor_in_other_namespace, Ancestor};
use nix::sched::{setns, CloneFlags};
use nix::sys::statfs::{fstatfs, NSFS_MAGIC};

use crate::netlink::Netlink;

const OWN_NETNS: &str = "/proc/self/ns/net";

/// The container's network namespace and the outer one, both open
/// (close-on-exec: std opens every file with O_CLOEXEC).
pub struct Namespaces {
    pub own: File,
    pub outer: File,
    /// How the outer namespace was found, for messages and the trace.
    pub outer_source: String,
}

impl Namespaces {
    /// `net:[INODE]`, as the kernel names a network namespace in /proc.
    pub fn name(file: &File) -> String {
        match file.metadata() {
            Ok(meta) => format!("net:[{}]", meta.ino()),
            Err(_) => "net:[?]".to_string(),
        }
    }
}

/// Is this process in a user namespace other than the initial one? The
/// initial one maps every id to itself: "0 0 4294967295".
pub fn in_child_user_namespace() -> bool {
    match chainload::read_procfs("/proc/self/uid_map") {
        Ok(Some(map)) => map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"],
        _ => false,
    }
}

/// Open our own network namespace and the outer one; refuse when they are
/// the same (netns-setup would then be wiring the host itself).
pub fn find(explicit: Option<&Path>) -> anyhow::Result<Namespaces> {
    let own = File::open(OWN_NETNS).with_context(|| format!("open '{OWN_NETNS}'"))?;
    let own_id = identity(&own, OWN_NETNS)?;
    let (outer, outer_source) = match explicit {
        Some(path) => open_explicit(path, own_id)?,
        None => walk_ancestors()?,
    };
    Ok(Namespaces { own, outer, outer_source })
}

fn open_explicit(path: &Path, own_id: (u64, u64)) -> anyhow::Result<(File, String)> {
    let shown = path.display();
    let file = File::open(path).with_context(|| format!("open --outer-netns '{shown}'"))?;
    // A namespace file is on nsfs (also when bind-mounted, as under
    // /run/netns); /proc/self/fd shows its type unless it is bind-mounted,
    // and setns(2) checks the type again when it enters it.
    let on_nsfs = fstatfs(&file).map(|fs| fs.filesystem_type() == NSFS_MAGIC).unwrap_or(false);
    let target = fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap_or_default();
    let other_type = target.to_string_lossy().contains(":[") && !target.to_string_lossy().starts_with("net:[");
    if !on_nsfs || other_type {
        bail!("--outer-netns '{shown}' is not a network namespace (expected /proc/PID/ns/net or /run/netns/NAME)");
    }
    if identity(&file, &shown.to_string())? == own_id {
        bail!("refusing to run: --outer-netns '{shown}' is this process's own network namespace (run netns-setup inside `unshare-lite --net`)");
    }
    Ok((file, format!("'{shown}'")))
}

fn walk_ancestors() -> anyhow::Result<(File, String)> {
    match ancestor_in_other_namespace("net")? {
        Ancestor::Found { pid, namespace } => Ok((namespace, format!("pid {pid}"))),
        Ancestor::OutOfReach { pid } => bail!(
            "open '/proc/{pid}/ns/net': Permission denied (that ancestor is outside this user namespace: name the outer namespace with --outer-netns)"
        ),
        Ancestor::None => bail!(
            "refusing to run in the outer network namespace: no ancestor process in /proc is in another one \
             (run it inside `unshare-lite --net`; with --mount-proc, name the outer namespace with --outer-netns)"
        ),
    }
}

/// A namespace is identified by the device and inode of its nsfs file
/// (namespaces(7)).
fn identity(file: &File, path: &str) -> anyhow::Result<(u64, u64)> {
    let meta = file.metadata().with_context(|| format!("stat '{path}'"))?;
    Ok((meta.dev(), meta.ino()))
}

/// Open a netlink socket that lives in the outer namespace: setns(2) there,
/// open it, setns back. setns into a network namespace is allowed to a
/// single-threaded process holding CAP_SYS_ADMIN there; the socket keeps
/// the namespace it was created in for its whole life (netlink(7)).
pub fn netlink_in_outer(namespaces: &Namespaces) -> anyhow::Result<Netlink> {
    setns(&namespaces.outer, CloneFlags::CLONE_NEWNET)
        .with_context(|| format!("enter the outer network namespace ({})", namespaces.outer_source))?;
    let socket = Netlink::open();
    setns(&namespaces.own, CloneFlags::CLONE_NEWNET).context("return to the container's network namespace")?;
    // Read back where we are: PROG must never start in the outer namespace.
    let now = File::open(OWN_NETNS).with_context(|| format!("open '{OWN_NETNS}'"))?;
    if identity(&now, OWN_NETNS)? != identity(&namespaces.own, OWN_NETNS)? {
        bail!("return to the container's network namespace: still outside it");
    }
    socket.context("in the outer network namespace")
}
