#!/usr/bin/env bats
# The device cgroup (cgset --devices, --device-allow): what the kernel lets
# a process open, not what cgset wrote. Nodes are made with mknod on a
# tmpfs of the test's own (not nodev) inside `sandboxed`; each open reports
# EPERM (the device cgroup's answer), ok, or another error (e.g. no
# driver behind the numbers), so EPERM can only come from the rules.
# cgroup v1 (devices controller) here; cgroup v2 (a BPF program) in the
# VM, and here too with the v1 controller unmounted in the sandbox.

load helpers
load cgroup

setup_file() {
    cg_remember_parents
}

teardown_file() {
    cg_forget_parents
}

setup() {
    NAME="isokit-dev-$$-$BATS_TEST_NUMBER"
    NODES="$BATS_TEST_TMPDIR/nodes"
    mkdir -p "$NODES"
}

teardown() {
    cg_cleanup "$NAME"
}

# The mountpoint of the v1 devices hierarchy, or nothing.
v1_devices() {
    local mount
    mount=$(cg_find_mount cgroup devices) || return 0
    echo "${mount#* }"
}

# Make each node TYPE MAJOR MINOR, open it read-write, print NAME=RESULT.
# shellcheck disable=SC2016
PROBE='
dir=$1; shift
while [ $# -ge 4 ]; do
    name=$1; if mknod "$dir/$name" "$2" "$3" "$4"; then
        if err=$( (exec 3<>"$dir/$name") 2>&1 ); then echo "$name=ok"
        else case $err in *"not permitted"*) echo "$name=EPERM";; *) echo "$name=other ($err)";; esac; fi
    else echo "$name=mknod-failed"; fi
    shift 4
done'

NODE_SET="disk b 7 0  null c 1 3  zero c 1 5  mem c 1 1  fuse c 10 229"

# probe PRE-COMMAND -- CGSET...: in a sandbox, after PRE-COMMAND, on a fresh
# tmpfs (the test's own directory may be on a nodev mount, as in the VM).
probe() {
    local pre=$1
    shift 2
    # shellcheck disable=SC2086
    sandboxed sh -c "$pre"' && mount -t tmpfs nodes "$1" && dir=$1 && shift && exec "$@"' sh "$NODES" \
        "$@" -- sh -c "$PROBE" sh "$NODES" $NODE_SET
}

@test "without device rules every node made opens (or fails for its own reasons), none with EPERM" {
    run probe true -- cgset --name "$NAME"
    assert_status 0
    [[ $output == *"null=ok"* && $output != *EPERM* ]] || fail "$output"
}

@test "--devices default: mknod of a disk works, opening it is EPERM; null and zero work" {
    run probe true -- cgset --name "$NAME" --devices default
    assert_status 0
    assert_equal "$output" $'disk=EPERM\nnull=ok\nzero=ok\nmem=EPERM\nfuse=EPERM'
}

@test "--device-allow adds exactly its node" {
    run probe true -- cgset --name "$NAME" --device-allow 'c 10:229 rw'
    assert_status 0
    [[ $output == *$'disk=EPERM\nnull=ok\nzero=ok\nmem=EPERM\nfuse='* && $output != *fuse=EPERM* ]] || fail "$output"
}

@test "capdrop's default keeps MKNOD: under the device cgroup the disk node is made but not opened" {
    run probe true -- cgset --name "$NAME" --devices default -- capdrop
    assert_status 0
    assert_equal "$output" $'disk=EPERM\nnull=ok\nzero=ok\nmem=EPERM\nfuse=EPERM'
}

@test "v1: devices.list is Docker's default set" {
    local mount
    mount=$(v1_devices)
    [[ -n $mount ]] || skip "no cgroup v1 devices controller"
    run sandboxed cgset --name "$NAME" --devices default -- cat "$mount/isokit/$NAME/devices.list"
    assert_status 0
    assert_equal "$output" "$(printf '%s\n' 'c *:* m' 'b *:* m' 'c 1:3 rwm' 'c 1:5 rwm' 'c 1:7 rwm' 'c 1:8 rwm' 'c 1:9 rwm' 'c 5:0 rwm' 'c 5:1 rwm' 'c 5:2 rwm' 'c 136:* rwm')"
}

@test "v2 on a hybrid host: with the v1 devices controller out of sight, the BPF program decides" {
    local mount
    mount=$(v1_devices)
    [[ -n $mount ]] && cg_find_mount cgroup2 >/dev/null || skip "needs v1 devices and a v2 hierarchy (pure v2 runs the tests above)"
    run probe "umount $mount" -- cgset --name "$NAME" --devices default
    assert_status 0
    assert_equal "$output" $'disk=EPERM\nnull=ok\nzero=ok\nmem=EPERM\nfuse=EPERM'
}

@test "a bad rule is exit 125 before anything is made" {
    run --separate-stderr sandboxed cgset --name "$NAME" --device-allow 'c 1:3 rwx' -- true
    assert_status 125
    assert_equal "$stderr" $'cgset: invalid device rule \'c 1:3 rwx\' (expected TYPE MAJOR:MINOR ACCESS, e.g. \'c 1:3 rwm\')\nTry \'cgset --help\' for more information.'
    assert_equal "$(cg_left "$NAME")" ""
}
