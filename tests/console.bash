# Executed documentation: run shell sessions written in a document and
# compare what they print with what the document shows. Used by
# tests/tutorial.bats (the console blocks of docs/TUTORIAL.md) and
# tests/man.bats (the EXAMPLES of the manual pages); load with `load console`.
#
# A block is a list of lines: a line starting with the prompt (e.g. '# ')
# is a command; the lines after it, up to the
# next command, are its expected output (stdout and stderr together). A
# command line ending in a backslash continues on the next line. The
# commands of one block run in order in one bash session, inside a fresh
# `sandboxed` namespace set, from a given directory.
#
# Matching: lines compare exactly, except that `...` inside a line matches
# anything, and a line that is only `...` matches any number of lines.

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

# run_block FILE LABEL PROMPT DIR: run the block in FILE from directory
# DIR, PROMPT starting its commands; LABEL names it in failure reports (on
# stderr). The session's own shell PID is left in
# $BATS_TEST_TMPDIR/block-LABEL/shell-pid, for cleanups named after it.
run_block() {
    local block=$1 label=$2 prompt=$3 cwd=$4 dir
    dir="$BATS_TEST_TMPDIR/block-${label//[^A-Za-z0-9_.-]/_}"
    mkdir -p "$dir"
    local n=0 line script="$dir/script" continued=''
    : >"$script"
    printf 'cd %q || exit 1; export PATH=%q; __status=0; echo $$ >%q\n' \
        "$cwd" "$ROOT/target/bin:$ROOT/scripts:$PATH" "$dir/shell-pid" >>"$script"
    # contain's images and state: the test's, not the machine's.
    printf 'export ISOKIT_IMAGES=%q ISOKIT_STATE=%q\n' "$ROOT/target/test-images" "$dir/state" >>"$script"
    while IFS= read -r line; do
        if [[ -n $continued ]]; then
            printf '%s\n' "$line" >>"$dir/cmd-$n"
        elif [[ $line == "$prompt"* ]]; then
            n=$((n + 1))
            local command=${line#"$prompt"}
            command=${command#sudo }
            printf '%s\n' "$command" >"$dir/cmd-$n"
            : >"$dir/expected-$n"
            continued=1
        elif ((n > 0)); then
            printf '%s\n' "$line" >>"$dir/expected-$n"
        fi
        # Only a command line (or its continuation) ending in \ goes on.
        [[ -n $continued && $line == *\\ ]] || continued=''
    done <"$block"
    local i
    for ((i = 1; i <= n; i++)); do
        # Keep $? across the marker line, so `echo $?` shows the status of
        # the command before it.
        # shellcheck disable=SC2016 # expanded by the session's shell
        printf 'echo "@@OUT %d"\n(exit $__status)\n{\n%s\n} 2>&1\n__status=$?\n' "$i" "$(cat "$dir/cmd-$i")" >>"$script"
    done
    sandboxed bash "$script" >"$dir/output" 2>&1 </dev/null || true
    awk -v dir="$dir" '/^@@OUT [0-9]+$/ { file = dir "/actual-" $2; printf "" > file; next } file { print > file }' "$dir/output"
    local failed=0
    for ((i = 1; i <= n; i++)); do
        touch "$dir/actual-$i"
        if ! matches "$dir/actual-$i" "$dir/expected-$i"; then
            failed=1
            {
                echo "$label, command: $(cat "$dir/cmd-$i")"
                echo "--- expected"
                cat "$dir/expected-$i"
                echo "--- actual"
                cat "$dir/actual-$i"
            } >&2
        fi
    done
    return "$failed"
}
