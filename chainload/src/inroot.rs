//! Paths resolved inside a root filesystem, never through a path string
//! joined onto it: the one rule pivot (mount targets) and imgunpack (layer
//! entries) share. openat2(2) with RESOLVE_IN_ROOT follows a symlink the
//! way a process inside will, with the root as `/`, so an image's
//! `/data -> /etc` or `evil -> ../../..` stays inside the image (runc
//! CVE-2021-30465 was a mount target resolved on the host).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};

/// Open `path` inside `root`: symlinks followed only inside it, magic
/// links (/proc/PID/fd/N) refused. `flags` gets O_CLOEXEC added.
pub fn open_in_root(root: impl AsFd, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    openat2(root, path, how)
}

/// Open the entry `name` of `parent`, which must be exactly that: no
/// symlink anywhere (the last component included), nothing outside
/// `parent`. `flags` gets O_NOFOLLOW and O_CLOEXEC added.
pub fn open_plain(parent: impl AsFd, name: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
    openat2(parent, name, how)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("chainload-inroot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/etc")).expect("mkdir");
        std::fs::write(dir.join("root/etc/marker"), "inside").expect("write");
        dir
    }

    fn open_dir(path: &Path) -> OwnedFd {
        nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())
            .expect("open dir")
    }

    #[test]
    fn an_escaping_symlink_stays_inside_the_root() {
        let dir = scratch("escape");
        // An absolute link and a ../ link, both aimed out of the root.
        symlink("/etc", dir.join("root/abs")).expect("symlink");
        symlink("../../../../../../etc", dir.join("root/rel")).expect("symlink");
        let root = open_dir(&dir.join("root"));
        for link in ["abs/marker", "rel/marker", "/abs/marker"] {
            let fd = open_in_root(&root, Path::new(link), OFlag::O_RDONLY).expect("resolved inside");
            let text = std::fs::read_to_string(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd)));
            assert_eq!(text.expect("read"), "inside", "{link} left the root");
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn open_plain_follows_no_symlink_and_stays_beneath() {
        let dir = scratch("plain");
        symlink("etc", dir.join("root/link")).expect("symlink");
        let root = open_dir(&dir.join("root"));
        assert!(open_plain(&root, Path::new("etc"), OFlag::O_RDONLY | OFlag::O_DIRECTORY).is_ok());
        assert!(open_plain(&root, Path::new("link"), OFlag::O_RDONLY).is_err());
        assert!(open_plain(&root, Path::new("link/marker"), OFlag::O_RDONLY).is_err());
        assert!(open_plain(&root, Path::new("../root/etc"), OFlag::O_RDONLY).is_err());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
