//! Blobs into the store: streamed into `.HEX.partial` files, hashed on the
//! way, renamed under their digest only once the hash is known. Every blob
//! this load added is remembered, so that a failed load takes them all
//! back and leaves the store as it was.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use imgstore::{Digest, Hasher, Store};

pub struct Putter<'a> {
    pub store: &'a Store,
    added: Vec<PathBuf>,
    count: u32,
}

impl<'a> Putter<'a> {
    pub fn new(store: &'a Store) -> Putter<'a> {
        Putter { store, added: Vec::new(), count: 0 }
    }

    /// Store what `input` holds (`size` bytes); when `expected` is given,
    /// the bytes must hash to it. Returns their digest.
    pub fn put(&mut self, mut input: impl Read, size: u64, expected: Option<&Digest>) -> anyhow::Result<Digest> {
        self.count += 1;
        let partial =
            self.store.dir().join(format!("blobs/sha256/.load.{}.{}.partial", std::process::id(), self.count));
        let result = (|| {
            let file = File::options()
                .write(true)
                .create_new(true)
                .open(&partial)
                .with_context(|| format!("create '{}'", partial.display()))?;
            let mut out = HashingWriter { file, hasher: Hasher::new() };
            let total = io::copy(&mut input, &mut out)
                .with_context(|| format!("copy from the archive into '{}'", partial.display()))?;
            let HashingWriter { file, hasher } = out;
            if total != size {
                bail!("{total} bytes where {size} were expected");
            }
            let digest = hasher.finish();
            if let Some(expected) = expected {
                expected.check(&digest)?;
            }
            let path = self.store.blob_path(&digest);
            if path.exists() {
                fs::remove_file(&partial).with_context(|| format!("remove '{}'", partial.display()))?;
                return Ok(digest);
            }
            file.sync_all().with_context(|| format!("sync '{}'", partial.display()))?;
            fs::rename(&partial, &path).with_context(|| format!("rename '{}' into place", path.display()))?;
            self.added.push(path);
            Ok(digest)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&partial);
        }
        result
    }

    pub fn put_bytes(&mut self, bytes: &[u8]) -> anyhow::Result<Digest> {
        self.put(bytes, bytes.len() as u64, None)
    }

    /// Remove every blob this load added.
    pub fn undo(&self) {
        for path in &self.added {
            let _ = fs::remove_file(path);
        }
    }
}

/// A file that hashes what is written to it.
struct HashingWriter {
    file: File,
    hasher: Hasher,
}

impl Write for HashingWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.file.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The compression of a layer blob, from its media type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn of_media_type(media_type: &str) -> anyhow::Result<Compression> {
        Ok(match media_type {
            t if t.ends_with("+gzip") || t.ends_with(".tar.gzip") => Compression::Gzip,
            t if t.ends_with("+zstd") => Compression::Zstd,
            t if t.ends_with(".tar") || t.ends_with(".tar.v1") => Compression::None,
            other => bail!("unsupported layer type '{other}'"),
        })
    }

    /// From the first bytes of a stored blob (docker save names no type).
    pub fn sniff(store: &Store, blob: &Digest) -> anyhow::Result<Compression> {
        let path = store.blob_path(blob);
        let mut head = [0u8; 4];
        let mut file = File::open(&path).with_context(|| format!("open '{}'", path.display()))?;
        let n = file.read(&mut head).with_context(|| format!("read '{}'", path.display()))?;
        Ok(match &head[..n] {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
            _ => Compression::None,
        })
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// The digest of a stored layer's uncompressed tar (its diff_id), or None
/// for zstd, which imgunpack checks as it unpacks.
pub fn diff_id(store: &Store, blob: &Digest, compression: Compression) -> anyhow::Result<Option<Digest>> {
    let path = store.blob_path(blob);
    let open = || File::open(&path).map(BufReader::new).with_context(|| format!("open '{}'", path.display()));
    let mut tar: Box<dyn Read> = match compression {
        Compression::None => return Ok(Some(blob.clone())),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(open()?)),
        Compression::Zstd => return Ok(None),
    };
    let mut hasher = Hasher::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = tar.read(&mut buffer).context("decompress the layer")?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(Some(hasher.finish()))
}

/// Refuse a blob that is not a tar archive (a file given by mistake), by
/// reading every entry header: the same check the unpacker would fail later,
/// made before the image is named.
pub fn check_is_tar(store: &Store, blob: &Digest, compression: Compression) -> anyhow::Result<()> {
    let path = store.blob_path(blob);
    let file = File::open(&path).map(BufReader::new).with_context(|| format!("open '{}'", path.display()))?;
    let input: Box<dyn Read> = match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Compression::Zstd => bail!("a zstd layer cannot be checked here"),
    };
    let mut count = 0usize;
    for entry in tar::Archive::new(input).entries().context("not a tar archive")? {
        entry.context("not a tar archive")?;
        count += 1;
    }
    if count == 0 {
        bail!("not a tar archive: it holds no entry");
    }
    Ok(())
}
