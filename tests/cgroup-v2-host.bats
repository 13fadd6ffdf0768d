#!/usr/bin/env bats
# What scripts/vm-test promises about its guest, checked from inside it with
# plain writes to cgroup files (no isokit tool involved): cgroup2 is the only
# cgroup filesystem, it offers the controllers the suites need, and a memory
# limit set in a child cgroup is enforced by a real OOM kill.
#
# Meaningful only inside the VM: on a hybrid or v1 host every check would
# fail, and on a real pure-v2 host it would write into the root cgroup. So it
# skips unless the rig says it is the VM (ISOKIT_VM=1); once the rig says so,
# a mount that is not cgroup2 is a failure, not a skip.

load helpers

setup() {
    if [[ ${ISOKIT_VM:-} != 1 ]]; then
        skip "runs only inside the pure cgroup-v2 VM: sudo scripts/vm-test tests/cgroup-v2-host.bats"
    fi
    local fstype
    fstype=$(stat -f -c %T /sys/fs/cgroup)
    if [[ $fstype != cgroup2fs ]]; then
        fail "ISOKIT_VM=1 but /sys/fs/cgroup is $fstype, not cgroup2: the VM rig is broken"
    fi
    CG=/sys/fs/cgroup/isokit-v2-host-$BATS_TEST_NUMBER-$$
    ROOT_SUBTREE=$(cat /sys/fs/cgroup/cgroup.subtree_control)
}

teardown() {
    # A container the contain test started and could not stop.
    [[ ! -d ${ISOKIT_STATE:-/nonexistent}/v2c ]] || "$ROOT/scripts/ckill" v2c KILL 2>/dev/null || true
    [[ -n ${CG:-} && -d $CG ]] || return 0
    local pid
    for pid in $(cat "$CG/cgroup.procs"); do kill -KILL "$pid" 2>/dev/null || true; done
    wait_for rmdir "$CG"
    # Leave the root's subtree_control as the test found it.
    if [[ " $ROOT_SUBTREE " != *" memory "* ]]; then
        echo -memory >/sys/fs/cgroup/cgroup.subtree_control || true
    fi
}

@test "cgroup2 on /sys/fs/cgroup is the only cgroup filesystem mounted" {
    # Field 5 of mountinfo is the mount point, the first field after " - " the type.
    run awk '{ for (i = 7; $i != "-"; i++); if ($(i + 1) ~ /^cgroup/) print $5, $(i + 1) }' /proc/self/mountinfo
    assert_status 0
    assert_equal "$output" "/sys/fs/cgroup cgroup2"
}

@test "no cgroup v1 hierarchy can be mounted (the kernel runs with cgroup_no_v1=all,named)" {
    local dir="$BATS_TEST_TMPDIR/v1"
    mkdir "$dir"
    # In a throwaway mount namespace, so a success would not outlive the test.
    run sandboxed mount -t cgroup -o memory isokit-v1 "$dir"
    [[ $status != 0 ]] || fail "a v1 memory hierarchy was mounted: $output"
    run sandboxed mount -t cgroup -o none,name=isokit isokit-v1 "$dir"
    [[ $status != 0 ]] || fail "a named v1 hierarchy was mounted: $output"
}

@test "cgroup.controllers offers cpuset cpu io memory pids" {
    local controllers want
    read -r controllers </sys/fs/cgroup/cgroup.controllers
    for want in cpuset cpu io memory pids; do
        [[ " $controllers " == *" $want "* ]] || fail "$want missing from: $controllers"
    done
}

@test "the tests run as root and can create every kind of namespace" {
    assert_equal "$(id -u)" 0
    run unshare --user --map-root-user --mount --uts --ipc --net --pid --cgroup --time --fork \
        sh -c 'echo $$; id -u'
    assert_status 0
    assert_equal "$output" $'1\n0'
}

# run_in_child_cgroup LIMIT SIZE: in a fresh child cgroup with memory.max=LIMIT,
# make tail hold one SIZE-long line (it keeps the current line in memory and
# writes it only at the end). Prints the bytes tail wrote, then its status.
# The reporting bash is never the OOM killer's choice (oom_score_adj -1000),
# tail always is (1000): a CI run once saw bash killed right after tail,
# its next allocation made before tail's memory was given back.
run_in_child_cgroup() {
    grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
        echo +memory >/sys/fs/cgroup/cgroup.subtree_control
    mkdir "$CG"
    echo "$1" >"$CG/memory.max"
    echo 0 >"$CG/memory.swap.max"
    run bash -c 'echo -1000 >/proc/self/oom_score_adj || exit 98
        echo $$ >"$1/cgroup.procs" || exit 99
        head -c "$2" /dev/zero | (echo 1000 >/proc/self/oom_score_adj && exec tail -n 1) | wc -c
        echo "tail status ${PIPESTATUS[1]}"' bash "$CG" "$2"
}

@test "memory.max=32M in a child cgroup OOM-kills a process that allocates beyond it" {
    run_in_child_cgroup 32M 256M
    assert_status 0
    # 137 = 128 + SIGKILL, the OOM killer's signal; nothing reached wc.
    assert_equal "$output" $'0\ntail status 137'
    assert_equal "$(cat "$CG/memory.max")" 33554432
    run grep '^oom_kill ' "$CG/memory.events"
    [[ $output =~ ^oom_kill\ [1-9] ]] || fail "memory.events: $output"
}

@test "memory.max=32M in a child cgroup lets a process that stays under it finish" {
    run_in_child_cgroup 32M 4M
    assert_status 0
    assert_equal "$output" $'4194304\ntail status 0'
    run grep '^oom_kill ' "$CG/memory.events"
    assert_equal "$output" "oom_kill 0"
}

# unshare-lite --cgroup-dir (issue 17): the init is born in the cgroup with
# clone3(CLONE_INTO_CGROUP), never moved there. The command reads its own
# cgroup and PID 1's (the init's) from the kernel, before anything could
# have moved them.
@test "unshare-lite --cgroup-dir: the init and its command are in the cgroup from their first instruction" {
    mkdir "$CG"
    run unshare-lite --pid --mount-proc --cgroup-dir "$CG" -- sh -c 'cat /proc/self/cgroup /proc/1/cgroup'
    assert_status 0
    assert_equal "$output" "0::/${CG#/sys/fs/cgroup/}"$'\n'"0::/${CG#/sys/fs/cgroup/}"
}

@test "cgset without a command makes the cgroup and its limit; unshare-lite --cgroup-dir starts the init in it" {
    local name=v2-host-cgdir-$$
    cgset --name "$name" --memory 64M
    run unshare-lite --pid --mount-proc --cgroup-dir "/sys/fs/cgroup/isokit/$name" -- \
        sh -c 'cat /proc/self/cgroup /proc/1/cgroup; cat /sys/fs/cgroup/isokit/'"$name"'/memory.max'
    cgset --remove --name "$name"
    assert_status 0
    assert_equal "$output" "0::/isokit/$name"$'\n'"0::/isokit/$name"$'\n'67108864
}

# contain on a pure v2 host (issue 17): cgset makes and limits the v2
# cgroup and leaves it (--leave-v2); unshare-lite clones the init into it
# (--cgroup-dir). The kernel shows the init there, the limits in its
# files, and the launcher (the init's parent) outside it.
@test "contain: the init starts inside its v2 cgroup with the limits; its launcher stays outside" {
    local image=$BATS_TEST_TMPDIR/image pid launcher cgroup
    export ISOKIT_STATE=$BATS_TEST_TMPDIR/state
    "$ROOT/scripts/mkrootfs" busybox "$image" >/dev/null
    run "$ROOT/scripts/contain" -d --name v2c --rootfs "$image" --net none --memory 64M --pids-limit 32 -- sleep 100
    assert_status 0
    read -r pid <"$ISOKIT_STATE/v2c/pid"
    cgroup=$(grep '^0::' "/proc/$pid/cgroup")
    cgroup=${cgroup#0::}
    [[ $cgroup == /isokit/v2c.* ]] || fail "the init is in '$cgroup'"
    assert_equal "$(cat "/sys/fs/cgroup$cgroup/memory.max")" 67108864
    assert_equal "$(cat "/sys/fs/cgroup$cgroup/pids.max")" 32
    read -r _ _ _ launcher _ <"/proc/$pid/stat"
    grep -q '^0::' "/proc/$launcher/cgroup" || fail "no cgroup line for the launcher $launcher"
    ! grep -qx "0::$cgroup" "/proc/$launcher/cgroup" || fail "the launcher $launcher is in $cgroup"
    "$ROOT/scripts/ckill" v2c KILL
}
