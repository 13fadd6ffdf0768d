#!/usr/bin/env bats
# The container lifecycle: contain -d, cps, cexec, clogs, ckill, and what is
# left after a container ends, also when contain itself is SIGKILLed.

load helpers

setup() {
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    export ISOKIT_IMAGES="$ROOT/target/test-images"
}

# Wait (up to ~10 s) until process $1 no longer exists.
wait_for_gone() {
    local i
    for i in $(seq 200); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.05
    done
    fail "process $1 is still running"
}

teardown() {
    # Stop anything a failed test left running (only this test's containers).
    "$ROOT/scripts/ckill" --all KILL 2>/dev/null || true
}

@test "a detached container is listed by cps, logs to clogs, is killed by ckill, then gone" {
    run sandboxed "$ROOT/scripts/contain" -d --name bg -- sh -c 'echo started; trap "echo stopping; exit 0" TERM; while :; do sleep 0.1; done'
    assert_status 0
    assert_equal "$output" bg
    wait_for test -s "$ISOKIT_STATE/bg/pid"
    run "$ROOT/scripts/cps"
    [[ ${lines[1]} == bg\ * ]] || fail "$output"
    local pid
    pid=$(awk 'NR == 2 {print $2}' <<<"$output")
    # The PID shown is the container's init, PID 1 of its namespace.
    assert_equal "$(awk '/^NSpid:/ {print $NF}' "/proc/$pid/status")" 1
    wait_for grep -q started "$ISOKIT_STATE/bg/log"
    run "$ROOT/scripts/clogs" bg
    assert_equal "$output" started
    run "$ROOT/scripts/ckill" bg
    assert_status 0
    wait_for test ! -e "$ISOKIT_STATE/bg"
    run "$ROOT/scripts/cps"
    assert_equal "${#lines[@]}" 1
}

@test "cexec enters the container's namespaces, root and capabilities" {
    run sandboxed "$ROOT/scripts/contain" -d --name target --hostname inner --cap-drop ALL -- sleep 30
    assert_status 0
    wait_for test -s "$ISOKIT_STATE/target/pid"
    local pid
    pid=$(cat "$ISOKIT_STATE/target/pid")
    run "$ROOT/scripts/cexec" target sh -c 'hostname; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; test -e /bin/busybox && echo image-root; grep CapEff /proc/self/status'
    assert_status 0
    assert_equal "${lines[0]}" inner
    assert_equal "${lines[1]}" "$(readlink "/proc/$pid/ns/pid")"
    assert_equal "${lines[2]}" "$(readlink "/proc/$pid/ns/mnt")"
    assert_equal "${lines[3]}" image-root
    assert_equal "${lines[4]}" "CapEff:	0000000000000000"
    "$ROOT/scripts/ckill" target KILL
    wait_for test ! -e "$ISOKIT_STATE/target"
}

@test "no fd of cexec's caller reaches the container, whatever its number" {
    run sandboxed "$ROOT/scripts/contain" -d --name fds -- sleep 30
    assert_status 0
    wait_for test -s "$ISOKIT_STATE/fds/pid"
    # shellcheck disable=SC2016 # expanded by the inner bash
    run bash -c 'exec 7</etc 100</etc 254</etc 255</etc; exec "$@"' bash \
        "$ROOT/scripts/cexec" fds sh -c 'for fd in 3 7 100 254 255; do test -e /proc/self/fd/$fd/hostname && echo "fd $fd reaches the host"; done; echo checked'
    assert_status 0
    assert_equal "$output" checked
}

@test "ckill and cexec refuse unknown containers with 125" {
    run "$ROOT/scripts/ckill" nosuch
    assert_status 125
    run "$ROOT/scripts/cexec" nosuch true
    assert_status 125
    run "$ROOT/scripts/ckill" bg NOTASIGNAL
    assert_status 125
}

@test "a contain killed with SIGKILL leaves nothing once its container ends" {
    sandboxed_bg "$ROOT/scripts/contain" --name orphaned -- sleep 1
    local contain=$BG_PID
    wait_for test -s "$ISOKIT_STATE/orphaned/pid"
    local init
    init=$(cat "$ISOKIT_STATE/orphaned/pid")
    kill -KILL "$contain"
    wait "$contain" 2>/dev/null || true
    # The container itself runs on, then ends; the next cps cleans up.
    wait_for_gone "$init"
    run "$ROOT/scripts/cps"
    assert_equal "${#lines[@]}" 1
    [[ ! -e $ISOKIT_STATE/orphaned ]] || fail "state left behind"
}

@test "examples/two-tier.sh: a client fetches a page from a server by address" {
    run sandboxed "$ROOT/examples/two-tier.sh"
    assert_status 0
    assert_equal "${lines[-1]}" "hello from web"
}
