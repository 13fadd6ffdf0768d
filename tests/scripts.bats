#!/usr/bin/env bats
# The shell scripts: shellcheck-clean (every severity, style notes
# included), and each answers --help.

load helpers

# Every shell script of the project (the bats suites are left out: bats'
# `run` makes shellcheck report subshell effects that are intended).
shell_scripts() {
    local file
    for file in "$ROOT"/scripts/* "$ROOT"/scripts/lib/*.sh "$ROOT"/scripts/vm/* \
        "$ROOT"/scripts/bench.d/*.bash "$ROOT"/examples/*.sh; do
        [[ -f $file ]] || continue
        if [[ $file == *.sh || $file == *.bash ]] || head -n1 "$file" | grep -q '^#!.*sh'; then
            echo "$file"
        fi
    done
}

@test "shellcheck is clean on every script" {
    local -a files
    mapfile -t files < <(shell_scripts)
    ((${#files[@]} >= 15)) || fail "only ${#files[@]} scripts found"
    cd "$ROOT"
    run shellcheck -x "${files[@]}"
    assert_status 0
}

@test "the user-facing scripts answer --help with a usage line, exit 0" {
    local script
    for script in contain cps ckill cexec clogs mkrootfs netbridge cnetwork ccompose vm-test bench bench-images install-kit lint-tests; do
        run "$ROOT/scripts/$script" --help
        [[ $status == 0 ]] || fail "$script --help exited $status"
        [[ $output == *Usage:* ]] || fail "$script --help: $output"
    done
}
