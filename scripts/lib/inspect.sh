# A container's processes as the kernel shows them: its init's host PID
# and its cgroups; and whether a state directory without a live owner is
# still being made. For cps, ckill, cexec, cpause and ccompose, and for
# contain only when it prunes a container whose owner is gone: read on
# first use (on_first_use in common.sh), not on every launch.
# shellcheck shell=bash
# shellcheck disable=SC2154 # start_time: set by start_time_of (common.sh)

# The parent of process $1 (field 4 of /proc/PID/stat), into parent.
parent_of() {
    local -a stat_fields
    parent=''
    stat_fields_of "$1" || return 1
    parent=${stat_fields[1]}
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
    if [[ -z $cgroup ]]; then
        # Without root there is no cgroup of isokit's: the init is the
        # child of the launcher started with --pidfile naming this
        # container's pid file (the same file: -ef), which rules out a
        # reused PID, whether its owner is alive or was killed (the
        # launcher then runs on, and so does the container).
        local parent pidfile='' word
        parent_of "$pid" || return 1
        local -a words=()
        { mapfile -d '' -t words <"/proc/$parent/cmdline"; } 2>/dev/null || return 1
        for word in "${words[@]}"; do
            [[ $pidfile == next ]] && { pidfile=$word; break; }
            [[ $word == --pidfile ]] && pidfile=next
        done
        [[ -n $pidfile && $pidfile != next && $pidfile -ef $ISOKIT_STATE/$1/pid ]] || return 1
        echo "$pid"
        return 0
    fi
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
    # read, not $(<FILE): if the process is gone, that redirection would
    # end the calling script under errexit even after ||.
    lines=''
    { IFS= read -r -d '' lines <"/proc/$pid/cgroup"; } 2>/dev/null || true
    [[ -n $lines ]] || return 1
    lines=${lines%$'\n'}
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

# Is directory $1 (a container's, or a claim) still being made? contain
# writes its owner right after mkdir: a directory without an owner is
# only being made if it is new (under a minute old). find runs only in
# that rare case.
being_made() {
    [[ ! -s $1/owner || ! -s $1/owner-start ]] || return 1
    [[ -n $(find "$1" -maxdepth 0 -mmin -1 2>/dev/null) ]]
}

# Is the launch that made claim directory $1 still alive?
claim_alive() {
    local dir=$1 pid started
    if { read -r pid <"$dir/owner" && read -r started <"$dir/owner-start"; } 2>/dev/null; then
        start_time_of "$pid" && [[ $start_time == "$started" ]]
    else
        being_made "$dir"
    fi
}
