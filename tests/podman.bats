#!/usr/bin/env bats
# podman drives isokit-oci as its OCI runtime, and the same assertions run
# against runc: a check that passes for runc and fails for isokit-oci is a
# gap of isokit-oci; one that fails for runc is a wrong check.
#
# podman keeps everything of this run in $BATS_FILE_TMPDIR (--root,
# --runroot, --tmpdir, its own containers.conf; each runtime through a
# wrapper that gives it a state directory there): the machine's podman
# state is never touched. --network none: no packet leaves the container.

load helpers

setup_file() {
    command -v podman >/dev/null || skip "podman is not installed (scripts/install-deps)"
    local t=$BATS_FILE_TMPDIR
    mkdir -p "$t/wrap/isokit" "$t/wrap/runc" "$t/tmp"
    # The wrappers' names are the runtimes' own: podman asks for JSON logs
    # by name (runc), and the runtime's name shows in its messages.
    printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$BIN/isokit-oci" "$t/isokit-state" >"$t/wrap/isokit/isokit-oci"
    printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$(command -v runc)" "$t/runc-state" >"$t/wrap/runc/runc"
    chmod +x "$t/wrap/isokit/isokit-oci" "$t/wrap/runc/runc"
    # Root here lacks CAP_SYS_RESOURCE: podman's default rlimits would
    # fail in any runtime.
    cat >"$t/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
CONF
    export CONTAINERS_CONF="$t/containers.conf"
    pod isokit import - localhost/isokit-busybox:test < <(tar -C "$(make_rootfs)" -c .) >/dev/null
}

make_rootfs() {
    local dir=$BATS_FILE_TMPDIR/rootfs
    [[ -d $dir ]] || "$ROOT/scripts/mkrootfs" busybox "$dir" >/dev/null
    echo "$dir"
}

teardown_file() {
    [[ -n ${CONTAINERS_CONF:-} ]] || return 0
    pod isokit rm -a -f -t 0 >/dev/null 2>&1 || true
    pod runc rm -a -f -t 0 >/dev/null 2>&1 || true
    podman --root "$BATS_FILE_TMPDIR/root" --runroot "$BATS_FILE_TMPDIR/runroot" system reset -f >/dev/null 2>&1 || true
    # podman's parent cgroup, where conmon puts itself (libpod_parent/conmon)
    # and runc the containers: removed when empty (rmdir refuses
    # otherwise, so a cgroup in use stays).
    local dir
    for dir in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
        [[ -d $dir ]] && rmdir "$dir/conmon" "$dir" 2>/dev/null
    done
    return 0
}

IMAGE=localhost/isokit-busybox:test

# pod RUNTIME ARGS...: podman with this run's storage and the runtime.
pod() {
    local runtime=$BATS_FILE_TMPDIR/wrap/$1/isokit-oci
    [[ $1 == runc ]] && runtime=$BATS_FILE_TMPDIR/wrap/runc/runc
    shift
    podman --root "$BATS_FILE_TMPDIR/root" --runroot "$BATS_FILE_TMPDIR/runroot" \
        --tmpdir "$BATS_FILE_TMPDIR/tmp" --runtime "$runtime" "$@"
}

# The host directory of a process's cgroup in the v1 hierarchy of $2 (or
# v2 when that controller has no v1 hierarchy).
cgroup_dir() {
    local line mount
    line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup" || true)
    mount=$(awk -v c="$2" '$9 == "cgroup" && $NF ~ ("(^|,)" c "(,|$)") {print $5}' /proc/self/mountinfo)
    if [[ -z $line || -z $mount ]]; then
        line=$(grep '^0::' "/proc/$1/cgroup")
        mount=$(awk '$9 == "cgroup2" {print $5}' /proc/self/mountinfo)
    fi
    echo "$mount${line#*:*:}"
}

check_run_rm() {
    run pod "$1" run --rm --network none "$IMAGE" sh -c 'echo hi; ls /sys/class/net; exit 3'
    assert_status 3
    assert_equal "$output" $'hi\nlo'
    # A command that is not in the image: 127, as docker says it, and the
    # runtime's state of the container gone with it.
    local before
    before=$(ls -A "$BATS_FILE_TMPDIR/isokit-state" "$BATS_FILE_TMPDIR/runc-state" 2>/dev/null || true)
    run -127 pod "$1" run --rm --network none "$IMAGE" /no/such/program
    assert_equal "$(ls -A "$BATS_FILE_TMPDIR/isokit-state" "$BATS_FILE_TMPDIR/runc-state" 2>/dev/null || true)" "$before"
}

check_options() {
    # conmon reads the container's stdout and stderr from two pipes, so their
    # order in $output is a race: the script inside merges them itself.
    mkdir -p "$BATS_TEST_TMPDIR/vol"
    echo data >"$BATS_TEST_TMPDIR/vol/f"
    run pod "$1" run --rm --network none -v "$BATS_TEST_TMPDIR/vol:/data:ro" --read-only --user 1000:1000 \
        --cap-drop ALL --cap-add NET_BIND_SERVICE "$IMAGE" sh -c \
        'exec 2>&1; cat /data/f; grep -E "^(Uid|CapBnd):" /proc/self/status; touch /x || echo root-ro; touch /data/y || echo vol-ro'
    assert_status 0
    assert_equal "$output" $'data\nUid:\t1000\t1000\t1000\t1000\nCapBnd:\t0000000000000400\ntouch: /x: Read-only file system\nroot-ro\ntouch: /data/y: Read-only file system\nvol-ro'
}

check_detached() {
    local id pid memory pids
    id=$(pod "$1" run -d --network none --memory 64m --pids-limit 50 "$IMAGE" sleep 1000)
    pid=$(pod "$1" inspect --format '{{.State.Pid}}' "$id")
    [[ $pid -gt 0 ]] || fail "no pid: $pid"
    run pod "$1" inspect --format '{{.State.Status}}' "$id"
    assert_equal "$output" running
    memory=$(cgroup_dir "$pid" memory)
    pids=$(cgroup_dir "$pid" pids)
    assert_equal "$(cat "$memory/memory.limit_in_bytes" 2>/dev/null || cat "$memory/memory.max")" 67108864
    assert_equal "$(cat "$pids/pids.max")" 50
    # podman reads the container's cgroup from the reported pid's
    # /proc/PID/cgroup (stats, top): the v2 line too must name the
    # container's cgroup, as must an exec'd process's (no cgroup namespace
    # on a v1 or hybrid host: these are the host's paths).
    local v2 want
    want=$(grep -E '^[0-9]+:pids:' "/proc/$pid/cgroup" | cut -d: -f3-)
    [[ $want == */libpod-$id ]] || fail "pid $pid not in the container's pids cgroup: $want"
    if v2=$(grep '^0::' "/proc/$pid/cgroup"); then
        assert_equal "${v2#0::}" "$want"
        run pod "$1" exec "$id" grep -E '^(0:|[0-9]+:pids):' /proc/self/cgroup
        assert_status 0
        assert_equal "$(cut -d: -f3- <<<"$output" | sort -u)" "$want"
    fi
    # exec: the container's hostname and pid namespace.
    run pod "$1" exec "$id" sh -c 'hostname; cat /proc/1/status | grep -c .'
    assert_status 0
    assert_equal "${lines[0]}" "${id:0:12}"
    # The reported pid is the container's process, in its namespaces:
    # nsenter -t PID and podman top join them, and see the container
    # only (with isokit-oci: the init and sleep; with runc: sleep).
    [[ $(readlink "/proc/$pid/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] || fail "pid $pid is in the host's pid namespace"
    run nsenter --target "$pid" --uts hostname
    assert_equal "$output" "${id:0:12}"
    run pod "$1" top "$id" pid args
    assert_status 0
    [[ $output == *"sleep 1000"* ]] || fail "top: $output"
    ((${#lines[@]} <= 3)) || fail "top lists more than the container: $output"
    # stop: with isokit-oci, SIGTERM reaches sleep through the init (143)
    # well within the grace period. runc makes sleep PID 1, which the
    # kernel shields from a signal it has no handler for: killed after
    # the grace period (137). That difference is the expected one.
    SECONDS=0
    run pod "$1" stop -t 3 "$id"
    assert_status 0
    if [[ $1 == runc ]]; then
        assert_equal "$(pod "$1" inspect --format '{{.State.ExitCode}}' "$id")" 137
    else
        ((SECONDS < 3)) || fail "stop took ${SECONDS}s: SIGTERM did not end the process"
        assert_equal "$(pod "$1" inspect --format '{{.State.ExitCode}}' "$id")" 143
    fi
    pod "$1" rm "$id" >/dev/null
    # Nothing left: the process, its cgroups, the runtime's state.
    [[ ! -e /proc/$pid ]] || fail "process $pid left"
    [[ ! -d $memory && ! -d $pids ]] || fail "cgroup left: $memory $pids"
    run ls -A "$BATS_FILE_TMPDIR/isokit-state" "$BATS_FILE_TMPDIR/runc-state"
    [[ $output != *"$id"* ]] || fail "runtime state left: $output"
}

check_kill() {
    local id
    id=$(pod "$1" run -d --network none "$IMAGE" sleep 1000)
    pod "$1" kill -s KILL "$id" >/dev/null
    run pod "$1" wait "$id"
    assert_equal "$output" 137
    pod "$1" rm "$id" >/dev/null
}

check_tty() {
    run python3 "$BATS_TEST_DIRNAME/pty/harness.py" term 'expect:# ' 'send:tty\n' 'expect:(/dev/pts/\d+)' \
        'send:exit 7\n' -- podman --root "$BATS_FILE_TMPDIR/root" --runroot "$BATS_FILE_TMPDIR/runroot" \
        --tmpdir "$BATS_FILE_TMPDIR/tmp" --runtime "$(runtime_path "$1")" run --rm -it --network none "$IMAGE" sh
    [[ $output == *"match: /dev/pts/0"* ]] || fail "no terminal of the container's own: $output"
    [[ $output == *"status 7"* ]] || fail "exit status not passed on: $output"
}

check_exec_tty() {
    local id
    id=$(pod "$1" run -d --network none "$IMAGE" sleep 1000)
    run python3 "$BATS_TEST_DIRNAME/pty/harness.py" term 'expect:# ' 'send:tty; exit 5\n' 'expect:(/dev/pts/\d+)' \
        -- podman --root "$BATS_FILE_TMPDIR/root" --runroot "$BATS_FILE_TMPDIR/runroot" \
        --tmpdir "$BATS_FILE_TMPDIR/tmp" --runtime "$(runtime_path "$1")" exec -it "$id" sh
    [[ $output == *"match: /dev/pts/"* ]] || fail "no terminal: $output"
    [[ $output == *"status 5"* ]] || fail "exit status not passed on: $output"
    pod "$1" rm -f -t 0 "$id" >/dev/null
}

# check_joins_container RUNTIME NS OPTION SCRIPT EXPECTED: a second
# container run with --OPTION container:OTHER reads OTHER's NS namespace
# inode (not the host's) inside, and SCRIPT in it prints EXPECTED. podman
# gives the runtime OTHER's namespace as /proc/PID/ns/NS, PID the one the
# runtime reported for OTHER (for isokit-oci its init; the launcher, in
# the host's namespaces, before). Both containers read the namespace from
# the kernel.
check_joins_container() {
    local other want
    other=$(pod "$1" run -d --network none "$IMAGE" sleep 1000)
    want=$(pod "$1" exec "$other" stat -L -c %i "/proc/self/ns/$2")
    [[ $want =~ ^[0-9]+$ ]] || fail "no inode from $other: $want"
    [[ $want != $(stat -L -c %i "/proc/self/ns/$2") ]] || fail "$other is in the host's $2 namespace"
    local network=(--network none)
    [[ $3 != network ]] || network=()
    run pod "$1" run --rm "${network[@]}" "--$3" "container:$other" "$IMAGE" sh -c "stat -L -c %i /proc/self/ns/$2; $4"
    assert_status 0
    assert_equal "$output" "$want"$'\n'"$5"
    pod "$1" rm -f -t 0 "$other" >/dev/null
}

# --network container:OTHER: the second container has OTHER's lo only.
check_network_container() {
    check_joins_container "$1" net network 'ls /sys/class/net' lo
}

# --pid container:OTHER: the second container sees OTHER's process (its
# mount namespace, and so its /proc, stays its own).
check_pid_container() {
    # shellcheck disable=SC2016 # expanded inside the container
    check_joins_container "$1" pid pid 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <$f; echo; done | grep -x "sleep 1000 "' 'sleep 1000 '
}

# A pod: the infra container's network, IPC and UTS namespaces are joined
# by the other container (podman gives them as the infra's /proc/PID/ns
# paths); its PID and mount namespaces stay its own. Read inside both.
# check_pod RUNTIME [pid]: a pod's member and its infra container share
# net, ipc and uts (podman's default); with "pid", made with --share
# net,ipc,uts,pid, their pid namespace too. mnt is always each one's own.
check_pod() {
    local pod=pod-$1-$$ member infra share=() pid_shared=${2:-}
    [[ -z $pid_shared ]] || share=(--share 'net,ipc,uts,pid')
    pod "$1" image exists localhost/isokit-busybox-sleep:test ||
        pod "$1" import --change 'ENTRYPOINT ["sleep", "1000"]' - localhost/isokit-busybox-sleep:test \
            < <(tar -C "$(make_rootfs)" -c .) >/dev/null
    pod "$1" pod create --name "$pod" --network none "${share[@]}" --infra-image localhost/isokit-busybox-sleep:test >/dev/null
    member=$(pod "$1" run -d --pod "$pod" "$IMAGE" sleep 1000)
    infra=$(pod "$1" pod inspect "$pod" --format '{{.InfraContainerID}}')
    local script='for n in net ipc uts pid mnt; do stat -L -c %i /proc/self/ns/$n; done'
    local a b
    a=$(pod "$1" exec "$member" sh -c "$script" | tr '\n' ' ')
    b=$(pod "$1" exec "$infra" sh -c "$script" | tr '\n' ' ')
    pod "$1" pod rm -f -t 0 "$pod" >/dev/null
    read -r -a a <<<"$a"
    read -r -a b <<<"$b"
    ((${#a[@]} == 5 && ${#b[@]} == 5)) || fail "member: ${a[*]}; infra: ${b[*]}"
    assert_equal "${a[*]:0:3}" "${b[*]:0:3}"
    if [[ -n $pid_shared ]]; then
        assert_equal "${a[3]}" "${b[3]}"
        [[ ${a[3]} != $(stat -L -c %i /proc/self/ns/pid) ]] || fail "the pod is in the host's pid namespace"
    else
        [[ ${a[3]} != "${b[3]}" ]] || fail "pid shared: ${a[*]} / ${b[*]}"
    fi
    [[ ${a[4]} != "${b[4]}" ]] || fail "mnt shared: ${a[*]} / ${b[*]}"
    [[ ${a[0]} != $(stat -L -c %i /proc/self/ns/net) ]] || fail "the pod is in the host's network namespace"
}


runtime_path() {
    if [[ $1 == runc ]]; then echo "$BATS_FILE_TMPDIR/wrap/runc/runc"; else echo "$BATS_FILE_TMPDIR/wrap/isokit/isokit-oci"; fi
}

@test "isokit-oci: run --rm passes output and exit status, --network none" { check_run_rm isokit; }
@test "runc: run --rm passes output and exit status, --network none" { check_run_rm runc; }
@test "isokit-oci: -v :ro, --read-only, --user, --cap-drop/--cap-add" { check_options isokit; }
@test "runc: -v :ro, --read-only, --user, --cap-drop/--cap-add" { check_options runc; }
@test "isokit-oci: -d with limits in the cgroup files, exec, stop, rm leaves nothing" { check_detached isokit; }
@test "runc: -d with limits in the cgroup files, exec, stop, rm leaves nothing" { check_detached runc; }
@test "isokit-oci: kill -s KILL (137)" { check_kill isokit; }
@test "runc: kill -s KILL (137)" { check_kill runc; }
@test "isokit-oci: run -it gives a terminal of the container's own, exit 7" { check_tty isokit; }
@test "runc: run -it gives a terminal of the container's own, exit 7" { check_tty runc; }
@test "isokit-oci: exec -it" { check_exec_tty isokit; }
@test "runc: exec -it" { check_exec_tty runc; }
@test "isokit-oci: run --network container:OTHER shares OTHER's network namespace" { check_network_container isokit; }
@test "runc: run --network container:OTHER shares OTHER's network namespace" { check_network_container runc; }
@test "isokit-oci: run --pid container:OTHER shares OTHER's pid namespace" { check_pid_container isokit; }
@test "runc: run --pid container:OTHER shares OTHER's pid namespace" { check_pid_container runc; }
@test "isokit-oci: a pod's container joins the infra's net, ipc and uts namespaces" { check_pod isokit; }
@test "runc: a pod's container joins the infra's net, ipc and uts namespaces" { check_pod runc; }
@test "isokit-oci: a pod made with --share pid: its container joins the infra's pid namespace too" { check_pod isokit pid; }
@test "runc: a pod made with --share pid: its container joins the infra's pid namespace too" { check_pod runc pid; }
