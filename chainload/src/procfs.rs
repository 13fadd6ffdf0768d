//! Reading /proc after a root switch: only a real procfs is believed.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::Context;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

/// The text of a file under /proc, or None when it cannot be opened or is
/// not on a procfs. After `pivot --no-proc` the image's own /proc is what
/// the path reaches: a file an image planted there must not be believed,
/// and a FIFO planted there must not block (hence O_NONBLOCK).
pub fn read_procfs(path: &str) -> anyhow::Result<Option<String>> {
    let Ok(mut file) = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path) else {
        return Ok(None);
    };
    match fstatfs(&file) {
        Ok(fs) if fs.filesystem_type() == PROC_SUPER_MAGIC => {}
        _ => return Ok(None),
    }
    // procfs files report size 0: without room made first, read_to_string
    // starts with a 32-byte read and doubles, seven reads for
    // /proc/self/status (1.4 KB) where one 4 KB read holds it.
    let mut text = String::with_capacity(4096);
    file.read_to_string(&mut text).with_context(|| format!("read '{path}'"))?;
    Ok(Some(text))
}

/// What a tool needs of /proc/self/status, read once when it starts: the
/// ignored signals it hands on (SigIgn), the size of its fd table
/// (FDSize, which bounds every open fd) and the bounding and ambient sets
/// capdrop starts from. Each field is None when /proc is not a procfs
/// (after `pivot --no-proc`) or lacks the line; callers then ask the
/// kernel another way.
///
/// One read into a buffer on the stack: a launch read this file eight
/// times (each tool at start and again before exec, capdrop twice more),
/// ~8 us each here, and in unshare-lite, which keeps musl's allocator,
/// every read also mapped and unmapped a heap page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StartStatus {
    pub sig_ign: Option<u64>,
    pub fd_size: Option<u32>,
    pub cap_bnd: Option<u64>,
    pub cap_amb: Option<u64>,
}

impl StartStatus {
    pub fn read() -> StartStatus {
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let Ok(file) = nix::fcntl::open("/proc/self/status", flags, Mode::empty()) else {
            return StartStatus::default();
        };
        // As read_procfs: a file planted where /proc should be is not believed.
        if !fstatfs(&file).is_ok_and(|fs| fs.filesystem_type() == PROC_SUPER_MAGIC) {
            return StartStatus::default();
        }
        // ~1.4 KB; procfs hands it out whole in the first read.
        let mut buffer = [0u8; 4096];
        let mut len = 0;
        while len < buffer.len() {
            match nix::unistd::read(&file, &mut buffer[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return StartStatus::default(),
            }
        }
        StartStatus::parse(&buffer[..len])
    }

    /// The fields of a status text; a line cut off at the end of the
    /// buffer is not believed (its value could be truncated).
    pub fn parse(text: &[u8]) -> StartStatus {
        let mut status = StartStatus::default();
        let complete = match text.iter().rposition(|&b| b == b'\n') {
            Some(end) => &text[..=end],
            None => return status,
        };
        for line in complete.split(|&b| b == b'\n') {
            let Ok(line) = std::str::from_utf8(line) else { continue };
            let Some((key, value)) = line.split_once(':') else { continue };
            let value = value.trim();
            let hex = || u64::from_str_radix(value, 16).ok();
            match key {
                "SigIgn" => status.sig_ign = hex(),
                "CapBnd" => status.cap_bnd = hex(),
                "CapAmb" => status.cap_amb = hex(),
                "FDSize" => status.fd_size = value.parse().ok(),
                _ => {}
            }
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_status_agrees_with_the_text() {
        let status = StartStatus::read();
        let text = read_procfs("/proc/self/status").expect("read").expect("procfs");
        let field = |name: &str| text.lines().find_map(|line| line.strip_prefix(name)).map(str::trim);
        assert_eq!(status.cap_bnd, field("CapBnd:").map(|v| u64::from_str_radix(v, 16).expect("hex")));
        assert_eq!(status.fd_size, field("FDSize:").map(|v| v.parse().expect("number")));
        assert!(status.sig_ign.is_some() && status.cap_amb.is_some());
        // A line cut off by the end of the buffer is left out.
        let cut = StartStatus::parse(b"FDSize:\t64\nCapBnd:\t000001ff");
        assert_eq!((cut.fd_size, cut.cap_bnd), (Some(64), None));
    }

    #[test]
    fn a_proc_file_is_read() {
        let text = read_procfs("/proc/self/status").expect("read").expect("procfs");
        assert!(text.contains("SigBlk:"));
    }

    #[test]
    fn a_file_elsewhere_or_missing_is_not_believed() {
        let dir = std::env::temp_dir().join(format!("chainload-procfs-{}", std::process::id()));
        std::fs::write(&dir, "CapBnd:\t0000003fffffffff\n").expect("write");
        let planted = read_procfs(dir.to_str().expect("utf-8"));
        std::fs::remove_file(&dir).expect("remove");
        assert_eq!(planted.expect("no error"), None);
        assert_eq!(read_procfs("/proc/no/such/file").expect("no error"), None);
    }

    #[test]
    fn a_fifo_does_not_block() {
        let path = std::env::temp_dir().join(format!("chainload-fifo-{}", std::process::id()));
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
        let read = read_procfs(path.to_str().expect("utf-8"));
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(read.expect("no error"), None);
    }
}
