# The planner's code for what most launches of contain do not ask for:
# --help, the rootless checks, -p, --device, --add-host and --dns
# addresses, a registry image's configuration, the bridge's veth name and
# --explain. Read on first use (on_first_use in lib/common.sh): bash
# parses every function it reads, and these would cost every launch.
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # the planner's variables, read and set

usage() {
    cat <<'HELP'
Usage: contain [OPTIONS] IMAGE [CMD [ARGS...]]
       contain [OPTIONS] -- CMD [ARGS...]

Run CMD in a new container: its own namespaces, root filesystem, cgroup and
capabilities, made by chaining the isokit tools. Options are docker run's.
IMAGE (the first word that is not an option) is pulled from its registry
on first use (imgpull) and run with its own Entrypoint, Cmd, Env,
WorkingDir and User; `--` instead means the default root (--rootfs, --tar
or the built-in busybox image).

Options:
  --name NAME           container name (unique; default: a generated one)
  --rootfs DIR          root filesystem directory (default: a busybox image,
                        made on first use with scripts/mkrootfs)
  --tar FILE            use an image tarball (docker export, minirootfs),
                        unpacked once and cached
  --pull WHEN           with IMAGE: missing (default: pull if not in the
                        store), always, or never
  --hostname NAME       hostname inside (default: the container name)
  --net, --network MODE  none (default: only lo), bridge (a veth on isokit0,
                        made with scripts/netbridge), host (no new network
                        namespace) or NAME (a network made by cnetwork create)
                        or slirp4netns or pasta (user-mode networking, also
                        without root: started from outside, as rootless
                        Podman; -p goes through pasta)
  --ip ADDR             address on the bridge (default: the first free one)
  --network-alias ALIAS another name the containers on the network resolve
  --add-host NAME:IP    a line "IP NAME" in the container's /etc/hosts
  --dns IP              a nameserver for /etc/resolv.conf (default: the
                        host's, less those on 127/8 and ::1)
  -p, --publish [IP:]HOSTPORT:CTRPORT[/tcp|/udp]
                        publish a port (or a range, 8080-8081:80-81) on the
                        host's addresses (nftables DNAT); needs a bridge,
                        a network or --net pasta (pasta forwards it)
  -v, --volume SRC:DST[:ro]   bind a host path into the container
  --tmpfs DST[:SIZE]    mount a tmpfs in the container
  --read-only           make the container's root read-only
  --overlay             writes go to a tmpfs and vanish: the image is never
                        modified (the default for the built-in and --tar
                        images; with --rootfs, writes land in DIR unless given)
  --memory SIZE         memory limit (K, M, G suffixes)
  --memory-swap SIZE    memory + swap limit
  --cpus N              CPU quota, in CPUs (0.5 = half of one)
  --pids-limit N        maximum number of processes
  --cap-add CAP         keep CAP in addition to Docker's default set (or ALL)
  --cap-drop CAP        drop CAP from the set (or ALL)
  --security-opt seccomp=unconfined|FILE
                        no seccomp filter, or a profile of your own (Docker's
                        JSON or an OCI linux.seccomp object); default: Docker's
                        profile, built into scfilter. no-new-privileges is
                        accepted (it is always on)
  --device HOST[:CTR][:PERMS]  bind the host device node HOST in (at CTR,
                        default the same path) and allow it in the device
                        cgroup with PERMS (r, w, m; default rwm)
  --privileged          TURNS OFF THE SECURITY LAYERS: every capability, no
                        seccomp filter, no device cgroup (as docker run
                        --privileged). /proc stays masked, /sys read-only
  -u, --user USER[:GROUP]  run CMD as USER (names from the image's /etc/passwd)
  -e, --env KEY=VALUE   set a variable (the environment starts clean)
  --env-file FILE       read KEY=VALUE lines from FILE
  -w, --workdir DIR     working directory inside (needs /bin/sh in the image)
  -d, --detach          run in the background; output goes to a log (clogs)
  -t, -it               CMD gets a terminal of the container's own devpts
                        (ptyrun --relay): a prompt, job control, the window
                        size followed; this terminal is raw meanwhile
  -i                    accepted: stdin is always passed on
  --rootless            the chain a non-root user gets (automatic without
                        root): a user namespace, no cgroup limits, no bridge
  --explain             print the chain, one step per line, and exit
  -h, --help            this help

Examples:
  sudo scripts/contain -- sh -c 'hostname; id; ip addr'
  sudo scripts/contain localhost:5000/web:1
  sudo scripts/contain --name web --net bridge -d -p 8080:80 -- httpd -f -p 80
  sudo scripts/contain --memory 64M --pids-limit 32 --user nobody -- sh
  sudo scripts/contain --device /dev/fuse -- ls -l /dev/fuse

Exit status: 125 if contain or a step failed, 126/127 if CMD could not be
run or was not found, otherwise CMD's own status.
HELP
}

# Without root there are no cgroups to limit nor host links to make: say
# which option needs root rather than fail halfway.
plan_check_rootless() {
    local option variable
    for option in "memory:--memory" "memory_swap:--memory-swap" "cpus:--cpus" "pids:--pids-limit"; do
        variable=${option%%:*}
        [[ -z ${!variable} ]] || usage_error "${option#*:} needs root (a cgroup limit); without root: no limits"
    done
    ((${#devices[@]} == 0)) || usage_error "--device needs root (the device cgroup)"
    case $net in
    none | host | slirp4netns | pasta) ;;
    *) usage_error "--net $net needs root (a veth on a host bridge); without root: --net none, slirp4netns, pasta or host" ;;
    esac
    ((${#publish_specs[@]} == 0)) || [[ $net == pasta ]] || usage_error "-p needs root (nftables on the host); without root: --net pasta -p"
    # A user with subordinate ranges (/etc/subuid and /etc/subgid) gets them
    # mapped as 1..N when the uidmap helpers are there (unshare-lite
    # --map-subids): chown 1000 and --user nobody then work inside.
    rootless_subids=''
    local me
    me="^($(id -un 2>/dev/null || id -u)|$(id -u)):[0-9]+:[1-9]"
    if command -v newuidmap >/dev/null && command -v newgidmap >/dev/null &&
        grep -Eq "$me" /etc/subuid 2>/dev/null && grep -Eq "$me" /etc/subgid 2>/dev/null; then
        rootless_subids=1
    fi
}

# An IPv4 address, or something shaped like an IPv6 one (hex and colons).
valid_ip() {
    valid_ipv4 "$1" || [[ $1 =~ ^[0-9a-fA-F]*:[0-9a-fA-F:]+$ ]]
}

# plan_publish [IP:]HOSTPORT[-END]:CTRPORT[-END][/tcp|/udp]: a -p, into
# publish, one "PROTO HOSTIP HOSTPORT CTRPORT" per port (HOSTIP - for
# every address of the host); a range maps port by port.
plan_publish() {
    local spec=$1 proto=tcp hostip=- ports host ctr
    [[ $spec == */* ]] && { proto=${spec##*/}; spec=${spec%/*}; }
    local bad="invalid -p '$1' ([IP:]HOSTPORT:CTRPORT[/tcp|/udp], ports 1 to 65535, ranges of one length)"
    [[ $proto == tcp || $proto == udp ]] || usage_error "$bad"
    if [[ $spec =~ ^([0-9.]+):([0-9-]+):([0-9-]+)$ ]]; then
        hostip=${BASH_REMATCH[1]} host=${BASH_REMATCH[2]} ctr=${BASH_REMATCH[3]}
        valid_ipv4 "$hostip" || usage_error "$bad"
    elif [[ $spec =~ ^([0-9-]+):([0-9-]+)$ ]]; then
        host=${BASH_REMATCH[1]} ctr=${BASH_REMATCH[2]}
    else
        usage_error "$bad"
    fi
    local range='^([1-9][0-9]{0,4})(-([1-9][0-9]{0,4}))?$' h1 h2 c1 c2
    [[ $host =~ $range ]] || usage_error "$bad"
    h1=${BASH_REMATCH[1]} h2=${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}
    [[ $ctr =~ $range ]] || usage_error "$bad"
    c1=${BASH_REMATCH[1]} c2=${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}
    ((h1 <= h2 && h2 <= 65535 && c1 <= c2 && c2 <= 65535 && h2 - h1 == c2 - c1)) || usage_error "$bad"
    local i
    for ((i = 0; i <= h2 - h1; i++)); do
        publish+=("$proto $hostip $((h1 + i)) $((c1 + i))")
    done
}

# plan_device HOST[:CTR][:PERMS]: a --device, into device_rules (cgset's
# --device-allow) and device_binds (pivot's --bind). The node's type and
# numbers are read from the host's node, as Docker does.
plan_device() {
    local host ctr perms type
    IFS=: read -r host ctr perms <<<"$1"
    # HOST:PERMS, the short form docker accepts too.
    if [[ -z $perms && $ctr =~ ^[rwm]+$ ]]; then perms=$ctr ctr=''; fi
    ctr=${ctr:-$host} perms=${perms:-rwm}
    [[ $host == /* && $ctr == /* && $perms =~ ^[rwm]{1,3}$ ]] ||
        usage_error "invalid --device '$1' (HOST[:CTR][:PERMS], absolute paths, PERMS of r, w, m)"
    if [[ -c $host ]]; then type=c; elif [[ -b $host ]]; then type=b; else
        die "--device '$host' is not a device node"
    fi
    local numbers major minor
    numbers=$(stat -L -c '%t %T' -- "$host") || die "cannot stat device '$host'"
    read -r major minor <<<"$numbers"
    device_rules+=("$type $((16#$major)):$((16#$minor)) $perms")
    device_binds+=("$(realpath "$host"):$ctr")
}

# plan_image_config: an image's own configuration, as imgpull
# --print-config gives it (IMAGE_ENTRYPOINT, IMAGE_CMD, IMAGE_ENV,
# IMAGE_WORKDIR, IMAGE_USER), under the options, as docker run does: the
# command replaces Cmd and follows Entrypoint; -e overrides Env; -w and
# --user override WorkingDir and User.
plan_image_config() {
    ((${#command[@]})) || command=("${IMAGE_CMD[@]}")
    command=("${IMAGE_ENTRYPOINT[@]}" "${command[@]}")
    ((${#command[@]})) || usage_error "no command: the image '$image' has no Entrypoint or Cmd"
    image_envs=("${IMAGE_ENV[@]}")
    [[ -n $workdir || -z $IMAGE_WORKDIR || $IMAGE_WORKDIR == / ]] || workdir=$IMAGE_WORKDIR
    [[ -n $user ]] || user=$IMAGE_USER
    overlay=1
}

# veth_name NAME VAR: a short, stable host-side veth name for container
# NAME (IFNAMSIZ is 16 with the NUL), into VAR.
veth_name() {
    if ((${#1} <= 12)); then
        printf -v "$2" %s "ve-$1"
    else
        local hash
        fnv1a64 "$1" hash
        printf -v "$2" %s "ve-${hash:0:12}"
    fi
}

# One step per line, each word quoted for the shell: paste it into sh.
plan_explain() {
    local step
    for step in chain_env chain_cgset chain_unshare chain_netns chain_pivot chain_capdrop chain_scfilter chain_pty; do
        local -n words=$step
        ((${#words[@]})) || continue
        printf '%q ' "${words[@]}"
        [[ $step == chain_env ]] && { printf '\\\n'; continue; }
        printf -- '-- \\\n'
    done
    printf '%q ' "${chain_command[@]}"
    printf '\n'
}

# plan_check's checks of --ip, --network-alias, --add-host, --dns and -p.
plan_check_network() {
    [[ -z $ip ]] || bridged_net "$net" || usage_error "--ip requires --net bridge or a network"
    # A network's subnet is known once the runner reads its record.
    [[ -z $ip || $net != bridge ]] || valid_container_address "$ip" ||
        usage_error "invalid --ip '$ip' (a host address in $ISOKIT_SUBNET_PREFIX.0.0/16 other than the gateway)"
    local item
    for item in "${aliases[@]}"; do
        valid_name "$item" || usage_error "invalid --network-alias '$item' (letters, digits, '_', '.', '-')"
    done
    ((${#aliases[@]} == 0)) || bridged_net "$net" || usage_error "--network-alias requires --net bridge or a network"
    for item in "${add_hosts[@]}"; do
        if ! [[ $item =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*:(.+)$ ]] || ! valid_ip "${BASH_REMATCH[1]}"; then
            usage_error "invalid --add-host '$item' (NAME:IP)"
        fi
    done
    for item in "${dns[@]}"; do
        valid_ip "$item" || usage_error "invalid --dns '$item' (an IP address)"
    done
    for item in "${publish_specs[@]}"; do plan_publish "$item"; done
    ((${#publish[@]} == 0)) || bridged_net "$net" || [[ $net == pasta ]] || usage_error "-p requires --net bridge, a network or --net pasta"
}

# plan_check's check of --security-opt: sets seccomp (unconfined, or the
# profile's real path).
plan_check_security_opts() {
    local opt
    for opt in "${security_opts[@]}"; do
        case $opt in
        seccomp=unconfined | seccomp:unconfined) seccomp=unconfined ;;
        seccomp=* | seccomp:*)
            seccomp=${opt#seccomp?}
            [[ -f $seccomp && -r $seccomp ]] || die "cannot read seccomp profile '$seccomp'"
            seccomp=$(realpath "$seccomp")
            ;;
        no-new-privileges | no-new-privileges[=:]true) ;;
        *) usage_error "unsupported --security-opt '$opt' (seccomp=unconfined, seccomp=FILE, no-new-privileges)" ;;
        esac
    done
}
