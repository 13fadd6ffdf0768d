#!/usr/bin/env bats
# netns-setup and scripts/netbridge. Every test first makes its own outer
# network namespace (`sandboxed`), builds its bridge there, and launches
# containers from it with unshare-lite: nothing touches the machine's own
# network namespace, and every address used lives only in namespaces the
# test made. What is asserted is what `ip` and the kernel report, inside
# and outside, never what netns-setup printed.

load helpers

# The scenarios run as bash functions inside the sandbox.
export -f fail wait_for

# Link names of the current network namespace, one a line, sorted.
links() {
    ip -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort
}
# A bridge br0 holding 10.88.0.1/16 (and fd00:88::1/64) in the current namespace.
make_bridge() {
    ip link add br0 type bridge
    ip addr add 10.88.0.1/16 dev br0
    ip addr add fd00:88::1/64 dev br0 nodad
    ip link set br0 up
}
export -f links make_bridge

@test "lo is up inside and answers ping (and is down without netns-setup)" {
    run sandboxed unshare-lite --net -- ip -o link show lo
    [[ $output != *"<LOOPBACK,UP"* ]] || fail "control: lo already up: $output"
    run sandboxed unshare-lite --net --pid --mount -- netns-setup -- sh -c 'ip -o link show lo; busybox ping -c1 -W2 127.0.0.1'
    assert_status 0
    [[ $output == *"<LOOPBACK,UP,LOWER_UP>"* ]] || fail "lo not up: $output"
    [[ $output == *"1 packets received"* ]] || fail "no ping answer: $output"
}

scenario_eth0() {
    make_bridge
    unshare-lite --net --pid --mount -- netns-setup --veth ve-t --bridge br0 --addr 10.88.0.2/16 --gateway 10.88.0.1 --mtu 1400 -- \
        sh -c 'ip -o -4 addr show dev eth0 | awk "{print \$4}"; ip route show default; ip -o link show eth0 | grep -o "mtu [0-9]*"; ip -o link show eth0 | grep -o "state [A-Z]*"; ip -o link show | awk -F": " "{print \$2}" | sed "s/@.*//"'
}
export -f scenario_eth0

@test "eth0 has the address, the default route and the MTU, and is up" {
    run sandboxed bash -c scenario_eth0
    assert_status 0
    assert_equal "$output" $'10.88.0.2/16\ndefault via 10.88.0.1 dev eth0 \nmtu 1400\nstate UP\nlo\neth0'
}

scenario_host_end() {
    make_bridge
    local dir=$1
    unshare-lite --net --pid --mount -- netns-setup --veth ve-t --bridge br0 --addr 10.88.0.2/16 --mtu 1400 -- \
        sh -c "touch $dir/ready; while [ ! -e $dir/done ]; do sleep 0.05; done" &
    local launcher=$!
    wait_for test -e "$dir/ready"
    ip -o link show ve-t | grep -o 'mtu [0-9]*\|master [a-z0-9]*\|state [A-Z]*' | tr '\n' ' '
    echo
    ip -o link show type veth | grep -c 'eth0' || true # the inner name never exists outside
    touch "$dir/done"
    wait "$launcher"
    echo "container exited $?"
    # The namespace is torn down asynchronously (cleanup_net): poll.
    wait_for sh -c '! ip link show ve-t >/dev/null 2>&1' && echo "host end gone"
    links
}
export -f scenario_host_end

@test "the host end is in the outer namespace, up, on the bridge, and gone after the container exits" {
    run sandboxed bash -c "scenario_host_end $BATS_TEST_TMPDIR"
    assert_status 0
    assert_equal "$output" $'mtu 1400 master br0 state UP \n0\ncontainer exited 0\nhost end gone\nbr0\nlo'
}

scenario_ping_both_ways() {
    local dir=$1 side=$2
    if [[ $side == bridge ]]; then
        make_bridge
        set -- --bridge br0 --addr 10.88.0.2/16
        host=10.88.0.1 guest=10.88.0.2
    else
        set -- --host-addr 10.99.0.1/30 --addr 10.99.0.2/30
        host=10.99.0.1 guest=10.99.0.2
    fi
    unshare-lite --net --pid --mount -- netns-setup --veth ve-p "$@" -- \
        sh -c "busybox ping -c1 -W2 $host >/dev/null && echo container-to-host; touch $dir/ready; while [ ! -e $dir/done ]; do sleep 0.05; done" &
    local launcher=$!
    wait_for test -e "$dir/ready"
    busybox ping -c1 -W2 "$guest" >/dev/null && echo host-to-container
    touch "$dir/done"
    wait "$launcher"
}
export -f scenario_ping_both_ways

@test "host end and container ping each other, through a bridge and point to point (--host-addr)" {
    run sandboxed bash -c "scenario_ping_both_ways $BATS_TEST_TMPDIR bridge"
    assert_status 0
    assert_equal "$output" $'container-to-host\nhost-to-container'
    rm -f "$BATS_TEST_TMPDIR"/{ready,done}
    run sandboxed bash -c "scenario_ping_both_ways $BATS_TEST_TMPDIR host-addr"
    assert_status 0
    assert_equal "$output" $'container-to-host\nhost-to-container'
}

scenario_two_containers() {
    local dir=$1
    "$ROOT/scripts/netbridge" up --name br0 --subnet 10.88.0.0/16
    mkdir -p "$dir/www"
    echo "hello from a" >"$dir/www/index.html"
    # httpd daemonizes inside the container; it dies with the container's
    # PID namespace when the shell there exits.
    unshare-lite --net --pid --mount -- netns-setup --veth ve-a --bridge br0 --addr 10.88.0.2/16 --gateway 10.88.0.1 -- \
        sh -c "busybox httpd -p 8080 -h $dir/www && touch $dir/ready; while [ ! -e $dir/done ]; do sleep 0.05; done" &
    local server=$!
    wait_for test -e "$dir/ready"
    unshare-lite --net --pid --mount -- netns-setup --veth ve-b --bridge br0 --addr 10.88.0.3/16 --gateway 10.88.0.1 -- sh -c '
        busybox ping -c1 -W2 10.88.0.2 >/dev/null && echo b-pinged-a
        for i in $(seq 100); do busybox wget -q -O- http://10.88.0.2:8080/ 2>/dev/null && exit 0; sleep 0.05; done
        echo "no page"; exit 1'
    local status=$?
    touch "$dir/done"
    wait "$server" || true
    return $status
}
export -f scenario_two_containers

@test "two containers on one bridge ping each other and one fetches a page the other serves" {
    run sandboxed bash -c "scenario_two_containers $BATS_TEST_TMPDIR"
    assert_status 0
    assert_equal "$output" $'b-pinged-a\nhello from a'
}

scenario_ipv6() {
    make_bridge
    unshare-lite --net --pid --mount -- netns-setup --veth ve-6 --bridge br0 --addr fd00:88::2/64 --gateway fd00:88::1 -- \
        sh -c 'ip -o -6 addr show dev eth0 scope global | grep -o "inet6 [^ ]*\|tentative\|dadfailed\|nodad"
               ip -6 route show default | awk "{print \$1, \$2, \$3}"
               busybox ping -6 -c1 -W2 fd00:88::1 >/dev/null && echo pinged-gateway'
}
export -f scenario_ipv6

@test "an IPv6 address is usable at once (no DAD), with an IPv6 default route" {
    run sandboxed bash -c scenario_ipv6
    assert_status 0
    # "tentative" or "dadfailed" would follow the address if DAD ran.
    assert_equal "$output" $'inet6 fd00:88::2/64\nnodad\ndefault via fd00:88::1\npinged-gateway'
}

# Run netns-setup with the words of $1 inside a container namespace that
# outlives it (the shell stays), then list the links of both namespaces
# while both still exist: a veth left behind cannot hide by being torn
# down with the namespace.
try_bad() {
    local outer=/proc/$$/ns/net
    unshare-lite --net -- sh -c "$2
        eval \"netns-setup $1 -- echo ran\"; echo \"rc=\$?\"
        echo inside: \$(ip -o link show | awk -F': ' '{print \$2}')
        echo outside: \$(nsenter --net=$outer ip -o link show | awk -F': ' '{sub(/@.*/, \"\", \$2); print \$2}')"
}
scenario_bad_inputs() {
    make_bridge
    ip link add x0 type veth peer name x1
    local before line out
    # shellcheck disable=SC2046 # split on purpose: one line, words joined by spaces, as try_bad prints it
    before=$(echo outside: $(links | sort -t' ' -k1,1n))
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        out=$(try_bad "$line" "" 2>&1)
        check_bad "$line" "$out" "$before" || return 1
    done <<'CASES'
--veth ve-x --addr 10.88.0.300/16
--veth ve-x --addr 10.88.0.2
--veth ve-x --addr 10.88.0.2/33
--veth ve-x --addr fd00::2/129
--veth ve-x --addr eth0/8
--veth ve-x --addr 10.88.0.2/16 --addr 10.88.0.2/24
--veth ve-x --gateway 10.88.0.1
--veth ve-x --addr 10.88.0.2/16 --gateway 10.99.0.1
--veth ve-x --addr 10.88.0.2/16 --gateway fd00:88::1
--veth ve-x --addr 10.88.0.2/16 --gateway not-an-ip
--veth 0123456789abcdef
--veth ''
--veth a/b
--veth 'a b'
--veth a:b
--veth ve-x --ifname 0123456789abcdef
--veth ve-x --ifname lo
--veth x0 --addr 10.88.0.2/16
--veth br0
--veth ve-x --bridge nope
--veth ve-x --bridge x0
--veth ve-x --bridge br0 --host-addr 10.88.0.1/16
--veth ve-x --mtu 0
--veth ve-x --mtu 70000
--veth ve-x --mtu abc
--veth ve-x --mtu 1000 --addr fd00::2/64
--addr 10.88.0.2/16
--bridge br0
--veth ve-x --outer-netns /nonexistent
--veth ve-x --outer-netns /etc/passwd
CASES
    # Failures after the veth was made, caused by the namespaces rather
    # than the options: IPv6 switched off where the address goes.
    out=$(try_bad "--veth ve-x --bridge br0 --addr fd00:88::2/64" "echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6" 2>&1)
    check_bad "inside IPv6 off" "$out" "$before" "add address fd00:88::2/64 to 'eth0'" || return 1
    echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
    out=$(try_bad "--veth ve-x --host-addr fd00:99::1/64 --addr fd00:99::2/64" "" 2>&1)
    check_bad "outside IPv6 off" "$out" "$before" "add address fd00:99::1/64 to 've-x'" || return 1
    echo checked
}
# check_bad CASE OUTPUT OUTER-LINKS-BEFORE [EXPECTED-ERROR-PART]
check_bad() {
    [[ $2 == *"rc=125"* ]] || fail "'$1': not 125: $2" || return 1
    [[ $2 == *"netns-setup: ${4:-}"* ]] || fail "'$1': message: $2" || return 1
    [[ $2 != *ran* ]] || fail "'$1': the command ran" || return 1
    [[ $2 == *"inside: lo"$'\n'* ]] || fail "'$1': left something inside: $2" || return 1
    local outside
    outside=$(grep '^outside:' <<<"$2" | tr ' ' '\n' | sort | tr '\n' ' ')
    [[ $outside == "$(tr ' ' '\n' <<<"$3" | sort | tr '\n' ' ')" ]] || fail "'$1': outer links changed: $outside, before: $3" || return 1
}
export -f try_bad scenario_bad_inputs check_bad

@test "every bad input exits 125 and leaves both namespaces as they were" {
    run sandboxed bash -c scenario_bad_inputs
    assert_status 0
    assert_equal "${lines[-1]}" checked
}

@test "refuses to run when no ancestor is in another network namespace, or --outer-netns is its own" {
    # A private /proc with a new PID namespace hides every process outside
    # the sandbox: all ancestors netns-setup can see share its namespace.
    run --separate-stderr sandboxed unshare --pid --fork --mount-proc sh -c 'netns-setup -- echo ran; echo "rc=$?"; ip -o link show lo'
    [[ $output == "rc=125"* ]] || fail "$output"
    [[ $output != *"<LOOPBACK,UP"* ]] || fail "lo was brought up: $output"
    [[ $stderr == "netns-setup: refusing to run in the outer network namespace: "* ]] || fail "$stderr"
    run --separate-stderr sandboxed netns-setup --outer-netns /proc/self/ns/net -- echo ran
    assert_status 125
    assert_equal "$stderr" "netns-setup: refusing to run: --outer-netns '/proc/self/ns/net' is this process's own network namespace (run netns-setup inside \`unshare-lite --net\`)"
}

scenario_outer_netns() {
    local file=$1/outer-net
    touch "$file"
    mount --bind /proc/self/ns/net "$file"
    unshare-lite --net --pid --mount-proc -- netns-setup --outer-netns "$file" --veth ve-o --host-addr 10.99.0.1/30 --addr 10.99.0.2/30 -- \
        sh -c 'echo "pid $$"; busybox ping -c1 -W2 10.99.0.1 >/dev/null && echo pinged'
}
export -f scenario_outer_netns

@test "--outer-netns names the outer namespace when a private /proc hides the launcher" {
    run sandboxed bash -c "scenario_outer_netns $BATS_TEST_TMPDIR"
    assert_status 0
    assert_equal "$output" $'pid 2\npinged'
}

scenario_fds_and_trace() {
    make_bridge
    ISOKIT_TRACE=1 unshare-lite --net --pid --mount -- netns-setup --veth ve-f --bridge br0 --addr 10.88.0.2/16 --gateway 10.88.0.1 -- \
        sh -c 'cd /proc/self/fd && for f in *; do printf "%s=%s " "$f" "$(readlink $f | cut -c1-6)"; done; echo'
}
export -f scenario_fds_and_trace

@test "the command gets no fd to the outer namespace; ISOKIT_TRACE says what was made where" {
    run --separate-stderr sandboxed bash -c "scenario_fds_and_trace" 9>/dev/null
    assert_status 0
    [[ $output != *"net:["* && $output != *"socket"* ]] || fail "leaked: $output"
    [[ $output == "0="*" 1="*" 2="* ]] || fail "$output"
    local trace
    trace=$(grep '^netns-setup:' <<<"$stderr")
    [[ $trace =~ ^netns-setup:\ lo\ up\;\ veth\ ve-f\ on\ bridge\ br0\ in\ net:\[[0-9]+\]\ \(pid\ [0-9]+\)\ \<-\>\ eth0\ 10.88.0.2/16\ in\ net:\[[0-9]+\],\ default\ via\ 10.88.0.1$ ]] ||
        fail "trace: $stderr"
}

scenario_netbridge() {
    local before after
    state() { echo "$(links | tr '\n' ' ')| forward=$(cat /proc/sys/net/ipv4/ip_forward) | $(nft list ruleset | tr -s ' \n\t' ' ')"; }
    before=$(state)
    "$ROOT/scripts/netbridge" up --name isb0 --subnet 10.77.0.0/16 --nat
    local first
    first=$(state; ip -o -4 addr show dev isb0 | awk '{print $4}')
    "$ROOT/scripts/netbridge" up --name isb0 --subnet 10.77.0.0/16 --nat
    [[ $(state; ip -o -4 addr show dev isb0 | awk '{print $4}') == "$first" ]] || fail "second up changed: $first" || return 1
    ip -d -o link show isb0 | grep -qw bridge || fail "not a bridge" || return 1
    ip -o link show isb0 | grep -q '<BROADCAST,MULTICAST,UP' || fail "not up" || return 1
    echo "$first" | tail -1
    nft list table ip isokit_isb0 | grep -o 'ip saddr 10.77.0.0/16 oifname != "isb0" masquerade'
    cat /proc/sys/net/ipv4/ip_forward
    "$ROOT/scripts/netbridge" down --name isb0
    after=$(state)
    [[ $after == "$before" ]] || fail "down left: $after; before: $before" || return 1
    # A link netbridge did not make is never adopted nor deleted.
    ip link add isb1 type bridge
    "$ROOT/scripts/netbridge" up --name isb1 2>/dev/null && fail "adopted isb1" && return 1
    "$ROOT/scripts/netbridge" down --name isb1 2>/dev/null && fail "deleted isb1" && return 1
    ip link show isb1 >/dev/null && echo "foreign bridge kept"
}
export -f scenario_netbridge

@test "netbridge up is idempotent and down removes exactly what up made" {
    run sandboxed bash -c scenario_netbridge
    assert_status 0
    assert_equal "$output" $'10.77.0.1/16\nip saddr 10.77.0.0/16 oifname != "isb0" masquerade\n1\nforeign bridge kept'
}

@test "--sysctl sets a net.* key in the new namespace only; a non-root user can ping with ping_group_range" {
    local host_value
    host_value=$(cat /proc/sys/net/ipv4/ping_group_range)
    run sandboxed unshare-lite --net --pid --mount -- netns-setup --sysctl 'net.ipv4.ping_group_range=0 2147483647' \
        --sysctl net.ipv4.ip_unprivileged_port_start=80 -- sh -c 'cat /proc/sys/net/ipv4/ping_group_range /proc/sys/net/ipv4/ip_unprivileged_port_start'
    assert_status 0
    assert_equal "$output" $'0\t2147483647\n80'
    assert_equal "$(cat /proc/sys/net/ipv4/ping_group_range)" "$host_value"
    # An ICMP echo socket, no CAP_NET_RAW: nobody pings lo with iputils'
    # ping copied without its file capability (so it cannot open a raw
    # socket), and cannot without the range.
    local tmp
    tmp=$(public_tmp)
    cp /usr/bin/ping "$tmp/ping-nocap"
    chmod 0755 "$tmp/ping-nocap"
    local ping="exec setpriv --reuid 65534 --regid 65534 --clear-groups $tmp/ping-nocap -c1 -W2 127.0.0.1"
    run sandboxed unshare-lite --net --pid --mount -- netns-setup --sysctl 'net.ipv4.ping_group_range=0 2147483647' -- sh -c "$ping"
    assert_status 0
    [[ $output == *"1 received"* ]] || fail "$output"
    run sandboxed unshare-lite --net --pid --mount -- netns-setup --sysctl 'net.ipv4.ping_group_range=1 0' -- sh -c "$ping"
    [[ $status != 0 ]] || fail "control: nobody pinged without the range: $output"
}

@test "--sysctl refuses a key outside net.* or one that does not exist" {
    run sandboxed unshare-lite --net --pid -- netns-setup --sysctl kernel.pid_max=4096 -- true
    assert_status 125
    assert_equal "${lines[0]}" "netns-setup: error parsing option '--sysctl' with value 'kernel.pid_max=4096': invalid --sysctl key 'kernel.pid_max': only net.* keys of the container's own namespace"
    run sandboxed unshare-lite --net --pid -- netns-setup --sysctl net.ipv4.no_such_key=1 -- true
    assert_status 125
    assert_equal "$output" "netns-setup: set sysctl 'net.ipv4.no_such_key': No such file or directory"
}

@test "in a user namespace of its own (rootless), lo comes up without the outer namespace; the host's stays untouched" {
    local as_nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups)
    # The launcher's /proc/PID/ns/net is closed from inside the user
    # namespace: netns-setup must not need it for loopback alone.
    run sandboxed "${as_nobody[@]}" "$BIN/unshare-lite" --user --map-root --net --pid -- \
        "$BIN/netns-setup" --sysctl 'net.ipv4.ping_group_range=0 0' -- sh -c 'ip -o link show lo; cat /proc/sys/net/ipv4/ping_group_range'
    assert_status 0
    [[ ${lines[0]} == *"<LOOPBACK,UP,LOWER_UP>"* ]] || fail "$output"
    assert_equal "${lines[1]}" $'0\t0'
    # Without a network namespace of its own, the kernel refuses: the
    # sandbox's lo (down) stays down.
    run sandboxed sh -c "$(printf '%q ' "${as_nobody[@]}" "$BIN/unshare-lite" --user --map-root -- "$BIN/netns-setup" -- true); echo status \$?; ip -o link show lo"
    [[ ${lines[-2]} == "status 125" ]] || fail "$output"
    [[ ${lines[-1]} != *"<LOOPBACK,UP"* ]] || fail "the outer lo was brought up: $output"
}
