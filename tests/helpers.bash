# Shared helpers for the bats suites. Load with `load helpers`.
#
# Every test runs the real binaries from target/bin (scripts/build puts
# them there; ISOKIT_BIN overrides it) and asserts what the kernel reports.

bats_require_minimum_version 1.5.0

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BIN=${ISOKIT_BIN:-$ROOT/target/bin}
PATH="$BIN:$PATH"
export ROOT BIN PATH
# Tests compare error lines exactly: no tracing unless a test asks for it.
unset ISOKIT_TRACE

# Run a command in throwaway mount, UTS, IPC and network namespaces, so that
# a tool that misbehaves (renames, mounts, pivots, adds links) can only
# damage namespaces that vanish with the test.
sandboxed() {
    unshare --mount --uts --ipc --net --propagation private -- "$@"
}

# Start a sandboxed command in the background; BG_PID is the command itself
# (env and unshare exec). bash makes background jobs ignore SIGINT and
# SIGQUIT, and a shell cannot trap a signal ignored on entry: reset them.
sandboxed_bg() {
    env --default-signal unshare --mount --uts --ipc --net --propagation private -- "$@" &
    # shellcheck disable=SC2034 # for the caller
    BG_PID=$!
}

# Fail the test with a message (bats shows it).
fail() {
    echo "$*" >&2
    return 1
}

# assert_equal ACTUAL EXPECTED
assert_equal() {
    if [[ "$1" != "$2" ]]; then
        fail "expected: '$2'"$'\n'"  actual: '$1'"
    fi
}

# assert_status N: the last `run` exited with N.
assert_status() {
    if [[ "$status" != "$1" ]]; then
        fail "exit status $status, expected $1; output: $output; stderr: ${stderr:-}"
    fi
}

# wait_for COMMAND...: poll up to ~5 s for a command to succeed.
wait_for() {
    for _ in $(seq 100); do
        "$@" && return 0
        sleep 0.05
    done
    fail "timed out waiting for: $*"
}

# Let other users traverse the directories above $1 that bats made (0700).
open_path_to() {
    local dir
    dir=$(dirname "$1")
    while [[ $dir == "$BATS_RUN_TMPDIR"* ]]; do
        chmod o+x "$dir"
        dir=$(dirname "$dir")
    done
}

# A copy of the binaries in a directory every user can reach, for tests
# that run as an unprivileged user (a clone under /root is not reachable).
public_bin() {
    local dir="$BATS_FILE_TMPDIR/public-bin"
    if [[ ! -d $dir ]]; then
        mkdir -p "$dir"
        cp "$BIN"/* "$dir/"
        chmod 0755 "$dir" "$dir"/*
        open_path_to "$dir"
    fi
    echo "$dir"
}

# A scratch directory an unprivileged user can write to.
public_tmp() {
    local dir="$BATS_FILE_TMPDIR/public-tmp"
    mkdir -p "$dir"
    chmod 1777 "$dir"
    open_path_to "$dir"
    echo "$dir"
}

# The namespace identity of a process: the inode behind /proc/PID/ns/NAME.
ns_of() {
    readlink "/proc/$1/ns/$2"
}
