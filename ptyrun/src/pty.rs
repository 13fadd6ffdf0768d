//! A pseudo-terminal pair from the container's own devpts.
//!
//! After pivot, /dev/pts is the devpts instance pivot mounted for the
//! container (a private instance: every devpts mount is one since Linux
//! 4.7), and /dev/pts/ptmx its multiplexer. The checks below make sure
//! that is really what we open: a /dev/pts that is not devpts, or that is
//! the very instance the caller's terminal lives on (ptyrun run on the
//! host, or a container given the host's /dev/pts), is refused.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{bail, Context};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};
use nix::sys::statfs::{fstatfs, DEVPTS_SUPER_MAGIC};

use crate::sys;

const PTS: &str = "/dev/pts";
const PTMX: &str = "/dev/pts/ptmx";

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// /dev/pts/N, as the program inside sees it.
    pub name: String,
}

impl Pty {
    pub fn open() -> anyhow::Result<Pty> {
        let pts = open(PTS, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .with_context(|| format!("open '{PTS}'"))?;
        let magic = fstatfs(&pts).with_context(|| format!("statfs '{PTS}'"))?.filesystem_type();
        if magic != DEVPTS_SUPER_MAGIC {
            bail!("'{PTS}' is not a devpts mount (run ptyrun after pivot, which mounts one for the container)");
        }
        let instance = fstat(&pts).with_context(|| format!("stat '{PTS}'"))?.st_dev;
        refuse_callers_instance(instance)?;

        let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let master = open(PTMX, flags, Mode::empty()).with_context(|| format!("open '{PTMX}'"))?;
        sys::unlock(&master).with_context(|| format!("unlock the terminal of '{PTMX}'"))?;
        let name = format!("{PTS}/{}", sys::number(&master).context("TIOCGPTN")?);
        let slave = sys::open_peer(&master).with_context(|| format!("open '{name}' (TIOCGPTPEER)"))?;
        // Read back: the slave is a terminal of the instance checked above.
        let stat = fstat(&slave).with_context(|| format!("stat '{name}'"))?;
        if stat.st_dev != instance {
            bail!("'{name}' is not on the devpts mounted at '{PTS}'");
        }
        Ok(Pty { master, slave, name })
    }
}

/// If one of our stdio fds is a terminal of this same devpts instance, the
/// /dev/pts we see is the caller's (typically the host's): a container
/// must not get a terminal there.
fn refuse_callers_instance(instance: u64) -> anyhow::Result<()> {
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let stdio: [BorrowedFd<'_>; 3] = [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()];
    for (fd, borrowed) in stdio.into_iter().enumerate() {
        // A closed stdio number fails fstat: nothing to compare.
        let Ok(stat) = fstat(borrowed) else { continue };
        let is_char = SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFCHR;
        if is_char && stat.st_dev == instance {
            bail!("'{PTS}' is the devpts of the caller's own terminal (fd {fd}): refusing to give the container a terminal there (run ptyrun after pivot)");
        }
    }
    Ok(())
}

/// Make `tty` this process's controlling terminal and its stdin, stdout
/// and stderr: a new session first (a session leader without a terminal
/// is what TIOCSCTTY requires), unless this process already leads one
/// (unshare-lite --new-session made it so).
pub fn become_terminal_of(tty: &OwnedFd) -> anyhow::Result<()> {
    if let Err(err) = nix::unistd::setsid() {
        let me = nix::unistd::getpid();
        if nix::unistd::getsid(None).ok() != Some(me) {
            return Err(anyhow::Error::new(err).context("setsid (ptyrun must not lead a process group)"));
        }
    }
    sys::make_controlling(tty).context("make the terminal the controlling terminal (TIOCSCTTY)")?;
    // dup2 clears close-on-exec on the copies: these three are meant to
    // reach the program.
    nix::unistd::dup2_stdin(tty).context("dup2 the terminal onto stdin")?;
    nix::unistd::dup2_stdout(tty).context("dup2 the terminal onto stdout")?;
    nix::unistd::dup2_stderr(tty).context("dup2 the terminal onto stderr")
}
