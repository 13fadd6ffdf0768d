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
# its value can be wrong, a line in the step of plan_chain it feeds. What
# most launches do not use (--help, rootless, -p, --device, a registry
# image, --explain...) is in lib/plan-extra.sh, read on first use.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are read by scripts/contain

on_first_use plan-extra.sh usage plan_check_rootless plan_check_network plan_check_security_opts \
    valid_ip plan_publish plan_device plan_image_config veth_name plan_explain

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
    # The network options and --security-opt, when given: plan-extra.sh.
    [[ -z $ip && ${#aliases[@]} -eq 0 && ${#add_hosts[@]} -eq 0 && ${#dns[@]} -eq 0 &&
        ${#publish_specs[@]} -eq 0 ]] || plan_check_network
    for env in "${envs[@]}"; do
        [[ $env =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage_error "invalid environment entry '$env' (KEY=VALUE)"
    done
    for volume in "${volumes[@]}"; do
        IFS=: read -r src dst mode <<<"$volume"
        [[ -n $src && $dst == /* && ( -z $mode || $mode == ro || $mode == rw ) ]] || usage_error "invalid volume '$volume' (SRC:/DST[:ro])"
        [[ -e $src ]] || die "volume source '$src' does not exist"
    done
    [[ -z $workdir || $workdir == /* ]] || usage_error "--workdir must be an absolute path"
    ((${#security_opts[@]} == 0)) || plan_check_security_opts
    local device
    device_rules=() device_binds=()
    for device in "${devices[@]}"; do
        plan_device "$device"
    done
    hostname=${hostname:-$name}
}

# bridged_net MODE: a veth on a bridge (the default one or a cnetwork
# network), as opposed to none, host and the user-mode stacks.
bridged_net() {
    case $1 in none | host | slirp4netns | pasta) return 1 ;; esac
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
