#!/usr/bin/env bash
# The Debian package (scripts/package/deb/build): built the Debian way and lintian-clean (the build
# fails otherwise), byte-identical when built twice, carrying CMakeLists.txt's version everywhere, with
# the promised contents and Depends; installed with apt-get into a clean Debian 12 minbase chroot
# (scripts/package/deb/chroot, cached), where fipsluks --version, a scan of an image made outside with
# cryptsetup and check --root / run; purged again, leaving no file behind.
# Builds in $T only (FL_PACKAGE_DIR); the source tree is read, never written.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/package.sh"

[[ $(id -u) == 0 ]] || fl_skip "needs root (chroot)"
fl_package_needs dpkg-buildpackage dh lintian debootstrap cryptsetup zstd
build=$FL_SOURCE_DIR/scripts/package/deb/build

# The libraries the binary links, by their Debian 12 packages (dpkg-shlibdeps must name each in Depends)
libs=(libc6 libcryptsetup12 libssl3 libjson-c5 libpopt0 libblkid1)
# and libsmartcols1 (report's table), which is not handed to the chroot: minbase has it (util-linux, which
# is essential, needs it), and the cached chroot tarball, keyed by that list, stays valid
linked=("${libs[@]}" libsmartcols1)
# The clean Debian 12 (debootstrap, or its cached tarball), made while the packages build: waiting on
# the network and building overlap. Its apt cache holds the libraries' packages: installing needs no
# network, and a Depends naming another package shows up as a download below.
root=$T/root
start=$SECONDS
setsid "$FL_SOURCE_DIR/scripts/package/deb/chroot" "$root" "${libs[@]}" >"$T/chroot.log" 2>&1 &
chroot_pid=$!
fl_on_exit "kill -- -$chroot_pid 2>/dev/null; wait $chroot_pid 2>/dev/null" # on failure: it and its debootstrap

# --- two builds, one set of bytes --------------------------------------------------------------------
deb=$(FL_PACKAGE_DIR=$T/a "$build") || fl_fail "scripts/package/deb/build failed (lintian included)"
deb2=$(FL_PACKAGE_DIR=$T/b FL_LINTIAN=0 "$build") || fl_fail "second build failed"
echo "two builds done $((SECONDS - start)) s after the start" >&2
fl_assert_eq "$T/a/fipsluks_${version}_$(dpkg --print-architecture).deb" "$deb" "package path"
fl_assert_eq "$(fl_sum "$deb")" "$(fl_sum "$deb2")" "two builds of one commit: sha256 of the .deb"
fl_assert_eq "$before_src" "$(git -C "$FL_SOURCE_DIR" status --porcelain --ignored=no)" "source tree untouched"

# --- metadata and contents ---------------------------------------------------------------------------
fl_assert_eq "$version" "$(dpkg-deb -f "$deb" Version)" "package version is CMakeLists.txt's"
fl_assert_eq "fipsluks" "$(dpkg-deb -f "$deb" Package)" "package name"
depends=$(dpkg-deb -f "$deb" Depends)
# dpkg-shlibdeps names each library the binary links (readelf NEEDED) by its Debian package
for lib in "${linked[@]}"; do
    [[ ",$depends" =~ [,\ ]$lib\  ]] || fl_fail "Depends lacks $lib: $depends"
done
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/sbin/fipsluks /usr/share/man/man8/fipsluks.8.gz /usr/share/man/man8/fipsluks-scan.8.gz \
    /usr/share/man/man8/fipsluks-check.8.gz /usr/share/bash-completion/completions/fipsluks \
    /lib/systemd/system/fipsluks-scan.service /lib/systemd/system/fipsluks-scan.timer \
    /usr/share/fipsluks/prometheus/fipsluks-alerts.yml /usr/share/fipsluks/ansible/scan.yml \
    /usr/share/fipsluks/ansible/migrate.yml /usr/share/fipsluks/ansible/tasks/migrate-volumes.yml \
    /usr/share/doc/fipsluks/copyright; do
    grep -qxF "$f" "$T/contents" || fl_fail "the package lacks $f"
done
dpkg-deb -x "$deb" "$T/x"
for page in "$FL_SOURCE_DIR"/man/*.8; do
    grep -qxF "/usr/share/man/man8/${page##*/}.gz" "$T/contents" || fl_fail "the package lacks ${page##*/}"
    # man pages name the version too (CMake writes project()'s into their .TH line)
    zcat "$T/x/usr/share/man/man8/${page##*/}.gz" | head -n 1 | grep -qF "\"fipsluks $version\"" ||
        fl_fail "${page##*/}: .TH does not say fipsluks $version"
done
grep -q '^ExecStart=/usr/sbin/fipsluks scan ' "$T/x/lib/systemd/system/fipsluks-scan.service" ||
    fl_fail "fipsluks-scan.service does not run the packaged /usr/sbin/fipsluks"

# --- a clean Debian 12: install, run, purge ----------------------------------------------------------
wait "$chroot_pid" || { cat "$T/chroot.log" >&2; fl_fail "no Debian 12 chroot"; }
cat "$T/chroot.log" >&2
echo "chroot ready $((SECONDS - start)) s after the start" >&2
# scan reads headers through /proc/self/fd (src/lib/volume.c): the chroot gets a /proc, unmounted on exit
mount -t proc proc "$root/proc" || fl_skip "cannot mount /proc in the chroot"
fl_on_exit "umount '$root/proc'"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
# every path, but the package manager's own bookkeeping (its logs, caches, status database)
files() {
    (cd "$root" && find . -xdev \( -path ./tmp -o -path ./proc \) -prune -o -print) | LC_ALL=C sort |
        grep -vE '^\./var/(log|cache/(apt|debconf|ldconfig)|lib/apt)(/|$)|^\./var/lib/dpkg/(status|available|lock|triggers|[a-z-]*-old)' || true
}
files >"$T/before"
[[ ! -e $root/usr/sbin/fipsluks ]] || fl_fail "fipsluks in the clean chroot"

# images made outside, with cryptsetup: one PBKDF2 (what a FIPS host opens), one argon2id
printf 'correct horse' >"$T/key"
truncate -s 20M "$T/pbkdf2.img" "$T/argon2.img"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$T/key" "$T/pbkdf2.img"
cryptsetup luksFormat -q --type luks2 --pbkdf argon2id --pbkdf-force-iterations 4 --pbkdf-memory 32768 \
    --pbkdf-parallel 1 --key-file "$T/key" "$T/argon2.img"
mkdir -p "$root/tmp/img"
cp "$deb" "$root/tmp/"
mv "$T/pbkdf2.img" "$T/argon2.img" "$root/tmp/img/"

in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "/tmp/${deb##*/}" >"$T/install.log" 2>&1 || { cat "$T/install.log" >&2; fl_fail "apt-get install in the chroot"; }
# the dependencies came from the chroot's cache (scripts/package/deb/chroot fetched them)
! grep -E '^Get:[0-9]+ [a-z]+://' "$T/install.log" >&2 || fl_fail "apt-get downloaded during the install (above)"
# shellcheck disable=SC2016 # dpkg-query's ${Field}
in_root dpkg-query -W -f='${Status} ${Version}\n' fipsluks >"$T/status"
fl_assert_eq "install ok installed $version" "$(cat "$T/status")" "installed"
fl_assert_eq "fipsluks $version" "$(in_root fipsluks --version)" "fipsluks --version in the chroot"
[[ ! -e $root/etc/systemd/system/timers.target.wants/fipsluks-scan.timer ]] || fl_fail "the timer was enabled"

fl_expect_exit 0 in_root fipsluks scan /tmp/img/pbkdf2.img
fl_assert_contains "$FL_OUT" "/tmp/img/pbkdf2.img" "scan names the image"
fl_expect_exit 6 in_root fipsluks scan --json /tmp/img
fl_assert_eq "$version" "$(jq -r .version <<<"$FL_OUT")" "JSON version"
fl_assert_eq "2 1" "$(jq -r '[(.volumes | length), ([.volumes[] | select(.fips_compatible)] | length)] | join(" ")' <<<"$FL_OUT")" \
    "two volumes, one FIPS-compatible"
fl_assert_eq "/tmp/img/argon2.img" "$(jq -r '.volumes[] | select(.fips_compatible | not) | .path' <<<"$FL_OUT")" \
    "the argon2id volume is the incompatible one"
# a minimal Debian is no FIPS host: check runs every check and says so (exit 6)
fl_expect_exit 6 in_root fipsluks check --root / --json
fl_assert_eq "$version" "$(jq -r .version <<<"$FL_OUT")" "check JSON version"
jq -e '([.checks[].id] | index("kernel") and index("openssl-config") and index("luks")) and .fips_ready == false
       and ([.checks[] | select(.id == "kernel")][0].status == "fail")' <<<"$FL_OUT" >/dev/null ||
    fl_fail "check --root / in the chroot: $FL_OUT"

rm -rf "$root/tmp/img" "$root/tmp/${deb##*/}"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q --autoremove fipsluks >"$T/purge.log" 2>&1 ||
    { cat "$T/purge.log" >&2; fl_fail "apt-get purge in the chroot"; }
files >"$T/after"
diff -u "$T/before" "$T/after" >&2 || fl_fail "apt-get purge --autoremove left the chroot changed (diff above)"
# shellcheck disable=SC2016 # dpkg-query's ${Field}
fl_assert_eq "" "$(in_root dpkg-query -W -f='${Status}' fipsluks 2>/dev/null || true)" "fipsluks forgotten by dpkg"
echo "ok"
