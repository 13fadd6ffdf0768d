#!/usr/bin/env bats
# contain without root: a user namespace mapping the caller to root, no
# cgroup step, and user-mode networking through slirp4netns or pasta
# started from outside (pasta forwarding the published ports). The user is
# nobody (uid 65534), inside a throwaway sandbox (tests/net.bash) whose
# "other host" namespace serves the page fetched.

load helpers
load net

setup_file() {
    local tmp
    tmp=$(public_tmp)
    export ISOKIT_IMAGES="$tmp/rootless-images"
    # The default image, made once by nobody (its own image store).
    sandboxed setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/nonexistent \
        ISOKIT_STATE="$tmp/rootless-state-setup" ISOKIT_IMAGES="$ISOKIT_IMAGES" "$ROOT/scripts/contain" -- true
    if command -v newuidmap >/dev/null; then
        add_subid_user "$tmp"
    fi
}

setup() {
    local tmp
    tmp=$(public_tmp)
    export ISOKIT_STATE="$tmp/rootless-state-$BATS_TEST_NUMBER-$$"
    hold_sandbox
}

teardown() {
    release_sandbox
    rm -rf "$ISOKIT_STATE"
}

# A user of this file with subordinate ranges of its own, and its own
# image store: a system user, so useradd allocates no range by itself.
# Both lines and the user are removed in teardown_file.
add_subid_user() {
    export SUB_USER=isokit-sub-$$
    export SUB_START=$((500000 + ($$ % 1000) * 65536))
    useradd --system --no-create-home --shell /usr/sbin/nologin "$SUB_USER"
    SUB_UID=$(id -u "$SUB_USER") SUB_GID=$(id -g "$SUB_USER")
    export SUB_UID SUB_GID
    echo "$SUB_USER:$SUB_START:65536" >>/etc/subuid
    echo "$SUB_USER:$SUB_START:65536" >>/etc/subgid
    export SUB_IMAGES="$1/rootless-images-sub"
    sandboxed setpriv --reuid "$SUB_UID" --regid "$SUB_GID" --clear-groups env HOME=/nonexistent \
        ISOKIT_STATE="$1/rootless-state-sub-setup" ISOKIT_IMAGES="$SUB_IMAGES" "$ROOT/scripts/contain" -- true
}

teardown_file() {
    [[ -n ${SUB_USER:-} ]] || return 0
    sed -i "/^$SUB_USER:$SUB_START:65536\$/d" /etc/subuid /etc/subgid
    userdel "$SUB_USER"
}

# A command as nobody, in the sandbox.
as_nobody() {
    in_sandbox setpriv --reuid 65534 --regid 65534 --clear-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/nonexistent ISOKIT_STATE="$ISOKIT_STATE" ISOKIT_IMAGES="$ISOKIT_IMAGES" "$@"
}

contain_as_nobody() {
    as_nobody "$ROOT/scripts/contain" "$@"
}

# contain as the test's user with subordinate ranges, in the sandbox.
contain_as_subuser() {
    in_sandbox setpriv --reuid "$SUB_UID" --regid "$SUB_GID" --clear-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/nonexistent ISOKIT_STATE="$ISOKIT_STATE" ISOKIT_IMAGES="$SUB_IMAGES" "$ROOT/scripts/contain" "$@"
}

@test "without root: the caller is root in a user namespace of its own, lo is up, no cgroup of isokit's" {
    run contain_as_nobody --name rl -- sh -c 'id -u; cat /proc/self/uid_map; ip -o link show lo; cat /etc/hostname; cat /proc/self/cgroup'
    assert_status 0
    assert_equal "${lines[0]}" 0
    read -r inside outside count <<<"${lines[1]}"
    assert_equal "$inside $outside $count" "0 65534 1"
    [[ ${lines[2]} == *"<LOOPBACK,UP,LOWER_UP>"* ]] || fail "$output"
    assert_equal "${lines[3]}" rl
    [[ $output != *isokit/* ]] || fail "in an isokit cgroup: $output"
}

@test "without root: the options that need root say so, before anything is made" {
    run contain_as_nobody --memory 64M -- true
    assert_status 125
    assert_equal "${lines[0]}" "contain: --memory needs root (a cgroup limit); without root: no limits"
    run contain_as_nobody --net bridge -- true
    assert_status 125
    assert_equal "${lines[0]}" "contain: --net bridge needs root (a veth on a host bridge); without root: --net none, slirp4netns, pasta or host"
    run contain_as_nobody --net slirp4netns -p 8080:80 -- true
    assert_status 125
    assert_equal "${lines[0]}" "contain: -p needs root (nftables on the host); without root: --net pasta -p"
    [[ ! -e $ISOKIT_STATE ]] || [[ -z $(ls "$ISOKIT_STATE") ]] || fail "left: $(ls "$ISOKIT_STATE")"
}

@test "without root, --net slirp4netns: a page from a server on another host" {
    add_peer
    # The VM's /dev/net/tun may be 0600; the sandbox gets a 0666 node of
    # its own, bound over it in its private mount namespace only.
    mknod "$BATS_TEST_TMPDIR/tun" c 10 200
    chmod 0666 "$BATS_TEST_TMPDIR/tun"
    in_sandbox mount --bind "$BATS_TEST_TMPDIR/tun" /dev/net/tun
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo "from the other side" >"$BATS_TEST_TMPDIR/www/page"
    nsenter -t "$PEER" -n -- busybox httpd -f -p 198.51.100.2:8000 -h "$BATS_TEST_TMPDIR/www" &
    # shellcheck disable=SC2034 # killed by release_sandbox
    LISTENER=$!
    wait_for on_peer busybox wget -q -O /dev/null http://198.51.100.2:8000/page
    run contain_as_nobody --net slirp4netns -- sh -c 'ip -o -4 addr show tap0; wget -q -O - http://198.51.100.2:8000/page'
    assert_status 0
    [[ ${lines[0]} == *"inet 10.0.2.100/24"* ]] || fail "$output"
    assert_equal "${lines[1]}" "from the other side"
    # slirp4netns ended with the container.
    run pgrep -f "slirp4netns.*tap0" -u 65534
    assert_status 1
}

@test "without root, with /etc/subuid and /etc/subgid ranges: ids 1..N are the range; chown 1000 lands on it; --user nobody works" {
    [[ -n ${SUB_USER:-} ]] || skip "newuidmap is not installed (scripts/install-deps: uidmap)"
    local vol
    vol=$(public_tmp)/subids-volume-$$
    mkdir "$vol"
    chown "$SUB_UID:$SUB_GID" "$vol"
    run contain_as_subuser -v "$vol:/data" -- sh -c 'cat /proc/self/uid_map /proc/self/gid_map; touch /data/f && chown 1000:1000 /data/f && echo chowned'
    assert_status 0
    assert_equal "$(awk 'NF == 3 {print $1, $2, $3}' <<<"$output")" \
        "0 $SUB_UID 1"$'\n'"1 $SUB_START 65536"$'\n'"0 $SUB_GID 1"$'\n'"1 $SUB_START 65536"
    assert_equal "${lines[4]}" chowned
    # On the host, the file belongs to the range's id for 1000.
    assert_equal "$(stat -c %u:%g "$vol/f")" "$((SUB_START + 999)):$((SUB_START + 999))"
    rm -rf "$vol"
    # capdrop --user nobody: 65534 is mapped, so setgroups/setgid/setuid work.
    run contain_as_subuser --user nobody -- sh -c 'id -u; id -g; grep "^Uid:" /proc/self/status'
    assert_status 0
    assert_equal "${lines[0]} ${lines[1]}" "65534 65534"
}

# A /dev/net/tun that nobody may open, in the sandbox only (the VM's may
# be 0600).
open_tun_in_sandbox() {
    mknod "$BATS_TEST_TMPDIR/tun" c 10 200
    chmod 0666 "$BATS_TEST_TMPDIR/tun"
    in_sandbox mount --bind "$BATS_TEST_TMPDIR/tun" /dev/net/tun
}

# pasta copies the host's addresses and routes onto tap0: it needs an
# interface with a default route, here the link to the other host.
add_routed_peer() {
    add_peer
    in_sandbox ip route add default via 198.51.100.2
}

@test "without root, --net pasta -p: the published port from another host and from the host, refused to a second container" {
    add_routed_peer
    open_tun_in_sandbox
    run contain_as_nobody -d --name web --net pasta -p 8080:80 -- \
        sh -c 'ip -o -4 addr show tap0 >/tmp/addr; echo served inside >/tmp/page; exec httpd -f -p 80 -h /tmp'
    assert_status 0
    # From the other host, to the sandbox's address: pasta's listener.
    wait_for on_peer busybox wget -q -O /dev/null http://198.51.100.1:8080/page
    run on_peer busybox wget -q -O - http://198.51.100.1:8080/page
    assert_equal "$output" "served inside"
    # From the host itself, through its loopback.
    run in_sandbox busybox wget -q -O - http://127.0.0.1:8080/page
    assert_equal "$output" "served inside"
    # tap0 inside has the sandbox's address, copied by pasta.
    run in_sandbox busybox wget -q -O - http://127.0.0.1:8080/addr
    [[ $output == *"tap0"*"inet 198.51.100.1/24"* ]] || fail "$output"
    # Only the published port is forwarded: 8081 is nobody's.
    run in_sandbox busybox wget -q -O - http://127.0.0.1:8081/page
    assert_status 1
    # The host port is taken: a second container is refused, in one line.
    run contain_as_nobody --name web2 --net pasta -p 8080:80 -- true
    assert_status 125
    [[ ${lines[-1]} == "contain: pasta could not connect the container: "* ]] || fail "$output"
    # pasta ends with the container.
    local helper comm
    read -r helper <"$ISOKIT_STATE/web/pasta.pid"
    comm=$(ps -o comm= -p "$helper")
    [[ $comm == pasta* || $comm == passt* ]] || fail "pid $helper is '$comm', not pasta"
    run as_nobody "$ROOT/scripts/ckill" web KILL
    assert_status 0
    wait_for process_ended "$helper"
}

@test "without root, --net pasta: the container cannot reach the host's loopback" {
    add_routed_peer
    open_tun_in_sandbox
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo "host only" >"$BATS_TEST_TMPDIR/www/page"
    # nsenter itself in the background (a function would be a subshell,
    # and $! not the server).
    nsenter -t "$SANDBOX" -m -u -i -n -- busybox httpd -f -p 127.0.0.1:8000 -h "$BATS_TEST_TMPDIR/www" &
    # shellcheck disable=SC2034 # killed by release_sandbox
    LISTENER=$!
    wait_for in_sandbox busybox wget -q -O /dev/null http://127.0.0.1:8000/page
    # Through its own loopback (pasta's automatic forwards follow the
    # caller's listening ports, rescanned every second) and through the
    # gateway's address (which pasta would map to the caller's host).
    # A connection pasta forwards to the other host, where nothing
    # listens, may hang rather than be refused: each try is bounded.
    run contain_as_nobody --net pasta -- sh -c 'sleep 2
        timeout 5 wget -q -O - http://127.0.0.1:8000/page; echo "loopback $?"
        timeout 5 wget -q -O - http://198.51.100.2:8000/page; echo "gateway $?"'
    assert_status 0
    [[ $output != *"host only"* ]] || fail "the host's loopback was reached: $output"
    [[ $output == *"loopback "[1-9]*"gateway "[1-9]* ]] || fail "$output"
}

# Has process $1 ended? (This machine's PID 1 may leave it a zombie.)
process_ended() {
    ! ps -o stat= -p "$1" | grep -qv '^Z'
}

# A contain --net STACK killed with SIGKILL before it could stop its network
# stack. The container runs on (its launcher is not contain): the next cps
# still lists it with its init, and its stack still runs; ckill still
# reaches it (found by its launcher's --pidfile, there being no cgroup).
# Once it ended, the next cps (its prune) ends the stack, by the PID
# recorded in STACK.pid and only while that PID is still the stack, and
# the state goes.
stack_ends_after_owner_killed() {
    local stack=$1 job owner helper init
    contain_as_nobody --name k --net "$stack" -- sleep 100 &
    job=$!
    wait_for test -s "$ISOKIT_STATE/k/$stack.pid"
    wait_for test -s "$ISOKIT_STATE/k/pid"
    read -r owner <"$ISOKIT_STATE/k/owner"
    read -r helper <"$ISOKIT_STATE/k/$stack.pid"
    read -r init <"$ISOKIT_STATE/k/pid"
    # pasta runs as passt.avx2 (or passt) where the CPU allows.
    [[ $(cat "/proc/$helper/comm") == "$stack"* || ($stack == pasta && $(cat "/proc/$helper/comm") == passt*) ]] ||
        fail "PID $helper is no $stack"
    kill -KILL "$owner"
    wait "$job" || true
    run as_nobody "$ROOT/scripts/cps"
    assert_status 0
    [[ $output == *"k "*" $init "* ]] || fail "cps does not list k with its init $init: $output"
    kill -0 "$helper" || fail "the running container's $stack was ended"
    run as_nobody "$ROOT/scripts/ckill" k KILL
    assert_status 0
    wait_for process_ended "$init"
    run as_nobody "$ROOT/scripts/cps"
    assert_status 0
    wait_for process_ended "$helper"
    [[ ! -e $ISOKIT_STATE/k ]] || fail "state left: $(ls "$ISOKIT_STATE/k")"
}

@test "without root, --net pasta: a contain killed with SIGKILL leaves its container tracked; its pasta ends with it" {
    add_routed_peer
    open_tun_in_sandbox
    stack_ends_after_owner_killed pasta
}

@test "without root, --net slirp4netns: a contain killed with SIGKILL leaves its container tracked; its slirp4netns ends with it" {
    open_tun_in_sandbox
    stack_ends_after_owner_killed slirp4netns
}
