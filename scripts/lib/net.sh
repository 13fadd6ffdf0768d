# Networks (bridges, subnets, addresses, hosts files) and published ports,
# for scripts/contain, cnetwork and the release of a container: sourced by
# common.sh (need_net, or on the first call of valid_ipv4 or
# valid_container_address), never on its own.
# shellcheck shell=bash

# --- networks (docs/NETWORKING.md) ---------------------------------------------
# A network is a bridge with a subnet. "bridge" is the default one
# (ISOKIT_BRIDGE, 10.88.0.0/16); `cnetwork create NAME` records others in
# $ISOKIT_STATE/.networks/NAME, one line "BRIDGE SUBNET". Dot-names are
# never taken for containers (valid_name starts with a letter or digit).
ISOKIT_NETWORKS=$ISOKIT_STATE/.networks
# The nftables table that holds every published port (one per network
# namespace; nothing of isokit's is written into any other table).
ISOKIT_NFT_TABLE=${ISOKIT_NFT_TABLE:-isokit}

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

# Dotted decimal IPv4 without leading zeros (10.0.0.08 is octal to some).
valid_ipv4() {
    local octet='(0|[1-9][0-9]{0,2})' part
    [[ $1 =~ ^$octet\.$octet\.$octet\.$octet$ ]] || return 1
    for part in "${BASH_REMATCH[@]:1}"; do ((part <= 255)) || return 1; done
}

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

# ip_to_int IP [VAR], int_to_ip N [VAR]: printed, or into VAR (no
# subshell: contain converts on every launch on a bridge).
ip_to_int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    printf -v "${2:-a}" %d $(((a << 24) | (b << 16) | (c << 8) | d))
    [[ -n ${2:-} ]] || echo "$a"
}

int_to_ip() {
    local _ip
    printf -v _ip %d.%d.%d.%d $((($1 >> 24) & 255)) $((($1 >> 16) & 255)) $((($1 >> 8) & 255)) $(($1 & 255))
    if [[ -n ${2:-} ]]; then printf -v "$2" %s "$_ip"; else echo "$_ip"; fi
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
    local base
    ip_to_int "${net_subnet%/*}" base
    int_to_ip $((base + 1)) net_gateway
}

# Is $1 a host address of subnet $2, other than its gateway (first host)?
address_in_subnet() {
    local ip=$1 net=${2%/*} prefix=${2#*/} value base mask
    valid_ipv4 "$ip" || return 1
    ip_to_int "$ip" value
    ip_to_int "$net" base
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
    local dir address own aliases i j
    local -a found dirs=() owns=() lines=()
    mapfile -t found < <(containers_on "$1")
    for dir in "${found[@]}"; do
        # A container whose files are gone is left out, without a word (its
        # release holds this lock, but a half-made or pruned one may lack
        # them). read, not $(<FILE): under
        # errexit bash exits when that redirection fails, even after ||.
        address='' own='' aliases=''
        { IFS= read -r address <"$dir/address"; } 2>/dev/null || true
        { IFS= read -r -d '' own <"$dir/hosts.own"; } 2>/dev/null || true
        [[ -n $address && -n $own ]] || continue
        { IFS= read -r -d '' aliases <"$dir/aliases"; } 2>/dev/null || true
        # As $(<FILE): without the trailing newlines.
        while [[ $own == *$'\n' ]]; do own=${own%$'\n'}; done
        while [[ $aliases == *$'\n' ]]; do aliases=${aliases%$'\n'}; done
        dirs+=("$dir") owns+=("$own")
        lines+=("$address	${dir##*/}${aliases:+ ${aliases//$'\n'/ }}")
    done
    local text
    for i in "${!dirs[@]}"; do
        text=${owns[i]}$'\n'"# containers on network $1"$'\n'
        for j in "${!dirs[@]}"; do ((i == j)) || text+=${lines[j]}$'\n'; done
        # One write: a resolver reading meanwhile sees the old or new file
        # (or, rarely, the start of the new one), never a mixture.
        { printf %s "$text" >"${dirs[i]}/hosts"; } 2>/dev/null || true
    done
}

# forget_container NAME NETWORK, under the network lock (release_container):
# remove NAME's state; the others on NETWORK stop resolving its name.
forget_container() {
    rm -rf "${ISOKIT_STATE:?}/$1"
    refresh_hosts "$2"
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
