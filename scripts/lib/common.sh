# Shared by scripts/contain, cps, ckill, cexec and clogs: where things
# live, container state, and cleaning up after containers that are gone.
# shellcheck shell=bash

# Every fork counts: contain runs on each launch (see docs/BENCHMARKS.md), so
# these helpers use bash builtins where a program would do the same.
ISOKIT_ROOT=$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)
ISOKIT_BIN=${ISOKIT_BIN:-$ISOKIT_ROOT/target/bin}
# Per-container state: /run/isokit/NAME/{owner,pid,command,started,address,...}
ISOKIT_STATE=${ISOKIT_STATE:-/run/isokit}
# Images made or unpacked on first use.
ISOKIT_IMAGES=${ISOKIT_IMAGES:-/var/lib/isokit/images}
ISOKIT_BRIDGE=${ISOKIT_BRIDGE:-isokit0}
ISOKIT_SUBNET_PREFIX=10.88 # the bridge's /16: gateway 10.88.0.1
# shellcheck disable=SC2034 # used by the scripts that source this file
ISOKIT_GATEWAY=$ISOKIT_SUBNET_PREFIX.0.1

die() {
    echo "${0##*/}: $*" >&2
    exit 125
}

# Usage errors carry the --help hint, like the tools.
usage_error() {
    echo "${0##*/}: $*" >&2
    echo "Try '${0##*/} --help' for more information." >&2
    exit 125
}

# Close every fd above 2 that would cross exec(2). The tools pass on what
# they inherit (a caller may mean to), but the callers of contain and cexec
# (a CI runner, a service) may hold fds to host directories, which inside a
# container are a way out (runc CVE-2024-21626). Whatever the number: bash
# keeps its handle on the script close-on-exec at the highest free fd (255,
# or lower when the caller holds 255), so close-on-exec fds are left, and
# only those.
close_inherited_fds() {
    local fd_path fd key value flags
    for fd_path in "/proc/$BASHPID/fd"/*; do
        fd=${fd_path##*/}
        ((fd > 2)) || continue
        flags=
        # fdinfo's "flags:" line is octal; gone (the glob's own directory
        # fd) means nothing to close.
        { while read -r key value; do
            [[ $key == flags: ]] && { flags=$value; break; }
        done <"/proc/$BASHPID/fdinfo/$fd"; } 2>/dev/null || continue
        [[ $flags =~ ^[0-7]+$ ]] || continue
        ((8#$flags & 8#2000000)) && continue # O_CLOEXEC: does not cross exec
        eval "exec $fd>&-"
    done
}

valid_name() {
    [[ $1 =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$ ]]
}

# The start time of process $1 (field 22 of /proc/PID/stat), to tell it
# apart from a later process that reuses its PID.
start_time_of() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo "${20}"
}

# Is the process that owns container $1's state (contain itself, or the
# detached supervisor) still alive?
owner_alive() {
    local dir="$ISOKIT_STATE/$1" pid started
    { read -r pid <"$dir/owner" && read -r started <"$dir/owner-start"; } 2>/dev/null || return 1
    [[ $(start_time_of "$pid") == "$started" ]]
}

# The host PID of container $1's init, if it is still running: the PID
# from the pidfile must still be an unshare-lite in another PID namespace.
init_pid() {
    local pid
    { read -r pid <"$ISOKIT_STATE/$1/pid"; } 2>/dev/null || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    local cmdline=''
    # argv[0] only: read stops at the first NUL.
    { read -r -d '' cmdline <"/proc/$pid/cmdline"; } 2>/dev/null
    [[ -n $cmdline ]] || return 1
    [[ $cmdline == *unshare-lite* ]] || return 1
    [[ $(readlink "/proc/$pid/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] || return 1
    echo "$pid"
}

container_running() {
    owner_alive "$1" || init_pid "$1" >/dev/null
}

# Release what container $1 held: its cgroup (the init has exited, so it
# is empty) and its state directory, which also frees its address. The
# veth pair went away with the network namespace.
release_container() {
    local name=$1
    "$ISOKIT_BIN/cgset" --name "$name" --remove >/dev/null 2>&1 || true
    rm -rf "${ISOKIT_STATE:?}/$name"
}

# Remove the state of containers that are gone but were not cleaned up
# (contain killed with SIGKILL, for one).
prune_stale() {
    local dir name
    [[ -d $ISOKIT_STATE ]] || return 0
    for dir in "$ISOKIT_STATE"/*/; do
        [[ -d $dir ]] || continue
        name=$(basename "$dir")
        container_running "$name" || release_container "$name"
    done
}

# Build the binaries if any is missing or older than the sources.
ensure_built() {
    local tool stale=
    for tool in cgset unshare-lite netns-setup pivot capdrop; do
        if [[ ! -x $ISOKIT_BIN/$tool ]]; then
            stale=1
            break
        fi
    done
    if [[ -z $stale ]] && [[ -n $(find "$ISOKIT_ROOT"/*/src "$ISOKIT_ROOT"/*/Cargo.toml "$ISOKIT_ROOT/Cargo.lock" \
        -newer "$ISOKIT_BIN/capdrop" -print -quit 2>/dev/null) ]]; then
        stale=1
    fi
    if [[ -n $stale ]]; then
        echo "${0##*/}: building the isokit tools (scripts/build)" >&2
        "$ISOKIT_ROOT/scripts/build" || die "build failed"
    fi
}
