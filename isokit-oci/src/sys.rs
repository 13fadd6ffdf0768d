//! The fd calls nix offers only as unsafe raw-fd functions, each a thin
//! wrapper with its reason for being sound.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// Take ownership of an fd known only by number (chainload::sys::adopt).
pub use chainload::sys::adopt;

/// dup2(fd, target): target becomes a copy of fd, inheritable across exec.
pub fn dup_to(fd: &OwnedFd, target: RawFd) -> nix::Result<()> {
    // SAFETY: dup2 only replaces `target`, a number the caller reserved for
    // the chain; fd is a live OwnedFd.
    Errno::result(unsafe { libc::dup2(fd.as_raw_fd(), target) }).map(drop)
}

/// Mark an fd close-on-exec, by number (fds inherited from the caller).
pub fn set_cloexec(fd: RawFd) {
    // SAFETY: F_SETFD changes only the flag of that fd; EBADF is harmless.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}

/// Close an fd placed for the chain, once the chain has its copy.
pub fn close_raw(fd: RawFd) {
    // SAFETY: fd was made by dup_to for the child and is owned by nothing
    // in this process.
    unsafe { libc::close(fd) };
}

/// A process started by `spawn_in_cgroup`.
pub struct Started {
    pub pid: i32,
}

/// Why `spawn_in_cgroup` did not start the program.
pub enum SpawnError {
    /// clone3 with CLONE_INTO_CGROUP was refused (a kernel before 5.7, or
    /// a cgroup that cannot take the process): the caller moves the old way.
    Clone(Errno),
    /// The process was made, but the program could not be executed.
    Exec(anyhow::Error),
}

/// The program's path: as given when it names a directory, else the first
/// match in the PATH of its environment, then in this process's (as
/// std::process::Command looks it up).
fn resolve(program: &str, env: &[(String, String)]) -> std::path::PathBuf {
    if program.contains('/') {
        return program.into();
    }
    let own = std::env::var("PATH").unwrap_or_default();
    let theirs = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str());
    theirs
        .into_iter()
        .chain(std::iter::once(own.as_str()))
        .flat_map(|path| path.split(':'))
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            candidate.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| program.into())
}

/// Start `words` with exactly `env`, as a child in the cgroup v2 directory
/// `cgroup` from its first instruction: clone3(CLONE_INTO_CGROUP), then
/// execve. Nothing migrates, so nothing waits for the RCU grace period a
/// move through cgroup.procs takes. The child gets what
/// std::process::Command gives one: the inheritable fds, an empty signal
/// mask, SIGPIPE at its default. An exec failure comes back through a
/// close-on-exec pipe, as std reports it.
pub fn spawn_in_cgroup(words: &[String], env: &[(String, String)], cgroup: BorrowedFd) -> Result<Started, SpawnError> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let cstring =
        |bytes: &[u8]| CString::new(bytes).map_err(|_| SpawnError::Exec(anyhow::anyhow!("a NUL byte in an argument")));
    let path = cstring(resolve(&words[0], env).as_os_str().as_bytes())?;
    let argv: Vec<CString> = words.iter().map(|w| cstring(w.as_bytes())).collect::<Result<_, _>>()?;
    let envp: Vec<CString> =
        env.iter().map(|(k, v)| cstring(format!("{k}={v}").as_bytes())).collect::<Result<_, _>>()?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    let (err_read, err_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| SpawnError::Exec(anyhow::Error::new(e).context("make a pipe")))?;
    match chainload::sys::fork_into_cgroup(cgroup) {
        Err(errno) => Err(SpawnError::Clone(errno)),
        Ok(nix::unistd::ForkResult::Child) => {
            drop(err_read);
            // SAFETY: the child of a fork of this single-threaded process:
            // only system calls on memory prepared before the fork, then
            // execve or _exit.
            unsafe {
                let mut empty: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut empty);
                libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr());
                let errno = Errno::last_raw().to_ne_bytes();
                libc::write(err_write.as_raw_fd(), errno.as_ptr().cast(), errno.len());
                libc::_exit(127)
            }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(err_write);
            let mut errno = [0u8; 4];
            let mut got = 0;
            while got < errno.len() {
                match nix::unistd::read(&err_read, &mut errno[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(Errno::EINTR) => continue,
                    Err(_) => break,
                }
            }
            if got == 0 {
                return Ok(Started { pid: child.as_raw() });
            }
            let _ = nix::sys::wait::waitpid(child, None);
            let err = std::io::Error::from_raw_os_error(i32::from_ne_bytes(errno));
            Err(SpawnError::Exec(anyhow::Error::new(err).context(format!("run '{}'", words[0]))))
        }
    }
}

impl Started {
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Wait for it, as std's Child::wait reports the status.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        let mut status = 0;
        loop {
            // SAFETY: waitpid writes the status into a local int.
            if unsafe { libc::waitpid(self.pid, &mut status, 0) } >= 0 {
                return Ok(std::process::ExitStatus::from_raw(status));
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}
