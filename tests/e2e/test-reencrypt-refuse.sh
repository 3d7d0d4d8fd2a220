#!/usr/bin/env bash
# fipsluks reencrypt refuses before it writes anything, the header backup included, and --dry-run refuses
# the same with the same exit code: a read-only loop device (losetup -r), an immutable or append-only image
# (chattr +i/+a), a header UUID libcryptsetup cannot name its reencryption lock after, an image backing a
# loop device a process holds open (and that loop device), a volume a migrate works on (and the other way
# round), a sparse image without room on its file system. Then the operator's side: the YES question (no
# terminal and no --batch: refused), --dry-run's plan (old and new keyslot numbers, data size, estimate), the
# keyslot renumbering warned about, and a full backup directory said to be "no space left".
. "$(dirname "$0")/lib/common.sh"

cd "$T"
export FIPSLUKS_BACKUP_DIR=$T/backups
for i in 0 1; do fl_key k$i "refuse-secret-$i-$i"; chmod 600 k$i; done
fl_key kw "not-a-secret-of-it"
chmod 600 kw
reenc() { fipsluks reencrypt --batch --pbkdf-force-iterations 1000 "$@"; }
# make IMG: a RIPEMD-160 LUKS2 volume (which only reencrypt fixes) with keyslots 0 (k0) and 1 (k1)
make() {
    truncate -s 8M "$1"
    cryptsetup luksFormat -q --type luks2 --hash ripemd160 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --luks2-metadata-size 16k --luks2-keyslots-size 2m --key-file k0 "$1" 2>/dev/null
    cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k0 "$1" k1
}
no_backups() { [[ ! -d $FIPSLUKS_BACKUP_DIR || -z $(ls -A "$FIPSLUKS_BACKUP_DIR") ]] || fl_fail "$1: a backup was written: $(ls "$FIPSLUKS_BACKUP_DIR")"; }
# refused CODE WHAT MESSAGE IMG-TO-SUM ARGS…: the run and its dry run both exit CODE with MESSAGE; the
# image is unchanged, no backup is written (the run is tried twice: a retry adds none either)
refused() {
    local code=$1 what=$2 msg=$3 img=$4 sum
    shift 4
    sum=$(fl_sum "$img")
    for run in 1 2; do
        fl_expect_exit2 "$code" reenc "$@"
        fl_assert_contains "$FL_ERR" "$msg" "$what (run $run)"
        fl_assert_contains "$FL_ERR" "nothing was written" "$what: nothing written"
    done
    fl_expect_exit2 "$code" reenc --dry-run "$@"
    fl_assert_contains "$FL_ERR" "$msg" "$what (--dry-run)"
    fl_assert_eq "$sum" "$(fl_sum "$img")" "$what: image unchanged"
    no_backups "$what"
}

make v.img
cp v.img pristine.img
root=$([[ $(id -u) == 0 ]] && echo yes || echo no)

# --- a read-only loop device: refused before the backup (was: a 16 MiB backup per try, then an IO error) ----
if [[ $root == yes ]] && ro=$(losetup -r -f --show v.img 2>/dev/null); then
    fl_on_exit "fl_loop_detach $ro $PWD/v.img"
    refused 4 "read-only loop device" "'$ro' is read-only" v.img -d k0 -d k1 "$ro"
    fl_expect_exit2 4 reenc --json -d k0 -d k1 "$ro"
    fl_assert_eq "4 false null" "$(jq -r '"\(.error.exit_code) \(.written) \(.backup)"' <<<"$FL_OUT")" "JSON of a read-only device"
    fl_loop_detach "$ro" v.img
else
    echo "note: no read-only loop device here; not tested" >&2
fi

# --- an immutable / append-only image on ext4 (tmpfs may not have the attributes) --------------------------
if [[ $root == yes ]] && truncate -s 64M ext4.img && mkfs.ext4 -q ext4.img 2>/dev/null && mkdir mnt &&
    mount -o loop ext4.img mnt 2>/dev/null; then
    fl_on_exit "umount '$T/mnt'"
    cp --sparse=never v.img mnt/v.img
    for attr in i a; do
        if chattr +$attr mnt/v.img 2>/dev/null; then
            refused 4 "chattr +$attr image" "'mnt/v.img' is read-only" mnt/v.img -d k0 -d k1 mnt/v.img
            chattr -$attr mnt/v.img
        else
            echo "note: chattr +$attr refused here; not tested" >&2
        fi
    done
    # --- a sparse image on a file system without room for its holes: "no space left", not an IO error
    rm mnt/v.img
    truncate -s 32M mnt/sparse.img
    cryptsetup luksFormat -q --type luks2 --hash ripemd160 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --luks2-metadata-size 16k --luks2-keyslots-size 2m --key-file k0 mnt/sparse.img 2>/dev/null
    dd if=/dev/zero of=mnt/fill bs=1M count=64 status=none 2>/dev/null || true # fills it up
    refused 4 "sparse image without room" "no space left for it: 'mnt/sparse.img' is a sparse image" \
        mnt/sparse.img -d k0 mnt/sparse.img
    # --- the file system fills up after the checks (FL_HOOK_CRYPT_INIT fills it right before libcryptsetup
    # starts): "no space left on the file system", not "Input/output error"; with room, the rerun finishes.
    # (A 1 MiB hotzone: when the failed hotzone is the whole data area, the recovery finishes the
    # reencryption and the resume that follows it fails, "Device is not in reencryption": the resume logic's.)
    rm mnt/fill
    shim=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so
    fl_expect_exit2 4 env FL_HOOK_CRYPT_INIT="dd if=/dev/zero of=$T/mnt/fill bs=1M count=64 status=none" \
        LD_PRELOAD="$shim" fipsluks reencrypt --batch --pbkdf-force-iterations 1000 --hotzone-size 1048576 -d k0 mnt/sparse.img
    fl_assert_contains "$FL_ERR" "reencryption of 'mnt/sparse.img' stopped: no space left on the file system of 'mnt/sparse.img'. The header records its progress" "file system full midway"
    [[ $FL_ERR != *"Input/output error"* && $FL_ERR != *"nothing was written"* ]] || fl_fail "file system full midway: $FL_ERR"
    rm mnt/fill
    fl_expect_exit2 0 reenc -d k0 mnt/sparse.img
    fl_assert_contains "$FL_OUT" "resuming an interrupted reencryption" "rerun with room"
    rm -rf "$FIPSLUKS_BACKUP_DIR"
else
    echo "note: cannot mount an ext4 image here; immutable files and full file systems are not tested" >&2
fi

# --- a crafted header UUID: refused up front (was: stuck mid-reencryption at libcryptsetup's lock) ------------
cp pristine.img uuid.img
fl-luks2-edit uuid.img --uuid "../../x-5d02-4ec2-ace7-8dbe4d82c32e"
refused 1 "crafted UUID" "its header UUID '../../x-5d02-4ec2-ace7-8dbe4d82c32e' is not a UUID" uuid.img -d k0 -d k1 uuid.img
fl_assert_contains "$FL_ERR" 'cryptsetup luksUUID --uuid "$(uuidgen)"' "crafted UUID: remedy"
fl-luks2-edit uuid.img --uuid $'2396414e-5d02-4ec2-ace7-8dbe4d82\x1b[31m'
refused 1 "UUID with control bytes" '8dbe4d82\x1b[31m' uuid.img -d k0 -d k1 uuid.img
[[ $FL_ERR != *$'\x1b'* ]] || fl_fail "a raw escape byte from the header in the message: $FL_ERR"

# --- an image backing a loop device a process holds open (was: it went through) -----------------------------
if [[ $root == yes ]] && loop=$(losetup -f --show v.img 2>/dev/null); then
    fl_on_exit "fl_loop_detach $loop $PWD/v.img"
    (exec 9<>"$loop"; exec sleep 120) &
    holder=$!
    fl_on_exit "kill $holder 2>/dev/null"
    sleep 0.5
    refused 5 "image of a loop device held open" "'v.img': backs loop device $loop, which is open in process $holder (sleep)" \
        v.img -d k0 -d k1 v.img
    refused 5 "loop device held open" "'$loop': open in process $holder (sleep)" v.img -d k0 -d k1 "$loop"
    kill "$holder"
    wait "$holder" 2>/dev/null || true
    fl_loop_detach "$loop" v.img
else
    echo "note: no loop device here; a loop device held open is not tested" >&2
fi

# --- a migrate and a reencrypt of one volume exclude each other, both ways --------------------------------
ptyrun() { python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" "$@"; }
fl-mkluks --slot "kdf=argon2id,mem=1024,key-file=k0" --slot "kdf=argon2id,mem=1024,key-file=k1" both.img
sum=$(fl_sum both.img)
# a migrate waiting for its YES holds the volume: reencrypt (and its dry run) are refused
out=$(ptyrun --timeout 120 --expect "Type YES" \
    --shell "fipsluks reencrypt --batch --pbkdf-force-iterations 1000 -d k0 -d k1 both.img >second.out 2>&1; echo \$? >second.rc; fipsluks reencrypt --dry-run -d k0 -d k1 both.img >dry.out 2>&1; echo \$? >dry.rc" \
    --send no -- fipsluks migrate --pbkdf-force-iterations 1000 -d k0 -d k1 both.img) || true
fl_assert_eq 5 "$(cat second.rc)" "reencrypt during a migrate: $(cat second.out) / $out"
fl_assert_contains "$(cat second.out)" "another fipsluks migrate or reencrypt (or cryptsetup reencrypt) is working on 'both.img'; nothing was written" "reencrypt during a migrate"
fl_assert_eq 5 "$(cat dry.rc)" "reencrypt --dry-run during a migrate: $(cat dry.out)"
# a reencrypt waiting for its YES holds the volume: migrate is refused
out=$(ptyrun --timeout 120 --expect "Type YES to proceed: " \
    --shell "fipsluks migrate --batch --pbkdf-force-iterations 1000 -d k0 -d k1 both.img >second.out 2>&1; echo \$? >second.rc" \
    --send no -- fipsluks reencrypt --pbkdf-force-iterations 1000 -d k0 -d k1 both.img) || true
fl_assert_eq 5 "$(cat second.rc)" "migrate during a reencrypt: $(cat second.out) / $out"
fl_assert_contains "$(cat second.out)" "another fipsluks migrate or reencrypt is working on 'both.img'; nothing was written" "migrate during a reencrypt"
fl_assert_contains "$out" "not confirmed; nothing was written" "reencrypt answered no"
fl_assert_eq "$sum" "$(fl_sum both.img)" "image after both refusals"
no_backups "migrate and reencrypt at once"

# --- the question: no terminal and no --batch refuses; on a terminal YES is asked ----------------------------
cp pristine.img q.img
sum=$(fl_sum q.img)
fl_expect_exit2 1 fipsluks reencrypt --pbkdf-force-iterations 1000 -d k0 -d k1 q.img </dev/null
fl_assert_contains "$FL_ERR" "not confirmed: no terminal to ask on; pass --batch to re-encrypt without asking; nothing was written" "no terminal"
fl_assert_eq "$sum" "$(fl_sum q.img)" "image after no terminal"
out=$(ptyrun --timeout 60 --expect "Re-encrypt every byte of 'q.img'? Type YES to proceed: " --send "yes" \
    -- fipsluks reencrypt --pbkdf-force-iterations 1000 -d k0 -d k1 q.img) && fl_fail "'yes' is not YES: $out"
fl_assert_contains "$out" "keyslot 0 -> new keyslot 2" "the plan before the question"
fl_assert_eq "$sum" "$(fl_sum q.img)" "image after 'yes'"
no_backups "not confirmed"

# --- --dry-run: every secret tested, the plan, exit 0; a wrong secret is exit 2, named --------------------
fl_expect_exit2 0 fipsluks reencrypt --dry-run -d k1 -d k0 q.img
for want in "q.img: every byte of 5 MiB of data would be re-encrypted to aes-xts-plain64" \
    "keyslot 0 -> new keyslot 2, PBKDF2-sha256 (opens with k0)" "keyslot 1 -> new keyslot 3, PBKDF2-sha256 (opens with k1)" \
    "estimated time: 00:00:" "warning: keyslot numbers change: 0 -> 2, 1 -> 3" "crypttab key-slot=" \
    "k1 opens keyslot 1" "k0 opens keyslot 0" "dry run: every secret was tested; nothing was written"; do
    fl_assert_contains "$FL_OUT" "$want" "dry run"
done
fl_expect_exit2 0 fipsluks reencrypt --dry-run --json -d k1 -d k0 q.img
fl_assert_eq "reencrypt true false 0:2,1:3 0:2,1:3 null" \
    "$(jq -r '"\(.record) \(.dry_run) \(.written) \([.keyslots[] | "\(.old):\(.new)"] | join(",")) \([.keyslots_renumbered[] | "\(.old):\(.new)"] | join(",")) \(.error)"' <<<"$FL_OUT")" \
    "dry run JSON"
jq -e '.data_bytes > 5000000 and (.estimated_seconds | type) == "number"' <<<"$FL_OUT" >/dev/null || fl_fail "dry run JSON: size and estimate: $FL_OUT"
fl_assert_contains "$FL_ERR" "warning: keyslot numbers change" "dry run --json: the text on standard error"
fl_expect_exit2 2 fipsluks reencrypt --dry-run -d k0 -d kw q.img
fl_assert_contains "$FL_ERR" "the secret from kw opens no keyslot of 'q.img'" "dry run: wrong secret named"
fl_expect_exit2 2 fipsluks reencrypt --dry-run --json -d k0 -d kw q.img
fl_assert_eq "2 kw" "$(jq -r '"\(.error.exit_code) \(.error.key_file)"' <<<"$FL_OUT")" "dry run JSON: wrong secret"
# a keyslot without a secret: --batch refuses to drop it in a dry run as in a run
fl_expect_exit2 1 fipsluks reencrypt --dry-run --batch -d k0 q.img
fl_assert_contains "$FL_ERR" "--batch never drops keyslots" "dry run: drop refused"
fl_assert_eq "$sum" "$(fl_sum q.img)" "image after dry runs"
no_backups "dry runs"

# --- the run: the numbers the dry run said, warned about with the result -------------------------------------
cp q.img qj.img
fl_expect_exit2 0 reenc -d k0 -d k1 q.img
fl_assert_contains "$FL_OUT" "warning: keyslot numbers change: 0 -> 2, 1 -> 3" "renumbering warned after the run"
fl_expect_exit2 0 reenc --json -d k0 -d k1 --header-backup qj.bak qj.img
fl_assert_eq "true true true 0:2,1:3 qj.bak" \
    "$(jq -r '"\(.finished) \(.written) \(.fips_compatible) \([.keyslots_renumbered[] | "\(.old):\(.new)"] | join(",")) \(.backup)"' <<<"$FL_OUT")" \
    "JSON of the run"
fl_assert_eq "2 3" "$(cryptsetup luksDump --dump-json-metadata q.img | jq -r '.keyslots | keys | join(" ")')" "keyslots after the run"
cryptsetup open --test-passphrase --key-slot 2 --key-file k0 q.img || fl_fail "k0 does not open the new keyslot 2"
cryptsetup open --test-passphrase --key-slot 3 --key-file k1 q.img || fl_fail "k1 does not open the new keyslot 3"
rm -rf "$FIPSLUKS_BACKUP_DIR"

# --- a full backup directory: "no space left", and nothing was written -----------------------------------------
if [[ $root == yes ]] && mkdir full && mount -t tmpfs -o size=64k tmpfs full 2>/dev/null; then
    fl_on_exit "umount '$T/full'"
    cp pristine.img nb.img
    sum=$(fl_sum nb.img)
    fl_expect_exit2 4 env FIPSLUKS_BACKUP_DIR="$T/full" fipsluks reencrypt --batch --pbkdf-force-iterations 1000 -d k0 -d k1 nb.img
    fl_assert_contains "$FL_ERR" "cannot write the header backup of 'nb.img': no space left on device; nothing was written" "full backup directory"
    fl_assert_eq "$sum" "$(fl_sum nb.img)" "image after a full backup directory"
fi
echo "reencrypt refusals: all assertions passed"
