#!/usr/bin/env bats
# contain's planner (scripts/lib/plan.sh), without root: `contain --explain`
# run as nobody (uid 65534) must print, for each case tests/contain-plan/
# CASE.args (one argument a line), exactly CASE.chain. The paths are fixed
# (ISOKIT_BIN=/isokit/bin, state /isokit/state, images /isokit/images,
# the cgroup v2 mount /isokit/cgroup2,
# none of which exists), so the chain is the same on every machine.
#
# After a deliberate change to the chain: ISOKIT_UPDATE_GOLDEN=1 bats
# tests/contain-plan.bats rewrites the .chain files; review the diff.

load helpers

GOLDEN="$BATS_TEST_DIRNAME/contain-plan"

setup_file() {
    # The scripts where uid 65534 can read them (a clone under /root is not).
    local public
    public=$(public_tmp)
    cp -r "$ROOT/scripts" "$public/"
    chmod -R a+rX "$public/scripts"
    export PUBLIC_SCRIPTS="$public/scripts"
}

# contain --explain ARGS... as nobody, in a clean environment.
plan_as_nobody() {
    setpriv --reuid 65534 --regid 65534 --clear-groups \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ISOKIT_BIN=/isokit/bin ISOKIT_CGROUP2=/isokit/cgroup2 \
        ISOKIT_STATE=/isokit/state ISOKIT_IMAGES=/isokit/images \
        "$PUBLIC_SCRIPTS/contain" --explain "$@"
}

@test "every golden case: --explain as nobody prints exactly the expected chain" {
    local args_file case count=0 mismatches=0
    for args_file in "$GOLDEN"/*.args; do
        case=${args_file%.args}
        local -a args
        mapfile -t args <"$args_file"
        run plan_as_nobody "${args[@]}"
        count=$((count + 1))
        if [[ ${ISOKIT_UPDATE_GOLDEN:-} == 1 ]]; then
            printf '%s\n' "$output" >"$case.chain"
            continue
        fi
        if [[ $status != 0 || $output != "$(cat "$case.chain")" ]]; then
            mismatches=$((mismatches + 1))
            echo "--- ${case##*/}: status $status; diff expected actual:" >&2
            diff "$case.chain" <(printf '%s\n' "$output") >&2 || true
        fi
    done
    ((count >= 10)) || fail "only $count cases"
    ((mismatches == 0)) || fail "$mismatches of $count cases differ"
}

@test "as nobody, --explain shows root's chain; running one with a root-only option is refused with 125" {
    run plan_as_nobody --name x -- true
    assert_status 0
    [[ ${lines[1]} == "/isokit/bin/cgset --name x."* ]] || fail "$output"
    # Without --explain a non-root user gets the rootless chain, which
    # has no cgroup limits: said before anything is built or made.
    run setpriv --reuid 65534 --regid 65534 --clear-groups env -i PATH=/usr/bin:/bin \
        ISOKIT_STATE=/isokit/state ISOKIT_IMAGES=/isokit/images "$PUBLIC_SCRIPTS/contain" --name x --memory 64M -- true
    assert_status 125
    assert_equal "${lines[0]}" "contain: --memory needs root (a cgroup limit); without root: no limits"
}

@test "the planner refuses bad options as nobody too, before anything else" {
    run plan_as_nobody --net bad/name -- true
    assert_status 125
    assert_equal "${lines[0]}" "contain: invalid --net 'bad/name' (none, bridge, host, or a network made by cnetwork create)"
    run plan_as_nobody -p 80:80 -- true
    assert_status 125
    assert_equal "${lines[0]}" "contain: -p requires --net bridge, a network or --net pasta"
    run plan_as_nobody --net bridge -p 8080-8081:80 -- true
    assert_status 125
    assert_equal "${lines[0]}" "contain: invalid -p '8080-8081:80' ([IP:]HOSTPORT:CTRPORT[/tcp|/udp], ports 1 to 65535, ranges of one length)"
    run plan_as_nobody --name ok
    assert_status 125
    assert_equal "${lines[0]}" "contain: missing command to run"
}
