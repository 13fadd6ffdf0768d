#!/usr/bin/env bats
# isokit-oci driven directly, as conmon and containerd drive runc, on a
# hand-written bundle: every assertion reads the kernel (/proc, cgroup
# files), not what isokit-oci printed about itself.

load helpers

setup_file() {
    export OCI_ROOTFS="$BATS_FILE_TMPDIR/rootfs"
    "$ROOT/scripts/mkrootfs" busybox "$OCI_ROOTFS" >/dev/null
}

setup() {
    STATE=$BATS_TEST_TMPDIR/state
    ID=oci-$BATS_ROOT_PID-$BATS_TEST_NUMBER
    PARENT=isokit-oci-test-$BATS_ROOT_PID
    CG=$PARENT/$ID
    BUNDLE=$BATS_TEST_TMPDIR/bundle
    mkdir -p "$BUNDLE"
    ln -s "$OCI_ROOTFS" "$BUNDLE/rootfs"
}

# isokit-oci with this test's state directory.
oci() {
    isokit-oci --root "$STATE" "$@"
}

teardown() {
    isokit-oci --root "$STATE" delete --force "$ID" 2>/dev/null || true
    isokit-oci --root "$STATE" delete --force "$ID-b" 2>/dev/null || true
    cgset --remove --name "$PARENT" 2>/dev/null || true
}

# write_config ARGS_JSON [EXTRA_LINUX_JSON] [EXTRA_PROCESS_JSON]: config.json
# for the busybox rootfs, with capabilities CHOWN KILL SETGID SETUID (0xe1).
write_config() {
    local caps='["CAP_CHOWN","CAP_KILL","CAP_SETGID","CAP_SETUID"]'
    cat >"$BUNDLE/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"user": {"uid": 0, "gid": 0}, "args": $1, "cwd": "/",
   "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
   "capabilities": {"bounding": $caps, "effective": $caps, "permitted": $caps},
   "noNewPrivileges": true ${3:-}},
 "root": {"path": "rootfs"}, "hostname": "ocibox",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                          {"type": "uts"}, {"type": "mount"}],
   "cgroupsPath": "/$CG",
   "resources": {"pids": {"limit": 32}, "devices": [{"allow": false, "access": "rwm"}]},
   "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
               "syscalls": [{"names": ["mknodat"], "action": "SCMP_ACT_ERRNO"}]}
   ${2:-}}}
JSON
}

# The one child of process $1: the init's is the container's process
# (or the gate); an exec'd process's is its program.
child_of() {
    tr -d ' ' <"/proc/$1/task/$1/children"
}

# The container's process: the one child of the init, whose PID is the
# one state reports (the launcher left it at create).
process_of() {
    child_of "$1"
}

state_field() {
    oci state "$ID" | jq -r ".$1"
}

# create_refused PATTERN: create fails (1) with PATTERN in its error.
create_refused() {
    run create
    assert_status 1
    grep -q -- "$1" "$BATS_TEST_TMPDIR/err" || fail "$(cat "$BATS_TEST_TMPDIR/err")"
}

# Neither the state directory nor a cgroup of the container is left.
nothing_left() {
    [[ ! -e $STATE/$ID ]] || fail "state left behind: $(ls "$STATE/$ID")"
    run find /sys/fs/cgroup -maxdepth 4 -path "*/isokit/$PARENT/$ID"
    assert_equal "$output" ""
}

# status_is STATUS: the container's status now (for wait_for, which
# would expand a $(...) argument once).
status_is() {
    [[ $(state_field status) == "$1" ]]
}

# create [OPTIONS]: with the container's stdio on files (it outlives the
# command, and would hold bats' pipe open).
# shellcheck disable=SC2120 # most tests pass no options
create() {
    oci create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$@" "$ID" \
        </dev/null >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
}

@test "create: the container exists, in new namespaces, held before its process" {
    write_config '["sleep", "1000"]'
    create
    run state_field status
    assert_equal "$output" created
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    assert_equal "$(state_field pid)" "$pid"
    # The reported pid is the container's init, in the container's
    # namespaces (what podman top and nsenter -t join), PID 1 there; the
    # launcher that started it is gone.
    assert_equal "$(awk '/^NSpid:/ {print $3}' "/proc/$pid/status")" 1
    for ns in pid mnt uts ipc net; do
        [[ $(ns_of "$pid" $ns) != $(ns_of $$ $ns) ]] || fail "$ns namespace is the host's"
    done
    # Held at the gate: the program is not running yet.
    gate=$(process_of "$pid")
    run cat "/proc/$gate/comm"
    assert_equal "$output" isokit-oci
    run grep -c 'sleep' "/proc/$gate/cmdline"
    [[ $(tr '\0' ' ' <"/proc/$gate/cmdline") == "/dev/.isokit/isokit-oci gate "* ]] || fail "not the gate: $(tr '\0' ' ' <"/proc/$gate/cmdline")"
}

@test "start: the process runs with the config's capabilities, seccomp, cgroup and hostname" {
    write_config '["sleep", "1000"]'
    create
    oci start "$ID"
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    proc=$(process_of "$pid")
    wait_for grep -qx sleep "/proc/$proc/comm"
    assert_equal "$(state_field status)" running
    run grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/$proc/status"
    assert_equal "$output" $'CapInh:\t0000000000000000\nCapPrm:\t00000000000000e1\nCapEff:\t00000000000000e1\nCapBnd:\t00000000000000e1\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2'
    run grep -c ":/isokit/$CG\$" "/proc/$proc/cgroup"
    ((output >= 1)) || fail "not in isokit/$CG: $(cat "/proc/$proc/cgroup")"
    pids_dir=$(awk '$9 == "cgroup" && $NF ~ /(^|,)pids(,|$)/ {print $5}' /proc/self/mountinfo)
    [[ -z $pids_dir ]] && pids_dir=$(awk '$9 == "cgroup2" {print $5}' /proc/self/mountinfo)
    assert_equal "$(cat "$pids_dir/isokit/$CG/pids.max")" 32
    run nsenter --target "$proc" --uts hostname
    assert_equal "$output" ocibox
}

@test "kill and delete: SIGTERM ends it, delete leaves no state and no cgroup" {
    write_config '["sleep", "1000"]'
    create
    oci start "$ID"
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    oci kill "$ID" TERM
    wait_for status_is stopped
    [[ ! -e /proc/$pid ]] || [[ $(awk '{print $3}' "/proc/$pid/stat") == Z ]] || fail "launcher $pid still alive"
    oci delete "$ID"
    nothing_left
}

@test "delete --force of a running container kills it; delete of an unknown id succeeds silently" {
    write_config '["sleep", "1000"]'
    create
    oci start "$ID"
    proc=$(process_of "$(cat "$BATS_TEST_TMPDIR/pid")")
    run oci delete "$ID"
    assert_status 1
    [[ $output == *"not stopped"* ]] || fail "$output"
    oci delete --force "$ID"
    [[ ! -e /proc/$proc ]] || fail "process $proc survived delete --force"
    run oci delete --force "$ID"
    assert_status 0
    assert_equal "$output" ""
}

@test "unknown ids and stopped containers: runc's words, exit 1, a json log line" {
    log=$BATS_TEST_TMPDIR/log
    run isokit-oci --root "$STATE" --log "$log" --log-format json state nope
    assert_status 1
    assert_equal "$output" "isokit-oci: container does not exist"
    run jq -r 'select(.level == "error") | .msg' "$log"
    assert_equal "$output" "container does not exist"
    run jq -r '.time' "$log"
    [[ $output =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T ]] || fail "no time: $output"
    run oci kill nope KILL
    assert_status 1
    assert_equal "$output" "isokit-oci: container does not exist"
    write_config '["true"]'
    create
    oci start "$ID"
    wait_for status_is stopped
    run oci kill "$ID" KILL
    assert_status 1
    assert_equal "$output" "isokit-oci: container not running"
}

@test "create refuses what the chain cannot honour, by name, leaving nothing" {
    write_config '["true"]' ', "sysctl": {"kernel.panic": "1"}'
    create_refused "^isokit-oci: config.json: linux.sysctl: 'kernel.panic' is not a namespaced sysctl$"
    write_config '["true"]'
    sed -i 's/"type": "ipc"/"type": "bogus"/' "$BUNDLE/config.json"
    create_refused "unknown namespace type 'bogus'"
    write_config '["true"]'
    sed -i 's/"CAP_KILL"/"CAP_BOGUS"/' "$BUNDLE/config.json"
    create_refused "unknown capability 'CAP_BOGUS'"
    nothing_left
}

@test "create fails when a step fails, and undoes the cgroup and state" {
    write_config '["/no/such/program"]'
    # runc's status for a failed create; podman makes 127 of the words.
    create_refused "no such file or directory"
    nothing_left
    # A masked path that pivot does not hide is found by the gate's check.
    write_config '["true"]' ', "maskedPaths": ["/proc/cpuinfo"]'
    create_refused "linux.maskedPaths: '/proc/cpuinfo' is not hidden"
    nothing_left
}

@test "exec --process: the process JSON's user and capabilities, in the container's namespaces and seccomp" {
    write_config '["sleep", "1000"]'
    create
    oci start "$ID"
    proc=$(process_of "$(cat "$BATS_TEST_TMPDIR/pid")")
    cat >"$BATS_TEST_TMPDIR/process.json" <<'JSON'
{"args": ["sleep", "500"], "cwd": "/tmp", "env": ["PATH=/bin:/usr/bin"],
 "user": {"uid": 1000, "gid": 1000}, "capabilities": {"bounding": ["CAP_KILL"]}}
JSON
    oci exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" --process "$BATS_TEST_TMPDIR/process.json" "$ID" \
        </dev/null >/dev/null 2>&1
    execd=$(child_of "$(cat "$BATS_TEST_TMPDIR/exec.pid")")
    wait_for grep -qx sleep "/proc/$execd/comm"
    for ns in pid mnt uts ipc net; do
        assert_equal "$(ns_of "$execd" $ns)" "$(ns_of "$proc" $ns)"
    done
    run grep -E '^(Uid|CapEff|CapBnd|Seccomp):' "/proc/$execd/status"
    assert_equal "$output" $'Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000020\nSeccomp:\t2'
    assert_equal "$(readlink "/proc/$execd/cwd")" /tmp
    run oci ps --format json "$ID"
    [[ $(jq 'index('"$execd"') != null' <<<"$output") == true ]] || fail "ps misses $execd: $output"
}

# in_every_cgroup PID: the kernel shows PID in isokit/$CG in every
# hierarchy where cgset made it (those of the limits, devices and
# freezer), the v2 one included.
in_every_cgroup() {
    local line controllers mount wrong='' seen=0
    while IFS= read -r line; do
        controllers=${line#*:}
        controllers=${controllers%%:*}
        if [[ -z $controllers ]]; then
            mount=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
        else
            mount=$(awk -v c="${controllers%%,*}" '$9 == "cgroup" && $NF ~ ("(^|,)" c "(,|$)") {print $5; exit}' /proc/self/mountinfo)
        fi
        [[ -n $mount && -d $mount/isokit/$CG ]] || continue
        seen=$((seen + 1))
        [[ $line == *":/isokit/$CG" ]] || wrong+=" $line"
    done <"/proc/$1/cgroup"
    ((seen >= 2)) || fail "isokit/$CG found in $seen hierarchies"
    [[ -z $wrong ]] || fail "process $1 ($(tr '\0' ' ' <"/proc/$1/cmdline")) outside isokit/$CG:$wrong"
}

@test "the reported pid (the init), the program and an exec'd process are in every cgroup of the container, v2 included" {
    write_config '["sleep", "1000"]'
    oci --debug create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" "$ID" \
        </dev/null >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
    oci start "$ID"
    pid=$(cat "$BATS_TEST_TMPDIR/pid")
    proc=$(process_of "$pid")
    wait_for grep -qx sleep "/proc/$proc/comm"
    # The reported pid, the init (podman reads the container's cgroup
    # from it), and the program.
    for p in "$pid" "$proc"; do
        in_every_cgroup "$p"
    done
    if [[ -n $(awk '$9 == "cgroup2"' /proc/self/mountinfo) ]]; then
        grep -qx "0::/isokit/$CG" "/proc/$pid/cgroup" || fail "init not in v2: $(cat "/proc/$pid/cgroup")"
        # Started there: cgset joined v1 only and left v2 alone.
        grep -q "cgset: .*v2 move left to the next step" "$BATS_TEST_TMPDIR/err" || fail "$(cat "$BATS_TEST_TMPDIR/err")"
    fi
    # exec: the process (whose pid podman gets) and the program under it.
    oci exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" "$ID" sleep 500 </dev/null >/dev/null 2>&1
    execpid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
    execd=$(child_of "$execpid")
    wait_for grep -qx sleep "/proc/$execd/comm"
    in_every_cgroup "$execpid"
    in_every_cgroup "$execd"
    # pause and ps see them all.
    run oci ps --format json "$ID"
    for p in "$pid" "$proc" "$execd"; do
        [[ $(jq "index($p) != null" <<<"$output") == true ]] || fail "ps misses $p: $output"
    done
}

@test "pause freezes every process (read back from the kernel), resume thaws them" {
    write_config '["sleep", "1000"]'
    create
    oci start "$ID"
    proc=$(process_of "$(cat "$BATS_TEST_TMPDIR/pid")")
    wait_for grep -qx sleep "/proc/$proc/comm"
    oci pause "$ID"
    assert_equal "$(state_field status)" paused
    freezer=$(awk '$9 == "cgroup" && $NF ~ /(^|,)freezer(,|$)/ {print $5}' /proc/self/mountinfo)
    if [[ -n $freezer ]]; then
        assert_equal "$(cat "$freezer/isokit/$CG/freezer.state")" FROZEN
    else
        grep -qx 'frozen 1' "$(awk '$9 == "cgroup2" {print $5}' /proc/self/mountinfo)/isokit/$CG/cgroup.events"
    fi
    run oci pause "$ID"
    assert_status 1
    oci resume "$ID"
    assert_equal "$(state_field status)" running
    if [[ -n $freezer ]]; then
        assert_equal "$(cat "$freezer/isokit/$CG/freezer.state")" THAWED
    fi
    oci kill "$ID" TERM
    wait_for status_is stopped
}

@test "create with process.terminal: the console socket gets a terminal of the container's devpts" {
    write_config '["tty"]' '' ', "terminal": true'
    sock=$BATS_TEST_TMPDIR/console.sock
    # tests/pty/harness.py plays conmon: it takes the master from the
    # socket and prints what the terminal shows.
    # shellcheck disable=SC2016 # expanded by the inner sh
    run python3 "$BATS_TEST_DIRNAME/pty/harness.py" console "$sock" "" -- sh -c '
        isokit-oci --root "$1" create --bundle "$2" --console-socket "$3" "$4" </dev/null >/dev/null &&
        isokit-oci --root "$1" start "$4" && sleep 1' sh "$STATE" "$BUNDLE" "$sock" "$ID"
    [[ $output == *$'\nout: /dev/pts/0\n'* ]] || fail "not the container's own terminal: $output"
    [[ $output == *"fds received: 1"* ]] || fail "$output"
}

@test "exec without a console socket for a terminal, and --systemd-cgroup, are refused clearly" {
    run isokit-oci --root "$STATE" --systemd-cgroup list
    assert_status 1
    [[ $output == *"--systemd-cgroup: not supported"* ]] || fail "$output"
    write_config '["true"]' '' ', "terminal": true'
    run create
    assert_status 1
    grep -q -- "--console-socket is required" "$BATS_TEST_TMPDIR/err" || fail "$(cat "$BATS_TEST_TMPDIR/err")"
}

@test "features and list speak JSON" {
    run isokit-oci features
    assert_status 0
    assert_equal "$(jq -r '.linux.namespaces | index("pid") != null' <<<"$output")" true
    write_config '["sleep", "1000"]'
    create
    run oci list --format json
    assert_equal "$(jq -r '.[0].id + " " + .[0].status' <<<"$output")" "$ID created"
}


@test "update changes the pids limit in the cgroup file, refuses what it cannot change; kill --all" {
    write_config '["sleep", "1000"]'
    create
    oci start "$ID"
    pids_dir=$(awk '$9 == "cgroup" && $NF ~ /(^|,)pids(,|$)/ {print $5}' /proc/self/mountinfo)
    [[ -z $pids_dir ]] && pids_dir=$(awk '$9 == "cgroup2" {print $5}' /proc/self/mountinfo)
    oci update --pids-limit 10 "$ID"
    assert_equal "$(cat "$pids_dir/isokit/$CG/pids.max")" 10
    run oci update --blkio-weight 5 "$ID"
    assert_status 1
    [[ $output == *"--blkio-weight is not supported"* ]] || fail "$output"
    # --all signals every process of the cgroup directly, the init too.
    oci kill --all "$ID" KILL
    wait_for status_is stopped
    run cat "$pids_dir/isokit/$CG/cgroup.procs"
    assert_equal "$output" ""
}

@test "explain prints the chain create would run, in contain's order" {
    write_config '["sleep", "1000"]'
    run isokit-oci explain --bundle "$BUNDLE" "$ID"
    assert_status 0
    # With a v2 hierarchy, a first comment line names the cgroup the chain
    # is started in: a shell line cannot say that.
    if [[ -n $(awk '$9 == "cgroup2"' /proc/self/mountinfo) ]]; then
        [[ ${lines[0]} == "# started inside cgroup "*"/isokit/$CG (clone3 CLONE_INTO_CGROUP)" ]] || fail "${lines[0]}"
        output=$(sed 1d <<<"$output")
    fi
    # The first word of each step's line.
    run awk '{print $1}' <<<"$output"
    assert_equal "$(sed -n '2,8p' <<<"$output" | xargs -n1 basename | tr '\n' ' ')" \
        "cgset unshare-lite netns-setup pivot capdrop scfilter isokit-oci "
}

# second_bundle JQ_FILTER: bundle B ($BUNDLE-b, container $ID-b) with this
# test's config changed by JQ_FILTER, and its own cgroup.
second_bundle() {
    mkdir -p "$BUNDLE-b"
    ln -sfn "$OCI_ROOTFS" "$BUNDLE-b/rootfs"
    jq --arg cg "/$CG-b" ".linux.cgroupsPath = \$cg | $1" "$BUNDLE/config.json" >"$BUNDLE-b/config.json"
}

# b_joins_a TYPE NS [JQ]: container A (sleep 1000) runs, then B, made
# with A's TYPE namespace as podman names it, /proc/PID/ns/NS with the pid
# the runtime reported for A (the init; it was the launcher, in the host's
# namespaces, before), and JQ applied to B's config, runs too. Sets pid_a,
# proc_a, pid_b, proc_b (each init, and the program under it).
b_joins_a() {
    write_config '["sleep", "1000"]'
    create
    oci start "$ID"
    pid_a=$(cat "$BATS_TEST_TMPDIR/pid")
    proc_a=$(process_of "$pid_a")
    wait_for grep -qx sleep "/proc/$proc_a/comm"
    second_bundle ".linux.namespaces |= map(if .type == \"$1\" then .path = \"/proc/$pid_a/ns/$2\" else . end)${3:+ | $3}"
    oci create --bundle "$BUNDLE-b" --pid-file "$BATS_TEST_TMPDIR/pid-b" "$ID-b" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/err-b" ||
        fail "$(cat "$BATS_TEST_TMPDIR/err-b")" || return 1
    oci start "$ID-b"
    pid_b=$(cat "$BATS_TEST_TMPDIR/pid-b")
    proc_b=$(process_of "$pid_b")
    wait_for grep -qx sleep "/proc/$proc_b/comm"
}

@test "namespaces[].path: a container joins another's network namespace (as podman --network container:X names it)" {
    local pid_a proc_a pid_b proc_b
    b_joins_a network net
    [[ $(ns_of "$proc_a" net) != $(ns_of $$ net) ]] || fail "A is in the host's network"
    assert_equal "$(ns_of "$proc_b" net)" "$(ns_of "$proc_a" net)"
    # Everything else of B is its own.
    for ns in mnt pid uts ipc; do
        [[ $(ns_of "$proc_b" $ns) != $(ns_of "$proc_a" $ns) ]] || fail "$ns namespace shared with A"
    done
    # The joined namespace was not set up again: still only lo, A's.
    run nsenter --target "$proc_b" --net ip -o link show
    assert_status 0
    assert_equal "$(wc -l <<<"$output")" 1
    [[ $output == "1: lo:"* ]] || fail "$output"
    oci delete --force "$ID-b"
    [[ ! -e $STATE/$ID-b ]] || fail "state of B left"
}

@test "namespaces[].path: a container joins another's pid namespace (podman --pid container:X)" {
    local pid_a proc_a pid_b proc_b
    b_joins_a pid pid '.process.args = ["sleep", "999"]'
    # One pid namespace, A's (not the host's); B's init is a process in
    # it, not its PID 1. The rest of B is its own.
    [[ $(ns_of "$proc_a" pid) != $(ns_of $$ pid) ]] || fail "A is in the host's pid namespace"
    assert_equal "$(ns_of "$pid_b" pid)" "$(ns_of "$proc_a" pid)"
    assert_equal "$(ns_of "$proc_b" pid)" "$(ns_of "$proc_a" pid)"
    [[ $(awk '/^NSpid:/ {print $3}' "/proc/$pid_b/status") != 1 ]] || fail "B's init is PID 1 of A's namespace"
    for ns in mnt net uts ipc; do
        [[ $(ns_of "$proc_b" $ns) != $(ns_of "$proc_a" $ns) ]] || fail "$ns namespace shared with A"
    done
    # B's /proc shows A's processes: A's sleep 1000 from inside B.
    run oci exec "$ID-b" sh -c 'cat /proc/[0-9]*/cmdline | tr "\0" " "'
    assert_status 0
    [[ $output == *"sleep 1000"* && $output == *"sleep 999"* ]] || fail "$output"
    oci delete --force "$ID-b"
    [[ ! -e $STATE/$ID-b ]] || fail "state of B left"
    kill -0 "$proc_a" || fail "deleting B ended A"
}

@test "namespaces[].path naming the host's own namespace, or a mount namespace, is refused at create, nothing left" {
    write_config '["true"]'
    sed -i "s|{\"type\": \"network\"}|{\"type\": \"network\", \"path\": \"/proc/$$/ns/net\"}|" "$BUNDLE/config.json"
    create_refused "^isokit-oci: config.json: linux.namespaces: '/proc/$$/ns/net' is the host's network namespace (leave the namespace out to share it)$"
    nothing_left
    write_config '["true"]'
    sed -i "s|{\"type\": \"mount\"}|{\"type\": \"mount\", \"path\": \"/proc/$$/ns/mnt\"}|" "$BUNDLE/config.json"
    create_refused "joining the mount namespace '/proc/$$/ns/mnt' is not supported"
    nothing_left
    write_config '["true"]'
    sed -i "s|{\"type\": \"pid\"}|{\"type\": \"pid\", \"path\": \"/proc/$$/ns/pid\"}|" "$BUNDLE/config.json"
    create_refused "^isokit-oci: config.json: linux.namespaces: '/proc/$$/ns/pid' is the host's pid namespace (leave the namespace out to share it)$"
    nothing_left
}

@test "a bind whose destination escapes through a symlink in the rootfs lands inside the root; the host's /etc is not covered" {
    local rootfs="$BATS_TEST_TMPDIR/rootfs-links" volume="$BATS_TEST_TMPDIR/volume"
    cp -a "$OCI_ROOTFS" "$rootfs"
    ln -s /etc "$rootfs/etc2"
    ln -s ../../../../../../etc "$rootfs/etc3"
    mkdir -p "$volume"
    echo from-volume >"$volume/isokit-marker-$BATS_ROOT_PID"
    ln -sfn "$rootfs" "$BUNDLE/rootfs"
    local dest
    for dest in /etc2 /etc3; do
        write_config '["sleep", "1000"]'
        jq --arg src "$volume" --arg dst "$dest" \
            '.mounts += [{"destination": $dst, "type": "bind", "source": $src, "options": ["rbind", "ro"]}]' \
            "$BUNDLE/config.json" >"$BUNDLE/c" && mv "$BUNDLE/c" "$BUNDLE/config.json"
        if ! create; then
            # Refused: one line, nothing left.
            assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/err")" 1
            nothing_left
            continue
        fi
        oci start "$ID"
        local proc
        proc=$(process_of "$(cat "$BATS_TEST_TMPDIR/pid")")
        wait_for grep -qx sleep "/proc/$proc/comm"
        # Inside, the volume covers the image's own /etc ...
        run nsenter --target "$proc" --mount --root cat "/etc/isokit-marker-$BATS_ROOT_PID"
        assert_equal "$output" from-volume
        run awk '$5 == "/etc"' "/proc/$proc/mountinfo"
        assert_equal "${#lines[@]}" 1
        # ... the host's /etc is neither covered nor written.
        [[ ! -e /etc/isokit-marker-$BATS_ROOT_PID ]] || fail "host /etc shows the volume"
        run awk -v p="$rootfs/etc" '$5 == "/etc" || $5 == p' /proc/self/mountinfo
        assert_equal "$output" ""
        oci delete --force "$ID"
        nothing_left
    done
}
