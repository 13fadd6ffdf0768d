#!/usr/bin/env python3
"""Build test images by hand into an OCI image layout, for skopeo to push.

Usage: mkimage.py LAYOUT < RECIPE.json

A recipe is one JSON object:
  {"ref": "demo", "platform": {"os": "linux", "architecture": "amd64"},
   "config": {"Cmd": [...], "Env": [...], "WorkingDir": "/app", "User": "0"},
   "layers": [{"compress": "gzip"|"zstd"|"none",
               "dir": "/path/of/a/tree",            (optional: taken whole)
               "entries": [ENTRY, ...]}]}          (optional: exact tar entries)
or an index of images already in the layout:
  {"ref": "multi", "index": ["demo", "arm"]}

ENTRY: {"name": "a/b", "type": "file|dir|symlink|link|fifo|char|block",
        "data": "text", "from": "/host/file", "target": "t", "mode": 420,
        "uid": 0, "gid": 0, "major": 1, "minor": 1,
        "xattrs": {"user.x": "text", "security.capability": "0x0100..."}}.
"from" takes the data from a host file. An xattr value starting with 0x
is hex bytes; each becomes a SCHILY.xattr.NAME PAX record, as GNU tar and
Go's archive/tar write them. Names are written as given, `..` and
absolute ones included: that is what the hostile layers are for.
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}
TYPES = {
    "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
    "link": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "char": tarfile.CHRTYPE,
    "block": tarfile.BLKTYPE,
}


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def tar_layer(spec):
    out = io.BytesIO()
    # PAX: long names and big ids as the tar crate must read them.
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if "dir" in spec:
            tar.add(spec["dir"], arcname=".", recursive=True)
        for entry in spec.get("entries", []):
            info = tarfile.TarInfo(entry["name"])
            info.type = TYPES[entry.get("type", "file")]
            info.mode = entry.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
            info.uid, info.gid = entry.get("uid", 0), entry.get("gid", 0)
            info.mtime = 1700000000
            info.linkname = entry.get("target", "")
            info.devmajor, info.devminor = entry.get("major", 0), entry.get("minor", 0)
            if "from" in entry:
                with open(entry["from"], "rb") as f:
                    data = f.read()
            else:
                data = entry.get("data", "").encode()
            for name, value in entry.get("xattrs", {}).items():
                raw = bytes.fromhex(value[2:]) if value.startswith("0x") else value.encode()
                # tarfile writes a str that is not valid UTF-8 back as the
                # bytes it came from (hdrcharset=BINARY), as binary values need.
                info.pax_headers["SCHILY.xattr." + name] = raw.decode("utf-8", "surrogateescape")
            info.size = len(data) if info.type == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return out.getvalue()


def compress(data, how):
    if how == "gzip":
        return subprocess.run(["gzip", "-n", "-c"], input=data, capture_output=True, check=True).stdout
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    return data


def name_ref(layout, ref, descriptor):
    path = os.path.join(layout, "index.json")
    index = json.load(open(path)) if os.path.exists(path) else {"schemaVersion": 2, "manifests": []}
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != ref]
    descriptor = dict(descriptor, annotations={"org.opencontainers.image.ref.name": ref})
    index["manifests"].append(descriptor)
    with open(path, "w") as f:
        json.dump(index, f)


def find_ref(layout, ref):
    index = json.load(open(os.path.join(layout, "index.json")))
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            return m
    raise SystemExit(f"mkimage: no image '{ref}' in {layout}")


def image(layout, recipe):
    layers, diff_ids = [], []
    for spec in recipe["layers"]:
        tar = tar_layer(spec)
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
        how = spec.get("compress", "gzip")
        digest, size = blob(layout, compress(tar, how))
        layers.append({"mediaType": LAYER_TYPES[how], "digest": digest, "size": size})
    platform = recipe.get("platform", {"os": "linux", "architecture": "amd64"})
    config = dict(platform, config=recipe.get("config", {}), rootfs={"type": "layers", "diff_ids": diff_ids})
    digest, size = blob(layout, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": digest, "size": size}, "layers": layers}
    digest, size = blob(layout, json.dumps(manifest).encode())
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "platform": platform}


def index(layout, recipe):
    manifests = []
    for ref in recipe["index"]:
        m = dict(find_ref(layout, ref))
        m.pop("annotations", None)
        manifests.append(m)
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()
    digest, size = blob(layout, data)
    return {"mediaType": OCI_INDEX, "digest": digest, "size": size}


def main():
    layout = sys.argv[1]
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    recipe = json.load(sys.stdin)
    descriptor = index(layout, recipe) if "index" in recipe else image(layout, recipe)
    name_ref(layout, recipe["ref"], descriptor)


main()
