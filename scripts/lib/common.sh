# Shared by scripts/contain, cps, ckill, cexec and clogs: where things
# live, container state, and cleaning up after containers that are gone.
# shellcheck shell=bash

# Every fork counts: contain runs on each launch (see docs/BENCHMARKS.md), so
# these helpers use bash builtins where a program would do the same.
#
# Two layouts. In a checkout this file is ROOT/scripts/lib/common.sh, the
# tools are built into ROOT/target/bin. scripts/install-kit copies it to
# PREFIX/lib/isokit/common.sh and sets ISOKIT_LAYOUT=installed below: the
# tools are in PREFIX/lib/isokit/bin, the scripts in PREFIX/bin. Either
# way ROOT is found from this file's own place, so a DESTDIR copy works.
ISOKIT_LAYOUT=checkout
ISOKIT_ROOT=$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)
# shellcheck disable=SC2034 # ISOKIT_SCRIPTS: used by the scripts that source this file
if [[ $ISOKIT_LAYOUT == installed ]]; then
    ISOKIT_BIN=${ISOKIT_BIN:-$ISOKIT_ROOT/lib/isokit/bin}
    ISOKIT_SCRIPTS=$ISOKIT_ROOT/bin
else
    ISOKIT_BIN=${ISOKIT_BIN:-$ISOKIT_ROOT/target/bin}
    ISOKIT_SCRIPTS=$ISOKIT_ROOT/scripts
fi
# Per-container state: /run/isokit/NAME/{owner,pid,command,started,address,...}
ISOKIT_STATE=${ISOKIT_STATE:-/run/isokit}
# Images made or unpacked on first use.
ISOKIT_IMAGES=${ISOKIT_IMAGES:-/var/lib/isokit/images}
ISOKIT_BRIDGE=${ISOKIT_BRIDGE:-isokit0}
ISOKIT_SUBNET_PREFIX=10.88 # the bridge's /16: gateway 10.88.0.1
# shellcheck disable=SC2034 # used by the scripts that source this file
ISOKIT_GATEWAY=$ISOKIT_SUBNET_PREFIX.0.1

# Exit status of every script that sources this file, as the tools':
#   0        success
#   125      the script itself failed: a bad option (usage_error), a missing
#            container, a step that could not be done (die); one line
#            "SCRIPT: what failed: why" on stderr, nothing half-done left
#   126, 127 (contain, cexec) CMD was found but could not be run / not found
#   other    (contain, cexec) CMD's own exit status
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
        exec {fd}>&-
    done
}

# Is $1 an address a container may have on the bridge: dotted decimal
# without leading zeros (10.88.0.08 is ambiguous: octal to some parsers),
# in the subnet, and neither its network, broadcast nor gateway address?
valid_container_address() {
    local octet='(0|[1-9][0-9]{0,2})'
    [[ $1 =~ ^${ISOKIT_SUBNET_PREFIX//./\\.}\.$octet\.$octet$ ]] || return 1
    local a=${BASH_REMATCH[1]} b=${BASH_REMATCH[2]}
    ((a <= 255 && b <= 255)) || return 1
    ((a != 0 || b != 0)) && ((a != 255 || b != 255)) && [[ $1 != "$ISOKIT_GATEWAY" ]]
}

# write_state FILE TEXT [-n]: FILE holds the line TEXT (-n: TEXT without
# the newline). A full or read-only state directory is the script's error,
# in one line, not a raw bash one.
write_state() {
    local format='%s\n'
    [[ ${3:-} == -n ]] && format='%s'
    # shellcheck disable=SC2059 # the format is one of the two above
    { printf "$format" "$2" >"$1"; } 2>/dev/null || die "cannot write '$1': $(why_unwritable "$1")"
}

# The reason a write to FILE $1 fails (ENOSPC, EROFS...), as the system
# words it: tried once more, in a subshell, only once it has failed.
why_unwritable() {
    local error
    if error=$({ echo x >"$1"; } 2>&1); then
        rm -f "$1"
        error="write failed"
    fi
    echo "${error##*: }"
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

# The cgroup (below isokit/) of container $1 in this state directory.
# Names are unique per state directory, cgroups machine-wide: the name
# carries a hash of the state directory, so that a container of the same
# name under another ISOKIT_STATE never joins (and rewrites) this one's.
cgroup_name() {
    local dir hash
    dir=$(realpath -m "$ISOKIT_STATE")
    hash=$(printf %s "$dir" | sha256sum)
    echo "$1.${hash:0:12}"
}

# The host PID of container $1's init, if it is still running: the PID
# from the pidfile must still be an unshare-lite in another PID namespace,
# in the container's own cgroup (a stale pidfile's PID may now belong to
# another container's init).
init_pid() {
    local pid cgroup line
    { read -r pid <"$ISOKIT_STATE/$1/pid" && read -r cgroup <"$ISOKIT_STATE/$1/cgroup"; } 2>/dev/null || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    local cmdline=''
    # argv[0] only: read stops at the first NUL.
    { read -r -d '' cmdline <"/proc/$pid/cmdline"; } 2>/dev/null
    [[ -n $cmdline ]] || return 1
    [[ $cmdline == *unshare-lite* ]] || return 1
    [[ $(readlink "/proc/$pid/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] || return 1
    local in_cgroup=
    while IFS= read -r line; do
        [[ $line == *"/isokit/$cgroup" ]] && in_cgroup=1
    done <"/proc/$pid/cgroup" 2>/dev/null
    [[ -n $in_cgroup ]] || return 1
    echo "$pid"
}

# The host directory of each cgroup process $1 is in, one a line: every
# hierarchy of /proc/PID/cgroup (v2's "0::PATH" and each v1 "N:CTRLS:PATH")
# mapped to the cgroupfs mount that shows it, from /proc/self/mountinfo.
cgroup_dirs_of() {
    local pid=$1 lines line id controllers path
    local -a mounts=()
    { lines=$(<"/proc/$pid/cgroup"); } 2>/dev/null || return 1
    local left right fields root mountpoint fstype superopts
    while IFS= read -r line; do
        left=${line%% - *} right=${line#* - }
        read -r fstype _ superopts <<<"$right"
        [[ $fstype == cgroup || $fstype == cgroup2 ]] || continue
        read -r -a fields <<<"$left"
        mounts+=("$fstype ${fields[3]} ${fields[4]} ,$superopts,")
    done </proc/self/mountinfo
    while IFS=: read -r id controllers path; do
        local mount want controller found=
        for mount in "${mounts[@]}"; do
            read -r fstype root mountpoint superopts <<<"$mount"
            if [[ $id == 0 && -z $controllers ]]; then
                [[ $fstype == cgroup2 ]] || continue
            else
                [[ $fstype == cgroup ]] || continue
                local ok=1
                IFS=, read -r -a want <<<"$controllers"
                for controller in "${want[@]}"; do
                    [[ $superopts == *",$controller,"* ]] || ok=
                done
                [[ -n $ok ]] || continue
            fi
            # The mount shows the hierarchy from ROOT down.
            [[ $root == / ]] || { [[ $path == "$root" || $path == "$root"/* ]] || continue; path=${path#"$root"}; }
            found=$mountpoint$path
            break
        done
        [[ -n $found ]] && echo "${found%/}"
    done <<<"$lines"
}

container_running() {
    owner_alive "$1" || init_pid "$1" >/dev/null
}

# Release what container $1 held: its cgroup and its state directory,
# which also frees its address. The veth pair went away with the network
# namespace. Killed processes take a moment to leave a cgroup (rmdir says
# EBUSY meanwhile): retry for up to ~5 s; a cgroup still busy then keeps
# the state directory, so that a later prune_stale tries again rather
# than leak the cgroup for good.
release_container() {
    local name=$1 cgroup error try
    if { read -r cgroup <"$ISOKIT_STATE/$name/cgroup"; } 2>/dev/null && [[ -n $cgroup ]]; then
        for try in $(seq 250); do
            error=$("$ISOKIT_BIN/cgset" --name "$cgroup" --remove 2>&1 >/dev/null) && break
            [[ $error == *"no cgroup '"* ]] && break # gone already
            ((try < 250)) || return 1
            sleep 0.02
        done
    fi
    rm -rf "${ISOKIT_STATE:?}/$name"
}

# Remove the state of containers that are gone but were not cleaned up
# (contain killed with SIGKILL, for one), and the half-made claims
# (.claim-*, see scripts/contain) of launches that died before renaming
# theirs into place.
prune_stale() {
    local dir name
    [[ -d $ISOKIT_STATE ]] || return 0
    for dir in "$ISOKIT_STATE"/*/; do
        [[ -d $dir ]] || continue
        name=$(basename "$dir")
        container_running "$name" || release_container "$name" || true
    done
    for dir in "$ISOKIT_STATE"/.claim-*/; do
        [[ -d $dir ]] || continue
        claim_alive "$dir" || rm -rf "$dir"
    done
}

# Is the launch that made claim directory $1 still alive? A claim gets
# its owner right after mkdir: one without an owner is only being made
# if it is new (under a minute old).
claim_alive() {
    local dir=$1 pid started
    if { read -r pid <"$dir/owner" && read -r started <"$dir/owner-start"; } 2>/dev/null; then
        [[ $(start_time_of "$pid") == "$started" ]]
    else
        [[ -n $(find "$dir" -maxdepth 0 -mmin -1 2>/dev/null) ]]
    fi
}

# Build the binaries if any is missing or older than the sources (in a
# checkout; an installed copy has nothing to build from).
ensure_built() {
    local tool stale=
    for tool in cgset unshare-lite netns-setup pivot capdrop; do
        if [[ ! -x $ISOKIT_BIN/$tool ]]; then
            [[ $ISOKIT_LAYOUT == checkout ]] || die "the isokit tool '$ISOKIT_BIN/$tool' is missing (reinstall)"
            stale=1
            break
        fi
    done
    [[ $ISOKIT_LAYOUT == checkout ]] || return 0
    if [[ -z $stale ]] && [[ -n $(find "$ISOKIT_ROOT"/*/src "$ISOKIT_ROOT"/*/Cargo.toml "$ISOKIT_ROOT/Cargo.lock" \
        -newer "$ISOKIT_BIN/capdrop" -print -quit 2>/dev/null) ]]; then
        stale=1
    fi
    if [[ -n $stale ]]; then
        echo "${0##*/}: building the isokit tools (scripts/build)" >&2
        "$ISOKIT_ROOT/scripts/build" || die "build failed"
    fi
}
