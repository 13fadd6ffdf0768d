# Helpers for the networking suites (ports.bats, names.bats), after
# `load helpers`: a throwaway sandbox held open for the whole test, so that
# several commands (contain, nft, ip, a client) see one network namespace.

# For setup_file: the default image, made once, outside the timed tests.
make_test_image() {
    export ISOKIT_IMAGES="$ROOT/target/test-images"
    sandboxed env ISOKIT_STATE="$BATS_FILE_TMPDIR/state" "$ROOT/scripts/contain" -- true
}

# hold_sandbox: SANDBOX, a process in fresh network, mount, UTS and IPC
# namespaces; contain, nft and ip run inside it through in_sandbox.
hold_sandbox() {
    sandboxed_bg sleep 600
    SANDBOX=$BG_PID
    wait_for in_other_netns "$SANDBOX" $$
    in_sandbox ip link set lo up
}

# add_peer: PEER, "another host": a network namespace inside the sandbox,
# 198.51.100.2 (TEST-NET-2), reaching the sandbox at 198.51.100.1 over a
# veth (vh in the sandbox, vp in the peer).
add_peer() {
    # Background jobs start nsenter itself (a function would be a subshell
    # and $! its PID).
    nsenter -t "$SANDBOX" -m -u -i -n -- unshare --net -- sleep 600 &
    PEER=$!
    # nsenter first joins the sandbox, then unshare leaves it: wait until
    # the peer is in a namespace that is neither the machine's nor the
    # sandbox's, or the veth below would land in the wrong one.
    wait_for in_other_netns "$PEER" "$SANDBOX"
    wait_for in_other_netns "$PEER" $$
    in_sandbox ip link add vh type veth peer name vp netns "$PEER"
    in_sandbox ip addr add 198.51.100.1/24 dev vh
    in_sandbox ip link set vh up
    on_peer ip addr add 198.51.100.2/24 dev vp
    on_peer ip link set vp up
    on_peer ip link set lo up
}

# release_sandbox: kill the test's containers, then the processes it
# started; the namespaces go with the last of them.
release_sandbox() {
    in_sandbox "$ROOT/scripts/ckill" --all KILL >/dev/null 2>&1 || true
    # shellcheck disable=SC2086 # LISTENER may be unset
    kill ${LISTENER:-} ${PEER:-} "$SANDBOX" 2>/dev/null || true
    wait 2>/dev/null || true
}

# Is process $1 in another network namespace than $2 (unshare done)?
in_other_netns() {
    [[ $(ns_of "$1" net) != "$(ns_of "$2" net)" ]]
}

in_sandbox() {
    nsenter -t "$SANDBOX" -m -u -i -n -- "$@"
}

on_peer() {
    nsenter -t "$PEER" -n -- "$@"
}

contain() {
    in_sandbox "$ROOT/scripts/contain" "$@"
}

cnetwork() {
    in_sandbox "$ROOT/scripts/cnetwork" "$@"
}
