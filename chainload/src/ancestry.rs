//! Is this process in a namespace of its own? Walk up the ancestors that
//! /proc shows until one is in another namespace of the kind.
//!
//! pivot asks it of the mount namespace (it refuses to pivot the host's
//! root), netns-setup of the network namespace (the outer one is where the
//! veth's host end goes). Ancestors are followed through the ppid field of the
//! procfs mounted on /proc, and only through it: inside `unshare-lite
//! --pid` without --mount-proc that procfs is the host's, so its PIDs are
//! host PIDs, while getppid() would return the namespace's own numbering.

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::MetadataExt;

use anyhow::{anyhow, bail, Context};

/// A guard against a procfs that loops: no real process tree is deeper.
const MAX_ANCESTORS: usize = 4096;

/// The initial user namespace has a fixed nsfs inode (PROC_USER_INIT_INO,
/// include/linux/proc_ns.h).
const INITIAL_USER_NAMESPACE: &str = "user:[4026531837]";

/// What the walk found.
#[derive(Debug)]
pub enum Ancestor {
    /// The nearest ancestor in another namespace: its PID as /proc numbers
    /// it, and its namespace file, open (close-on-exec).
    Found { pid: u32, namespace: File },
    /// An ancestor's namespace file could not be opened for lack of ptrace
    /// access, and this process is in a user namespace of its own: that
    /// ancestor is outside it (the `unshare-lite --user` launcher), so in
    /// other namespaces, but out of reach.
    OutOfReach { pid: u32 },
    /// No ancestor this process may look at is in another namespace of
    /// the kind.
    None,
}

impl Ancestor {
    /// Whether this process's namespace is not its ancestors'.
    pub fn exists(&self) -> bool {
        !matches!(self, Ancestor::None)
    }
}

/// Walk up from this process for an ancestor in another `kind` namespace
/// ("mnt", "net", "pid", ...), comparing the device and inode of the nsfs
/// files (namespaces(7)).
pub fn ancestor_in_other_namespace(kind: &str) -> anyhow::Result<Ancestor> {
    let own_path = format!("/proc/self/ns/{kind}");
    let own =
        identity(&File::open(&own_path).with_context(|| format!("open '{own_path}' (is /proc mounted?)"))?, &own_path)?;
    let mut child = "self".to_string();
    for _ in 0..MAX_ANCESTORS {
        let parent = parent_of(&child)?;
        if parent == 0 {
            return Ok(Ancestor::None);
        }
        let path = format!("/proc/{parent}/ns/{kind}");
        let namespace = match File::open(&path) {
            Ok(file) => file,
            // Opening another process's namespace needs ptrace access to
            // it. In a user namespace of its own, an ancestor out of reach
            // is outside it; in the initial one (a restricted root, or a
            // Yama/LSM rule) it is simply not seen, and only what is seen
            // counts: the walk ends there.
            Err(err) if err.kind() == ErrorKind::PermissionDenied => {
                return Ok(if in_child_user_namespace()? {
                    Ancestor::OutOfReach { pid: parent }
                } else {
                    Ancestor::None
                });
            }
            Err(err) => return Err(anyhow!(err).context(format!("open '{path}'"))),
        };
        // If the parent died between reading PPid and the open, its PID may
        // now be another process's; its child would then have been
        // re-parented, so an unchanged PPid proves the file is the parent's.
        if parent_of(&child)? != parent {
            bail!("the process tree changed while looking for an ancestor in another {kind} namespace (the launcher died?)");
        }
        if identity(&namespace, &path)? != own {
            return Ok(Ancestor::Found { pid: parent, namespace });
        }
        child = parent.to_string();
    }
    Ok(Ancestor::None)
}

/// For each of `kinds`, whether this process has a namespace of that kind
/// of its own: `ancestor_in_other_namespace(kind)?.exists()` for every
/// kind, answered in one walk up the ancestors instead of one walk each.
///
/// A tool that asks about several kinds (pivot asks four) would otherwise
/// reread the same /proc/PID/stat files once per kind. Namespaces are
/// compared by the `kind:[inode]` their /proc/PID/ns links read as
/// (namespaces(7): one nsfs, so the inode names the namespace), which is
/// one readlink(2) where open, fstat and close are three; readlink needs
/// the same ptrace access to the process as open, so an ancestor out of
/// reach is met at the same point of the walk, and answered as
/// [`Ancestor::OutOfReach`] or [`Ancestor::None`] would be.
pub fn own_namespaces<const N: usize>(kinds: [&str; N]) -> anyhow::Result<[bool; N]> {
    let mut own = Vec::with_capacity(N);
    for kind in kinds {
        let path = format!("/proc/self/ns/{kind}");
        own.push(fs::read_link(&path).with_context(|| format!("read '{path}' (is /proc mounted?)"))?);
    }
    let mut answer = [false; N];
    let mut undecided: Vec<usize> = (0..N).collect();
    let mut child = "self".to_string();
    for _ in 0..MAX_ANCESTORS {
        if undecided.is_empty() {
            break;
        }
        let parent = parent_of(&child)?;
        if parent == 0 {
            break;
        }
        let mut links = Vec::with_capacity(undecided.len());
        for &index in &undecided {
            let path = format!("/proc/{parent}/ns/{}", kinds[index]);
            match fs::read_link(&path) {
                Ok(link) => links.push(link),
                // As in ancestor_in_other_namespace: out of reach means
                // outside only for a process in a user namespace of its own.
                Err(err) if err.kind() == ErrorKind::PermissionDenied => {
                    let outside = in_child_user_namespace()?;
                    for &index in &undecided {
                        answer[index] = outside;
                    }
                    return Ok(answer);
                }
                Err(err) => return Err(anyhow!(err).context(format!("read '{path}'"))),
            }
        }
        // The links read are the parent's only if it is still the parent
        // (see ancestor_in_other_namespace).
        if parent_of(&child)? != parent {
            bail!("the process tree changed while looking for ancestors in other namespaces (the launcher died?)");
        }
        let mut still = Vec::new();
        for (&index, link) in undecided.iter().zip(&links) {
            if *link != own[index] {
                answer[index] = true;
            } else {
                still.push(index);
            }
        }
        undecided = still;
        child = parent.to_string();
    }
    Ok(answer)
}

fn in_child_user_namespace() -> anyhow::Result<bool> {
    let own = fs::read_link("/proc/self/ns/user").context("read '/proc/self/ns/user'")?;
    Ok(own.as_os_str() != INITIAL_USER_NAMESPACE)
}

/// The parent's PID, field 4 of /proc/PID/stat (0 for a process whose
/// parent is outside this procfs's PID namespace). stat rather than the
/// `PPid:` of status: one short line read into the stack in one call,
/// where status is 1.4 KB read in growing steps (a walk runs several times
/// per launch, in every step that asks).
fn parent_of(pid: &str) -> anyhow::Result<u32> {
    let path = format!("/proc/{pid}/stat");
    let mut file = File::open(&path).with_context(|| format!("read '{path}'"))?;
    let mut buffer = [0u8; 1024];
    let mut len = 0;
    while len < buffer.len() {
        match file.read(&mut buffer[len..]) {
            Ok(0) => break,
            // procfs hands out the whole line in the first read: once the
            // ppid field parses, the read that would return 0 is not needed.
            Ok(n) => {
                len += n;
                if let Ok(ppid) = parse_ppid(&buffer[..len]) {
                    if buffer[..len].ends_with(b"\n") {
                        return Ok(ppid);
                    }
                }
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(anyhow!(err).context(format!("read '{path}'"))),
        }
    }
    parse_ppid(&buffer[..len]).with_context(|| format!("read '{path}'"))
}

/// Field 4 of a stat line, counted after the command name (which may hold
/// spaces and parentheses): `pid (comm) state ppid ...`.
fn parse_ppid(stat: &[u8]) -> anyhow::Result<u32> {
    let name_end = stat.iter().rposition(|&b| b == b')').ok_or_else(|| anyhow!("no command name"))?;
    let rest = std::str::from_utf8(&stat[name_end + 1..]).map_err(|_| anyhow!("not text"))?;
    let value = rest.split_whitespace().nth(1).ok_or_else(|| anyhow!("no ppid field"))?;
    value.parse().map_err(|_| anyhow!("bad ppid '{value}'"))
}

/// A namespace is identified by the device and inode of its nsfs file.
fn identity(file: &File, path: &str) -> anyhow::Result<(u64, u64)> {
    let meta = file.metadata().with_context(|| format!("stat '{path}'"))?;
    Ok((meta.dev(), meta.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_is_read_from_the_stat_line() {
        assert_eq!(parse_ppid(b"7 (sh) S 42 7 7 0 -1 4194560").expect("parses"), 42);
        assert_eq!(parse_ppid(b"7 (a) b (c) S 0 7 7").expect("parses"), 0);
        assert!(parse_ppid(b"7 (sh").is_err());
        assert!(parse_ppid(b"7 (sh) S x 7").is_err());
        assert_eq!(parent_of("self").expect("own stat"), std::os::unix::process::parent_id());
    }

    #[test]
    fn the_walk_ends_and_a_found_ancestor_really_differs() {
        // cargo's own tree: whatever it finds, a Found namespace must not be ours.
        for kind in ["mnt", "net", "pid"] {
            if let Ancestor::Found { namespace, .. } = ancestor_in_other_namespace(kind).expect("walk") {
                let own = File::open(format!("/proc/self/ns/{kind}")).expect("own");
                assert_ne!(identity(&namespace, "").expect("id"), identity(&own, "").expect("id"));
            }
        }
    }

    #[test]
    fn an_unknown_kind_is_an_error() {
        assert!(ancestor_in_other_namespace("nope").is_err());
        assert!(own_namespaces(["mnt", "nope"]).is_err());
    }

    #[test]
    fn one_walk_answers_as_a_walk_per_kind() {
        let kinds = ["mnt", "net", "pid", "uts", "ipc", "cgroup"];
        let together = own_namespaces(kinds).expect("walk");
        for (kind, answer) in kinds.iter().zip(together) {
            assert_eq!(answer, ancestor_in_other_namespace(kind).expect("walk").exists(), "{kind}");
        }
    }
}
