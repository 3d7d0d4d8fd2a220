#!/usr/bin/env bash
# fipsluks migrate tried as an operator and an attacker would: wrong and partial secrets, dry runs,
# read-only targets, header backups (names, collisions, full disks), crafted journals, two runs at
# once, interrupts. Every refusal must leave the header bytes as they were and write no backup.
. "$(dirname "$0")/lib/common.sh"

cd "$T"
export FIPSLUKS_BACKUP_DIR=$T/backups
key() { fl_key "$1" "$2"; chmod 600 "$1"; }
key k0 "trust-secret-zero"
key k1 "trust-secret-one1"
key k2 "third-secret-2222"
key kw "wrong-secret-9999"
hdr() { head -c 16777216 "$1" | sha256sum | cut -d' ' -f1; }
F=(--batch --pbkdf-force-iterations 1000)
no_backups() { [[ ! -d $FIPSLUKS_BACKUP_DIR ]] || [[ -z $(ls -A "$FIPSLUKS_BACKUP_DIR") ]] || fl_fail "$1: a backup was written: $(ls "$FIPSLUKS_BACKUP_DIR")"; }
# run_rc CODE CMD...: run, keep stdout in $OUT and stderr in $ERR, assert the exit code
run_rc() {
    local want=$1 rc=0
    shift
    "$@" >out 2>err || rc=$?
    OUT=$(cat out) ERR=$(cat err)
    [[ $rc -eq $want ]] || fl_fail "'$*' exited $rc, expected $want; stdout: $OUT; stderr: $ERR"
}
jsonok() { python3 -c 'import json,sys; json.loads(sys.stdin.buffer.read())' <<<"$1" || fl_fail "$2: not valid JSON: $1"; }

fl-mkluks --slot "kdf=argon2id,key-file=k0,priority=prefer" --slot "kdf=argon2i,key-file=k1" pristine.img

# ---- secrets: a key file that opens nothing is exit 2, named, before anything is written ----------
cp pristine.img v.img
orig=$(hdr v.img)
run_rc 2 fipsluks migrate "${F[@]}" -d k0 -d kw v.img
fl_assert_contains "$ERR" "key file 'kw' opens no keyslot of 'v.img'; nothing was written" "wrong key file message"
fl_assert_eq "$orig" "$(hdr v.img)" "header after a wrong key file"
no_backups "wrong key file"
run_rc 2 fipsluks migrate "${F[@]}" --json -d kw v.img
jsonok "$OUT" "--json on exit 2"
fl_assert_eq "2 kw false null" "$(jq -r '"\(.error.exit_code) \(.error.key_file) \(.written) \(.backup)"' <<<"$OUT")" "JSON of a wrong secret"

# ---- --dry-run tests every secret and says which keyslot each opens -------------------------------
run_rc 2 fipsluks migrate --dry-run -d k0 -d kw v.img
fl_assert_contains "$ERR" "key file 'kw' opens no keyslot" "dry run with a wrong secret"
# A dry run that proved every secret a real run needs exits 0 and says so (a pre-flight chains with
# &&); one that found a keyslot without a secret exits 7 and names it.
run_rc 0 fipsluks migrate --dry-run -d k1 -d k0 v.img
fl_assert_contains "$OUT" "key file 'k0' opens keyslot 0" "dry run: k0"
fl_assert_contains "$OUT" "key file 'k1' opens keyslot 1" "dry run: k1"
fl_assert_contains "$OUT" "dry run: every secret was tested; nothing was changed" "dry run summary"
fl_assert_contains "$OUT" "v.img: NOT FIPS-compatible now; a real run with these secrets makes it FIPS-compatible" \
    "dry run verdict"
[[ $OUT != *"still needs migration"* ]] || fl_fail "a proven dry run says a keyslot still needs migration: $OUT"
run_rc 0 fipsluks migrate --dry-run --json -d k1 -d k0 v.img
fl_assert_eq "k1:1 k0:0" "$(jq -r '[.secrets[] | "\(.key_file):\(.keyslot)"] | join(" ")' <<<"$OUT")" "dry run JSON"
fl_assert_eq "[] false true" "$(jq -c -j '.remaining, " ", .fips_compatible, " ", .would_be_fips_compatible' <<<"$OUT")" \
    "dry run JSON: nothing left, compatible after a real run"
run_rc 7 fipsluks migrate --dry-run -d k0 v.img
fl_assert_contains "$OUT" "keyslot 1 still needs migration" "dry run without keyslot 1's secret"
run_rc 7 fipsluks migrate --dry-run --json -d k0 v.img
fl_assert_eq "[1] null" "$(jq -c -j '.remaining, " ", .error' <<<"$OUT")" "dry run JSON: keyslot 1 left"
# --key-slot N without such a keyslot is a wrong parameter (1), dry run or not
run_rc 1 fipsluks migrate --dry-run --key-slot 9 -d k0 v.img
fl_assert_contains "$ERR" "'v.img' has no keyslot 9" "--key-slot 9"
run_rc 1 fipsluks migrate "${F[@]}" --json --key-slot 9 -d k0 v.img
fl_assert_eq 1 "$(jq -r .error.exit_code <<<"$OUT")" "JSON exit code of --key-slot 9"
fl_assert_eq "$orig" "$(hdr v.img)" "header after dry runs"
no_backups "dry run"

# ---- a rerun ends as the uninterrupted run would: a converted keyslot's secret is not wrong --------
run_rc 7 fipsluks migrate "${F[@]}" -d k0 v.img
fl_assert_contains "$OUT" "keyslot 1 still needs migration" "keyslot 1 left"
run_rc 7 fipsluks migrate "${F[@]}" -d k0 v.img
fl_assert_contains "$OUT" "keyslot 1 still needs migration" "rerun with the converted keyslot's secret"
run_rc 0 fipsluks migrate "${F[@]}" -d k0 -d k1 v.img
# and after an interruption in the middle of keyslot 0's conversion (killed at its 10th write or sync)
cp pristine.img v.img
rc=0
ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_CRASH_TARGET=$T/v.img FL_CRASH_AT=10 \
    LD_PRELOAD=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so fipsluks migrate "${F[@]}" -d k0 v.img >/dev/null 2>&1 || rc=$?
fl_assert_eq 137 "$rc" "killed mid-conversion"
crashed=$(hdr v.img)
rm -rf "$FIPSLUKS_BACKUP_DIR"
run_rc 7 fipsluks migrate "${F[@]}" -d k0 v.img
# recovery writes, so it backs up the crashed state first
fl_assert_eq "$crashed" "$(hdr "$FIPSLUKS_BACKUP_DIR"/*.luksheader)" "backup of the crashed state"
fl_assert_contains "$OUT" "keyslot 0: finishing an interrupted migration" "recovery message"
fl_assert_eq "0:pbkdf2:prefer 1:argon2i:normal" \
    "$(fipsluks scan --json v.img | jq -r '[.volumes[0].keyslots[] | "\(.id):\(.kdf):\(.priority)"] | join(" ")')" "after the recovering rerun"
[[ $(cryptsetup luksDump v.img) != *fipsluks-migration* ]] || fl_fail "journal left after the rerun"

# ---- the backup: only when writing, a safe default name, no collisions, advice --------------------
rm -rf "$FIPSLUKS_BACKUP_DIR"
fl-mkluks --slot "kdf=pbkdf2,iter=200000,key-file=k0" ok.img
run_rc 0 fipsluks migrate "${F[@]}" -d k0 ok.img
no_backups "nothing to convert"
cp pristine.img evil.img
fl-luks2-edit evil.img --uuid '../../../../tmp/fl-escape'
rm -f /tmp/fl-escape*
run_rc 0 fipsluks migrate "${F[@]}" -d k0 -d k1 evil.img
[[ -z $(ls /tmp/fl-escape* 2>/dev/null) ]] || fl_fail "a backup was written outside the backup directory"
ls "$FIPSLUKS_BACKUP_DIR" | grep -qx 'volume-[0-9]\{8\}T[0-9]\{6\}Z\(-[0-9]*\)\?\.luksheader' ||
    fl_fail "backup of a volume with a malformed UUID: $(ls "$FIPSLUKS_BACKUP_DIR")"
fl_assert_contains "$OUT" "holds the old keyslots: anyone with an old secret can open the volume with it" "backup advice"
fl_assert_contains "$OUT" "shred -u $FIPSLUKS_BACKUP_DIR/volume-" "backup removal advice"
fl_assert_eq 600 "$(stat -c %a "$FIPSLUKS_BACKUP_DIR"/volume-*)" "backup mode"
# two volumes with one UUID, migrated within the same second: two backups
rm -rf "$FIPSLUKS_BACKUP_DIR"
cp pristine.img same1.img
cp pristine.img same2.img
uuid=$(cryptsetup luksUUID same1.img)
run_rc 0 fipsluks migrate "${F[@]}" -d k0 -d k1 same1.img
run_rc 0 fipsluks migrate "${F[@]}" -d k0 -d k1 same2.img
fl_assert_eq 2 "$(ls "$FIPSLUKS_BACKUP_DIR" | grep -c "^$uuid-")" "backups of two runs in one second"
# a disk that fills up while the backup is written: exit 4, no partial backup, header untouched
mkdir full
mount -t tmpfs -o size=1m tmpfs full
fl_on_exit "umount '$T/full'"
cp pristine.img v.img
run_rc 4 fipsluks migrate "${F[@]}" --header-backup full/v.bak -d k0 v.img
fl_assert_contains "$ERR" "No space left on device" "disk full message"
[[ ! -e full/v.bak ]] || fl_fail "a partial backup was left on the full disk"
fl_assert_eq "$orig" "$(hdr v.img)" "header after a full disk"
# an existing backup file: exit 5, with a JSON document; a dry run refuses it too
echo precious >exists.bak
run_rc 5 fipsluks migrate --dry-run --header-backup exists.bak -d k0 v.img
fl_assert_contains "$ERR" "exists.bak': it exists" "dry run: existing backup"
run_rc 5 fipsluks migrate "${F[@]}" --json --header-backup exists.bak -d k0 v.img
jsonok "$OUT" "--json on exit 5"
fl_assert_eq "5 false" "$(jq -r '"\(.error.exit_code) \(.written)"' <<<"$OUT")" "JSON of an existing backup"
fl_assert_eq precious "$(cat exists.bak)" "existing backup untouched"

# ---- read-only targets: exit 4 "read-only" before anything is written, dry run or not ---------------
# (a pre-flight must not pass what the real run then refuses)
cp pristine.img ro.img
roh=$(hdr ro.img)
rm -rf "$FIPSLUKS_BACKUP_DIR"
if L=$(losetup -r -f --show ro.img 2>/dev/null); then
    fl_on_exit "losetup -d $L"
    run_rc 4 fipsluks migrate "${F[@]}" -d k0 "$L"
    fl_assert_contains "$ERR" "is read-only" "read-only loop device"
    run_rc 4 fipsluks migrate --dry-run -d k0 "$L"
    fl_assert_contains "$ERR" "is read-only" "dry run: read-only loop device"
    [[ $ERR != *"restor"* ]] || fl_fail "read-only loop device: talks of restoring: $ERR"
    run_rc 4 fipsluks migrate "${F[@]}" --json -d k0 "$L"
    jsonok "$OUT" "--json on exit 4"
    fl_assert_eq 4 "$(jq -r .error.exit_code <<<"$OUT")" "JSON exit code of a read-only device"
fi
if chattr +i ro.img 2>/dev/null; then
    fl_on_exit "chattr -i '$T/ro.img'"
    run_rc 4 fipsluks migrate "${F[@]}" -d k0 ro.img
    fl_assert_contains "$ERR" "is read-only" "immutable image"
    run_rc 4 fipsluks migrate --dry-run -d k0 ro.img
    fl_assert_contains "$ERR" "is read-only" "dry run: immutable image"
    run_rc 4 fipsluks migrate --dry-run --json -d k0 ro.img
    fl_assert_eq 4 "$(jq -r .error.exit_code <<<"$OUT")" "dry run JSON exit code of an immutable image"
    chattr -i ro.img
fi
mkdir rodir romnt
cp pristine.img rodir/v.img
mount --bind rodir romnt && mount -o remount,ro,bind romnt
fl_on_exit "umount '$T/romnt'"
run_rc 4 fipsluks migrate "${F[@]}" -d k0 romnt/v.img
fl_assert_contains "$ERR" "is read-only" "read-only mount"
run_rc 4 fipsluks migrate --dry-run -d k0 romnt/v.img
fl_assert_contains "$ERR" "is read-only" "dry run: read-only mount"
fl_assert_eq "$roh" "$(hdr ro.img)" "read-only image"
no_backups "read-only targets"
# a missing device: exit 4 with a JSON document
run_rc 4 fipsluks migrate "${F[@]}" --json -d k0 missing.img
jsonok "$OUT" "--json for a missing device"

# ---- --allow-non-fips-unlock is recorded ----------------------------------------------------------
cp pristine.img nf.img
run_rc 0 fipsluks migrate "${F[@]}" --allow-non-fips-unlock -d k0 -d k1 nf.img
fl_assert_contains "$OUT" "note: --allow-non-fips-unlock" "non-FIPS unlock in the text"
cp pristine.img nf.img
run_rc 0 fipsluks migrate "${F[@]}" --json --allow-non-fips-unlock -d k0 -d k1 nf.img
fl_assert_eq true "$(jq -r .allow_non_fips_unlock <<<"$OUT")" "non-FIPS unlock in the JSON"

# ---- crafted journals: reported with their token id, nothing destroyed ------------------------------
journal() { # IMG JSON: import a token
    printf '%s' "$2" >tok.json
    cryptsetup token import --json-file tok.json "$1"
}
salt0=$(cryptsetup luksDump --dump-json-metadata pristine.img | jq -r '.keyslots["0"].kdf.salt')
bad=(
    '{"type":"fipsluks-migration","keyslots":[],"keyslot":"0","existing":["5"]}'
    '{"type":"fipsluks-migration","keyslots":[],"version":"2","keyslot":"x","salt":"a","temp":"2","temp_hash":"sha256","temp_iterations":"1500","priority":"normal"}'
    '{"type":"fipsluks-migration","keyslots":[],"version":"2","keyslot":"40","salt":"a","temp":"2","temp_hash":"sha256","temp_iterations":"1500","priority":"normal"}'
    '{"type":"fipsluks-migration","keyslots":[],"version":"2","keyslot":"5","salt":"a","temp":"6","temp_hash":"sha256","temp_iterations":"1500","priority":"normal"}'
    '{"type":"fipsluks-migration","keyslots":[],"version":"2","keyslot":"0","salt":"'"$salt0"'","temp":"0","temp_hash":"sha256","temp_iterations":"1500","priority":"normal"}'
)
for b in "${bad[@]}"; do
    cp pristine.img j.img
    journal j.img "$b"
    jh=$(hdr j.img)
    run_rc 4 fipsluks migrate "${F[@]}" -d k0 -d k1 j.img
    fl_assert_contains "$ERR" "journal token 0 in 'j.img' does not fit the header" "crafted journal $b"
    fl_assert_eq "$jh" "$(hdr j.img)" "header after crafted journal $b"
done
# two journals for one keyslot
cp pristine.img j.img
j='{"type":"fipsluks-migration","keyslots":[],"version":"2","keyslot":"0","salt":"'"$salt0"'","temp":"2","temp_hash":"sha256","temp_iterations":"1500","priority":"prefer"}'
journal j.img "$j"
journal j.img "$j"
jh=$(hdr j.img)
run_rc 4 fipsluks migrate "${F[@]}" -d k0 -d k1 j.img
fl_assert_contains "$ERR" "names the same keyslots" "two journals for one keyslot"
fl_assert_eq "$jh" "$(hdr j.img)" "header after two journals"
# a journal whose "temporary copy" is someone else's keyslot with the very same PBKDF2 parameters:
# that keyslot and its secret survive, and the volume is migrated
fl-mkluks --slot "kdf=argon2id,key-file=k0" --slot "kdf=pbkdf2,iter=1500,key-file=k2" f.img
journal f.img '{"type":"fipsluks-migration","keyslots":[],"version":"2","keyslot":"0","salt":"bogus","temp":"1","temp_hash":"sha256","temp_iterations":"1500","priority":"normal"}'
run_rc 0 fipsluks migrate "${F[@]}" -d k0 f.img
cryptsetup open --test-passphrase --key-slot 1 --key-file k2 f.img || fl_fail "a foreign keyslot named by a journal was destroyed"
cryptsetup open --test-passphrase --key-slot 0 --key-file k0 f.img || fl_fail "keyslot 0 after a foreign journal"

# ---- header strings are escaped in text and valid in JSON; a keyslot no secret can open here is skipped
fl-mkluks --slot "kdf=argon2id,key-file=k0" --slot "kdf=pbkdf2,hash=ripemd160,key-file=k1" esc.img
fl-luks2-edit esc.img --set 'keyslots.1.kdf.hash="ripemd\u009b160\u0007"'
run_rc 7 fipsluks migrate --dry-run -d k0 esc.img
fl_assert_contains "$OUT" 'pbkdf2 ripemd\xc2\x9b160\x07, 1000 iterations' "escaped KDF hash"
! grep -qP '\x07|\xc2\x9b' out || fl_fail "raw control characters from the header in the text output"
run_rc 7 fipsluks migrate --dry-run --json -d k0 esc.img
jsonok "$OUT" "--json with control characters in the header"

# ---- two migrations at once: the second is refused while the first holds the volume ----------------
cp pristine.img c.img
out=$(python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" --timeout 120 --expect "Type YES" \
    --shell "fipsluks migrate --batch --pbkdf-force-iterations 1000 -d k0 -d k1 c.img >second.out 2>&1; test \$? -eq 5" \
    --send YES -- fipsluks migrate --pbkdf-force-iterations 1000 -d k0 -d k1 c.img) ||
    fl_fail "concurrent migrations: $out / $(cat second.out)"
fl_assert_contains "$(cat second.out)" "another fipsluks migrate or reencrypt is working on 'c.img'" "concurrent migrate message"
fl_expect_exit 0 fipsluks scan c.img

# ---- scan while a migration writes: always a consistent header (one copy is valid at every moment) --
args=()
for i in 0 1 2 3 4 5; do args+=(--slot "kdf=argon2id,mem=1024,key-file=k0"); done
fl-mkluks "${args[@]}" busy.img
fipsluks migrate "${F[@]}" -d k0 busy.img >busy.out 2>&1 &
mig=$!
scans=0
while kill -0 "$mig" 2>/dev/null && ((scans < 400)); do
    rc=0
    fipsluks scan --json busy.img >scan.json 2>/dev/null || rc=$?
    [[ $rc == 0 || $rc == 6 ]] || fl_fail "scan during a migration exited $rc: $(cat scan.json)"
    jq -e '.volumes[0].keyslots | length >= 6 and length <= 7 and all(.kdf == "pbkdf2" or .kdf == "argon2id")' \
        scan.json >/dev/null || fl_fail "scan during a migration: an inconsistent header: $(cat scan.json)"
    scans=$((scans + 1))
done
wait "$mig" || fl_fail "the migration scanned meanwhile failed: $(cat busy.out)"
((scans > 3)) || fl_fail "only $scans scans ran during the migration"
fl_expect_exit 0 fipsluks scan busy.img

# ---- on a terminal: progress, and Ctrl-C says at once that nothing was written ----------------------
fl-mkluks --slot "kdf=argon2id,mem=262144,iter=12,key-file=k0" slow.img
slowh=$(hdr slow.img)
out=$(python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" --timeout 120 --expect "unlocking keyslot 0 (argon2id, 256 MiB)" \
    --intr -- fipsluks migrate --pbkdf-force-iterations 1000 -d k0 slow.img) && rc=0 || rc=$?
fl_assert_eq 7 "$rc" "exit code after Ctrl-C while unlocking: $out"
fl_assert_contains "$out" "interrupted: nothing has been written; stopping" "Ctrl-C message"
fl_assert_eq "$slowh" "$(hdr slow.img)" "header after Ctrl-C"
out=$(python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" --timeout 120 \
    -- fipsluks migrate --batch --pbkdf-force-iterations 1000 -d k0 slow.img) || fl_fail "terminal migrate: $out"
for step in "unlocking keyslot 0 (argon2id, 256 MiB) with key file 'k0'" "keyslot 0: converting argon2id, 256 MiB to pbkdf2 sha256" \
    "writing PBKDF2 keyslot 1" "verifying that keyslot 1 opens" "writing PBKDF2 keyslot 0" "verifying that keyslot 0 opens"; do
    fl_assert_contains "$out" "$step" "progress on a terminal"
done
echo "migrate-trust: all assertions passed"
