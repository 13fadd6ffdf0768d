#!/usr/bin/env bats
# Images: a real registry (Debian's docker-registry) on loopback, images
# built by hand (tests/images/mkimage.py) and pushed with skopeo, pulled
# with imgpull and unpacked with imgunpack. Nothing leaves loopback.

load helpers

IMAGES="$BATS_TEST_DIRNAME/images"
LAYOUT="$BATS_FILE_TMPDIR/layout"
# Host files the hostile layers aim at: none may change.
OUTSIDE="$BATS_FILE_TMPDIR/outside"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something listens on it.
wait_port() {
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null
}

start_registry() {
    REGISTRY_PORT=$(free_port)
    REGISTRY_DATA="$BATS_FILE_TMPDIR/registry-data"
    mkdir -p "$REGISTRY_DATA"
    registry_config "127.0.0.1:$REGISTRY_PORT" >"$BATS_FILE_TMPDIR/registry.yml"
    docker-registry serve "$BATS_FILE_TMPDIR/registry.yml" >"$BATS_FILE_TMPDIR/registry.log" 2>&1 &
    echo $! >"$BATS_FILE_TMPDIR/registry.pid"
    wait_for wait_port "$REGISTRY_PORT"
}

# registry_config ADDR [TLS]: a config for the registry on ADDR, serving
# the suite's storage, over TLS with the suite's certificate if asked.
registry_config() {
    cat <<CONFIG
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DATA
http:
  addr: $1
CONFIG
    if [[ -n ${2:-} ]]; then
        printf '  tls:\n    certificate: %s\n    key: %s\n' "$BATS_FILE_TMPDIR/cert.pem" "$BATS_FILE_TMPDIR/key.pem"
    fi
}

# The same storage served over TLS with a self-signed certificate.
start_tls_registry() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=isokit-test \
        -addext subjectAltName=IP:127.0.0.1,IP:192.0.2.10 \
        -keyout "$BATS_FILE_TMPDIR/key.pem" -out "$BATS_FILE_TMPDIR/cert.pem" 2>/dev/null
    TLS_PORT=$(free_port)
    registry_config "127.0.0.1:$TLS_PORT" tls >"$BATS_FILE_TMPDIR/registry-tls.yml"
    docker-registry serve "$BATS_FILE_TMPDIR/registry-tls.yml" >"$BATS_FILE_TMPDIR/registry-tls.log" 2>&1 &
    echo $! >"$BATS_FILE_TMPDIR/registry-tls.pid"
    wait_for wait_port "$TLS_PORT"
}

start_token_front() {
    FRONT_PORT=$(free_port)
    python3 "$IMAGES/tokenfront.py" "$FRONT_PORT" "http://127.0.0.1:$REGISTRY_PORT" tester:s3cret "$BATS_FILE_TMPDIR/front.log" &
    echo $! >"$BATS_FILE_TMPDIR/front.pid"
    wait_for wait_port "$FRONT_PORT"
    ANON_FRONT_PORT=$(free_port)
    python3 "$IMAGES/tokenfront.py" "$ANON_FRONT_PORT" "http://127.0.0.1:$REGISTRY_PORT" - "$BATS_FILE_TMPDIR/anon-front.log" &
    echo $! >"$BATS_FILE_TMPDIR/anon-front.pid"
    wait_for wait_port "$ANON_FRONT_PORT"
}

# recipe REF: build one image into the layout from the JSON on stdin.
recipe() {
    python3 "$IMAGES/mkimage.py" "$LAYOUT"
}

push() {
    skopeo copy --quiet --all --dest-tls-verify=false "oci:$LAYOUT:$1" "docker://127.0.0.1:$REGISTRY_PORT/$2"
}

# The demo image: busybox, then a zstd layer that deletes etc/motd, makes
# data/ opaque (old files gone, its own new one kept) and adds /app.
build_demo() {
    local rootfs="$BATS_FILE_TMPDIR/busybox"
    "$ROOT/scripts/mkrootfs" busybox "$rootfs"
    echo "welcome" >"$rootfs/etc/motd"
    mkdir -p "$rootfs/data"
    echo old >"$rootfs/data/old1"
    echo old >"$rootfs/data/old2"
    local long
    long="deep/$(printf 'n%.0s' {1..120})/$(printf 'm%.0s' {1..120})"
    recipe <<JSON
{"ref": "demo",
 "config": {"Cmd": ["sh", "-c", "echo \$GREETING from \$(pwd)"], "Env": ["PATH=/bin:/usr/bin", "GREETING=hello it's me"],
            "WorkingDir": "/app", "User": "1234", "StopSignal": "SIGINT", "ExposedPorts": {"80/tcp": {}}},
 "layers": [
  {"compress": "gzip", "dir": "$rootfs", "entries": [
     {"name": "bin/su-test", "data": "x", "mode": 2541, "uid": 1234, "gid": 99},
     {"name": "$long", "data": "long name"},
     {"name": "bin/hard-sh", "type": "link", "target": "bin/busybox"}]},
  {"compress": "zstd", "entries": [
     {"name": "etc/.wh.motd"},
     {"name": "data/new", "data": "new"},
     {"name": "data/.wh..wh..opq"},
     {"name": "etc/arch", "data": "amd64"},
     {"name": "app", "type": "dir"}]}]}
JSON
    recipe <<JSON
{"ref": "arm", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
 "layers": [{"compress": "none", "entries": [{"name": "etc/arch", "data": "arm64"}]}]}
JSON
    recipe <<<'{"ref": "multi", "index": ["demo", "arm"]}'
    push demo demo:1
    push multi multi:1
}

# Hostile images, each named hostile:NAME.
build_hostile() {
    recipe <<JSON
{"ref": "traversal", "layers": [{"entries": [{"name": "../../../../../../../..$OUTSIDE/pwned", "data": "x"}]}]}
JSON
    recipe <<JSON
{"ref": "absolute", "layers": [{"entries": [{"name": "$OUTSIDE/pwned", "data": "x"}]}]}
JSON
    recipe <<JSON
{"ref": "symlink", "layers": [
  {"entries": [{"name": "$OUTSIDE/keep", "data": "inside"},
               {"name": "escape", "type": "symlink", "target": "$OUTSIDE"},
               {"name": "up", "type": "symlink", "target": "../../../../../../../../..$OUTSIDE"},
               {"name": "victim", "type": "symlink", "target": "$OUTSIDE/victim"}]},
  {"entries": [{"name": "escape/pwned1", "data": "x"},
               {"name": "up/pwned2", "data": "x"},
               {"name": "victim", "data": "overwritten"}]}]}
JSON
    recipe <<JSON
{"ref": "hardlink", "layers": [{"entries": [{"name": "stolen", "type": "link", "target": "$OUTSIDE/secret"}]}]}
JSON
    recipe <<JSON
{"ref": "hardlink-up", "layers": [{"entries": [{"name": "stolen", "type": "link", "target": "../../../../../../..$OUTSIDE/secret"}]}]}
JSON
    recipe <<JSON
{"ref": "whiteout", "layers": [{"entries": [{"name": "etc/x", "data": "x"}, {"name": "etc/.wh..."}]}]}
JSON
    recipe <<JSON
{"ref": "device", "layers": [{"entries": [{"name": "dev/mem", "type": "char", "major": 1, "minor": 1, "mode": 438}]}]}
JSON
    recipe <<JSON
{"ref": "xattr-symlink", "layers": [{"entries": [
  {"name": "link", "type": "symlink", "target": "$OUTSIDE/secret",
   "xattrs": {"user.pwned": "x", "security.capability": "$NET_RAW_CAP"}},
  {"name": "dir-link", "type": "symlink", "target": "$OUTSIDE"},
  {"name": "dir-link", "type": "dir", "xattrs": {"user.pwned": "x"}}]}]}
JSON
    local name
    for name in traversal absolute symlink hardlink hardlink-up whiteout device xattr-symlink; do
        push "$name" "hostile:$name"
    done
}

# cap_net_raw+ep as security.capability holds it: struct vfs_cap_data
# revision 2 with the effective flag, then permitted bit 13 (CAP_NET_RAW).
NET_RAW_CAP=0x0100000200200000000000000000000000000000

# Extended attributes in PAX records, and owners outside a 65536-id
# range: a copy of busybox with cap_net_raw+ep (as Debian's iputils
# ping), user.* to keep, the host's and overlayfs's own to leave out
# (trusted.overlay.whiteout in a directory marked opaque "x" is an
# overlayfs whiteout since Linux 6.7: honoured, it would hide ovl/gone).
build_xattrs() {
    recipe <<JSON
{"ref": "xattrs", "layers": [
  {"dir": "$BATS_FILE_TMPDIR/busybox", "entries": [
     {"name": "ovl", "type": "dir"},
     {"name": "ovl/lower", "data": "from below"},
     {"name": "tagged", "type": "dir", "xattrs": {"user.old": "gone later"}}]},
  {"entries": [
     {"name": "opt/cap/busybox", "from": "$(command -v busybox)", "mode": 493,
      "xattrs": {"security.capability": "$NET_RAW_CAP"}},
     {"name": "etc/note", "data": "n", "uid": 1234, "gid": 99, "mode": 2541,
      "xattrs": {"user.origin": "isokit test", "trusted.md5": "x",
                 "security.selinux": "system_u:object_r:etc_t:s0", "system.posix_acl_access": "0x02000000"}},
     {"name": "tagged", "type": "dir", "xattrs": {"user.new": "kept"}},
     {"name": "ovl", "type": "dir", "xattrs": {"trusted.overlay.opaque": "x", "user.overlay.opaque": "x"}},
     {"name": "ovl/gone", "xattrs": {"trusted.overlay.whiteout": "y", "user.overlay.whiteout": "y"}},
     {"name": "far", "data": "f", "uid": 70000, "gid": 70001, "mode": 2541}]}]}
JSON
    push xattrs xattrs:1
}

# A small image whose only layer the corruption test edits in the registry.
build_bad() {
    recipe <<JSON
{"ref": "bad", "layers": [{"entries": [{"name": "unique", "data": "$BATS_ROOT_PID $(date +%s%N)"}]}]}
JSON
    push bad bad:1
}

setup_file() {
    "$ROOT/scripts/install-deps" >&2
    mkdir -p "$OUTSIDE"
    echo secret >"$OUTSIDE/secret"
    echo original >"$OUTSIDE/victim"
    start_registry
    start_tls_registry
    start_token_front
    build_demo
    build_hostile
    build_bad
    build_xattrs
    export REGISTRY_PORT TLS_PORT FRONT_PORT ANON_FRONT_PORT REGISTRY_DATA
}

teardown_file() {
    local pidfile
    for pidfile in "$BATS_FILE_TMPDIR"/{front,anon-front,registry,registry-tls}.pid; do
        [[ -f $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    return 0
}

teardown() {
    if [[ -f $BATS_TEST_TMPDIR/sleeper.pid ]]; then
        kill "$(cat "$BATS_TEST_TMPDIR/sleeper.pid")" 2>/dev/null || true
    fi
}

setup() {
    STORE="$BATS_TEST_TMPDIR/store"
    export ISOKIT_IMAGES="$STORE"
}

# The host side of the hostile tests: exactly the files setup_file made.
outside_untouched() {
    assert_equal "$(cd "$OUTSIDE" && find . -mindepth 1 | sort | tr '\n' ' ')" "./secret ./victim " || return 1
    assert_equal "$(cat "$OUTSIDE/secret")" "secret" || return 1
    assert_equal "$(cat "$OUTSIDE/victim")" "original" || return 1
    assert_equal "$(stat -c %h "$OUTSIDE/secret")" "1"
}

# No root filesystem and no half-made one in the store.
no_rootfs() {
    assert_equal "$(find "$STORE/rootfs" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)" 0
}

@test "pull and unpack: whiteout applied, opaque directory emptied, config kept" {
    run -0 imgpull "127.0.0.1:$REGISTRY_PORT/demo:1"
    run -0 imgunpack "127.0.0.1:$REGISTRY_PORT/demo:1"
    root=$output
    [[ $root == "$STORE/rootfs/"* ]] || fail "rootfs at '$root'"
    [[ -x $root/bin/busybox ]] || fail "no busybox"
    [[ ! -e $root/etc/motd ]] || fail "the whiteout did not delete etc/motd"
    assert_equal "$(ls -A "$root/data" | tr '\n' ' ')" "new "
    assert_equal "$(cat "$root/etc/arch")" amd64
    [[ -d $root/app ]] || fail "no /app"
    # Hard link kept as one inode; long PAX name kept whole.
    assert_equal "$(stat -c %i "$root/bin/hard-sh")" "$(stat -c %i "$root/bin/busybox")"
    assert_equal "$(cat "$root"/deep/n*/m*)" "long name"
    # setuid kept when unpacking as root, owner as stored (mode 2541 is 0o4755).
    assert_equal "$(stat -c '%a %u %g' "$root/bin/su-test")" "4755 1234 99"
    eval "$(imgpull --print-config "127.0.0.1:$REGISTRY_PORT/demo:1")"
    assert_equal "${IMAGE_CMD[*]}" 'sh -c echo $GREETING from $(pwd)'
    assert_equal "${IMAGE_ENV[1]}" "GREETING=hello it's me"
    assert_equal "$IMAGE_WORKDIR $IMAGE_USER $IMAGE_STOPSIGNAL ${IMAGE_EXPOSED_PORTS[*]}" "/app 1234 SIGINT 80/tcp"
    assert_equal "${#IMAGE_ENTRYPOINT[@]}" 0
}

@test "the unpacked image runs its own Cmd with its Env in its WorkingDir" {
    run -0 imgpull "127.0.0.1:$REGISTRY_PORT/demo:1"
    run -0 imgunpack "127.0.0.1:$REGISTRY_PORT/demo:1"
    root=$output
    eval "$(imgpull --print-config "127.0.0.1:$REGISTRY_PORT/demo:1")"
    run -0 env -i "${IMAGE_ENV[@]}" "$(command -v chroot)" --userspec "$IMAGE_USER:$IMAGE_USER" "$root" sh -c 'cd "$1" && shift && exec "$@"' - "$IMAGE_WORKDIR" "${IMAGE_CMD[@]}"
    assert_equal "$output" "hello it's me from /app"
}

@test "localhost names the same registry; a second pull fetches nothing" {
    run -0 imgpull "localhost:$REGISTRY_PORT/demo:1"
    ISOKIT_TRACE=1 run -0 --separate-stderr imgpull "localhost:$REGISTRY_PORT/demo:1"
    [[ $stderr == *"0 blobs fetched, 3 already present"* ]] || fail "$stderr"
    run -0 imgunpack "localhost:$REGISTRY_PORT/demo:1"
    [[ ! -e $output/etc/motd ]]
}

@test "a multi-platform index gives this machine's image, or the one asked for" {
    run -0 imgpull "127.0.0.1:$REGISTRY_PORT/multi:1"
    run -0 imgunpack "127.0.0.1:$REGISTRY_PORT/multi:1"
    assert_equal "$(cat "$output/etc/arch")" amd64
    run -0 imgpull --store "$STORE-arm" --platform linux/arm64 "127.0.0.1:$REGISTRY_PORT/multi:1"
    run -0 imgunpack --store "$STORE-arm" "127.0.0.1:$REGISTRY_PORT/multi:1"
    assert_equal "$(cat "$output/etc/arch")" arm64
    run -125 imgpull --platform linux/s390x "127.0.0.1:$REGISTRY_PORT/multi:1"
    [[ $output == *"no manifest for platform linux/s390x in the index (it has: linux/amd64, linux/arm64/v8)"* ]] || fail "$output"
}

@test "a corrupted blob is refused and nothing is left in the store" {
    local layer data
    layer=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$REGISTRY_PORT/bad:1" | jq -r '.layers[0].digest')
    data="$REGISTRY_DATA/docker/registry/v2/blobs/sha256/${layer:7:2}/${layer#sha256:}/data"
    [[ -f $data ]] || fail "no blob at $data"
    # Same size, one byte changed: only the digest can tell.
    printf 'X' | dd of="$data" bs=1 seek=20 conv=notrunc status=none
    run -125 imgpull "127.0.0.1:$REGISTRY_PORT/bad:1"
    [[ $output == "imgpull: pull '127.0.0.1:$REGISTRY_PORT/bad:1': blob '$layer': digest mismatch: expected $layer, got sha256:"*": refusing the data" ]] || fail "$output"
    assert_equal "$(find "$STORE/blobs" -type f | wc -l)" 0
    assert_equal "$(jq '.manifests | length' "$STORE/index.json" 2>/dev/null || echo 0)" 0
    run -125 imgunpack "127.0.0.1:$REGISTRY_PORT/bad:1"
}

@test "Bearer tokens through the token front, with the credentials file" {
    local ref="127.0.0.1:$FRONT_PORT/demo:1"
    echo '{}' >"$BATS_TEST_TMPDIR/none.json"
    run -125 imgpull --auth-file "$BATS_TEST_TMPDIR/none.json" "$ref"
    [[ $output == *"/token?scope=repository%3Ademo%3Apull&service=isokit-test': HTTP 401: bad credentials" ]] || fail "$output"
    printf '{"auths": {"127.0.0.1:%s": {"auth": "%s"}}}' "$FRONT_PORT" "$(printf tester:s3cret | base64)" >"$BATS_TEST_TMPDIR/auth.json"
    : >"$BATS_FILE_TMPDIR/front.log"
    run -0 imgpull --auth-file "$BATS_TEST_TMPDIR/auth.json" "$ref"
    grep -qx 'token scope=repository:demo:pull service=isokit-test auth=ok' "$BATS_FILE_TMPDIR/front.log" || fail "$(cat "$BATS_FILE_TMPDIR/front.log")"
    grep -qx "pass /v2/demo/manifests/1" "$BATS_FILE_TMPDIR/front.log" || fail "$(cat "$BATS_FILE_TMPDIR/front.log")"
    run -0 imgunpack "$ref"
    [[ ! -e $output/etc/motd ]]
}

@test "anonymous Bearer tokens, as Docker Hub gives for public images" {
    echo '{}' >"$BATS_TEST_TMPDIR/none.json"
    run -0 imgpull --auth-file "$BATS_TEST_TMPDIR/none.json" "127.0.0.1:$ANON_FRONT_PORT/demo:1"
    grep -qx 'token scope=repository:demo:pull service=isokit-test auth=ok' "$BATS_FILE_TMPDIR/anon-front.log" || fail "$(cat "$BATS_FILE_TMPDIR/anon-front.log")"
    grep -q "^pass /v2/demo/blobs/" "$BATS_FILE_TMPDIR/anon-front.log" || fail "$(cat "$BATS_FILE_TMPDIR/anon-front.log")"
    run -0 imgunpack "127.0.0.1:$ANON_FRONT_PORT/demo:1"
}

@test "HTTPS: a loopback registry unverified, as Docker; a remote one with its certificate checked" {
    ISOKIT_TRACE=1 run -0 --separate-stderr imgpull "127.0.0.1:$TLS_PORT/demo:1"
    [[ $stderr == *" from https://127.0.0.1:$TLS_PORT; "* ]] || fail "$stderr"
    run -0 imgunpack "127.0.0.1:$TLS_PORT/demo:1"
    [[ ! -e $output/etc/motd ]] || fail "the whiteout did not apply"
    # The same registry at a non-loopback address, in a network namespace
    # of the test's own: its self-signed certificate is refused.
    registry_config "192.0.2.10:$TLS_PORT" tls >"$BATS_TEST_TMPDIR/remote.yml"
    pull_remote --store "$BATS_TEST_TMPDIR/remote"
    assert_status 125
    [[ $stderr == "imgpull: pull '192.0.2.10:$TLS_PORT/demo:1': GET 'https://192.0.2.10:$TLS_PORT/v2/demo/manifests/1': io: invalid peer certificate: "* ]] || fail "$stderr"
    pull_remote --store "$BATS_TEST_TMPDIR/remote" --insecure
    assert_status 0
}

# pull_remote IMGPULL_OPTION...: in a network namespace of its own, serve
# the registry (remote.yml) at 192.0.2.10 on lo and pull demo:1 from it.
pull_remote() {
    run --separate-stderr sandboxed bash -c '
        ip link set lo up && ip addr add 192.0.2.10/32 dev lo || exit 1
        docker-registry serve "$1" >/dev/null 2>&1 &
        for _ in $(seq 100); do
            (: </dev/tcp/192.0.2.10/"$2") 2>/dev/null && break
            sleep 0.05
        done
        shift 2
        imgpull "$@"
        status=$?
        kill $!
        exit $status' - "$BATS_TEST_TMPDIR/remote.yml" "$TLS_PORT" "$@" "192.0.2.10:$TLS_PORT/demo:1"
}

@test "plain HTTP only to loopback unless --insecure" {
    # In a network namespace of its own with no interface up: the attempt
    # is refused locally, no packet leaves (192.0.2.1 is TEST-NET-1).
    run -125 sandboxed imgpull "192.0.2.1:5000/demo:1"
    [[ $output == *"GET 'https://192.0.2.1:5000/v2/demo/manifests/1'"* ]] || fail "$output"
    run -125 sandboxed imgpull --insecure "192.0.2.1:5000/demo:1"
    [[ $output == *"GET 'http://192.0.2.1:5000/v2/demo/manifests/1'"* ]] || fail "$output"
}

# unpack_hostile NAME [OPTION...]: pull hostile:NAME; unpack it with `run`.
unpack_hostile() {
    imgpull "127.0.0.1:$REGISTRY_PORT/hostile:$1"
    run --separate-stderr imgunpack "${@:2}" "127.0.0.1:$REGISTRY_PORT/hostile:$1"
}

@test "hostile: a path with .. is refused" {
    unpack_hostile traversal
    assert_status 125
    [[ $stderr == *"refusing entry '../../../../../../../..$OUTSIDE/pwned': a '..' in a layer path could reach outside the image" ]] || fail "$stderr"
    no_rootfs
    outside_untouched
}

@test "hostile: an absolute path lands inside the image" {
    unpack_hostile absolute
    assert_status 0
    assert_equal "$(cat "$output$OUTSIDE/pwned")" x
    outside_untouched
}

@test "hostile: symlinks planted by one layer and written through by the next stay inside" {
    unpack_hostile symlink
    assert_status 0
    root=$output
    assert_equal "$(cat "$root$OUTSIDE/pwned1")" x
    assert_equal "$(cat "$root$OUTSIDE/pwned2")" x
    # The later regular file replaced the symlink instead of writing through it.
    [[ -f $root/victim && ! -L $root/victim ]] || fail "victim is still a symlink"
    assert_equal "$(cat "$root/victim")" overwritten
    outside_untouched
}

@test "hostile: a hard link to a file outside the image is refused" {
    unpack_hostile hardlink
    assert_status 125
    [[ $stderr == *"entry 'stolen': hard link to '${OUTSIDE#/}/secret', which is not in the image" ]] || fail "$stderr"
    no_rootfs
    unpack_hostile hardlink-up
    assert_status 125
    [[ $stderr == *"a '..' in a layer path could reach outside the image" ]] || fail "$stderr"
    no_rootfs
    outside_untouched
}

@test "hostile: a whiteout of .. is refused" {
    unpack_hostile whiteout
    assert_status 125
    [[ $stderr == *"refusing whiteout 'etc/.wh...': it names no entry of its directory" ]] || fail "$stderr"
    no_rootfs
    outside_untouched
}

@test "hostile: attributes of a symlink entry never reach its target; a directory replaces a symlink, not its target" {
    ISOKIT_TRACE=1 unpack_hostile xattr-symlink
    assert_status 0
    root=$output
    [[ -L $root/link && -d $root/dir-link && ! -L $root/dir-link ]] || fail "$(ls -l "$root")"
    assert_equal "$(xattrs_of "$root/dir-link")" 'user.pwned="x"'
    # Nothing on the host's files: not the symlink's target, not the
    # directory a symlink of the same name pointed at.
    assert_equal "$(xattrs_of "$OUTSIDE/secret")" ""
    assert_equal "$(xattrs_of "$OUTSIDE")" ""
    [[ $stderr == *"imgunpack: left out attribute user.pwned of 'link': only regular files and directories get attributes"* ]] || fail "$stderr"
    outside_untouched
}

@test "hostile: device nodes are left out unless asked for" {
    unpack_hostile device
    assert_status 0
    [[ ! -e $output/dev/mem ]] || fail "dev/mem was made"
    [[ $stderr == "imgunpack: left out 1 device node(s) of '127.0.0.1:$REGISTRY_PORT/hostile:device', first 'dev/mem' (--devices makes them)" ]] || fail "$stderr"
    rm -rf "$STORE/rootfs"
    unpack_hostile device --devices
    assert_status 0
    [[ -c $output/dev/mem ]] || fail "--devices made no dev/mem"
    assert_equal "$(stat -c '%t:%T' "$output/dev/mem")" "1:1"
}

@test "cimages lists pulled images; crmi removes one, its root and the blobs only it used" {
    local demo="127.0.0.1:$REGISTRY_PORT/demo:1" other="127.0.0.1:$REGISTRY_PORT/hostile:absolute"
    run -0 imgpull "$demo"
    run -0 imgpull "$other"
    run -0 imgunpack "$demo"
    root=$output
    digest=$(jq -r --arg n "$demo" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $n) | .digest' "$STORE/index.json")
    run -0 "$ROOT/scripts/cimages"
    [[ $output == *"$demo"*" sha256:${digest:7:12} "*"K yes"* ]] || fail "$output"
    [[ $output == *"$other"*" no"* ]] || fail "$output"
    layers=$(jq -r '.layers[].digest' "$STORE/blobs/sha256/${digest#sha256:}")

    # A running container on the image's root: refused. The state is what
    # contain writes: the root, and its owner's PID and start time.
    sleep 60 &
    local sleeper=$!
    echo "$sleeper" >"$BATS_TEST_TMPDIR/sleeper.pid"
    mkdir -p "$BATS_TEST_TMPDIR/state/c1"
    echo "$root" >"$BATS_TEST_TMPDIR/state/c1/rootfs"
    echo "$sleeper" >"$BATS_TEST_TMPDIR/state/c1/owner"
    awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$sleeper/stat" >"$BATS_TEST_TMPDIR/state/c1/owner-start"
    ISOKIT_STATE="$BATS_TEST_TMPDIR/state" run -125 "$ROOT/scripts/crmi" "$demo"
    kill "$sleeper"
    assert_equal "$output" "crmi: image '$demo' is used by running container 'c1'"
    [[ -d $root ]] || fail "the root went"

    ISOKIT_STATE="$BATS_TEST_TMPDIR/state" run -0 "$ROOT/scripts/crmi" "$demo"
    [[ ! -e $root ]] || fail "the root is still there"
    for layer in $layers "$digest"; do
        [[ ! -e $STORE/blobs/sha256/${layer#sha256:} ]] || fail "blob $layer is still there"
    done
    run -0 imgunpack "$other"
    run -0 "$ROOT/scripts/cimages"
    [[ $output != *"$demo"* ]] || fail "$output"
    run -125 "$ROOT/scripts/crmi" "$demo"
    assert_equal "$output" "crmi: no image '$demo' in '$STORE'"
    run -0 "$ROOT/scripts/crmi" --help
    [[ $output == Usage:* ]] || fail "$output"
}

@test "an unprivileged user pulls and unpacks: owners are the user's, setuid bits dropped" {
    local bin store
    bin=$(public_bin)
    store="$(public_tmp)/store-$BATS_TEST_NUMBER"
    # HOME as a user's own: root's ~/.docker is not readable by nobody.
    run -0 setpriv --reuid nobody --regid nogroup --clear-groups -- \
        env HOME=/nonexistent "$bin/imgpull" --store "$store" "127.0.0.1:$REGISTRY_PORT/demo:1"
    run -0 --separate-stderr setpriv --reuid nobody --regid nogroup --clear-groups -- \
        "$bin/imgunpack" --store "$store" "127.0.0.1:$REGISTRY_PORT/demo:1"
    root=$output
    assert_equal "$(stat -c '%a %U' "$root/bin/su-test")" "755 nobody"
    assert_equal "$(find "$root" -not -user nobody | wc -l)" 0
    [[ ! -e $root/etc/motd ]] || fail "the whiteout did not apply"
    # user.* is the owner's to set; a file capability is not.
    local ref="127.0.0.1:$REGISTRY_PORT/xattrs:1"
    run -0 setpriv --reuid nobody --regid nogroup --clear-groups -- \
        env HOME=/nonexistent "$bin/imgpull" --store "$store" "$ref"
    ISOKIT_TRACE=1 run -0 --separate-stderr setpriv --reuid nobody --regid nogroup --clear-groups -- \
        "$bin/imgunpack" --store "$store" "$ref"
    root=$output
    assert_equal "$(xattrs_of "$root/etc/note")" 'user.origin="isokit test"'
    assert_equal "$(xattrs_of "$root/opt/cap/busybox")" ""
    [[ $stderr == *"imgunpack: left out attribute security.capability of 'opt/cap/busybox': file capabilities need root, or root in a user namespace"* ]] || fail "$stderr"
}

# contain IMAGE: run by name, as docker run. Each test has its own store
# (setup) and state directory. contain pulls from the loopback registry,
# so its sandbox keeps the host's network namespace (contain --net none,
# the default, makes the container's own and touches no link).
contain_image() {
    unshare --mount --uts --ipc --propagation private -- env ISOKIT_STATE="$BATS_TEST_TMPDIR/state" "$ROOT/scripts/contain" "$@"
}

@test "contain IMAGE pulls on first use and runs the image's Cmd with its Env, WorkingDir and User" {
    local ref="127.0.0.1:$REGISTRY_PORT/demo:1"
    run --separate-stderr contain_image "$ref"
    assert_status 0
    assert_equal "$output" "hello it's me from /app"
    # Pulled into the store on the way.
    run -0 imgpull --print-name "$ref"
    run -0 imgpull --print-config "$ref"
    # The image's User (1234, no passwd entry: gid of the same number),
    # read from the kernel; -e, -w and --user override the image's.
    run contain_image "$ref" sh -c 'grep -E "^(Uid|Gid):" /proc/self/status | cut -f1,2'
    assert_equal "${lines[0]}" "Uid:	1234"
    assert_equal "${lines[1]}" "Gid:	1234"
    run contain_image -e GREETING=bye -w / --user 0 "$ref"
    assert_equal "$output" "bye from /"
    run contain_image --user 0 "$ref" id -u
    assert_equal "$output" 0
}

@test "contain IMAGE writes to an overlay: the shared unpacked image stays as it was" {
    local ref="127.0.0.1:$REGISTRY_PORT/demo:1"
    run -0 contain_image --user 0 "$ref" sh -c 'echo dirty >/app/written; rm /bin/hard-sh; cat /app/written'
    assert_equal "$output" dirty
    local root
    root=$(imgunpack "$ref")
    [[ ! -e $root/app/written && -e $root/bin/hard-sh ]] || fail "the shared image was modified: $(ls "$root/app" "$root/bin/hard-sh")"
    # crmi refuses nothing now: no container uses it any more.
    run -0 "$ROOT/scripts/crmi" "$ref"
}

@test "--pull never refuses an image not in the store; --pull always pulls again" {
    local ref="127.0.0.1:$REGISTRY_PORT/demo:1"
    run --separate-stderr contain_image --pull never "$ref"
    assert_status 125
    assert_equal "$stderr" "contain: image '$ref' is not in the store (--pull never)"
    [[ ! -e $STORE/rootfs ]] || fail "something was unpacked"
    run -0 contain_image --pull missing "$ref" true
    ISOKIT_TRACE=1 run -0 --separate-stderr contain_image --pull always "$ref" true
    [[ $stderr == *"imgpull: "*"0 blobs fetched, 3 already present"* ]] || fail "$stderr"
    run --separate-stderr contain_image --pull sometimes "$ref"
    assert_status 125
    assert_equal "${stderr_lines[0]}" "contain: invalid --pull 'sometimes' (missing, always, never)"
}

@test "a missing image fails with imgpull's one line and 125; an IMAGE and --rootfs conflict" {
    run --separate-stderr contain_image "127.0.0.1:$REGISTRY_PORT/nosuch:1"
    assert_status 125
    [[ $stderr == "imgpull: "* && ${#stderr_lines[@]} == 1 ]] || fail "$stderr"
    run --separate-stderr contain_image --rootfs / "127.0.0.1:$REGISTRY_PORT/demo:1"
    assert_status 125
    assert_equal "${stderr_lines[0]}" "contain: an IMAGE and --rootfs or --tar are mutually exclusive"
}

@test "ckill sends the image's StopSignal (SIGINT for the demo image) when not told which" {
    local ref="127.0.0.1:$REGISTRY_PORT/demo:1" out="$BATS_TEST_TMPDIR/out"
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    mkdir -p "$out"
    # The trap writes to a volume: the container's log goes with its state.
    run -0 contain_image -d --name stopper --user 0 -v "$out:/out" "$ref" \
        sh -c 'trap "echo INT >/out/got; exit 0" INT; trap "echo TERM >/out/got; exit 0" TERM; echo ready >/out/ready; while :; do sleep 0.1; done'
    wait_for test -s "$out/ready"
    run -0 "$ROOT/scripts/ckill" stopper
    wait_for test -s "$out/got"
    assert_equal "$(cat "$out/got")" INT
    wait_for test ! -e "$ISOKIT_STATE/stopper"
}

# xattrs_of FILE: every attribute the kernel holds on FILE (all
# namespaces), NAME="VALUE" per line; a line saying so if getfattr fails
# (FILE missing), so that an expected "" cannot pass by accident.
xattrs_of() {
    local dump
    dump=$(getfattr --absolute-names --match=- --dump "$1" 2>&1) || { echo "getfattr failed: $dump"; return 0; }
    sed '/^#/d; /^$/d' <<<"$dump"
}

# capability_of FILE: security.capability in hex, as the kernel stores it.
capability_of() {
    getfattr --absolute-names --only-values --name=security.capability "$1" 2>/dev/null |
        od -An -tx1 | tr -d ' \n'
}

@test "attributes: file capabilities and user.* kept; overlayfs's, trusted.*, security.selinux and ACLs left out" {
    local ref="127.0.0.1:$REGISTRY_PORT/xattrs:1"
    run -0 imgpull "$ref"
    ISOKIT_TRACE=1 run -0 --separate-stderr imgunpack "$ref"
    root=$output
    run -0 getcap "$root/opt/cap/busybox"
    assert_equal "$output" "$root/opt/cap/busybox cap_net_raw=ep"
    assert_equal "$(capability_of "$root/opt/cap/busybox")" "${NET_RAW_CAP#0x}"
    # The whole set the kernel holds, each file: nothing but what is kept.
    assert_equal "$(xattrs_of "$root/etc/note")" 'user.origin="isokit test"'
    assert_equal "$(xattrs_of "$root/ovl")" ""
    assert_equal "$(xattrs_of "$root/ovl/gone")" ""
    # A directory stated again takes the upper layer's attributes only.
    assert_equal "$(xattrs_of "$root/tagged")" 'user.new="kept"'
    # Owner and setuid as stored (root unpacks), after which the attributes.
    assert_equal "$(stat -c '%a %u %g' "$root/etc/note")" "4755 1234 99"
    local line
    for line in "left out attribute trusted.overlay.opaque of 'ovl': overlayfs's own: a layer may not hide or redirect files of the root" \
        "left out attribute user.overlay.whiteout of 'ovl/gone': overlayfs's own: a layer may not hide or redirect files of the root" \
        "left out attribute security.selinux of 'etc/note': an SELinux label is the building host's policy" \
        "left out attribute trusted.md5 of 'etc/note': trusted.* is the host's privileged tools'" \
        "left out attribute system.posix_acl_access of 'etc/note': system.* (ACLs) is not applied"; do
        [[ $'\n'$stderr$'\n' == *$'\n'"imgunpack: $line"$'\n'* ]] || fail "no line '$line' in: $stderr"
    done
}

@test "attributes: the capability takes effect in contain, and ovl/gone is no overlayfs whiteout there" {
    local ref="127.0.0.1:$REGISTRY_PORT/xattrs:1"
    # --privileged for user 1234: every capability ambient. Exec of a
    # file with capabilities clears the ambient set and grants the file's
    # (capabilities(7)): the kernel read cap_net_raw (bit 13) from it.
    run -0 contain_image --privileged --user 1234 "$ref" sh -c \
        'grep CapEff /proc/self/status; /opt/cap/busybox grep CapEff /proc/self/status; cat /ovl/gone && echo gone is there'
    [[ ${lines[0]} != *"0000000000002000" ]] || fail "the plain shell has only cap_net_raw: $output"
    assert_equal "${lines[1]}" "CapEff:	0000000000002000"
    assert_equal "${lines[2]}" "gone is there"
}

@test "--map-ids: owners, setuid bits and capabilities moved into a range; owners outside go to nobody" {
    local demo="127.0.0.1:$REGISTRY_PORT/demo:1" ref="127.0.0.1:$REGISTRY_PORT/xattrs:1"
    run -0 imgpull "$demo"
    run -0 imgpull "$ref"
    run -0 imgunpack "$demo"
    plain=$output
    run -0 imgunpack --map-ids 0:100000:65536 "$demo"
    root=$output
    assert_equal "$root" "$plain-map-0-100000-65536"
    assert_equal "$(stat -c '%a %u %g' "$root/bin/su-test")" "4755 101234 100099"
    assert_equal "$(stat -c '%u %g' "$root/bin/busybox")" "100000 100000"
    assert_equal "$(stat -c '%a %u %g' "$plain/bin/su-test")" "4755 1234 99"
    # Two ranges, as rootless Podman maps root to the user and the rest
    # to subordinate ids.
    run -0 imgunpack --map-ids 0:1000:1 --map-ids 1:100000:65536 "$demo"
    assert_equal "$(stat -c '%u %g' "$output/bin/busybox" "$output/bin/su-test" | tr '\n' ' ')" "1000 1000 101233 100098 "
    # crmi removes the mapped roots with the plain one.
    run -0 "$ROOT/scripts/crmi" "$demo"
    assert_equal "$(find "$STORE/rootfs" -mindepth 1 -maxdepth 1 | wc -l)" 0

    run -0 --separate-stderr imgunpack --map-ids 0:100000:65536 "$ref"
    root=$output
    assert_equal "$stderr" "imgunpack: gave 1 file(s) of '$ref' to nobody, their owners being outside the ids given, first 'far' (70000:70001)"
    # nobody's 65534, in the range; its setuid and setgid bits dropped.
    assert_equal "$(stat -c '%a %u %g' "$root/far")" "755 165534 165534"
    # Version 3 naming container root (100000, little-endian): only a user
    # namespace whose root is host uid 100000 gets cap_net_raw from it.
    assert_equal "$(capability_of "$root/opt/cap/busybox")" "0100000300200000000000000000000000000000a0860100"
    run -0 getcap -n "$root/opt/cap/busybox"
    assert_equal "$output" "$root/opt/cap/busybox cap_net_raw=ep [rootid=100000]"

    run -125 --separate-stderr setpriv --reuid nobody --regid nogroup --clear-groups -- \
        "$(public_bin)/imgunpack" --store "$STORE" --map-ids 0:100000:65536 "$ref"
    assert_equal "${stderr_lines[0]}" "imgunpack: --map-ids needs root, or root in a user namespace"
    run -125 --separate-stderr imgunpack --map-ids 0:100000 "$ref"
    assert_equal "${stderr_lines[0]}" "imgunpack: error parsing option '--map-ids' with value '0:100000': not CONTAINER:HOST:COUNT (e.g. 0:100000:65536)"
}

# in_userns COMMAND...: run COMMAND as root of a user namespace of its own
# whose ids 0-65535 are the host's 200000-265535: a subordinate range, as
# newuidmap maps one from /etc/subuid for rootless Podman (here root writes
# the maps, and the machine's /etc/subuid is left alone). On the host the
# command is uid 200000, with no privilege at all.
in_userns() {
    local fifo="$BATS_TEST_TMPDIR/userns.fifo" pid
    rm -f "$fifo"
    mkfifo "$fifo"
    python3 -c "$USERNS_ROOT" "$fifo" "$@" &
    pid=$!
    if ! wait_for userns_of_its_own "$pid"; then
        kill "$pid"
        return 1
    fi
    echo "0 200000 65536" >"/proc/$pid/uid_map"
    echo "0 200000 65536" >"/proc/$pid/gid_map"
    echo go >"$fifo"
    wait "$pid"
}

# A new user namespace, then (once the maps are written and the fifo
# says so) root in it, without an exec in between: an exec while our host
# uid is unmapped there would drop every capability, setresuid with them.
USERNS_ROOT='
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:  # CLONE_NEWUSER
    sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
open(sys.argv[1]).read()
os.setgroups([])
os.setresgid(0, 0, 0)
os.setresuid(0, 0, 0)
os.execvp(sys.argv[2], sys.argv[2:])
'

userns_of_its_own() {
    [[ $(ns_of "$1" user) != "$(ns_of self user)" ]]
}

@test "in a user namespace with a subordinate range: owners and capabilities land in the range on the host" {
    local bin store ref="127.0.0.1:$REGISTRY_PORT/xattrs:1"
    bin=$(public_bin)
    store="$(public_tmp)/store-$BATS_TEST_NUMBER"
    run -0 in_userns env HOME=/nonexistent "$bin/imgpull" --store "$store" "$ref"
    run --separate-stderr in_userns "$bin/imgunpack" --store "$store" "$ref"
    assert_status 0
    root=$output
    # What the host's kernel reports: the namespace's ids, moved by 200000.
    assert_equal "$(stat -c '%u %g' "$root" "$root/bin/busybox" | tr '\n' ' ')" "200000 200000 200000 200000 "
    assert_equal "$(stat -c '%a %u %g' "$root/etc/note")" "4755 201234 200099"
    # 70000 is outside the namespace: nobody's there, 265534 here.
    assert_equal "$(stat -c '%a %u %g' "$root/far")" "755 265534 265534"
    assert_equal "$stderr" "imgunpack: gave 1 file(s) of '$ref' to nobody, their owners being outside the ids given, first 'far' (70000:70001)"
    # The kernel recorded the capability for the namespace's root.
    assert_equal "$(capability_of "$root/opt/cap/busybox")" "0100000300200000000000000000000000000000400d0300"
    assert_equal "$(xattrs_of "$root/etc/note")" 'user.origin="isokit test"'
    assert_equal "$(xattrs_of "$root/ovl/gone")" ""
}
