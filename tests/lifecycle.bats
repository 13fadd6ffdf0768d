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

@test "cexec -u, -w, -e: the user, directory and environment the kernel shows CMD" {
    run sandboxed "$ROOT/scripts/contain" -d --name opts --user nobody -e FROM_RUN=run -w /tmp -- sleep 30
    assert_status 0
    wait_for test -s "$ISOKIT_STATE/opts/pid"
    # The container's environment and directory by default, as docker exec.
    run "$ROOT/scripts/cexec" opts sh -c 'readlink /proc/self/cwd; echo "$FROM_RUN"'
    assert_status 0
    assert_equal "${lines[0]}" /tmp
    assert_equal "${lines[1]}" run
    # The container's user by default, -u replaces it (real and effective).
    run "$ROOT/scripts/cexec" opts awk '/^Uid:/ {print $2, $3}' /proc/self/status
    assert_status 0
    assert_equal "$output" "65534 65534"
    run "$ROOT/scripts/cexec" -u root opts awk '/^Uid:/ {print $2, $3}' /proc/self/status
    assert_status 0
    assert_equal "$output" "0 0"
    # The directory is resolved inside the container's root.
    run "$ROOT/scripts/cexec" -w /etc -e GREETING=hello opts sh -c 'readlink /proc/self/cwd; echo "$GREETING"'
    assert_status 0
    assert_equal "${lines[0]}" /etc
    assert_equal "${lines[1]}" hello
    run "$ROOT/scripts/cexec" -w /no/such/dir opts true
    assert_status 125
    assert_equal "$output" "cexec: cannot change to '/no/such/dir' in container 'opts': no such directory"
    run "$ROOT/scripts/cexec" -w etc opts true
    assert_status 125
    run "$ROOT/scripts/cexec" -e 'not a name=1' opts true
    assert_status 125
    "$ROOT/scripts/ckill" opts KILL
    wait_for test ! -e "$ISOKIT_STATE/opts"
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

@test "cps: MEMORY is what the container's own cgroup accounts, never the cgroup of its caller" {
    run sandboxed "$ROOT/scripts/contain" -d --name own --memory 64M -- sleep 30
    assert_status 0
    run sandboxed "$ROOT/scripts/contain" -d --name plain -- sleep 30
    assert_status 0
    wait_for test -s "$ISOKIT_STATE/own/pid"
    wait_for test -s "$ISOKIT_STATE/plain/pid"
    run "$ROOT/scripts/cps"
    assert_status 0
    local own plain memory_line
    own=$(awk '$1 == "own" {print $4}' <<<"$output")
    plain=$(awk '$1 == "plain" {print $4}' <<<"$output")
    [[ $own == [0-9]*[KMG] ]] || fail "own: '$own' in $output"
    # plain's memory cgroup, as the kernel shows it: v1's where there is
    # one, else v2's. Unless it is plain's own, cps has no figure.
    memory_line=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' "/proc/$(cat "$ISOKIT_STATE/plain/pid")/cgroup" ||
        grep '^0::' "/proc/$(cat "$ISOKIT_STATE/plain/pid")/cgroup")
    if [[ $memory_line != *"/isokit/$(cat "$ISOKIT_STATE/plain/cgroup")" ]]; then
        assert_equal "$plain" -
    fi
}

@test "cexec joins every cgroup of the container: v1 hierarchies too; accepts --" {
    run sandboxed "$ROOT/scripts/contain" -d --name limits --memory 48M --pids-limit 20 -- sleep 30
    assert_status 0
    wait_for test -s "$ISOKIT_STATE/limits/pid"
    local init
    init=$(cat "$ISOKIT_STATE/limits/pid")
    run "$ROOT/scripts/cexec" limits -- sh -c 'sed "s/^/inside /" /proc/self/cgroup'
    assert_status 0
    ((${#lines[@]} >= 2)) || fail "cgroup lines: $output"
    local line
    for line in "${lines[@]}"; do
        # The cgroup namespace's root is the container's cgroup, in every
        # hierarchy: a process outside it sees "/..".
        [[ $line == inside\ *:/ ]] || fail "outside the container's cgroup: $line"
    done
}

@test "a stale pidfile naming another container's init is not trusted by ckill, cexec, cps" {
    run sandboxed "$ROOT/scripts/contain" -d --name victim -- sleep 30
    assert_status 0
    wait_for test -s "$ISOKIT_STATE/victim/pid"
    local init
    init=$(cat "$ISOKIT_STATE/victim/pid")
    # The state a contain killed with SIGKILL leaves, its PID since reused
    # by victim's init; its owner is gone (start time 0 never matches).
    mkdir "$ISOKIT_STATE/ghost"
    echo "$init" >"$ISOKIT_STATE/ghost/pid"
    echo ghost.000000000000 >"$ISOKIT_STATE/ghost/cgroup"
    echo "$$" >"$ISOKIT_STATE/ghost/owner"
    echo 0 >"$ISOKIT_STATE/ghost/owner-start"
    : >"$ISOKIT_STATE/ghost/capdrop"
    echo ghost >"$ISOKIT_STATE/ghost/hostname"
    run "$ROOT/scripts/ckill" ghost KILL
    assert_status 125
    run "$ROOT/scripts/cexec" ghost true
    assert_status 125
    kill -0 "$init" || fail "ckill ghost killed victim's init"
    run "$ROOT/scripts/cps"
    [[ $output != *ghost* ]] || fail "cps lists ghost: $output"
    [[ ! -e $ISOKIT_STATE/ghost ]] || fail "ghost's state was not pruned"
}

@test "the same name under two state directories: two cgroups, neither's limits touched" {
    local name="twin$BATS_ROOT_PID"
    run sandboxed "$ROOT/scripts/contain" -d --name "$name" --pids-limit 21 -- sleep 30
    assert_status 0
    run sandboxed env ISOKIT_STATE="$BATS_TEST_TMPDIR/other" "$ROOT/scripts/contain" -d --name "$name" --pids-limit 9 -- sleep 30
    assert_status 0
    wait_for test -s "$ISOKIT_STATE/$name/pid"
    wait_for test -s "$BATS_TEST_TMPDIR/other/$name/pid"
    local first second
    first=$(awk -F: '$2 == "pids" {print $3}' "/proc/$(cat "$ISOKIT_STATE/$name/pid")/cgroup")
    second=$(awk -F: '$2 == "pids" {print $3}' "/proc/$(cat "$BATS_TEST_TMPDIR/other/$name/pid")/cgroup")
    [[ $first != "$second" ]] || fail "both in $first"
    assert_equal "$(cat "/sys/fs/cgroup/pids$first/pids.max")" 21
    assert_equal "$(cat "/sys/fs/cgroup/pids$second/pids.max")" 9
    ISOKIT_STATE="$BATS_TEST_TMPDIR/other" "$ROOT/scripts/ckill" "$name" KILL
    wait_for test ! -e "$BATS_TEST_TMPDIR/other/$name"
}

@test "a state directory without its owner yet is left alone while new, pruned once a minute old" {
    # contain claims a name with mkdir, then writes the owner: meanwhile
    # another launch's prune must not take the directory away.
    mkdir -p "$ISOKIT_STATE/young" "$ISOKIT_STATE/old"
    touch -d '-2 minutes' "$ISOKIT_STATE/old"
    run "$ROOT/scripts/cps"
    assert_status 0
    run ls -A "$ISOKIT_STATE"
    assert_equal "$output" young
}

@test "a container whose owner files are mid-handover (contain -d) is kept while its successor lives" {
    # owner and owner-start mismatched, as between the supervisor's two
    # writes; successor names a live process (this shell), then a dead one.
    local start
    start=$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$$/stat")
    mkdir -p "$ISOKIT_STATE/handed"
    echo "$$" >"$ISOKIT_STATE/handed/owner"
    echo 0 >"$ISOKIT_STATE/handed/owner-start"
    echo "$$ $start" >"$ISOKIT_STATE/handed/successor"
    : >"$ISOKIT_STATE/handed/cgroup"
    run "$ROOT/scripts/cps"
    assert_status 0
    [[ -d $ISOKIT_STATE/handed ]] || fail "released while its successor lives"
    echo "$$ 0" >"$ISOKIT_STATE/handed/successor"
    run "$ROOT/scripts/cps"
    assert_status 0
    [[ ! -e $ISOKIT_STATE/handed ]] || fail "kept with no live owner or successor"
}

@test "half-made claims of dead launches are pruned, a live one's kept" {
    mkdir -p "$ISOKIT_STATE/.claim-dead" "$ISOKIT_STATE/.claim-old" "$ISOKIT_STATE/.claim-new" "$ISOKIT_STATE/.claim-live"
    echo "$$" >"$ISOKIT_STATE/.claim-dead/owner"
    echo 0 >"$ISOKIT_STATE/.claim-dead/owner-start"
    touch -d '-2 minutes' "$ISOKIT_STATE/.claim-old"
    echo "$$" >"$ISOKIT_STATE/.claim-live/owner"
    awk '{sub(/.*\) /, ""); print $20}' "/proc/$$/stat" >"$ISOKIT_STATE/.claim-live/owner-start"
    run "$ROOT/scripts/cps"
    assert_status 0
    run ls -A "$ISOKIT_STATE"
    assert_equal "$output" $'.claim-live\n.claim-new'
}

# Does any hierarchy still hold container $1's cgroup (isokit/NAME or
# isokit/NAME.HASH)?
cgroup_left() {
    compgen -G "/sys/fs/cgroup/*/isokit/$1" || compgen -G "/sys/fs/cgroup/*/isokit/$1.*" ||
        compgen -G "/sys/fs/cgroup/isokit/$1" || compgen -G "/sys/fs/cgroup/isokit/$1.*"
}

# Start container $1 with 20 processes, wait for its init; INIT is its PID.
start_crowd() {
    sandboxed_bg "$ROOT/scripts/contain" --name "$1" --pids-limit 50 -- sh -c 'for i in $(seq 20); do sleep 30 & done; exec sleep 30'
    wait_for test -s "$ISOKIT_STATE/$1/pid"
    INIT=$(cat "$ISOKIT_STATE/$1/pid")
}

# Killed processes leave their cgroup a moment after their parent sees
# them die: a release that gives up on the first EBUSY leaked the cgroup
# in most of these tries.
@test "a chain launcher killed with SIGKILL leaves no cgroup behind (15 tries)" {
    local i name launcher leaked=0
    for i in $(seq 15); do
        name="leak$BATS_ROOT_PID-$i"
        start_crowd "$name"
        launcher=$(awk '{sub(/.*\) /, ""); print $2}' "/proc/$INIT/stat")
        kill -KILL "$launcher"
        wait "$BG_PID" || true
        cgroup_left "$name" && leaked=$((leaked + 1))
    done
    assert_equal "$leaked" 0
}

@test "contain killed with SIGKILL, then ckill KILL and cps: no cgroup behind (15 tries)" {
    local i name leaked=0
    for i in $(seq 15); do
        name="orphan$BATS_ROOT_PID-$i"
        start_crowd "$name"
        kill -KILL "$BG_PID"
        wait "$BG_PID" || true
        "$ROOT/scripts/ckill" "$name" KILL
        # Once the init is gone, the next cps must release everything.
        wait_for_gone "$INIT"
        "$ROOT/scripts/cps" >/dev/null
        cgroup_left "$name" && leaked=$((leaked + 1))
    done
    assert_equal "$leaked" 0
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
