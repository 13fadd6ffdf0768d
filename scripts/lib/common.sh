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

# lexical_path PATH VAR: PATH made absolute (from $PWD) and without "",
# "." or ".." components, into VAR: what `cd -L PATH && pwd` prints, with
# no subshell (a fork costs as much as a small program here). Split by
# word splitting, not `read <<<`: bash feeds a here-string through a pipe
# that read takes one byte per system call.
lexical_path() {
    # Locals named apart from any caller's VAR (printf -v sets the
    # innermost variable of that name).
    local _lp_path=$1 _lp_part
    local -a _lp_parts _lp_out=()
    [[ $_lp_path == /* ]] || _lp_path=$PWD/$_lp_path
    # Most paths are plain already: no empty, "." or ".." component.
    if [[ $_lp_path != *//* && $_lp_path != */./* && $_lp_path != */../* && $_lp_path != */. &&
        $_lp_path != */.. && ($_lp_path == / || $_lp_path != */) ]]; then
        printf -v "$2" %s "$_lp_path"
        return 0
    fi
    # No globbing of the parts (restored on return), split at each /.
    local - IFS=/
    set -f
    # shellcheck disable=SC2206 # split on purpose, globbing off
    _lp_parts=($_lp_path)
    for _lp_part in "${_lp_parts[@]}"; do
        case $_lp_part in
        '' | .) ;;
        ..) ((${#_lp_out[@]} == 0)) || unset '_lp_out[-1]' ;;
        *) _lp_out+=("$_lp_part") ;;
        esac
    done
    printf -v "$2" '/%s' "${_lp_out[*]}"
}

# real_path PATH VAR: `realpath -m PATH` into VAR, without running it when
# the answer is plain: a path with no ".." whose every existing component
# is no symlink is its own real path. Otherwise realpath decides.
real_path() {
    local _rp_path _rp_prefix='' _rp_part
    local -a _rp_parts
    lexical_path "$1" _rp_path
    if [[ /$1/ != */../* ]]; then
        local - IFS=/
        set -f
        # shellcheck disable=SC2206 # split on purpose, globbing off
        _rp_parts=(${_rp_path#/})
        for _rp_part in "${_rp_parts[@]}"; do
            _rp_prefix+=/$_rp_part
            [[ -L $_rp_prefix ]] && break
            [[ -e $_rp_prefix ]] || break # the rest does not exist: no symlink in it
        done
        if [[ ! -L $_rp_prefix ]]; then
            printf -v "$2" %s "$_rp_path"
            return 0
        fi
    fi
    _rp_path=$(realpath -m -- "$1") || return 1
    printf -v "$2" %s "$_rp_path"
}

# This file's directory: the other libraries are beside it. ROOT is two
# levels up (ROOT/scripts/lib, or PREFIX/lib/isokit).
lexical_path "${BASH_SOURCE[0]%/*}" ISOKIT_LIB
# shellcheck disable=SC2153 # set by lexical_path
ISOKIT_ROOT=${ISOKIT_LIB%/*/*}
ISOKIT_ROOT=${ISOKIT_ROOT:-/}
# shellcheck disable=SC2034 # ISOKIT_SCRIPTS: used by the scripts that source this file
if [[ $ISOKIT_LAYOUT == installed ]]; then
    ISOKIT_BIN=${ISOKIT_BIN:-$ISOKIT_ROOT/lib/isokit/bin}
    ISOKIT_SCRIPTS=$ISOKIT_ROOT/bin
else
    ISOKIT_BIN=${ISOKIT_BIN:-$ISOKIT_ROOT/target/bin}
    ISOKIT_SCRIPTS=$ISOKIT_ROOT/scripts
fi
# Per-container state: /run/isokit/NAME/{owner,pid,command,started,address,...}
# Without root (rootless contain), in the user's own places.
if ((EUID == 0)); then
    ISOKIT_STATE=${ISOKIT_STATE:-/run/isokit}
else
    ISOKIT_STATE=${ISOKIT_STATE:-${XDG_RUNTIME_DIR:-/tmp/isokit-$EUID}/isokit}
fi
# Images made or unpacked on first use.
if ((EUID == 0)); then
    ISOKIT_IMAGES=${ISOKIT_IMAGES:-/var/lib/isokit/images}
else
    ISOKIT_IMAGES=${ISOKIT_IMAGES:-${XDG_DATA_HOME:-$HOME/.local/share}/isokit/images}
fi
# Where the cgroup v2 hierarchy is mounted (pure v2, or hybrid's unified);
# empty when there is none. contain starts the init straight into its v2
# cgroup (cgset --leave-v2, unshare-lite --cgroup-dir) instead of moving a
# running process there, which can wait for an RCU grace period. That
# needs clone3's CLONE_INTO_CGROUP (Linux 5.7): on an older kernel, the
# old move.
if [[ ! -v ISOKIT_CGROUP2 ]]; then
    release='' major=0 minor=0
    { read -r release </proc/sys/kernel/osrelease; } 2>/dev/null || true
    # MAJOR.MINOR[.PATCH][-EXTRA], taken apart without a regular expression.
    major=${release%%.*} minor=${release#*.}
    minor=${minor%%[!0-9]*}
    [[ -n $major && $major != *[!0-9]* && -n $minor ]] || major=0 minor=0
    if ((10#$major * 1000 + 10#$minor < 5007)); then
        ISOKIT_CGROUP2=
    elif [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
        ISOKIT_CGROUP2=/sys/fs/cgroup
    elif [[ -f /sys/fs/cgroup/unified/cgroup.controllers ]]; then
        ISOKIT_CGROUP2=/sys/fs/cgroup/unified
    else
        ISOKIT_CGROUP2=
    fi
    unset release major minor
fi
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
    local fd_path fd info flags
    for fd_path in "/proc/$BASHPID/fd"/*; do
        fd=${fd_path##*/}
        ((fd > 2)) || continue
        # fdinfo's "flags:" line is octal; gone (the glob's own directory
        # fd) means nothing to close. Read whole (read -d '' stops at the
        # end, with a status of 1), then taken apart by patterns.
        info=''
        { read -r -d '' info <"/proc/$BASHPID/fdinfo/$fd"; } 2>/dev/null || true
        [[ $info == *flags:* ]] || continue
        flags=${info#*flags:}
        flags=${flags%%$'\n'*}
        flags=${flags//[[:space:]]/}
        [[ -n $flags && $flags != *[!0-7]* ]] || continue
        ((8#$flags & 8#2000000)) && continue # O_CLOEXEC: does not cross exec
        exec {fd}>&-
    done
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

# A container or network name: a letter or digit, then letters, digits,
# "_", "." or "-", at most 63 in all. Glob patterns, not =~: bash compiles
# a regular expression on every test, and {0,62} made that ~80 us here.
valid_name() {
    [[ $1 == [a-zA-Z0-9]* && $1 != *[!a-zA-Z0-9_.-]* ]] && ((${#1} <= 63))
}

# stat_fields_of PID: the fields of /proc/PID/stat after the command name
# (which may hold spaces and parentheses) into stat_fields: field N of
# proc(5) is stat_fields[N-3].
stat_fields_of() {
    local stat
    stat_fields=()
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    # Split by words, not `read <<<` (a byte per system call); globbing off
    # (restored on return), which also halves the split's cost.
    local -
    set -f
    # shellcheck disable=SC2206
    stat_fields=(${stat##*) })
}

# The start time of process $1 (field 22 of /proc/PID/stat), to tell it
# apart from a later process that reuses its PID.
# Sets start_time (no subshell: callers compare it in place).
start_time_of() {
    local -a stat_fields
    start_time=''
    stat_fields_of "$1" || return 1
    start_time=${stat_fields[19]}
}

# Is the process that owns container $1's state (contain itself, or the
# detached supervisor) still alive?
owner_alive() {
    local dir="$ISOKIT_STATE/$1" pid started
    if { read -r pid <"$dir/owner" && read -r started <"$dir/owner-start"; } 2>/dev/null &&
        start_time_of "$pid" && [[ $start_time == "$started" ]]; then
        return 0
    fi
    # contain -d hands the container to its supervisor, which rewrites the
    # two files one after the other: a look in between sees them
    # mismatched. It wrote "PID START" to successor (one file, whole)
    # before it began, so a mismatch always finds it there.
    { read -r pid started <"$dir/successor"; } 2>/dev/null && [[ -n $started ]] &&
        start_time_of "$pid" && [[ $start_time == "$started" ]]
}

# fnv1a64 TEXT VAR: the 64-bit FNV-1a hash of TEXT's bytes, as 16 hex
# digits, into VAR. A stable name for a path, computed in bash (sha256sum
# would be a program to start on every launch). The multiplication by the
# FNV prime 2^40 + 0x1b3 is done in 32-bit halves, so that no product
# overflows bash's 64-bit signed arithmetic.
fnv1a64() {
    local LC_ALL=C text=$1 i byte carry
    local hi=$((0xcbf29ce4)) lo=$((0x84222325))
    for ((i = 0; i < ${#text}; i++)); do
        printf -v byte %d "'${text:i:1}"
        # One arithmetic command, its steps in order: bash pays per command.
        ((lo ^= byte & 255, carry = lo * 0x1b3,
            hi = (hi * 0x1b3 + (carry >> 32) + (lo << 8)) & 0xffffffff,
            lo = carry & 0xffffffff)) || true
    done
    printf -v "$2" '%08x%08x' "$hi" "$lo"
}

# cgroup_name NAME VAR: the cgroup (below isokit/) of container NAME in
# this state directory, into VAR. Names are unique per state directory,
# cgroups machine-wide: the name carries a hash of the state directory's
# real path, so that a container of the same name under another
# ISOKIT_STATE never joins (and rewrites) this one's.
cgroup_name() {
    local dir hash
    real_path "$ISOKIT_STATE" dir || die "cannot resolve the state directory '$ISOKIT_STATE'"
    fnv1a64 "$dir" hash
    printf -v "$2" %s "$1.${hash:0:12}"
}

container_running() {
    owner_alive "$1" || init_pid "$1" >/dev/null
}

# load_file_builtins: mkdir and rm as bash builtins, from the loadables
# that Debian's bash-builtins package (and other distributions' bash)
# install. contain runs both on every launch (the claim, the release); as
# programs each costs 1.5-4 ms of wall time here, the start of a
# dynamically linked binary, against microseconds as builtins. Where they
# are absent the programs in PATH run, with the same options. Fixed
# directories, not BASH_LOADABLES_PATH: code loaded into a root shell must
# not come from the caller's environment.
load_file_builtins() {
    local tool dir
    for tool in mkdir rm; do
        for dir in /usr/lib/bash /usr/lib64/bash /usr/local/lib/bash; do
            if [[ -f $dir/$tool ]]; then
                enable -f "$dir/$tool" "$tool" 2>/dev/null || true
                break
            fi
        done
    done
}

# Release what container $1 held: its cgroup and its state directory,
# which also frees its address. The veth pair went away with the network
# namespace. Killed processes take a moment to leave a cgroup (rmdir says
# EBUSY meanwhile): retry for up to ~5 s; a cgroup still busy then keeps
# the state directory, so that a later prune_stale tries again rather
# than leak the cgroup for good.
release_container() {
    local name=$1 cgroup error try network='' helper='' comm='' stack
    { read -r network <"$ISOKIT_STATE/$name/network"; } 2>/dev/null || true
    # pasta or slirp4netns (--net pasta, slirp4netns) holds the container's
    # network namespace open and would outlive it when contain was killed
    # before stopping it: ended here, if the recorded PID is still that
    # program (not a reused PID).
    for stack in pasta slirp4netns; do
        if { read -r helper <"$ISOKIT_STATE/$name/$stack.pid" && read -r comm <"/proc/$helper/comm"; } 2>/dev/null &&
            [[ $comm == "$stack"* || ($stack == pasta && $comm == passt*) ]]; then
            kill "$helper" 2>/dev/null || true
        fi
    done
    # The published ports first: the container is gone, its DNAT must go
    # with it, even if the cgroup below is slow to empty. (The lock only
    # when there are ports: flock is a program to start.)
    if [[ -f $ISOKIT_STATE/$name/ports ]]; then
        need_net
        with_network_lock unpublish_ports "$name" || true
    fi
    if { read -r cgroup <"$ISOKIT_STATE/$name/cgroup"; } 2>/dev/null && [[ -n $cgroup ]]; then
        # Once quietly (the common case: removed at once), then catching
        # the reason, which takes a subshell.
        if ! "$ISOKIT_BIN/cgset" --name "$cgroup" --remove >/dev/null 2>&1; then
            for ((try = 1; ; try++)); do
                error=$("$ISOKIT_BIN/cgset" --name "$cgroup" --remove 2>&1 >/dev/null) && break
                [[ $error == *"no cgroup '"* ]] && break # gone already
                ((try < 250)) || return 1
                sleep 0.02
            done
        fi
    fi
    # On a network: removed under the network lock, which refresh_hosts
    # holds while it rewrites the hosts file of every container on it. A
    # file it made in NAME/ while rm -rf emptied it would keep NAME/, and
    # the name, from being removed (forget_container, lib/net.sh).
    if [[ -n $network ]] && need_net && with_network_lock forget_container "$name" "$network"; then
        return 0
    fi
    rm -rf "${ISOKIT_STATE:?}/$name"
}

# Remove the state of containers that are gone but were not cleaned up
# (contain killed with SIGKILL, for one), and the half-made claims
# (.claim-*, made by contain before it claimed names with a plain mkdir)
# of launches that died before renaming theirs into place.
prune_stale() {
    local dir name
    [[ -d $ISOKIT_STATE ]] || return 0
    for dir in "$ISOKIT_STATE"/*/; do
        [[ -d $dir ]] || continue
        dir=${dir%/} name=${dir##*/}
        # owner_alive once more after being_made: the first look may have
        # read the owner files of a launch that was writing them (each is
        # created empty, then written in one write(2)). If being_made found
        # both non-empty, they are whole now.
        container_running "$name" || being_made "$dir" || owner_alive "$name" || release_container "$name" || true
    done
    for dir in "$ISOKIT_STATE"/.claim-*/; do
        [[ -d $dir ]] || continue
        claim_alive "$dir" || rm -rf "$dir"
    done
}

# sources_newer_than FILE: 1 if a source file of the checkout (*/src/**,
# */Cargo.toml, Cargo.lock) is newer than FILE. Globs and test -nt,
# builtins: no find to start on every launch.
sources_newer_than() {
    local file newer=0 globstar=-u nullglob=-u
    shopt -q globstar && globstar=-s
    shopt -q nullglob && nullglob=-s
    shopt -s globstar nullglob
    for file in "$ISOKIT_ROOT"/*/src/** "$ISOKIT_ROOT"/*/Cargo.toml "$ISOKIT_ROOT/Cargo.lock"; do
        [[ $file -nt $1 ]] && { newer=1; break; }
    done
    shopt "$globstar" globstar
    shopt "$nullglob" nullglob
    return "$newer"
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
    [[ -n $stale ]] || sources_newer_than "$ISOKIT_BIN/capdrop" || stale=1
    if [[ -n $stale ]]; then
        echo "${0##*/}: building the isokit tools (scripts/build)" >&2
        "$ISOKIT_ROOT/scripts/build" || die "build failed"
    fi
}

# on_first_use FILE FUNCTION...: each FUNCTION is defined in lib/FILE,
# read when one of them is first called, not before. bash parses and
# copies every function it reads, called or not: for contain, code that
# most launches never run cost about a sixth of its time
# (docs/BENCHMARKS.md). Each FUNCTION is a stub until then: it reads
# FILE, whose definitions replace the stubs, and calls the real one. FILE
# must not `declare` at its top level (sourced from a function, that
# would make a local). A FILE missing or unreadable (a broken install) is
# the script's error, 125: the stub would otherwise call itself forever.
on_first_use() {
    local file=$1 function
    shift
    for function; do
        eval "$function() { { [[ -r \$ISOKIT_LIB/$file ]] && source \"\$ISOKIT_LIB/$file\"; } || die \"cannot read \$ISOKIT_LIB/$file (reinstall isokit)\"; $function \"\$@\"; }"
    done
}
on_first_use inspect.sh parent_of init_pid cgroup_dirs_of being_made claim_alive
on_first_use net.sh valid_ipv4 valid_container_address

# Networks and published ports live in lib/net.sh. Every script gets them
# at once, but contain, which needs them only on a bridge, sets
# ISOKIT_NET_LATER and calls need_net when it does: bash parses a file as
# it reads it, and these ~250 lines cost about a millisecond of CPU on
# every launch.
need_net() {
    # shellcheck source=scripts/lib/net.sh
    declare -F refresh_hosts >/dev/null || source "$ISOKIT_LIB/net.sh"
}
[[ -n ${ISOKIT_NET_LATER:-} ]] || need_net
