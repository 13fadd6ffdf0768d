//! The two archive formats, each turned into one stored image:
//!
//! - `docker save` (and skopeo's docker-archive): manifest.json lists, per
//!   image, its config file, its layer files and its RepoTags. Files are
//!   named by path, not digest, so each is hashed here, its layers checked
//!   against the config's rootfs.diff_ids, and an OCI manifest written.
//! - oci-archive: a tar of an OCI image layout. index.json names the
//!   manifest by digest, the manifest its config and layers; each blob is
//!   read from blobs/sha256/HEX and must hash to its name.

use anyhow::{bail, Context};
use imgstore::{Digest, Store, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, REF_NAME};
use serde_json::{json, Value};

use crate::archive::Archive;
use crate::put::{self, Compression, Putter};

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

pub struct Loaded {
    pub name: String,
    pub manifest: Digest,
    pub layers: usize,
    pub format: &'static str,
}

/// Load the one image of `archive` into `store`, named `name` or by the
/// archive; on failure every blob it added is removed again.
pub fn load(store: &Store, archive: &Archive, name: Option<&str>) -> anyhow::Result<Loaded> {
    let mut putter = Putter::new(store);
    let _lock = store.lock()?;
    let result = if archive.has("manifest.json") {
        docker(&mut putter, archive, name)
    } else if archive.has("index.json") {
        oci(&mut putter, archive, name)
    } else {
        Err(anyhow::anyhow!("neither a docker save archive (no manifest.json) nor an OCI archive (no index.json)"))
    };
    if result.is_err() {
        putter.undo();
    }
    result
}

fn docker(putter: &mut Putter, archive: &Archive, name: Option<&str>) -> anyhow::Result<Loaded> {
    let manifests = archive.read_json("manifest.json")?;
    let image = the_one(manifests.as_array(), "manifest.json")?;
    let config_name = image.get("Config").and_then(Value::as_str).context("manifest.json names no Config")?;
    let config_bytes = archive.read_small(config_name)?;
    let config: Value = serde_json::from_slice(&config_bytes).with_context(|| format!("parse '{config_name}'"))?;
    let diff_ids = diff_ids(&config)?;
    let layer_names: Vec<&str> = image
        .get("Layers")
        .and_then(Value::as_array)
        .context("manifest.json has no Layers list")?
        .iter()
        .map(|l| l.as_str().context("manifest.json: a layer that is not a file name"))
        .collect::<anyhow::Result<_>>()?;
    if layer_names.len() != diff_ids.len() {
        bail!("manifest.json lists {} layers but the config {} diff_ids", layer_names.len(), diff_ids.len());
    }
    let mut layers = Vec::new();
    for (layer_name, diff_id) in layer_names.iter().zip(&diff_ids) {
        let (reader, size) = archive.reader(layer_name)?;
        let blob = putter.put(reader, size, None).with_context(|| format!("layer '{layer_name}'"))?;
        let compression = Compression::sniff(putter.store, &blob)?;
        check_diff_id(putter.store, &blob, compression, diff_id).with_context(|| format!("layer '{layer_name}'"))?;
        layers.push(json!({ "mediaType": compression.media_type(), "digest": blob.to_string(), "size": size }));
    }
    let layer_count = layers.len();
    let (digest, manifest_size) = put_manifest(putter, &config_bytes, layers)?;
    let tag = image.get("RepoTags").and_then(Value::as_array).and_then(|t| t.first()).and_then(Value::as_str);
    let name = full_name(name.or(tag), "RepoTags")?;
    putter.store.set_ref(&name, imgstore::descriptor(OCI_MANIFEST, &digest, manifest_size))?;
    Ok(Loaded { name, manifest: digest, layers: layer_count, format: "docker save" })
}

fn oci(putter: &mut Putter, archive: &Archive, name: Option<&str>) -> anyhow::Result<Loaded> {
    let index = archive.read_json("index.json")?;
    let entry = the_one(index.get("manifests").and_then(Value::as_array), "index.json")?;
    let (digest, size, media_type) = descriptor(entry).context("index.json")?;
    if media_type == OCI_INDEX {
        bail!("index.json names a multi-platform index: copy one platform (skopeo copy --override-arch) and load that");
    }
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        bail!("unsupported manifest type '{media_type}'");
    }
    let bytes = small_blob(archive, &digest, size).context("manifest")?;
    let manifest: Value = serde_json::from_slice(&bytes).context("parse the manifest")?;
    let (config_digest, config_size, _) =
        descriptor(manifest.get("config").unwrap_or(&Value::Null)).context("config")?;
    let config_bytes = small_blob(archive, &config_digest, config_size).context("config")?;
    let config: Value = serde_json::from_slice(&config_bytes).context("parse the config")?;
    let diff_ids = diff_ids(&config)?;
    let layers = manifest.get("layers").and_then(Value::as_array).context("the manifest has no layers list")?;
    if layers.len() != diff_ids.len() {
        bail!("the manifest has {} layers but the config {} diff_ids", layers.len(), diff_ids.len());
    }
    for (layer, diff_id) in layers.iter().zip(&diff_ids) {
        let (blob, size, media_type) = descriptor(layer).context("a layer")?;
        let compression = Compression::of_media_type(&media_type)?;
        let (reader, stored) = archive.reader(&blob_name(&blob))?;
        if stored != size {
            bail!("layer '{blob}' has {stored} bytes, its manifest says {size}");
        }
        putter.put(reader, size, Some(&blob)).with_context(|| format!("layer '{blob}'"))?;
        check_diff_id(putter.store, &blob, compression, diff_id).with_context(|| format!("layer '{blob}'"))?;
    }
    putter.put_bytes(&config_bytes)?;
    putter.put_bytes(&bytes)?;
    let annotation = entry.get("annotations").and_then(|a| a.get(REF_NAME)).and_then(Value::as_str);
    let name = full_name(name.or(annotation), REF_NAME)?;
    putter.store.set_ref(&name, imgstore::descriptor(&media_type, &digest, size))?;
    Ok(Loaded { name, manifest: digest, layers: layers.len(), format: "OCI" })
}

/// `docker import`: a tar of a root filesystem (plain or gzip, e.g. from
/// `docker export` or `tar -C dir -c .`) becomes an image of one layer,
/// with a config that has no command: the user gives it to `contain`.
pub fn rootfs(store: &Store, path: &std::path::Path, name: &str) -> anyhow::Result<Loaded> {
    let mut putter = Putter::new(store);
    let _lock = store.lock()?;
    let result = rootfs_layer(&mut putter, path, name);
    if result.is_err() {
        putter.undo();
    }
    result
}

fn rootfs_layer(putter: &mut Putter, path: &std::path::Path, name: &str) -> anyhow::Result<Loaded> {
    let name = full_name(Some(name), "--name")?;
    let file = std::fs::File::open(path).with_context(|| format!("open '{}'", path.display()))?;
    let size = file.metadata().with_context(|| format!("stat '{}'", path.display()))?.len();
    let blob = putter.put(std::io::BufReader::new(file), size, None)?;
    let compression = Compression::sniff(putter.store, &blob)?;
    // zstd has no diff_id here (imgunpack checks it while unpacking), and an
    // image config must name one.
    let Some(diff_id) = put::diff_id(putter.store, &blob, compression)? else {
        bail!("a zstd root filesystem cannot be imported: decompress it first (zstd -d)");
    };
    put::check_is_tar(putter.store, &blob, compression)?;
    let config = json!({
        "architecture": imgstore::host_architecture(),
        "os": "linux",
        "config": {},
        "rootfs": { "type": "layers", "diff_ids": [diff_id.to_string()] },
        "history": [{ "created_by": "imgload --rootfs" }],
    });
    let config_bytes = serde_json::to_vec(&config).context("encode the config")?;
    let layer = json!({ "mediaType": compression.media_type(), "digest": blob.to_string(), "size": size });
    let (digest, manifest_size) = put_manifest(putter, &config_bytes, vec![layer])?;
    putter.store.set_ref(&name, imgstore::descriptor(OCI_MANIFEST, &digest, manifest_size))?;
    Ok(Loaded { name, manifest: digest, layers: 1, format: "root filesystem" })
}

/// Store the config and an OCI manifest of it and `layers`; returns the
/// manifest's digest and size.
fn put_manifest(putter: &mut Putter, config_bytes: &[u8], layers: Vec<Value>) -> anyhow::Result<(Digest, u64)> {
    let config_digest = putter.put_bytes(config_bytes)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": OCI_CONFIG, "digest": config_digest.to_string(), "size": config_bytes.len() },
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&manifest).context("encode the manifest")?;
    let digest = putter.put_bytes(&bytes)?;
    Ok((digest, bytes.len() as u64))
}

/// The single element of a list: an archive of several images would need
/// a way to say which one, and none of this kit's callers has one.
fn the_one<'a>(list: Option<&'a Vec<Value>>, file: &str) -> anyhow::Result<&'a Value> {
    match list.map(Vec::as_slice) {
        Some([one]) => Ok(one),
        Some(many) => bail!("{file} lists {} images: imgload loads an archive of exactly one", many.len()),
        None => bail!("{file} holds no list of images"),
    }
}

fn descriptor(value: &Value) -> anyhow::Result<(Digest, u64, String)> {
    let digest = Digest::parse(value.get("digest").and_then(Value::as_str).unwrap_or(""))?;
    let size = value.get("size").and_then(Value::as_u64).with_context(|| format!("'{digest}' has no size"))?;
    let media_type = value.get("mediaType").and_then(Value::as_str).unwrap_or("").to_string();
    Ok((digest, size, media_type))
}

/// Digest::parse allows only hex, so this name cannot leave blobs/.
fn blob_name(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}

fn small_blob(archive: &Archive, digest: &Digest, size: u64) -> anyhow::Result<Vec<u8>> {
    let bytes = archive.read_small(&blob_name(digest))?;
    if bytes.len() as u64 != size {
        bail!("'{digest}' has {} bytes, its descriptor says {size}", bytes.len());
    }
    digest.verify(&bytes)?;
    Ok(bytes)
}

fn diff_ids(config: &Value) -> anyhow::Result<Vec<Digest>> {
    config
        .get("rootfs")
        .and_then(|r| r.get("diff_ids"))
        .and_then(Value::as_array)
        .context("the config has no rootfs.diff_ids")?
        .iter()
        .map(|d| Digest::parse(d.as_str().unwrap_or("")))
        .collect()
}

fn check_diff_id(store: &Store, blob: &Digest, compression: Compression, expected: &Digest) -> anyhow::Result<()> {
    match put::diff_id(store, blob, compression)? {
        Some(actual) => expected.check(&actual).context("uncompressed layer (diff_id)"),
        None => Ok(()),
    }
}

/// The store's name for the image, as imgpull and imgunpack spell it.
fn full_name(name: Option<&str>, source: &str) -> anyhow::Result<String> {
    let Some(name) = name else { bail!("the archive names no image (no {source}): give --name") };
    let reference = imgstore::Reference::parse(name).with_context(|| format!("name the image '{name}'"))?;
    Ok(reference.name())
}
