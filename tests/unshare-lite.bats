#!/usr/bin/env bats
# unshare-lite: namespaces really new, the PID-1 init, signals, exit
# statuses, the pidfile, rootless use. Every run is inside `sandboxed`
# (throwaway mount/UTS/IPC/net namespaces), so the host is never touched.

load helpers

@test "each namespace asked for is new, the others are shared" {
    local ns
    for ns in mnt uts ipc net cgroup; do
        inside=$(sandboxed sh -c "readlink /proc/self/ns/$ns; unshare-lite --all -- readlink /proc/self/ns/$ns" | sort -u | wc -l)
        assert_equal "$inside" 2
    done
    # Without options nothing changes.
    run sandboxed sh -c 'for n in mnt uts ipc net pid cgroup user time; do
        [ "$(readlink /proc/self/ns/$n)" = "$(unshare-lite -- readlink /proc/self/ns/$n)" ] || echo "$n differs"; done'
    assert_equal "$output" ""
}

@test "--pid puts the command in a new PID namespace, --user and --time too" {
    run sandboxed sh -c 'for n in pid user time; do
        a=$(readlink /proc/self/ns/$n)
        b=$(unshare-lite --pid --user --map-root --time -- readlink /proc/self/ns/$n)
        [ "$a" != "$b" ] && [ -n "$b" ] && echo "$n new"; done'
    assert_status 0
    assert_equal "$output" $'pid new\nuser new\ntime new'
}

@test "the default init runs the command as PID 2; --as-pid1 makes it PID 1" {
    run sandboxed unshare-lite --pid -- sh -c 'echo $$'
    assert_equal "$output" 2
    run sandboxed unshare-lite --pid --as-pid1 -- sh -c 'echo $$'
    assert_equal "$output" 1
}

@test "--all --hostname box: the hostname changes inside and not outside" {
    run sandboxed sh -c 'before=$(hostname)
        unshare-lite --all --hostname box -- sh -c "hostname; echo \$\$"
        [ "$(hostname)" = "$before" ] && echo outside-unchanged'
    assert_status 0
    assert_equal "$output" $'box\n2\noutside-unchanged'
}

@test "--hostname without --uts is refused with 125 and renames nothing" {
    run --separate-stderr sandboxed sh -c 'before=$(hostname)
        unshare-lite --hostname evil -- true; rc=$?
        [ "$(hostname)" = "$before" ] && echo "rc=$rc unchanged"'
    assert_equal "$output" "rc=125 unchanged"
    [[ $stderr == "unshare-lite: --hostname requires --uts (or --all)"* ]]
}

@test "bad option combinations exit 125 before anything is created" {
    local args
    for args in "--as-pid1 true" "--map-root --map-user 5 true" "--propagation slave true" \
        "--mount --propagation bogus true" "--monotonic 10 true" "--uts --hostname '' true" \
        "--map-user notanumber true" "--uts --hostname $(printf 'a%.0s' {1..65}) true" \
        "--detach-init 9 --net true" "--pid --detach-init 1 true" "--pid --detach-init 987 true"; do
        run --separate-stderr sandboxed sh -c "unshare-lite $args"
        [[ $status == 125 ]] || fail "'$args' exited $status"
        [[ $stderr == unshare-lite:* ]] || fail "'$args' said: $stderr"
    done
}

@test "the command's exit status comes back through the init and the launcher" {
    run sandboxed unshare-lite --pid -- sh -c 'exit 7'
    assert_status 7
    run sandboxed unshare-lite --pid --as-pid1 -- sh -c 'exit 7'
    assert_status 7
}

@test "a command killed by SIGKILL is reported as 137" {
    run sandboxed unshare-lite --pid -- sh -c 'kill -KILL $$'
    assert_status 137
    run sandboxed unshare-lite -- sh -c 'kill -KILL $$'
    assert_status 137
}

@test "SIGTERM to the launcher reaches the command's trap; its status comes back" {
    local ready="$BATS_TEST_TMPDIR/ready"
    sandboxed_bg unshare-lite --pid -- sh -c "trap 'echo got-term; exit 42' TERM; touch $ready; while :; do sleep 0.05; done" \
        >"$BATS_TEST_TMPDIR/out"
    local launcher=$BG_PID
    wait_for test -e "$ready"
    kill -TERM "$launcher"
    local rc=0
    wait "$launcher" || rc=$?
    assert_equal "$rc" 42
    assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" got-term
}

# Start `unshare-lite --pid -- sleep MARKER` in the background; a
# watchdog SIGKILLs the launcher after 10 s, so a program that ignores the
# signal shows up as status 137 instead of hanging the suite.
start_sleep_under_init() {
    SLEEP_MARKER=$((700000 + $$ % 100000))
    sandboxed_bg unshare-lite --pid -- sleep "$SLEEP_MARKER"
    LAUNCHER=$BG_PID
    (sleep 10; kill -KILL "$LAUNCHER" 2>/dev/null) &
    WATCHDOG=$!
    wait_for pgrep -fx "sleep $SLEEP_MARKER" >/dev/null
}

# Wait for the launcher; its exit status in LAUNCHER_STATUS (not printed:
# a command substitution is a subshell, which cannot wait for it).
wait_launcher() {
    LAUNCHER_STATUS=0
    wait "$LAUNCHER" || LAUNCHER_STATUS=$?
    kill "$WATCHDOG" 2>/dev/null || true
}

@test "sleep, which never touches its signal mask, dies from SIGTERM relayed by the launcher (143)" {
    start_sleep_under_init
    kill -TERM "$LAUNCHER"
    wait_launcher
    assert_equal "$LAUNCHER_STATUS" 143
}

@test "sleep under the init dies from a SIGTERM sent straight to it (143)" {
    start_sleep_under_init
    local program
    program=$(pgrep -fx "sleep $SLEEP_MARKER")
    grep -q '^SigBlk:[[:space:]]*0*$' "/proc/$program/status" || fail "$(grep ^Sig "/proc/$program/status")"
    kill -TERM "$program"
    wait_launcher
    assert_equal "$LAUNCHER_STATUS" 143
}

@test "a caller that ignores SIGCHLD still gets the status, and the command SIGCHLD ignored" {
    # Before, the kernel reaped the command itself and the launcher waited forever.
    run timeout -s KILL 10 perl -e '$SIG{CHLD} = "IGNORE"; exec { $ARGV[0] } @ARGV' \
        unshare-lite --pid -- sh -c 'exit 3'
    assert_status 3
    run timeout -s KILL 10 perl -e '$SIG{CHLD} = "IGNORE"; exec { $ARGV[0] } @ARGV' \
        unshare-lite --pid -- grep '^SigIgn:' /proc/self/status
    assert_status 0
    (( (0x${output#SigIgn:$'\t'} & 0x10000) != 0 )) || fail "SIGCHLD not ignored: $output"
}

@test "every relayed signal reaches the command" {
    local ready="$BATS_TEST_TMPDIR/ready" sig
    for sig in INT HUP QUIT USR1 USR2 WINCH; do
        rm -f "$ready"
        sandboxed_bg unshare-lite --pid -- sh -c "trap 'echo got-$sig; exit 3' $sig; touch $ready; while :; do sleep 0.05; done" \
            >"$BATS_TEST_TMPDIR/out"
        local launcher=$BG_PID
        wait_for test -e "$ready"
        kill -"$sig" "$launcher"
        local rc=0
        wait "$launcher" || rc=$?
        assert_equal "$rc" 3
        assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "got-$sig"
    done
}

@test "SIGKILL of the launcher leaves no container process alive (100 times)" {
    local i pidfile="$BATS_TEST_TMPDIR/pid" marker
    for i in $(seq 100); do
        marker=$((900000 + i))
        rm -f "$pidfile"
        unshare-lite --pid --pidfile "$pidfile" -- sleep "$marker" &
        local launcher=$!
        # Kill at a different moment each time: sometimes before the init
        # could ask for PR_SET_PDEATHSIG, sometimes with the command running.
        if ((i % 2 == 0)); then
            wait_for test -s "$pidfile"
        fi
        [[ $((i % 4)) == 0 ]] && wait_for pgrep -fx "sleep $marker" >/dev/null
        kill -KILL "$launcher"
        wait "$launcher" 2>/dev/null || true
        local gone=0 _
        for _ in $(seq 100); do
            if ! pgrep -fx "sleep $marker" >/dev/null && { [[ ! -s $pidfile ]] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
                gone=1
                break
            fi
            sleep 0.02
        done
        [[ $gone == 1 ]] || fail "iteration $i: container process survived the launcher"
    done
}

# Zombies in the PID namespace of process $1, as the host sees them.
zombies_in_ns_of() {
    local ns p count=0
    ns=$(ns_of "$1" pid)
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/ns/pid" 2>/dev/null) == "$ns" ]] || continue
        grep -q '^State:.*Z' "$p/status" 2>/dev/null && count=$((count + 1))
    done
    echo "$count"
}

# Start a container whose command leaves an orphan, `sleep 0.2`, to PID 1
# and then becomes `sleep 3`, which never waits for anything. After a
# second, count zombies in its namespace.
orphan_zombies() {
    local pidfile="$BATS_TEST_TMPDIR/pid"
    rm -f "$pidfile"
    unshare-lite --pid --pidfile "$pidfile" "$@" -- sh -c '(sleep 0.2 &); exec sleep 3' &
    local launcher=$!
    wait_for test -s "$pidfile"
    sleep 1
    zombies_in_ns_of "$(cat "$pidfile")"
    kill "$launcher"
    wait "$launcher" 2>/dev/null || true
}

@test "an orphan re-parented to the init is reaped (no zombie)" {
    run orphan_zombies
    assert_equal "$output" 0
}

@test "the same orphan stays a zombie under a PID 1 that does not reap (the test can fail)" {
    # Control for the test above: with --as-pid1, PID 1 is `sleep 3`.
    run orphan_zombies --as-pid1
    assert_equal "$output" 1
}

@test "--pidfile holds the init's PID as the host sees it" {
    local pidfile="$BATS_TEST_TMPDIR/pid" ready="$BATS_TEST_TMPDIR/ready"
    sandboxed_bg unshare-lite --pid --pidfile "$pidfile" -- sh -c "touch $ready; sleep 5"
    local launcher=$BG_PID
    wait_for test -e "$ready"
    local pid
    pid=$(cat "$pidfile")
    # NSpid: the PID in each namespace, outermost first: 1 inside.
    run awk '/^NSpid:/ {print $NF}' "/proc/$pid/status"
    assert_equal "$output" 1
    assert_equal "$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")" "$launcher"
    # The init is not dumpable: /proc/PID/exe of it cannot be opened by
    # the container (runc CVE-2019-5736); its files then belong to root.
    run awk '/^Name:/ {print $2}' "/proc/$pid/status"
    assert_equal "$output" unshare-lite
    kill "$launcher"
    wait "$launcher" || true
}

@test "--detach-init FD: the launcher leaves once FD's writer closes it; the init runs on, without the pipe" {
    run sandboxed bash -c '
        t=$1
        exec {r}< <(exec sleep 100)
        writer=$!
        pipe=$(readlink "/proc/$$/fd/$r")
        unshare-lite --pid --mount --mount-proc --pidfile "$t/pid" --detach-init "$r" -- sh -c "touch $t/ready; exec sleep 100" &
        launcher=$!
        exec {r}<&-
        until [ -e "$t/ready" ]; do sleep 0.05; done
        init=$(cat "$t/pid")
        command=$(tr -d " " <"/proc/$init/task/$init/children")
        kill -0 "$launcher" && echo "launcher waits"
        kill "$writer"
        wait "$launcher"
        echo "launcher left: $?"
        kill -0 "$init" && echo "init runs"
        [ "$(awk "/^PPid:/ {print \$2}" "/proc/$init/status")" != "$launcher" ] && echo "init re-parented"
        echo "pipe fds: $(ls -l "/proc/$init/fd" "/proc/$command/fd" | grep -cF "$pipe")"
        kill -KILL "$init"
        # The init ending first: the launcher reports its status, as without.
        exec {r}< <(exec sleep 100)
        unshare-lite --pid --detach-init "$r" -- sh -c "exit 4"
        echo "init ended first: $?"
        kill $!
    ' _ "$BATS_TEST_TMPDIR"
    assert_status 0
    assert_equal "$output" "$(printf '%s\n' 'launcher waits' 'launcher left: 0' 'init runs' 'init re-parented' 'pipe fds: 0' 'init ended first: 4')"
}

@test "the init's cwd is not a host directory" {
    run sandboxed unshare-lite --pid --mount-proc -- readlink /proc/1/cwd
    assert_equal "$output" /
}

@test "the init is non-dumpable: its /proc files belong to root, the command's do not" {
    # proc(5): the files of a non-dumpable process are owned by root, not
    # by the process's uid. Run rootless, so the uid is not root anyway.
    local bin tmp pidfile ready
    bin=$(public_bin)
    tmp=$(public_tmp)
    pidfile="$tmp/init-pid" ready="$tmp/ready"
    rm -f "$pidfile" "$ready"
    setpriv --reuid 65534 --regid 65534 --clear-groups -- \
        "$bin/unshare-lite" --user --map-root --pid --pidfile "$pidfile" -- sh -c "touch $ready; exec sleep 3" &
    local launcher=$!
    wait_for test -e "$ready"
    local init command
    init=$(cat "$pidfile")
    command=$(pgrep -P "$init")
    assert_equal "$(stat -c %u "/proc/$init/environ")" 0
    assert_equal "$(stat -c %u "/proc/$command/environ")" 65534
    kill "$launcher"
    wait "$launcher" 2>/dev/null || true
}

@test "--mount keeps mounts inside private; --propagation shared lets them out" {
    # A sandbox whose / is shared only within itself, to observe propagation.
    run sandboxed sh -c '
        mount --make-rshared /
        d=$(mktemp -d)
        unshare-lite --mount -- mount -t tmpfs isokit-private "$d"
        grep -c isokit-private /proc/self/mountinfo
        unshare-lite --mount --propagation shared -- mount -t tmpfs isokit-shared "$d"
        grep -c isokit-shared /proc/self/mountinfo'
    assert_equal "${lines[0]}" 0
    assert_equal "${lines[1]}" 1
}

@test "--mount-proc with --pid shows only the new namespace's processes" {
    run sandboxed unshare-lite --pid --mount-proc -- sh -c 'ls -d /proc/[0-9]* | wc -l'
    # the init, sh, and the ls/wc pipeline (2) at most
    [[ $output -le 4 ]] || fail "saw $output processes"
}

@test "rootless: --user --map-root makes an unprivileged user root inside" {
    local bin
    bin=$(public_bin)
    run setpriv --reuid 65534 --regid 65534 --clear-groups -- \
        "$bin/unshare-lite" --user --map-root --pid --mount-proc --uts --hostname rootless -- \
        sh -c 'id -u; cat /proc/self/uid_map; cat /proc/self/setgroups; hostname; echo $$'
    assert_status 0
    assert_equal "${lines[0]}" 0
    assert_equal "$(echo ${lines[1]})" "0 65534 1"
    assert_equal "${lines[2]}" deny
    assert_equal "${lines[3]}" rootless
    assert_equal "${lines[4]}" 2
}

@test "--map-user maps the caller to another id" {
    run sandboxed unshare-lite --map-user 1234 -- sh -c 'id -u; id -g'
    assert_equal "$output" $'1234\n1234'
}

@test "--time --boottime shifts CLOCK_BOOTTIME, with and without --pid" {
    local host
    host=$(cut -d. -f1 /proc/uptime)
    run unshare-lite --time --boottime 86400 -- cut -d. -f1 /proc/uptime
    assert_status 0
    ((output >= host + 86400)) || fail "uptime $output, host $host"
    run unshare-lite --pid --time --boottime 86400 -- cut -d. -f1 /proc/uptime
    ((output >= host + 86400)) || fail "uptime $output with --pid, host $host"
}

@test "a setuid install is refused" {
    local bin
    bin=$(public_bin)
    cp "$bin/unshare-lite" "$BATS_FILE_TMPDIR/public-bin/unshare-lite-suid"
    chmod 4755 "$BATS_FILE_TMPDIR/public-bin/unshare-lite-suid"
    run --separate-stderr setpriv --reuid 65534 --regid 65534 --clear-groups -- \
        "$BATS_FILE_TMPDIR/public-bin/unshare-lite-suid" -- true
    assert_status 125
    [[ $stderr == "unshare-lite: refusing to run setuid"* ]] || fail "$stderr"
}

@test "ISOKIT_TRACE=1 names the namespaces and the init's PID" {
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 unshare-lite --all -- true
    assert_status 0
    [[ $stderr =~ ^unshare-lite:\ new\ mnt,uts,ipc,net,pid,cgroup\;\ init\ pid\ [0-9]+$ ]] || fail "$stderr"
}

@test "--new-session: the command loses the caller's controlling terminal (TIOCSTI)" {
    # script(1) runs the launch on a pty that is its controlling terminal.
    run script -qec "unshare-lite --pid -- sh -c 'cut -d\" \" -f7 /proc/self/stat'" /dev/null
    local with_tty
    with_tty=$(tr -d '\r' <<<"$output")
    [[ $with_tty != 0 ]] || fail "control: without --new-session the pty should be the controlling tty"
    run script -qec "unshare-lite --pid --new-session -- sh -c 'cut -d\" \" -f7 /proc/self/stat'" /dev/null
    assert_equal "$(tr -d '\r' <<<"$output")" 0
    run script -qec "unshare-lite --pid --as-pid1 --new-session -- sh -c 'cut -d\" \" -f7 /proc/self/stat'" /dev/null
    assert_equal "$(tr -d '\r' <<<"$output")" 0
    run -125 unshare-lite --new-session -- true
}

# The capability and privilege lines of /proc/PID/status as "Field value"
# lines, for the PIDs given, read from inside a new PID namespace.
init_privileges() {
    sandboxed unshare-lite "$@" --pid --mount-proc -- \
        sh -c 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/1/status; grep "^CapEff:" /proc/self/status | sed "s/^/self/"'
}

@test "once the command runs, the init keeps only CAP_KILL, no bounding set, no_new_privs" {
    run init_privileges
    assert_status 0
    local expected
    expected=$(printf '%s\n' 'CapInh:	0000000000000000' 'CapPrm:	0000000000000020' \
        'CapEff:	0000000000000020' 'CapBnd:	0000000000000000' 'CapAmb:	0000000000000000' 'NoNewPrivs:	1')
    assert_equal "$(grep -v ^self <<<"$output")" "$expected"
    # The command itself still has everything the caller gave it.
    assert_equal "$(grep ^selfCapEff <<<"$output")" "selfCapEff:	$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
    # Rootless, the init is root of its user namespace: the same drop.
    run init_privileges --user --map-root
    assert_status 0
    assert_equal "$(grep -v ^self <<<"$output")" "$expected"
}

@test "contain --cap-add SYS_PTRACE: PID 1 holds nothing the container lacks" {
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state" ISOKIT_IMAGES="$ROOT/target/test-images"
    # /proc/1/mem of the init opens for writing (the container may ptrace
    # it), so what the init holds must be within the container's own sets.
    run sandboxed "$ROOT/scripts/contain" --cap-add SYS_PTRACE -- sh -c '
        for pid in 1 self; do
            for field in CapPrm CapEff CapBnd CapInh CapAmb NoNewPrivs; do
                echo "$pid $field $(grep "^$field:" /proc/$pid/status | cut -f2)"
            done
        done
        exec 3<>/proc/1/mem && echo mem-rw'
    assert_status 0
    value() { awk -v p="$1" -v f="$2" '$1 == p && $2 == f { print $3 }' <<<"$output"; }
    # The test can fail: the container really has SYS_PTRACE (bit 19).
    (((0x$(value self CapEff) >> 19) & 1)) || fail "no SYS_PTRACE in the container: $output"
    local field
    for field in CapPrm CapEff CapInh CapAmb; do
        assert_equal "$((0x$(value 1 "$field") & ~0x$(value self CapEff)))" 0 || return 1
    done
    assert_equal "$((0x$(value 1 CapBnd) & ~0x$(value self CapBnd)))" 0
    assert_equal "$(value 1 NoNewPrivs)" 1
}

@test "--pidfile: a symlink planted at FILE.tmp is refused, its target untouched, the command not run" {
    local dir="$BATS_TEST_TMPDIR"
    echo precious >"$dir/victim"
    ln -s "$dir/victim" "$dir/pid.tmp"
    run --separate-stderr sandboxed unshare-lite --pid --pidfile "$dir/pid" -- touch "$dir/ran"
    assert_status 125
    assert_equal "$stderr" "unshare-lite: write pidfile '$dir/pid': '$dir/pid.tmp' exists and is not a file of this user (a symlink, a FIFO?): refusing to use it"
    assert_equal "$(cat "$dir/victim")" precious
    [[ -L $dir/pid.tmp && ! -e $dir/pid && ! -e $dir/ran ]] || fail "$(ls -l "$dir")"
}

@test "--pidfile: a FIFO planted at FILE.tmp is refused at once, not waited on" {
    local dir="$BATS_TEST_TMPDIR"
    mkfifo "$dir/pid.tmp"
    run timeout 10 unshare-lite --pidfile "$dir/pid" -- touch "$dir/ran"
    assert_status 125
    run timeout 10 unshare-lite --pid --pidfile "$dir/pid" -- touch "$dir/ran"
    assert_status 125
    [[ -p $dir/pid.tmp && ! -e $dir/ran ]] || fail "$(ls -l "$dir")"
}

@test "--pidfile: the command starts only once the pidfile is written; a failed write runs nothing" {
    local dir="$BATS_TEST_TMPDIR" i
    for i in $(seq 20); do
        rm -f "$dir/pid"
        run sandboxed unshare-lite --pid --pidfile "$dir/pid" -- cat "$dir/pid"
        assert_status 0 || return 1
        [[ $output =~ ^[0-9]+$ ]] || fail "try $i: the command ran before the pidfile existed: '$output'"
    done
    # rename(2) over a non-empty directory fails after the command was forked.
    mkdir -p "$dir/taken/x"
    for i in $(seq 20); do
        run sandboxed unshare-lite --pid --pidfile "$dir/taken" -- touch "$dir/ran"
        assert_status 125 || return 1
        [[ ! -e $dir/ran && ! -e $dir/taken.tmp ]] || fail "try $i: $(ls -l "$dir")"
    done
}

@test "inside, PID 1's command line is 'unshare-lite-init PROG', without the host's paths" {
    run sandboxed "$BIN/unshare-lite" --pid --mount-proc -- /bin/sh -c 'tr "\0" " " </proc/1/cmdline; echo; cat /proc/1/comm'
    assert_status 0
    # The area keeps its length, padded with NULs (spaces here).
    assert_equal "${lines[0]%"${lines[0]##*[! ]}"}" "unshare-lite-init sh"
    [[ ${lines[0]} != *"$BIN"* && ${lines[0]} != *--pid* ]] || fail "${lines[0]}"
    assert_equal "${lines[1]}" unshare-lite
}

# --join: existing namespaces, entered with setns(2). The namespace joined
# is one the test made inside its sandbox: util-linux unshare binds a new
# network namespace onto a file (gone with the sandbox's mount namespace).

@test "--join net=FILE: the command is in that network namespace (inode from the kernel), with and without --pid" {
    local ns="$BATS_TEST_TMPDIR/netns"
    touch "$ns"
    run sandboxed sh -c 'unshare --net="$1" true || exit 9
        want=$(stat -L -c %i "$1")
        echo "host $(stat -L -c %i /proc/self/ns/net) want $want"
        a=$(unshare-lite --join net="$1" --mount -- stat -L -c %i /proc/self/ns/net)
        b=$(unshare-lite --join net="$1" --pid -- stat -L -c %i /proc/self/ns/net)
        [ "$a" = "$want" ] && echo exec-same
        [ "$b" = "$want" ] && echo fork-same' sh "$ns"
    assert_status 0
    [[ ${lines[0]} =~ ^host\ ([0-9]+)\ want\ ([0-9]+)$ ]] || fail "$output"
    [[ ${BASH_REMATCH[1]} != "${BASH_REMATCH[2]}" ]] || fail "the test's namespace is the sandbox's: $output"
    assert_equal "${lines[1]}" exec-same
    assert_equal "${lines[2]}" fork-same
}

@test "--join a sleeping process's /proc/PID/ns: net and uts together; the namespace fds never reach the command" {
    run sandboxed sh -c 'unshare --uts --net sh -c "hostname joined-box; exec sleep 30" & child=$!
        until [ "$(cat /proc/$child/comm)" = sleep ]; do sleep 0.05; done
        target=$child
        unshare-lite --join net=/proc/$target/ns/net --join uts=/proc/$target/ns/uts --pid -- sh -c "
            [ \$(stat -L -c %i /proc/self/ns/net) = $(stat -L -c %i /proc/$target/ns/net) ] && echo net-same
            hostname
            for fd in /proc/self/fd/*; do readlink \$fd; done | grep -E \"^(mnt|uts|ipc|net|pid|cgroup|user|time):\\[\" || echo no-ns-fd"
        rc=$?; kill $child; exit $rc'
    assert_status 0
    assert_equal "$output" $'net-same\njoined-box\nno-ns-fd'
}

@test "--join refuses a wrong type, a file that is no namespace, join+new, twice: 125, one line, nothing run" {
    local ns="$BATS_TEST_TMPDIR/netns" marker="$BATS_TEST_TMPDIR/ran"
    touch "$ns"
    local args expected
    while IFS='|' read -r args expected; do
        run --separate-stderr sandboxed sh -c "unshare --net=$ns true && unshare-lite $args -- touch $marker"
        [[ $status == 125 ]] || fail "'$args' exited $status"
        [[ ! -e $marker ]] || fail "'$args' ran the command"
        [[ ${stderr_lines[0]} == "unshare-lite: $expected" ]] || fail "'$args' said: $stderr"
    done <<EOF2
--join uts=$ns|join '$ns': a net namespace, not uts
--join net=/etc/hostname|join '/etc/hostname': not a namespace file (expected /proc/PID/ns/net or a bind mount of one)
--join net=$ns --net|--join net and a new net namespace: choose one
--join mnt=/proc/self/ns/mnt --all|--join mnt and a new mnt namespace: choose one
--join net=$ns --join net=$ns|--join net is given twice
--join net=$ns --user|--join net cannot follow a new user namespace (--user): join the user namespace that owns it instead (--join user=...)
--join ipc=/nonexistent|open namespace '/nonexistent': No such file or directory
--join network=$ns|error parsing option '--join' with value 'network=$ns': --join 'network=$ns': unknown namespace type 'network' (mnt uts ipc net pid cgroup user time)
--join-foreign --join net=/proc/self/ns/net|join '/proc/self/ns/net': that is this process's own net namespace (--join-foreign)
EOF2
    # Without --join-foreign, the caller's own namespace is joined (setns
    # to the namespace it is in is allowed): the flag alone refuses it.
    run sandboxed unshare-lite --join net=/proc/self/ns/net -- true
    assert_status 0
    # And a namespace that is not the caller's passes the check.
    run sandboxed sh -c "unshare --net=$ns true && unshare-lite --join-foreign --join net=$ns -- true"
    assert_status 0
}

@test "--join pid forks: the command is in the joined PID namespace; ISOKIT_TRACE says what was joined" {
    run --separate-stderr sandboxed sh -c 'unshare --pid --fork --kill-child --mount-proc sleep 30 & child=$!
        until target=$(pgrep -P $child -x sleep); do sleep 0.05; done
        ISOKIT_TRACE=1 unshare-lite --join pid=/proc/$target/ns/pid -- sh -c "
            [ \$(stat -L -c %i /proc/self/ns/pid) = $(stat -L -c %i /proc/$target/ns/pid) ] && echo pid-same"
        rc=$?; kill $child; exit $rc'
    assert_status 0
    assert_equal "$output" pid-same
    [[ $stderr =~ ^unshare-lite:\ joined\ pid=/proc/[0-9]+/ns/pid\;\ init\ pid\ [0-9]+$ ]] || fail "$stderr"
}

# --cgroup-dir: the init is born in a cgroup v2 directory (clone3 with
# CLONE_INTO_CGROUP). On this hybrid host cgroup2 is the unified mount
# (hugetlb only); a child cgroup made there is enough to place a process.
unified_cgroup_mount() {
    awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo
}

@test "--cgroup-dir: the init and the command start in the cgroup v2 directory, as the kernel shows them" {
    local mount
    mount=$(unified_cgroup_mount)
    [[ -n $mount ]] || skip "no cgroup2 mount on this host"
    local dir="$mount/isokit-cgdir-$BATS_ROOT_PID"
    mkdir "$dir"
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 unshare-lite --pid --mount-proc --cgroup-dir "$dir" -- \
        sh -c 'grep "^0::" /proc/self/cgroup; grep "^0::" /proc/1/cgroup'
    rmdir "$dir"
    assert_status 0
    assert_equal "$output" "0::/isokit-cgdir-$BATS_ROOT_PID"$'\n'"0::/isokit-cgdir-$BATS_ROOT_PID"
    [[ $stderr =~ ^unshare-lite:\ new\ mnt,pid\;\ init\ pid\ [0-9]+\ in\ cgroup\ $dir$ ]] || fail "$stderr"
}

@test "--cgroup-dir refuses a v1 or missing directory, and a launch without a fork: 125, nothing run" {
    local marker="$BATS_TEST_TMPDIR/ran" v1
    v1=$(awk '$9 == "cgroup" {print $5; exit}' /proc/self/mountinfo)
    local args expected
    while IFS='|' read -r args expected; do
        [[ -n $args ]] || continue
        run --separate-stderr sandboxed sh -c "unshare-lite $args -- touch $marker"
        [[ $status == 125 ]] || fail "'$args' exited $status"
        [[ ! -e $marker ]] || fail "'$args' ran the command"
        [[ ${stderr_lines[0]} == "unshare-lite: $expected" ]] || fail "'$args' said: $stderr"
    done <<EOF2
--cgroup-dir /sys/fs/cgroup|--cgroup-dir requires --pid (or --join pid): only the init is started in the cgroup
--pid --cgroup-dir /nonexistent|open cgroup directory '/nonexistent': No such file or directory
${v1:+--pid --cgroup-dir $v1}|cgroup directory '$v1': not on cgroup2 (CLONE_INTO_CGROUP needs a cgroup v2 directory)
EOF2
}
