#!/usr/bin/env bats
# pivot: the new root, /proc /dev /sys, volumes, overlays, hostile images,
# --next-from-host. Every container runs as
#   sandboxed unshare-lite --mount --pid -- pivot ... IMAGE -- PROG
# so a bug can only damage throwaway namespaces; what is asserted is what
# the kernel shows inside (mountinfo, stat, errno of writes) and on the
# host side (files, the sandbox's mount table).

load helpers

setup_file() {
    local img="$BATS_FILE_TMPDIR/img"
    "$BATS_TEST_DIRNAME/../scripts/mkrootfs" busybox "$img"
    # Hostile image: symlinks that try to lead mounts out of the root.
    local bad="$BATS_FILE_TMPDIR/hostile"
    cp -a "$img" "$bad"
    ln -s /etc "$bad/data"                 # absolute: must land on the image's /etc
    ln -s ../../.. "$bad/up"               # relative, climbing: clamped at the image's /
    mkdir "$bad/a"
    ln -s ../etc "$bad/a/b"                # chain: /chain -> /a/b -> ../etc
    ln -s /a/b "$bad/chain"
    ln -s /nonexistent/x "$bad/dangling"
    ln -s /etc/shadow "$bad/dev/null"      # a planted "device"
    echo image >"$bad/etc/marker"
}

IMG="$BATS_FILE_TMPDIR/img"
BAD="$BATS_FILE_TMPDIR/hostile"

# contain [PIVOT OPTIONS] IMAGE -- PROG...: one container, in a sandbox.
contain() {
    sandboxed unshare-lite --mount --pid -- pivot "$@"
}

# A stable fingerprint of a directory tree: names, types, modes, sizes,
# link targets, and file contents.
fingerprint() {
    (cd "$1" && find . -printf '%p %y %m %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort) | sha256sum
}

# Mount points (field 5 of mountinfo) seen by PROG inside.
mountpoints='while read -r _ _ _ _ mp _; do echo "$mp"; done </proc/self/mountinfo'

@test "the container's root: only its own mounts, the old root gone, cwd /" {
    local marker="$BATS_FILE_TMPDIR/host-only-marker"
    touch "$marker"
    run contain "$IMG" -- sh -c "$mountpoints | sort -u; pwd; [ -e '$marker' ] && echo host-visible; [ -e '$BIN/pivot' ] && echo bin-visible; true"
    assert_status 0
    local expected
    expected=$(printf '%s\n' / /dev /dev/pts /dev/shm /proc /sys)
    # Mask and read-only mounts below /proc and /sys depend on the kernel.
    assert_equal "$(grep -Ev '^/(proc|sys)/' <<<"$output" | sed '$d')" "$expected"
    assert_equal "${lines[-1]}" "/"
    [[ $output != *visible* ]] || fail "host path visible inside: $output"
}

@test "mount options: proc, dev, shm nosuid etc., /sys read-only" {
    run contain "$IMG" -- cat /proc/self/mountinfo
    assert_status 0
    opts() { awk -v mp="$1" '$5 == mp { print $6 }' <<<"$output"; }
    [[ $(opts /proc) == rw,nosuid,nodev,noexec* ]] || fail "/proc: $(opts /proc)"
    [[ $(opts /sys) == ro,nosuid,nodev,noexec* ]] || fail "/sys: $(opts /sys)"
    [[ $(opts /dev) == rw,nosuid,noexec* ]] || fail "/dev: $(opts /dev)"
    [[ $(opts /dev/shm) == rw,nosuid,nodev,noexec* ]] || fail "/dev/shm: $(opts /dev/shm)"
    [[ $output == *" /dev/pts "*" - devpts "*"ptmxmode=666"* ]] || fail "devpts: $output"
    run contain "$IMG" -- sh -c 'mkdir /sys/x 2>&1; echo 1 > /sys/kernel/uevent_helper 2>&1'
    [[ $output == *"Read-only file system"* ]] || fail "/sys writable: $output"
}

@test "mounts made inside never appear in the sandbox's mount table" {
    run sandboxed sh -c "before=\$(cat /proc/self/mountinfo)
        unshare-lite --mount --pid -- pivot --tmpfs /scratch:1M --bind $BATS_FILE_TMPDIR:/vol $IMG -- true || echo failed
        [ \"\$before\" = \"\$(cat /proc/self/mountinfo)\" ] && echo unchanged"
    assert_equal "$output" "unchanged"
}

@test "/dev holds exactly the listed nodes, with the host's major:minor" {
    run contain "$IMG" -- sh -c 'cd /dev && for f in *; do printf "%s " "$f"; done'
    assert_equal "$output" "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero "
    local dev want got
    for dev in null zero full random urandom tty; do
        want=$(stat -c '%F %t:%T %a' "/dev/$dev")
        got=$(contain "$IMG" -- stat -c '%F %t:%T %a' "/dev/$dev")
        assert_equal "$got" "${want% *} 666"
    done
    run contain "$IMG" -- sh -c 'for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done; stat -c "%F %t:%T" /dev/pts/ptmx'
    assert_equal "$output" $'pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\ncharacter special file 5:2'
}

@test "masked /proc paths read as empty, /proc/sys and friends are read-only" {
    local name checked=0 got
    for name in acpi asound interrupts kcore keys latency_stats timer_list timer_stats sched_debug scsi; do
        [[ -e /proc/$name ]] || continue # the kernel lacks it: pivot skips it too
        if [[ -d /proc/$name ]]; then
            got=$(contain "$IMG" -- sh -c "ls -A /proc/$name | wc -l; touch /proc/$name/x 2>&1; true")
            [[ $got == 0*"Read-only file system"* ]] || fail "/proc/$name: $got"
        else
            got=$(contain "$IMG" -- sh -c "stat -c '%t:%T' /proc/$name; wc -c </proc/$name")
            assert_equal "$got" $'1:3\n0'
        fi
        checked=$((checked + 1))
    done
    ((checked >= 2)) || fail "only $checked masked paths exist on this kernel"
    # hostname is per UTS namespace; the sandbox has its own, and the write
    # must fail anyway.
    run contain "$IMG" -- sh -c 'echo evil > /proc/sys/kernel/hostname; echo rc=$?; hostname'
    [[ $output == *"Read-only file system"*"rc=1"* ]] || fail "$output"
    [[ $output != *evil* ]] || fail "hostname changed: $output"
    for name in bus fs irq sys sysrq-trigger; do
        [[ -e /proc/$name ]] || continue
        got=$(contain "$IMG" -- awk -v mp="/proc/$name" '$5 == mp { print $6 }' /proc/self/mountinfo)
        [[ $got == ro,* ]] || fail "/proc/$name not read-only: '$got'"
    done
}

@test "without a new PID namespace /proc lists the sandbox's processes, as docker --pid=host" {
    # A glob, not ls: a process of the machine may exit between listing and stat.
    run sandboxed sh -c "unshare-lite --mount -- pivot $IMG -- sh -c 'set -- /proc/[0-9]*; echo \$#'"
    assert_status 0
    (($output > 2)) || fail "$output"
    # With one: the init and the shell, nothing else.
    run contain "$IMG" -- sh -c 'echo /proc/[0-9]*'
    assert_equal "$output" "/proc/1 /proc/2"
}

@test "rw volume writes reach the host; ro volume gives EROFS; tmpfs size honoured" {
    local vol="$BATS_TEST_TMPDIR/vol" ro="$BATS_TEST_TMPDIR/ro"
    mkdir -p "$vol" "$ro"
    echo keep >"$ro/file"
    run contain --bind "$vol:/data" --bind "$ro:/etc/conf:ro" --tmpfs /scratch:1M "$IMG" -- sh -c '
        echo written > /data/out
        echo x > /etc/conf/file 2>&1; touch /etc/conf/new 2>&1
        df -k /scratch | awk "NR == 2 { print \$2 }"
        dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>&1 | grep -o "No space left on device"'
    assert_equal "$(cat "$vol/out")" "written"
    assert_equal "$(cat "$ro/file")" "keep"
    [[ ! -e $ro/new ]] || fail "ro volume accepted a new file"
    assert_equal "$(grep -c 'Read-only file system' <<<"$output")" 2
    assert_equal "${lines[-2]}" 1024
    assert_equal "${lines[-1]}" "No space left on device"
}

@test "a file can be bound on a file; a source missing on the host fails before any mount" {
    local file="$BATS_TEST_TMPDIR/resolv"
    echo "nameserver 127.0.0.1" >"$file"
    run contain --tmp-overlay --bind "$file:/etc/resolv.conf:ro" "$IMG" -- cat /etc/resolv.conf
    assert_equal "$output" "nameserver 127.0.0.1"
    run --separate-stderr contain --bind "$BATS_TEST_TMPDIR/missing:/data" "$IMG" -- true
    assert_status 125
    assert_equal "$stderr" "pivot: open '$BATS_TEST_TMPDIR/missing': No such file or directory"
}

@test "--ro: the root gives EROFS, a --tmpfs and a volume keep their own mode" {
    local vol="$BATS_TEST_TMPDIR/vol"
    mkdir -p "$vol"
    run contain --ro --tmpfs /tmp --bind "$vol:/data" "$IMG" -- sh -c '
        touch /etc/x 2>&1; touch /tmp/ok && echo tmp-ok; touch /data/ok && echo data-ok
        awk "\$5 == \"/\" { print \$6 }" /proc/self/mountinfo'
    [[ ${lines[0]} == *"Read-only file system" ]] || fail "$output"
    assert_equal "${lines[1]}" tmp-ok
    assert_equal "${lines[2]}" data-ok
    [[ ${lines[3]} == ro,* ]] || fail "root options: ${lines[3]}"
    [[ -e $vol/ok ]]
}

@test "--overlay: writes land in UPPERDIR, the image is byte-identical, containers stay apart" {
    local before up1="$BATS_TEST_TMPDIR/up1" up2="$BATS_TEST_TMPDIR/up2"
    mkdir "$up1" "$up2"
    before=$(fingerprint "$IMG")
    run contain --overlay "$up1" "$IMG" -- sh -c 'echo one > /etc/new; rm /etc/hostname; echo changed > /etc/passwd'
    assert_status 0
    assert_equal "$(cat "$up1/etc/new")" one
    [[ -c $up1/etc/hostname ]] || fail "the deletion is not a whiteout in UPPERDIR"
    assert_equal "$(fingerprint "$IMG")" "$before"
    [[ -d $up1.work ]] || fail "work directory not beside UPPERDIR"
    # A second container on the same image sees none of the first's writes.
    run contain --overlay "$up2" "$IMG" -- sh -c 'cat /etc/new 2>&1; cat /etc/hostname; head -1 /etc/passwd'
    assert_equal "$output" $'cat: can\'t open \'/etc/new\': No such file or directory\nisokit\nroot:x:0:0:root:/root:/bin/sh'
    # The first one's writes persist for it.
    run contain --overlay "$up1" "$IMG" -- cat /etc/new
    assert_equal "$output" one
}

@test "--tmp-overlay: writes vanish, the image is byte-identical" {
    local before
    before=$(fingerprint "$IMG")
    run contain --tmp-overlay "$IMG" -- sh -c 'echo x > /etc/new && mkdir /newdir && rm /bin/ls && echo wrote'
    assert_equal "$output" wrote
    assert_equal "$(fingerprint "$IMG")" "$before"
    run contain --tmp-overlay "$IMG" -- sh -c 'ls /etc/new /newdir 2>&1 | wc -l'
    assert_equal "$output" 2
}

@test "bad options exit 125 before anything is made" {
    local args
    for args in "--overlay u --tmp-overlay" "--tmpfs /tmp:0" "--tmpfs /tmp:12X" "--tmpfs tmp" \
        "--bind /etc" "--bind /etc:data" "--bind /etc:/x:rx" "--bind /etc:/" "--bind /etc:/a/../b"; do
        run --separate-stderr sandboxed sh -c "unshare-lite --mount -- pivot $args $IMG -- true"
        [[ $status == 125 ]] || fail "'$args' exited $status"
        [[ $stderr == pivot:* ]] || fail "'$args' said: $stderr"
    done
    run sandboxed sh -c "unshare-lite --mount -- pivot --overlay $BATS_TEST_TMPDIR/none $IMG -- true"
    assert_status 125
    [[ ! -e $BATS_TEST_TMPDIR/none.work ]] || fail "work directory made for a missing UPPERDIR"
}

@test "refuses to run in the host's mount namespace: 125, a hint, no mount made" {
    # In a fresh PID namespace with its own /proc, no ancestor in another
    # mount namespace is visible: from pivot's view this is the host.
    run --separate-stderr sandboxed unshare --pid --fork --mount-proc sh -c "
        before=\$(cat /proc/self/mountinfo)
        pivot $IMG -- true; echo rc=\$?
        [ \"\$before\" = \"\$(cat /proc/self/mountinfo)\" ] && echo unchanged"
    assert_equal "$output" $'rc=125\nunchanged'
    assert_equal "$stderr" "pivot: refusing to pivot the host's root: no ancestor is in another mount namespace (run it inside unshare-lite --mount)"
}

@test "a failure midway undoes every mount it made in its namespace" {
    # pivot runs here in the sandbox's own namespace (its parent, bats, is
    # outside): what it mounted before failing would show in mountinfo.
    local up="$BATS_TEST_TMPDIR/up"
    mkdir "$up"
    run --separate-stderr sandboxed sh -c "
        before=\$(cat /proc/self/mountinfo)
        pivot --overlay $up --tmpfs /t --bind /etc:/dangling $BAD -- true; echo rc=\$?
        [ \"\$before\" = \"\$(cat /proc/self/mountinfo)\" ] && echo unchanged"
    assert_equal "$output" $'rc=125\nunchanged'
    assert_equal "$stderr" "pivot: '/dangling' is a symlink to a missing target in the image: refusing to create it"
    [[ ! -e $up.work ]] || fail "work directory left behind"
}

@test "hostile /data -> /etc: the volume lands on the image's /etc, never the host's" {
    local vol="$BATS_TEST_TMPDIR/vol" host_etc
    mkdir "$vol" && echo volume >"$vol/volume-marker"
    host_etc=$(ls -la /etc | sha256sum)
    run sandboxed sh -c "unshare-lite --mount --pid -- pivot --tmp-overlay --bind $vol:/data $BAD -- sh -c '$mountpoints | grep -x /etc; cat /etc/volume-marker'
        grep -c ' /etc ' /proc/self/mountinfo; ls /etc/volume-marker 2>&1 | grep -c 'No such'"
    assert_status 0
    assert_equal "$output" $'/etc\nvolume\n0\n1'
    assert_equal "$(ls -la /etc | sha256sum)" "$host_etc"
}

@test "hostile relative and chained symlinks resolve inside the image" {
    local vol="$BATS_TEST_TMPDIR/vol"
    mkdir "$vol"
    # /up -> ../../.. stops at the image's root, so /up/data is /data -> /etc.
    run contain --tmp-overlay --bind "$vol:/up/data" "$BAD" -- sh -c "$mountpoints | grep -x /etc"
    assert_equal "$output" /etc
    # /chain -> /a/b -> ../etc: the missing /chain/sub is made as /etc/sub.
    run contain --tmp-overlay --bind "$vol:/chain/sub" "$BAD" -- sh -c "$mountpoints | grep -x /etc/sub"
    assert_equal "$output" /etc/sub
    [[ ! -e $BAD/etc/sub && ! -e /etc/sub ]] || fail "mountpoint made outside the overlay"
}

@test "hostile destinations that resolve to the root, dangle or use magic links are refused" {
    local dst
    for dst in /up /dangling /proc/self/root/etc; do
        run --separate-stderr contain --tmp-overlay --bind "$BATS_TEST_TMPDIR:$dst" "$BAD" -- true
        [[ $status == 125 ]] || fail "$dst: exited $status"
        [[ $stderr == "pivot: '$dst' "* ]] || fail "$dst: $stderr"
    done
    [[ ! -e /nonexistent ]]
}

@test "hostile /proc, /dev or /sys that is a symlink or a file is refused, nothing made" {
    local case dir
    for case in "proc:/tmp/pivot-test-x" "dev:/" "sys:file"; do
        dir="$BATS_TEST_TMPDIR/${case%%:*}"
        cp -a "$IMG" "$dir"
        rmdir "$dir/${case%%:*}"
        if [[ ${case#*:} == file ]]; then
            touch "$dir/${case%%:*}"
        else
            ln -s "${case#*:}" "$dir/${case%%:*}"
        fi
        run --separate-stderr sandboxed sh -c "before=\$(cat /proc/self/mountinfo)
            unshare-lite --mount --pid -- pivot $dir -- true; echo rc=\$?
            [ \"\$before\" = \"\$(cat /proc/self/mountinfo)\" ] && echo unchanged"
        assert_equal "$output" $'rc=125\nunchanged'
        [[ $stderr == "pivot: the image's /${case%%:*} is "* ]] || fail "$case: $stderr"
    done
    [[ ! -e /tmp/pivot-test-x ]] || fail "made the symlink's target on the host"
}

@test "a /dev/null planted in the image is hidden by the new /dev" {
    run contain --tmp-overlay "$BAD" -- stat -c '%F %t:%T' /dev/null
    assert_equal "$output" "character special file 1:3"
}

# A seccomp profile under which mount_setattr on a single mount (flags
# AT_EMPTY_PATH alone, 0x1000: what --next-from-host's read-only mount
# asks) fails with ENOSYS, as on a kernel before 5.12: pivot must then
# fall back to the sealed memfd copy. --no-proc, whose read-only paths use
# the same call.
NO_SETATTR='{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount_setattr"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"args":[{"index":2,"value":4096,"op":"SCMP_CMP_EQ"}]}]}'

# next_from_host_fallback PIVOT-ARGS...: pivot under that profile.
next_from_host_fallback() {
    printf '%s' "$NO_SETATTR" >"$BATS_TEST_TMPDIR/no-setattr.json"
    sandboxed unshare-lite --mount --pid -- scfilter --profile "$BATS_TEST_TMPDIR/no-setattr.json" -- pivot --no-proc "$@"
}

@test "--next-from-host runs a static isokit binary absent from the image, from a read-only detached mount or a sealed copy" {
    [[ ! -e $IMG/bin/unshare-lite && ! -e $IMG/usr/bin/unshare-lite ]]
    # The init forked by PROG (PID 1 of a nested PID namespace, seen
    # through its own /proc): its exe names no host path. From the
    # detached mount of the file alone the kernel shows "/"; exec'd from
    # the host file plainly it would show the file's host path.
    local show='readlink /proc/1/exe; pwd'
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 unshare-lite --mount --pid -- \
        pivot --next-from-host "$IMG" -- unshare-lite --pid --mount-proc -- sh -c "$show"
    assert_status 0
    assert_equal "$output" $'/\n/'
    [[ $stderr == *"pivot: root '$IMG', proc, dev, sysfs ro; pivot_root; next step from the host through a read-only detached mount"* ]] || fail "$stderr"
    # Where the kernel refuses the read-only mount: the sealed copy.
    ISOKIT_TRACE=1 run --separate-stderr next_from_host_fallback --next-from-host "$IMG" -- \
        unshare-lite --pid --mount-proc -- sh -c "$show"
    assert_status 0
    assert_equal "$output" $'/memfd:pivot-next (deleted)\n/'
    [[ $stderr == *"pivot_root; next step from the host through a sealed memfd copy"* ]] || fail "$stderr"
}

# The CVE-2019-5736 attack on what --next-from-host runs, from the host
# side (a process in the container with ptrace access to the init would
# hold the same handle): take /proc/PID/exe of the process running PROG as
# an O_PATH fd, kill it, then, once nothing executes the file any more
# (ETXTBSY until then), reopen the fd for writing and write. Prints
# "written" if the write reached the file, else where it was refused.
# Arguments: the pid of the chain's runner and PROG's path (argv[0] of the
# process to find below it).
EXE_ATTACK='
import errno, os, signal, sys, time
top, victim = int(sys.argv[1]), sys.argv[2].encode()
deadline = time.time() + 10
def below(pid):
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []
def runs_victim(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0] == victim
    except OSError:
        return False
pid = None
while pid is None:
    todo = [top]
    while todo and pid is None:
        p = todo.pop()
        pid = p if runs_victim(p) else None
        todo += below(p)
    if pid is None:
        if time.time() > deadline:
            sys.exit("no process runs " + victim.decode())
        time.sleep(0.02)
handle = os.open(f"/proc/{pid}/exe", os.O_PATH)
os.kill(pid, signal.SIGKILL)
while True:
    try:
        fd = os.open(f"/proc/self/fd/{handle}", os.O_WRONLY)
        break
    except OSError as e:
        if e.errno == errno.ETXTBSY and time.time() < deadline:
            time.sleep(0.02)
            continue
        print("open:", errno.errorcode[e.errno])
        sys.exit(0)
try:
    os.write(fd, b"written by the container")
    print("written")
except OSError as e:
    print("write:", errno.errorcode[e.errno])
'

# exe_attack RUNNER [PIVOT OPTIONS]: run a copy of unshare-lite through
# `RUNNER [OPTIONS] --next-from-host IMG`, attack it, check the copy.
exe_attack() {
    local runner=$1 victim="$BATS_TEST_TMPDIR/victim/unshare-lite"
    shift
    mkdir -p "${victim%/*}"
    cp "$BIN/unshare-lite" "$victim"
    # In the background; the attack finds PROG among its descendants.
    "$runner" "$@" --next-from-host "$IMG" -- "$victim" --pid -- sleep 30 &
    local runner_pid=$!
    run python3 -c "$EXE_ATTACK" "$runner_pid" "$victim"
    wait "$runner_pid" || true
    cmp -s "$victim" "$BIN/unshare-lite" || fail "the host binary was overwritten through /proc/PID/exe ($output)"
}

@test "--next-from-host: /proc/PID/exe of PROG cannot write the host binary, even once PROG is gone (CVE-2019-5736)" {
    exe_attack contain
    assert_equal "$output" "open: EROFS"
    # The fallback: the sealed copy takes the open but refuses the write.
    exe_attack next_from_host_fallback
    assert_equal "$output" "write: EPERM"
}

@test "--next-from-host refuses a dynamic binary and a script, saying why, before mounting" {
    local dynamic
    dynamic=$(type -P true)
    ldd "$dynamic" >/dev/null 2>&1 || skip "the host's true is static"
    run --separate-stderr contain --next-from-host "$IMG" -- true
    assert_status 126
    [[ $stderr == "pivot: cannot run '"*"true': dynamically linked (interpreter "*"): with --next-from-host its loader and libraries would be looked up inside the image; use a static build" ]] ||
        fail "$stderr"
    local script="$BATS_TEST_TMPDIR/script"
    printf '#!/bin/sh\necho hi\n' >"$script" && chmod +x "$script"
    run --separate-stderr contain --next-from-host "$IMG" -- "$script"
    assert_status 126
    [[ $stderr == *"a #! script"* ]] || fail "$stderr"
    run -127 --separate-stderr contain --next-from-host "$IMG" -- no-such-program-xyz
    assert_status 127
}

@test "no fd of the host reaches PROG, with or without --next-from-host" {
    # Exactly the fds the chain inherited (bats keeps a few of its own open),
    # and none pointing into the host's filesystem from pivot's work.
    local fds='cd /proc/self/fd && for f in *; do printf "%s " "$f"; done'
    local inherited
    inherited=$(sandboxed sh -c "$fds")
    run contain "$IMG" -- sh -c "$fds"
    assert_equal "$output" "$inherited"
    run contain --next-from-host "$IMG" -- unshare-lite -- sh -c "$fds"
    assert_equal "$output" "$inherited"
    run contain --bind "$BATS_TEST_TMPDIR:/vol" "$IMG" -- sh -c "$fds" 7</dev/null
    assert_equal "$output" "${inherited}7 "
}

@test "an inherited fd to a host directory or namespace is refused, naming it; pipes pass" {
    # Before the rule, the first one printed the host's hostname.
    run --separate-stderr contain "$IMG" -- cat /proc/self/fd/7/etc/hostname 7</
    assert_status 125
    assert_equal "$output" ""
    assert_equal "$stderr" "pivot: inherited fd 7 '/' is a directory: it would reach the host from inside the new root (close it before the chain, e.g. 7<&-)"
    run --separate-stderr contain "$IMG" -- true 8</proc/self/ns/net
    assert_status 125
    [[ $stderr == "pivot: inherited fd 8 'net:["*"]' is a namespace file: "* ]] || fail "$stderr"
    # Data the caller hands on on purpose: stdin and fd 7 are pipes.
    run --separate-stderr contain "$IMG" -- sh -c 'cat; cat <&7' <<<stdin 7< <(echo seven)
    assert_status 0
    assert_equal "$output" $'stdin\nseven'
}

@test "the working directory inside is / even when started elsewhere" {
    cd "$BATS_TEST_TMPDIR"
    run contain "$IMG" -- sh -c 'pwd; ls -d /proc/self/cwd/.. >/dev/null && readlink /proc/self/cwd'
    assert_equal "$output" $'/\n/'
}

@test "/sys: fresh sysfs in a new network namespace, else a read-only bind of the host's" {
    # The sandbox has its own network namespace: a fresh sysfs shows its lo only.
    run contain "$IMG" -- ls /sys/class/net
    assert_equal "$output" lo
    # All ancestors pivot can see share its network namespace: it binds the
    # existing /sys, which shows the host's devices, read-only.
    local host_net
    host_net=$(ls /sys/class/net | tr '\n' ' ')
    run sandboxed unshare --pid --fork --mount-proc sh -c "unshare-lite --mount -- pivot $IMG -- sh -c 'ls /sys/class/net | tr \"\n\" \" \"; mkdir /sys/x 2>&1'"
    [[ $output == "$host_net"*"Read-only file system"* ]] || fail "expected '$host_net', got: $output"
}

@test "ISOKIT_TRACE names the root and every mount" {
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 unshare-lite --mount --pid -- pivot --tmpfs /t --ro "$IMG" -- true
    assert_status 0
    # unshare-lite's launcher and pivot (in its child) print concurrently.
    assert_equal "$(grep '^pivot: ' <<<"$stderr")" "pivot: root '$IMG', proc, dev, sysfs ro, tmpfs /t, root ro; pivot_root"
}

@test "mkrootfs busybox: static busybox, applets linked, users, hostname, /tmp" {
    [[ -x $IMG/bin/busybox ]]
    run file -L "$IMG/bin/busybox"
    [[ $output == *"statically linked"* ]] || fail "$output"
    run contain "$IMG" -- sh -c 'readlink /bin/sh; cat /etc/hostname; cut -d: -f1,3 /etc/passwd; cut -d: -f1,3 /etc/group; stat -c %a /tmp; which awk'
    assert_equal "$output" $'/bin/busybox\nisokit\nroot:0\nnobody:65534\nroot:0\ntty:5\nnobody:65534\n1777\n/usr/bin/awk'
    run "$ROOT/scripts/mkrootfs" busybox "$IMG"
    assert_status 1
    assert_equal "$output" "mkrootfs: '$IMG' is not empty"
}

@test "mkrootfs tar: unpacks an export; entries leaving DIR are refused, nothing written" {
    local dir="$BATS_TEST_TMPDIR"
    tar -cf "$dir/export.tar" -C "$IMG" .
    "$ROOT/scripts/mkrootfs" tar "$dir/export.tar" "$dir/unpacked"
    run contain "$dir/unpacked" -- cat /etc/hostname
    assert_equal "$output" isokit

    mkdir "$dir/src" && echo x >"$dir/src/f"
    tar -cf "$dir/climb.tar" -C "$dir/src" --transform 's,^f$,../escape,' f 2>/dev/null
    tar -cPf "$dir/absolute.tar" "$dir/src/f"
    run "$ROOT/scripts/mkrootfs" tar "$dir/climb.tar" "$dir/out1"
    assert_status 1
    assert_equal "$output" "mkrootfs: '$dir/climb.tar': entry '../escape' leaves the target directory"
    run "$ROOT/scripts/mkrootfs" tar "$dir/absolute.tar" "$dir/out2"
    assert_status 1
    assert_equal "$output" "mkrootfs: '$dir/absolute.tar': entry '$dir/src/f' is an absolute path"
    [[ ! -e $dir/out1 && ! -e $dir/out2 && ! -e $dir/escape ]] || fail "something was written"
}

@test "--no-proc --no-dev --no-sys leave the image's own directories as they are" {
    run contain --no-proc --no-dev --no-sys "$IMG" -- sh -c 'ls -A /proc /sys /dev | tr -d "\n"; echo; pwd'
    assert_status 0
    assert_equal "$output" $'/dev:/proc:/sys:\n/'
}

@test "in a user namespace, where mknod is refused, /dev nodes are the host's, bound" {
    run sandboxed unshare-lite --user --map-root --mount --pid --net -- pivot "$IMG" -- sh -c '
        for d in null zero full random urandom tty; do stat -c "%n %F %t:%T" /dev/$d; done
        awk "\$5 == \"/dev/null\" { print \$4 }" /proc/self/mountinfo
        echo hi > /dev/null && echo writable'
    assert_status 0
    local d want=""
    for d in null zero full random urandom tty; do
        want+="/dev/$d $(stat -c '%F %t:%T' /dev/$d)"$'\n'
    done
    # A bind of the host's node shows its path in the host's /dev as root.
    assert_equal "$output" "${want}/null"$'\n'"writable"
}

@test "rootless: an unprivileged user pivots inside its own user namespace" {
    local bin pub
    bin=$(public_bin)
    pub=$(public_tmp)
    cp -a "$IMG" "$pub/img"
    chmod 0755 "$pub/img"
    run sandboxed setpriv --reuid 65534 --regid 65534 --clear-groups -- \
        "$bin/unshare-lite" --user --map-root --mount --pid --net -- "$bin/pivot" --tmp-overlay "$pub/img" -- sh -c '
            id -u; (cd /dev && for f in *; do printf "%s " "$f"; done); echo; pwd'
    assert_status 0
    assert_equal "$output" $'0\nfd full null ptmx pts random shm stderr stdin stdout tty urandom zero \n/'
    # Without a user namespace of its own the same user is refused, by the
    # kernel if not by pivot, and exits 125.
    run sandboxed setpriv --reuid 65534 --regid 65534 --clear-groups -- "$bin/pivot" "$pub/img" -- true
    assert_status 125
}

@test "--overlay: a symlink planted at UPPERDIR.work is refused, nothing written where it points" {
    local up="$BATS_TEST_TMPDIR/up" elsewhere="$BATS_TEST_TMPDIR/elsewhere"
    mkdir "$up" "$elsewhere"
    ln -s "$elsewhere" "$up.work"
    run --separate-stderr contain --overlay "$up" "$IMG" -- true
    assert_status 125
    assert_equal "$stderr" "pivot: overlay work directory '$up.work' is a symlink: refusing to follow it"
    assert_equal "$(ls -A "$elsewhere")" ""
    [[ -L $up.work ]] || fail "the planted symlink was replaced"
}

@test "a failure midway removes the mountpoints it made in a plain bind root" {
    local img="$BATS_TEST_TMPDIR/img" before
    cp -a "$BAD" "$img"
    rmdir "$img/sys"
    before=$(fingerprint "$img")
    # /sys, /made/deep and /file are created, then /dangling is refused.
    run --separate-stderr contain --tmpfs /made/deep --bind "$ROOT/README.md:/file" --bind /etc:/dangling "$img" -- true
    assert_status 125
    assert_equal "$stderr" "pivot: '/dangling' is a symlink to a missing target in the image: refusing to create it"
    [[ ! -e $img/made && ! -e $img/file && ! -e $img/sys ]] || fail "left behind: $(ls "$img")"
    assert_equal "$(fingerprint "$img")" "$before"
}

# Cgroups a test made (cgset --name), removed whatever the test's outcome.
teardown() {
    if [[ -n ${CG_NAME:-} ]]; then
        cgset --name "$CG_NAME" --remove >/dev/null 2>&1 || true
    fi
}

@test "in a cgroup namespace, /sys/fs/cgroup shows the container's own limits, read-only; --no-cgroup leaves it empty" {
    CG_NAME="isokit-pivot-$$-$BATS_TEST_NUMBER"
    local file=memory.max value=50331648
    # v1 or hybrid host: one mount per hierarchy, as the host has them.
    [[ -d /sys/fs/cgroup/memory ]] && file=memory/memory.limit_in_bytes
    run --separate-stderr sandboxed cgset --name "$CG_NAME" --memory 48M -- \
        unshare-lite --mount --pid --cgroup -- pivot --tmp-overlay "$IMG" -- sh -c "
            cat /sys/fs/cgroup/$file
            echo 1 >/sys/fs/cgroup/$file && echo wrote
            awk '\$5 ~ \"^/sys/fs/cgroup\" && \$6 ~ /^ro(,|\$)/' /proc/self/mountinfo | wc -l
            awk '\$5 ~ \"^/sys/fs/cgroup\"' /proc/self/mountinfo | wc -l"
    assert_status 0
    assert_equal "${lines[0]}" "$value"
    assert_equal "${lines[1]}" "${lines[2]}"
    ((lines[1] >= 1)) || fail "no cgroup mount: $output"
    [[ $output != *wrote* && $stderr == *"Read-only file system"* ]] || fail "$output $stderr"
    run sandboxed unshare-lite --mount --pid --cgroup -- pivot --no-cgroup --tmp-overlay "$IMG" -- ls -A /sys/fs/cgroup
    assert_equal "$output" ""
    # Without a cgroup namespace, the host's tree is not shown at all.
    run sandboxed unshare-lite --mount --pid -- pivot --tmp-overlay "$IMG" -- ls -A /sys/fs/cgroup
    assert_equal "$output" ""
}
