# contain's code for what most launches do not need: a registry image,
# making the built-in or a tarball image on first use, a bridge (the
# address, the bridge itself, ports and names), user-mode networking
# (slirp4netns, pasta) and -d. Read on first use (on_first_use in
# lib/common.sh): bash parses every function it reads, and these would
# cost every launch. They use contain's variables (the planner's and
# name, state, address...).
# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # contain's and the planner's variables, read and set

# --- a registry image ---------------------------------------------------------
# IMAGE is pulled as --pull says, unpacked once into the store (imgunpack:
# made aside and renamed in, shared read-only: the container writes to an
# overlay), and its configuration handed to the planner. The image tools
# print their own one-line error; contain exits 125 after it.
resolve_registry_image() {
    local ref config store=(--store "$ISOKIT_IMAGES")
    ref=$("$ISOKIT_BIN/imgpull" "${store[@]}" --print-name "$image") || exit 125
    local present=1
    "$ISOKIT_BIN/imgpull" "${store[@]}" --print-config "$ref" >/dev/null 2>&1 || present=
    case $pull in
    always) "$ISOKIT_BIN/imgpull" "${store[@]}" "$ref" >&2 || exit 125 ;;
    missing) [[ -n $present ]] || "$ISOKIT_BIN/imgpull" "${store[@]}" "$ref" >&2 || exit 125 ;;
    never) [[ -n $present ]] || die "image '$ref' is not in the store (--pull never)" ;;
    esac
    config=$("$ISOKIT_BIN/imgpull" "${store[@]}" --print-config "$ref") || exit 125
    # imgpull single-quotes every value and refuses NUL bytes: the
    # assignments are data from the image, never code.
    eval "$config"
    rootfs=$("$ISOKIT_BIN/imgunpack" "${store[@]}" "$ref") || exit 125
    stop_signal=${IMAGE_STOPSIGNAL:-}
    plan_image_config
}

# Pick an address not held by any container on the network, into address:
# under the lock, so that concurrent launches never get the same one.
allocate_address() {
    local -A used=()
    local file candidate first last taken
    for file in "$ISOKIT_STATE"/*/address; do
        # read, not $(<FILE): a container released meanwhile takes its
        # file away, and errexit would end contain on that redirection.
        taken=''
        { read -r taken <"$file"; } 2>/dev/null || true
        [[ -z $taken ]] || used[$taken]=1
    done
    if [[ -n $ip ]]; then
        [[ -z ${used[$ip]:-} ]] || die "address $ip is already in use"
        address=$ip
        return
    fi
    ip_to_int "${net_subnet%/*}" first
    first=$((first + 2))
    last=$((first - 2 + (1 << (32 - net_prefix)) - 2))
    for ((candidate = first; candidate <= last; candidate++)); do
        int_to_ip "$candidate" address
        [[ -n ${used[$address]:-} ]] || return 0
    done
    die "no free address left in $net_subnet"
}

# --- image --------------------------------------------------------------------
# The default image needs a static busybox (Debian's busybox-static): on a
# fresh machine, the first run installs it.
ensure_static_busybox() {
    local bb
    bb=$(command -v busybox || true)
    if [[ -n $bb ]] && ! ldd "$bb" >/dev/null 2>&1; then
        return 0
    fi
    command -v apt-get >/dev/null || die "the default image needs a static busybox: install busybox-static"
    echo "${0##*/}: installing busybox-static for the default image" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >&2 ||
        { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >&2; } ||
        die "cannot install busybox-static"
}

# make_image DIR KIND [ARG]: make an image once with scripts/mkrootfs. Made
# aside and renamed into place under a lock, so that concurrent first runs
# neither build it twice nor use a half-made one.
make_image() {
    local dir=$1 work
    shift
    [[ -d $dir ]] && return 0
    # 0700: an image may hold setuid files or device nodes (a tarball is
    # unpacked as root): no other host user may reach them.
    [[ -d $ISOKIT_IMAGES ]] || install -d -m 0700 "$ISOKIT_IMAGES"
    exec 8>"$ISOKIT_IMAGES/.lock"
    flock 8
    if [[ ! -d $dir && $1 == busybox ]]; then
        ensure_static_busybox
    fi
    if [[ ! -d $dir ]]; then
        work=$(mktemp -d "$ISOKIT_IMAGES/.new-XXXXXX")
        rmdir "$work"
        if ! "$ISOKIT_SCRIPTS/mkrootfs" "$@" "$work" >&2; then
            rm -rf "$work"
            die "cannot make the image ($*)"
        fi
        mv -T "$work" "$dir"
    fi
    exec 8>&-
}

# join_network: under the network lock, bring the bridge up if it is
# missing, pick the address, publish the ports, and add this container's
# name to every hosts file on the network.
join_network() {
    # netbridge (bash, ip, nft: ~20 ms) only when the bridge is missing from
    # this network namespace; /proc/net/dev is per namespace, unlike
    # /sys/class/net, which shows the namespace that mounted /sys.
    local netdev=''
    read -r -d '' netdev </proc/net/dev || true
    # Names are right-aligned to 6 columns: longer ones start the line.
    if ! [[ $netdev =~ (^|[[:space:]])$net_bridge: ]]; then
        "$ISOKIT_SCRIPTS/netbridge" up --name "$net_bridge" --subnet "$net_subnet" >/dev/null ||
            die "cannot bring up the bridge $net_bridge (scripts/netbridge up)"
    fi
    allocate_address
    write_state "$state/address" "$address"
    ((${#publish[@]} == 0)) || publish_ports "$name" "$address" "$net_bridge" "$net_subnet" "${publish[@]}"
    write_names
    ((${#aliases[@]} == 0)) || printf '%s\n' "${aliases[@]}" >"$state/aliases"
    write_state "$state/network" "$net"
    refresh_hosts "$net"
}

# start_net_helper CHAIN_PID: for --net slirp4netns or pasta, once the
# container's init exists (its pidfile), start the user-mode network stack
# from here, outside the container's namespaces, on the init's network
# namespace (and, rootless, its user namespace): a tap0 routed by the
# stack through the caller's own network. --disable-host-loopback and
# --no-map-gw: the container cannot reach the caller's 127.0.0.1.
# net_helper: its PID, for the caller to stop it.
start_net_helper() {
    [[ $net == slirp4netns || $net == pasta ]] || return 0
    command -v "$net" >/dev/null || die "--net $net needs $net (apt-get install ${net/pasta/passt})"
    [[ -r /dev/net/tun && -w /dev/net/tun ]] || die "--net $net needs read and write access to /dev/net/tun (mode 0666, as udev sets it)"
    # The init and the isokit steps inside are non-dumpable, so their
    # /proc/PID/ns stay closed to a non-root caller: the stack is given
    # the init's child once it is the container's shell waiting for tap0
    # (an exec made it dumpable, its namespaces open to their owner).
    local init='' pid='' child try
    for ((try = 0; try < 500; try++)); do
        kill -0 "$1" 2>/dev/null || return 0 # the chain failed already: it said why
        [[ -n $init ]] || { read -r init <"$state/pid"; } 2>/dev/null || true
        if [[ -n $init ]]; then
            local -a children=()
            { read -r -a children <"/proc/$init/task/$init/children"; } 2>/dev/null || true
            for child in "${children[@]}"; do
                [[ -r /proc/$child/ns/net && -r /proc/$child/ns/user ]] && pid=$child
            done
            [[ -z $pid ]] || break
        fi
        sleep 0.01
    done
    [[ -n $pid ]] || die "the container's network namespace did not appear"
    if [[ $net == pasta ]]; then
        start_pasta "$pid" || true
        return
    fi
    local userns=()
    [[ -z $rootless ]] || userns=("--userns-path=/proc/$pid/ns/user")
    slirp4netns --configure --mtu=65520 --disable-host-loopback "${userns[@]}" "$pid" tap0 >"$state/slirp4netns.log" 2>&1 </dev/null &
    net_helper=$!
    # For release_container, should this contain be killed before it
    # stops the stack: it holds the network namespace and would outlive it.
    write_state "$state/slirp4netns.pid" "$net_helper"
}

# start_pasta PID: pasta joins PID's user and network namespaces, copies
# the caller's addresses and routes onto tap0, and forwards exactly the
# published ports (-t/-u HOSTIP/HOSTPORT:CTRPORT) from the caller's
# network namespace into the container; nothing else in either direction
# (pasta's default, "auto", would follow every port the container binds
# and let it reach the caller's loopback). It returns once it is ready,
# or fails (a published port already bound on the host): then the
# container is killed before its command starts and net_failed says why.
start_pasta() {
    local -a forward=() tcp=() udp=()
    local entry proto host_ip host_port ctr_port spec
    for entry in "${publish[@]}"; do
        read -r proto host_ip host_port ctr_port <<<"$entry"
        spec=$host_port:$ctr_port
        [[ $host_ip == - ]] || spec=$host_ip/$spec
        if [[ $proto == udp ]]; then udp+=(-u "$spec"); else tcp+=(-t "$spec"); fi
    done
    ((${#tcp[@]})) || tcp=(-t none)
    ((${#udp[@]})) || udp=(-u none)
    forward=("${tcp[@]}" "${udp[@]}" -T none -U none --no-map-gw)
    if ! pasta --config-net --ns-ifname tap0 --quiet --pid "$state/pasta.pid" "${forward[@]}" "$1" \
        >"$state/pasta.log" 2>&1 </dev/null; then
        net_failed="pasta could not connect the container: $(grep -v syslog "$state/pasta.log" | tail -n 1)"
        kill -KILL "$1" 2>/dev/null || true
        return 1
    fi
    read -r net_helper <"$state/pasta.pid" || true
}

# run_detached: -d. A supervisor (a subshell, in the background, the
# container's owner from now on) runs the chain with its output in the
# log, waits for it, records its exit status and releases the container;
# contain prints the name once the init exists, and exits.
run_detached() {
    write_state "$state/log" '' -n
    (
        trap '' HUP
        # The owner changes hands. The successor file first, in one write:
        # a prune elsewhere that finds owner and owner-start mismatched
        # while they are rewritten checks it (owner_alive).
        if ! { start_time_of "$BASHPID" && echo "$BASHPID $start_time" >"$state/successor" &&
            echo "$BASHPID" >"$state/owner" && echo "$start_time" >"$state/owner-start"; } 2>/dev/null; then
            release_container "$name" || true
            exit 125
        fi
        status=0
        (exec_chain) </dev/null >>"$state/log" 2>&1 &
        chain_pid=$!
        start_net_helper "$chain_pid"
        wait "$chain_pid" || status=$?
        stop_net_helper
        if [[ -n $net_failed ]]; then
            echo "contain: $net_failed" >>"$state/log"
            status=125
        fi
        { echo "$status" >"$state/exit-status"; } 2>/dev/null || true
        release_container "$name" || true
    ) </dev/null >/dev/null 2>&1 &
    trap - EXIT
    # Report the name once the container's init exists (or it failed).
    for ((try = 0; try < 200; try++)); do
        [[ -s $state/pid || ! -d $state ]] && break
        sleep 0.01
    done
    echo "$name"
    exit 0
}
