//! Reading /proc after a root switch: only a real procfs is believed.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::Context;
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

#[cfg(test)]
mod tests {
    use super::*;

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
