#!/usr/bin/env bats
# Names: /etc/hostname, /etc/hosts and /etc/resolv.conf of each container,
# as the container reads them; containers on one network resolving each
# other by name and --network-alias; cnetwork's bridges as `ip` shows them.
# Each test holds a throwaway sandbox (tests/net.bash).

load helpers
load net

setup_file() {
    make_test_image
}

setup() {
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    hold_sandbox
}

teardown() {
    release_sandbox
}

@test "/etc/hostname, /etc/hosts and /etc/resolv.conf are the container's own; the image is untouched" {
    local image=$ISOKIT_IMAGES/busybox before
    before=$(cd "$image/etc" && ls -l --time-style=+%s . && cat hostname)
    run contain --name named --hostname box --net bridge --ip 10.88.0.9 --add-host db.example:192.0.2.7 \
        --dns 192.0.2.53 --dns 192.0.2.54 -- sh -c 'cat /etc/hostname; cat /etc/hosts; cat /etc/resolv.conf; grep -c " /etc/hosts " /proc/self/mountinfo'
    assert_status 0
    assert_equal "${lines[0]}" box
    [[ $output == *$'\n10.88.0.9\tbox named\n'* ]] || fail "own name and address missing: $output"
    [[ $output == *$'\n127.0.0.1\tlocalhost\n'* ]] || fail "$output"
    [[ $output == *$'\n192.0.2.7\tdb.example\n'* ]] || fail "--add-host missing: $output"
    [[ $output == *$'\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n'* ]] || fail "--dns missing: $output"
    # A bind mount, not a file written into the image.
    assert_equal "${lines[-1]}" 1
    assert_equal "$(cd "$image/etc" && ls -l --time-style=+%s . && cat hostname)" "$before"
}

@test "without --dns: the host's resolv.conf, less the resolvers on its loopback" {
    # The sandbox's own /etc/resolv.conf (its mount namespace is private).
    printf 'search example.org\nnameserver 127.0.0.53\nnameserver 192.0.2.99\nnameserver ::1\n' >"$BATS_TEST_TMPDIR/resolv"
    in_sandbox mount --bind "$BATS_TEST_TMPDIR/resolv" /etc/resolv.conf
    run contain --net bridge -- cat /etc/resolv.conf
    assert_status 0
    assert_equal "$output" $'search example.org\nnameserver 192.0.2.99'
    # --net host shares the host's network: its resolvers are reachable.
    run contain --net host -- cat /etc/resolv.conf
    assert_equal "$output" "$(cat "$BATS_TEST_TMPDIR/resolv")"
}

@test "two containers on a network reach each other by name and --network-alias; a leaver's name goes" {
    run cnetwork create --subnet 10.123.0.0/24 "app$$"
    assert_status 0
    contain -d --name "db$$" --network "app$$" --network-alias store -- httpd -f -p 80 -h /etc >/dev/null
    contain -d --name "web$$" --network "app$$" -- sleep 60 >/dev/null
    # The new one resolves the old one, and the old one's hosts file now
    # has the new one: rewritten in place, under its bind mount.
    run in_sandbox "$ROOT/scripts/cexec" "web$$" sh -c "wget -q -O - http://db$$/hostname; wget -q -O - http://store/hostname"
    assert_status 0
    assert_equal "$output" $'db'$$$'\ndb'$$
    run in_sandbox "$ROOT/scripts/cexec" "db$$" ping -c 1 -W 2 "web$$"
    assert_status 0
    [[ $output == *"(10.123.0."* ]] || fail "$output"
    in_sandbox "$ROOT/scripts/ckill" "web$$" KILL
    wait_for test ! -e "$ISOKIT_STATE/web$$"
    run in_sandbox "$ROOT/scripts/cexec" "db$$" cat /etc/hosts
    [[ $output != *"web$$"* ]] || fail "the name of a container gone is still there: $output"
}

@test "a container on another network does not resolve them" {
    cnetwork create "a$$" >/dev/null
    cnetwork create "b$$" >/dev/null
    contain -d --name "one$$" --network "a$$" -- sleep 60 >/dev/null
    run contain --network "b$$" -- sh -c "ping -c 1 -W 1 one$$ >/dev/null 2>&1; echo ping \$?; cat /etc/hosts"
    assert_status 0
    [[ ${lines[0]} == "ping "[1-9]* ]] || fail "resolved across networks: $output"
    [[ $output != *"one$$"* ]] || fail "$output"
    # The same name resolves on its own network.
    run contain --network "a$$" -- ping -c 1 -W 2 "one$$"
    assert_status 0
}

@test "cnetwork: each network is a bridge of its own with its subnet; rm refused while in use" {
    run cnetwork create --subnet 10.124.0.0/24 "n$$"
    assert_status 0
    local bridge
    bridge=$(source "$ROOT/scripts/lib/common.sh"; network_bridge_name "n$$")
    run in_sandbox ip -o -4 addr show dev "$bridge"
    assert_status 0
    [[ $output == *"inet 10.124.0.1/24"* ]] || fail "$output"
    run cnetwork ls
    [[ $output == *"n$$"*"$bridge"*"10.124.0.0/24"* ]] || fail "$output"
    run contain --network "n$$" -- ip -o -4 addr show eth0
    assert_status 0
    [[ $output == *"inet 10.124.0.2/24"* ]] || fail "$output"
    # An overlapping subnet, a second NAME, a missing network.
    run cnetwork create --subnet 10.124.0.128/25 "m$$"
    assert_status 125
    assert_equal "$output" "cnetwork: the subnet 10.124.0.128/25 overlaps 10.124.0.0/24, in use by another network"
    run cnetwork create "n$$"
    assert_equal "$output" "cnetwork: the network 'n$$' already exists"
    run contain --network "nope$$" -- true
    assert_status 125
    assert_equal "$output" "contain: no network 'nope$$' (make it with: cnetwork create nope$$)"
    # In use: refused.
    contain -d --name "user$$" --network "n$$" -- sleep 60 >/dev/null
    run cnetwork rm "n$$"
    assert_status 125
    assert_equal "$output" "cnetwork: the network 'n$$' is in use by: user$$"
    in_sandbox "$ROOT/scripts/ckill" "user$$" KILL
    wait_for test ! -e "$ISOKIT_STATE/user$$"
    run cnetwork rm "n$$"
    assert_status 0
    run in_sandbox ip link show dev "$bridge"
    assert_status 1
    [[ ! -e $ISOKIT_STATE/.networks/n$$ ]] || fail "record left"
}
