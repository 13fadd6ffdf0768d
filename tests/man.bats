#!/usr/bin/env bats
# The manual pages (man/*.scd, rendered by scripts/mkman into the committed
# man/*.1 and man/*.7): each tool and script has one, each renders without
# a warning, each is current with its source, and every example in their
# EXAMPLES sections runs and prints what the page shows.
#
# An example is a ``` block in the EXAMPLES section: lines starting with
# '# ' are commands, run as root in order in one bash session inside a
# fresh sandbox (tests/console.bash), from an empty scratch directory, with
# the tools and scripts on PATH; the lines under a command are its output.
# Examples name their cgroups demo-$$ (the session's PID), so that runs at
# the same time never share one; teardown removes what a failed one left.

load helpers
load console

PAGES=(isokit.7 unshare-lite.1 netns-setup.1 pivot.1 cgset.1 capdrop.1 scfilter.1
    contain.1 cps.1 ckill.1 cexec.1 clogs.1 mkrootfs.1 netbridge.1
    imgpull.1 imgunpack.1 imgload.1 cimages.1 crmi.1 cnetwork.1 isokit-oci.1 cpause.1 ccompose.1 compose-plan.1)

teardown() {
    local pidfile pid state
    for pidfile in "$BATS_TEST_TMPDIR"/block-*/shell-pid; do
        [[ -f $pidfile ]] || continue
        pid=$(<"$pidfile")
        state=${pidfile%/shell-pid}/state
        if [[ -d $state ]]; then
            ISOKIT_STATE=$state "$ROOT/scripts/ckill" --all KILL >/dev/null 2>&1 || true
            sleep 0.2
            ISOKIT_STATE=$state "$ROOT/scripts/cps" >/dev/null 2>&1 || true
        fi
        cgset --remove --name "demo-$pid" >/dev/null 2>&1 || true
    done
}

# The example blocks of man page source $1, as records: "@@BLOCK <line>"
# then the block's lines, scdoc's \\ turned back into \.
example_blocks() {
    awk '
        /^```$/ { if (inside) { inside = 0 } else if (examples) { inside = 1; print "@@BLOCK " NR } else { skip = !skip } next }
        inside { gsub(/\\\\/, "\\"); print; next }
        skip { next }
        /^# / { examples = ($0 == "# EXAMPLES") }
    ' "$1"
}

@test "every tool and script has a page, and every page a source" {
    local page tool
    for page in "${PAGES[@]}"; do
        [[ -f $ROOT/man/$page.scd ]] || fail "no source man/$page.scd" || return 1
        [[ -f $ROOT/man/$page ]] || fail "man/$page not rendered (scripts/mkman)" || return 1
    done
    for tool in "$ROOT"/*/src/main.rs; do
        tool=${tool%/src/main.rs}
        [[ -f $ROOT/man/${tool##*/}.1.scd ]] || fail "no manual page for ${tool##*/}" || return 1
    done
}

@test "the rendered pages are current with their sources" {
    run "$ROOT/scripts/mkman" --check
    assert_status 0
}

@test "every page renders without a warning, within 80 columns" {
    local page warnings wide
    for page in "${PAGES[@]}"; do
        warnings=$(MANWIDTH=80 man --warnings -l "$ROOT/man/$page" 2>&1 >/dev/null)
        assert_equal "$warnings" "" || return 1
        warnings=$(groff -ww -z -man "$ROOT/man/$page" 2>&1)
        assert_equal "$warnings" "" || return 1
        # ASCII output: awk counts bytes, and a table is drawn in UTF-8.
        wide=$(MANWIDTH=80 man -E ascii -l "$ROOT/man/$page" 2>/dev/null | awk 'length > 80')
        assert_equal "$wide" "" || return 1
    done
}

@test "every page has the sections a reader looks for" {
    local page section
    for page in "${PAGES[@]}"; do
        for section in NAME DESCRIPTION EXAMPLES 'SEE ALSO'; do
            grep -qx "# $section" "$ROOT/man/$page.scd" || fail "man/$page.scd: no $section section" || return 1
        done
        [[ $page == *.7 ]] && continue
        for section in SYNOPSIS OPTIONS 'EXIT STATUS'; do
            grep -qx "# $section" "$ROOT/man/$page.scd" || fail "man/$page.scd: no $section section" || return 1
        done
    done
}

# run_example PAGE LINE BLOCKFILE: run one example block, from a scratch
# directory of its own.
run_example() {
    local cwd="$BATS_TEST_TMPDIR/work-$1-$2"
    mkdir -p "$cwd"
    run_block "$3" "$1:$2" '# ' "$cwd"
}

@test "every example in the manual pages prints what the page shows" {
    local page line start='' count=0 failures=0
    local blockfile="$BATS_TEST_TMPDIR/block"
    for page in "${PAGES[@]}"; do
        start=''
        while IFS= read -r line; do
            if [[ $line == "@@BLOCK "* ]]; then
                if [[ -n $start ]]; then
                    run_example "$page" "$start" "$blockfile" || failures=$((failures + 1))
                fi
                start=${line#@@BLOCK } count=$((count + 1))
                : >"$blockfile"
                continue
            fi
            printf '%s\n' "$line" >>"$blockfile"
        done < <(example_blocks "$ROOT/man/$page.scd")
        if [[ -n $start ]]; then
            run_example "$page" "$start" "$blockfile" || failures=$((failures + 1))
        fi
    done
    ((count >= ${#PAGES[@]})) || fail "only $count example blocks in ${#PAGES[@]} pages" || return 1
    ((failures == 0)) || fail "$failures of $count example blocks did not match"
}

@test "the example reader takes only EXAMPLES blocks, and unescapes them" {
    local source="$BATS_TEST_TMPDIR/t.1.scd"
    printf '%s\n' 't(1)' '# DESCRIPTION' '```' '# not a heading' '```' '# EXAMPLES' 'Text.' \
        '```' "# echo a \\\\" '  b' 'a b' '```' '# SEE ALSO' '```' '# no' '```' >"$source"
    run example_blocks "$source"
    assert_equal "$output" "@@BLOCK 8"$'\n'"# echo a \\"$'\n'"  b"$'\n'"a b"
}

@test "a continued command runs whole, and a wrong output fails the block" {
    local block="$BATS_TEST_TMPDIR/b"
    printf '%s\n' "# echo one \\" '  two' 'one two' '# echo $?' '0' >"$block"
    run_block "$block" good '# ' "$BATS_TEST_TMPDIR"
    printf '%s\n' '# echo one' 'two' >"$block"
    run ! run_block "$block" bad '# ' "$BATS_TEST_TMPDIR"
}

@test "each proposed short --help (man/help/TOOL.txt) fits 80 columns and lists --version" {
    local tool file
    for tool in unshare-lite netns-setup pivot cgset capdrop scfilter imgpull imgunpack imgload compose-plan; do
        file=$ROOT/man/help/$tool.txt
        [[ -f $file ]] || fail "no $file" || return 1
        assert_equal "$(awk 'length > 80' "$file")" "" || return 1
        assert_equal "$(grep -c '^Usage: ' "$file")" 1 || return 1
        grep -q -- '--version' "$file" || fail "$file does not list --version" || return 1
        grep -q "man $tool" "$file" || fail "$file does not point to the manual" || return 1
    done
}

@test "each tool's --help is the short text of man/help/TOOL.txt" {
    local tool help
    for tool in unshare-lite netns-setup pivot cgset capdrop scfilter imgpull imgunpack ptyrun imgload compose-plan; do
        help=$("$BIN/$tool" --help)
        assert_equal "$help" "$(cat "$ROOT/man/help/$tool.txt")" || return 1
    done
}
