#!/usr/bin/env bats
# contain -p: published ports, as the kernel shows them (nft list table,
# real TCP connections). Each test holds a throwaway sandbox (network,
# mount, UTS, IPC namespaces) where the bridge and isokit's nftables table
# live, and a second namespace inside it for "another host", joined by a
# veth on TEST-NET-2 (198.51.100.0/24): no packet leaves the test's namespaces.

load helpers
load net

setup_file() {
    make_test_image
}

setup() {
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    hold_sandbox
    add_peer
}

teardown() {
    release_sandbox
}

# A web server in container $1 answering /cgi-bin/ip with the client's
# address as it sees it (REMOTE_ADDR, "[::ffff:IPv4]"); more contain options follow.
start_server() {
    local name=$1
    shift
    # shellcheck disable=SC2016 # for the container's sh
    contain -d --name "$name" --net bridge "$@" -- sh -c '
        mkdir -p /www/cgi-bin
        printf "#!/bin/sh\necho Content-Type: text/plain\necho\necho \$REMOTE_ADDR\n" >/www/cgi-bin/ip
        chmod +x /www/cgi-bin/ip
        exec httpd -f -p 80 -h /www' >/dev/null
}

# fetch URL: the page, fetched from the sandbox (the host).
fetch() {
    in_sandbox timeout 5 busybox wget -q -O - "$1"
}

@test "-p 8080:80: one element in isokit's own table; reachable from another host, who keeps its address" {
    start_server web -p 8080:80
    run in_sandbox nft list map ip isokit publish
    assert_status 0
    [[ $output == *"tcp . 8080 : 10.88.0.2 . 80"* ]] || fail "$output"
    wait_for fetch http://10.88.0.2/cgi-bin/ip
    run on_peer timeout 5 busybox wget -q -O - http://198.51.100.1:8080/cgi-bin/ip
    assert_status 0
    # No masquerade of outside traffic: the server sees the client.
    assert_equal "$output" "[::ffff:198.51.100.2]"
}

@test "-p: reachable at 127.0.0.1 from the host, route_localnet only on the bridge, martian 127/8 dropped" {
    start_server web -p 8080:80
    wait_for fetch http://10.88.0.2/cgi-bin/ip
    run fetch http://127.0.0.1:8080/cgi-bin/ip
    assert_status 0
    # From the host's loopback, masqueraded to the bridge's address (the
    # container could not answer 127.0.0.1).
    assert_equal "$output" "[::ffff:10.88.0.1]"
    assert_equal "$(in_sandbox cat /proc/sys/net/ipv4/conf/isokit0/route_localnet)" 1
    assert_equal "$(in_sandbox cat /proc/sys/net/ipv4/conf/vh/route_localnet)" 0
    assert_equal "$(in_sandbox cat /proc/sys/net/ipv4/conf/all/route_localnet)" 0
    # CVE-2020-8558: with route_localnet on, a neighbour on the bridge
    # could reach a service on the host's 127.0.0.1. A neighbour of the
    # test's own (full root in its namespace, so it can route 127/8 out
    # of its link) tries; the guard must drop it.
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo reached >"$BATS_TEST_TMPDIR/www/x"
    nsenter -t "$SANDBOX" -m -u -i -n -- busybox httpd -f -p 127.0.0.1:9999 -h "$BATS_TEST_TMPDIR/www" &
    # shellcheck disable=SC2034 # killed by release_sandbox
    LISTENER=$!
    wait_for fetch http://127.0.0.1:9999/x
    run in_sandbox unshare-lite --net --pid -- netns-setup --veth ve-atk --bridge isokit0 \
        --addr 10.88.0.200/16 --gateway 10.88.0.1 -- sh -c '
        ip route del local 127.0.0.0/8 dev lo table local
        echo 1 >/proc/sys/net/ipv4/conf/eth0/route_localnet
        ip route add 127.0.0.1/32 via 10.88.0.1 dev eth0
        timeout 5 busybox wget -q -O - http://127.0.0.1:9999/x; echo "status $?"'
    [[ $output != *reached* ]] || fail "a neighbour on the bridge reached the host's loopback: $output"
    [[ $output == *"status "[1-9]* ]] || fail "$output"
    run in_sandbox nft list chain ip isokit guard
    [[ $output == *'iifname != "lo" ip daddr 127.0.0.0/8 drop'* ]] || fail "$output"
}

@test "-p: another container reaches the published port through the host's address" {
    start_server web -p 8080:80
    wait_for fetch http://10.88.0.2/cgi-bin/ip
    run contain --net bridge -- timeout 5 wget -q -O - http://198.51.100.1:8080/cgi-bin/ip
    assert_status 0
    # Hairpin: both on isokit0, masqueraded so that the answer comes back
    # through the host.
    assert_equal "$output" "[::ffff:10.88.0.1]"
}

@test "-p: a host port is reserved while its container runs; ranges and udp" {
    start_server web -p 8080:80
    run contain --net bridge -p 8080:81 -- true
    assert_status 125
    assert_equal "$output" "contain: host port 8080/tcp is already published by container 'web'"
    # Nothing of the refused container stays.
    run in_sandbox nft list map ip isokit publish
    [[ $output != *": 10.88.0.3"* ]] || fail "$output"
    assert_equal "$(ls "$ISOKIT_STATE")" web
    # Another protocol, a range, a host address of its own.
    contain -d --name other --net bridge -p 8080:80/udp -p 9000-9001:90-91 -p 198.51.100.1:7000:70 -- sleep 60 >/dev/null
    run in_sandbox nft list table ip isokit
    [[ $output == *"udp . 8080 : 10.88.0.3 . 80"* ]] || fail "$output"
    [[ $output == *"tcp . 9000 : 10.88.0.3 . 90"* && $output == *"tcp . 9001 : 10.88.0.3 . 91"* ]] || fail "$output"
    [[ $output == *"198.51.100.1 . tcp . 7000 : 10.88.0.3 . 70"* ]] || fail "$output"
    # A container that ends takes its own elements only.
    run contain --net bridge -p 8090:80 -- true
    assert_status 0
    run in_sandbox nft list map ip isokit publish
    [[ $output == *"tcp . 8080 : 10.88.0.2 . 80"* && $output != *8090* ]] || fail "$output"
}

@test "every rule goes when the container ends: ckill, and SIGKILL of contain then cps" {
    start_server web -p 8080:80
    wait_for fetch http://10.88.0.2/cgi-bin/ip
    in_sandbox "$ROOT/scripts/ckill" web KILL
    wait_for test ! -e "$ISOKIT_STATE/web"
    run in_sandbox nft list table ip isokit
    assert_status 1
    # contain itself killed: its chain lives on (the rules too), and once
    # the container is gone the next cps removes them.
    nsenter -t "$SANDBOX" -m -u -i -n -- "$ROOT/scripts/contain" --name fg --net bridge -p 8081:80 -- sleep 60 &
    local contain_pid=$!
    wait_for test -s "$ISOKIT_STATE/fg/pid"
    wait_for in_sandbox nft list map ip isokit publish
    kill -KILL "$contain_pid"
    run in_sandbox nft list map ip isokit publish
    [[ $output == *"tcp . 8081"* ]] || fail "the rule went while the container runs: $output"
    kill -KILL "$(cat "$ISOKIT_STATE/fg/pid")"
    wait_for test ! -e "/proc/$(cat "$ISOKIT_STATE/fg/pid")"
    in_sandbox "$ROOT/scripts/cps" >/dev/null
    run in_sandbox nft list table ip isokit
    assert_status 1
    [[ ! -e $ISOKIT_STATE/fg ]] || fail "state left"
}

@test "-p touches no other nftables table" {
    in_sandbox nft -f - <<'NFT'
table inet hostfw {
    chain input { type filter hook input priority 0; policy accept; tcp dport 22 accept; }
}
NFT
    local before
    before=$(in_sandbox nft list table inet hostfw)
    start_server web -p 8080:80
    assert_equal "$(in_sandbox nft list table inet hostfw)" "$before"
    run in_sandbox nft list tables
    assert_equal "$output" $'table inet hostfw\ntable ip isokit'
}

@test "-p on a network made by cnetwork: reachable from another host and through localhost" {
    in_sandbox "$ROOT/scripts/cnetwork" create --subnet 10.125.0.0/24 "pub$$" >/dev/null
    # A later --network overrides start_server's --net bridge.
    start_server web --network "pub$$" -p 8082:80
    run in_sandbox nft list map ip isokit publish
    [[ $output == *"tcp . 8082 : 10.125.0.2 . 80"* ]] || fail "$output"
    wait_for fetch http://10.125.0.2/cgi-bin/ip
    run on_peer timeout 5 busybox wget -q -O - http://198.51.100.1:8082/cgi-bin/ip
    assert_status 0
    assert_equal "$output" "[::ffff:198.51.100.2]"
    run fetch http://127.0.0.1:8082/cgi-bin/ip
    assert_status 0
    assert_equal "$output" "[::ffff:10.125.0.1]"
}
