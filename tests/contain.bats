#!/usr/bin/env bats
# scripts/contain: every docker-run option has an effect the kernel shows
# inside the container. Each test runs contain inside `sandboxed`, so the
# bridge, mounts and hostname it makes vanish with the test; state goes to
# a directory of the test's own.

load helpers
load cgroup

setup_file() {
    export ISOKIT_IMAGES="$ROOT/target/test-images"
    # Make the default image once, outside the timed tests.
    sandboxed env ISOKIT_STATE="$BATS_FILE_TMPDIR/state" "$ROOT/scripts/contain" -- true
}

setup() {
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    export ISOKIT_IMAGES="$ROOT/target/test-images"
}

contain() {
    sandboxed "$ROOT/scripts/contain" "$@"
}

@test "README's first command: hostname, id and ip addr from inside" {
    run contain --name first -- sh -c 'hostname; id; ip addr'
    assert_status 0
    assert_equal "${lines[0]}" first
    assert_equal "${lines[1]}" "uid=0(root) gid=0(root)"
    # --net none: only the loopback device, up.
    [[ $output == *"1: lo: <LOOPBACK,UP,LOWER_UP>"* ]] || fail "$output"
    [[ $output != *eth0* ]] || fail "unexpected eth0: $output"
}

@test "the container runs as PID 2 in its own PID namespace, in the image's root" {
    run contain -- sh -c 'echo $$; ls -d /proc/[0-9]* | wc -l; test -e /bin/busybox && echo image; if test -e "$0"; then echo host-visible; fi' "$ROOT/README.md"
    assert_status 0
    assert_equal "${lines[0]}" 2
    # init, sh, and the pipeline
    ((lines[1] <= 4)) || fail "sees ${lines[1]} processes"
    assert_equal "${lines[2]}" image
    assert_equal "${#lines[@]}" 3
    [[ $output != *host-visible* ]] || fail "the host's tree is visible"
}

@test "the exit status of the command comes back; 127 for a missing one" {
    run contain -- sh -c 'exit 9'
    assert_status 9
    run -127 contain -- /no/such/thing
}

@test "--hostname sets the name inside" {
    run contain --hostname box -- hostname
    assert_equal "$output" box
}

@test "-e and --env-file: a clean environment plus exactly these" {
    printf 'FROM_FILE=yes\n# comment\n\nSECOND=2\n' >"$BATS_TEST_TMPDIR/env"
    SECRET=host run contain -e A=1 --env-file "$BATS_TEST_TMPDIR/env" -- env
    assert_status 0
    [[ $output == *A=1* && $output == *FROM_FILE=yes* && $output == *SECOND=2* ]] || fail "$output"
    [[ $output != *SECRET* ]] || fail "host environment leaked: $output"
    # A /dev/fd path, as bash's <(...) gives: read before contain closes fds.
    run contain --env-file <(echo PIPED=yes) -- env
    assert_status 0
    [[ $output == *PIPED=yes* ]] || fail "$output"
}

@test "exactly the planned environment and default signal dispositions, with or without env in the chain" {
    # contain execs the chain itself when it can give what the planned
    # `env -i --default-signal` gives (exec_chain), and runs env otherwise:
    # for a signal its caller ignores, an exported function, a name that
    # is no shell variable's. Inside, the kernel shows the same either way.
    # From a clean environment: bats exports functions of its own, which
    # alone would send every launch through env.
    local expected=$'HOME=/root\nHOSTNAME=envs\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nX=1'
    local how
    # The last: contain started without PWD, which its bash then makes.
    for how in 'exec "$@"' 'trap "" HUP INT; exec "$@"' 'f() { :; }; export -f f; exec env "A.B=1" "$@"' \
        'exec env -u PWD -u OLDPWD "$@"'; do
        run sandboxed env -i PATH="$PATH" ISOKIT_STATE="$ISOKIT_STATE" ISOKIT_IMAGES="$ISOKIT_IMAGES" SECRET=host \
            bash -c "$how" bash "$ROOT/scripts/contain" --name envs -e X=1 -- env
        assert_status 0
        assert_equal "$(sort <<<"$output")" "$expected"
        run sandboxed env -i PATH="$PATH" ISOKIT_STATE="$ISOKIT_STATE" ISOKIT_IMAGES="$ISOKIT_IMAGES" \
            bash -c "$how" bash "$ROOT/scripts/contain" -- grep SigIgn /proc/self/status
        assert_status 0
        assert_equal "$output" $'SigIgn:\t0000000000000000'
    done
}

@test "-w sets the working directory" {
    run contain -w /etc -- pwd
    assert_equal "$output" /etc
}

@test "-v binds a host directory, :ro makes it read-only" {
    mkdir -p "$BATS_TEST_TMPDIR/vol"
    echo from-host >"$BATS_TEST_TMPDIR/vol/file"
    run contain -v "$BATS_TEST_TMPDIR/vol:/data" -- sh -c 'cat /data/file; echo written >/data/new'
    assert_status 0
    assert_equal "$output" from-host
    assert_equal "$(cat "$BATS_TEST_TMPDIR/vol/new")" written
    run contain -v "$BATS_TEST_TMPDIR/vol:/data:ro" -- sh -c 'echo x >/data/other'
    [[ $status != 0 ]] || fail "wrote to a read-only volume"
    [[ ! -e $BATS_TEST_TMPDIR/vol/other ]]
}

@test "--tmpfs mounts a tmpfs; --read-only makes the root read-only" {
    run contain --tmpfs /scratch:1M -- sh -c 'grep " /scratch " /proc/self/mountinfo'
    [[ $output == *tmpfs* ]] || fail "$output"
    run contain --read-only -- sh -c 'touch /newfile'
    [[ $status != 0 ]] || fail "wrote to a read-only root"
}

@test "writes inside never reach the shared default image" {
    run contain -- sh -c 'echo dirty >/etc/dirty; cat /etc/dirty'
    assert_equal "$output" dirty
    [[ ! -e $ISOKIT_IMAGES/busybox/etc/dirty ]] || fail "the image was modified"
}

@test "--rootfs uses a given directory, --tar an image tarball" {
    local image="$BATS_TEST_TMPDIR/image"
    cp -a "$ISOKIT_IMAGES/busybox" "$image"
    echo custom >"$image/etc/marker"
    run contain --rootfs "$image" -- cat /etc/marker
    assert_equal "$output" custom
    tar -C "$image" -cf "$BATS_TEST_TMPDIR/image.tar" .
    run contain --tar "$BATS_TEST_TMPDIR/image.tar" -- cat /etc/marker
    assert_equal "$output" custom
}

# The file FILE of process PID's cgroup for CONTROLLER, as the host sees
# it: the controller's v1 hierarchy if it has one, else cgroup v2.
host_cgroup_file() {
    local pid=$1 controller=$2 file=$3 mount path
    if mount=$(cg_find_mount cgroup "$controller"); then
        path=$(awk -F: -v c="$controller" '$2 ~ "(^|,)" c "(,|$)" {print $3}' "/proc/$pid/cgroup")
    else
        mount=$(cg_find_mount cgroup2)
        path=$(awk -F: '$1 == "0" {print $3}' "/proc/$pid/cgroup")
    fi
    # "ROOT MOUNTPOINT": the path in /proc/PID/cgroup is below ROOT.
    local root=${mount%% *}
    [[ $root == / ]] || path=${path#"$root"}
    echo "${mount#* }$path/$file"
}

@test "--memory, --pids-limit and --cpus are set on the container's cgroup" {
    sandboxed_bg "$ROOT/scripts/contain" --name limited --memory 48M --pids-limit 20 --cpus 0.5 -- sleep 5
    local launcher=$BG_PID pid file
    wait_for test -s "$ISOKIT_STATE/limited/pid"
    pid=$(cat "$ISOKIT_STATE/limited/pid")
    file=$(host_cgroup_file "$pid" memory memory.limit_in_bytes)
    [[ -e $file ]] || file=$(host_cgroup_file "$pid" memory memory.max)
    assert_equal "$(cat "$file")" 50331648
    assert_equal "$(cat "$(host_cgroup_file "$pid" pids pids.max)")" 20
    file=$(host_cgroup_file "$pid" cpu cpu.cfs_quota_us)
    if [[ -e $file ]]; then
        assert_equal "$(cat "$file")" 50000
    else
        assert_equal "$(cat "$(host_cgroup_file "$pid" cpu cpu.max)")" "50000 100000"
    fi
    # isokit/NAME.HASH: HASH names the state directory (see cgroup_name).
    [[ $file == */isokit/limited.*/* ]] || fail "cgroup path $file"
    kill "$launcher"
    wait "$launcher" || true
    # Released when the container ended.
    [[ ! -d $(dirname "$file") ]] || fail "cgroup $(dirname "$file") left behind"
}

@test "inside, the cgroup namespace shows the container's cgroup as /" {
    run contain -- cat /proc/self/cgroup
    assert_status 0
    local line
    for line in "${lines[@]}"; do
        [[ ${line##*:} == / ]] || fail "$line"
    done
}

@test "--cap-drop and --cap-add change the capability sets; --user switches user" {
    run contain -- sh -c 'grep CapEff /proc/self/status'
    assert_equal "$output" "CapEff:	00000000a80425fb"
    run contain --cap-drop ALL -- sh -c 'grep CapEff /proc/self/status'
    assert_equal "$output" "CapEff:	0000000000000000"
    run contain --cap-add NET_ADMIN --cap-drop CHOWN -- sh -c 'grep CapEff /proc/self/status'
    assert_equal "$output" "CapEff:	00000000a80435fa"
    run contain --user nobody -- sh -c 'id -u; grep NoNewPrivs /proc/self/status'
    assert_equal "${lines[0]}" 65534
    assert_equal "${lines[1]}" "NoNewPrivs:	1"
}

@test "--net bridge: eth0 with an address on isokit0 and a default route" {
    run contain --net bridge --ip 10.88.0.77 -- sh -c 'ip -4 addr show eth0; ip route'
    assert_status 0
    [[ $output == *"inet 10.88.0.77/16"* ]] || fail "$output"
    [[ $output == *"default via 10.88.0.1"* ]] || fail "$output"
}

@test "20 concurrent --net bridge launches get 20 distinct addresses" {
    run sandboxed bash -c '
        for i in $(seq 20); do
            # Alive together: an address is only reused after release.
            "$ROOT/scripts/contain" --net bridge -- sh -c "ip -4 -o addr show eth0; sleep 4" &
        done
        wait' 
    assert_status 0
    local addresses
    addresses=$(grep -o 'inet [0-9.]*' <<<"$output" | sort -u | wc -l)
    assert_equal "$addresses" 20
}

@test "launches and releases racing on one network leave no state behind, and free every name" {
    # Each release rewrites the others' hosts files. Written while a
    # container's rm -rf emptied its directory, a hosts file kept the
    # directory, and the name with it (seen 7 times in these 120 runs).
    run sandboxed bash -c '
        status=0
        for round in $(seq 15); do
            for i in $(seq 8); do
                "$ROOT/scripts/contain" --net bridge --name "race$i" -- true &
            done
            for job in $(jobs -p); do wait "$job" || status=$?; done
            for dir in "$ISOKIT_STATE"/*/; do
                [[ -d $dir ]] || continue
                echo "round $round left $dir: $(ls -A "$dir")"
                rm -rf "$dir"
                status=1
            done
        done
        exit "$status"'
    assert_status 0
}

@test "--explain prints a chain that, pasted into sh, runs the same container" {
    run contain --explain --name explained --hostname pasted -- sh -c 'hostname; echo $$'
    assert_status 0
    [[ ${lines[0]} == "env -i"* ]] || fail "${lines[0]}"
    local script="$BATS_TEST_TMPDIR/chain.sh" cgroup
    printf '%s\n' "$output" >"$script"
    cgroup=$(sed -n 's/.*cgset --name \([^ ]*\) .*/\1/p' "$script")
    [[ $cgroup == explained.* ]] || fail "cgroup '$cgroup'"
    # What the runner would write first: the state directory (the
    # pidfile), and the name files bound over the image's.
    mkdir -p "$ISOKIT_STATE/explained"
    echo pasted >"$ISOKIT_STATE/explained/hostname"
    : >"$ISOKIT_STATE/explained/hosts"
    : >"$ISOKIT_STATE/explained/resolv.conf"
    run sandboxed sh "$script"
    # The pasted chain has no contain around it to release its cgroup.
    "$BIN/cgset" --name "$cgroup" --remove
    assert_status 0
    assert_equal "$output" $'pasted\n2'
}

@test "bad options exit 125 and leave nothing behind" {
    local args
    for args in "--net wrong" "--name ../x" "--ip 10.88.0.5" "--net bridge --ip 1.2.3.4" "-e 1BAD=x" \
        "-v /nonexistent:/x" "-v relative" "-w relative" "--memory lots" "--nope" "--cap-add NOT_A_CAP"; do
        # shellcheck disable=SC2086
        run contain $args -- true
        [[ $status == 125 ]] || fail "'$args' exited $status: $output"
    done
    # Refused by contain itself, in one line of its own (with the --help
    # hint for a usage error), within seconds.
    for args in "--net bridge --ip 10.88.0.0" "--net bridge --ip 10.88.255.255" "--net bridge --ip 10.88.0.08" \
        "--net bridge --ip 10.88.0.1" "--net bridge --ip 10.88.256.1" \
        "--env-file /dev/zero" "--env-file /etc" "--env-file /nonexistent"; do
        # shellcheck disable=SC2086
        run timeout 20 "$ROOT/scripts/contain" $args -- true
        [[ $status == 125 ]] || fail "'$args' exited $status: $output"
        [[ ${lines[0]} == "contain: "* ]] || fail "'$args': $output"
        [[ ${#lines[@]} -le 2 && ${lines[1]:-Try} == Try* ]] || fail "'$args': $output"
    done
    run ls -A "$ISOKIT_STATE"
    [[ -z $output || $output == .address.lock ]] || fail "left behind: $output"
    run contain
    assert_status 125
}

@test "a full or read-only state directory: 125, one contain line, nothing left" {
    # A tmpfs of the sandbox's own, filled up, then made read-only.
    # shellcheck disable=SC2016 # expanded by the inner bash
    run sandboxed bash -c '
        state=$1/full
        mkdir -p "$state"
        mount -t tmpfs -o size=16k tmpfs "$state"
        dd if=/dev/zero of="$state/filler" bs=4k 2>/dev/null
        ISOKIT_STATE=$state "$ROOT/scripts/contain" -- true
        echo "status $?"
        rm -f "$state/filler"
        ls -A "$state"
        mount -o remount,ro "$state"
        ISOKIT_STATE=$state "$ROOT/scripts/contain" -- true
        echo "status $?"' bash "$BATS_TEST_TMPDIR"
    [[ ${lines[0]} == "contain: cannot write '"*"/owner': No space left on device" ]] || fail "$output"
    assert_equal "${lines[1]}" "status 125"
    # Nothing left: no .claim-* (the listing of the emptied tmpfs).
    assert_equal "${lines[2]}" "contain: cannot create a directory in '$BATS_TEST_TMPDIR/full': Read-only file system"
    assert_equal "${lines[3]}" "status 125"
    assert_equal "${#lines[@]}" 4
}

@test "a name in use is refused" {
    sandboxed_bg env ISOKIT_STATE="$ISOKIT_STATE" ISOKIT_IMAGES="$ISOKIT_IMAGES" "$ROOT/scripts/contain" --name taken -- sleep 5
    local first=$BG_PID
    wait_for test -s "$ISOKIT_STATE/taken/pid"
    run contain --name taken -- true
    assert_status 125
    [[ $output == *"already in use"* ]] || fail "$output"
    kill "$first"
    wait "$first" || true
    [[ ! -e $ISOKIT_STATE/taken ]] || fail "state left behind"
}

@test "--net host: the container shares the caller's network namespace" {
    # The sandbox's own namespace gets a link only it has.
    run sandboxed sh -c '
        ip link add isokit-probe type veth peer name isokit-probe2
        "$ROOT/scripts/contain" --net host -- sh -c "ip -o link show isokit-probe | wc -l"
        "$ROOT/scripts/contain" -- sh -c "ip -o link show isokit-probe 2>/dev/null | wc -l"'
    assert_status 0
    assert_equal "$output" $'1\n0'
}

@test "--memory-swap is written as memory plus swap where the kernel accounts swap" {
    sandboxed_bg "$ROOT/scripts/contain" --name swapped --memory 32M --memory-swap 64M -- sleep 3
    local launcher=$BG_PID pid file
    wait_for test -s "$ISOKIT_STATE/swapped/pid"
    pid=$(cat "$ISOKIT_STATE/swapped/pid")
    file=$(host_cgroup_file "$pid" memory memory.memsw.limit_in_bytes)
    if [[ -e $file ]]; then
        assert_equal "$(cat "$file")" 67108864
    else
        # cgroup v2: memory.swap.max holds the swap part only.
        assert_equal "$(cat "$(host_cgroup_file "$pid" memory memory.swap.max)")" 33554432
    fi
    kill "$launcher"
    wait "$launcher" || true
}

@test "--user takes the name from the image's /etc/passwd" {
    local image="$BATS_TEST_TMPDIR/image"
    cp -a "$ISOKIT_IMAGES/busybox" "$image"
    echo 'builder:x:4321:4321:image-only user:/:/bin/sh' >>"$image/etc/passwd"
    echo 'builder:x:4321:' >>"$image/etc/group"
    run contain --rootfs "$image" --user builder -- id -u
    assert_status 0
    assert_equal "$output" 4321
}

@test "no fd of contain's caller reaches the container" {
    # busybox sh keeps the directory it globs open (one more fd): compare
    # with a launch that inherited nothing extra.
    local listing='cd /proc/self/fd && for f in *; do printf "%s " "$f"; done'
    run contain -- sh -c "$listing"
    assert_status 0
    local baseline=$output
    [[ " $baseline " != *" 5 "* && " $baseline " != *" 7 "* ]] || fail "baseline: $baseline"
    run contain -- sh -c "$listing" 5</dev/null 7<"$ROOT/README.md"
    assert_status 0
    assert_equal "$output" "$baseline"
}

@test "no fd of contain's caller reaches the container, whatever its number (255 too)" {
    # bash keeps its own handle on a script at the highest free fd: 255,
    # or 254 when the caller holds 255.
    # shellcheck disable=SC2016 # expanded by the inner bash
    run sandboxed bash -c 'exec 7</etc 100</etc 254</etc 255</etc; exec "$@"' bash \
        "$ROOT/scripts/contain" -- sh -c 'for fd in 3 7 100 254 255; do test -e /proc/self/fd/$fd/hostname && echo "fd $fd reaches the host"; done; echo checked'
    assert_status 0
    assert_equal "$output" checked
}

@test "the container's root is nodev; the command has no controlling terminal" {
    # tty_nr (field 7 of /proc/self/stat) is 0 without a controlling tty.
    # script(1) gives the caller one, so the test would see it leak.
    run script -qec "env ISOKIT_STATE=$ISOKIT_STATE ISOKIT_IMAGES=$ISOKIT_IMAGES unshare --mount --uts --ipc --net -- $ROOT/scripts/contain -- sh -c 'cut -d\" \" -f7 /proc/self/stat; grep \" / / \" /proc/self/mountinfo'" /dev/null
    assert_status 0
    assert_equal "$(tr -d '\r' <<<"${lines[0]}")" 0
    [[ ${lines[1]} == *nodev* ]] || fail "root mount: ${lines[1]}"
}

@test "--net bridge: the container's own ping_group_range lets every group open ICMP echo sockets, as Docker" {
    run contain --net bridge --user nobody -- cat /proc/sys/net/ipv4/ping_group_range
    assert_status 0
    assert_equal "$output" $'0\t2147483647'
}
