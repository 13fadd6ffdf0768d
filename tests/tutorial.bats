#!/usr/bin/env bats
# docs/TUTORIAL.md is tested: every ```console block is run, one block per
# fresh sandbox (util-linux unshare: mount, UTS, IPC, network), its `$ `
# commands in order in one bash session from the repository root, and each
# command's output must match the lines the text shows under it.
#
# Matching: lines compare exactly, except that `...` inside a line matches
# anything, and a line that is only `...` matches any number of lines.

load helpers

TUTORIAL="$ROOT/docs/TUTORIAL.md"

# Print the blocks as records: "@@BLOCK <line>" then the block's lines.
blocks() {
    awk '
        /^```console$/ { inside = 1; print "@@BLOCK " NR; next }
        /^```/ { inside = 0; next }
        inside { print }
    ' "$TUTORIAL"
}

# Does the actual output (file $1) match the expected lines (file $2)?
matches() {
    local -a actual expected
    mapfile -t actual <"$1"
    mapfile -t expected <"$2"
    match_from 0 0
}

match_from() {
    local a=$1 e=$2 pattern
    while ((e < ${#expected[@]})); do
        if [[ ${expected[e]} == ... ]]; then
            # Skip any number of actual lines (none included).
            local skip
            for ((skip = a; skip <= ${#actual[@]}; skip++)); do
                match_from "$skip" $((e + 1)) && return 0
            done
            return 1
        fi
        ((a < ${#actual[@]})) || return 1
        pattern=$(printf '%s' "${expected[e]}" | sed 's/[][*?\\]/\\&/g; s/\.\.\./*/g')
        # shellcheck disable=SC2053 # the pattern is meant to glob
        [[ ${actual[a]} == $pattern ]] || return 1
        a=$((a + 1)) e=$((e + 1))
    done
    ((a == ${#actual[@]}))
}

# Run one block (file $1: its lines); report mismatches on stderr.
run_block() {
    local block=$1 start=$2 dir="$BATS_TEST_TMPDIR/block-$2"
    mkdir -p "$dir"
    local n=0 line script="$dir/script"
    : >"$script"
    echo 'cd "$ROOT"; export PATH="$ROOT/target/bin:$ROOT/scripts:$PATH"; __status=0' >>"$script"
    # contain's images and state: the test's, not the machine's.
    printf 'export ISOKIT_IMAGES=%q ISOKIT_STATE=%q\n' "$ROOT/target/test-images" "$dir/state" >>"$script"
    while IFS= read -r line; do
        if [[ $line == '$ '* ]]; then
            n=$((n + 1))
            local command=${line#\$ }
            command=${command#sudo }
            printf '%s\n' "$command" >"$dir/cmd-$n"
            : >"$dir/expected-$n"
            # Keep $? across the marker line, so `echo $?` shows the
            # status of the command before it.
            printf 'echo "@@OUT %d"\n(exit $__status)\n%s 2>&1\n__status=$?\n' "$n" "$command" >>"$script"
        elif ((n > 0)); then
            printf '%s\n' "$line" >>"$dir/expected-$n"
        fi
    done <"$block"
    sandboxed bash "$script" >"$dir/output" 2>&1 </dev/null || true
    awk -v dir="$dir" '/^@@OUT [0-9]+$/ { file = dir "/actual-" $2; printf "" > file; next } file { print > file }' "$dir/output"
    local i failed=0
    for ((i = 1; i <= n; i++)); do
        touch "$dir/actual-$i"
        if ! matches "$dir/actual-$i" "$dir/expected-$i"; then
            failed=1
            {
                echo "TUTORIAL.md block at line $start, command: $(cat "$dir/cmd-$i")"
                echo "--- expected"
                cat "$dir/expected-$i"
                echo "--- actual"
                cat "$dir/actual-$i"
            } >&2
        fi
    done
    return "$failed"
}

@test "every console block of docs/TUTORIAL.md prints what the text shows" {
    local current="" start=0 failures=0 count=0 line
    local blockfile="$BATS_TEST_TMPDIR/block"
    while IFS= read -r line; do
        if [[ $line == "@@BLOCK "* ]]; then
            if [[ -n $current ]]; then
                run_block "$blockfile" "$start" || failures=$((failures + 1))
            fi
            current=1 start=${line#@@BLOCK } count=$((count + 1))
            : >"$blockfile"
            continue
        fi
        printf '%s\n' "$line" >>"$blockfile"
    done < <(blocks)
    [[ -n $current ]] && { run_block "$blockfile" "$start" || failures=$((failures + 1)); }
    ((count > 0)) || fail "no console blocks found in $TUTORIAL"
    ((failures == 0)) || fail "$failures of $count blocks did not match"
}

@test "the matcher itself: exact lines, ... inside a line, ... for many lines" {
    local dir=$BATS_TEST_TMPDIR
    printf 'a\nb 123 c\nx\ny\nz\n' >"$dir/actual"
    printf 'a\nb ... c\n...\nz\n' >"$dir/expected"
    matches "$dir/actual" "$dir/expected"
    printf 'a\nb 123 d\n...\n' >"$dir/expected"
    run ! matches "$dir/actual" "$dir/expected"
    printf 'a\n' >"$dir/expected"
    run ! matches "$dir/actual" "$dir/expected"
    printf '[x]*\n' >"$dir/actual"
    printf '[x]*\n' >"$dir/expected"
    matches "$dir/actual" "$dir/expected"
    printf 'yx\n' >"$dir/actual"
    run ! matches "$dir/actual" "$dir/expected"
}
