# cgroup helpers for the bats suites (`load cgroup` after `load helpers`).
#
# They find cgroup files the way the kernel lays them out on the machine
# the suite runs on, v1, v2 or hybrid, never from fixed paths: a controller
# is on v1 when a v1 hierarchy is mounted with it (the kernel then keeps it
# off v2), otherwise on v2. Paths come from /proc/self/mountinfo and
# /proc/self/cgroup of the process that calls them, so a command run by
# cgset can call them on itself: pass them in with "$CG_FUNCS".

# cg_find_mount TYPE [CONTROLLER]: "ROOT MOUNTPOINT" of the first mount of
# filesystem TYPE (cgroup or cgroup2), holding CONTROLLER if one is given.
cg_find_mount() {
    local -a f
    local i
    while read -r -a f; do
        # Optional fields end at "-"; then come type, source, super options.
        for ((i = 6; i < ${#f[@]}; i++)); do
            [[ ${f[i]} == - ]] && break
        done
        if [[ ${f[i + 1]} == "$1" && ( -z ${2:-} || ,${f[i + 3]}, == *",$2,"* ) ]]; then
            echo "${f[3]} ${f[4]}"
            return
        fi
    done </proc/self/mountinfo
    return 1
}

# cg_mode CONTROLLER: v1 or v2 (v2 for an empty CONTROLLER).
cg_mode() {
    if [[ -n $1 ]] && cg_find_mount cgroup "$1" >/dev/null; then echo v1; else echo v2; fi
}

# cg_mount_of CONTROLLER: "ROOT MOUNTPOINT" of the hierarchy holding
# CONTROLLER (v2's for an empty CONTROLLER); the first mount of it.
cg_mount_of() {
    if [[ -n $1 ]] && cg_find_mount cgroup "$1"; then
        return
    fi
    cg_find_mount cgroup2
}

# cg_dir CONTROLLER: the directory of the calling process's own cgroup in
# the hierarchy holding CONTROLLER (v2 for an empty CONTROLLER), read from
# /proc/self/cgroup.
cg_dir() {
    local mount root dir line path=
    mount=$(cg_mount_of "$1") || return 1
    root=${mount%% *}
    dir=${mount#* }
    while IFS= read -r line; do
        local id=${line%%:*} rest=${line#*:}
        local controllers=${rest%%:*}
        if [[ $(cg_mode "$1") == v1 && -n $1 && ,$controllers, == *",$1,"* ]] ||
            [[ ( -z $1 || $(cg_mode "$1") == v2 ) && $id == 0 ]]; then
            path=${rest#*:}
            break
        fi
    done </proc/self/cgroup
    [[ -n $path ]] || return 1
    [[ $root == / ]] || path=${path#"$root"}
    echo "${dir%/}$path"
}

# cg_read CONTROLLER V2FILE V1FILE: the content of the calling process's
# cgroup file for CONTROLLER, under the name the running mode uses.
cg_read() {
    local dir file=$2
    dir=$(cg_dir "$1") || return 1
    [[ $(cg_mode "$1") == v1 ]] && file=$3
    cat "$dir/$file"
}

# shellcheck disable=SC2034 # used by the suites that load this file
CG_FUNCS=$(declare -f cg_find_mount cg_mode cg_mount_of cg_dir cg_read)

# cg_leaf CONTROLLER NAME: where cgset makes isokit/NAME for CONTROLLER
# (v2 for an empty CONTROLLER), as seen from the test.
cg_leaf() {
    local mount root
    mount=$(cg_mount_of "$1") || return 1
    root=${mount%% *}
    [[ $root == / ]] && root=
    echo "${mount#* }$root/isokit/$2"
}

# Every writable cgroup mount point, one per line.
cg_all_mounts() {
    local -a f
    local i
    while read -r -a f; do
        for ((i = 6; i < ${#f[@]}; i++)); do
            [[ ${f[i]} == - ]] && break
        done
        [[ ${f[i + 1]} == cgroup || ${f[i + 1]} == cgroup2 ]] && echo "${f[4]}"
    done </proc/self/mountinfo | sort -u
}

# cg_left NAME: the isokit/NAME directories that exist, in any hierarchy.
cg_left() {
    local mount
    for mount in $(cg_all_mounts); do
        [[ -e $mount/isokit/$1 ]] && echo "$mount/isokit/$1"
    done
    return 0
}

# cg_cleanup NAME: remove isokit/NAME (and cgroups below it) from every
# hierarchy, killing processes a failed test left in it. Only this test's
# own cgroup is touched.
cg_cleanup() {
    local dir sub pid i
    for dir in $(cg_left "$1"); do
        while IFS= read -r sub; do
            for i in $(seq 100); do
                for pid in $(cat "$sub/cgroup.procs" 2>/dev/null); do
                    kill -KILL "$pid" 2>/dev/null
                done
                rmdir "$sub" 2>/dev/null && break
                sleep 0.05
            done
        done < <(find "$dir" -depth -type d)
    done
}

# Remember which hierarchies lacked isokit/ before the suite, so that
# cg_forget_parents removes the isokit/ the suite made (if empty) and no other.
cg_remember_parents() {
    cg_all_mounts | while read -r mount; do
        [[ -d $mount/isokit ]] || echo "$mount/isokit"
    done >"$BATS_FILE_TMPDIR/cgroup-parents-made"
}

cg_forget_parents() {
    local dir
    while read -r dir; do
        rmdir "$dir" 2>/dev/null || true
    done <"$BATS_FILE_TMPDIR/cgroup-parents-made"
}
