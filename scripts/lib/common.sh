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
    local name=$1 cgroup error try network=''
    { read -r network <"$ISOKIT_STATE/$name/network"; } 2>/dev/null || true
    # The published ports first: the container is gone, its DNAT must go
    # with it, even if the cgroup below is slow to empty.
    with_network_lock unpublish_ports "$name" || true
    if { read -r cgroup <"$ISOKIT_STATE/$name/cgroup"; } 2>/dev/null && [[ -n $cgroup ]]; then
        for try in $(seq 250); do
            error=$("$ISOKIT_BIN/cgset" --name "$cgroup" --remove 2>&1 >/dev/null) && break
            [[ $error == *"no cgroup '"* ]] && break # gone already
            ((try < 250)) || return 1
            sleep 0.02
        done
    fi
    rm -rf "${ISOKIT_STATE:?}/$name"
    # The others on its network stop resolving its name.
    [[ -z $network ]] || with_network_lock refresh_hosts "$network"
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

# --- networks (docs/NETWORKING.md) ---------------------------------------------
# A network is a bridge with a subnet. "bridge" is the default one
# (ISOKIT_BRIDGE, 10.88.0.0/16); `cnetwork create NAME` records others in
# $ISOKIT_STATE/.networks/NAME, one line "BRIDGE SUBNET". Dot-names are
# never taken for containers (valid_name starts with a letter or digit).
ISOKIT_NETWORKS=$ISOKIT_STATE/.networks
# The nftables table that holds every published port (one per network
# namespace; nothing of isokit's is written into any other table).
ISOKIT_NFT_TABLE=${ISOKIT_NFT_TABLE:-isokit}

# with_network_lock CMD...: run CMD holding $ISOKIT_STATE/.address.lock,
# the one lock for bridges, addresses, ports and hosts files.
with_network_lock() {
    local fd
    { exec {fd}>>"$ISOKIT_STATE/.address.lock"; } 2>/dev/null || return 1
    flock "$fd"
    local status=0
    "$@" || status=$?
    exec {fd}>&-
    return "$status"
}

ip_to_int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ip() {
    echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# Dotted decimal IPv4 without leading zeros (10.0.0.08 is octal to some).
valid_ipv4() {
    local octet='(0|[1-9][0-9]{0,2})' part
    [[ $1 =~ ^$octet\.$octet\.$octet\.$octet$ ]] || return 1
    for part in "${BASH_REMATCH[@]:1}"; do ((part <= 255)) || return 1; done
}

# The bridge of network $1: "isk-" and the name, or, for a name too long
# for IFNAMSIZ (15 characters), 11 hex digits of its hash.
network_bridge_name() {
    if ((${#1} <= 11)); then
        echo "isk-$1"
    else
        local hash
        hash=$(printf %s "$1" | sha256sum)
        echo "isk-${hash:0:11}"
    fi
}

# network_info NAME: net_bridge, net_subnet (CIDR), net_prefix and
# net_gateway (the subnet's first host) of a network; 1 if unknown.
# shellcheck disable=SC2034 # net_*: read by the caller
network_info() {
    local line
    if [[ $1 == bridge ]]; then
        net_bridge=$ISOKIT_BRIDGE net_subnet=$ISOKIT_SUBNET_PREFIX.0.0/16
    else
        { read -r line <"$ISOKIT_NETWORKS/$1"; } 2>/dev/null || return 1
        read -r net_bridge net_subnet <<<"$line"
        [[ -n $net_bridge && $net_subnet == */* ]] || return 1
    fi
    net_prefix=${net_subnet#*/}
    net_gateway=$(int_to_ip $(($(ip_to_int "${net_subnet%/*}") + 1)))
}

# Is $1 a host address of subnet $2, other than its gateway (first host)?
address_in_subnet() {
    local ip=$1 net=${2%/*} prefix=${2#*/} value base mask
    valid_ipv4 "$ip" || return 1
    value=$(ip_to_int "$ip") base=$(ip_to_int "$net")
    mask=$(((0xffffffff << (32 - prefix)) & 0xffffffff))
    (((value & mask) == base)) || return 1
    local host=$((value & ~mask & 0xffffffff))
    ((host > 1 && host != (~mask & 0xffffffff)))
}

# The state directories of the containers on network $1, one a line.
containers_on() {
    local dir network
    for dir in "$ISOKIT_STATE"/*/; do
        { read -r network <"$dir/network"; } 2>/dev/null || continue
        [[ $network == "$1" && -s $dir/address ]] && echo "${dir%/}"
    done
}

# refresh_hosts NETWORK: rewrite the /etc/hosts of every container on
# NETWORK: its own lines (hosts.own) and one line per other container on
# it, "ADDRESS NAME ALIASES...". Written in place, never renamed: each
# file is bound into its container, and a bind follows the inode.
refresh_hosts() {
    local dir address aliases i j
    local -a dirs lines
    mapfile -t dirs < <(containers_on "$1")
    for dir in "${dirs[@]}"; do
        address=$(<"$dir/address") aliases=$(cat "$dir/aliases" 2>/dev/null || true)
        lines+=("$address	${dir##*/}${aliases:+ ${aliases//$'\n'/ }}")
    done
    local text
    for i in "${!dirs[@]}"; do
        text=$(<"${dirs[i]}/hosts.own")$'\n'"# containers on network $1"$'\n'
        for j in "${!dirs[@]}"; do ((i == j)) || text+=${lines[j]}$'\n'; done
        # One write: a resolver reading meanwhile sees the old or new file
        # (or, rarely, the start of the new one), never a mixture.
        { printf %s "$text" >"${dirs[i]}/hosts"; } 2>/dev/null || true
    done
}

# --- published ports -----------------------------------------------------------
# One table for the whole kit: a published port is one element of a map,
# so that adding or removing a container's ports never rewrites a rule.
#   publish     proto . port           -> container address . port
#   publish_ip  host IP . proto . port -> container address . port
#   bridges     bridges whose 127/8 clients are masqueraded (localhost)
#   hairpin     subnet . bridge: a container reaching a published port of
#               a container on its own bridge, masqueraded so that the
#               answer comes back through the host (iifname is unknown
#               in postrouting: the source subnet stands for it)
# route_localnet is set on those bridges only (so that 127.0.0.1:PORT can
# be DNATed out of them), and the guard chain drops what that would let
# in: a packet for 127/8 that did not arrive on lo (CVE-2020-8558).
nft_table_text() {
    cat <<NFT
table ip $ISOKIT_NFT_TABLE {
    map publish { type inet_proto . inet_service : ipv4_addr . inet_service; }
    map publish_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
    set bridges { type ifname; }
    set hairpin { type ipv4_addr . ifname; flags interval; }
    chain guard {
        type filter hook prerouting priority raw; policy accept;
        iifname != "lo" ip daddr 127.0.0.0/8 drop
    }
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        fib daddr type local goto publish
    }
    chain output {
        type nat hook output priority -100; policy accept;
        fib daddr type local goto publish
    }
    chain publish {
        dnat ip to ip daddr . meta l4proto . th dport map @publish_ip
        dnat ip to meta l4proto . th dport map @publish
    }
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ct status dnat ip saddr 127.0.0.0/8 oifname @bridges masquerade
        ct status dnat ip saddr . oifname @hairpin masquerade
    }
}
NFT
}

# The container holding host port $2/$1 (PROTO PORT) on host address $3
# ('' = every address), if any but $4.
port_holder() {
    local file proto hostip hostport ctrport
    for file in "$ISOKIT_STATE"/*/ports; do
        [[ -f $file && ${file%/ports} != "$ISOKIT_STATE/$4" ]] || continue
        while read -r proto hostip hostport ctrport; do
            [[ $hostip == - ]] && hostip=''
            [[ $proto == "$1" && $hostport == "$2" ]] || continue
            [[ -z $hostip || -z $3 || $hostip == "$3" ]] || continue
            local holder=${file%/ports}
            echo "${holder##*/}"
            return 0
        done <"$file"
    done
    return 1
}

# publish_ports NAME ADDRESS BRIDGE SUBNET SPEC...: reserve each "PROTO
# HOSTIP HOSTPORT CTRPORT" (HOSTIP - for all) for container NAME, on BRIDGE
# with SUBNET, and add its DNAT.
# Called with the network lock held. Refuses a port another container holds.
publish_ports() {
    local name=$1 address=$2 bridge=$3 subnet=$4 spec proto hostip hostport ctrport holder
    shift 4
    for spec in "$@"; do
        read -r proto hostip hostport ctrport <<<"$spec"
        [[ $hostip == - ]] && hostip=''
        if holder=$(port_holder "$proto" "$hostport" "$hostip" "$name"); then
            die "host port ${hostip:+$hostip:}$hostport/$proto is already published by container '$holder'"
        fi
    done
    # Written before the rules: a launch killed midway leaves a file that
    # prune_stale reads to remove whatever part of the rules was made.
    printf '%s\n' "$@" >"$ISOKIT_STATE/$name/ports" 2>/dev/null ||
        die "cannot write '$ISOKIT_STATE/$name/ports': $(why_unwritable "$ISOKIT_STATE/$name/ports")"
    local error elements='' elements_ip=''
    if ! nft list table ip "$ISOKIT_NFT_TABLE" >/dev/null 2>&1; then
        error=$(nft_table_text | nft -f - 2>&1) || die "cannot create the nftables table '$ISOKIT_NFT_TABLE': ${error%%$'\n'*}"
    fi
    for spec in "$@"; do
        read -r proto hostip hostport ctrport <<<"$spec"
        if [[ $hostip == - ]]; then
            elements+="${elements:+, }$proto . $hostport : $address . $ctrport"
        else
            elements_ip+="${elements_ip:+, }$hostip . $proto . $hostport : $address . $ctrport"
        fi
    done
    {
        [[ -z $elements ]] || echo "create element ip $ISOKIT_NFT_TABLE publish { $elements }"
        [[ -z $elements_ip ]] || echo "create element ip $ISOKIT_NFT_TABLE publish_ip { $elements_ip }"
        echo "add element ip $ISOKIT_NFT_TABLE bridges { \"$bridge\" }"
        echo "add element ip $ISOKIT_NFT_TABLE hairpin { $subnet . \"$bridge\" }"
    } >"$ISOKIT_STATE/$name/ports.nft"
    error=$(nft -f "$ISOKIT_STATE/$name/ports.nft" 2>&1) || die "cannot publish the ports of '$name': ${error%%$'\n'*}"
    # localhost:PORT is DNATed out of the bridge: the kernel routes a 127/8
    # source there only with route_localnet, on this bridge alone.
    { echo 1 >"/proc/sys/net/ipv4/conf/$bridge/route_localnet"; } 2>/dev/null ||
        die "cannot set route_localnet on '$bridge'"
}

# unpublish_ports NAME: remove container NAME's map elements (what its
# ports file lists), in one nft transaction; if that fails (an element
# already gone), one at a time, ignoring the missing. The table goes too
# once no port is left in it.
unpublish_ports() {
    local file=$ISOKIT_STATE/$1/ports proto hostip hostport ctrport
    [[ -f $file ]] || return 0
    local -a deletes=()
    while read -r proto hostip hostport ctrport; do
        if [[ $hostip == - ]]; then
            deletes+=("delete element ip $ISOKIT_NFT_TABLE publish { $proto . $hostport }")
        else
            deletes+=("delete element ip $ISOKIT_NFT_TABLE publish_ip { $hostip . $proto . $hostport }")
        fi
    done <"$file"
    if ! printf '%s\n' "${deletes[@]}" | nft -f - 2>/dev/null; then
        local delete
        for delete in "${deletes[@]}"; do
            # shellcheck disable=SC2086 # the words of one nft command
            nft $delete 2>/dev/null || true
        done
    fi
    rm -f "$file"
    # Ports left: elements in either map (the sets bridges and hairpin
    # keep theirs, and go with the table).
    local table line in_map=''
    table=$(nft list table ip "$ISOKIT_NFT_TABLE" 2>/dev/null) || return 0
    while IFS= read -r line; do
        case $line in
        *"map publish {"* | *"map publish_ip {"*) in_map=1 ;;
        *"set "* | *"chain "*) in_map='' ;;
        *elements*) [[ -z $in_map ]] || return 0 ;;
        esac
    done <<<"$table"
    nft delete table ip "$ISOKIT_NFT_TABLE" 2>/dev/null || true
}
