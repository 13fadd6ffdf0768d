# shellcheck disable=SC2154  # root, bin, tmp, cache, measure, IMAGE... are set by scripts/bench
# scripts/bench: what is made once and cached under target/bench
# (sourced; expects $root, $cache, $bin, $install).

# command -> Debian package, for what the benchmark compares against or
# needs to build its helpers. hyperfine is not needed: bench.d/measure.c
# does the timing.
declare -A bench_need=(
    [bwrap]=bubblewrap
    [crun]=crun
    [runc]=runc
    [jq]=jq
    [gcc]=gcc
    [musl-gcc]=musl-tools
    [ip]=iproute2
    [unshare]=util-linux
    [nsenter]=util-linux
    [busybox]=busybox-static
)

install_missing() {
    local missing=() command
    for command in "${!bench_need[@]}"; do
        command -v "$command" >/dev/null 2>&1 || missing+=("${bench_need[$command]}")
    done
    # The image needs the static busybox (Debian's plain one is dynamic).
    if command -v busybox >/dev/null && ldd "$(command -v busybox)" >/dev/null 2>&1; then
        missing+=(busybox-static)
    fi
    # Without musl-gcc, gcc -static needs libc6-dev's libc.a.
    command -v musl-gcc >/dev/null || [[ -e /usr/lib/x86_64-linux-gnu/libc.a ]] || missing+=(libc6-dev)
    ((${#missing[@]})) || return 0
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if ! ((install)) || ! command -v apt-get >/dev/null; then
        note "missing packages, not installed: ${missing[*]} (what needs them is skipped)"
        return 0
    fi
    note "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
        note "apt-get failed; what needs the missing packages is skipped"
}

# Static C helpers, rebuilt when their source is newer. musl, like the
# isokit tools: a static glibc program spends ~1 ms here in start-up (its
# CPUID probes each exit to the hypervisor), which would inflate the floor
# and the trace stamps. gcc (glibc) only when musl-gcc is missing.
build_helpers() {
    mkdir -p "$cache/bin"
    local name src cc=gcc
    command -v musl-gcc >/dev/null && cc=musl-gcc
    for name in measure floor stamp; do
        src=$root/scripts/bench.d/$name.c
        if [[ ! -x $cache/bin/$name || $src -nt $cache/bin/$name || $cc != "$(cat "$cache/bin/.cc" 2>/dev/null)" ]]; then
            "$cc" -static -O2 -Wall -o "$cache/bin/$name" "$src"
        fi
    done
    echo "$cc" >"$cache/bin/.cc"
    # No libc at all: nolibc-true (the exec floor) and seccomp-exec (the
    # kernel's share of the scfilter link).
    for name in nolibc-true seccomp-exec; do
        src=$root/scripts/bench.d/$name.c
        if [[ ! -x $cache/bin/$name || $src -nt $cache/bin/$name ]]; then
            gcc -static -nostdlib -O2 -o "$cache/bin/$name" "$src"
        fi
    done
}

# The busybox image every launcher runs. scripts/mkrootfs makes it once it
# exists; until then, the same by hand: static busybox, its applet links,
# passwd and group, the empty mountpoints. Plus `stamp` for trace timing.
make_image() {
    local image=$cache/image
    if [[ ! -x $image/bin/busybox ]]; then
        rm -rf "$image.new"
        if [[ -x $root/scripts/mkrootfs ]]; then
            "$root/scripts/mkrootfs" busybox "$image.new" >&2
        else
            mkdir -p "$image.new"/{bin,etc,proc,dev,sys,tmp,root}
            cp "$(command -v busybox)" "$image.new/bin/busybox"
            local applet
            for applet in $("$image.new/bin/busybox" --list); do
                [[ $applet == busybox ]] || ln -s busybox "$image.new/bin/$applet"
            done
            printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$image.new/etc/passwd"
            printf 'root:x:0:\nnogroup:x:65534:\n' >"$image.new/etc/group"
        fi
        mv "$image.new" "$image"
    fi
    install -m 0755 "$cache/bin/stamp" "$image/bin/stamp"
    # util-linux unshare --mount-proc --root needs the mountpoint.
    mkdir -p "$image/proc" "$image/dev" "$image/sys"
    echo "$image"
}

# An OCI bundle on the same image (read-only root, /bin/true, no
# terminal), with the limits the full isokit chain sets: 256M memory,
# 64 pids, one CPU. `runc spec` writes the defaults.
make_bundle() {
    local image=$1 bundle=$cache/bundle
    command -v runc >/dev/null && command -v jq >/dev/null || return 1
    rm -rf "$bundle"
    mkdir -p "$bundle"
    (cd "$bundle" && runc spec)
    jq --arg root "$image" '
        .process.terminal = false
        | .process.args = ["/bin/true"]
        | .root = {path: $root, readonly: true}
        | .hostname = "bench"
        | .linux.resources += {memory: {limit: 268435456}, pids: {limit: 64},
                               cpu: {quota: 100000, period: 100000}}
    ' "$bundle/config.json" >"$bundle/config.json.new"
    mv "$bundle/config.json.new" "$bundle/config.json"
    echo "$bundle"
}
