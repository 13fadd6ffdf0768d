#!/usr/bin/env bats
# ptyrun: a terminal of the container's own devpts, driven from a real one.
# tests/pty/harness.py plays the user's terminal (a pty it owns, the
# chain's controlling terminal): it types, resizes, signals, and compares
# its terminal modes before and after. What is asserted is what the
# kernel reports inside (tty, stat, /proc/PID/stat and fd links) and the
# harness's own terminal.

load helpers

setup_file() {
    local img="$BATS_FILE_TMPDIR/img"
    "$BATS_TEST_DIRNAME/../scripts/mkrootfs" busybox "$img"
    gcc -O1 -static -o "$img/tiocsti" "$BATS_TEST_DIRNAME/pty/tiocsti.c"
}

IMG="$BATS_FILE_TMPDIR/img"
HARNESS="$BATS_TEST_DIRNAME/pty/harness.py"

# term STEP... -- CMD...: CMD on the harness's terminal, in a sandbox.
term() {
    sandboxed python3 "$HARNESS" term "$@"
}

# The chain contain -it runs, up to PROG.
RELAY=(unshare-lite --mount --pid --new-session -- pivot --next-from-host "$IMG" -- ptyrun --relay --)

# The value printed for `match:` number $1 (1-based) in $output.
match() {
    grep '^match: ' <<<"$output" | sed -n "${1}p" | cut -d' ' -f2-
}

@test "--relay: a prompt, tty of the container's own devpts, the only terminal the shell holds, exit 7" {
    local probe
    # shellcheck disable=SC2016 # expanded by the shell inside
    probe='t=$(tty); echo "T=$t D=$(stat -c %d /dev/pts) F=$(stat -c %d $t) J=$(cut -d" " -f7 /proc/$$/stat)"; '
    # shellcheck disable=SC2016
    probe+='grep " /dev/pts " /proc/self/mountinfo | cut -d" " -f3,9 | sed "s/^/M=/"; '
    # shellcheck disable=SC2016
    # (no pipeline: the shell would hold its pipe while ls looks)
    # shellcheck disable=SC2016
    probe+='echo F""DS; for f in /proc/$$/fd/*; do readlink $f; done; echo E""ND\n'
    run term 'expect:# ' "send:$probe" 'expect:T=(\S+ D=\d+ F=\d+ J=\d+)' 'expect:M=(\S+ \S+)' 'expect:FDS\r\n((?:.*\r\n)*?)END' \
        'send:exit 7\n' -- "${RELAY[@]}" /bin/sh -i
    assert_status 0
    [[ $output == *"status 7"* ]] || fail "exit status: $output"
    local tty dev file jobtty mount links
    read -r tty dev file jobtty <<<"$(match 2 | sed 's/[A-Z]=//g')"
    mount=$(match 3)
    links=$(match 4)
    [[ $tty =~ ^/dev/pts/([0-9]+)$ ]] || fail "tty: $tty"
    local n=${BASH_REMATCH[1]}
    # The terminal is a file of the devpts mounted at the container's /dev/pts...
    assert_equal "$file" "$dev"
    assert_equal "$mount" "$(((dev >> 8) & 0xfff)):$(((dev & 0xff) | ((dev >> 12) & 0xfff00))) devpts"
    # ...which is not the host's (the harness's terminal lives there).
    [[ $dev != "$(stat -c %d /dev/pts)" ]] || fail "the container's /dev/pts is the host's ($dev)"
    # The shell's controlling terminal is that pty (major 136, minor N).
    assert_equal "$jobtty" "$(((136 << 8) | (n & 0xff) | ((n & ~0xff) << 12)))"
    # Every fd of the shell is that terminal (or /dev/tty, its alias):
    # nothing of the caller's.
    assert_equal "$(tr ' ' '\n' <<<"$links" | sort -u | grep -vx -e "$tty" -e /dev/tty)" ""
    [[ $links == *"$tty"* ]] || fail "fds: $links"
}

@test "--relay: the window size follows the caller's (start and SIGWINCH)" {
    run term 'expect:# ' 'send:stty size\n' 'expect:\n(\d+ \d+)\r' 'winsize:40x100' 'sleep:0.3' \
        'send:stty size\n' 'expect:\n(\d+ \d+)\r' 'send:exit\n' -- "${RELAY[@]}" /bin/sh -i
    assert_equal "$(match 2)" "24 80"
    assert_equal "$(match 3)" "40 100"
}

@test "--relay: Ctrl-C interrupts sleep inside, the shell survives" {
    SECONDS=0
    # The job says when it runs: by then the shell has made it the
    # terminal's foreground job.
    run term 'expect:# ' 'send:sh -c "echo ST""ARTED; exec sleep 30"\n' 'expect:STARTED' 'send:\x03' 'send:echo "R=$?"\n' 'expect:R=(\d+)' \
        'send:echo alive\n' 'expect:\r\n(alive)\r\n' 'send:exit 0\n' -- "${RELAY[@]}" /bin/sh -i
    assert_equal "$(match 3)" 130
    assert_equal "$(match 4)" alive
    [[ $output == *"status 0"* ]] || fail "$output"
    ((SECONDS < 20)) || fail "took ${SECONDS}s: sleep was not interrupted"
}

@test "--relay: the caller's terminal is raw while it runs and restored on every exit" {
    # Normal exit.
    run term 'expect:# ' modes 'send:exit 3\n' -- "${RELAY[@]}" /bin/sh -i
    assert_equal "$(grep -c '^modes: raw$' <<<"$output")" 1
    [[ $output == *$'status 3\nmodes: same'* ]] || fail "$output"
    # The program killed.
    run term 'expect:# ' 'send:kill -9 $$\n' -- "${RELAY[@]}" /bin/sh -i
    [[ $output == *$'status 137\nmodes: same'* ]] || fail "$output"
    # SIGTERM to the chain: relayed to the program, which dies of it.
    run term modes 'kill:TERM' -- "${RELAY[@]}" sleep 30
    [[ $output == *$'modes: raw\nstatus 143\nmodes: same'* ]] || fail "$output"
    # SIGHUP: the relay hangs the terminal inside up; the shell dies of SIGHUP.
    run term 'expect:# ' modes 'kill:HUP' -- "${RELAY[@]}" /bin/sh -i
    [[ $output == *$'modes: raw\nstatus 129\nmodes: same'* ]] || fail "$output"
}

@test "--relay: TIOCSTI inside reaches the container's terminal, never the caller's (CVE-2017-5226)" {
    # shellcheck disable=SC2016 # expanded by the harness's bash
    local after='read -t 2 -r line; echo "AFTER=[$line]"'
    # Control: without ptyrun, fd 0 is the caller's terminal and the line
    # lands in the caller's shell, which reads it after the container ends.
    run term 'expect:(AFTER=\[[^\r]*\])' -- bash -c "unshare-lite --mount --pid -- pivot $IMG -- /tiocsti; $after"
    assert_equal "$(match 1)" "AFTER=[echo INJECTED]"
    # With it: root inside (CAP_SYS_ADMIN: TIOCSTI works on any terminal it
    # holds) reaches only the container's terminal, stdio and /dev/tty.
    run term 'expect:(injected:[^\r]*)' 'expect:(AFTER=\[[^\r]*\])' -- \
        bash -c "${RELAY[*]} /tiocsti; $after"
    assert_equal "$(match 1)" "injected: 0=/dev/pts/0 1=/dev/pts/0 2=/dev/pts/0 3=/dev/tty"
    assert_equal "$(match 2)" "AFTER=[]"
}

@test "--relay holds only its stdio, the master and a signalfd" {
    # fd 7, inherited from the caller, goes on to PROG (the chain's rule)
    # but the relay, living on inside, drops it.
    # shellcheck disable=SC2016 # expanded by the shell inside
    run term 'expect:# ' 'send:echo "P""=$(for f in /proc/$PPID/fd/*; do readlink $f; done | sed "s|^/dev/pts/[0-9]*$|pts|" | sort | tr "\n" " ")"\n' \
        'expect:P=([^\r]*)' 'send:exit\n' -- bash -c "exec 7</dev/null; ${RELAY[*]} /bin/sh -i"
    # 0, 1, 2 (the caller's terminal: a pts outside), ptmx, the signalfd.
    assert_equal "$(match 2)" "/dev/pts/ptmx anon_inode:[signalfd] pts pts pts"
}

@test "refused where /dev/pts is the caller's devpts or not a devpts" {
    run term 'expect:(ptyrun: [^\r]*)' -- ptyrun --relay -- true
    [[ $output == *"ptyrun: '/dev/pts' is the devpts of the caller's own terminal (fd 0): refusing"* ]] || fail "$output"
    [[ $output == *"status 125"* ]] || fail "$output"
    run --separate-stderr sandboxed sh -c 'mount -t tmpfs tmpfs /dev/pts && ptyrun --relay -- true'
    assert_status 125
    assert_equal "$stderr" "ptyrun: '/dev/pts' is not a devpts mount (run ptyrun after pivot, which mounts one for the container)"
}

@test "--console-fd: the master goes over the socket connected before pivot; exec'd, status 3" {
    local sock="$BATS_TEST_TMPDIR/console.sock"
    run sandboxed python3 "$HARNESS" console --pass-fd "$sock" 'echo hi; tty; exit 3\n' -- \
        unshare-lite --mount --pid -- pivot --next-from-host "$IMG" -- ptyrun --console-fd 3 -- /bin/sh
    assert_status 0
    [[ $output == *"payload: /dev/pts/ptmx"$'\n'"fds received: 1"* ]] || fail "$output"
    grep -qx 'out: hi' <<<"$output" || fail "no 'hi' line: $output"
    grep -qx 'out: /dev/pts/0' <<<"$output" || fail "no tty line: $output"
    assert_equal "$(tail -n1 <<<"$output")" "status 3"
}

@test "--console-socket: a socket bind-mounted into the container" {
    local dir="$BATS_TEST_TMPDIR/console"
    mkdir "$dir"
    run sandboxed python3 "$HARNESS" console "$dir/sock" 'echo hi; exit 3\n' -- \
        unshare-lite --mount --pid -- pivot --bind "$dir:/run/console" --next-from-host "$IMG" -- \
        ptyrun --console-socket /run/console/sock -- /bin/sh
    grep -qx 'out: hi' <<<"$output" || fail "no 'hi' line: $output"
    assert_equal "$(tail -n1 <<<"$output")" "status 3"
}

@test "usage errors and bad console fds are exit 125" {
    run --separate-stderr ptyrun -- true
    assert_status 125
    assert_equal "${stderr_lines[0]}" "ptyrun: one of --relay, --console-fd, --console-socket is required"
    run --separate-stderr ptyrun --relay --console-fd 3 -- true
    assert_status 125
    run --separate-stderr ptyrun --console-fd 1 -- true
    assert_status 125
    run --separate-stderr ptyrun --relay
    assert_equal "${stderr_lines[0]}" "ptyrun: missing command to run"
    run --separate-stderr ptyrun --console-fd 9 -- true
    assert_status 125
    assert_equal "$stderr" "ptyrun: --console-fd 9: Bad file number"
    run --separate-stderr ptyrun --console-fd 9 -- true 9</dev/null
    assert_equal "$stderr" "ptyrun: --console-fd 9: not a socket"
    run --separate-stderr ptyrun --console-socket "$BATS_TEST_TMPDIR/none" -- true
    assert_status 125
    assert_equal "$stderr" "ptyrun: connect to console socket '$BATS_TEST_TMPDIR/none': No such file or directory"
}

@test "--relay: a command not found or not executable is 127 or 126, one line on the caller's stderr" {
    # In the sandbox, with no terminal on stdio: the relay opens this
    # namespace's devpts (the caller's terminal is what it refuses).
    run --separate-stderr sandboxed ptyrun --relay -- /no/such/program </dev/null
    assert_status 127
    assert_equal "$stderr" "ptyrun: cannot run '/no/such/program': No such file or directory"
    assert_equal "$output" ""
    local file="$BATS_TEST_TMPDIR/not-executable"
    : >"$file"
    run --separate-stderr sandboxed ptyrun --relay -- "$file" </dev/null
    assert_status 126
    assert_equal "$stderr" "ptyrun: cannot run '$file': Permission denied"
}

@test "--relay after capdrop: the relay and the shell run as the container's user" {
    # The order contain -it uses: the relay as little privileged as PROG.
    # shellcheck disable=SC2016 # expanded by the shell inside
    run term 'expect:\$ ' 'send:echo "U=$(id -u) $(tty) R=$(ls /proc/$PPID/fd >/dev/null 2>&1 && echo readable || echo denied)"\n' 'expect:U=(\d+ \S+ R=\w+)' 'send:exit 5\n' -- \
        unshare-lite --mount --pid --new-session -- pivot --bind "$BIN:/dev/.isokit:ro" --next-from-host "$IMG" -- \
        capdrop --user nobody -- /dev/.isokit/ptyrun --relay -- /bin/sh -i
    [[ $output == *$'status 5\nmodes: same'* ]] || fail "$output"
    # The relay runs as nobody too, but is non-dumpable: its fds (the
    # caller's terminal among them) are out of reach of the shell.
    assert_equal "$(match 2)" "65534 /dev/pts/0 R=denied"
}

@test "--relay with stdin not a terminal: no raw mode, end of input is end of file inside" {
    # cat reads the terminal inside: the line (echoed by the terminal, then
    # by cat), then end of file, and cat exits.
    run --separate-stderr sandboxed sh -c "printf 'hi\n' | timeout 20 ${RELAY[*]} /bin/cat; echo \"status \$?\""
    assert_equal "$(tr -d '\r' <<<"$output")" $'hi\nhi\nstatus 0'
}

# contain -t and cexec -t: the relay is the chain's last step, after
# capdrop and scfilter. Each test has its own state directory.
contain_env=(env ISOKIT_IMAGES="$BATS_TEST_DIRNAME/../target/test-images")

@test "contain -t: a prompt on the container's own pts, the window size, Ctrl-C, exit 7, modes restored" {
    local state="$BATS_TEST_TMPDIR/state"
    # shellcheck disable=SC2016 # expanded by the shell inside
    run term 'expect:# ' 'send:echo "T=$(tty) D=$(stat -c %d /dev/pts)"; stty size\n' 'expect:T=(\S+ D=\d+)' 'expect:\r\n(\d+ \d+)\r\n' \
        modes 'winsize:40x100' 'sleep:0.3' 'send:stty size\n' 'expect:\r\n(\d+ \d+)\r\n' \
        'send:sh -c "echo ST""ARTED; exec sleep 30"\n' 'expect:STARTED' 'send:\x03' 'send:echo "R=$?"\n' 'expect:R=(\d+)' \
        'send:exit 7\n' -- "${contain_env[@]}" ISOKIT_STATE="$state" "$ROOT/scripts/contain" -t -- sh -i
    local tty dev
    read -r tty dev <<<"$(match 2 | sed 's/[A-Z]=//g')"
    [[ $tty =~ ^/dev/pts/[0-9]+$ ]] || fail "tty: $tty; $output"
    [[ $dev != "$(stat -c %d /dev/pts)" ]] || fail "the container's /dev/pts is the host's"
    assert_equal "$(match 3)" "24 80"
    assert_equal "$(match 4)" "40 100"
    assert_equal "$(match 6)" 130
    [[ $output == *"modes: raw"* ]] || fail "not raw while running: $output"
    [[ $output == *$'status 7\nmodes: same'* ]] || fail "$output"
}

@test "cexec -t: a shell with job control on the container's own pts" {
    local state="$BATS_TEST_TMPDIR/state"
    sandboxed_bg "${contain_env[@]}" ISOKIT_STATE="$state" "$ROOT/scripts/contain" --name tjob -- sleep 60
    wait_for test -s "$state/tjob/pid"
    # Job control: a background job, listed by the shell, brought back.
    run term 'expect:# ' 'send:tty; sleep 30 &\n' 'expect:(/dev/pts/\d+)' 'send:jobs\n' 'expect:(\[1\]\+?\s+Running)' \
        'send:kill %1; wait %1; echo "W=$?"\n' 'expect:W=(\d+)' 'send:exit 4\n' -- \
        env ISOKIT_STATE="$state" "$ROOT/scripts/cexec" -it tjob sh -i
    kill -TERM "$BG_PID"
    wait "$BG_PID" || true
    [[ $(match 2) =~ ^/dev/pts/[0-9]+$ ]] || fail "tty: $output"
    [[ $(match 3) == "[1]"* ]] || fail "jobs: $output"
    assert_equal "$(match 4)" 143
    [[ $output == *"status 4"* ]] || fail "$output"
}

# A pipeline of two shells (a | b) under a shell: each traps SIGINT,
# writes its name to the log $1 for every one it gets, and goes on for
# 0.5 s after the first (10 s at most), long enough to catch a second.
# Run directly (no pivot): the host's sh, the log a host file.
PIPELINE='log=$1
member() {
    trap "echo $1 >>$log; end=\$((i + 10))" INT
    echo "READY $1" >&2
    i=0 end=200
    while [ $i -lt $end ]; do sleep 0.05; i=$((i + 1)); done
}
trap "echo shell >>$log" INT
member a | member b'

@test "the init passes Ctrl-C at the caller's terminal to the command's process group: every process of a pipeline gets it once" {
    local log="$BATS_TEST_TMPDIR/got"
    : >"$log"
    # --new-session, as contain runs it: the command leads a group of its
    # own inside, which the caller's terminal does not signal itself.
    run term 'expect:READY [ab][\s\S]*READY [ab]' 'send:\x03' -- \
        unshare-lite --mount --pid --new-session -- sh -c "$PIPELINE" sh "$log"
    assert_status 0
    [[ $output == *"status 0"* ]] || fail "$output"
    # What each process's trap saw: one SIGINT each, the shell included.
    assert_equal "$(sort "$log" | tr '\n' ' ')" "a b shell "
}

