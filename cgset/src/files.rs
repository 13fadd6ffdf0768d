//! Reading and writing cgroup control files.
//!
//! A control file is opened for writing without O_CREAT: on cgroupfs the
//! kernel makes every file when the directory is made, so a file that is
//! not there is a misspelled name or a controller that is not enabled, and
//! must be an error naming it, not a new regular file. O_NOFOLLOW because
//! cgroupfs has no symlinks: one met here is not the kernel's.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{anyhow, Context};

/// Write VALUE to a control file in one write(2): the kernel parses each
/// write on its own, so a value must never be split.
pub fn write(path: &Path, value: &str) -> anyhow::Result<()> {
    let context = || format!("write '{value}' to '{}'", path.display());
    // O_TRUNC is accepted and ignored by cgroupfs; it keeps a fake tree in
    // a temporary directory (unit tests) equal to what was written.
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .with_context(context)?;
    let written = file.write(value.as_bytes()).with_context(context)?;
    if written != value.len() {
        return Err(anyhow!("short write ({written} of {} bytes)", value.len())).with_context(context);
    }
    Ok(())
}

/// A control file's content without the trailing newline.
/// Write each (file, value) of `writes` in `dir`, in order; returns
/// "file=value" for each, for the trace line.
pub fn write_all(dir: &Path, writes: Vec<(&str, String)>) -> anyhow::Result<Vec<String>> {
    let mut done = Vec::new();
    for (file, value) in writes {
        write(&dir.join(file), &value)?;
        done.push(format!("{file}={value}"));
    }
    Ok(done)
}

pub fn read(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read '{}'", path.display()))?;
    Ok(text.trim_end_matches('\n').to_string())
}

/// The first of FILES that exists in DIR (kernels differ in which one
/// they offer, e.g. blkio.weight with CFQ, blkio.bfq.weight with BFQ).
pub fn first_existing<'a>(dir: &Path, files: &[&'a str]) -> Option<&'a str> {
    files.iter().copied().find(|file| dir.join(file).symlink_metadata().is_ok())
}

/// The test helpers shared by the unit tests of v1, v2 and cgroup: a
/// temporary directory acting as a cgroup tree, in youki's manner.
#[cfg(test)]
pub mod fake {
    use std::path::{Path, PathBuf};

    pub struct Tree(pub PathBuf);

    impl Tree {
        pub fn new(name: &str) -> Tree {
            let dir = std::env::temp_dir().join(format!("cgset-test-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("make fake cgroup root");
            Tree(dir)
        }

        /// Make a cgroup directory (relative to the tree) with control files.
        pub fn cgroup(&self, relative: &str, files: &[(&str, &str)]) -> PathBuf {
            let dir = self.0.join(relative);
            std::fs::create_dir_all(&dir).expect("make fake cgroup");
            for (file, content) in files {
                std::fs::write(dir.join(file), format!("{content}\n")).expect("make fake control file");
            }
            dir
        }

        pub fn read(&self, relative: &str) -> String {
            std::fs::read_to_string(self.0.join(relative)).expect("read fake control file").trim_end().to_string()
        }

        pub fn exists(&self, relative: &str) -> bool {
            Path::new(&self.0.join(relative)).exists()
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_an_error_naming_it_and_is_not_created() {
        let tree = fake::Tree::new("files");
        let path = tree.0.join("memory.mx");
        let err = write(&path, "64M").expect_err("no such file");
        assert_eq!(
            chainload::describe(&err),
            format!("write '64M' to '{}': No such file or directory", path.display())
        );
        assert!(!path.exists());
    }

    #[test]
    fn a_symlink_is_not_followed() {
        let tree = fake::Tree::new("symlink");
        tree.cgroup("", &[("target", "x")]);
        std::os::unix::fs::symlink(tree.0.join("target"), tree.0.join("memory.max")).expect("symlink");
        assert!(write(&tree.0.join("memory.max"), "1").is_err());
        assert_eq!(tree.read("target"), "x");
    }
}
