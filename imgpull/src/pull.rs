//! One pull: manifest (through the index when there is one), config and
//! layers into the store, each blob hashed as it arrives and renamed under
//! its digest only when the hash and size match what the manifest says.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use imgstore::{
    Digest, DigestMismatch, Hasher, Store, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, SMALL_BLOB_LIMIT,
};
use serde_json::Value;

use crate::platform::{self, Platform};
use crate::registry::Registry;
use imgstore::Reference;

const ACCEPT_ANY: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Layer types the unpacker reads (plain, gzip, zstd tarballs).
const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
];

pub struct Pulled {
    pub manifest: Digest,
    pub fetched: usize,
    pub present: usize,
}

pub fn pull(
    store: &Store,
    registry: &mut Registry,
    reference: &Reference,
    platform: &Platform,
) -> anyhow::Result<Pulled> {
    let mut added: Vec<PathBuf> = Vec::new();
    let result = pull_into(store, registry, reference, platform, &mut added);
    // A blob that is not what its digest says condemns the whole pull: the
    // blobs it brought (verified, but of an image the registry serves
    // corrupted) go too, so a failed pull leaves the store as it was. Other
    // failures (network) keep them: the next pull resumes from there.
    if let Err(err) = &result {
        if err.downcast_ref::<DigestMismatch>().is_some() {
            for path in &added {
                let _ = fs::remove_file(path);
            }
        }
    }
    result
}

fn pull_into(
    store: &Store,
    registry: &mut Registry,
    reference: &Reference,
    platform: &Platform,
    added: &mut Vec<PathBuf>,
) -> anyhow::Result<Pulled> {
    let (mut media_type, mut bytes) = fetch_manifest(registry, &reference.manifest_ref())?;
    let mut digest = Digest::of(&bytes);
    if let Some(wanted) = &reference.digest {
        wanted.check(&digest).context("manifest")?;
    }
    if media_type == OCI_INDEX || media_type == DOCKER_LIST {
        let index: Value = serde_json::from_slice(&bytes).context("parse the image index")?;
        let chosen = platform::choose(&index, platform)?;
        let wanted = Digest::parse(chosen.get("digest").and_then(Value::as_str).unwrap_or(""))?;
        (media_type, bytes) = fetch_manifest(registry, &wanted.to_string())?;
        digest = Digest::of(&bytes);
        wanted.check(&digest).context("platform manifest")?;
    }
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        bail!("unsupported manifest type '{media_type}' (schema 1 and other artifacts are not images this kit runs)");
    }
    let manifest: Value = serde_json::from_slice(&bytes).context("parse the manifest")?;
    let config = blob_descriptor(manifest.get("config")).context("the manifest's config")?;
    let layers = manifest.get("layers").and_then(Value::as_array).context("the manifest has no layers list")?;
    let mut blobs = vec![config];
    for layer in layers {
        let (digest, size, layer_type) = blob_descriptor(Some(layer))?;
        if !LAYER_TYPES.contains(&layer_type.as_str()) {
            bail!("layer '{digest}' has unsupported type '{layer_type}'");
        }
        blobs.push((digest, size, layer_type));
    }

    let _lock = store.lock()?;
    let (mut fetched, mut present) = (0, 0);
    for (blob, size, _) in &blobs {
        if store.blob_path(blob).exists() {
            present += 1;
            continue;
        }
        fetch_blob(store, registry, blob, *size)?;
        added.push(store.blob_path(blob));
        fetched += 1;
    }
    let path = store.blob_path(&digest);
    if !path.exists() {
        let partial = partial_path(store, &digest);
        imgstore::write_synced(&partial, &bytes)?;
        fs::rename(&partial, &path).with_context(|| format!("rename '{}' into place", path.display()))?;
    }
    store.set_ref(&reference.name(), imgstore::descriptor(&media_type, &digest, bytes.len() as u64))?;
    Ok(Pulled { manifest: digest, fetched, present })
}

/// (digest, size, mediaType) of a descriptor.
fn blob_descriptor(descriptor: Option<&Value>) -> anyhow::Result<(Digest, u64, String)> {
    let descriptor = descriptor.context("missing descriptor")?;
    let digest = Digest::parse(descriptor.get("digest").and_then(Value::as_str).unwrap_or(""))?;
    let size = descriptor
        .get("size")
        .and_then(Value::as_u64)
        .with_context(|| format!("descriptor of '{digest}' has no size"))?;
    let media_type = descriptor.get("mediaType").and_then(Value::as_str).unwrap_or("").to_string();
    Ok((digest, size, media_type))
}

/// A manifest or index and its media type (the Content-Type, else the
/// document's own mediaType field).
fn fetch_manifest(registry: &mut Registry, reference: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let mut response = registry.get("manifests", reference, ACCEPT_ANY)?;
    let header = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let header = header.split(';').next().unwrap_or("").trim().to_string();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(SMALL_BLOB_LIMIT)
        .read_to_vec()
        .map_err(|err| anyhow!("{err}"))
        .with_context(|| format!("read manifest '{reference}'"))?;
    let json: Value = serde_json::from_slice(&bytes).with_context(|| format!("parse manifest '{reference}'"))?;
    let own = json.get("mediaType").and_then(Value::as_str).unwrap_or("").to_string();
    let media_type = if header.is_empty() || header == "application/json" { own } else { header };
    Ok((media_type, bytes))
}

fn partial_path(store: &Store, digest: &Digest) -> PathBuf {
    store.blob_path(digest).with_file_name(format!(".{}.{}.partial", digest.hex(), std::process::id()))
}

/// Stream a blob into `.HEX.PID.partial`, hashing it; rename it under its
/// digest only if it has the declared size and hash. Otherwise it is
/// removed, and the error says why.
fn fetch_blob(store: &Store, registry: &mut Registry, digest: &Digest, size: u64) -> anyhow::Result<()> {
    let partial = partial_path(store, digest);
    let result = (|| {
        let mut response = registry.get("blobs", &digest.to_string(), "*/*")?;
        // One byte more than declared is enough to know it is wrong.
        let mut body = response.body_mut().with_config().limit(size + 1).reader();
        let mut file = File::options()
            .write(true)
            .create_new(true)
            .open(&partial)
            .with_context(|| format!("create '{}'", partial.display()))?;
        let mut hasher = Hasher::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = body.read(&mut buffer).with_context(|| format!("download blob '{digest}'"))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > size {
                bail!("blob '{digest}' is larger than the {size} bytes its manifest says: refusing it");
            }
            hasher.update(&buffer[..n]);
            file.write_all(&buffer[..n]).with_context(|| format!("write '{}'", partial.display()))?;
        }
        if total != size {
            bail!("blob '{digest}' has {total} bytes, its manifest says {size}: refusing it");
        }
        digest.check(&hasher.finish()).with_context(|| format!("blob '{digest}'"))?;
        file.sync_all().with_context(|| format!("sync '{}'", partial.display()))?;
        let path = store.blob_path(digest);
        fs::rename(&partial, &path).with_context(|| format!("rename '{}' into place", path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}
