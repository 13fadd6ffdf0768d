#!/usr/bin/env bats
# docs/TUTORIAL.md is tested: every ```console block is run, one block per
# fresh sandbox (util-linux unshare: mount, UTS, IPC, network), its `$ `
# commands in order in one bash session from the repository root, and each
# command's output must match the lines the text shows under it.
#
# Running and matching: tests/console.bash.

load helpers
load console

TUTORIAL="$ROOT/docs/TUTORIAL.md"

# Print the blocks as records: "@@BLOCK <line>" then the block's lines.
blocks() {
    awk '
        /^```console$/ { inside = 1; print "@@BLOCK " NR; next }
        /^```/ { inside = 0; next }
        inside { print }
    ' "$TUTORIAL"
}

@test "every console block of docs/TUTORIAL.md prints what the text shows" {
    local current="" start=0 failures=0 count=0 line
    local blockfile="$BATS_TEST_TMPDIR/block"
    while IFS= read -r line; do
        if [[ $line == "@@BLOCK "* ]]; then
            if [[ -n $current ]]; then
                run_block "$blockfile" "TUTORIAL.md:$start" '$ ' "$ROOT" || failures=$((failures + 1))
            fi
            current=1 start=${line#@@BLOCK } count=$((count + 1))
            : >"$blockfile"
            continue
        fi
        printf '%s\n' "$line" >>"$blockfile"
    done < <(blocks)
    [[ -n $current ]] && { run_block "$blockfile" "TUTORIAL.md:$start" '$ ' "$ROOT" || failures=$((failures + 1)); }
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
