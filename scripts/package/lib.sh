# shellcheck shell=bash
# Shared by scripts/package/{deb,rpm,sysext}: where the source is, its version and date, a clean
# copy of it to build from, and where the artefacts go. Source it:  . "$(dirname "$0")/../lib.sh"
#
#   FL_PACKAGE_DIR   where artefacts and the build trees go (default: <source>/build/package; the
#                    tests point it at their own temporary directory)
#
# Reproducible builds: every artefact is a function of the commit's tracked files alone. The date
# in it is SOURCE_DATE_EPOCH, the commit's date; files are copied in name order with that date;
# compilers map the build directory away (-ffile-prefix-map), so two builds, in any directory,
# give the same bytes (tests/e2e/test-package-*.sh build twice and compare).
set -euo pipefail

fl_src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC2034 # for the scripts that source this file
fl_pkg_dir=${FL_PACKAGE_DIR:-$fl_src/build/package}

fl_pkg_say() { echo "${0##*/}: $*" >&2; }
fl_pkg_die() {
    echo "${0##*/}: error: $*" >&2
    exit 1
}

# The version, from the one place it is written: CMakeLists.txt's project(fipsluks VERSION X.Y.Z).
# fipsluks --version and every JSON document's "version" come from the same line (FL_VERSION).
fl_pkg_version() {
    local v
    v=$(sed -nE 's/^project\(fipsluks VERSION ([0-9]+\.[0-9]+\.[0-9]+)[ )].*/\1/p' "$fl_src/CMakeLists.txt")
    [[ -n $v ]] || fl_pkg_die "no 'project(fipsluks VERSION X.Y.Z' line in $fl_src/CMakeLists.txt"
    echo "$v"
}

# SOURCE_DATE_EPOCH: the commit's date (kept when the caller already set one).
fl_pkg_epoch() {
    if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
        echo "$SOURCE_DATE_EPOCH"
    elif git -C "$fl_src" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$fl_src" log -1 --format=%ct HEAD
    else
        fl_pkg_die "not a git checkout: set SOURCE_DATE_EPOCH (the release's date, seconds since 1970)"
    fi
}

# fl_pkg_copy_source DIR: the tracked files of the checkout (as they are in the work tree) into DIR,
# every file dated SOURCE_DATE_EPOCH. Nothing untracked (build directories, images) comes along.
fl_pkg_copy_source() {
    local dir=$1
    mkdir -p "$dir"
    git -C "$fl_src" rev-parse --git-dir >/dev/null 2>&1 ||
        fl_pkg_die "not a git checkout: package from a clone (git clone), whose tracked files are built"
    (cd "$fl_src" && git ls-files -z --cached | LC_ALL=C sort -z |
        tar --null --no-recursion -T - -cf -) | tar -xf - -C "$dir"
    find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# fl_pkg_tar DIR PREFIX OUT: DIR as a reproducible gzip'ed tar (names sorted, owner root, SOURCE_DATE_EPOCH).
fl_pkg_tar() {
    local dir=$1 prefix=$2 out=$3
    tar -C "$dir" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
        --transform "s|^\.|$prefix|" --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -cf - . | gzip -9n >"$out"
}

# fl_pkg_cmake_build SRC BUILD [CMAKE ARGS...]: the binary, man pages, completion and units, configured
# like a distribution build (prefix /usr, no tests, optimised, debug info with the build path mapped).
fl_pkg_cmake_build() {
    local src=$1 build=$2
    shift 2
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL_TESTS=OFF \
        -DCMAKE_INSTALL_PREFIX=/usr \
        "-DCMAKE_C_FLAGS=-ffile-prefix-map=$src=. -ffile-prefix-map=$build=." "$@" >/dev/null
    cmake --build "$build" -j"${FL_PACKAGE_JOBS:-2}" -- --no-print-directory >/dev/null
}

# shellcheck disable=SC2034 # for the scripts that source this file
version=$(fl_pkg_version)
SOURCE_DATE_EPOCH=$(fl_pkg_epoch)
export SOURCE_DATE_EPOCH TZ=UTC LC_ALL=C.UTF-8
umask 022
