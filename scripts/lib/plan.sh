# The planner of scripts/contain: options in, the chain out. Pure: it
# reads the options (and, for --tar, the tarball's digest), never the
# state directory, never writes, needs no root. So `contain --explain`
# runs as any user, and tests/contain-plan.bats compares its chain with
# golden files (tests/contain-plan/).
#
#   plan_options "$@"   parse the options into the variables below
#   plan_check          refuse a bad value before anything is made
#   plan_image          which root filesystem (and, later, an image's
#                       default command, env, workdir, user): one place
#   plan_chain ADDRESS  the chain_* arrays, from the options and what the
#                       runner resolved (ADDRESS: the bridge address)
#   plan_explain        the chain, one step per line, shell-quoted
#   plan_words          the whole chain as one command line, chain_words
#
# Adding an option: a case line in plan_options, a check in plan_check if
# its value can be wrong, a line in the step of plan_chain it feeds.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are read by scripts/contain

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


name='' rootfs='' tar='' image='' pull=missing tty='' hostname='' net=none ip='' readonly='' overlay='' workdir='' detach='' explain=''
memory='' memory_swap='' cpus='' pids='' user='' privileged='' seccomp=default rootless=''
volumes=() tmpfses=() cap_add=() cap_drop=() envs=() image_envs=() security_opts=() devices=()
aliases=() add_hosts=() dns=() publish_specs=() publish=()
# The network the runner resolved (network_info): bridge, prefix, gateway.
net_bridge='' net_prefix='' net_gateway=''

need_value() {
    [[ $# -ge 2 ]] || usage_error "option '$1' needs a value"
}

# plan_options ARGS...: the options into the variables above; the command
# into command=().
plan_options() {
    while (($#)); do
        case $1 in
        -h | --help) usage; exit 0 ;;
        --name) need_value "$@"; name=$2; shift ;;
        --rootfs) need_value "$@"; rootfs=$2; shift ;;
        --tar) need_value "$@"; tar=$2; shift ;;
        --pull) need_value "$@"; pull=$2; shift ;;
        --hostname) need_value "$@"; hostname=$2; shift ;;
        --net | --network) need_value "$@"; net=$2; shift ;;
        --ip) need_value "$@"; ip=$2; shift ;;
        --network-alias) need_value "$@"; aliases+=("$2"); shift ;;
        --add-host) need_value "$@"; add_hosts+=("$2"); shift ;;
        --dns) need_value "$@"; dns+=("$2"); shift ;;
        -p | --publish) need_value "$@"; publish_specs+=("$2"); shift ;;
        -v | --volume) need_value "$@"; volumes+=("$2"); shift ;;
        --tmpfs) need_value "$@"; tmpfses+=("$2"); shift ;;
        --read-only) readonly=1 ;;
        --overlay) overlay=1 ;;
        --memory | -m) need_value "$@"; memory=$2; shift ;;
        --memory-swap) need_value "$@"; memory_swap=$2; shift ;;
        --cpus) need_value "$@"; cpus=$2; shift ;;
        --pids-limit) need_value "$@"; pids=$2; shift ;;
        --cap-add) need_value "$@"; cap_add+=("$2"); shift ;;
        --cap-drop) need_value "$@"; cap_drop+=("$2"); shift ;;
        --security-opt) need_value "$@"; security_opts+=("$2"); shift ;;
        --device) need_value "$@"; devices+=("$2"); shift ;;
        --privileged) privileged=1 ;;
        -u | --user) need_value "$@"; user=$2; shift ;;
        -e | --env) need_value "$@"; envs+=("$2"); shift ;;
        --env-file)
            need_value "$@"
            # A regular file or a pipe (<(...)): a device such as /dev/zero
            # would be read forever, a directory not at all.
            [[ (-f $2 || -p $2) && -r $2 ]] || die "cannot read env file '$2': not a readable file or pipe"
            line=''
            while IFS= read -r line || [[ -n $line ]]; do
                [[ -z $line || $line == \#* ]] && continue
                envs+=("$line")
            done <"$2"
            shift
            ;;
        -w | --workdir) need_value "$@"; workdir=$2; shift ;;
        -d | --detach) detach=1 ;;
        -t | -it | -ti | --tty) tty=1 ;;
        -i | --interactive) ;;
        --explain) explain=1 ;;
        --rootless) rootless=1 ;;
        --) shift; break ;;
        -*) usage_error "unrecognized option '$1'" ;;
        *) image=$1; shift; break ;;
        esac
        shift
    done
    # With an IMAGE the command may be empty (the image's Cmd); after --
    # there is no image, so there must be a command.
    [[ -n $image || $# -gt 0 ]] || usage_error "missing command to run"
    command=("$@")
}

# Refuse every bad option before anything is created.
plan_check() {
    [[ -z $name ]] || valid_name "$name" || usage_error "invalid name '$name' (letters, digits, '_', '.', '-'; at most 63)"
    [[ -z $rootfs || -z $tar ]] || usage_error "--rootfs and --tar are mutually exclusive"
    [[ -z $image || -z $rootfs$tar ]] || usage_error "an IMAGE and --rootfs or --tar are mutually exclusive"
    case $pull in missing | always | never) ;; *) usage_error "invalid --pull '$pull' (missing, always, never)" ;; esac
    case $net in
    none | bridge | host | slirp4netns | pasta) ;;
    *) valid_name "$net" || usage_error "invalid --net '$net' (none, bridge, host, or a network made by cnetwork create)" ;;
    esac
    [[ -z $rootless ]] || plan_check_rootless
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
    for env in "${envs[@]}"; do
        [[ $env =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage_error "invalid environment entry '$env' (KEY=VALUE)"
    done
    for volume in "${volumes[@]}"; do
        IFS=: read -r src dst mode <<<"$volume"
        [[ -n $src && $dst == /* && ( -z $mode || $mode == ro || $mode == rw ) ]] || usage_error "invalid volume '$volume' (SRC:/DST[:ro])"
        [[ -e $src ]] || die "volume source '$src' does not exist"
    done
    [[ -z $workdir || $workdir == /* ]] || usage_error "--workdir must be an absolute path"
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
    local device
    device_rules=() device_binds=()
    for device in "${devices[@]}"; do
        plan_device "$device"
    done
    hostname=${hostname:-$name}
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

# bridged_net MODE: a veth on a bridge (the default one or a cnetwork
# network), as opposed to none, host and the user-mode stacks.
bridged_net() {
    case $1 in none | host | slirp4netns | pasta) return 1 ;; esac
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

# Which root filesystem: sets rootfs (absolute), image_kind (busybox, tar:
# made once in ISOKIT_IMAGES by scripts/mkrootfs; dir: --rootfs as given)
# and image_args (mkrootfs's). A shared image is never written: overlay.
plan_image() {
    image_kind=dir image_args=()
    if [[ -n $image ]]; then
        # The runner pulls and unpacks it (resolve_registry_image), then
        # plan_image_config takes its configuration.
        image_kind=registry
    elif [[ -n $tar ]]; then
        [[ -r $tar ]] || die "cannot read image tarball '$tar'"
        local digest
        digest=$(sha256sum "$tar") || die "cannot read image tarball '$tar'"
        rootfs=$ISOKIT_IMAGES/tar-${digest:0:16}
        image_kind=tar image_args=(tar "$tar")
    elif [[ -z $rootfs ]]; then
        rootfs=$ISOKIT_IMAGES/busybox
        image_kind=busybox image_args=(busybox)
    fi
    [[ $image_kind == dir ]] || overlay=1
    [[ $image_kind == registry ]] || real_path "$rootfs" rootfs || die "cannot resolve '$rootfs'"
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

# plan_chain ADDRESS: the chain for the container, as chain_env,
# chain_cgset, chain_unshare, chain_netns, chain_pivot, chain_capdrop and
# chain_command; capdrop_args (for cexec, see docs/STATE.md). Uses name,
# cgroup and state (the runner's).
plan_chain() {
    local address=$1
    chain_env=(env -i --default-signal)
    chain_env+=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "HOSTNAME=$hostname" HOME=/root)
    # An image's Env comes after the defaults (its PATH wins), -e after it.
    chain_env+=("${image_envs[@]}")
    [[ -t 0 && -n ${TERM:-} ]] && chain_env+=("TERM=$TERM")
    [[ -n ${ISOKIT_TRACE:-} ]] && chain_env+=("ISOKIT_TRACE=$ISOKIT_TRACE")
    chain_env+=("${envs[@]}")

    if [[ -n $rootless ]]; then
        chain_cgset=() # no cgroup step without root
    else
        plan_chain_cgset
    fi

    # --new-session: CMD must not hold this terminal as its controlling tty
    # (it could type into the caller's shell with TIOCSTI). Without root, a
    # user namespace first, the caller mapped to root inside.
    chain_unshare=("$ISOKIT_BIN/unshare-lite")
    [[ -z $rootless ]] || chain_unshare+=(--user "$([[ -n ${rootless_subids:-} ]] && echo --map-subids || echo --map-root)")
    chain_unshare+=(--mount --uts --ipc --pid --cgroup --new-session)
    # The init is cloned into the v2 cgroup cgset made and left (--leave-v2).
    [[ -n $rootless || -z $ISOKIT_CGROUP2 ]] || chain_unshare+=(--cgroup-dir "$ISOKIT_CGROUP2/isokit/$cgroup")
    [[ $net != host ]] && chain_unshare+=(--net)
    chain_unshare+=(--hostname "$hostname" --pidfile "$state/pid")

    chain_netns=()
    case $net in
    host) ;;
    none | slirp4netns | pasta) chain_netns=("$ISOKIT_BIN/netns-setup") ;;
    *)
        local veth
        veth_name "$name" veth
        chain_netns=("$ISOKIT_BIN/netns-setup" --veth "$veth" --bridge "$net_bridge"
            --addr "$address/$net_prefix" --gateway "$net_gateway")
        ;;
    esac
    # As Docker: every group may open ICMP echo sockets in the container's
    # own namespace, so that ping works without CAP_NET_RAW. Rootless, the
    # range must be mapped in the user namespace, which maps gid 0 alone.
    local groups='0 2147483647'
    [[ -z $rootless ]] || groups='0 0'
    [[ $net == host ]] || chain_netns+=(--sysctl "net.ipv4.ping_group_range=$groups")
    plan_chain_rest
}

# The cgroup step: limits and the device cgroup.
plan_chain_cgset() {
    chain_cgset=("$ISOKIT_BIN/cgset" --name "$cgroup")
    [[ -z $ISOKIT_CGROUP2 ]] || chain_cgset+=(--leave-v2)
    [[ -n $memory ]] && chain_cgset+=(--memory "$memory")
    [[ -n $memory_swap ]] && chain_cgset+=(--memory-swap "$memory_swap")
    [[ -n $cpus ]] && chain_cgset+=(--cpus "$cpus")
    [[ -n $pids ]] && chain_cgset+=(--pids "$pids")
    # The device cgroup: Docker's default rules, and each --device.
    if [[ -z $privileged ]]; then
        chain_cgset+=(--devices default)
        local rule
        for rule in "${device_rules[@]}"; do chain_cgset+=(--device-allow "$rule"); done
    fi

}

# The steps from pivot on.
plan_chain_rest() {
    chain_pivot=("$ISOKIT_BIN/pivot")
    [[ -n $overlay ]] && chain_pivot+=(--tmp-overlay)
    [[ -n $readonly ]] && chain_pivot+=(--ro)
    local volume src rest
    for volume in "${volumes[@]}"; do
        src=${volume%%:*} rest=${volume#*:}
        chain_pivot+=(--bind "$(realpath "$src"):$rest")
    done
    for volume in "${tmpfses[@]}"; do chain_pivot+=(--tmpfs "$volume"); done
    for volume in "${device_binds[@]}"; do chain_pivot+=(--bind "$volume"); done
    # The name files, per container, bound over the image's (never
    # written into it); the runner keeps hosts current (docs/NETWORKING.md).
    local file
    for file in hostname hosts resolv.conf; do chain_pivot+=(--bind "$state/$file:/etc/$file:ro"); done
    # A profile of the user's is read by scfilter after the root switch:
    # bound in read-only beside the tools.
    [[ $seccomp == /* ]] && chain_pivot+=(--bind "$seccomp:/dev/.isokit-seccomp.json:ro")
    # cexec runs capdrop inside the container: the tools are bound
    # read-only into the container's private /dev tmpfs, not the image.
    chain_pivot+=(--bind "$ISOKIT_BIN:/dev/.isokit:ro")
    chain_pivot+=(--next-from-host "$rootfs")

    chain_capdrop=("$ISOKIT_BIN/capdrop")
    capdrop_args=()
    # "default" is capdrop's own default set (Docker's): the
    # list lives in capdrop alone.
    local cap keep=default
    [[ -n $privileged ]] && keep=all
    for cap in "${cap_add[@]}"; do
        if [[ ${cap^^} == ALL ]]; then keep=all; elif [[ $keep != all ]]; then keep+=",$cap"; fi
    done
    for cap in "${cap_drop[@]}"; do
        if [[ ${cap^^} == ALL ]]; then keep=none; else capdrop_args+=(--drop "$cap"); fi
    done
    if ((${#cap_add[@]} || ${#cap_drop[@]})) || [[ -n $privileged ]]; then
        capdrop_args=(--keep "$keep" "${capdrop_args[@]}")
    fi
    [[ -n $user ]] && capdrop_args+=(--user "$user")
    chain_capdrop+=("${capdrop_args[@]}")

    # The seccomp filter comes last, after capdrop set no_new_privs and
    # chose the capabilities its rules depend on; it runs from the tools
    # bound read-only at /dev/.isokit. scfilter_args is kept for cexec.
    chain_scfilter=() scfilter_args=()
    if [[ -z $privileged && $seccomp != unconfined ]]; then
        [[ $seccomp == /* ]] && scfilter_args=(--profile /dev/.isokit-seccomp.json)
        chain_scfilter=(/dev/.isokit/scfilter "${scfilter_args[@]}")
    fi
    # The terminal relay runs last, with the container's user,
    # capabilities and filter: it holds the caller's terminal, CMD only
    # the inner one.
    chain_pty=()
    [[ -n $tty ]] && chain_pty=(/dev/.isokit/ptyrun --relay)

    chain_command=("${command[@]}")
    if [[ -n $workdir ]]; then
        # shellcheck disable=SC2016 # expanded by the container's sh
        chain_command=(/bin/sh -c 'cd "$1" || exit 125; shift; exec "$@"' isokit-workdir "$workdir" "${chain_command[@]}")
    fi
    if [[ $net == slirp4netns || $net == pasta ]]; then
        # The user-mode stack is started from outside once the namespace
        # exists (by the runner): CMD waits, up to 5 s, for tap0's default
        # route, which the stack adds once the address is set.
        # shellcheck disable=SC2016 # expanded by the container's sh
        chain_command=(/bin/sh -c 'i=0; until grep -q "^tap0[[:space:]]00000000" /proc/net/route; do i=$((i + 1)); [ $i -lt 500 ] || { echo "contain: $0 did not bring tap0 up" >&2; exit 125; }; sleep 0.01; done; exec "$@"' "$net" "${chain_command[@]}")
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

# The whole chain as one command line, in chain_words.
plan_words() {
    chain_words=("${chain_env[@]}")
    ((${#chain_cgset[@]})) && chain_words+=("${chain_cgset[@]}" --)
    chain_words+=("${chain_unshare[@]}" --)
    ((${#chain_netns[@]})) && chain_words+=("${chain_netns[@]}" --)
    chain_words+=("${chain_pivot[@]}" -- "${chain_capdrop[@]}" --)
    ((${#chain_scfilter[@]})) && chain_words+=("${chain_scfilter[@]}" --)
    ((${#chain_pty[@]})) && chain_words+=("${chain_pty[@]}" --)
    chain_words+=("${chain_command[@]}")
}
