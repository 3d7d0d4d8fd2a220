#!/usr/bin/env bash
# The valgrind harness (FL_VALGRIND=1, tests/e2e/lib/common.sh) is not vacuous: when the `fipsluks`
# a test runs leaks memory or branches on uninitialised memory, that test fails, with valgrind's exit
# code 99 and its report; a clean one passes. A stand-in fipsluks, compiled here, plays each part.
. "$(dirname "$0")/lib/common.sh"

command -v valgrind >/dev/null || fl_skip "no valgrind (scripts/setup installs it)"
command -v cc >/dev/null || fl_skip "no C compiler"
export FL_SOURCE_DIR

mkdir -p "$T/build/src/cli" "$T/build/tests/tools"
cat >"$T/stand-in.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
    const char *what = argv[argc - 1];
    char *p = malloc(64);
    int r = 0;

    if (!p)
        return 2;
    strcpy(p, "x");
    if (!strcmp(what, "leak"))
        return 0; /* 64 bytes definitely lost */
    if (!strcmp(what, "uninit") && p[40] == 'y')
        r = 3; /* p[40] was never written */
    free(p);
    return r;
}
EOF
cc -g -O0 -o "$T/build/src/cli/fipsluks" "$T/stand-in.c"

# inner WHAT: a test that sources common.sh with FL_VALGRIND=1 and expects `fipsluks WHAT` to exit 0;
# its exit code goes to $rc, its standard error to $T/err
inner() {
    rc=0
    FL_VALGRIND=1 FL_BUILD_DIR=$T/build \
        bash -c '. "$FL_SOURCE_DIR/tests/e2e/lib/common.sh"; fl_expect_exit 0 fipsluks "$1"' inner "$1" \
        2>"$T/err" || rc=$?
}

inner clean
fl_assert_eq 0 "$rc" "a clean run under valgrind: $(cat "$T/err")"
inner leak
fl_assert_eq 1 "$rc" "a leaking fipsluks fails the test"
fl_assert_contains "$(cat "$T/err")" "exited 99, expected 0" "leak: valgrind's exit code"
fl_assert_contains "$(cat "$T/err")" "64 bytes in 1 blocks are definitely lost" "leak: valgrind's report"
inner uninit
fl_assert_eq 1 "$rc" "a fipsluks reading uninitialised memory fails the test"
fl_assert_contains "$(cat "$T/err")" "exited 99, expected 0" "uninit: valgrind's exit code"
fl_assert_contains "$(cat "$T/err")" "depends on uninitialised value" "uninit: valgrind's report"
echo "valgrind harness: all assertions passed"
