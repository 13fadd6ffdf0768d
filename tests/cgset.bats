#!/usr/bin/env bats
# cgset: cgroup limits and membership. Runs on v1, hybrid and pure v2
# hosts alike: every file is found through /proc/self/mountinfo and
# /proc/self/cgroup (tests/cgroup.bash), and values are checked in the
# file the running mode uses, as the kernel reads them back.
#
# Each test uses its own cgroup name and removes it in teardown.

load helpers
load cgroup

setup_file() {
    cg_remember_parents
}

teardown_file() {
    cg_forget_parents
}

setup() {
    NAME="isokit-test-$$-$BATS_TEST_NUMBER"
    EXTRA_NAMES=()
}

teardown() {
    local name
    if [[ -n ${BG_PID:-} ]]; then
        kill -KILL "$BG_PID" 2>/dev/null || true
        wait "$BG_PID" 2>/dev/null || true
    fi
    for name in "$NAME" "${EXTRA_NAMES[@]}"; do
        cg_cleanup "$name"
    done
    # After the cgroups are gone: put back what a test enabled.
    restore_subtree_control
}

# Run a bash script inside cgset OPTIONS..., with the cgroup helpers defined.
# in_cgset OPTION... -- SCRIPT
in_cgset() {
    local options=()
    while [[ $1 != -- ]]; do
        options+=("$1")
        shift
    done
    run --separate-stderr sandboxed cgset --name "$NAME" "${options[@]}" -- bash -c "$CG_FUNCS; $2"
}

# swap_limit_supported NAME: whether memory plus swap can be limited, as the
# kernel shows it in the files of the existing cgroup NAME: v1 needs swap
# accounting for memory.memsw.*; v2 offers memory.swap.max unless it is off.
swap_limit_supported() {
    local leaf
    leaf=$(cg_leaf memory "$1")
    if [[ $(cg_mode memory) == v1 ]]; then
        [[ -e $leaf/memory.memsw.limit_in_bytes ]]
    else
        [[ -e $leaf/memory.swap.max ]]
    fi
}

assert_no_cgroup_left() {
    local left
    left=$(cg_left "$1")
    [[ -z $left ]] || fail "left behind: $left"
}

@test "limits are read back from the files of the cgroup the command is in" {
    in_cgset --memory 32M --pids 20 --cpu-weight 200 -- '
        cg_read memory memory.max memory.limit_in_bytes
        cg_read pids pids.max pids.max
        cg_read cpu cpu.weight cpu.shares
        cat /proc/self/cgroup'
    assert_status 0
    assert_equal "${lines[0]}" 33554432
    assert_equal "${lines[1]}" 20
    # v1: cpu.shares = 2 + ceil((200-1)*262142/9999), see cgset(1).
    if [[ $(cg_mode cpu) == v1 ]]; then assert_equal "${lines[2]}" 5220; else assert_equal "${lines[2]}" 200; fi
    # The command is in isokit/NAME of each hierarchy cgset drove, and of v2.
    local controller line
    for controller in memory pids cpu ""; do
        if [[ -z $controller || $(cg_mode "$controller") == v2 ]]; then
            line=$(grep '^0::' <<<"$output")
        else
            line=$(grep -E "^[0-9]+:([^:]*,)?$controller(,[^:]*)?:" <<<"$output")
        fi
        [[ $line == *":/isokit/$NAME" ]] || fail "${controller:-v2}: $line"
    done
}

# assert_in_target WHAT TEXT CONTROLLER...: in TEXT, a /proc/PID/cgroup,
# the line of the hierarchy holding each CONTROLLER (v2's for "") shows
# isokit/NAME. Each hierarchy is checked on its own, so a process left in
# its old cgroup of one hierarchy fails here.
assert_in_target() {
    local what=$1 text=$2 controller line
    shift 2
    for controller in "$@"; do
        if [[ -z $controller || $(cg_mode "$controller") == v2 ]]; then
            line=$(grep '^0::' <<<"$text" || true)
        else
            line=$(grep -E "^[0-9]+:([^:]*,)?$controller(,[^:]*)?:" <<<"$text" || true)
        fi
        [[ $line == *":/isokit/$NAME" ]] || fail "$what, ${controller:-v2}: '$line' in"$'\n'"$text" || return 1
    done
}

# cgset moves itself by writing 0 to each v1 hierarchy's tasks file (one
# thread, no wait for the threadgroup lock), cgroup.procs on v2: the kernel
# must show the command, and a child it forks afterwards, in every one.
@test "the command and a child it forks are in isokit/NAME of every hierarchy cgset drives" {
    in_cgset --memory 64M --pids 20 --cpus 1 --cpuset 0 -- '
        cat /proc/$$/cgroup
        echo --
        sh -c "cat /proc/\$\$/cgroup"'
    assert_status 0
    local command=${output%%$'\n'--$'\n'*} child=${output#*$'\n'--$'\n'}
    [[ $command != "$output" && -n $child ]] || fail "no separator: $output"
    assert_in_target command "$command" memory pids cpu cpuset ""
    assert_in_target child "$child" memory pids cpu cpuset ""
}

@test "--memory-swap limits memory plus swap (or fails cleanly where swap accounting is off)" {
    # Made first without swap, to see which files the kernel gives it.
    run --separate-stderr cgset --name "$NAME" --memory 32M
    assert_status 0
    if ! swap_limit_supported "$NAME"; then
        cg_cleanup "$NAME"
        run --separate-stderr sandboxed cgset --name "$NAME" --memory 32M --memory-swap 48M true
        assert_status 125
        assert_no_cgroup_left "$NAME"
        return
    fi
    in_cgset --memory 32M --memory-swap 48M -- 'cg_read memory memory.swap.max memory.memsw.limit_in_bytes'
    assert_status 0
    # v2 limits swap alone: 48M - 32M.
    if [[ $(cg_mode memory) == v1 ]]; then assert_equal "$output" 50331648; else assert_equal "$output" 16777216; fi
}

@test "a command allocating far beyond --memory is OOM-killed (137); one under it is not" {
    local swap=()
    run cgset --name "$NAME" --memory 32M
    assert_status 0
    swap_limit_supported "$NAME" && swap=(--memory-swap 32M)
    if ((${#swap[@]} == 0)) && [[ $(wc -l </proc/swaps) -gt 1 ]]; then
        skip "swap is on and cannot be limited here: the allocation could swap instead of OOM"
    fi
    # tail holds the whole newline-less input in memory: 200M really allocated.
    run sandboxed cgset --name "$NAME" --memory 32M "${swap[@]}" -- sh -c 'head -c 200M /dev/zero | tail >/dev/null'
    assert_status 137
    local events
    if [[ $(cg_mode memory) == v1 ]]; then
        events=$(cg_leaf memory "$NAME")/memory.oom_control
    else
        events=$(cg_leaf memory "$NAME")/memory.events
    fi
    grep -qx 'oom_kill [1-9][0-9]*' "$events" || fail "no OOM kill counted in $events: $(cat "$events")"

    local under="$NAME-under"
    EXTRA_NAMES+=("$under")
    run sandboxed cgset --name "$under" --memory 32M "${swap[@]}" -- sh -c 'head -c 8M /dev/zero | tail >/dev/null'
    assert_status 0
    if [[ $(cg_mode memory) == v1 ]]; then
        events=$(cg_leaf memory "$under")/memory.oom_control
    else
        events=$(cg_leaf memory "$under")/memory.events
    fi
    grep -qx 'oom_kill 0' "$events" || fail "unexpected OOM kill: $(cat "$events")"
}

# Inside the cgroup: sh plus 8 sleeps are 9 processes; a subshell is the
# 10th; the sleep it starts would be the 11th. The subshell reports the
# kernel's count, then whether its fork worked. dash exits on a failed
# fork (status 2), so the failure happens in the subshell, not the script.
pids_script='
f=$(cg_dir pids)/pids.current
exec sh -c '"'"'
pids=
for i in 1 2 3 4 5 6 7 8; do sleep 60 & pids="$pids $!"; done
( read n <"$1"; echo "count $n"; sleep 60 & echo "11th forked"; kill $! )
echo "subshell $?"
kill $pids
wait
'"'"' sh "$f"'

@test "--pids 10: the 11th concurrent process fails to fork; with --pids 11 it does not" {
    in_cgset --pids 10 -- "$pids_script"
    assert_status 0
    assert_equal "${lines[0]}" "count 10"
    assert_equal "${lines[1]}" "subshell 2"
    [[ $stderr == *"fork"* ]] || fail "no fork error: $stderr"
    grep -qx 'max 1' "$(cg_leaf pids "$NAME")/pids.events" || fail "pids.events: $(cat "$(cg_leaf pids "$NAME")/pids.events")"

    EXTRA_NAMES+=("$NAME")
    NAME="$NAME-11"
    in_cgset --pids 11 -- "$pids_script"
    assert_status 0
    assert_equal "${lines[*]}" "count 10 11th forked subshell 0"
}

@test "--cpus 0.5 is a quota of 50000 per 100000 microseconds" {
    in_cgset --cpus 0.5 -- '
        if [[ $(cg_mode cpu) == v1 ]]; then
            echo "$(cg_read cpu - cpu.cfs_quota_us) $(cg_read cpu - cpu.cfs_period_us)"
        else
            cg_read cpu cpu.max -
        fi'
    assert_status 0
    assert_equal "$output" "50000 100000"
}

@test "--cpuset 0 leaves only CPU 0 allowed" {
    in_cgset --cpuset 0 -- 'grep Cpus_allowed_list /proc/self/status; cg_read cpuset cpuset.cpus cpuset.cpus'
    assert_status 0
    assert_equal "${lines[0]}" $'Cpus_allowed_list:\t0'
    assert_equal "${lines[1]}" 0
}

@test "invalid values exit 125 before anything is created" {
    local words
    while IFS='|' read -r words expected; do
        # shellcheck disable=SC2086 # the table's words are split on purpose
        run --separate-stderr sandboxed cgset --name "$NAME" $words -- touch "$BATS_TEST_TMPDIR/ran"
        assert_status 125
        assert_equal "${stderr_lines[0]}" "cgset: $expected"
        assert_equal "${stderr_lines[1]}" "Try 'cgset --help' for more information."
        assert_no_cgroup_left "$NAME"
    done <<'EOF'
--memory 32X|invalid size '32X' (bytes, or a number with K, M or G, or max)
--memory 1.5G|invalid size '1.5G' (bytes, or a number with K, M or G, or max)
--memory 64M --memory-swap 32M|--memory-swap (memory plus swap) must be at least --memory
--memory-swap 64M|--memory-swap requires --memory
--cpus 0|invalid number of CPUs '0' (a decimal number from 0.01, or max)
--cpu-weight 10001|invalid weight '10001' (1 to 10000)
--pids -1|invalid number of processes '-1' (0 to 4194304, or max)
--cpuset 3-1|invalid CPU list '3-1' (e.g. 0 or 0-3,6)
--set memory.max|invalid --set 'memory.max' (FILE=VALUE)
--set ../../../etc/passwd=x|invalid control file '../../../etc/passwd' (controller.key, e.g. memory.high)
--set cgroup.procs=1|--set cannot write 'cgroup.procs': cgset manages it (use --pid to move processes)
EOF
    [[ ! -e $BATS_TEST_TMPDIR/ran ]] || fail "the command ran"
}

@test "names that could leave isokit/ are refused" {
    local name
    for name in ../escape /abs a//b a/../../b . ''; do
        run --separate-stderr sandboxed cgset --name "$name" --pids 5 true
        assert_status 125
        [[ ${stderr_lines[0]} == "cgset: invalid cgroup name '$name': "* ]] || fail "$name: $stderr"
    done
    local mount
    for mount in $(cg_all_mounts); do
        [[ ! -e $mount/escape && ! -e $mount/abs && ! -e $mount/b ]] || fail "made something in $mount"
    done
}

@test "a failure midway names the file and value and leaves no directory" {
    # A misspelled --set file: opened without create, so it is not made.
    run --separate-stderr sandboxed cgset --name "$NAME" --pids 5 --set pids.mx=5 -- touch "$BATS_TEST_TMPDIR/ran"
    assert_status 125
    local file
    file="$(cg_leaf pids "$NAME")/pids.mx"
    assert_equal "$stderr" "cgset: write '5' to '$file': No such file or directory"
    assert_no_cgroup_left "$NAME"
    # A value only the kernel can refuse: a CPU that does not exist.
    run --separate-stderr sandboxed cgset --name "$NAME" --cpuset 4095 -- touch "$BATS_TEST_TMPDIR/ran"
    assert_status 125
    file="$(cg_leaf cpuset "$NAME")/cpuset.cpus"
    [[ $stderr == "cgset: write '4095' to '$file': "* ]] || fail "$stderr"
    assert_no_cgroup_left "$NAME"
    [[ ! -e $BATS_TEST_TMPDIR/ran ]] || fail "the command ran"
}

@test "without PROG it applies, moves nothing and exits 0; --remove deletes it everywhere" {
    run --separate-stderr cgset --name "$NAME" --pids 7
    assert_status 0
    local leaf
    leaf=$(cg_leaf pids "$NAME")
    assert_equal "$(cat "$leaf/pids.max")" 7
    assert_equal "$(cat "$leaf/cgroup.procs")" ""
    [[ -d $(cg_leaf "" "$NAME") ]] || fail "no v2 cgroup"

    run --separate-stderr cgset --remove --name "$NAME"
    assert_status 0
    assert_no_cgroup_left "$NAME"
    run --separate-stderr cgset --remove --name "$NAME"
    assert_status 125
    assert_equal "$stderr" "cgset: no cgroup 'isokit/$NAME' in any hierarchy"
}

@test "--remove refuses a cgroup with a process in it, and takes empty ones below it" {
    cgset --name "$NAME" --pids 5 -- sleep 60 &
    BG_PID=$!
    wait_for grep -qx "$BG_PID" "$(cg_leaf pids "$NAME")/cgroup.procs"
    run --separate-stderr cgset --remove --name "$NAME"
    assert_status 125
    # The first hierarchy in mountinfo order that holds it is named.
    local busy="': Device or resource busy (processes are still in it)"
    [[ $stderr == "cgset: remove cgroup '$(cg_leaf pids "$NAME")$busy" ||
        $stderr == "cgset: remove cgroup '$(cg_leaf "" "$NAME")$busy" ]] || fail "$stderr"
    [[ -d $(cg_leaf pids "$NAME") ]] || fail "removed while busy"
    kill "$BG_PID"
    wait "$BG_PID" || true
    mkdir "$(cg_leaf pids "$NAME")/inner"
    run --separate-stderr cgset --remove --name "$NAME"
    assert_status 0
    assert_no_cgroup_left "$NAME"
}

@test "--pid moves another process (repeatable); cgset itself stays where it was" {
    sleep 60 &
    BG_PID=$!
    sleep 60 &
    local second=$!
    run --separate-stderr cgset --name "$NAME" --memory 64M --pid "$BG_PID" --pid "$second"
    assert_status 0
    local pid
    for pid in "$BG_PID" "$second"; do
        grep -q "^0::/isokit/$NAME\$" "/proc/$pid/cgroup" || fail "$pid v2: $(cat "/proc/$pid/cgroup")"
        grep -qx "$pid" "$(cg_leaf memory "$NAME")/cgroup.procs" || fail "$pid not in the memory cgroup"
    done
    kill "$second"
    wait "$second" || true
    run --separate-stderr cgset --name "$NAME" --pid 999999999
    assert_status 125
}

# has_threads PID N: whether process PID has at least N threads.
has_threads() {
    local tasks=(/proc/"$1"/task/*)
    ((${#tasks[@]} >= $2))
}

# --pid moves a whole process through cgroup.procs, never one thread:
# every thread of a multi-threaded process must land in the cgroup.
@test "--pid moves every thread of a multi-threaded process" {
    python3 -c '
import threading, time
for _ in range(3):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
time.sleep(60)' &
    BG_PID=$!
    wait_for has_threads "$BG_PID" 4
    run --separate-stderr cgset --name "$NAME" --memory 64M --pids 20 --pid "$BG_PID"
    assert_status 0
    # The TIDs of a cgroup: v1's tasks, v2's cgroup.threads.
    local task count=0 tids=cgroup.threads
    [[ $(cg_mode pids) == v1 ]] && tids=tasks
    for task in /proc/"$BG_PID"/task/*; do
        assert_in_target "thread ${task##*/}" "$(cat "$task/cgroup")" memory pids ""
        grep -qx "${task##*/}" "$(cg_leaf pids "$NAME")/$tids" || fail "thread ${task##*/} not in pids' $tids"
        count=$((count + 1))
    done
    ((count == 4)) || fail "expected 4 threads, saw $count"
}

@test "the default name is the PID that joins" {
    run --separate-stderr sandboxed cgset --pids 5 -- sh -c 'echo $$; grep "^0::" /proc/self/cgroup'
    assert_status 0
    EXTRA_NAMES+=("${lines[0]}")
    assert_equal "${lines[1]}" "0::/isokit/${lines[0]}"
}

@test "an existing cgroup is joined and its limits rewritten" {
    run cgset --name "$NAME" --pids 5
    assert_status 0
    in_cgset --pids 9 -- 'cg_read pids pids.max pids.max'
    assert_status 0
    assert_equal "$output" 9
}

@test "--set writes a control file of the cgroup" {
    in_cgset --set pids.max=30 -- 'cg_read pids pids.max pids.max'
    assert_status 0
    assert_equal "$output" 30
}

@test "cgset before unshare-lite --cgroup: the command sees its cgroups as /" {
    run --separate-stderr sandboxed cgset --name "$NAME" --memory 64M --pids 9 -- unshare-lite --cgroup -- cat /proc/self/cgroup
    assert_status 0
    grep -qx '0::/' <<<"$output" || fail "v2: $output"
    local controller
    for controller in memory pids; do
        if [[ $(cg_mode "$controller") == v1 ]]; then
            grep -qE "^[0-9]+:([^:]*,)?$controller(,[^:]*)?:/\$" <<<"$output" || fail "$controller: $output"
        fi
    done
}

# --leave-v2 makes and limits the v2 cgroup but leaves the move to the
# next step, which clones its child straight into it: the launcher (cgset's
# process, exec'd into unshare-lite) stays out of v2 and in the v1 ones.
@test "--leave-v2: unshare-lite --cgroup-dir starts the init in the v2 cgroup; the launcher stays outside it" {
    cg_find_mount cgroup2 >/dev/null || skip "no cgroup v2 hierarchy mounted"
    run --separate-stderr sandboxed cgset --name "$NAME" --pids 9 --leave-v2 -- \
        unshare-lite --cgroup-dir "$(cg_leaf "" "$NAME")" --pid -- sh -c '
        read -r _ _ _ init _ </proc/self/stat
        read -r _ _ _ launcher _ <"/proc/$init/stat"
        cat /proc/self/cgroup; echo --; cat "/proc/$launcher/cgroup"'
    assert_status 0
    local command=${output%%$'\n'--$'\n'*} launcher=${output#*$'\n'--$'\n'}
    [[ $command != "$output" && -n $launcher ]] || fail "no separator: $output"
    grep -qx "0::.*/isokit/$NAME" <<<"$command" || fail "command not in the v2 cgroup: $command"
    ! grep -qx "0::.*/isokit/$NAME" <<<"$launcher" || fail "launcher moved into the v2 cgroup: $launcher"
    if [[ $(cg_mode pids) == v1 ]]; then
        assert_in_target command "$command" pids
        assert_in_target launcher "$launcher" pids
    fi
    assert_equal "$(cat "$(cg_leaf pids "$NAME")/pids.max")" 9
}

# Without a name the next step could not be told where, and another
# process (--pid) has no next step.
@test "--leave-v2 without --name or PROG, or with --pid, exits 125 and makes nothing" {
    run --separate-stderr sandboxed cgset --leave-v2 -- true
    assert_status 125
    run --separate-stderr sandboxed cgset --name "$NAME" --leave-v2 --pid $$
    assert_status 125
    [[ $stderr == *"--leave-v2"* ]] || fail "$stderr"
    [[ ! -e $(cg_leaf "" "$NAME") ]] || fail "made $(cg_leaf "" "$NAME")"
}

@test "ISOKIT_TRACE=1 names the cgroup directories and the values written" {
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 cgset --name "$NAME" --pids 5 -- true
    assert_status 0
    [[ $stderr == "cgset: isokit/$NAME: "* ]] || fail "$stderr"
    [[ $stderr == *"$(cg_leaf pids "$NAME") pids.max=5"* ]] || fail "$stderr"
    [[ $stderr == *"$(cg_leaf "" "$NAME")"* ]] || fail "$stderr"
}

@test "PROG not found: 127, and the cgroup made for it is removed" {
    run -127 --separate-stderr sandboxed cgset --name "$NAME" --pids 5 -- /no/such/program
    assert_status 127
    assert_equal "$stderr" "cgset: cannot run '/no/such/program': No such file or directory"
    assert_no_cgroup_left "$NAME"
}

# The v2 cgroup.subtree_control files a test is about to change, with the
# controller they lacked, deepest first: teardown disables it again there.
remember_subtree_control() {
    local controller=$1 dir
    shift
    for dir in "$@"; do
        grep -qw "$controller" "$dir/cgroup.subtree_control" 2>/dev/null || echo "$dir/cgroup.subtree_control $controller"
    done | tac >"$BATS_TEST_TMPDIR/enabled-by-test"
}

restore_subtree_control() {
    local file controller
    [[ -e $BATS_TEST_TMPDIR/enabled-by-test ]] || return 0
    while read -r file controller; do
        echo "-$controller" >"$file" 2>/dev/null || true
    done <"$BATS_TEST_TMPDIR/enabled-by-test"
}

# hugetlb is on v2 on this hybrid host and in the pure-v2 VM alike: the
# v2 mount point if 2 MB huge pages can be limited through v2.
v2_hugetlb_root() {
    [[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]] || skip "no 2 MB huge pages on this kernel"
    [[ $(cg_mode hugetlb) == v2 ]] || skip "hugetlb is on v1 here"
    local root
    root=$(cg_mount_of "" | cut -d' ' -f2)
    grep -qw hugetlb "$root/cgroup.controllers" || skip "the v2 hierarchy does not offer hugetlb"
    V2_ROOT=$root
}

@test "a controller on v2 is enabled down the tree (root, isokit/) but never in the leaf" {
    v2_hugetlb_root
    remember_subtree_control hugetlb "$V2_ROOT" "$V2_ROOT/isokit"
    in_cgset --set hugetlb.2MB.max=4M -- 'cg_read "" hugetlb.2MB.max -; cat "$(cg_dir "")/cgroup.subtree_control"'
    assert_status 0
    # The leaf's own cgroup.subtree_control (second line) is empty.
    assert_equal "$output" 4194304
    grep -qw hugetlb "$V2_ROOT/cgroup.subtree_control" || fail "root: $(cat "$V2_ROOT/cgroup.subtree_control")"
    grep -qw hugetlb "$V2_ROOT/isokit/cgroup.subtree_control" || fail "isokit/: $(cat "$V2_ROOT/isokit/cgroup.subtree_control")"
}

@test "no internal processes: a cgroup with a process cannot enable controllers below it; nothing is left" {
    v2_hugetlb_root
    local outer
    outer=$(cg_leaf "" "$NAME")
    remember_subtree_control hugetlb "$V2_ROOT" "$V2_ROOT/isokit" "$outer"
    cgset --name "$NAME" -- sleep 60 &
    BG_PID=$!
    wait_for grep -qx "$BG_PID" "$outer/cgroup.procs"
    run --separate-stderr cgset --name "$NAME/inner" --set hugetlb.2MB.max=4M -- touch "$BATS_TEST_TMPDIR/ran"
    assert_status 125
    assert_equal "$stderr" "cgset: write '+hugetlb' to '$outer/cgroup.subtree_control': Device or resource busy (a cgroup with processes cannot enable controllers for its children)"
    [[ ! -e $outer/inner ]] || fail "inner was left"
    [[ ! -e $BATS_TEST_TMPDIR/ran ]] || fail "the command ran"
}

@test "--io-weight 500 lands in the weight file the kernel offers (v1: 60 on blkio's scale)" {
    in_cgset --io-weight 500 -- '
        if [[ $(cg_mode blkio) == v1 ]]; then dir=$(cg_dir blkio); else dir=$(cg_dir io); fi
        for file in io.weight io.bfq.weight blkio.weight blkio.bfq.weight; do
            if [[ -e $dir/$file ]]; then echo "$file $(cat "$dir/$file")"; fi
        done'
    if [[ $status == 125 ]]; then
        # No weight file at all (no io.cost, no BFQ): the error names the file.
        [[ $stderr == "cgset: write '"*"weight': No such file or directory" ]] || fail "$stderr"
        assert_no_cgroup_left "$NAME"
        return
    fi
    assert_status 0
    case ${lines[0]} in
    "io.weight default 500" | "io.bfq.weight default 60" | "blkio.weight 60" | "blkio.bfq.weight 60") ;;
    *) fail "unexpected: $output" ;;
    esac
}
