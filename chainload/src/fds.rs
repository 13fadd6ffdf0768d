//! The fds a tool inherited, and the check that nothing else leaks.
//!
//! A tool opens files on the host (directories, namespace files, netlink
//! sockets). If one of them stayed open across the final exec, the
//! container would hold a handle to the host: runc CVE-2024-21626 was a
//! leaked fd to the host's /sys/fs/cgroup. Every open in isokit is
//! close-on-exec; this check makes a mistake in that rule fail closed.

use std::os::fd::{AsRawFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::stat::Mode;
// NSFS_MAGIC: the filesystem of namespace files (/proc/PID/ns/*); nix's
// constant has f_type's own type on every libc (i64 on glibc, not on musl).
use nix::sys::statfs::NSFS_MAGIC;

/// Highest fd probed when /proc is not mounted (after `pivot --no-proc`).
const PROBE_LIMIT: RawFd = 1024;

/// Largest fd table probed fd by fd at start rather than listed (see
/// `FdSet::open_now`).
const PROBE_TABLE: u32 = 128;

pub(crate) struct FdSet(Vec<RawFd>);

impl FdSet {
    /// The fds open now. `fd_size` is FDSize of /proc/self/status, the
    /// size of the fd table, above which no fd can be open: a table of
    /// up to 128 is probed with fcntl(F_GETFD), one cheap call per
    /// number, which sees O_PATH fds too (poll(2) reports those as
    /// closed). Listing /proc/self/fd made procfs build a dentry and an
    /// inode for every entry, charged to the memory cgroup, and freed
    /// again when the process exits: ~30 us a listing here, six
    /// listings per launch. A larger table is listed.
    pub(crate) fn open_now(fd_size: Option<u32>) -> FdSet {
        match fd_size {
            Some(size) if size <= PROBE_TABLE => {
                // size <= 128: the cast cannot wrap.
                FdSet((0..size as RawFd).filter(|&fd| fcntl(unsafe_borrow(fd), FcntlArg::F_GETFD).is_ok()).collect())
            }
            _ => FdSet(list_open_fds()),
        }
    }

    /// Make every fd that was not inherited close-on-exec: the numbers
    /// between and above the inherited ones, with close_range(2)
    /// CLOSE_RANGE_CLOEXEC (Linux 5.11), a call per gap. Whatever the tool
    /// opened, by mistake without O_CLOEXEC or not, cannot reach the next
    /// program; inherited fds are left exactly as they came, and so are
    /// 0, 1 and 2: a standard stream the tool set up on purpose (ptyrun
    /// dup2s the terminal there, clearing close-on-exec, even when the
    /// caller had closed one) is for the program, and only dup2 puts a
    /// non-close-on-exec fd there. False when the kernel lacks the flag:
    /// then `leaks` is the check.
    pub(crate) fn close_others_on_exec(&self) -> bool {
        let mut inherited = self.0.clone();
        inherited.sort_unstable();
        let mut first: libc::c_uint = 3;
        for &fd in &inherited {
            let Ok(fd) = libc::c_uint::try_from(fd) else { continue };
            if fd < first {
                continue; // a standard stream, left as it is
            }
            if fd > first && crate::sys::close_range_cloexec(first, fd - 1).is_err() {
                return false;
            }
            first = fd.saturating_add(1);
        }
        crate::sys::close_range_cloexec(first, libc::c_uint::MAX).is_ok()
    }

    /// The inherited fds, each with why it is a handle on the host (see
    /// [`host_handle`]).
    pub(crate) fn host_handles(&self) -> Vec<(RawFd, &'static str)> {
        self.0.iter().filter_map(|&fd| Some((fd, host_handle(fd)?))).collect()
    }

    /// Open fds that were not inherited and would survive exec.
    pub(crate) fn leaks(&self) -> Vec<RawFd> {
        list_open_fds().into_iter().filter(|fd| !self.0.contains(fd)).filter(|&fd| !is_close_on_exec(fd)).collect()
    }
}

/// Why an inherited fd would be a handle on the host once the root has
/// been switched, or None for an fd that carries data only.
///
/// A directory fd keeps its mount: `..` from it climbs the old root even
/// after pivot_root detached it (`exec 7</` then `cat /proc/self/fd/7/etc/hostname`).
/// An O_PATH fd can be turned into any of those through /proc/self/fd, and
/// a namespace file lets setns(2) join the host's namespace. Pipes,
/// sockets, terminals, regular files and devices are data the caller
/// hands on (`pivot ... sort <input`): they stay.
pub(crate) fn host_handle(fd: RawFd) -> Option<&'static str> {
    let borrowed = unsafe_borrow(fd);
    let flags = fcntl(borrowed, FcntlArg::F_GETFL).ok()?;
    if OFlag::from_bits_truncate(flags).contains(OFlag::O_PATH) {
        return Some("an O_PATH handle");
    }
    if nix::sys::statfs::fstatfs(borrowed).is_ok_and(|fs| fs.filesystem_type() == NSFS_MAGIC) {
        return Some("a namespace file");
    }
    match nix::sys::stat::fstat(borrowed) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Some("a directory"),
        _ => None,
    }
}

fn is_close_on_exec(fd: RawFd) -> bool {
    match fcntl(unsafe_borrow(fd), FcntlArg::F_GETFD) {
        Ok(bits) => FdFlag::from_bits_truncate(bits).contains(FdFlag::FD_CLOEXEC),
        Err(_) => true, // closed meanwhile: cannot leak
    }
}

/// The fds open now, from /proc/self/fd: one open, two getdents64 into a
/// buffer on the stack, one close. (nix's Dir goes through the C library's
/// opendir, which adds fstat, two fcntl, lseek and a heap buffer that musl
/// maps and unmaps: 13 system calls where 4 do, twice in every tool.)
fn list_open_fds() -> Vec<RawFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(dir) = nix::fcntl::open("/proc/self/fd", flags, Mode::empty()) else {
        return (0..PROBE_LIMIT).filter(|&fd| fcntl(unsafe_borrow(fd), FcntlArg::F_GETFD).is_ok()).collect();
    };
    let own = dir.as_raw_fd();
    let mut fds = Vec::new();
    let mut buffer = [0u8; 2048];
    loop {
        match crate::sys::getdents64(&dir, &mut buffer) {
            Ok(0) => break,
            Ok(len) => fds.extend(
                crate::sys::dirent_names(&buffer[..len])
                    .filter_map(|name| std::str::from_utf8(name).ok()?.parse::<RawFd>().ok())
                    .filter(|&fd| fd != own),
            ),
            // Unreadable: probe instead, as without /proc.
            Err(_) => {
                return (0..PROBE_LIMIT)
                    .filter(|&fd| fd != own && fcntl(unsafe_borrow(fd), FcntlArg::F_GETFD).is_ok())
                    .collect()
            }
        }
    }
    fds
}

/// nix 0.30 takes `AsFd` for fcntl; an fd number we only query is borrowed
/// for the length of the call.
fn unsafe_borrow(fd: RawFd) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: the borrowed fd is used only for F_GETFD, which fails with
    // EBADF (handled by the callers) when the number is not open.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;
    use std::sync::Mutex;

    // The test harness runs tests on parallel threads of one process, which
    // share one fd table: a snapshot taken by one test would see the files
    // another opens meanwhile (and their reused numbers). Every test here
    // that opens an fd holds this lock.
    static FD_TABLE: Mutex<()> = Mutex::new(());

    fn fd_table() -> std::sync::MutexGuard<'static, ()> {
        FD_TABLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[test]
    fn directories_and_namespaces_are_host_handles_files_are_not() {
        let _table = fd_table();
        let dir = std::fs::File::open("/").expect("open /");
        assert_eq!(host_handle(dir.as_raw_fd()), Some("a directory"));
        let ns = std::fs::File::open("/proc/self/ns/net").expect("open ns");
        assert_eq!(host_handle(ns.as_raw_fd()), Some("a namespace file"));
        let path = nix::fcntl::open("/etc", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).expect("O_PATH");
        assert_eq!(host_handle(path.as_raw_fd()), Some("an O_PATH handle"));
        let file = std::fs::File::open("/proc/self/status").expect("open file");
        assert_eq!(host_handle(file.as_raw_fd()), None);
        let (read, _write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).expect("pipe");
        assert_eq!(host_handle(read.as_raw_fd()), None);
    }

    #[test]
    fn the_listing_has_every_open_fd_and_no_other() {
        let _table = fd_table();
        let file = std::fs::File::open("/proc/self/status").expect("open");
        let fd = file.as_raw_fd();
        let listed = list_open_fds();
        assert!(listed.contains(&0) && listed.contains(&fd), "{listed:?}");
        // Every fd listed was open (tests in other modules may open more
        // meanwhile, so only this direction is checked).
        let mut names = [0u8; 2048];
        let dir = nix::fcntl::open("/proc/self/fd", OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).expect("dir");
        let len = crate::sys::getdents64(&dir, &mut names).expect("getdents64");
        let raw: Vec<&[u8]> = crate::sys::dirent_names(&names[..len]).collect();
        assert!(raw.contains(&&b"."[..]) && raw.contains(&&b"0"[..]), "{raw:?}");
    }

    #[test]
    fn close_on_exec_files_are_not_leaks() {
        let _table = fd_table();
        let before = FdSet::open_now(None);
        let _file = std::fs::File::open("/proc/self/status").expect("open");
        assert!(before.leaks().is_empty());
    }

    #[test]
    fn probing_finds_what_the_listing_finds() {
        let _table = fd_table();
        let path = nix::fcntl::open("/etc", OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).expect("O_PATH");
        let size = crate::StartStatus::read().fd_size.expect("FDSize");
        // Tests in other modules open files meanwhile, so the two views are
        // compared on the fds this test holds, an O_PATH one among them.
        for set in [FdSet::open_now(Some(size.min(PROBE_TABLE))), FdSet::open_now(None)] {
            assert!(set.0.contains(&0) && set.0.contains(&path.as_raw_fd()), "{:?}", set.0);
        }
    }

    #[test]
    fn fds_opened_after_the_start_become_close_on_exec_and_inherited_stay() {
        let _table = fd_table();
        // An inherited fd without close-on-exec, as a caller hands one on.
        let kept = std::fs::File::open("/proc/self/status").expect("open").into_raw_fd();
        fcntl(unsafe_borrow(kept), FcntlArg::F_SETFD(FdFlag::empty())).expect("clear cloexec");
        let before = FdSet::open_now(None);
        let own = std::fs::File::open("/proc/self/stat").expect("open").into_raw_fd();
        fcntl(unsafe_borrow(own), FcntlArg::F_SETFD(FdFlag::empty())).expect("clear cloexec");
        assert!(before.close_others_on_exec(), "close_range(CLOSE_RANGE_CLOEXEC)");
        // What the kernel now reports for each.
        assert!(is_close_on_exec(own), "the tool's own fd is close-on-exec");
        assert!(!is_close_on_exec(kept), "the inherited fd is left as it came");
        assert!(before.leaks().is_empty());
        nix::unistd::close(own).expect("close");
        nix::unistd::close(kept).expect("close");
    }

    #[test]
    fn standard_streams_are_left_as_they_are_even_when_not_inherited() {
        let _table = fd_table();
        // As if the caller had closed stdout and the tool had dup2'd a
        // terminal onto it (dup2 clears close-on-exec): it is for the
        // program, so close_range must pass over it.
        let set = FdSet(vec![0, 2]);
        fcntl(unsafe_borrow(1), FcntlArg::F_SETFD(FdFlag::empty())).expect("clear cloexec on 1");
        let own = std::fs::File::open("/proc/self/stat").expect("open").into_raw_fd();
        fcntl(unsafe_borrow(own), FcntlArg::F_SETFD(FdFlag::empty())).expect("clear cloexec");
        assert!(set.close_others_on_exec(), "close_range(CLOSE_RANGE_CLOEXEC)");
        assert!(!is_close_on_exec(1), "fd 1 left as it was");
        assert!(is_close_on_exec(own), "the tool's own fd is close-on-exec");
        nix::unistd::close(own).expect("close");
    }

    #[test]
    fn an_inheritable_fd_is_reported() {
        let _table = fd_table();
        let before = FdSet::open_now(None);
        let fd = std::fs::File::open("/proc/self/status").expect("open").into_raw_fd();
        fcntl(unsafe_borrow(fd), FcntlArg::F_SETFD(FdFlag::empty())).expect("clear cloexec");
        assert!(before.leaks().contains(&fd));
        nix::unistd::close(fd).expect("close");
    }
}
