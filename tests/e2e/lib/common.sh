# shellcheck shell=bash
# Shared helpers for end-to-end tests. Source it first:  . "$(dirname "$0")/lib/common.sh"
# Gives: strict mode, a per-test temporary directory $T removed on exit, assertions, skip.
set -euo pipefail

FL_SOURCE_DIR=${FL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
FL_BUILD_DIR=${FL_BUILD_DIR:-$FL_SOURCE_DIR/build}
export PATH="$FL_BUILD_DIR/src/cli:$FL_BUILD_DIR/tests/tools:$FL_SOURCE_DIR/tests/tools:$PATH"

# The distribution's python3, whose modules scripts/setup installs (python3-yaml), even where another
# python3 (pyenv, a virtualenv) comes first on PATH.
if [[ -x /usr/bin/python3 ]]; then
    python3() { /usr/bin/python3 "$@"; }
fi

# The sanitizer build runs fipsluks with LD_PRELOAD'ed test libraries (the crash preload): ASan must not
# insist on being first in the library list then. (Nothing else reads this outside the sanitizer build.)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

T=$(mktemp -d "${TMPDIR:-/tmp}/fipsluks-test.XXXXXX")
FL_CLEANUP=()
fl_cleanup() {
    local rc=$? c
    for c in "${FL_CLEANUP[@]}"; do eval "$c" || true; done
    rm -rf "$T"
    return $rc
}
trap fl_cleanup EXIT

# fl_tmp_in_memory: move $T to /dev/shm, when there is one (tests that fsync hundreds of times);
# removed on exit like any $T. (Setting T anew left the first one behind, empty, in /tmp.)
fl_tmp_in_memory() {
    local m
    [[ -d /dev/shm && -w /dev/shm ]] || return 0
    m=$(mktemp -d /dev/shm/fipsluks-test.XXXXXX) || return 0
    rmdir "$T"
    T=$m
}

# Run CMD on exit (e.g. 'losetup -d /dev/loop3').
fl_on_exit() { FL_CLEANUP+=("$1"); }

# fl_loop_detach DEV FILE: detach loop device DEV if it still backs FILE (the same inode). A device this
# test detached already may be another test's by now (the next losetup -f takes the free number): an
# exit handler that detached it blindly would pull it from under that test.
fl_loop_detach() {
    [[ -e $2 && "$(losetup -n -O BACK-INO "$1" 2>/dev/null | tr -d ' ')" == "$(stat -c %i "$2")" ]] || return 0
    losetup -d "$1"
}

fl_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

fl_skip() {
    echo "SKIP: $*" >&2
    exit 77
}

# FL_VALGRIND=1: every `fipsluks` the test runs by name runs under valgrind's memcheck, through a
# wrapper put first on PATH. Memory errors and definite leaks make it exit 99, which no fipsluks exit
# code uses, so the test's own exit-code assertion fails and shows valgrind's report.
if [[ ${FL_VALGRIND:-0} == 1 ]]; then
    command -v valgrind >/dev/null || fl_fail "FL_VALGRIND=1, but no valgrind (scripts/setup installs it)"
    fl_real_fipsluks=$(command -v fipsluks) || fl_fail "FL_VALGRIND=1: no fipsluks on PATH (build first)"
    mkdir -m 0755 "$T/.valgrind-bin"
    {
        echo '#!/bin/sh'
        printf 'exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite'
        printf ' --show-leak-kinds=definite --suppressions=%q %q "$@"\n' \
            "$FL_SOURCE_DIR/tests/valgrind.supp" "$fl_real_fipsluks"
    } >"$T/.valgrind-bin/fipsluks"
    chmod 0755 "$T/.valgrind-bin/fipsluks"
    export PATH="$T/.valgrind-bin:$PATH"
    [[ $(command -v fipsluks) == "$T/.valgrind-bin/fipsluks" ]] ||
        fl_fail "FL_VALGRIND=1: the valgrind wrapper is not first on PATH"
fi

# fl_assert_eq EXPECTED ACTUAL WHAT
fl_assert_eq() {
    [[ "$1" == "$2" ]] || fl_fail "$3: expected '$1', got '$2'"
}

# fl_assert_contains HAYSTACK NEEDLE WHAT
fl_assert_contains() {
    [[ "$1" == *"$2"* ]] || fl_fail "$3: '$2' not found in: $1"
}

# fl_expect_exit CODE CMD…  runs CMD, asserts its exit code, keeps its stdout in $FL_OUT.
fl_expect_exit() {
    local want=$1 rc=0
    shift
    FL_OUT=$("$@") || rc=$?
    [[ $rc -eq $want ]] || fl_fail "'$*' exited $rc, expected $want; output: $FL_OUT"
}

# fl_expect_exit2 CODE CMD…: like fl_expect_exit, standard error kept in $FL_ERR.
fl_expect_exit2() {
    local want=$1 rc=0
    shift
    FL_OUT=$("$@" 2>"$T/stderr") || rc=$?
    FL_ERR=$(cat "$T/stderr")
    [[ $rc -eq $want ]] || fl_fail "'$*' exited $rc, expected $want; stderr: $FL_ERR"
}

# fl_jq FILTER JSONFILE  — jq -r with failure on parse errors
fl_jq() { jq -er "$1" "$2"; }

# fl_sum FILE  — sha256 of a file's bytes
fl_sum() { sha256sum "$1" | cut -d' ' -f1; }

# fl_key FILE TEXT — write a key file with exact bytes (no newline)
fl_key() { printf '%s' "$2" >"$1"; }

# fl_need_fips_host: make sure the genuine FIPS test host (scripts/fips-host) is built; sets
# $FL_FIPS_PREFIX and defines `fips CMD…` (runs CMD inside it). Without it the test skips (77),
# except with CI=true, where a FIPS host that cannot be built is a failure.
fl_need_fips_host() {
    local dir=$FL_SOURCE_DIR/scripts/fips-host
    if ! FL_FIPS_PREFIX=$("$dir/build"); then
        [[ ${CI:-} == true ]] && fl_fail "scripts/fips-host/build failed (CI=true, so this is a failure, not a skip)"
        fl_skip "no FIPS host: scripts/fips-host/build failed; run it by hand to see why"
    fi
    fips() { "$FL_SOURCE_DIR/scripts/fips-host/run" "$@"; }
}
