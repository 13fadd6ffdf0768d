//! Layers of a stored image, read through two hashes (the blob's digest
//! from the manifest, the uncompressed tar's diff_id from the config) and
//! applied in order.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::OwnedFd;

use anyhow::{bail, Context};
use imgstore::{Digest, Hasher, Store};
use serde_json::Value;

use crate::layer::{self, Options, Report};

/// A layer to apply: its blob, compression and uncompressed digest.
pub struct Layer {
    pub blob: Digest,
    pub media_type: String,
    pub diff_id: Digest,
}

/// The layers of manifest `digest`, paired with the config's diff_ids.
pub fn layers(store: &Store, digest: &Digest) -> anyhow::Result<Vec<Layer>> {
    let manifest = store.read_json(digest)?;
    let config = manifest
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(Value::as_str)
        .context("the manifest has no config")?;
    let config = store.read_json(&Digest::parse(config)?)?;
    let diff_ids = config
        .get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(Value::as_array)
        .context("the config has no rootfs.diff_ids")?;
    let layers = manifest.get("layers").and_then(Value::as_array).context("the manifest has no layers")?;
    if diff_ids.len() != layers.len() {
        bail!("the manifest has {} layers but the config {} diff_ids", layers.len(), diff_ids.len());
    }
    layers
        .iter()
        .zip(diff_ids)
        .map(|(layer, diff_id)| {
            Ok(Layer {
                blob: Digest::parse(layer.get("digest").and_then(Value::as_str).unwrap_or(""))?,
                media_type: layer.get("mediaType").and_then(Value::as_str).unwrap_or("").to_string(),
                diff_id: Digest::parse(diff_id.as_str().unwrap_or(""))?,
            })
        })
        .collect()
}

/// Apply `layer` onto `root`; both digests are checked at the end of the
/// stream, and a mismatch fails the unpack (whose directory is then
/// thrown away, so nothing from a wrong blob is ever used).
pub fn apply(
    store: &Store,
    root: &OwnedFd,
    layer: &Layer,
    options: &Options,
    report: &mut Report,
) -> anyhow::Result<()> {
    let path = store.blob_path(&layer.blob);
    let file = File::open(&path).with_context(|| format!("open layer '{}'", path.display()))?;
    let mut compressed = Hashing::new(BufReader::with_capacity(128 * 1024, file));
    let mut tar = Hashing::new(decompressor(&layer.media_type, &mut compressed)?);
    layer::apply(root, &mut tar, options, report)?;
    // Past the tar's end-of-archive blocks: the rest counts in the digests.
    io::copy(&mut tar, &mut io::sink()).context("read the layer to its end")?;
    let diff_id = tar.finish();
    io::copy(&mut compressed, &mut io::sink()).context("read the layer to its end")?;
    layer.blob.check(&compressed.finish()).context("layer blob")?;
    layer.diff_id.check(&diff_id).context("uncompressed layer (diff_id)")
}

fn decompressor<'a>(media_type: &str, input: &'a mut impl Read) -> anyhow::Result<Box<dyn Read + 'a>> {
    Ok(match media_type {
        t if t.ends_with("+gzip") || t.ends_with(".tar.gzip") => Box::new(flate2::read::MultiGzDecoder::new(input)),
        t if t.ends_with("+zstd") => {
            Box::new(ruzstd::decoding::StreamingDecoder::new(input).context("read the zstd layer")?)
        }
        t if t.ends_with(".tar") || t.ends_with(".tar.v1") => Box::new(input),
        other => bail!("unsupported layer type '{other}'"),
    })
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing { inner, hasher: Hasher::new() }
    }

    fn finish(self) -> Digest {
        self.hasher.finish()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..n]);
        Ok(n)
    }
}
