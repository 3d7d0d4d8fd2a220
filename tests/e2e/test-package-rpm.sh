#!/usr/bin/env bash
# The RPM (scripts/package/rpm/build, fipsluks.spec): rpmbuild makes it (rpmlint-clean where rpmlint
# is installed: the build fails otherwise), byte-identical when built twice, with CMakeLists.txt's
# version, the promised files (rpm -qpl) and requirements written as RHEL and Fedora name their
# packages (rpm -qpR), one for each library the binary needs (readelf -d) and no soname from the
# build host. The packaged binary runs and says its version, also in JSON.
# Builds in $T only (FL_PACKAGE_DIR); the source tree is read, never written.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/package.sh"

fl_package_needs rpmbuild rpm2cpio cpio readelf cmake cryptsetup
build=$FL_SOURCE_DIR/scripts/package/rpm/build

# --- two builds, one set of bytes --------------------------------------------------------------------
start=$SECONDS
rpm=$(FL_PACKAGE_DIR=$T/a "$build") || fl_fail "scripts/package/rpm/build failed (rpmlint included)"
rpm2=$(FL_PACKAGE_DIR=$T/b FL_RPMLINT=0 "$build") || fl_fail "second build failed"
echo "two builds in $((SECONDS - start)) s" >&2
fl_assert_eq "$T/a/fipsluks-$version-1.x86_64.rpm" "$rpm" "package path"
fl_assert_eq "$(fl_sum "$rpm")" "$(fl_sum "$rpm2")" "two builds of one commit: sha256 of the .rpm"
fl_assert_eq "$before_src" "$(git -C "$FL_SOURCE_DIR" status --porcelain --ignored=no)" "source tree untouched"

# --- name, version, files ----------------------------------------------------------------------------
fl_assert_eq "fipsluks $version 1 x86_64 LGPL-2.1-or-later" \
    "$(rpm -qp --qf '%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{LICENSE}' "$rpm")" "name, version, release, arch, license"
rpm -qpl "$rpm" >"$T/files"
for f in /usr/sbin/fipsluks /usr/share/man/man8/fipsluks.8.gz /usr/share/bash-completion/completions/fipsluks \
    /usr/lib/systemd/system/fipsluks-scan.service /usr/lib/systemd/system/fipsluks-scan.timer \
    /usr/share/fipsluks/prometheus/fipsluks-alerts.yml /usr/share/fipsluks/ansible/scan.yml \
    /usr/share/fipsluks/ansible/migrate.yml /usr/share/fipsluks/ansible/tasks/migrate-volumes.yml; do
    grep -qxF "$f" "$T/files" || fl_fail "the RPM lacks $f"
done
for page in "$FL_SOURCE_DIR"/man/*.8; do
    grep -qxF "/usr/share/man/man8/${page##*/}.gz" "$T/files" || fl_fail "the RPM lacks ${page##*/}.gz"
done
# the same contents as the Debian package, in RHEL's places: nothing else but build-id links and docs
extra=$(grep -vE '^/usr/(sbin/fipsluks|share/man/man8/fipsluks(-[a-z]+)?\.8\.gz|share/bash-completion/completions/fipsluks|lib/systemd/system/fipsluks-scan\.(service|timer)|share/fipsluks(/.*)?|lib/\.build-id(/.*)?|share/doc/fipsluks[^/]*(/README\.md)?)$' "$T/files" || true)
fl_assert_eq "" "$extra" "files nobody asked for"

# --- requirements: RHEL's package names, one per library the binary needs ----------------------------
rpm -qpR "$rpm" | sed 's/ *$//' >"$T/requires"
mkdir "$T/x"
(cd "$T/x" && rpm2cpio "$rpm" | cpio -idm --quiet)
bin=$T/x/usr/sbin/fipsluks
# soname → the RHEL/Fedora package that ships it (libc.so.6: glibc, on every system, not required)
declare -A pkg_of=([libcryptsetup.so.12]=cryptsetup-libs [libcrypto.so.3]=openssl-libs [libjson-c.so.5]=json-c
    [libpopt.so.0]=popt [libblkid.so.1]=libblkid [libsmartcols.so.1]=libsmartcols [libc.so.6]="")
mapfile -t needed < <(readelf -d "$bin" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
((${#needed[@]} >= 7)) || fl_fail "readelf finds too few NEEDED entries: ${needed[*]}"
for so in "${needed[@]}"; do
    [[ -v pkg_of[$so] ]] || fl_fail "the binary needs $so, which the spec's Requires do not cover (add it)"
    [[ -z ${pkg_of[$so]} ]] || grep -qE "^${pkg_of[$so]}\(x86-64\)( |$)" "$T/requires" ||
        fl_fail "no Requires: ${pkg_of[$so]} for $so; rpm -qpR: $(cat "$T/requires")"
done
grep -qxF 'cryptsetup-libs(x86-64) >= 2.4' "$T/requires" || fl_fail "cryptsetup-libs without >= 2.4"
grep -qxF 'openssl-libs(x86-64) >= 1:3.0' "$T/requires" || fl_fail "openssl-libs without >= 1:3.0"
# no automatic soname requirement from the build host (Debian's sonames and symbol versions)
! grep -E '\.so' "$T/requires" >&2 || fl_fail "soname requirements left in the RPM (above)"
# nothing but the six, rpmlib's and the dynamic loader's
other=$(grep -vE '^((cryptsetup-libs|openssl-libs|json-c|popt|libblkid|libsmartcols)\(x86-64\)|rpmlib\(|rtld\()' "$T/requires" || true)
fl_assert_eq "" "$other" "other requirements"

# --- the packaged binary: its version, also in JSON; the unit names it and RHEL's textfile dir -------
fl_assert_eq "fipsluks $version" "$("$bin" --version)" "packaged fipsluks --version"
for page in "$FL_SOURCE_DIR"/man/*.8; do
    zcat "$T/x/usr/share/man/man8/${page##*/}.gz" | head -n 1 | grep -qF "\"fipsluks $version\"" ||
        fl_fail "${page##*/}: .TH does not say fipsluks $version"
done
printf 'pw' >"$T/key"
truncate -s 20M "$T/v.img"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$T/key" "$T/v.img"
fl_expect_exit 0 "$bin" scan --json "$T/v.img"
fl_assert_eq "$version" "$(jq -r .version <<<"$FL_OUT")" "JSON version of the packaged binary"
unit=$T/x/usr/lib/systemd/system/fipsluks-scan.service
grep -q '^ExecStart=/usr/sbin/fipsluks scan ' "$unit" || fl_fail "the unit does not run /usr/sbin/fipsluks"
for line in Environment=FIPSLUKS_TEXTFILE_DIR=/var/lib/node_exporter/textfile_collector \
    ReadWritePaths=-/var/lib/node_exporter/textfile_collector; do
    grep -qxF "$line" "$unit" || fl_fail "the unit does not write RHEL's textfile directory: no $line"
done
echo "ok"
