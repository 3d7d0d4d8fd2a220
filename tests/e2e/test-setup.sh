#!/usr/bin/env bash
# scripts/setup's two sets: --build-only needs only what building takes (the same libraries as the
# Debian package's Build-Depends, no test tool, no cmocka), the full set adds the test tools; and a
# tree configured the way --build-only configures it builds its configure step without cmocka in
# sight (pkg-config given every .pc file but cmocka's).
. "$(dirname "$0")/lib/common.sh"

setup=$FL_SOURCE_DIR/scripts/setup
control=$FL_SOURCE_DIR/scripts/package/deb/debian/control
command -v cmake >/dev/null || fl_skip "cmake is not installed"
command -v pkg-config >/dev/null || fl_skip "pkg-config is not installed"

fl_expect_exit 0 "$setup" --build-only --list
mapfile -t build <<<"$FL_OUT"
fl_expect_exit 0 "$setup" --list
mapfile -t all <<<"$FL_OUT"
((${#build[@]} >= 6)) || fl_fail "--build-only lists ${#build[@]} packages: ${build[*]}"
((${#all[@]} > ${#build[@]})) || fl_fail "the full set (${#all[@]}) is not larger than --build-only's (${#build[@]})"

# Every build package is in the full set, in the same order, first.
for i in "${!build[@]}"; do
    fl_assert_eq "${build[$i]}" "${all[$i]}" "full set, package $i"
done
# No test tool in the build set.
for p in libcmocka-dev cryptsetup-bin jq clang ansible-core prometheus openssh-server valgrind lintian; do
    [[ " ${build[*]} " != *" $p "* ]] || fl_fail "--build-only lists the test tool $p"
    [[ " ${all[*]} " == *" $p "* ]] || fl_fail "the full set lacks $p"
done

# The build set is the Debian package's Build-Depends (debhelper's own aside) plus the compiler, which
# Build-Depends leaves out by Debian policy (build-essential is assumed).
depends=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$control" | sed -e '1s/^Build-Depends://' -e '/^[A-Z]/d' |
    tr ',' '\n' | sed -e 's/(.*)//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v '^$' |
    grep -v '^debhelper' | sort)
mine=$(printf '%s\n' "${build[@]}" | grep -vx build-essential | sort)
fl_assert_eq "$depends" "$mine" "--build-only vs debian/control Build-Depends"

# Unknown arguments are refused before anything is installed.
fl_expect_exit2 2 "$setup" --bogus
fl_assert_contains "$FL_ERR" "unknown argument '--bogus'" "unknown argument"

# The configure step --build-only runs (-DFL_TESTS=OFF) needs no cmocka: pkg-config sees every .pc
# file of this machine but cmocka's.
mkdir "$T/pc"
pcdirs=$(pkg-config --variable pc_path pkg-config)
IFS=: read -ra dirs <<<"$pcdirs"
for d in "${dirs[@]}"; do
    [[ -d $d ]] || continue
    for f in "$d"/*.pc; do
        [[ -e $f && $(basename "$f") != cmocka.pc && ! -e $T/pc/$(basename "$f") ]] || continue
        ln -s "$f" "$T/pc/"
    done
done
PKG_CONFIG_LIBDIR=$T/pc pkg-config --exists cmocka && fl_fail "cmocka still visible to pkg-config"
PKG_CONFIG_LIBDIR=$T/pc fl_expect_exit 0 cmake -S "$FL_SOURCE_DIR" -B "$T/build" -DFL_TESTS=OFF
PKG_CONFIG_LIBDIR=$T/pc fl_expect_exit2 1 cmake -S "$FL_SOURCE_DIR" -B "$T/build-tests" -DFL_TESTS=ON
fl_assert_contains "$FL_OUT$FL_ERR" "cmocka" "with the tests, configure asks for cmocka"
echo "ok"
