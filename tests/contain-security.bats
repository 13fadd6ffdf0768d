#!/usr/bin/env bats
# contain's security layers, read back from the kernel inside the
# container: the seccomp filter (scfilter, last step of the chain), the
# device cgroup (cgset --devices default, --device) and --privileged,
# which turns both off. Every test runs contain inside `sandboxed`.

load helpers

setup_file() {
    export ISOKIT_IMAGES="$ROOT/target/test-images"
    sandboxed env ISOKIT_STATE="$BATS_FILE_TMPDIR/state" "$ROOT/scripts/contain" -- true
}

setup() {
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    export ISOKIT_IMAGES="$ROOT/target/test-images"
}

contain() {
    sandboxed "$ROOT/scripts/contain" "$@"
}

# A node the default device rules do not allow (10:229, /dev/fuse: opening
# it needs no capability and does nothing), made where the root's nodev
# does not apply (the container's /dev tmpfs), then opened.
# shellcheck disable=SC2016 # expanded by the container's sh
OPEN_NODE='mknod /dev/probe c 10 229 || exit 9; (exec 3</dev/probe) && echo opened'

@test "the command runs under Docker's seccomp profile; seccomp=unconfined and a profile file change it" {
    run contain -- grep '^Seccomp:' /proc/self/status
    assert_status 0
    assert_equal "$output" "Seccomp:	2"

    run contain --security-opt seccomp=unconfined -- grep '^Seccomp:' /proc/self/status
    assert_status 0
    assert_equal "$output" "Seccomp:	0"

    # A profile of the user's: everything allowed but mkdir, which root
    # could otherwise do in the overlay root.
    local profile="$BATS_TEST_TMPDIR/no-mkdir.json"
    echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}' >"$profile"
    run contain --security-opt "seccomp=$profile" -- sh -c 'grep "^Seccomp:" /proc/self/status; mkdir /made 2>&1; touch /file && echo touched'
    assert_equal "${lines[0]}" "Seccomp:	2"
    assert_equal "${lines[1]}" "mkdir: can't create directory '/made': Operation not permitted"
    assert_equal "${lines[2]}" touched
    run contain -- sh -c 'mkdir /made && echo made'
    assert_equal "$output" made
}

@test "cexec runs its command under the container's seccomp filter" {
    sandboxed_bg env ISOKIT_STATE="$ISOKIT_STATE" ISOKIT_IMAGES="$ISOKIT_IMAGES" "$ROOT/scripts/contain" --name filtered -- sleep 30
    wait_for test -s "$ISOKIT_STATE/filtered/pid"
    run "$ROOT/scripts/cexec" filtered grep '^Seccomp:' /proc/self/status
    kill -TERM "$BG_PID"
    wait "$BG_PID" || true
    assert_status 0
    assert_equal "$output" "Seccomp:	2"
}

@test "the device cgroup: mknod works, opening a node outside the default rules does not; /dev/null does" {
    run contain -- sh -c "$OPEN_NODE"' 2>&1; echo x >/dev/null && echo null-ok'
    assert_status 0
    assert_equal "${lines[0]}" "sh: can't open /dev/probe: Operation not permitted"
    assert_equal "${lines[1]}" null-ok
}

@test "--device binds a host node in and allows it; the same node bound with -v stays closed" {
    run contain --device /dev/fuse -- sh -c 'if exec 3<>/dev/fuse; then echo opened; fi'
    assert_status 0
    assert_equal "$output" opened

    run contain --device /dev/fuse:/dev/myfuse:r -- sh -c 'if exec 3</dev/myfuse; then echo read-ok; fi; if exec 4>/dev/myfuse; then echo write-ok; fi'
    assert_equal "${lines[0]}" read-ok
    assert_equal "${lines[1]}" "sh: can't create /dev/myfuse: Operation not permitted"

    run contain -v /dev/fuse:/dev/fuse -- sh -c 'exec 3<>/dev/fuse'
    assert_equal "$output" "sh: can't create /dev/fuse: Operation not permitted"
}

@test "--privileged: every capability of the caller, no seccomp filter, no device cgroup" {
    local bounding
    bounding=$(grep '^CapBnd:' /proc/self/status | cut -f2)
    run contain --privileged -- sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; '"$OPEN_NODE"
    assert_status 0
    assert_equal "${lines[0]}" "CapEff:	$bounding"
    assert_equal "${lines[1]}" "Seccomp:	0"
    assert_equal "${lines[2]}" opened
}

@test "bad --security-opt and --device values exit 125 before anything is made" {
    run --separate-stderr contain --security-opt apparmor=unconfined -- true
    assert_status 125
    assert_equal "${stderr_lines[0]}" "contain: unsupported --security-opt 'apparmor=unconfined' (seccomp=unconfined, seccomp=FILE, no-new-privileges)"
    run --separate-stderr contain --security-opt seccomp=/no/such/profile.json -- true
    assert_status 125
    assert_equal "$stderr" "contain: cannot read seccomp profile '/no/such/profile.json'"
    run --separate-stderr contain --device /etc/hostname -- true
    assert_status 125
    assert_equal "$stderr" "contain: --device '/etc/hostname' is not a device node"
    run --separate-stderr contain --device /dev/null:dev/null -- true
    assert_status 125
    [[ ${stderr_lines[0]} == "contain: invalid --device '/dev/null:dev/null'"* ]] || fail "$stderr"
    [[ ! -e $ISOKIT_STATE || -z $(ls -A "$ISOKIT_STATE") ]] || fail "state left: $(ls -A "$ISOKIT_STATE")"
}
