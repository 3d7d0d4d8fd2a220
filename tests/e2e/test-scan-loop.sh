#!/usr/bin/env bash
# fipsluks scan on real (read-only) loop devices, and host discovery through libblkid.
. "$(dirname "$0")/lib/common.sh"

[[ $(id -u) -eq 0 ]] || fl_skip "loop devices need root"
command -v losetup >/dev/null || fl_skip "losetup not installed"
[[ -e /dev/loop-control ]] || modprobe loop 2>/dev/null || true
[[ -e /dev/loop-control ]] || fl_skip "no loop device support in this kernel"

fl_key "$T/argon.key" "argon-secret-1"
fl_key "$T/pbkdf.key" "pbkdf2-secret-1"
fl-mkluks --slot "kdf=argon2id,key-file=$T/argon.key" "$T/argon.img"
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,key-file=$T/pbkdf.key" "$T/pbkdf.img"
before=$(fl_sum "$T/argon.img")

# read-only loop devices: scanning must work without write access
A=$(losetup -r -f --show "$T/argon.img") || fl_skip "cannot attach a loop device"
fl_on_exit "losetup -d $A"
P=$(losetup -r -f --show "$T/pbkdf.img")
fl_on_exit "losetup -d $P"

fl_expect_exit 6 fipsluks scan --json "$A"
fl_assert_eq "$A argon2id false" "$(jq -r '.volumes[0] | "\(.path) \(.keyslots[0].kdf) \(.fips_compatible)"' <<<"$FL_OUT")" "loop scan"
fl_expect_exit 0 fipsluks scan --json "$P"
fl_assert_eq true "$(jq -r '.volumes[0].fips_compatible' <<<"$FL_OUT")" "pbkdf2 loop"

# No PATH: libblkid finds both loop devices among the host's block devices.
rc=0
fipsluks scan --json >"$T/host.json" || rc=$?
[[ $rc -eq 6 || $rc -eq 4 ]] || fl_fail "host scan exited $rc, expected 6 (or 4 if another device is unreadable)"
fl_assert_eq "false" "$(jq -r --arg d "$A" '.volumes[] | select(.path == $d) | .fips_compatible' "$T/host.json")" "host scan finds $A"
fl_assert_eq "true" "$(jq -r --arg d "$P" '.volumes[] | select(.path == $d) | .fips_compatible' "$T/host.json")" "host scan finds $P"

fl_assert_eq "$before" "$(fl_sum "$T/argon.img")" "image bytes after scanning its loop device"
echo "scan-loop: all assertions passed"
