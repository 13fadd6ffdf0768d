#!/usr/bin/env bats
# The chain-loading contract (DESIGN.md) that every tool follows: exit
# codes 125/126/127, the tail passed through untouched, --help, tracing,
# and no fd leaking into the next program.
#
# Each tool is exercised through the shortest invocation that reaches its
# final exec. A tool is listed here when it lands.

# The words of ${CHAIN[TOOL]} are split on purpose (SC2086); bats' run sets
# output, lines, stderr in the test's own subshell (SC2154, SC2030, SC2031);
# the programs in single quotes are expanded by the sh that runs them (SC2016).
# shellcheck disable=SC2086,SC2154,SC2030,SC2031,SC2016

load helpers
load cgroup

# cgset's cgroup for these tests: one name per suite run, removed after each test.
CONTRACT_CGROUP="isokit-contract-$$"

# pivot needs an image; the test's own temporary directories are bound at
# the same path inside, so that programs a test writes there (a
# non-executable file, a PATH entry) exist in the new root too.
ROOTFS="$BATS_FILE_TMPDIR/rootfs"


# TOOL -> the words that make it do its step and exec what follows. -g:
# bats sources this file inside a function, where a plain declare would
# make the table local to it and empty in every test.
# ptyrun is not listed: its --relay runs the command on a terminal of its
# own, whose output the relay copies to stdout as a terminal gives it
# (CRLF line ends, stderr merged), as docker run -t does; its 126/127 and
# signal state are tested in tests/pty.bats.
declare -gA CHAIN=(
    [capdrop]="capdrop"
    [unshare-lite]="unshare-lite --mount --uts"
    [cgset]="cgset --name $CONTRACT_CGROUP --pids 64"
    [pivot]="pivot --bind $BATS_RUN_TMPDIR:$BATS_RUN_TMPDIR $ROOTFS"
    # Run by `sandboxed` in a new network namespace whose parent (bats)
    # is outside it: loopback only, the outer namespace found by walking up.
    [netns-setup]="netns-setup"
)

setup_file() {
    cg_remember_parents
    "$BATS_TEST_DIRNAME/../scripts/mkrootfs" busybox "$BATS_FILE_TMPDIR/rootfs"
}

teardown_file() {
    cg_forget_parents
}

teardown() {
    cg_cleanup "$CONTRACT_CGROUP"
}

tools() {
    printf '%s\n' "${!CHAIN[@]}" | sort
}

# Run CHECK TOOL for every tool. The check is called as a plain command,
# never as `check || ...` or in `if`: there bash would turn errexit off
# inside it and only its last line could fail the test.
each_tool() {
    local tool
    for tool in $(tools); do
        echo "# checking $tool" >&2
        "$@" "$tool"
    done
}

exits_125_on_unknown_option() {
    run --separate-stderr "$1" --no-such-option true
    assert_status 125
    assert_equal "${stderr_lines[0]}" "$1: unrecognized argument: --no-such-option"
    assert_equal "${stderr_lines[1]}" "Try '$1 --help' for more information."
}

@test "125 on an unknown option, with the usage hint" {
    each_tool exits_125_on_unknown_option
}

exits_125_on_missing_command() {
    # cgset without PROG applies the limits and exits 0 (DESIGN.md, "cgset":
    # it can limit other processes with --pid, or prepare a cgroup); that
    # case is tested in cgset.bats.
    [[ $1 == cgset ]] && return 0
    run --separate-stderr sandboxed ${CHAIN[$1]}
    assert_status 125
    [[ $stderr == *"missing command"* ]] || fail "$1: $stderr"
}

@test "125 when no command is given" {
    each_tool exits_125_on_missing_command
}

exits_127_on_missing_program() {
    run -127 --separate-stderr sandboxed ${CHAIN[$1]} /no/such/program
    assert_status 127
    assert_equal "$stderr" "$1: cannot run '/no/such/program': No such file or directory"
}

@test "127 when the command does not exist" {
    each_tool exits_127_on_missing_program
}

exits_126_on_non_executable() {
    local file="$BATS_TEST_TMPDIR/not-executable"
    printf '#!/bin/sh\n' >"$file"
    chmod 0644 "$file"
    run -126 --separate-stderr sandboxed ${CHAIN[$1]} "$file"
    assert_status 126
    assert_equal "$stderr" "$1: cannot run '$file': Permission denied"
}

@test "126 when the command is not executable" {
    each_tool exits_126_on_non_executable
}

passes_status_through() {
    run sandboxed ${CHAIN[$1]} sh -c 'exit 7'
    assert_status 7
}

@test "the command's own exit status is passed through" {
    each_tool passes_status_through
}

passes_tail_untouched() {
    # Options of the tool placed after the command belong to the command.
    run --separate-stderr sandboxed ${CHAIN[$1]} -- sh -c 'for a in "$@"; do printf "[%s]" "$a"; done' x --help --version -- y '' "two words"
    assert_status 0
    assert_equal "$output" "[--help][--version][--][y][][two words]"
}

@test "the tail is passed through untouched, options and -- included" {
    each_tool passes_tail_untouched
}

passes_non_utf8_through() {
    local bytes
    bytes=$(sandboxed ${CHAIN[$1]} sh -c 'printf %s "$1" | od -An -tx1' x $'\xff\xfeok' | tr -d ' \n')
    assert_equal "$bytes" "fffe6f6b"
}

@test "a non-UTF-8 argument reaches the command byte for byte" {
    each_tool passes_non_utf8_through
}

rejects_non_utf8_option() {
    run --separate-stderr "$1" "$2" $'\xff' true
    assert_status 125
}

@test "a non-UTF-8 option value is refused" {
    # Only tools with a string option take part, each with one of its own.
    rejects_non_utf8_option unshare-lite --hostname
    rejects_non_utf8_option cgset --name
}

help_exits_0() {
    run --separate-stderr "$1" --help
    assert_status 0
    [[ ${lines[0]} == "Usage: $1 "* ]] || fail "$1 --help: ${lines[0]}"
    [[ $output == *Examples:* ]] || fail "$1 --help has no examples"
    [[ $output == *125* ]] || fail "$1 --help does not list exit codes"
    run "$1" --version
    assert_status 0
    [[ $output == "$1 (isokit) "* ]] || fail "$1 --version: $output"
}

@test "--help and --version print to stdout and exit 0" {
    each_tool help_exits_0
}

# --version is answered only as the first word; after one of the tool's own
# options it is refused rather than ignored (so the help that lists it is true).
refuses_late_version() {
    run --separate-stderr sandboxed "$@"
    assert_status 125
    assert_equal "${stderr_lines[0]}" "$1: --version must come first"
}

@test "--version after the tool's own options is a usage error" {
    refuses_late_version capdrop --show --version
    refuses_late_version unshare-lite --uts --version true
    refuses_late_version cgset --name "$CONTRACT_CGROUP" --version
    refuses_late_version pivot --ro --version "$ROOTFS" true
    refuses_late_version netns-setup --mtu 1500 --version true
    refuses_late_version scfilter --emit-bpf "$BATS_TEST_TMPDIR/bpf" --version
    refuses_late_version imgpull --print-name --version alpine
    refuses_late_version imgunpack --store "$BATS_TEST_TMPDIR" --version alpine
    refuses_late_version ptyrun --relay --version true
    refuses_late_version imgload --store "$BATS_TEST_TMPDIR" --version archive.tar
    refuses_late_version compose-plan --project demo --version compose.yaml
}

help_word_is_a_program() {
    local dir="$BATS_TEST_TMPDIR/path"
    mkdir -p "$dir"
    printf '#!/bin/sh\necho ran-help\n' >"$dir/help"
    chmod +x "$dir/help"
    run sandboxed env PATH="$dir:$PATH" ${CHAIN[$1]} help
    assert_status 0
    assert_equal "$output" "ran-help"
}

@test "the bare word help is a program name, not a help request" {
    each_tool help_word_is_a_program
}

traces_one_line() {
    run --separate-stderr sandboxed env ISOKIT_TRACE=1 ${CHAIN[$1]} true
    assert_status 0
    [[ ${stderr_lines[0]} == "$1: "* ]] || fail "$1 trace: $stderr"
    run --separate-stderr sandboxed ${CHAIN[$1]} true
    assert_equal "$stderr" ""
}

@test "ISOKIT_TRACE=1 prints a line starting with the tool's name, and only then" {
    each_tool traces_one_line
}

# The fds the final program holds, as the kernel lists them.
open_fds='cd /proc/self/fd && for f in *; do printf "%s " "$f"; done'

sees_only_inherited_fds() {
    # sh's glob reads the directory and closes it again before printing,
    # so the list is exactly what the shell inherited from the tool. bats
    # itself hands a few fds to every command: the program must see the
    # same list as it does without the tool, and one more fd given on top.
    local caller
    caller=$(sandboxed sh -c "$open_fds")
    run sandboxed ${CHAIN[$1]} sh -c "$open_fds"
    assert_status 0
    assert_equal "$output" "$caller"
    caller=$(sandboxed sh -c "$open_fds" 9</dev/null)
    [[ " $caller" == *" 9 "* ]] || fail "fd 9 not given: $caller"
    run sandboxed ${CHAIN[$1]} sh -c "$open_fds" 9</dev/null
    assert_status 0
    assert_equal "$output" "$caller"
}

@test "the final program sees only the fds the tool inherited" {
    each_tool sees_only_inherited_fds
}

# The caller's signal state as the kernel shows it in the program's status.
signal_state=(grep -E '^Sig(Blk|Ign):' /proc/self/status)

# A caller that blocks SIGUSR1 and ignores SIGINT and SIGPIPE (as nohup, a
# background job or a supervisor may), then execs the rest.
careful_caller=(perl -MPOSIX -e 'sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGUSR1)) or die "sigprocmask: $!";
    $SIG{INT} = $SIG{PIPE} = "IGNORE"; exec { $ARGV[0] } @ARGV or die "exec: $!"')

# Every chain a program can be started by, with its words.
signal_chains() {
    local tool
    for tool in $(tools); do
        echo "${CHAIN[$tool]}"
    done
    echo "unshare-lite --pid"
    echo "unshare-lite --pid --as-pid1"
    # The whole chain, in scripts/contain's order; capdrop, not in the
    # image, is taken from the host as contain does.
    echo "${CHAIN[cgset]} unshare-lite --mount --uts --pid ${CHAIN[netns-setup]} pivot --next-from-host ${CHAIN[pivot]#pivot } capdrop"
}

@test "the program starts with the caller's blocked and ignored signals, for every tool and the whole chain" {
    local plain careful chain
    plain=$(sandboxed "${signal_state[@]}")
    careful=$(sandboxed "${careful_caller[@]}" "${signal_state[@]}")
    # The careful caller really differs: SIGUSR1 (bit 10) blocked, SIGINT
    # and SIGPIPE (bits 2, 13) ignored.
    [[ $careful == *$'SigBlk:\t0000000000000200'* ]] || fail "careful caller: $careful"
    (( (0x$(sed -n 's/^SigIgn:\t//p' <<<"$careful") & 0x1002) == 0x1002 )) || fail "careful caller: $careful"
    while read -r chain; do
        echo "# checking $chain" >&2
        run sandboxed $chain "${signal_state[@]}"
        assert_status 0
        assert_equal "$output" "$plain"
        run sandboxed "${careful_caller[@]}" $chain "${signal_state[@]}"
        assert_status 0
        assert_equal "$output" "$careful"
    done < <(signal_chains)
}
