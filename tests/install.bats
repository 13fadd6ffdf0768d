#!/usr/bin/env bats
# scripts/install-kit (make install): into a temporary DESTDIR, the installed
# contain runs a container with the installed tools, never the checkout's;
# uninstall removes exactly what install made.

load helpers

setup() {
    DEST="$BATS_TEST_TMPDIR/dest"
    export ISOKIT_STATE="$BATS_TEST_TMPDIR/state"
    export ISOKIT_IMAGES="$ROOT/target/test-images"
}

@test "make install DESTDIR=...: the installed contain runs, with the installed tools" {
    run make -s -C "$ROOT" install DESTDIR="$DEST" PREFIX=/usr/local
    assert_status 0
    local prefix="$DEST/usr/local"
    [[ -x $prefix/bin/contain && -x $prefix/lib/isokit/bin/pivot ]] || fail "$(find "$DEST")"
    # The chain it plans names the installed binaries, not target/bin.
    run "$prefix/bin/contain" --explain --name inst -- true
    assert_status 0
    [[ ${lines[1]} == "$prefix/lib/isokit/bin/cgset "* ]] || fail "${lines[1]}"
    [[ $output != *"$ROOT/target/bin"* && $output != *"$ROOT/scripts"* ]] || fail "$output"
    # And it runs: the container's init is the installed unshare-lite.
    run sandboxed env -u ISOKIT_BIN "$prefix/bin/contain" --name inst -- sh -c 'hostname; true'
    assert_status 0
    assert_equal "${lines[0]}" inst
    # The installed tools are bound into the container for cexec.
    run sandboxed env -u ISOKIT_BIN "$prefix/bin/contain" -- sh -c 'test -x /dev/.isokit/capdrop && echo bound'
    assert_equal "$output" bound
    # The standalone tools answer from bin/ too.
    run "$prefix/bin/cgset" --help
    assert_status 0
}

@test "the libraries read on first use are installed; one missing is a 125, not a crash" {
    "$ROOT/scripts/install-kit" DESTDIR="$DEST" PREFIX=/usr/local
    local prefix="$DEST/usr/local"
    # --help is in plan-extra.sh, the bridge's address in contain-extra.sh.
    run "$prefix/bin/contain" --help
    assert_status 0
    [[ ${lines[0]} == "Usage: contain "* ]] || fail "$output"
    run "$prefix/bin/contain" --explain --name lazy --net bridge -- true
    assert_status 0
    [[ $output == *"--addr 10.88."* ]] || fail "$output"
    # Without the file the stub would call itself until bash fell over.
    rm "$prefix/lib/isokit/plan-extra.sh"
    run timeout 20 "$prefix/bin/contain" --help
    assert_status 125
    assert_equal "$output" "contain: cannot read $prefix/lib/isokit/plan-extra.sh (reinstall isokit)"
}

@test "uninstall removes exactly what install made, and leaves other files" {
    mkdir -p "$DEST/usr/local/bin"
    echo mine >"$DEST/usr/local/bin/someone-elses"
    "$ROOT/scripts/install-kit" DESTDIR="$DEST"
    "$ROOT/scripts/install-kit" uninstall DESTDIR="$DEST"
    run find "$DEST" -mindepth 1
    assert_equal "$output" "$DEST/usr"$'\n'"$DEST/usr/local"$'\n'"$DEST/usr/local/bin"$'\n'"$DEST/usr/local/bin/someone-elses"
}

@test "install refuses a relative PREFIX and an unknown argument with 125" {
    run "$ROOT/scripts/install-kit" PREFIX=relative DESTDIR="$DEST"
    assert_status 125
    run "$ROOT/scripts/install-kit" bogus
    assert_status 125
    [[ ! -e $DEST ]] || fail "made $DEST"
}
