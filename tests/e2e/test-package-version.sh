#!/usr/bin/env bash
# One version, written once: CMakeLists.txt's project(fipsluks VERSION …). A copy of the source with
# another version there builds a fipsluks whose --version, JSON "version", installed man pages and
# Butane header all say it, and the packaging scripts (scripts/package/lib.sh, which names the .deb,
# the .rpm and the .raw) read the same. The package tests check the built packages agree with it.
# Builds in $T only; the source tree is read, never written.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/package.sh"

fl_package_needs cmake git cryptsetup jq

# the packaging scripts read this checkout's version
fl_assert_eq "$version" "$(bash -c '. "$1/scripts/package/lib.sh"; echo "$version"' _ "$FL_SOURCE_DIR")" \
    "scripts/package/lib.sh's version"
fl_assert_eq "fipsluks $version" "$(fipsluks --version)" "the build's --version"

# a copy with another version: everything follows
(cd "$FL_SOURCE_DIR" && git ls-files -z | tar --null --no-recursion -T - -cf -) | (mkdir "$T/src" && tar -xf - -C "$T/src")
sed -i -E 's/^project\(fipsluks VERSION [0-9.]+/project(fipsluks VERSION 97.5.3/' "$T/src/CMakeLists.txt"
grep -q '^project(fipsluks VERSION 97.5.3 ' "$T/src/CMakeLists.txt" || fl_fail "could not set the version in the copy"
cmake -S "$T/src" -B "$T/build" -DFL_TESTS=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null || fl_fail "configure"
cmake --build "$T/build" -j2 -- --no-print-directory >/dev/null || fl_fail "build"
DESTDIR=$T/root cmake --install "$T/build" --prefix /usr >/dev/null || fl_fail "install"
bin=$T/root/usr/sbin/fipsluks
fl_assert_eq "fipsluks 97.5.3" "$("$bin" --version)" "--version"
printf 'pw' >"$T/key"
truncate -s 20M "$T/v.img"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$T/key" "$T/v.img"
fl_expect_exit 0 "$bin" scan --json "$T/v.img"
fl_assert_eq "97.5.3" "$(jq -r .version <<<"$FL_OUT")" "scan's JSON version"
fl_expect_exit 6 "$bin" check --json --root "$T/root"
fl_assert_eq "97.5.3" "$(jq -r .version <<<"$FL_OUT")" "check's JSON version"
fl_expect_exit 0 "$bin" check --emit butane
fl_assert_contains "$(head -n 1 <<<"$FL_OUT")" "from fipsluks 97.5.3 " "Butane header"
for page in "$FL_SOURCE_DIR"/man/*.8; do
    head -n 1 "$T/root/usr/share/man/man8/${page##*/}" | grep -qF '"fipsluks 97.5.3"' ||
        fl_fail "installed ${page##*/}: $(head -n 1 "$T/root/usr/share/man/man8/${page##*/}")"
done
fl_assert_eq "97.5.3" "$(SOURCE_DATE_EPOCH=0 bash -c '. "$1/scripts/package/lib.sh"; echo "$version"' _ "$T/src")" \
    "the copy's scripts/package/lib.sh"
echo "ok"
