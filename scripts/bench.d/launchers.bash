# shellcheck disable=SC2154  # root, bin, tmp, cache, measure, IMAGE... are set by scripts/bench
# scripts/bench: the launchers, and the measurements besides single
# launches (sourced inside the benchmark's namespaces; expects $root, $bin,
# $cache, $tmp, $IMAGE, $BUNDLE, $measure).

bridge=isokit0
CRUN_VIEW=

# The isokit chains, as argument lists ending where PROG goes. {i}, {a},
# {b} are filled in per run by measure (see measure.c).
ns_chain=("$bin/unshare-lite" --all -- "$bin/pivot" --next-from-host "$IMAGE" -- "$bin/capdrop" --)
# The full chain as contain runs it: where a v2 hierarchy is mounted (and
# the kernel has clone3's CLONE_INTO_CGROUP), cgset leaves the v2 move to
# unshare-lite, which clones the init into it. ISOKIT_CGROUP2: common.sh's
# probe, the one contain uses.
cgset_v2=() unshare_v2=()
if [[ -n $ISOKIT_CGROUP2 ]]; then
    cgset_v2=(--leave-v2) unshare_v2=(--cgroup-dir "$ISOKIT_CGROUP2/isokit/bench-{i}")
fi
full_chain=("$bin/cgset" --name "bench-{i}" --memory 256M --pids 64 --cpus 1 "${cgset_v2[@]}" --
    "$bin/unshare-lite" "${unshare_v2[@]}" --all --
    "$bin/netns-setup" --veth "vb{i}" --bridge "$bridge" --addr "10.88.{a}.{b}/16" --gateway 10.88.0.1 --
    "$bin/pivot" --next-from-host "$IMAGE" -- "$bin/capdrop" --)
# The ns chain with the tools bound read-only at /dev/.isokit, as contain
# does (scripts/lib/plan.sh), and the bench's helpers at /dev/.bench:
# isokit-ns-bind runs PROG after capdrop, isokit-ns-scfilter after
# /dev/.isokit/scfilter (Docker's default profile), isokit-ns-scfloor after
# /dev/.bench/seccomp-exec loading the same BPF program (the kernel's
# share). Their differences are the scfilter link and its floor alone.
bind_chain=("$bin/unshare-lite" --all -- "$bin/pivot" --bind "$bin:/dev/.isokit:ro"
    --bind "$cache/bin:/dev/.bench:ro" --next-from-host "$IMAGE" -- "$bin/capdrop" --)

# The isokit tools among the arguments that are not built yet.
not_built() {
    local tool missing=()
    for tool in "$@"; do
        [[ -x $bin/$tool ]] || missing+=("$tool")
    done
    echo "${missing[*]}"
}

skip() { echo "skip: $*"; }

# entry KIND NAME ARGS...: one TAB-separated spec line for measure.
entry() {
    local IFS=$'\t'
    echo "$*"
}

# The bridge the full chain's veths join, inside the benchmark's network
# namespace (scripts/netbridge once it exists; it vanishes with the namespace).
make_bridge() {
    if [[ -x $root/scripts/netbridge ]] && "$root/scripts/netbridge" up >/dev/null 2>"$tmp/netbridge.err"; then
        ip link show "$bridge" >/dev/null 2>&1 && return 0
    fi
    ip link add "$bridge" type bridge 2>/dev/null || true
    ip addr add 10.88.0.1/16 dev "$bridge" 2>/dev/null || true
    ip link set "$bridge" up
}

cgroup_mode() {
    if awk '$5 == "/sys/fs/cgroup" && $0 ~ / - cgroup2 / { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        echo "v2 (unified)"
    elif awk '$0 ~ / - cgroup2 / { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        echo "hybrid (v1 controllers, v2 mounted at $(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo))"
    else
        echo "v1"
    fi
}

# crun 1.8 refuses hybrid hosts ("cgroups in hybrid mode not supported").
# A mount namespace where the v2 mount is covered by an empty tmpfs shows it
# a plain v1 host (crun still makes its per-container directory for the
# "0::" line of /proc/self/cgroup there: in the tmpfs, writable for that
# reason, gone with the namespace). It is bound on a file under $tmp (in the benchmark's own
# mount namespace) and measure setns()es into it before exec'ing crun.
prepare_crun_view() {
    local v2
    v2=$(awk '$5 != "/sys/fs/cgroup" && $0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
    [[ -n $v2 ]] || return 0
    mkdir -p "$tmp/ns"
    mount -t tmpfs bench-ns "$tmp/ns"
    mount --make-private "$tmp/ns"
    touch "$tmp/ns/crun-mnt"
    # The kernel refuses to bind a mount namespace file (EINVAL) unless it
    # deems that namespace newer than the binder's (mnt_ns_loop). On 6.18
    # here that failed in two runs of three, every try alike: the order
    # seems to hold only between namespaces made on one CPU (ids handed
    # out in per-CPU batches?). So one try pinned to each CPU.
    local try cpu
    for ((cpu = 0, try = 1; cpu < $(nproc); cpu++, try++)); do
        if taskset -c "$cpu" unshare --mount="$tmp/ns/crun-mnt" --propagation unchanged -- mount -t tmpfs bench-hide-v2 "$v2" 2>"$tmp/crun-view.err"; then
            CRUN_VIEW=$tmp/ns/crun-mnt
            return 0
        fi
    done
    note "crun view not made after $try tries: $(cat "$tmp/crun-view.err")"
}

machine_facts() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "cpus: $(nproc) x ${cpu:-?}; memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel: $(uname -r); cgroups: $(cgroup_mode)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    if [[ -x $bin/unshare-lite ]]; then
        local kind
        kind=$(file -b "$bin/unshare-lite" 2>/dev/null | cut -d, -f1-2,5 || true)
        # shellcheck disable=SC2012 # the names are the tools', plain words
        echo "isokit binaries: $(cd "$bin" && ls | tr '\n' ' ')(${kind:-static}; unshare-lite $(stat -c %s "$bin/unshare-lite") bytes)"
    fi
    local tool
    for tool in bwrap crun runc unshare; do
        command -v "$tool" >/dev/null && echo "$tool: $("$tool" --version 2>&1 | head -1)"
    done
    return 0
}

write_single_spec() {
    local spec=$1 missing
    : >"$spec"
    if command -v bwrap >/dev/null; then
        entry L bwrap "$(command -v bwrap)" --unshare-all --ro-bind "$IMAGE" / --proc /proc --dev /dev /bin/true >>"$spec"
    else
        skip "bwrap: not installed (Debian package bubblewrap); no ratio column"
    fi
    {
        entry L floor "$cache/bin/floor" "$IMAGE/bin/true"
        entry L floor+root "$cache/bin/floor" -r "$IMAGE" /bin/true
        entry L floor+mounts "$cache/bin/floor" -R "$IMAGE" /bin/true
    } >>"$spec"
    if [[ -x $bin/unshare-lite ]]; then
        entry L unshare-lite-all "$bin/unshare-lite" --all -- "$IMAGE/bin/true" >>"$spec"
    fi
    missing=$(not_built unshare-lite pivot capdrop)
    if [[ -z $missing ]]; then
        entry L isokit-ns "${ns_chain[@]}" /bin/true >>"$spec"
    else
        skip "isokit-ns: not built yet: $missing"
    fi
    missing=$(not_built unshare-lite pivot capdrop scfilter)
    if [[ -z $missing ]]; then
        entry L isokit-ns-bind "${bind_chain[@]}" /bin/true >>"$spec"
        entry L isokit-ns-scfilter "${bind_chain[@]}" /dev/.isokit/scfilter -- /bin/true >>"$spec"
        # The program scfilter loads there: emitted under capdrop's default
        # bounding set, as in the chain (the rules depend on it).
        if "$bin/capdrop" -- "$bin/scfilter" --emit-bpf "$cache/bin/docker-default.bpf" 2>"$tmp/emit.err"; then
            entry L isokit-ns-scfloor "${bind_chain[@]}" /dev/.bench/seccomp-exec /dev/.bench/docker-default.bpf /bin/true >>"$spec"
        else
            skip "isokit-ns-scfloor: scfilter --emit-bpf failed: $(tail -1 "$tmp/emit.err")"
        fi
    else
        skip "isokit-ns-bind, isokit-ns-scfilter: not built yet: $missing"
    fi
    missing=$(not_built cgset unshare-lite netns-setup pivot capdrop)
    if [[ -z $missing ]]; then
        entry L isokit-full "${full_chain[@]}" /bin/true >>"$spec"
        entry C isokit-full "$bin/cgset" --name "bench-{i}" --remove >>"$spec"
    else
        skip "isokit-full: not built yet: $missing"
    fi
    if [[ -x $root/scripts/contain ]] && install_kit; then
        # The same container as isokit-full: limits, and a veth on the
        # bridge when scripts/netbridge exists. State goes under $tmp.
        local net=none
        [[ ! -x $root/scripts/netbridge ]] || net=bridge
        local contain=("$kit_contain" --name "bench-{i}" --rootfs "$IMAGE" --net "$net"
            --memory 256M --pids-limit 64 --cpus 1)
        {
            entry L contain "${contain[@]}" -- /bin/true
            entry L contain-explain "${contain[@]}" --explain -- /bin/true
            # Issue 17's target for the script: --net none and no limits,
            # next to the ns-only chain it then runs.
            entry L contain-none "$kit_contain" --name "bench-{i}" --rootfs "$IMAGE" --net none -- /bin/true
        } >>"$spec"
        contain_floor_entries >>"$spec"
    else
        skip "contain: scripts/contain does not exist yet"
    fi
    if [[ -z $BUNDLE ]]; then
        skip "crun, runc: no OCI bundle (runc or jq missing)"
    else
        if command -v crun >/dev/null; then
            entry L crun "$(command -v crun)" --root "$tmp/crun-state" run --bundle "$BUNDLE" "bench-{i}" >>"$spec"
            [[ -z $CRUN_VIEW ]] || entry N crun "$CRUN_VIEW" >>"$spec"
        else
            skip "crun: not installed"
        fi
        if command -v runc >/dev/null; then
            entry L runc "$(command -v runc)" --root "$tmp/runc-state" run --bundle "$BUNDLE" "bench-{i}" >>"$spec"
        else
            skip "runc: not installed"
        fi
    fi
    entry L util-unshare "$(command -v unshare)" --fork --pid --mount --uts --ipc --net --cgroup \
        --root "$IMAGE" --mount-proc /bin/true >>"$spec"
}

# The floor under contain-none: bash starting (bash-start), and bash
# exec'ing the very chain `contain --net none` runs (contain-floor): the
# words of `contain --explain` for the same options, less the env step,
# which contain skips when it can (exec_chain). Its state files (the
# bound hostname, hosts, resolv.conf; the pidfile) are made once under
# $tmp; the cgroup is removed after each run.
# contain as its users run it: installed (scripts/install-kit) under $tmp,
# where it finds its tools and libraries beside itself. Run from a checkout
# it also compares the mtime of every source file with the binaries' on
# each launch, to rebuild them (~1-2 ms here): a developer's convenience,
# left out of the figures. Sets kit_contain.
install_kit() {
    kit_contain=$tmp/kit/usr/bin/contain
    [[ -x $kit_contain ]] && return 0
    "$root/scripts/install-kit" "DESTDIR=$tmp/kit" PREFIX=/usr >/dev/null ||
        { skip "contain: scripts/install-kit failed"; return 1; }
}

contain_floor_entries() {
    local state=$tmp/floor-state explained line
    local -a words=() chain=()
    explained=$(ISOKIT_STATE=$state "$kit_contain" --explain --name bench-floor --rootfs "$IMAGE" --net none -- /bin/true) ||
        { skip "contain-floor: contain --explain failed"; return 0; }
    # One step a line, each word quoted by printf %q: read back with eval.
    while IFS= read -r line; do
        line=${line%\\}
        eval "words=($line)"
        chain+=("${words[@]}")
    done <<<"$explained"
    [[ ${chain[0]} == env ]] || { skip "contain-floor: unexpected chain: ${chain[*]:0:3}"; return 0; }
    while [[ ${chain[0]} == env || ${chain[0]} == -* || ${chain[0]} == *=* ]]; do chain=("${chain[@]:1}"); done
    mkdir -p "$state/bench-floor"
    echo bench-floor >"$state/bench-floor/hostname"
    printf '127.0.0.1\tlocalhost\n' >"$state/bench-floor/hosts"
    : >"$state/bench-floor/resolv.conf"
    entry L bash-start /bin/bash -c :
    entry L contain-floor /bin/bash -c 'exec "$@"' contain-floor "${chain[@]}"
    entry C contain-floor "$bin/cgset" --name "${chain[2]}" --remove
}

write_batch_spec() {
    local spec=$1
    grep -E $'^[LCN]\t(bwrap|isokit-ns|crun|runc)\t' "$tmp/single" >"$spec" || true
}

write_link_spec() {
    local spec=$1 tool deep=()
    : >"$spec"
    entry L nolibc-true "$cache/bin/nolibc-true" >>"$spec"
    entry L busybox-true "$IMAGE/bin/true" >>"$spec"
    for tool in unshare-lite pivot capdrop cgset netns-setup; do
        if [[ -x $bin/$tool ]]; then
            entry L "$tool-version" "$bin/$tool" --version >>"$spec"
        else
            skip "$tool --version: not built yet: $tool"
        fi
    done
    # 20 links that each do nothing but parse and exec: the pure cost of a
    # link, free of the cost of start-up that --version also has.
    for tool in unshare-lite capdrop; do
        [[ -x $bin/$tool ]] || continue
        deep=()
        for _ in $(seq 20); do
            if [[ $tool == capdrop ]]; then deep+=("$bin/capdrop" --keep all --); else deep+=("$bin/unshare-lite" --); fi
        done
        entry L "$tool-x20" "${deep[@]}" "$cache/bin/nolibc-true" >>"$spec"
    done
}

link_table() {
    local raw=$1 name med floor
    floor=$(awk '$1 == "nolibc-true" { print $3 / 1000 }' "$raw" | median)
    printf '%-22s %10s %16s\n' binary "median ms" "per link ms"
    while IFS= read -r name; do
        med=$(awk -v n="$name" '$1 == n { print $3 / 1000 }' "$raw" | median)
        case $name in
            nolibc-true) printf '%-22s %10.3f %16s\n' "$name" "$med" "(floor)" ;;
            *x20) printf '%-22s %10.3f %16.3f\n' "$name" "$med" "$(awk -v m="$med" -v f="$floor" 'BEGIN { print (m - f) / 20 }')" ;;
            *) printf '%-22s %10.3f %16.3f\n' "$name" "$med" "$(awk -v m="$med" -v f="$floor" 'BEGIN { print m - f }')" ;;
        esac
    done < <(awk '!seen[$1]++ { print $1 }' "$raw")
}

# preflight SPEC OUT: run each launcher once; keep in OUT those that
# succeed, say why the others are skipped.
preflight() {
    local spec=$1 out=$2 name k=0 one=$tmp/one
    : >"$out"
    while IFS= read -r name; do
        k=$((k + 1))
        awk -F'\t' -v n="$name" '$2 == n' "$spec" >"$one"
        if MEASURE_FIRST_ID=$((900000 + k * 10)) "$measure" runs "$one" 1 0 >"$one.out" 2>"$one.err" &&
            [[ $(awk '{ print $NF }' "$one.out") == 0 ]]; then
            cat "$one" >>"$out"
        else
            skip "$name: failed its first run: $(grep -v '^$' "$one.err" | tail -1)"
        fi
    done < <(awk -F'\t' '$1 == "L" { print $2 }' "$spec")
}

explain_rows() {
    if grep -q '^contain-explain ' "$tmp/runs.raw" 2>/dev/null; then
        echo "contain-explain: contain --explain, the bash launcher building and printing the chain without running it (its own cost)"
        echo "contain-none: contain --net none, no limits: the script around the ns-only chain (issue 17's 2x target); every contain row runs the kit installed under the bench's tmp (scripts/install-kit), as users run it"
    fi
    [[ -z $CRUN_VIEW ]] || ! grep -q '^crun ' "$tmp/runs.raw" || echo "crun: crun run, started in a mount namespace where the cgroup v2 mount is hidden (crun 1.8 refuses hybrid hosts); the setns is in its time"
    if grep -q '^contain-floor ' "$tmp/runs.raw" 2>/dev/null; then
        echo "bash-start: /bin/bash -c : (bash's own start); contain-floor: bash -c 'exec CHAIN', CHAIN the very chain contain-none runs (from contain --explain, less env)"
    fi
    if grep -q '^isokit-ns-scfilter ' "$tmp/runs.raw" 2>/dev/null; then
        echo "isokit-ns-bind: isokit-ns with the tools bound read-only at /dev/.isokit (as contain) and the bench's helpers at /dev/.bench; isokit-ns-scfilter: the same, capdrop -- /dev/.isokit/scfilter -- /bin/true"
        echo "isokit-ns-scfloor: the same, capdrop -- /dev/.bench/seccomp-exec BPF /bin/true: no libc, loads the program scfilter --emit-bpf wrote (the kernel's share of the link)"
    fi
    echo "floor: clone(2) with the six namespaces of unshare-lite --all, exec, wait; floor+root: also / private, image bound, /proc, pivot_root"
    echo "floor+mounts: floor+root and every other mount pivot makes (masked /proc paths, /dev, /sys), with mount(2)"
    echo "util-unshare: util-linux unshare --fork --pid --mount --uts --ipc --net --cgroup --root IMAGE --mount-proc (chroot, not pivot_root; no /dev)"
}

# pair_ratio RAW A B [FIELD]: median over rounds of A / B, comparing
# field FIELD (3, wall time, by default; 4 is CPU in `measure runs` output).
pair_ratio() {
    awk -v a="$2" -v b="$3" -v f="${4:-3}" '
        $1 == b { base[$2] = $f }
        $1 == a { wall[$2] = $f }
        END { for (r in wall) if (base[r] > 0) print wall[r] / base[r] }' "$1" | median
}

# pair_diff RAW A B [FIELD]: median over rounds of A - B in ms (FIELD as
# for pair_ratio); rounds where either failed are left out.
pair_diff() {
    awk -v a="$2" -v b="$3" -v f="${4:-3}" '
        $1 == b && $5 == 0 { base[$2] = $f }
        $1 == a && $5 == 0 { wall[$2] = $f }
        END { for (r in wall) if (r in base) print (wall[r] - base[r]) / 1000 }' "$1" | median
}

# trace_chains N: launch each available chain N times with
# ISOKIT_TRACE=time between two stamps, round-robin like the single
# launches (so each starts after the others ran, as in the main table),
# and print the median time of each step.
trace_chains() {
    local n=$1 name
    local -a chain
    for name in isokit-full isokit-ns unshare-lite-all; do
        case $name in
            isokit-full) [[ -z $(not_built cgset unshare-lite netns-setup pivot capdrop) ]] || continue
                chain=("${full_chain[@]}" /bin/stamp) ;;
            isokit-ns) [[ -z $(not_built unshare-lite pivot capdrop) ]] || continue
                chain=("${ns_chain[@]}" /bin/stamp) ;;
            *) [[ -x $bin/unshare-lite ]] || continue
                chain=("$bin/unshare-lite" --all -- "$IMAGE/bin/stamp") ;;
        esac
        entry L "$name" "$cache/bin/stamp" "${chain[@]}" >"$tmp/trace-spec.$name"
        [[ $name != isokit-full ]] || entry C "$name" "$bin/cgset" --name "bench-{i}" --remove >>"$tmp/trace-spec.$name"
    done
    cat "$tmp"/trace-spec.* >"$tmp/trace-spec" 2>/dev/null || return 0
    ISOKIT_TRACE=time MEASURE_FIRST_ID=200000 "$measure" runs "$tmp/trace-spec" "$n" 0 >/dev/null 2>"$tmp/trace.raw" || true
    # One file per chain: a launch's lines start at its "stamp: start";
    # the chain is known by the tool of the line after it.
    for name in isokit-full isokit-ns unshare-lite-all; do
        [[ -e $tmp/trace-spec.$name ]] || continue
        awk -v want="$name" '
            / stamp: start/ { block = $0; n = 0; next }
            /^\[[0-9]+\] / { block = block "\n" $0; n++ }
            n == 1 && /^\[[0-9]+\] / {
                kind = ($2 == "cgset:") ? "isokit-full" : "?"
            }
            / stamp: exit/ {
                if (kind == "?") kind = (block ~ / pivot: /) ? "isokit-ns" : "unshare-lite-all"
                if (kind == want) print block
                kind = ""
            }' "$tmp/trace.raw" >"$tmp/trace.$name"
        echo "-- $name"
        trace_table "$tmp/trace.$name"
        awk '/stamp: start/ { s = substr($1, 2) + 0 } /stamp: exit/ { print (substr($1, 2) - s) / 1000 }' "$tmp/trace.$name" |
            median | xargs printf '%-28s %10.3f\n' "total (start to exit)"
    done
    echo "Each step: time from the previous trace line to this one = the exec of the tool plus its work."
    echo "unshare-lite's line comes from the launcher right after fork: the init's unshare(2) of"
    echo "mnt,uts,ipc,net,cgroup and its fork of the command land in the step after it."
}

# The processes of a running launch: PID and its descendants.
descendants() {
    local pid=$1 child
    echo "$pid"
    # shellcheck disable=SC2013 # the file is a list of PIDs (words)
    for child in $(cat "/proc/$pid/task/"*/children 2>/dev/null); do
        descendants "$child"
    done
}

# sample_launch NAME CMD...: start CMD (a container running `sleep 2`),
# wait until the sleep runs, then print VmRSS and Pss of every process of
# the launch but the sleep itself. Sets $sampled_rss_kb / $sampled_pss_kb.
sample_launch() {
    local name=$1 pid p comm rss pss found=0
    shift
    "$@" >/dev/null 2>"$tmp/sample.err" &
    pid=$!
    for _ in $(seq 200); do
        for p in $(descendants "$pid"); do
            [[ $(cat "/proc/$p/comm" 2>/dev/null) == sleep ]] && found=1
        done
        ((found)) && break
        sleep 0.01
    done
    sampled_rss_kb=0 sampled_pss_kb=0
    if ((found)); then
        for p in $(descendants "$pid"); do
            comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
            [[ $comm == sleep ]] && continue
            rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null)
            pss=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
            printf '  %-18s pid %-7s %-14s VmRSS %6s kB  Pss %6s kB\n' "$name" "$p" "$comm" "${rss:-?}" "${pss:-?}"
            sampled_rss_kb=$((sampled_rss_kb + ${rss:-0}))
            sampled_pss_kb=$((sampled_pss_kb + ${pss:-0}))
        done
        printf '  %-18s total (all but the sleep): VmRSS %d kB, Pss %d kB\n' "$name" "$sampled_rss_kb" "$sampled_pss_kb"
    else
        skip "$name: the container's sleep never appeared: $(tail -1 "$tmp/sample.err")"
    fi
    wait "$pid" 2>/dev/null || true
}

resident_memory() {
    isokit_rss_kb='' isokit_pss_kb=''
    if [[ -z $(not_built unshare-lite pivot capdrop) ]]; then
        sample_launch isokit-ns "${ns_chain[@]}" /bin/sleep 2
    elif [[ -x $bin/unshare-lite ]]; then
        echo "  (pivot or capdrop not built yet: unshare-lite --all alone, running the image's sleep; the same processes stay alive)"
        sample_launch unshare-lite-all "$bin/unshare-lite" --all -- "$IMAGE/bin/sleep" 2
    fi
    if [[ -x $bin/unshare-lite ]]; then
        isokit_rss_kb=$sampled_rss_kb isokit_pss_kb=$sampled_pss_kb
    fi
    if command -v bwrap >/dev/null; then
        sample_launch bwrap bwrap --unshare-all --ro-bind "$IMAGE" / --proc /proc --dev /dev /bin/sleep 2
    fi
    if [[ -n $BUNDLE ]]; then
        mkdir -p "$tmp/sleep-bundle"
        jq '.process.args = ["/bin/sleep", "2"]' "$BUNDLE/config.json" >"$tmp/sleep-bundle/config.json"
        if command -v crun >/dev/null; then
            local enter=()
            [[ -z $CRUN_VIEW ]] || enter=(nsenter --mount="$CRUN_VIEW" --)
            sample_launch crun "${enter[@]}" crun --root "$tmp/crun-state" run --bundle "$tmp/sleep-bundle" bench-rss
        fi
        command -v runc >/dev/null && sample_launch runc runc --root "$tmp/runc-state" run --bundle "$tmp/sleep-bundle" bench-rss
    fi
    return 0
}

verdict() {
    # verdict LABEL VALUE LIMIT UNIT
    if [[ -z $2 || $2 == - ]]; then
        printf '%-52s %s\n' "$1" "not measured (a launcher is missing, see skip lines)"
    else
        printf '%-52s %8s%s (target <= %s%s): %s\n' "$1" "$2" "$4" "$3" "$4" \
            "$(awk -v v="$2" -v l="$3" 'BEGIN { print (v <= l) ? "met" : "MISSED" }')"
    fi
}

# The same comparison by CPU time, for information (the targets are wall time).
cpu_note() {
    local r
    r=$(pair_ratio "$1" "$2" "$3" 4)
    [[ $r == - ]] || printf '  (by user+sys CPU: %.2fx)\n' "$r"
}

targets() {
    local runs_raw=$1 batch_raw=$2 r c
    r=$(pair_ratio "$runs_raw" isokit-ns bwrap)
    verdict "ns-only chain / bwrap (median per-round ratio)" "$([[ $r == - ]] && echo - || printf '%.2f' "$r")" 0.6 x
    cpu_note "$runs_raw" isokit-ns bwrap
    r=$(pair_ratio "$runs_raw" isokit-full crun)
    verdict "full chain / crun run (median per-round ratio)" "$([[ $r == - ]] && echo - || printf '%.2f' "$r")" 0.5 x
    cpu_note "$runs_raw" isokit-full crun
    c=$(awk '$3 == "conc" { print $1, $2, $4 }' "$batch_raw" >"$tmp/conc.raw"; pair_ratio "$tmp/conc.raw" isokit-ns bwrap)
    verdict "$batch concurrent launches, isokit-ns / bwrap" "$([[ $c == - ]] && echo - || printf '%.2f' "$c")" 0.67 x
    r=$(pair_ratio "$runs_raw" contain-none isokit-ns)
    verdict "contain --net none / ns-only chain (per-round)" "$([[ $r == - ]] && echo - || printf '%.2f' "$r")" 2 x
    r=$(pair_ratio "$runs_raw" contain-floor isokit-ns)
    [[ $r == - ]] || printf '  (contain-floor / ns-only chain: %.2fx; contain-none / contain-floor: %.2fx)\n' "$r" "$(pair_ratio "$runs_raw" contain-none contain-floor)"
    r=$(pair_diff "$runs_raw" isokit-ns-scfilter isokit-ns-bind)
    verdict "scfilter link (ns-scfilter - ns-bind, per-round)" "$([[ $r == - ]] && echo - || printf '%.3f' "$r")" 0.2 " ms"
    c=$(pair_diff "$runs_raw" isokit-ns-scfilter isokit-ns-bind 4)
    [[ $c == - ]] || printf '  (by user+sys CPU: %.3f ms)\n' "$c"
    r=$(pair_diff "$runs_raw" isokit-ns-scfloor isokit-ns-bind)
    c=$(pair_diff "$runs_raw" isokit-ns-scfloor isokit-ns-bind 4)
    [[ $r == - ]] || printf '  its floor (ns-scfloor - ns-bind: exec + load of the same BPF, no libc): %.3f ms wall, %.3f ms CPU\n' "$r" "$c"
    verdict "isokit processes alive during a container (VmRSS)" "${isokit_rss_kb:-}" 1024 " kB"
    verdict "isokit processes alive during a container (Pss)" "${isokit_pss_kb:-}" 1024 " kB"
}

# Containers and cgroups a failed or interrupted run left behind. The
# bridge, veths and mounts vanish with the benchmark's namespaces.
remove_leftovers() {
    local state id mnt
    for state in crun runc; do
        [[ -d $tmp/$state-state ]] || continue
        for id in $("$state" --root "$tmp/$state-state" list -q 2>/dev/null); do
            "$state" --root "$tmp/$state-state" delete -f "$id" >/dev/null 2>&1 || true
        done
    done
    # shellcheck disable=SC2013 # mount points here have no spaces
    for mnt in $(awk '$0 ~ / - cgroup2? / { print $5 }' /proc/self/mountinfo); do
        rmdir "$mnt"/isokit/bench-* 2>/dev/null || true
    done
    # The tmpfs for crun's view is mounted even when the view failed.
    [[ -z $CRUN_VIEW ]] || umount "$CRUN_VIEW" 2>/dev/null || true
    umount "$tmp/ns" 2>/dev/null || true
}
