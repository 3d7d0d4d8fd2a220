#!/usr/bin/env bash
# fipsluks format against races and leftovers: the target is opened once, so replacing its path by a
# symbolic link right after the checks formats nothing else (image files, loop devices); a target
# that becomes mounted before the first write is left alone (exit 5, file system intact); a loop
# device is held exclusively until the end; --force erases every signature, the backup GPT in the
# last sector too; Ctrl-C at the passphrase prompt gives the terminal its echo back; a process
# holding secrets cannot be dumped or read by its own user.
# The races are made deterministic by tests/tools/preload (FL_HOOK_CRYPT_INIT runs a command right
# after the checks, before anything is written).
. "$(dirname "$0")/lib/common.sh"

command -v cryptsetup >/dev/null || fl_skip "no cryptsetup (scripts/setup installs cryptsetup-bin)"
shim=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so
[[ -f $shim ]] || fl_fail "missing $shim"
ptyrun() { python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" "$@"; }
fast=(--pbkdf-force-iterations 1000)
fl_key "$T/key" "correct horse battery staple"
chmod 0600 "$T/key"

# hooked CMD FIPSLUKS-ARGS…: run fipsluks with CMD run right after its checks; exit code in $rc,
# standard error in $T/err
hooked() {
    local cmd=$1
    shift
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_HOOK_CRYPT_INIT=$cmd LD_PRELOAD=$shim \
        fipsluks "$@" >/dev/null 2>"$T/err" || rc=$?
}
opens() { cryptsetup open --test-passphrase --key-file "$T/key" "$1" || fl_fail "'$1' does not open: $2"; }
image() {
    rm -f "$1"
    truncate -s "${2:-20M}" "$1"
}
# last_lba FILE-OR-DEVICE: the bytes of its last 512-byte sector, as text
last_lba() {
    local size
    size=$(blockdev --getsize64 "$1" 2>/dev/null || stat -c %s "$1")
    dd if="$1" bs=512 skip=$((size / 512 - 1)) count=1 status=none | tr -c '[:print:]' '.'
}

# --- the path becomes a symbolic link to another file right after the checks ---------------------
image "$T/target.img"
ln "$T/target.img" "$T/target.inode" # the target itself, whatever its name points to later
image "$T/victim.img" 24M
mkfs.ext4 -q -F -L victim "$T/victim.img"
victim=$(fl_sum "$T/victim.img")
ln -s "$T/victim.img" "$T/swap.lnk"
hooked "mv -fT '$T/swap.lnk' '$T/target.img'" format --batch --force --key-file "$T/key" "${fast[@]}" "$T/target.img"
[[ -L $T/target.img ]] || fl_fail "the hook did not replace the path"
fl_assert_eq 0 "$rc" "exit code (path swapped after the checks): $(cat "$T/err")"
fl_assert_eq "$victim" "$(fl_sum "$T/victim.img")" "victim file after the path was swapped"
opens "$T/target.inode" "the file that was checked got formatted"
# a symbolic link to a regular file is refused outright (it could be swapped)
fl_expect_exit 4 fipsluks format --batch --force --key-file "$T/key" "${fast[@]}" "$T/target.img" 2>"$T/err"
fl_assert_contains "$(cat "$T/err")" "symbolic link to a regular file" "link refusal"
fl_assert_eq "$victim" "$(fl_sum "$T/victim.img")" "victim file after a link was refused"

# --- a new key file gets its mode on the open file, whatever the umask ---------------------------------
image "$T/nk.img"
(umask 0777 && fipsluks format --batch --new-key-file "$T/new.key" "${fast[@]}" "$T/nk.img" >/dev/null) ||
    fl_fail "format with --new-key-file under umask 0777"
fl_assert_eq "400 64" "$(stat -c '%a %s' "$T/new.key")" "new key file mode and size under umask 0777"
opens_with() { cryptsetup open --test-passphrase --key-file "$2" "$1" || fl_fail "'$1' does not open with '$2'"; }
opens_with "$T/nk.img" "$T/new.key"

# --- GPT: --force erases the backup header in the last sector too ----------------------------------
gpt() { # FILE: a GPT with two partitions, an ext4 in the first
    image "$1" 40M
    printf 'label: gpt\nstart=2048, size=20480\n,\n' | sfdisk -q "$1"
    mkfs.ext4 -q -F -L inpart -E offset=1048576 "$1" 10M
}
gpt "$T/gpt.img"
[[ $(last_lba "$T/gpt.img") == "EFI PART"* ]] || fl_fail "test set-up: no backup GPT header"
fl_expect_exit 5 fipsluks format --batch --key-file "$T/key" "${fast[@]}" "$T/gpt.img" 2>"$T/err"
fl_assert_contains "$(cat "$T/err")" "libblkid finds 3 signatures" "GPT signatures listed (primary, backup, PMBR)"
fl_assert_contains "$(cat "$T/err")" "gpt                partition table  at offset 0x27ffe00" "backup GPT listed"
fl_expect_exit 0 fipsluks format --batch --force --json --key-file "$T/key" "${fast[@]}" "$T/gpt.img"
fl_assert_eq 1 "$(jq -r .signatures_erased <<<"$FL_OUT")" "signatures erased beyond the header area"
[[ $(last_lba "$T/gpt.img") != *"EFI PART"* ]] || fl_fail "the backup GPT header survived --force"
fl_assert_eq "crypto_LUKS crypto_LUKS" "$(wipefs -n -O TYPE "$T/gpt.img" | tail -n +2 | xargs)" "wipefs after --force"
(! sfdisk -d "$T/gpt.img" >/dev/null 2>&1) || fl_fail "sfdisk still finds a partition table"
opens "$T/gpt.img" "GPT image after --force"

# --- Ctrl-C at the passphrase prompt: the terminal echoes again ----------------------------------------
image "$T/tty.img"
sum=$(fl_sum "$T/tty.img")
fl_expect_exit 0 ptyrun --expect "Enter passphrase for" --intr -- \
    bash -c 'trap : INT; fipsluks format --batch --pbkdf-force-iterations 1000 "$1"; echo "exit=$?"; stty -a' \
    - "$T/tty.img"
fl_assert_contains "$FL_OUT" "interrupted; nothing was written" "message after Ctrl-C"
fl_assert_contains "$FL_OUT" "exit=1" "exit code after Ctrl-C"
flags=$(tr ' ;' '\n\n' <<<"$FL_OUT")
grep -qx -- echo <<<"$flags" || fl_fail "terminal echo is off after Ctrl-C at the prompt: $FL_OUT"
(! grep -qx -- -echo <<<"$flags") || fl_fail "terminal echo is off after Ctrl-C at the prompt"
fl_assert_eq "$sum" "$(fl_sum "$T/tty.img")" "target after Ctrl-C"

# --- no core dump, no reading by the same user: /proc/PID is root's while fipsluks runs -------------------
if [[ $(id -u) -eq 0 ]]; then
    id nobody >/dev/null 2>&1 || fl_skip "no user nobody to run fipsluks as"
    as_user=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
    want=root
    D=$(mktemp -d /tmp/fipsluks-nobody.XXXXXX)
    fl_on_exit "rm -rf '$D'"
    chown nobody "$D"
else
    as_user=()
    want=root
    D=$T
fi
image "$D/dump.img"
chown --reference="$D" "$D/dump.img"
fl_expect_exit 1 ptyrun --expect "Enter passphrase for" \
    --shell "stat -c %U /proc/\$PTYRUN_PID/environ >'$D/owner'; tr '\\0' ' ' </proc/\$PTYRUN_PID/cmdline >'$D/cmdline'" \
    --intr -- "${as_user[@]}" fipsluks format --batch "${fast[@]}" "$D/dump.img"
fl_assert_contains "$(cat "$D/cmdline")" "fipsluks format" "the process looked at"
fl_assert_eq "$want" "$(cat "$D/owner")" "owner of /proc/PID/environ of fipsluks run as $(id -un nobody 2>/dev/null || id -un) (not dumpable)"

# --- loop devices (root) -----------------------------------------------------------------------------
if [[ $(id -u) -ne 0 ]] || ! loop_a=$(losetup -f --show "$T/target.inode" 2>/dev/null); then
    echo "note: no loop devices (needs root); loop device races skipped" >&2
    echo "format-safety: all assertions passed"
    exit 0
fi
fl_on_exit "losetup -d $loop_a"
image "$T/victim-b.img" 24M
mkfs.ext4 -q -F -L victim-b "$T/victim-b.img"
loop_b=$(losetup -f --show "$T/victim-b.img")
fl_on_exit "fl_loop_detach $loop_b $T/victim-b.img"
mkdir "$T/mnt"
fl_on_exit "umount '$T/mnt' 2>/dev/null"

# a link to a block device is followed (/dev/disk/by-id/…), once: swapping it to another device
# after the checks formats nothing else
victim=$(fl_sum "$loop_b")
ln -s "$loop_a" "$T/dev.lnk"
ln -s "$loop_b" "$T/swap-dev.lnk"
hooked "mv -fT '$T/swap-dev.lnk' '$T/dev.lnk'" format --batch --force --key-file "$T/key" "${fast[@]}" "$T/dev.lnk"
fl_assert_eq "$loop_b" "$(readlink "$T/dev.lnk")" "the hook swapped the device link"
fl_assert_eq 0 "$rc" "exit code (device link swapped after the checks): $(cat "$T/err")"
fl_assert_eq "$victim" "$(fl_sum "$loop_b")" "victim loop device after the link was swapped"
opens "$loop_a" "the loop device that was checked got formatted"

# a loop device is held exclusively to the end: mounting it after the checks fails, the format completes
mkfs.ext4 -q -F "$loop_a"
hooked "if mount '$loop_a' '$T/mnt' 2>/dev/null; then echo mounted; else echo refused; fi >'$T/hook'" \
    format --batch --force --key-file "$T/key" "${fast[@]}" "$loop_a"
fl_assert_eq refused "$(cat "$T/hook")" "mounting the loop device while fipsluks formats it"
fl_assert_eq 0 "$rc" "exit code (mount attempted during format): $(cat "$T/err")"
opens "$loop_a" "loop device formatted while a mount was attempted"

# an image file whose loop device gets mounted after the checks: refused before any write, exit 5,
# the file system and its files intact
mkfs.ext4 -q -F -L live "$T/victim-b.img"
mount "$loop_b" "$T/mnt"
echo "precious data" >"$T/mnt/file"
umount "$T/mnt"
hooked "mount '$loop_b' '$T/mnt'" format --batch --force --key-file "$T/key" "${fast[@]}" "$T/victim-b.img"
fl_assert_eq 5 "$rc" "exit code (image's loop device mounted after the checks): $(cat "$T/err")"
fl_assert_contains "$(cat "$T/err")" "which is mounted on $T/mnt" "busy message"
fl_assert_contains "$(cat "$T/err")" "the target is unchanged" "nothing written"
fl_assert_eq "precious data" "$(cat "$T/mnt/file")" "file on the mounted file system"
umount "$T/mnt"
fsck.ext4 -n -f "$T/victim-b.img" >/dev/null 2>&1 || fl_fail "fsck finds the file system damaged"
fl_assert_eq ext4 "$(blkid -p -o value -s TYPE "$T/victim-b.img")" "type of the image after the refusal"

# --force on a loop device with a GPT: nothing left in its last sector
gpt "$T/gpt.img"
fl_loop_detach "$loop_b" "$T/victim-b.img"
loop_b=$(losetup -f --show "$T/gpt.img")
fl_on_exit "fl_loop_detach $loop_b $T/gpt.img"
[[ $(last_lba "$loop_b") == "EFI PART"* ]] || fl_fail "test set-up: no backup GPT on the loop device"
fl_expect_exit 0 fipsluks format --batch --force --key-file "$T/key" "${fast[@]}" "$loop_b"
[[ $(last_lba "$loop_b") != *"EFI PART"* ]] || fl_fail "the backup GPT header survived --force on a loop device"
(! sfdisk -d "$loop_b" >/dev/null 2>&1) || fl_fail "sfdisk still finds a partition table on the loop device"
fl_assert_eq "crypto_LUKS crypto_LUKS" "$(wipefs -n -O TYPE "$loop_b" | tail -n +2 | xargs)" "wipefs on the loop device"
opens "$loop_b" "GPT loop device after --force"
echo "format-safety: all assertions passed"
