# shellcheck disable=SC2154  # root, bin, tmp, IMAGE, measure... are set by scripts/bench
# scripts/bench: `podman run --rm --network none IMAGE /bin/true` with each
# OCI runtime side by side (issue 12): isokit-oci, runc, crun. A section of
# its own, with fewer runs: podman takes ~0.15 s a run, and the runtime is
# only part of it (podman, conmon, the image's overlay mount).
#
# Everything of podman's lives under $tmp/podman (--root, --runroot,
# --tmpdir, its containers.conf; each runtime through a wrapper giving it a
# state directory there), as tests/podman.bats does: the machine's podman
# state is never touched. Root here lacks CAP_SYS_RESOURCE, hence the
# ulimits; cgroupfs, because there is no systemd to ask. The cgroups podman
# makes (libpod_parent) are removed afterwards when empty.

podman_image=localhost/isokit-bench:1

# podman_prepare: wrappers, configuration, the image imported. 1 if podman
# is missing or the import fails (said with a skip line).
podman_prepare() {
    local p=$tmp/podman runtime path
    command -v podman >/dev/null || { skip "podman rows: podman is not installed (scripts/install-deps)"; return 1; }
    mkdir -p "$p/tmp"
    for runtime in isokit-oci runc crun; do
        if [[ $runtime == isokit-oci ]]; then path=$bin/isokit-oci; else path=$(command -v "$runtime" || true); fi
        [[ -x $path ]] || { skip "podman-$runtime: $runtime is not installed or built"; continue; }
        # The wrapper has the runtime's own name: podman decides some
        # things (JSON logs) by it.
        mkdir -p "$p/wrap/$runtime"
        printf '#!/bin/sh\nexec %q --root %q "$@"\n' "$path" "$p/$runtime-state" >"$p/wrap/$runtime/$runtime"
        chmod +x "$p/wrap/$runtime/$runtime"
    done
    printf '[engine]\nevents_logger = "none"\n' >"$p/containers.conf"
    export CONTAINERS_CONF=$p/containers.conf
    if ! tar -C "$IMAGE" -c . | podman_cmd import - "$podman_image" >/dev/null 2>"$p/import.err"; then
        skip "podman rows: podman import failed: $(tail -1 "$p/import.err")"
        return 1
    fi
}

podman_cmd() {
    podman --root "$tmp/podman/root" --runroot "$tmp/podman/runroot" --tmpdir "$tmp/podman/tmp" \
        --cgroup-manager cgroupfs "$@"
}

write_podman_spec() {
    local spec=$1 runtime wrapper
    : >"$spec"
    for runtime in isokit-oci runc crun; do
        wrapper=$tmp/podman/wrap/$runtime/$runtime
        [[ -x $wrapper ]] || continue
        entry L "podman-$runtime" "$(command -v podman)" --root "$tmp/podman/root" --runroot "$tmp/podman/runroot" \
            --tmpdir "$tmp/podman/tmp" --cgroup-manager cgroupfs --runtime "$wrapper" \
            run --rm --network none --ulimit nofile=1024:20000 --ulimit nproc=4096:4096 "$podman_image" /bin/true >>"$spec"
    done
}

# podman_section RUNS: the section itself, after the main one.
podman_section() {
    local runs=$1
    podman_prepare || return 0
    write_podman_spec "$tmp/podman-spec"
    preflight "$tmp/podman-spec" "$tmp/podman-runs"
    if [[ -s $tmp/podman-runs ]]; then
        MEASURE_FIRST_ID=300000 "$measure" runs "$tmp/podman-runs" "$runs" 2 >"$tmp/podman.raw" 2>"$tmp/podman.err" ||
            note "measure failed: $(tail -3 "$tmp/podman.err")"
        local base=podman-runc
        grep -q '^podman-runc ' "$tmp/podman.raw" || base=podman-isokit-oci
        runs_table "$tmp/podman.raw" "$base"
        error_summary "$tmp/podman.err"
        local r
        r=$(pair_ratio "$tmp/podman.raw" podman-isokit-oci podman-runc)
        [[ $r == - ]] || printf 'podman with isokit-oci / with runc (median per-round ratio): %.2fx\n' "$r"
    fi
    podman_cleanup
}

# Containers are removed by run --rm; the store goes with $tmp. What
# lives outside: podman's cgroups (libpod_parent, conmon below it).
podman_cleanup() {
    [[ -d $tmp/podman/root ]] || return 0
    podman_cmd rm -a -f -t 0 >/dev/null 2>&1 || true
    podman_cmd system reset -f >/dev/null 2>&1 || true
    local dir
    for dir in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
        # conmon's first (rmdir goes on to the parent when it is missing).
        if [[ -d $dir ]]; then rmdir "$dir/conmon" "$dir" 2>/dev/null || true; fi
    done
    return 0
}
