#!/usr/bin/env bash
# check --root: block-device discovery resolves /sys/class/block and /dev/NAME inside the root, as
# every other read below --root does (an absolute symbolic link starts again at the root), and never
# opens a character device or FIFO that the root holds at /dev/NAME.
. "$(dirname "$0")/lib/common.sh"

fl_key "$T/k" "sysroot-secret"
fl-mkluks --slot "kdf=argon2id,key-file=$T/k" "$T/argon2id.img"

# luks_evidence ROOT: the luks check's evidence lines, one per line
luks_evidence() {
    local rc=0
    fipsluks check --json --root "$1" >"$T/check.json" || rc=$?
    [[ $rc -eq 0 || $rc -eq 6 ]] || fl_fail "check --root exited $rc"
    jq -r '.checks[] | select(.id == "luks") | .evidence[]' "$T/check.json"
}

# /dev and /sys/class/block are absolute links, as in many images (/dev -> /realdev): inside the root
R=$T/root
mkdir -p "$R/realdev" "$R/realsys/class/block/vdz" "$R/sys/class"
ln -s /realdev "$R/dev"
ln -s /realsys/class/block "$R/sys/class/block"
cp --sparse=always "$T/argon2id.img" "$R/realdev/vdz"
ev=$(luks_evidence "$R")
fl_assert_contains "$ev" "/realdev/vdz: LUKS2, NOT FIPS-compatible: FL-KDF-ARGON2 keyslot 0" "device behind an absolute /dev link"

# /dev/NAME an absolute link to a host path that exists on the host too: resolved in the root, so the
# host's device is not read
R2=$T/root2
mkdir -p "$R2/sys/class/block/vdy" "$R2/dev" "$R2/images"
cp --sparse=always "$T/argon2id.img" "$R2/images/vdy.img"
ln -s /images/vdy.img "$R2/dev/vdy"
mkdir -p "$R2/sys/class/block/null"
ln -s /dev/null "$R2/dev/null" # the host's /dev/null would be a character device
ev=$(luks_evidence "$R2")
fl_assert_contains "$ev" "/images/vdy.img: LUKS2, NOT FIPS-compatible" "device link resolved in the root"
[[ $ev != *null* ]] || fl_fail "a link to /dev/null was reported: $ev"

# a FIFO and a character device at /dev/NAME: never opened (opening the FIFO would block)
R3=$T/root3
mkdir -p "$R3/sys/class/block/vdf" "$R3/sys/class/block/vdc" "$R3/dev"
mkfifo "$R3/dev/vdf"
mknod "$R3/dev/vdc" c 1 3 2>/dev/null || true
ev=$(timeout 30 bash -c "$(declare -f luks_evidence fl_fail); T='$T'; luks_evidence '$R3'") ||
    fl_fail "check --root blocked on a FIFO at /dev/vdf"
[[ -z $ev || $ev != */dev/vd* ]] || fl_fail "a FIFO or character device was reported: $ev"
echo "scan-sysroot: ok"
