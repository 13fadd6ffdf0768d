//! The isokit image store, shared by `imgpull` (which fills it) and
//! `imgunpack` (which reads it).
//!
//! The store is one OCI image layout (image-spec `image-layout.md`):
//! `oci-layout`, `index.json` and `blobs/sha256/HEX`, so skopeo and umoci
//! read it as they read any layout (`oci:STORE:REF`). Each pulled image is
//! one entry of `index.json`: the descriptor of its platform manifest,
//! named by the annotation `org.opencontainers.image.ref.name` holding the
//! full reference (`docker.io/library/alpine:3.20`). Unpacked root
//! filesystems live beside it in `rootfs/HEX` (HEX: the manifest digest).
//!
//! A blob is only ever written under its digest after the bytes were hashed
//! and matched it, so whatever is in `blobs/` is what its name says.

#![forbid(unsafe_code)]

mod digest;
mod index;
pub mod reference;

use std::fs::{self, File};
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use nix::fcntl::{Flock, FlockArg};

pub use digest::{Digest, DigestMismatch, Hasher};
pub use index::{descriptor, entries};
pub use reference::Reference;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Manifests and configs are small; a bigger one is refused before it is
/// read whole into memory.
pub const SMALL_BLOB_LIMIT: u64 = 4 << 20;

/// Where the store is: `--store`, else `$ISOKIT_IMAGES`, else
/// `/var/lib/isokit/images` for root and `~/.local/share/isokit/images`
/// for anyone else.
pub fn default_dir(option: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = option {
        return dir;
    }
    if let Some(dir) = std::env::var_os("ISOKIT_IMAGES").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/isokit/images");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
    home.join(".local/share/isokit/images")
}

pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Open the store, making its layout on first use.
    pub fn create(dir: &Path) -> anyhow::Result<Store> {
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).with_context(|| format!("create the image store '{}'", blobs.display()))?;
        let layout = dir.join("oci-layout");
        if !layout.exists() {
            fs::write(&layout, "{\"imageLayoutVersion\":\"1.0.0\"}\n")
                .with_context(|| format!("write '{}'", layout.display()))?;
        }
        Ok(Store { dir: dir.to_path_buf() })
    }

    /// Open an existing store (or any OCI layout) for reading.
    pub fn open(dir: &Path) -> anyhow::Result<Store> {
        if !dir.join("oci-layout").is_file() {
            bail!("'{}' is not an image store (no oci-layout file): pull an image first", dir.display());
        }
        Ok(Store { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.hex())
    }

    /// Serialise writers of the store (two pulls updating index.json).
    pub fn lock(&self) -> anyhow::Result<Flock<File>> {
        let path = self.dir.join(".lock");
        let file = File::options()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("open '{}'", path.display()))?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| errno)
            .with_context(|| format!("lock '{}'", path.display()))
    }

    /// A small blob (manifest, config), read whole and checked against its
    /// digest again: the store may have been edited since it was written.
    pub fn read_small(&self, digest: &Digest) -> anyhow::Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let file = File::open(&path).with_context(|| format!("open blob '{}'", path.display()))?;
        let mut bytes = Vec::new();
        file.take(SMALL_BLOB_LIMIT + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("read blob '{}'", path.display()))?;
        if bytes.len() as u64 > SMALL_BLOB_LIMIT {
            bail!("blob '{digest}' is larger than {SMALL_BLOB_LIMIT} bytes: refusing it as a manifest or config");
        }
        digest.verify(&bytes)?;
        Ok(bytes)
    }

    /// A small blob parsed as JSON.
    pub fn read_json(&self, digest: &Digest) -> anyhow::Result<serde_json::Value> {
        let bytes = self.read_small(digest)?;
        serde_json::from_slice(&bytes).with_context(|| format!("parse blob '{digest}' as JSON"))
    }

    /// The manifest digest stored for a reference.
    pub fn lookup(&self, reference: &str) -> anyhow::Result<Digest> {
        let index = self.read_index()?;
        match index::find(&index, reference) {
            Some(found) => Digest::parse(found),
            None => bail!("image '{reference}' is not in the store '{}' (pull it first)", self.dir.display()),
        }
    }

    pub fn read_index(&self) -> anyhow::Result<serde_json::Value> {
        let path = self.dir.join("index.json");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("parse '{}'", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(index::empty()),
            Err(err) => Err(err).with_context(|| format!("read '{}'", path.display())),
        }
    }

    /// Name `descriptor` `reference` in index.json (replacing an older
    /// entry of that name), written aside and renamed so a reader never
    /// sees half a file. Hold `lock()` around it.
    pub fn set_ref(&self, reference: &str, descriptor: serde_json::Value) -> anyhow::Result<()> {
        let mut index = self.read_index()?;
        index::replace(&mut index, reference, Some(descriptor))?;
        self.write_index(&index)
    }

    /// Drop the entry named `reference`; true when there was one.
    pub fn remove_ref(&self, reference: &str) -> anyhow::Result<bool> {
        let mut index = self.read_index()?;
        let found = index::replace(&mut index, reference, None)?;
        self.write_index(&index)?;
        Ok(found)
    }

    fn write_index(&self, index: &serde_json::Value) -> anyhow::Result<()> {
        let path = self.dir.join("index.json");
        let new = self.dir.join(format!(".index.json.{}", std::process::id()));
        let text = serde_json::to_vec_pretty(index).context("encode index.json")?;
        write_synced(&new, &text)?;
        fs::rename(&new, &path).with_context(|| format!("rename '{}' into place", path.display()))
    }
}

/// Write a file and flush it to disk before it is renamed into place.
pub fn write_synced(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let result = (|| {
        let mut file = File::create(path)?;
        std::io::Write::write_all(&mut file, bytes)?;
        nix::unistd::fsync(file.as_fd())?;
        Ok::<(), anyhow::Error>(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(path);
    }
    result.with_context(|| format!("write '{}'", path.display()))
}

/// GOARCH names, as images use them.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}
