#!/usr/bin/env bats
# capdrop: the capability sets, ids and no_new_privs the command starts
# with, as the kernel reports them in /proc/self/status; names resolved in
# the current root's files; bad input refused before anything changes.
# Every run is inside `sandboxed`, so nothing can touch the host.

load helpers

# Docker's default capabilities (14, MKNOD among them) as a CapBnd/CapEff mask.
DOCKER_MASK=00000000a80425fb

# The capability and privilege lines of the command's own status.
status_lines='grep -E "^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs):" /proc/self/status'

# The value of FIELD in the status text $output (its last occurrence),
# words separated by one space.
field() {
    awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ +/, ""); value = $0 } END { print value }' <<<"$output"
}

# A root filesystem of its own: static busybox, the capdrop binary, and
# passwd/group files whose names and numbers differ from the host's.
make_image() {
    IMAGE="$BATS_FILE_TMPDIR/image"
    [[ -d $IMAGE ]] && return 0
    mkdir -p "$IMAGE"/{bin,etc,proc}
    cp "$(command -v busybox)" "$IMAGE/bin/busybox"
    for applet in sh cat id; do
        ln -s busybox "$IMAGE/bin/$applet"
    done
    cp "$BIN/capdrop" "$IMAGE/capdrop"
    cat >"$IMAGE/etc/passwd" <<'EOF'
root:x:0:0:root:/:/bin/sh
alice:x:1234:2345:Alice:/:/bin/sh
nobody:x:7777:7777:not the host's nobody:/:/bin/sh
EOF
    cat >"$IMAGE/etc/group" <<'EOF'
root:x:0:
alicegrp:x:2345:
wheel:x:4444:alice
staff:x:5555:bob,alice
aliceish:x:6666:alicex,xalice
EOF
}

# Run a command inside the image (capdrop is /capdrop there), with the
# sandbox's /proc mounted in it.
in_image() {
    local image=$1
    shift
    sandboxed sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' sh "$image" "$image" "$@"
}

@test "default: Docker's capabilities, nothing inheritable or ambient, no_new_privs" {
    run sandboxed capdrop -- sh -c "$status_lines"
    assert_status 0
    assert_equal "$(field CapBnd)" $DOCKER_MASK
    assert_equal "$(field CapEff)" $DOCKER_MASK
    assert_equal "$(field CapPrm)" $DOCKER_MASK
    assert_equal "$(field CapInh)" 0000000000000000
    assert_equal "$(field CapAmb)" 0000000000000000
    assert_equal "$(field NoNewPrivs)" 1
    assert_equal "$(field Uid)" "0 0 0 0"
}

@test "--keep none: every set is empty" {
    run sandboxed capdrop --keep none -- sh -c "$status_lines"
    assert_status 0
    local set
    for set in CapBnd CapEff CapPrm CapInh CapAmb; do
        assert_equal "$(field $set)" 0000000000000000
    done
    assert_equal "$(field NoNewPrivs)" 1
}

@test "--keep all keeps what the caller has; --drop removes from it; names in any case" {
    local caller
    caller=$(sandboxed sh -c 'grep ^CapBnd: /proc/self/status' | cut -f2)
    run sandboxed capdrop --keep all -- sh -c "$status_lines"
    assert_equal "$(field CapBnd)" "$caller"
    assert_equal "$(field CapEff)" "$caller"
    # chown (bit 0) and kill (bit 5) out of Docker's set.
    run sandboxed capdrop --drop CAP_CHOWN,Kill -- sh -c "$status_lines"
    assert_equal "$(field CapBnd)" 00000000a80425da
    assert_equal "$(field CapEff)" 00000000a80425da
}

@test "--user nobody: an unprivileged process with empty sets" {
    run sandboxed capdrop --user nobody -- sh -c "$status_lines; id -u"
    assert_status 0
    assert_equal "$(field Uid)" "65534 65534 65534 65534"
    local set
    for set in CapEff CapPrm CapInh CapAmb; do
        assert_equal "$(field $set)" 0000000000000000
    done
    # The bounding set still limits what a setuid program could regain.
    assert_equal "$(field CapBnd)" $DOCKER_MASK
    assert_equal "$(field NoNewPrivs)" 1
}

@test "--user nobody --keep NET_BIND_SERVICE: only bit 10, carried by the ambient set" {
    local order
    for order in "--user nobody --keep NET_BIND_SERVICE" "--keep cap_net_bind_service --user 65534"; do
        run sandboxed capdrop $order -- sh -c "$status_lines"
        assert_status 0
        assert_equal "$(field Uid)" "65534 65534 65534 65534"
        local set
        for set in CapEff CapPrm CapAmb CapBnd CapInh; do
            assert_equal "$(field $set)" 0000000000000400
        done
    done
}

# Listen on port 80 as nobody inside a fresh network namespace. Prints
# the owner of the listening socket as the kernel lists it in
# /proc/net/tcp{,6}, or nc's status and error when it could not listen.
listen_on_80() {
    sandboxed sh -c '
        echo 1024 >/proc/sys/net/ipv4/ip_unprivileged_port_start
        capdrop --user nobody "$@" -- busybox nc -l -p 80 </dev/null >"$out" 2>&1 &
        listener=$!
        owner=
        i=0
        while [ $i -lt 200 ]; do
            owner=$(cat /proc/net/tcp /proc/net/tcp6 | awk "\$2 ~ /:0050\$/ && \$4 == \"0A\" { print \$8 }")
            [ -n "$owner" ] && break
            # nc gave up: a zombie, or already reaped by the shell
            grep -qs "^State:.[^Z]" /proc/$listener/status || break
            i=$((i + 1))
            sleep 0.05
        done
        kill $listener 2>/dev/null
        if [ -n "$owner" ]; then
            echo "listening on 80 as uid $owner"
        else
            wait $listener
            echo "status=$?"
            cat "$out"
        fi' sh "$@"
}

@test "a kept NET_BIND_SERVICE lets nobody bind port 80; without it bind is refused" {
    export out="$BATS_TEST_TMPDIR/nc.out"
    run listen_on_80 --keep net_bind_service
    assert_equal "$output" "listening on 80 as uid 65534"
    run listen_on_80
    assert_equal "$output" $'status=1\nnc: bind: Permission denied'
    run listen_on_80 --keep none
    assert_equal "$output" $'status=1\nnc: bind: Permission denied'
}

@test "a setuid-root program gains nothing under no_new_privs, and root with --allow-new-privs" {
    local dir suid
    dir=$(public_tmp)
    suid="$dir/suid-cat"
    cp "$(command -v cat)" "$suid"
    chown root:root "$suid"
    chmod 4755 "$suid"
    run sandboxed capdrop --user nobody -- "$suid" /proc/self/status
    assert_equal "$(field Uid)" "65534 65534 65534 65534"
    assert_equal "$(field CapEff)" 0000000000000000
    # Without no_new_privs the setuid bit works, and root regains what the
    # bounding set allows (with the default set kept: SETUID among them).
    run sandboxed capdrop --user nobody --allow-new-privs -- "$suid" /proc/self/status
    assert_equal "$(field Uid)" "65534 0 0 0"
    assert_equal "$(field CapEff)" $DOCKER_MASK
    assert_equal "$(field NoNewPrivs)" 0
    # An empty bounding set makes that root powerless.
    run sandboxed capdrop --user nobody --keep none --allow-new-privs -- "$suid" /proc/self/status
    assert_equal "$(field Uid)" "65534 0 0 0"
    assert_equal "$(field CapEff)" 0000000000000000
    rm -f "$suid"
}

@test "groups: exactly the ones asked for, none of the caller's left behind" {
    # The caller holds groups 4242 and 4343; --user replaces them.
    run sandboxed setpriv --groups 4242,4343 -- sh -c "grep ^Groups: /proc/self/status; capdrop --user nobody -- sh -c '$status_lines; id -G'"
    assert_status 0
    assert_equal "${lines[0]}" $'Groups:\t4242 4343 '
    assert_equal "$(field Groups)" 65534
    assert_equal "${lines[-1]}" 65534
    run sandboxed setpriv --groups 4242 -- capdrop --user nobody --groups 10,20,10 -- sh -c "$status_lines; id -G"
    assert_equal "$(field Groups)" "10 20"
    assert_equal "$(field Gid)" "65534 65534 65534 65534"
    assert_equal "${lines[-1]}" "65534 10 20"
    # --groups alone changes only the supplementary groups.
    run sandboxed capdrop --groups 7 -- sh -c "$status_lines"
    assert_equal "$(field Groups)" 7
    assert_equal "$(field Uid)" "0 0 0 0"
}

@test "a numeric uid absent from passwd works, with the gid of the same number" {
    run sandboxed capdrop --user 4321 -- sh -c "$status_lines"
    assert_status 0
    assert_equal "$(field Uid)" "4321 4321 4321 4321"
    assert_equal "$(field Gid)" "4321 4321 4321 4321"
    assert_equal "$(field Groups)" 4321
    run sandboxed capdrop --user 4321:99 -- sh -c "$status_lines"
    assert_equal "$(field Gid)" "99 99 99 99"
    assert_equal "$(field Groups)" 99
}

@test "names come from the image's /etc/passwd and /etc/group, not the host's" {
    make_image
    run in_image "$IMAGE" /capdrop --user alice -- cat /proc/self/status
    assert_status 0
    assert_equal "$(field Uid)" "1234 1234 1234 1234"
    assert_equal "$(field Gid)" "2345 2345 2345 2345"
    # Member of wheel and staff, not of aliceish (alicex, xalice).
    assert_equal "$(field Groups)" "2345 4444 5555"
    # The image's nobody is 7777, the host's 65534.
    run in_image "$IMAGE" /capdrop --user nobody:wheel -- cat /proc/self/status
    assert_equal "$(field Uid)" "7777 7777 7777 7777"
    assert_equal "$(field Gid)" "4444 4444 4444 4444"
    # A user the host has and the image lacks.
    getent passwd daemon >/dev/null || fail "the host has no 'daemon' user to test with"
    run --separate-stderr in_image "$IMAGE" /capdrop --user daemon -- true
    assert_status 125
    assert_equal "${stderr_lines[0]}" "capdrop: --user: unknown user 'daemon' (not in /etc/passwd)"
}

@test "a FIFO planted as the image's /etc/passwd is refused, not waited on" {
    make_image
    local hostile="$BATS_TEST_TMPDIR/hostile"
    cp -a "$IMAGE" "$hostile"
    rm "$hostile/etc/passwd"
    mkfifo "$hostile/etc/passwd"
    run --separate-stderr timeout 20 bash -c "$(declare -f sandboxed in_image); in_image '$hostile' /capdrop --user alice -- true"
    assert_status 125
    assert_equal "$stderr" "capdrop: read '/etc/passwd': not a regular file"
}

@test "unknown capability: 125 with the list of valid names, the command not run" {
    local marker="$BATS_TEST_TMPDIR/ran"
    run --separate-stderr sandboxed capdrop --keep chown,cap_bogus -- touch "$marker"
    assert_status 125
    [[ ${stderr_lines[0]} == "capdrop: --keep: unknown capability 'cap_bogus' (valid: chown dac_override "*" checkpoint_restore)" ]] ||
        fail "stderr: $stderr"
    assert_equal "${stderr_lines[1]}" "Try 'capdrop --help' for more information."
    [[ ! -e $marker ]] || fail "the command ran"
}

@test "--user nosuchuser, empty, malformed and non-UTF-8 values: 125 before anything runs" {
    local marker="$BATS_TEST_TMPDIR/ran" args
    for args in "--user nosuchuser" "--user ''" "--user nobody:" "--user :nogroup" "--user nobody:nogroup:x" \
        "--user -1" "--user 4294967295" "--user 99999999999" "--user nobody:nosuchgroup" "--groups ''" \
        "--groups 10,,20" "--groups nosuchgroup" "--keep ''" "--keep all,chown" "--drop chown," \
        "--keep \$'\\xff'" "--user \$'\\xff'" "--groups \$'\\xff'" "--keep none --keep all"; do
        run --separate-stderr sandboxed bash -c "capdrop $args -- touch $marker"
        [[ $status == 125 ]] || fail "'$args' exited $status"
        [[ $stderr == capdrop:* ]] || fail "'$args' said: $stderr"
        [[ ! -e $marker ]] || fail "'$args' ran the command"
    done
}

@test "a capability the caller lacks cannot be kept; the default leaves it out" {
    run --separate-stderr sandboxed setpriv --bounding-set -net_raw -- capdrop --keep net_raw -- true
    assert_status 125
    assert_equal "${stderr_lines[0]}" "capdrop: --keep: cannot keep net_raw: the calling process does not hold it"
    run sandboxed setpriv --bounding-set -net_raw -- capdrop -- sh -c "$status_lines"
    assert_status 0
    # Docker's mask without bit 13.
    assert_equal "$(field CapBnd)" 00000000a80405fb
}

@test "a caller without CAP_SETPCAP cannot drop: 125, the command not run" {
    local marker dir
    dir=$(public_tmp)
    marker="$dir/ran"
    run --separate-stderr sandboxed setpriv --reuid 65534 --regid 65534 --clear-groups -- "$(public_bin)/capdrop" --keep none -- touch "$marker"
    assert_status 125
    assert_equal "$stderr" "capdrop: drop chown from the bounding set: Operation not permitted"
    [[ ! -e $marker ]] || fail "the command ran"
}

@test "a setuid-root copy of capdrop refuses to run" {
    local dir copy
    dir=$(public_tmp)
    copy="$dir/capdrop-suid"
    cp "$BIN/capdrop" "$copy"
    chmod 4755 "$copy"
    run --separate-stderr sandboxed setpriv --reuid 65534 --regid 65534 --clear-groups -- "$copy" --keep none -- true
    rm -f "$copy"
    assert_status 125
    assert_equal "$stderr" "capdrop: refusing to run setuid (real uid 65534, effective uid 0): run it as root or inside a user namespace"
}

@test "--show explains the result and exits 0 without a command" {
    run --separate-stderr sandboxed capdrop --user nobody --keep net_bind_service,kill --show
    assert_status 0
    assert_equal "${lines[0]}" "bounding:     kill,net_bind_service"
    assert_equal "${lines[3]}" "inheritable:  kill,net_bind_service"
    assert_equal "${lines[4]}" "ambient:      kill,net_bind_service"
    assert_equal "${lines[5]}" "uid:          65534(nobody)"
    assert_equal "${lines[8]}" "no_new_privs: 1"
    [[ ${lines[9]} == "securebits:   0x0 "* ]] || fail "${lines[9]}"
    # With a command, the description comes first and the command runs.
    run sandboxed capdrop --keep none --show -- echo ran
    assert_equal "${lines[0]}" "bounding:     none"
    assert_equal "${lines[-1]}" "ran"
}

@test "ISOKIT_TRACE=1 prints one line with the resulting credentials" {
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 capdrop --user nobody --keep net_bind_service -- true
    assert_status 0
    assert_equal "$stderr" "capdrop: uid 65534 gid 65534 groups 65534; bounding net_bind_service; permitted net_bind_service; ambient net_bind_service; no_new_privs 1"
}

@test "in a user namespace with setgroups denied, --user is refused with the reason" {
    run --separate-stderr sandboxed setpriv --reuid 65534 --regid 65534 --clear-groups -- \
        "$(public_bin)/unshare-lite" --user --map-root -- "$(public_bin)/capdrop" --user 0 -- true
    assert_status 125
    assert_equal "$stderr" "capdrop: set supplementary groups to 0: Operation not permitted (setgroups is denied in this user namespace, so the caller's groups cannot be replaced)"
    # Without --user the rootless chain works: root of the namespace keeps Docker's set.
    run sandboxed setpriv --reuid 65534 --regid 65534 --clear-groups -- \
        "$(public_bin)/unshare-lite" --user --map-root -- "$(public_bin)/capdrop" -- sh -c "$status_lines"
    assert_status 0
    assert_equal "$(field CapEff)" $DOCKER_MASK
    assert_equal "$(field NoNewPrivs)" 1
}

@test "a non-root caller holding capabilities (ambient) can narrow them further" {
    # The outer capdrop makes nobody with four ambient capabilities; the
    # inner one, run by nobody, keeps one of them.
    run sandboxed capdrop --user nobody --keep setpcap,setuid,setgid,net_bind_service -- \
        capdrop --user nobody --groups 10 --keep net_bind_service -- sh -c "$status_lines"
    assert_status 0
    local set
    for set in CapEff CapPrm CapAmb CapBnd CapInh; do
        assert_equal "$(field $set)" 0000000000000400
    done
    assert_equal "$(field Groups)" 10
    run sandboxed capdrop --user nobody --keep setpcap,setuid,setgid -- capdrop --keep none -- sh -c "$status_lines"
    assert_status 0
    for set in CapEff CapPrm CapAmb CapBnd CapInh; do
        assert_equal "$(field $set)" 0000000000000000
    done
}

@test "without /proc, or with fake /proc files planted in the image, the kernel is asked instead" {
    make_image
    local image="$BATS_TEST_TMPDIR/noproc"
    cp -a "$IMAGE" "$image"
    mkdir "$image/hostproc"
    # The command reads the truth from a procfs capdrop does not look at.
    noproc() {
        sandboxed sh -c 'mount -t proc proc "$1/hostproc" && shift && exec chroot "$@"' sh "$image" "$image" "$@"
    }
    run noproc /capdrop --keep none -- cat /hostproc/self/status
    assert_status 0
    assert_equal "$(field CapBnd)" 0000000000000000
    assert_equal "$(field CapEff)" 0000000000000000
    # Plain files where procfs files would be: a status claiming nothing
    # is left, and the right cap_last_cap.
    mkdir -p "$image/proc/self" "$image/proc/sys/kernel"
    printf 'CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n' >"$image/proc/self/status"
    cp /proc/sys/kernel/cap_last_cap "$image/proc/sys/kernel/cap_last_cap"
    run noproc /capdrop --keep kill -- cat /hostproc/self/status
    assert_status 0
    assert_equal "$(field CapBnd)" 0000000000000020
    # A cap_last_cap that would hide capabilities from capdrop.
    echo 5 >"$image/proc/sys/kernel/cap_last_cap"
    run noproc /capdrop --keep none -- cat /hostproc/self/status
    assert_status 0
    assert_equal "$(field CapBnd)" 0000000000000000
}

@test "PROG gets a new, empty session keyring: the caller's keys are out of reach; --no-new-keyring keeps them" {
    # keyctl session -: the test's own anonymous session keyring, with one
    # key in it (possessor may read it; its user, root, may only view it).
    local script='key=$(keyctl add user "isokit-secret-$1" sesame @s) || exit 1
        echo "outside $(keyctl print "$key")"
        capdrop -- sh -c "keyctl print $key || echo refused; keyctl rdescribe @s; keyctl show @s | grep -c isokit-secret"
        capdrop --no-new-keyring -- keyctl print "$key"'
    run --separate-stderr sandboxed keyctl session - bash -c "$script" bash "$BATS_ROOT_PID"
    assert_status 0
    assert_equal "${lines[0]}" "outside sesame"
    assert_equal "${lines[1]}" refused
    # An anonymous keyring of root's, not the caller's, and without the key.
    [[ ${lines[2]} == keyring\;0\;0\;*\;_ses ]] || fail "session keyring inside: ${lines[2]}"
    assert_equal "${lines[3]}" 0
    assert_equal "${lines[4]}" sesame
    assert_equal "${#lines[@]}" 5
}

@test "--keep default,sys_ptrace: the default set plus one, without copying Docker's list" {
    run sandboxed capdrop --keep default,SYS_PTRACE -- sh -c "$status_lines"
    assert_status 0
    local expected
    expected=$(printf '%016x' $((0x$DOCKER_MASK | 1 << 19)))
    assert_equal "$(field CapBnd)" "$expected"
    assert_equal "$(field CapEff)" "$expected"
    assert_equal "$(field CapInh)" 0000000000000000
    # `default` alone is the same as no --keep; in a list it must be a word.
    run sandboxed capdrop --keep default -- sh -c "$status_lines"
    assert_equal "$(field CapBnd)" "$DOCKER_MASK"
    run -125 --separate-stderr sandboxed capdrop --keep default,,kill -- true
    assert_equal "$stderr" "capdrop: --keep: empty capability name in 'default,,kill'"$'\n'"Try 'capdrop --help' for more information."
}
