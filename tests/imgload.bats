#!/usr/bin/env bats
# imgload: docker-save and OCI archives (made by skopeo from a layout built
# by tests/images/mkimage.py) loaded into the store, unpacked by imgunpack
# and run by contain; corrupted and path-tricking archives refused with
# nothing left in the store.

load helpers

IMAGES="$ROOT/tests/images"
LAYOUT="$BATS_FILE_TMPDIR/layout"

setup_file() {
    "$ROOT/scripts/install-deps" >&2
    local rootfs="$BATS_FILE_TMPDIR/busybox"
    "$ROOT/scripts/mkrootfs" busybox "$rootfs"
    python3 "$IMAGES/mkimage.py" "$LAYOUT" <<JSON
{"ref": "demo", "config": {"Env": ["PATH=/bin"]},
 "layers": [{"compress": "gzip", "dir": "$rootfs"},
            {"compress": "none", "entries": [{"name": "etc/greeting", "data": "from the archive"}]}]}
JSON
    skopeo copy --quiet "oci:$LAYOUT:demo" "docker-archive:$BATS_FILE_TMPDIR/docker.tar:demo:1"
    skopeo copy --quiet "oci:$LAYOUT:demo" "oci-archive:$BATS_FILE_TMPDIR/oci.tar:localhost/demo:2"
}

setup() {
    STORE="$BATS_TEST_TMPDIR/store"
    export ISOKIT_IMAGES="$STORE"
}

# corrupt ARCHIVE MEMBER OUT: ARCHIVE with one byte of MEMBER's data
# changed (MEMBER: 'layer0' is manifest.json's first layer).
corrupt() {
    python3 - "$@" <<'PY'
import json, shutil, sys, tarfile
archive, member, out = sys.argv[1:]
with tarfile.open(archive) as tar:
    if member == "layer0":
        member = json.load(tar.extractfile("manifest.json"))[0]["Layers"][0]
    info = tar.getmember(member)
shutil.copy(archive, out)
with open(out, "r+b") as f:
    f.seek(info.offset_data + info.size // 2)
    byte = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([byte[0] ^ 0xff]))
PY
}

# The store holds no blob and names no image.
store_clean() {
    assert_equal "$(find "$STORE/blobs" -type f 2>/dev/null | wc -l)" 0 || return 1
    assert_equal "$(jq '.manifests | length' "$STORE/index.json" 2>/dev/null || echo 0)" 0
}

contain_image() {
    unshare --mount --uts --ipc --net --propagation private -- \
        env ISOKIT_STATE="$BATS_TEST_TMPDIR/state" "$ROOT/scripts/contain" "$@"
}

@test "a docker-save archive loads under its RepoTags, unpacks, and runs" {
    run -0 imgload "$BATS_FILE_TMPDIR/docker.tar"
    assert_equal "$(jq -r '.manifests[0].annotations."org.opencontainers.image.ref.name"' "$STORE/index.json")" \
        docker.io/library/demo:1 || return 1
    run -0 imgunpack demo:1
    assert_equal "$(cat "$output/etc/greeting")" "from the archive" || return 1
    [[ -x $output/bin/busybox ]] || fail "no busybox in the root" || return 1
    run -0 --separate-stderr contain_image --pull never demo:1 cat /etc/greeting
    assert_equal "$output" "from the archive"
}

@test "an OCI archive loads under its ref.name, or under --name" {
    run -0 imgload "$BATS_FILE_TMPDIR/oci.tar"
    run -0 imgunpack localhost/demo:2
    assert_equal "$(cat "$output/etc/greeting")" "from the archive" || return 1
    run -0 imgload --name localhost/other:3 "$BATS_FILE_TMPDIR/oci.tar"
    run -0 --separate-stderr contain_image --pull never localhost/other:3 cat /etc/greeting
    assert_equal "$output" "from the archive"
}

@test "a docker-save archive with a layer byte changed is refused, the store left clean" {
    corrupt "$BATS_FILE_TMPDIR/docker.tar" layer0 "$BATS_TEST_TMPDIR/bad.tar"
    run -125 --separate-stderr imgload "$BATS_TEST_TMPDIR/bad.tar"
    assert_equal "$(wc -l <<<"$stderr")" 1 || return 1
    [[ $stderr == "imgload: load '"*"diff_id"*"digest mismatch"* ]] || fail "unexpected error: $stderr" || return 1
    store_clean
}

@test "an OCI archive with a layer byte changed is refused, the store left clean" {
    local layer
    layer=$(skopeo inspect --raw "oci-archive:$BATS_FILE_TMPDIR/oci.tar" | jq -r '.layers[1].digest')
    corrupt "$BATS_FILE_TMPDIR/oci.tar" "blobs/sha256/${layer#sha256:}" "$BATS_TEST_TMPDIR/bad.tar"
    run -125 --separate-stderr imgload "$BATS_TEST_TMPDIR/bad.tar"
    assert_equal "$(wc -l <<<"$stderr")" 1 || return 1
    [[ $stderr == "imgload: load '"*"digest mismatch"* ]] || fail "unexpected error: $stderr" || return 1
    store_clean
}

@test "a manifest naming a file outside the archive is refused; only named files are read" {
    python3 - "$BATS_TEST_TMPDIR/tricky.tar" <<'PY'
import io, json, sys, tarfile
def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
with tarfile.open(sys.argv[1], "w") as tar:
    add(tar, "../layer.tar", b"x" * 1024)
    add(tar, "c.json", b'{"rootfs": {"diff_ids": ["sha256:' + b"0" * 64 + b'"]}}')
    add(tar, "manifest.json", json.dumps([{"Config": "c.json", "RepoTags": ["t:1"],
                                           "Layers": ["../layer.tar"]}]).encode())
PY
    run -125 --separate-stderr imgload "$BATS_TEST_TMPDIR/tricky.tar"
    assert_equal "$stderr" "imgload: load '$BATS_TEST_TMPDIR/tricky.tar': refusing '../layer.tar': a name in the archive's manifest must stay inside the archive" || return 1
    store_clean
}

@test "a file that is not an archive of an image is refused, the store left clean" {
    echo nothing >"$BATS_TEST_TMPDIR/empty"
    tar -C "$BATS_TEST_TMPDIR" -cf "$BATS_TEST_TMPDIR/none.tar" empty
    run -125 --separate-stderr imgload "$BATS_TEST_TMPDIR/none.tar"
    [[ $stderr == *"neither a docker save archive"* ]] || fail "unexpected error: $stderr" || return 1
    store_clean
}

@test "a root filesystem tar (docker export) becomes a one-layer image that runs" {
    local rootfs="$BATS_FILE_TMPDIR/busybox"
    tar -C "$rootfs" -czf "$BATS_TEST_TMPDIR/rootfs.tar.gz" . || return 1
    run -0 imgload --rootfs --name localhost/flat:1 "$BATS_TEST_TMPDIR/rootfs.tar.gz"
    local manifest
    manifest=$(jq -r '.manifests[0].digest' "$STORE/index.json" | cut -d: -f2) || return 1
    assert_equal "$(jq '.layers | length' "$STORE/blobs/sha256/$manifest")" 1 || return 1
    run -0 --separate-stderr contain_image --pull never localhost/flat:1 /bin/busybox readlink -f /proc/self/exe
    assert_equal "$output" /bin/busybox || return 1
    # The store is an OCI layout: skopeo exports the image as an archive
    # that imgload reads back.
    skopeo copy --quiet "oci:$STORE:localhost/flat:1" "oci-archive:$BATS_TEST_TMPDIR/out.tar:localhost/flat:2" || return 1
    run -0 imgload "$BATS_TEST_TMPDIR/out.tar"
    run -0 imgunpack localhost/flat:2
    [[ -x $output/bin/busybox ]] || fail "the exported image has no busybox"
}

@test "--rootfs without --name is a usage error; a file that is not a tar is refused, the store clean" {
    run -125 imgload --rootfs "$BATS_FILE_TMPDIR/docker.tar"
    [[ $output == *"needs --name"* ]] || fail "no reason given: $output" || return 1
    head -c 4096 /dev/urandom >"$BATS_TEST_TMPDIR/noise"
    run -125 imgload --rootfs --name localhost/noise:1 "$BATS_TEST_TMPDIR/noise"
    [[ $output == *"not a tar archive"* ]] || fail "no reason given: $output" || return 1
    store_clean
}
