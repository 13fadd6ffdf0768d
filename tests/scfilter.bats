#!/usr/bin/env bats
# scfilter: what the kernel answers to system calls made under the filter.
# A probe program (tests/scfilter/probe.c, built here static and dynamic)
# makes each call with arguments for which the kernel itself would answer
# something other than EPERM, so EPERM can only come from the filter; the
# first test shows that by running the same probes without scfilter.

load helpers

setup_file() {
    local src="$BATS_TEST_DIRNAME/scfilter/probe.c"
    gcc -O1 -static -pthread -o "$BATS_FILE_TMPDIR/probe-static" "$src"
    gcc -O1 -pthread -o "$BATS_FILE_TMPDIR/probe-dynamic" "$src"
}

setup() {
    PROBE=$BATS_FILE_TMPDIR/probe-static
    PROBE_DYN=$BATS_FILE_TMPDIR/probe-dynamic
}

DENIED="unshare mount keyctl add_key bpf perf_event_open userfaultfd kexec_load"

# Each call in a process of its own (unshare changes the caller), one
# NAME=RESULT per line; $1 is the chain before the probe.
probe_each() {
    local chain=$1
    shift
    sandboxed sh -c 'chain=$1 probe=$2; shift 2; for c; do $chain "$probe" "$c"; done' sh "$chain" "$PROBE" "$@"
}

@test "without scfilter the probes are not refused with EPERM (the tests below can tell)" {
    run probe_each "capdrop --" $DENIED clone3 i386_unshare
    assert_status 0
    [[ $output != *EPERM* ]] || fail "EPERM without a filter: $output"
    [[ $output == *clone3=EINVAL* ]] || fail "$output"
}

@test "default profile: namespace, mount, key, bpf, perf, userfaultfd, kexec calls fail with EPERM; clone3 with ENOSYS" {
    run probe_each "capdrop -- scfilter --" $DENIED clone3
    assert_status 0
    local expected="" call
    for call in $DENIED; do
        expected+="$call=EPERM"$'\n'
    done
    assert_equal "$output" "${expected}clone3=ENOSYS"
}

@test "int 0x80 and the x32 bit do not go around the filter" {
    run probe_each "capdrop -- scfilter --" i386_unshare x32_unshare i386_getpid
    assert_status 0
    assert_equal "$output" $'i386_unshare=EPERM\nx32_unshare=EPERM\ni386_getpid=OK'
}

@test "/proc/self/status shows Seccomp: 2 under scfilter, 0 without" {
    run sandboxed capdrop -- scfilter -- grep -E '^Seccomp(_filters)?:' /proc/self/status
    assert_status 0
    assert_equal "$output" $'Seccomp:\t2\nSeccomp_filters:\t1'
    run sandboxed capdrop -- grep '^Seccomp:' /proc/self/status
    assert_equal "$output" $'Seccomp:\t0'
}

@test "a busybox shell, ls, ping, static and dynamic glibc programs with threads run normally" {
    run sandboxed sh -c 'ip link set lo up && exec capdrop -- scfilter -- busybox sh -c "
        busybox ls / >/dev/null && echo busybox-ls ok
        /bin/ls / >/dev/null && echo glibc-ls ok
        busybox ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ping ok
        \"\$1\" thread getpid && \"\$2\" thread getpid" sh "$1" "$2"' sh "$PROBE" "$PROBE_DYN"
    assert_status 0
    assert_equal "$output" $'busybox-ls ok\nglibc-ls ok\nping ok\nthread=OK\ngetpid=OK\nthread=OK\ngetpid=OK'
}

@test "capability rules follow the bounding set: with CAP_SYS_ADMIN, unshare and clone3 are allowed" {
    run probe_each "capdrop --keep all -- scfilter --" unshare clone3 keyctl
    assert_status 0
    assert_equal "$output" $'unshare=OK\nclone3=EINVAL\nkeyctl=EPERM'
}

@test "an OCI linux.seccomp profile changes exactly what it says; an ABI it leaves out is killed" {
    local profile="$BATS_TEST_TMPDIR/oci.json"
    cat >"$profile" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
 "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
JSON
    run probe_each "capdrop -- scfilter --profile $profile --" mkdir keyctl unshare getpid
    assert_status 0
    assert_equal "$output" $'mkdir=EACCES\nkeyctl=OK\nunshare=OK\ngetpid=OK'
    # No SCMP_ARCH_X86: an int 0x80 call kills the process (SIGSYS, 31).
    run sandboxed capdrop -- scfilter --profile "$profile" -- "$PROBE" i386_getpid
    assert_status 159
}

@test "a Docker-format profile: argument rules, capability excludes, unknown names skipped" {
    local profile="$BATS_TEST_TMPDIR/docker.json"
    cat >"$profile" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
 "syscalls": [
  {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
   "args": [{"index": 0, "value": 268435456, "valueTwo": 268435456, "op": "SCMP_CMP_MASKED_EQ"}]},
  {"names": ["keyctl", "no_such_call"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}]}
JSON
    run probe_each "capdrop -- scfilter --profile $profile --" unshare i386_unshare keyctl mkdir
    assert_status 0
    assert_equal "$output" $'unshare=EACCES\ni386_unshare=EACCES\nkeyctl=EPERM\nmkdir=ENOENT'
    run probe_each "capdrop --keep all -- scfilter --profile $profile --" keyctl
    assert_equal "$output" "keyctl=OK"
}

@test "a malformed profile is exit 125 with one line, and nothing runs" {
    local profile="$BATS_TEST_TMPDIR/bad.json"
    printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}' >"$profile"
    run --separate-stderr sandboxed capdrop -- scfilter --profile "$profile" -- echo ran
    assert_status 125
    assert_equal "$output" ""
    assert_equal "$stderr" "scfilter: bad profile '$profile': syscalls[0]: action: unknown action 'SCMP_ACT_MAYBE'"
    printf '{"defaultAction": ' >"$profile"
    run --separate-stderr sandboxed capdrop -- scfilter --profile "$profile" -- echo ran
    assert_status 125
    [[ $stderr == "scfilter: bad profile '$profile': EOF while parsing"* ]] || fail "$stderr"
}

@test "without no_new_privs and without CAP_SYS_ADMIN it refuses; with CAP_SYS_ADMIN it loads" {
    run --separate-stderr sandboxed capdrop --keep none --allow-new-privs -- scfilter -- echo ran
    assert_status 125
    assert_equal "$output" ""
    assert_equal "$stderr" "scfilter: load seccomp filter: no_new_privs is not set and CAP_SYS_ADMIN is not held (run scfilter after capdrop)"
    run sandboxed scfilter -- grep '^Seccomp:' /proc/self/status
    assert_status 0
    assert_equal "$output" $'Seccomp:\t2'
}

@test "ISOKIT_TRACE=1 names the profile and counts its rules; the usual bounding set gets the stored program" {
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 capdrop -- scfilter -- true
    assert_status 0
    local line
    line=$(grep '^scfilter:' <<<"$stderr")
    [[ $line =~ ^scfilter:\ profile\ docker-default\ \(built\ in,\ compiled\ at\ build\ time\):\ [0-9]+\ rules,\ [0-9]+\ system\ calls\ on\ 3\ ABIs,\ [0-9]+\ instructions ]] || fail "$line" || return 1
    # A bounding set build.rs did not store (CAP_SYS_ADMIN added) is
    # compiled at run time.
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 capdrop --keep default,sys_admin -- scfilter -- true
    assert_status 0
    line=$(grep '^scfilter:' <<<"$stderr")
    [[ $line =~ ^scfilter:\ profile\ docker-default\ \(built\ in\):\ [0-9]+\ rules ]] || fail "$line"
}

@test "--emit-bpf writes the program; bwrap --seccomp runs with it" {
    local bpf="$BATS_TEST_TMPDIR/docker.bpf"
    run sandboxed scfilter --emit-bpf "$bpf"
    assert_status 0
    # 8 bytes per struct sock_filter; this process was not filtered.
    (( $(stat -c %s "$bpf") % 8 == 0 )) || fail "size $(stat -c %s "$bpf")"
    run sandboxed sh -c 'exec bwrap --ro-bind / / --proc /proc --dev /dev --unshare-pid --seccomp 9 -- "$1" keyctl add_key clone3 getpid 9<"$2"' sh "$PROBE" "$bpf"
    assert_status 0
    assert_equal "$output" $'keyctl=EPERM\nadd_key=EPERM\nclone3=EINVAL\ngetpid=OK'
}

@test "--help teaches: usage, the default profile, examples, exit codes" {
    run scfilter --help
    assert_status 0
    [[ $output == *"Usage: scfilter [OPTIONS] [--] PROG [ARGS...]"* ]] || fail "$output"
    [[ $output == *"Docker's default profile"* && $output == *"bwrap"* && $output == *"125"* ]] || fail "$output"
    run --separate-stderr scfilter
    assert_status 125
    assert_equal "$stderr" $'scfilter: missing command to run\nTry \'scfilter --help\' for more information.'
}
