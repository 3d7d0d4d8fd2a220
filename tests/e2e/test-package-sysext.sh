#!/usr/bin/env bash
# The Flatcar system extension (scripts/package/sysext/build): a squashfs byte-identical when built
# twice, named with CMakeLists.txt's version; exactly the promised files under usr/ (owned by root), an
# extension-release file Flatcar's systemd-sysext accepts (systemd-dissect, under the name
# /etc/extensions gives it); a binary that needs only libraries the Flatcar base image ships (readelf
# -d) and runs from the unpacked image (--version, a scan, its own completion). And
# fipsluks check --emit butane|ignition --sysext URL, which installs that image as Flatcar documents.
# Builds in $T only (FL_PACKAGE_DIR); the source tree is read, never written.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/package.sh"

fl_package_needs mksquashfs unsquashfs readelf cmake cryptsetup jq
build=$FL_SOURCE_DIR/scripts/package/sysext/build

# --- two builds, one set of bytes --------------------------------------------------------------------
start=$SECONDS
raw=$(FL_PACKAGE_DIR=$T/a "$build") || fl_fail "scripts/package/sysext/build failed"
raw2=$(FL_PACKAGE_DIR=$T/b "$build") || fl_fail "second build failed"
echo "two builds in $((SECONDS - start)) s" >&2
fl_assert_eq "$T/a/fipsluks-$version-x86-64.raw" "$raw" "image path"
fl_assert_eq "$(fl_sum "$raw")" "$(fl_sum "$raw2")" "two builds of one commit: sha256 of the image"
fl_assert_eq "$before_src" "$(git -C "$FL_SOURCE_DIR" status --porcelain --ignored=no)" "source tree untouched"

# --- layout ------------------------------------------------------------------------------------------
unsquashfs -d "$T/u" "$raw" >/dev/null || fl_fail "unsquashfs cannot read the image"
want=$(
    printf '%s\n' usr/bin/fipsluks usr/lib/extension-release.d/extension-release.fipsluks \
        usr/lib/systemd/system/fipsluks-scan.service usr/lib/systemd/system/fipsluks-scan.timer \
        usr/share/bash-completion/completions/fipsluks
    for page in "$FL_SOURCE_DIR"/man/*.8; do echo "usr/share/man/man8/${page##*/}"; done
)
fl_assert_eq "$(LC_ALL=C sort <<<"$want")" "$(cd "$T/u" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort)" \
    "the image's files (and nothing outside usr/)"
fl_assert_eq "" "$(unsquashfs -lln "$raw" | awk '$2 != "0/0"')" "every file owned by root"
for page in "$FL_SOURCE_DIR"/man/*.8; do
    cmp -s <(tail -n +2 "$page") <(tail -n +2 "$T/u/usr/share/man/man8/${page##*/}") || fl_fail "${page##*/} differs from man/"
    head -n 1 "$T/u/usr/share/man/man8/${page##*/}" | grep -qF "\"fipsluks $version\"" ||
        fl_fail "${page##*/}: .TH does not say fipsluks $version"
done
cmp -s "$FL_SOURCE_DIR/scripts/bash-completion/fipsluks" "$T/u/usr/share/bash-completion/completions/fipsluks" ||
    fl_fail "the completion differs from scripts/bash-completion/fipsluks"
fl_assert_eq "ID=flatcar
SYSEXT_LEVEL=1.0
ARCHITECTURE=x86-64" "$(grep -v '^EXTENSION_RELOAD_MANAGER=' "$T/u/usr/lib/extension-release.d/extension-release.fipsluks")" \
    "extension-release"
grep -qx 'ExecStart=/usr/bin/fipsluks scan .*' "$T/u/usr/lib/systemd/system/fipsluks-scan.service" ||
    fl_fail "fipsluks-scan.service does not run the image's /usr/bin/fipsluks"
! grep -q '/usr/sbin/fipsluks' "$T/u/usr/lib/systemd/system/fipsluks-scan.service" ||
    fl_fail "fipsluks-scan.service names /usr/sbin/fipsluks, which the image does not have"

# --- as systemd sees it: linked as /etc/extensions/fipsluks.raw, it is a system extension --------------
mkdir "$T/extensions"
ln -s "$raw" "$T/extensions/fipsluks.raw"
if command -v systemd-dissect >/dev/null && systemd-dissect --json=short "$T/extensions/fipsluks.raw" >"$T/dissect" 2>"$T/dissect.err"; then
    jq -e '.useSystemExtension == true and .mounts[0].fstype == "squashfs"
           and (.extensionRelease | index("ID=flatcar") and index("SYSEXT_LEVEL=1.0") and index("ARCHITECTURE=x86-64"))' \
        "$T/dissect" >/dev/null || fl_fail "systemd-dissect does not take it for a Flatcar system extension: $(cat "$T/dissect")"
    # the extension-release file is matched by the image's name: any other name is not an extension
    cp "$raw" "$T/extensions/other.raw"
    systemd-dissect --json=short "$T/extensions/other.raw" | jq -e '.useSystemExtension == false' >/dev/null ||
        fl_fail "systemd-dissect takes other.raw for the fipsluks extension"
else
    echo "note: systemd-dissect unavailable or cannot attach a loop device here ($(cat "$T/dissect.err" 2>/dev/null));" \
        "image checked by unsquashfs and its layout only" >&2
fi

# --- the binary: only libraries Flatcar ships; it runs from the unpacked tree ----------------------------
bin=$T/u/usr/bin/fipsluks
# Flatcar's base image: cryptsetup (libcryptsetup.so.12) and what it links: OpenSSL 3 (libcrypto.so.3),
# json-c (libjson-c.so.5), popt (libpopt.so.0), util-linux (libblkid.so.1; libsmartcols.so.1, which its
# lsblk links), glibc (libc.so.6)
flatcar="libcryptsetup.so.12 libcrypto.so.3 libjson-c.so.5 libpopt.so.0 libblkid.so.1 libsmartcols.so.1 libc.so.6"
mapfile -t needed < <(readelf -d "$bin" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
((${#needed[@]} >= 7)) || fl_fail "readelf finds too few NEEDED entries: ${needed[*]}"
for so in "${needed[@]}"; do
    [[ " $flatcar " == *" $so "* ]] || fl_fail "the binary needs $so, which the Flatcar base image does not ship"
done
readelf -h "$bin" | grep -q 'Machine: *Advanced Micro Devices X86-64' || fl_fail "not an x86-64 binary"
fl_assert_eq "fipsluks $version" "$("$bin" --version)" "fipsluks --version from the image"
printf 'pw' >"$T/key"
truncate -s 20M "$T/v.img"
cryptsetup luksFormat -q --type luks2 --pbkdf argon2id --pbkdf-force-iterations 4 --pbkdf-memory 32768 \
    --pbkdf-parallel 1 --key-file "$T/key" "$T/v.img"
fl_expect_exit 6 "$bin" scan --json "$T/v.img"
fl_assert_eq "$version false" "$(jq -r '"\(.version) \(.volumes[0].fips_compatible)"' <<<"$FL_OUT")" \
    "scan from the image: the JSON version, an argon2id volume not compatible"

# the image's completion, asking the image's binary: check offers --sysext, and nothing for its URL
comp() {
    PATH=$T/u/usr/bin:$PATH bash --norc --noprofile -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _fipsluks fipsluks "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' _ "$T/u/usr/share/bash-completion/completions/fipsluks" "$@" |
        sort | tr '\n' ' '
}
fl_assert_eq "--sysext " "$(comp fipsluks check --sy)" "completion of check --sy"
fl_assert_eq "" "$(comp fipsluks check --emit butane --sysext "")" "no completion for the URL"
fl_assert_eq "" "$(comp fipsluks scan --sy)" "scan has no --sysext"

# --- check --emit … --sysext URL: download to /opt/extensions, link from /etc/extensions ----------------
url="https://downloads.example.com/fipsluks/fipsluks-$version-x86-64.raw"
fl_expect_exit 0 fipsluks check --emit butane --sysext "$url"
printf '%s\n' "$FL_OUT" >"$T/sysext.bu"
fipsluks check --emit ignition --sysext "$url" --luks 'data:/dev/vdb' >"$T/sysext.ign" 2>"$T/err" ||
    fl_fail "--emit ignition --sysext failed: $(cat "$T/err")"
fipsluks check --emit butane >"$T/plain.bu" || fl_fail "--emit butane"
python3 - "$T/sysext.bu" "$T/sysext.ign" "$T/plain.bu" "$url" "${raw##*/}" <<'PY' || fl_fail "emitted --sysext configs: see above"
import json, sys, yaml

bu = yaml.safe_load(open(sys.argv[1]))
ign = json.load(open(sys.argv[2]))
plain = yaml.safe_load(open(sys.argv[3]))
url, image = sys.argv[4], sys.argv[5]
path = "/opt/extensions/fipsluks/" + image  # the name scripts/package/sysext/build gives the image

def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

# Butane (Flatcar's sysext documentation): the image as a file with contents.source, and a link
files = {f["path"]: f for f in bu["storage"]["files"]}
check(path in files, "butane: no %s in %s" % (path, sorted(files)))
check(files[path]["contents"] == {"source": url}, "butane contents: %s" % files[path])
check(files[path]["mode"] == 0o644, "butane mode")
check(bu["storage"]["links"] == [{"path": "/etc/extensions/fipsluks.raw", "target": path, "hard": False}],
      "butane links: %s" % bu["storage"].get("links"))
# the rest is the config without --sysext
del files[path]
check(list(files.values()) == plain["storage"]["files"], "butane: the other files changed")
check({k: v for k, v in bu.items() if k != "storage"} == {k: v for k, v in plain.items() if k != "storage"},
      "butane: more than storage changed")
# Ignition 3.3.0: the same, with --luks next to it
ifiles = {f["path"]: f for f in ign["storage"]["files"]}
check(ifiles[path] == {"path": path, "mode": 0o644, "contents": {"source": url}}, "ignition file: %s" % ifiles.get(path))
check(ign["storage"]["links"] == [{"path": "/etc/extensions/fipsluks.raw", "target": path, "hard": False}],
      "ignition links: %s" % ign["storage"].get("links"))
check([v["name"] for v in ign["storage"]["luks"]] == ["data"], "ignition luks with --sysext")
PY
if command -v ignition-validate >/dev/null; then
    ignition-validate "$T/sysext.ign" || fl_fail "ignition-validate refuses the Ignition config with --sysext"
fi
if command -v butane >/dev/null; then
    butane --strict <"$T/sysext.bu" >"$T/butane.ign" || fl_fail "butane --strict refuses the Butane config with --sysext"
    fl_assert_eq "$(jq -S '.storage.links' "$T/sysext.ign")" "$(jq -S '.storage.links' "$T/butane.ign")" "butane's links"
else
    echo "note: butane not installed (Debian bookworm has no package); the Butane config is compared with the Ignition one" >&2
fi
rc=0
fipsluks check --sysext "$url" >/dev/null 2>"$T/err" || rc=$?
fl_assert_eq 1 "$rc" "--sysext without --emit"
fl_assert_contains "$(cat "$T/err")" "--sysext goes with --emit" "--sysext without --emit: message"
rc=0
fipsluks check --emit butane --sysext "$T/a/${raw##*/}" >/dev/null 2>"$T/err" || rc=$?
fl_assert_eq 1 "$rc" "--sysext with a local path"
fl_assert_contains "$(cat "$T/err")" "give the URL Ignition downloads the image from" "--sysext with a local path: message"
echo "ok"
