#!/usr/bin/env bats
# cpause and cunpause on a contain container: its processes stop (the
# kernel's freezer state, and a counter that stops growing), then go on.

load helpers

setup() {
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    export ISOKIT_IMAGES="$ROOT/target/test-images"
    NAME=pz$BATS_ROOT_PID
}

teardown() {
    "$ROOT/scripts/cunpause" "$NAME" 2>/dev/null || true
    "$ROOT/scripts/ckill" "$NAME" KILL 2>/dev/null || true
}

# The freezer's own report for the container's cgroup: FROZEN/THAWED (v1)
# or frozen 1/0 (v2 cgroup.events).
freezer_state() {
    local cgroup dir
    read -r cgroup <"$ISOKIT_STATE/$NAME/cgroup"
    dir=$(awk '$9 == "cgroup" && $NF ~ /(^|,)freezer(,|$)/ {print $5}' /proc/self/mountinfo)
    if [[ -n $dir && -d $dir/isokit/$cgroup ]]; then
        cat "$dir/isokit/$cgroup/freezer.state"
    else
        dir=$(awk '$9 == "cgroup2" {print $5}' /proc/self/mountinfo)
        grep '^frozen ' "$dir/isokit/$cgroup/cgroup.events"
    fi
}

lines_in() {
    wc -l <"$1"
}

# more_lines_than N: the counter grew past N (called anew by wait_for).
more_lines_than() {
    (($(lines_in "$BATS_TEST_TMPDIR/out/count") > $1))
}

@test "cpause freezes the container's processes, cunpause lets them go on" {
    mkdir -p "$BATS_TEST_TMPDIR/out"
    run sandboxed "$ROOT/scripts/contain" -d --name "$NAME" -v "$BATS_TEST_TMPDIR/out:/out" -- \
        sh -c 'while :; do echo x >>/out/count; sleep 0.05; done'
    assert_status 0
    wait_for test -s "$BATS_TEST_TMPDIR/out/count"
    "$ROOT/scripts/cpause" "$NAME"
    run freezer_state
    [[ $output == FROZEN || $output == "frozen 1" ]] || fail "not frozen: $output"
    before=$(lines_in "$BATS_TEST_TMPDIR/out/count")
    sleep 0.5
    assert_equal "$(lines_in "$BATS_TEST_TMPDIR/out/count")" "$before"
    "$ROOT/scripts/cunpause" "$NAME"
    run freezer_state
    [[ $output == THAWED || $output == "frozen 0" ]] || fail "not thawed: $output"
    wait_for more_lines_than "$before"
}

@test "cpause of an unknown container fails in one line" {
    run "$ROOT/scripts/cpause" nosuch
    assert_status 125
    assert_equal "$output" "cpause: no running container named 'nosuch'"
}
