//! The archive as a table of its regular files, read in place: nothing is
//! unpacked to disk, and only the files a manifest names are ever read.
//!
//! Entry names are taken relative to the archive (`./a` is `a`); an entry
//! whose name is absolute or has a `..` is left out of the table, so no
//! name a manifest gives can reach it. A name that appears twice is
//! refused when asked for: which copy is meant would be a guess.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};

use imgstore::SMALL_BLOB_LIMIT;

/// Where one file's bytes are: offset in the archive, length; None when
/// the name occurs more than once.
type Place = Option<(u64, u64)>;

pub struct Archive {
    file: File,
    files: HashMap<PathBuf, Place>,
}

impl Archive {
    pub fn open(path: &Path) -> anyhow::Result<Archive> {
        let file = File::open(path).with_context(|| format!("open '{}'", path.display()))?;
        let mut files = HashMap::new();
        let mut tar = tar::Archive::new(&file);
        for entry in tar.entries_with_seek().context("read the archive")? {
            let entry = entry.context("read the archive")?;
            let raw = entry.path().context("read an entry name")?;
            let Some(name) = relative(&raw) else { continue };
            if !entry.header().entry_type().is_file() {
                // A directory, or a link: never read through (docker
                // save's legacy links between layer directories included).
                files.insert(name, None);
                continue;
            }
            let place = (entry.raw_file_position(), entry.size());
            files.entry(name).and_modify(|p| *p = None).or_insert(Some(place));
        }
        Ok(Archive { file, files })
    }

    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(Path::new(name))
    }

    /// The bytes of file `name`, as a reader, and their length.
    pub fn reader(&self, name: &str) -> anyhow::Result<(Slice<'_>, u64)> {
        let Some(clean) = relative(Path::new(name)) else {
            bail!("refusing '{name}': a name in the archive's manifest must stay inside the archive");
        };
        match self.files.get(&clean) {
            None => bail!("the archive has no file '{name}'"),
            Some(None) => bail!("refusing '{name}': not one regular file in the archive"),
            Some(Some((offset, size))) => Ok((Slice { file: &self.file, at: *offset, end: offset + size }, *size)),
        }
    }

    /// A small file (manifest, config, index.json), read whole.
    pub fn read_small(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let (mut reader, size) = self.reader(name)?;
        if size > SMALL_BLOB_LIMIT {
            bail!("'{name}' is larger than {SMALL_BLOB_LIMIT} bytes: refusing it as a manifest or config");
        }
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).with_context(|| format!("read '{name}' from the archive"))?;
        Ok(bytes)
    }

    pub fn read_json(&self, name: &str) -> anyhow::Result<serde_json::Value> {
        let bytes = self.read_small(name)?;
        serde_json::from_slice(&bytes).with_context(|| format!("parse '{name}' as JSON"))
    }
}

/// `name` without `.` components, or None when it is absolute or has `..`.
fn relative(name: &Path) -> Option<PathBuf> {
    let mut clean = PathBuf::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(clean)
}

/// One file's bytes inside the archive, read with pread (no shared offset).
pub struct Slice<'a> {
    file: &'a File,
    at: u64,
    end: u64,
}

impl Read for Slice<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.at).unwrap_or(usize::MAX);
        let want = buffer.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buffer[..want], self.at)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the archive ends inside a file"));
        }
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside() {
        assert_eq!(relative(Path::new("./a/./b")), Some(PathBuf::from("a/b")));
        assert_eq!(relative(Path::new("a/../b")), None);
        assert_eq!(relative(Path::new("/etc/passwd")), None);
    }

    #[test]
    fn only_single_regular_files_inside_are_read() {
        let path = std::env::temp_dir().join(format!("imgload-test-{}.tar", std::process::id()));
        let mut builder = tar::Builder::new(File::create(&path).unwrap());
        for (name, data) in [("a", "one"), ("a", "two"), ("./b", "bee")] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder.append_data(&mut header, name, data.as_bytes()).unwrap();
        }
        // append_data refuses `..`: write the name into the header itself.
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..5].copy_from_slice(b"../c\0");
        header.set_size(1);
        header.set_cksum();
        builder.append(&header, &b"c"[..]).unwrap();
        builder.into_inner().unwrap();
        let archive = Archive::open(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(archive.read_small("b").unwrap(), b"bee");
        assert_eq!(archive.read_small("./b").unwrap(), b"bee");
        assert!(archive.read_small("a").is_err(), "a name given twice is refused");
        assert!(archive.read_small("../c").is_err());
        assert!(!archive.has("c") && !archive.has("../c"));
    }
}
