#!/usr/bin/env bats
# containerd's runc shim drives isokit-oci (ctr run --runc-binary), and
# runc for comparison. containerd runs for this file only, with its root,
# state and socket in $BATS_FILE_TMPDIR and the CRI plugin off; the
# containers live in a namespace of this run, so the shim's state
# directory (/run/containerd/runc/NAMESPACE) is this run's alone.

load helpers

setup_file() {
    command -v containerd >/dev/null || skip "containerd is not installed (scripts/install-deps)"
    command -v podman >/dev/null || skip "podman is not installed (scripts/install-deps)"
    local t=$BATS_FILE_TMPDIR
    export CTR_SOCK=$t/containerd.sock CTR_NS=isokit-test-$BATS_ROOT_PID
    cat >"$t/config.toml" <<CONF
version = 2
root = "$t/root"
state = "$t/state"
[grpc]
  address = "$CTR_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
CONF
    # Without bats' fd 3: a shim left running would hold it, and bats
    # would wait for it to close.
    containerd --config "$t/config.toml" >"$t/containerd.log" 2>&1 3>&- &
    echo $! >"$t/containerd.pid"
    wait_for ctr --address "$CTR_SOCK" version
    # The busybox image as a docker archive, made by podman in a storage
    # of its own.
    "$ROOT/scripts/mkrootfs" busybox "$t/rootfs" >/dev/null
    tar -C "$t/rootfs" -c . | podman --root "$t/podman" --runroot "$t/podman-run" import - localhost/isokit-busybox:test >/dev/null
    podman --root "$t/podman" --runroot "$t/podman-run" save --format docker-archive -o "$t/image.tar" \
        localhost/isokit-busybox:test >/dev/null 2>&1
    podman --root "$t/podman" --runroot "$t/podman-run" system reset -f >/dev/null 2>&1
    ctr_ images import "$t/image.tar" >/dev/null
}

# A task a failed test left running: killed and deleted, so that its shim
# and process do not outlive the file.
teardown() {
    local id
    for id in $(ctr_ tasks ls -q 2>/dev/null); do
        ctr_ tasks kill -s KILL "$id" >/dev/null 2>&1 || true
        timeout 10 ctr --address "$CTR_SOCK" --namespace "$CTR_NS" tasks delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(ctr_ containers ls -q 2>/dev/null); do
        ctr_ containers rm "$id" >/dev/null 2>&1 || true
    done
}

teardown_file() {
    local pid
    pid=$(cat "$BATS_FILE_TMPDIR/containerd.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    rm -rf "/run/containerd/runc/$CTR_NS"
    # containerd 1.6 keeps shim sockets in /run/containerd/s whatever its
    # state directory: remove the directory only if this run left it empty.
    rmdir /run/containerd/s /run/containerd/runc /run/containerd 2>/dev/null || true
}

ctr_() {
    ctr --address "$CTR_SOCK" --namespace "$CTR_NS" "$@"
}

runtime_of() {
    if [[ $1 == runc ]]; then command -v runc; else echo "$BIN/isokit-oci"; fi
}

# Nothing left: no task, no container, nothing in the shim's state.
nothing_left() {
    run ctr_ containers ls -q
    assert_equal "$output" ""
    run ls -A "/run/containerd/runc/$CTR_NS"
    assert_equal "$output" ""
}

check_run_rm() {
    local id=t$BATS_TEST_NUMBER
    run timeout 60 ctr --address "$CTR_SOCK" --namespace "$CTR_NS" run --rm --fifo-dir "$BATS_FILE_TMPDIR/fifo" --runc-binary "$(runtime_of "$1")" \
        localhost/isokit-busybox:test "$id" sh -c 'echo hi; readlink /proc/self/ns/pid; exit 3'
    assert_status 3
    assert_equal "${lines[0]}" hi
    # The kernel's name for the pid namespace the command ran in.
    [[ ${lines[1]} == pid:* && ${lines[1]} != "$(ns_of $$ pid)" ]] || fail "not a pid namespace of its own: ${lines[1]}"
    nothing_left
}

@test "isokit-oci: ctr run --rm passes output and exit status, leaves nothing" { check_run_rm isokit; }
@test "runc: ctr run --rm passes output and exit status, leaves nothing" { check_run_rm runc; }

# task_status ID: the task's status as containerd lists it (RUNNING,
# STOPPED...).
task_status() {
    ctr_ tasks ls | awk -v id="$1" '$1 == id {print $3}'
}

# task_status_is ID STATUS (for wait_for, which expands its words once).
task_status_is() {
    [[ $(task_status "$1") == "$2" ]]
}

# A detached task (ctr run -d): its pid is the container's process, in a
# pid namespace of its own; ctr task exec runs in the container and sees
# its process; ctr task kill stops it; delete leaves nothing.
check_detached_task() {
    local id=d$BATS_TEST_NUMBER pid
    run timeout 60 ctr --address "$CTR_SOCK" --namespace "$CTR_NS" run -d --fifo-dir "$BATS_FILE_TMPDIR/fifo" --runc-binary "$(runtime_of "$1")" \
        localhost/isokit-busybox:test "$id" sleep 1000
    assert_status 0
    wait_for task_status_is "$id" RUNNING
    pid=$(ctr_ tasks ls | awk -v id="$id" '$1 == id {print $2}')
    [[ $pid -gt 0 ]] || fail "no pid: $(ctr_ tasks ls)"
    [[ $(ns_of "$pid" pid) != $(ns_of $$ pid) ]] || fail "the task's pid $pid is in the host's pid namespace"
    run timeout 30 ctr --address "$CTR_SOCK" --namespace "$CTR_NS" tasks exec --exec-id e1 "$id" sh -c \
        'readlink /proc/self/ns/pid; for f in /proc/[0-9]*/cmdline; do tr "\0" " " <$f; echo; done | grep -x "sleep 1000 "'
    assert_status 0
    assert_equal "${lines[0]}" "$(ns_of "$pid" pid)"
    assert_equal "${lines[1]}" "sleep 1000 "
    # KILL: under runc sleep is PID 1, which the kernel shields from a
    # SIGTERM it has no handler for.
    ctr_ tasks kill -s KILL "$id"
    wait_for task_status_is "$id" STOPPED
    ctr_ tasks delete "$id" >/dev/null
    ctr_ containers rm "$id"
    [[ ! -e /proc/$pid ]] || fail "process $pid left"
    nothing_left
}

@test "isokit-oci: ctr run -d, task exec, task kill, delete: the task's pid is in the container; nothing left" { check_detached_task isokit; }
@test "runc: ctr run -d, task exec, task kill, delete: the task's pid is in the container; nothing left" { check_detached_task runc; }
