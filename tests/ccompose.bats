#!/usr/bin/env bats
# ccompose: a compose file's application brought up, restarted and taken
# down, as the kernel and the filesystem show it (processes, links, nft
# maps, cgroup directories, volume directories), and its plan pasted into
# sh. Each test holds a throwaway sandbox (tests/net.bash): the bridge and
# the nftables table live in it and vanish with it.

load helpers
load net

setup_file() {
    make_test_image
}

setup() {
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    export ISOKIT_VOLUMES="$BATS_TEST_TMPDIR/volumes"
    hold_sandbox
    # The application's files, copied: the client writes into ./out.
    APP=$BATS_TEST_TMPDIR/app
    cp -r "$ROOT/tests/compose/two-tier" "$APP"
    mkdir "$APP/out"
}

teardown() {
    # The supervisors first (by the PIDs they recorded), so that none
    # restarts what release_sandbox kills.
    local file pid
    for file in "$ISOKIT_STATE"/.compose/*/*.supervisor; do
        [[ -f $file ]] || continue
        read -r pid _ <"$file"
        kill "$pid" 2>/dev/null || true
    done
    release_sandbox
}

ccompose() {
    in_sandbox "$ROOT/scripts/ccompose" -f "$APP/compose.yaml" "$@"
}

# Has process $1 ended: gone, or a zombie not reaped yet (the orphaned
# supervisors go to the machine's PID 1, which may be slow to reap)?
ended() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
    stat=${stat##*) }
    [[ ${stat%% *} == Z ]]
}

# Has file $1 at least $2 lines?
lines_at_least() {
    local count
    count=$(wc -l <"$1") || return 1
    ((count >= $2))
}

# The host PID of the program the init of container $1 runs.
program_pid() {
    local init pid
    { read -r init <"$ISOKIT_STATE/$1/pid"; } 2>/dev/null || return 1
    # One line without a newline: read says EOF, the words are read.
    { read -r pid _ <"/proc/$init/task/$init/children"; } 2>/dev/null || true
    [[ -n $pid ]] && echo "$pid"
}

# Is the server's program a new one (not PID $1) that serves the page?
serving_again() {
    [[ -s $ISOKIT_STATE/app-server-1/pid ]] || return 1
    local pid
    pid=$(program_pid app-server-1) || return 1
    [[ -n $pid && $pid != "$1" ]] || return 1
    [[ $(in_sandbox timeout 5 busybox wget -q -O - http://127.0.0.1:8080/ 2>/dev/null) == "hi, world" ]]
}

@test "up: the client gets the page by service name once the server is healthy; ps lists both running" {
    run ccompose up -d
    assert_status 0
    assert_equal "$output" $'app-server-1\napp-client-1'
    wait_for test -s "$APP/out/page"
    # .env gave GREETING, the default AUDIENCE; fetched by the name "server".
    assert_equal "$(<"$APP/out/page")" "hi, world"
    # The client started after the server answered: it never missed it.
    [[ ! -e $APP/out/misses ]] || fail "the client ran before the server was healthy: $(<"$APP/out/misses")"
    # The page lives in the named volume, a directory on the host.
    assert_equal "$(<"$ISOKIT_VOLUMES/app_www/index.html")" "hi, world"
    assert_equal "$(stat -c %a "$ISOKIT_VOLUMES")" 700
    # Both on the project's bridge, in the subnet cnetwork gave it.
    local bridge
    bridge=$(source "$ROOT/scripts/lib/common.sh"; network_bridge_name app_default)
    run in_sandbox ip -o link show master "$bridge"
    assert_equal "${#lines[@]}" 2
    run ccompose ps
    assert_status 0
    local name pid
    for name in app-server-1 app-client-1; do
        pid=$(<"$ISOKIT_STATE/$name/pid")
        [[ -d /proc/$pid ]] || fail "$name: no process $pid"
        [[ $output == *"$name "*" running "*" $pid "* ]] || fail "ps: $output"
    done
    # The published port, in isokit's table in the sandbox.
    run in_sandbox nft list map ip isokit publish
    [[ $output == *"tcp . 8080 : "* ]] || fail "$output"
    run ccompose exec server cat /www/index.html
    assert_status 0
    assert_equal "$output" "hi, world"
}

@test "restart: on-failure restarts the server killed from the host; ckill stops it for good" {
    ccompose up -d >/dev/null
    local old
    old=$(program_pid app-server-1)
    [[ -n $old ]] || fail "no server program"
    kill -KILL "$old"
    wait_for serving_again "$old"
    run ccompose ps
    [[ $output == *"app-server-1 "*" running "*" 1"* ]] || fail "ps: $output"
    # A stop asked for with ckill is not undone by the supervisor, which
    # ckill finds from the container's owner: the supervisor writes
    # nothing into the container's state (made there while contain removed
    # the directory, a file kept it and the name).
    [[ ! -e $ISOKIT_STATE/app-server-1/supervisor ]] || fail "a supervisor record in the container's state"
    local supervisor
    read -r supervisor _ <"$ISOKIT_STATE/.compose/app/server.supervisor"
    in_sandbox "$ROOT/scripts/ckill" app-server-1
    wait_for ended "$supervisor"
    [[ ! -e $ISOKIT_STATE/app-server-1 ]] || fail "the server was restarted"
}

@test "down -v leaves no container, supervisor, bridge, nft rule, cgroup or volume" {
    ccompose up -d >/dev/null
    wait_for test -s "$APP/out/page"
    local supervisors=() file pid
    for file in "$ISOKIT_STATE"/.compose/app/*.supervisor; do
        read -r pid _ <"$file"
        supervisors+=("$pid")
    done
    assert_equal "${#supervisors[@]}" 2
    local cgroups
    # cgroup_name NAME VAR sets VAR (it prints nothing).
    cgroups=$(source "$ROOT/scripts/lib/common.sh"; for n in app-server-1 app-client-1; do cgroup_name "$n" c; echo "$c"; done)
    [[ $cgroups == app-server-1.*app-client-1.* ]] || fail "no cgroup names: '$cgroups'"
    run ccompose down -v
    assert_status 0
    for pid in "${supervisors[@]}"; do
        ended "$pid" || fail "supervisor $pid still runs"
    done
    run ls -A "$ISOKIT_STATE"
    [[ $output != *app-* ]] || fail "container state left: $output"
    [[ ! -e $ISOKIT_STATE/.compose/app ]] || fail "project state left"
    [[ ! -e $ISOKIT_STATE/.networks/app_default ]] || fail "network record left"
    run in_sandbox ip -o link show
    [[ $output != *isk-* && $output != *ve-* ]] || fail "links left: $output"
    run in_sandbox nft list table ip isokit
    [[ $status != 0 ]] || fail "nft table left: $output"
    local cgroup
    for cgroup in $cgroups; do
        run find /sys/fs/cgroup -maxdepth 4 -type d -name "$cgroup"
        assert_equal "$output" "" || return 1
    done
    [[ ! -e $ISOKIT_VOLUMES/app_www ]] || fail "volume left"
}

@test "config --explain pasted into sh starts the same application" {
    run ccompose config --explain
    assert_status 0
    [[ ${lines[0]} == "# ccompose: project app, from $APP/compose.yaml, in start order." ]] || fail "$output"
    # The server before the client; health waiting said as a comment.
    [[ $output == *"create app_default"*"--name app-server-1"*"is healthy"*"--name app-client-1"* ]] || fail "$output"
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/start.sh"
    run in_sandbox sh -e "$BATS_TEST_TMPDIR/start.sh"
    assert_status 0
    assert_equal "$output" $'app_default\napp-server-1\napp-client-1'
    # No health waiting in sh: the client polls until the server answers.
    wait_for test -s "$APP/out/page"
    assert_equal "$(<"$APP/out/page")" "hi, world"
    assert_equal "$(<"$ISOKIT_VOLUMES/app_www/index.html")" "hi, world"
    assert_equal "$(stat -c %a "$ISOKIT_VOLUMES")" 700
}

@test "interpolation: the environment over .env over \${VAR:-default}" {
    run env GREETING=hey PORT=9090 "$ROOT/scripts/ccompose" -f "$APP/compose.yaml" config --explain
    assert_status 0
    [[ $output == *" -p 9090:80 "* ]] || fail "$output"
    [[ $output == *" -e GREETING=hey -e AUDIENCE=world "* ]] || fail "$output"
    run "$ROOT/scripts/ccompose" -f "$APP/compose.yaml" config --explain
    [[ $output == *" -p 8080:80 "* && $output == *" -e GREETING=hi "* ]] || fail "$output"
    # ${VAR:?} refuses an unset variable by name.
    sed -i 's/\${PORT:-8080}/${PORT:?set PORT}/' "$APP/compose.yaml"
    run "$ROOT/scripts/ccompose" -f "$APP/compose.yaml" config -q
    assert_status 125
    assert_equal "$output" "ccompose: $APP/compose.yaml: services.server.ports[0]: required variable PORT is missing a value: set PORT"
}

@test "an unsupported key exits 125 naming it, before anything is made" {
    local bad=$ROOT/tests/compose/bad/compose.yaml
    run ccompose -f "$bad" up -d
    assert_status 125
    assert_equal "$output" "ccompose: $bad: services.web.stop_grace_period: unsupported key"
    [[ ! -e $ISOKIT_STATE/.compose && ! -e $ISOKIT_STATE/.networks ]] || fail "state made: $(ls -A "$ISOKIT_STATE")"
    # build is refused with the reason.
    printf 'services:\n  web:\n    build: .\n' >"$BATS_TEST_TMPDIR/build.yaml"
    run "$ROOT/scripts/ccompose" -f "$BATS_TEST_TMPDIR/build.yaml" config
    assert_status 125
    [[ $output == *": services.web.build: building images is not supported"* ]] || fail "$output"
}

@test "service_completed_successfully, on-failure:2 and always: runs counted from what each run wrote" {
    rm -rf "$APP"
    cp -r "$ROOT/tests/compose/jobs" "$APP"
    mkdir "$APP/out"
    run ccompose up -d
    assert_status 0
    # app's supervisor ends after its third run (two restarts).
    wait_for test ! -e "$ISOKIT_STATE/.compose/app/app.supervisor"
    # Each of app's runs saw migrate's line: migrate had completed first.
    assert_equal "$(<"$APP/out/app")" $'migrated\nmigrated\nmigrated'
    assert_equal "$(<"$APP/out/migrate")" migrated
    run ccompose ps
    [[ $output == *"app-app-1 "*" app "*" exited(3) "*" 2"* ]] || fail "ps: $output"
    [[ $output == *"app-migrate-1 "*" exited(0) "* ]] || fail "ps: $output"
    # flaky is restarted until down, even while it waits to restart. (Its
    # runs at 0, 0.1 and 0.3 s after up have long written their lines; a
    # CI run once saw fewer after 5 s more: say what flaky went through.)
    local tries=0 project=$ISOKIT_STATE/.compose/app
    until lines_at_least "$APP/out/flaky" 3; do
        ((++tries < 200)) || fail "flaky's lines: $(wc -l <"$APP/out/flaky"); restarts: $(cat "$project/flaky.restarts" 2>&1); last status: $(cat "$project/flaky.exit" 2>&1); its log: $(tail -n 20 "$project/flaky.log" 2>&1); state: $(ls -A "$ISOKIT_STATE")"
        sleep 0.05
    done
    local supervisor
    read -r supervisor _ <"$ISOKIT_STATE/.compose/app/flaky.supervisor"
    run ccompose down
    assert_status 0
    ended "$supervisor" || fail "flaky's supervisor still runs"
    run ls -A "$ISOKIT_STATE"
    [[ $output != *app-* ]] || fail "container state left: $output"
}

@test "a hostile value stays data: not run by ccompose's eval, and one word in the explained line" {
    local word='a'\''b $(touch '"$BATS_TEST_TMPDIR"'/ran) `touch '"$BATS_TEST_TMPDIR"'/ran2` "c" \'
    # In YAML single quotes ' is written '', and $ is $$ for compose.
    local yaml=${word//\'/\'\'}
    yaml=${yaml//\$/\$\$}
    printf '%s\n' 'services:' '  web:' "    command: [printf, '%s|', '$yaml']" \
        '    environment:' "      word: '$yaml'" >"$BATS_TEST_TMPDIR/hostile.yaml"
    run "$ROOT/scripts/ccompose" -f "$BATS_TEST_TMPDIR/hostile.yaml" config
    assert_status 0
    run "$ROOT/scripts/ccompose" -f "$BATS_TEST_TMPDIR/hostile.yaml" config --explain
    assert_status 0
    [[ ! -e $BATS_TEST_TMPDIR/ran && ! -e $BATS_TEST_TMPDIR/ran2 ]] || fail "a value was run"
    # The contain line, with contain replaced by a printer of its words.
    local line
    line=$(grep "/contain -d " <<<"$output")
    line="printf '<%s>\\n'${line#*/contain}"
    run sh -c "$line"
    assert_status 0
    [[ ! -e $BATS_TEST_TMPDIR/ran && ! -e $BATS_TEST_TMPDIR/ran2 ]] || fail "sh ran a value"
    assert_equal "${lines[-1]}" "<$word>"
    [[ $output == *"<word=$word>"* ]] || fail "$output"
}

@test "a newline in a healthcheck stays inside its comment line of the explained plan" {
    printf '%s\n' 'services:' '  db:' '    command: [sleep, "60"]' '    healthcheck:' \
        "      test: [CMD, \"true\\ntouch $BATS_TEST_TMPDIR/ran #\"]" \
        '  web:' '    command: [sleep, "60"]' '    depends_on:' '      db: {condition: service_healthy}' \
        >"$BATS_TEST_TMPDIR/newline.yaml"
    run "$ROOT/scripts/ccompose" -f "$BATS_TEST_TMPDIR/newline.yaml" config --explain
    assert_status 0
    [[ $output == *"true?touch $BATS_TEST_TMPDIR/ran #"* ]] || fail "the healthcheck's comment: $output"
    # Every line is a comment or one of the plan's commands; the comments,
    # run by sh, run nothing.
    local line
    while IFS= read -r line; do
        [[ $line == "#"* || $line == *"/cnetwork create "* || $line == *"/contain -d "* ]] || fail "a stray line: $line"
    done <<<"$output"
    grep '^#' <<<"$output" | sh
    [[ ! -e $BATS_TEST_TMPDIR/ran ]] || fail "a comment line ran a command"
}
