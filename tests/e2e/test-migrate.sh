#!/usr/bin/env bash
# fipsluks migrate on real images: what it converts, what it keeps (ids, priority, tokens), what it
# refuses, and that every refusal leaves the header bytes exactly as they were.
. "$(dirname "$0")/lib/common.sh"

# Under valgrind every Argon2 unlock of a 32 MiB keyslot costs seconds: FL_VALGRIND=1 makes the test
# images' Argon2 keyslots 1 MiB ones (same code paths; the scan tests keep checking 32 MiB ones).
[[ ${FL_VALGRIND:-0} != 1 ]] || export FL_MKLUKS_ARGON2_MEMORY_KIB=1024

cd "$T"
key() { fl_key "$1" "$2"; chmod 600 "$1"; }
key k0 "secret-zero-0"
key k1 "secret-one-11"
key k2 "secret-two-22"
key k3 "token-secret-3333"
key kw "wrong-secret-99"
key kshort "short"
hdr() { head -c 16777216 "$1" | sha256sum | cut -d' ' -f1; } # the LUKS2 header region
slots() { fipsluks scan --json "$1" | jq -r '[.volumes[0].keyslots[] | "\(.id):\(.kdf):\(.priority)\(if .tokens != [] then ":" + .tokens[0].type else "" end)"] | join(" ")'; }

fl-mkluks --slot "kdf=argon2id,key-file=k0,priority=prefer" --slot "kdf=argon2i,key-file=k1" \
    --slot "kdf=pbkdf2,iter=200000,key-file=k2" --slot "kdf=argon2id,key-file=k3,token=systemd-tpm2" v.img
orig=$(hdr v.img)

# option validation: exit 1, nothing read or written
fl_expect_exit 1 fipsluks migrate --hash sha1 -d k0 v.img
fl_expect_exit 1 fipsluks migrate --hash ripemd160 -d k0 v.img
fl_expect_exit 1 fipsluks migrate --pbkdf-force-iterations 999 -d k0 v.img
fl_expect_exit 1 fipsluks migrate --pbkdf-force-iterations 12x -d k0 v.img
fl_expect_exit 1 fipsluks migrate --iter-time 100 --pbkdf-force-iterations 5000 -d k0 v.img
fl_expect_exit 1 fipsluks migrate --key-slot 32 -d k0 v.img
fl_expect_exit 1 fipsluks migrate -d - -d - v.img
fl_expect_exit 1 fipsluks migrate -d k0
fl_expect_exit 1 fipsluks migrate v.img </dev/null # no terminal and no key file
fl_assert_eq "$orig" "$(hdr v.img)" "header after refused options"

# --dry-run: the plan, exit 7 (no secret given, so nothing proven), nothing written
fl_expect_exit 7 fipsluks migrate --dry-run v.img
fl_assert_contains "$FL_OUT" "keyslot 0  argon2id -> pbkdf2 sha256" "dry-run plan"
fl_assert_contains "$FL_OUT" "keyslot 1  argon2i -> pbkdf2 sha256" "dry-run plan"
[[ $FL_OUT != *"keyslot 2  "* && $FL_OUT != *"keyslot 3  "* ]] || fl_fail "dry-run plans a compliant or token-bound keyslot: $FL_OUT"
fl_assert_contains "$FL_OUT" "keyslot 3 is bound to a token (systemd-tpm2)" "token explanation"
fl_assert_contains "$FL_OUT" "fix: re-enroll the systemd-tpm2 token for keyslot 3 (e.g. systemd-cryptenroll --wipe-slot=3 --tpm2-device=auto v.img)" "token remedy"
fl_assert_eq "$orig" "$(hdr v.img)" "header after --dry-run"

# a wrong secret: exit 2, no header change, no backup written
fl_expect_exit 2 fipsluks migrate --batch -d kw --header-backup wrong.bak v.img
fl_expect_exit 2 fipsluks migrate --batch -d k1 --key-slot 0 --header-backup wrong.bak v.img
[[ ! -e wrong.bak ]] || fl_fail "a backup was written for a wrong secret"
fl_assert_eq "$orig" "$(hdr v.img)" "header after a wrong secret"

# an existing backup file is never overwritten: exit 5, nothing changed
echo precious >exists.bak
fl_expect_exit 5 fipsluks migrate --batch -d k0 --pbkdf-force-iterations 1000 --header-backup exists.bak v.img
fl_assert_eq precious "$(cat exists.bak)" "existing backup file"
fl_assert_eq "$orig" "$(hdr v.img)" "header after refusing to overwrite a backup"

# the real thing: one key file, one secret on standard input; the token-bound keyslot stays
fl_expect_exit 7 fipsluks migrate --batch --json -d k0 --key-file=- --pbkdf-force-iterations 1000 --header-backup v.bak v.img <k1
J=$FL_OUT
fl_assert_eq "0:converted 1:converted" "$(jq -r '[.keyslots[] | "\(.id):\(.status)"] | join(" ")' <<<"$J")" "converted keyslots"
fl_assert_eq "[3]" "$(jq -c .remaining <<<"$J")" "remaining keyslots"
fl_assert_eq "1000 sha256 false" "$(jq -r '"\(.iterations) \(.hash) \(.fips_compatible)"' <<<"$J")" "json summary"
fl_assert_eq "0:pbkdf2:prefer 1:pbkdf2:normal 2:pbkdf2:normal 3:argon2id:normal:systemd-tpm2" "$(slots v.img)" "keyslots after migrate"
fl_assert_eq "600" "$(stat -c %a v.bak)" "backup mode"
fl_assert_eq "$orig" "$(head -c 16777216 v.bak | sha256sum | cut -d' ' -f1)" "backup holds the original header"
for s in 0:k0 1:k1 2:k2 3:k3; do
    cryptsetup open --test-passphrase --key-slot "${s%%:*}" --key-file "${s#*:}" v.img || fl_fail "keyslot ${s%%:*} no longer opens"
done

# rerun: converges, changes nothing
after=$(hdr v.img)
fl_expect_exit 7 fipsluks migrate --batch -d k0 -d k1 --pbkdf-force-iterations 1000 --header-backup v2.bak v.img
fl_assert_contains "$FL_OUT" "no keyslot to convert" "rerun"
fl_assert_eq "$after" "$(hdr v.img)" "header after a rerun"

# the token-bound keyslot, by number and with its secret: token kept, volume compatible, exit 0
fl_expect_exit 0 fipsluks migrate --batch -d k3 --key-slot 3 --pbkdf-force-iterations 1000 --header-backup v3.bak v.img
fl_assert_eq "0:pbkdf2:prefer 1:pbkdf2:normal 2:pbkdf2:normal 3:pbkdf2:normal:systemd-tpm2" "$(slots v.img)" "token keyslot"
cryptsetup open --test-passphrase --key-slot 3 --key-file k3 v.img || fl_fail "token keyslot no longer opens"
fl_expect_exit 0 fipsluks scan v.img

# --key-slot on a compliant keyslot with a warning (weak iterations) re-wraps just that one
fl_expect_exit 0 fipsluks migrate --batch --json -d k2 --key-slot 2 --iter-time 200 --header-backup v4.bak v.img
it=$(jq -r '.volume.keyslots[] | select(.id == 2) | .iterations' <<<"$FL_OUT")
((it > 1000)) || fl_fail "calibrated iterations $it"

# key file offset and size, and the short-passphrase warning
printf 'XXXXsecret-zero-0YYYY' >kpad
chmod 600 kpad
fl-mkluks --slot "kdf=argon2id,key-file=k0" off.img
fl_expect_exit 0 fipsluks migrate --batch --keyfile-offset 4 --keyfile-size 13 -d kpad --pbkdf-force-iterations 1000 --header-backup off.bak off.img
fl-mkluks --slot "kdf=argon2id,key-file=kshort" short.img
rc=0
fipsluks migrate --batch -d kshort --pbkdf-force-iterations 1000 --header-backup short.bak short.img >/dev/null 2>err || rc=$?
fl_assert_eq 0 "$rc" "short passphrase migrate"
fl_assert_contains "$(cat err)" "shorter than 8 bytes" "short passphrase warning"

# a non-approved PBKDF2 hash is converted too
fl-mkluks --slot "kdf=pbkdf2,hash=ripemd160,key-file=k0" rmd.img
fl_expect_exit 0 fipsluks migrate --batch -d k0 --hash sha512 --pbkdf-force-iterations 1000 --header-backup rmd.bak rmd.img
fl_assert_eq "sha512 sha512" "$(fipsluks scan --json rmd.img | jq -r '.volumes[0].keyslots[0] | "\(.hash) \(.af_hash)"')" "ripemd160 re-wrapped"

# no free keyslot: refused without --allow-in-place (exit 1, unchanged), converted with it
args=()
for i in $(seq 0 31); do args+=(--slot "kdf=pbkdf2,key-file=k1,id=$i"); done
args[1]="kdf=argon2id,key-file=k0,id=0"
fl-mkluks "${args[@]}" full.img
fullh=$(hdr full.img)
fl_expect_exit 1 fipsluks migrate --batch -d k0 --pbkdf-force-iterations 1000 --header-backup full.bak full.img
fl_assert_contains "$(fipsluks migrate --batch -d k0 --pbkdf-force-iterations 1000 --header-backup full.bak full.img 2>&1 || true)" "--allow-in-place" "no-room message"
fl_assert_eq "$fullh" "$(hdr full.img)" "header after the no-room refusal"
# the dry run refuses it too (a pre-flight must not pass what the real run refuses)
fl_expect_exit2 1 fipsluks migrate --dry-run -d k0 full.img
fl_assert_contains "$FL_ERR" "a real run would stop here" "dry run: no-room message"
fl_expect_exit 0 fipsluks migrate --dry-run --allow-in-place -d k0 full.img
fl_expect_exit 0 fipsluks migrate --batch --allow-in-place -d k0 --pbkdf-force-iterations 1000 --header-backup full2.bak full.img
cryptsetup open --test-passphrase --key-slot 0 --key-file k0 full.img || fl_fail "in-place keyslot does not open"

# no free keyslot area (a small keyslots area made by cryptsetup itself)
truncate -s 20M area.img
cryptsetup luksFormat -q --type luks2 --luks2-keyslots-size 516096 --pbkdf argon2id --pbkdf-force-iterations 4 \
    --pbkdf-memory 32768 --pbkdf-parallel 1 --key-file k0 area.img
cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k0 area.img k1
areah=$(hdr area.img)
fl_expect_exit 1 fipsluks migrate --batch -d k0 --pbkdf-force-iterations 1000 --header-backup area.bak area.img
fl_assert_eq "$areah" "$(hdr area.img)" "header after the no-area refusal"

# a detached header
fl-mkluks --slot "kdf=argon2id,key-file=k0" det.img
cryptsetup luksHeaderBackup --header-backup-file det.hdr det.img
truncate -s 1M det.data
fl_expect_exit 0 fipsluks migrate --batch --header det.hdr -d k0 --pbkdf-force-iterations 1000 --header-backup det.bak det.data
fl_assert_eq true "$(fipsluks scan --json --header det.hdr det.data | jq -r '.volumes[0].fips_compatible')" "detached header migrated"

# a block device: the same image behind a loop device
if [[ $(id -u) -eq 0 ]] && command -v losetup >/dev/null && [[ -e /dev/loop-control ]]; then
    fl-mkluks --slot "kdf=argon2id,key-file=k0,priority=prefer" --slot "kdf=argon2i,key-file=k1" loop.img
    if L=$(losetup -f --show loop.img 2>/dev/null); then
        fl_on_exit "losetup -d $L"
        fl_expect_exit 0 fipsluks migrate --batch -d k0 -d k1 --pbkdf-force-iterations 1000 --header-backup loop.bak "$L"
        fl_assert_eq "0:pbkdf2:prefer 1:pbkdf2:normal" "$(slots "$L")" "loop device keyslots"
        cryptsetup open --test-passphrase --key-slot 1 --key-file k1 "$L" || fl_fail "loop device keyslot 1"
    fi
fi

# a new keyslot does not verify (verification opens the temporary copy first, then the final keyslot):
# the header is restored from the backup, exit 4, the volume as it was
for at in 1 2; do
    fl-mkluks --slot "kdf=argon2id,key-file=k0" verify.img
    verifyh=$(hdr verify.img)
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_FAIL_ACTIVATE_AT=$at \
        LD_PRELOAD=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so \
        fipsluks migrate --batch -d k0 --pbkdf-force-iterations 1000 --header-backup verify$at.bak verify.img >/dev/null 2>err || rc=$?
    fl_assert_eq 4 "$rc" "exit code when verification $at fails"
    fl_assert_contains "$(cat err)" "restored from the backup" "verify failure message"
    fl_assert_eq "$verifyh" "$(hdr verify.img)" "header after failed verification $at"
    cryptsetup open --test-passphrase --key-slot 0 --key-file k0 verify.img || fl_fail "volume after failed verification $at"
done

# LUKS1: explained, nothing changed
fl-mkluks --type luks1 --slot "key-file=k0" l1.img
l1=$(hdr l1.img)
rc=0
fipsluks migrate --batch -d k0 l1.img >/dev/null 2>err || rc=$?
fl_assert_eq 0 "$rc" "LUKS1 sha256 exit"
fl_assert_contains "$(cat err)" "LUKS1" "LUKS1 explanation"
fl_assert_eq "$l1" "$(hdr l1.img)" "LUKS1 header"

# --convert-luks1: LUKS2 after a backup of the LUKS1 header, then the keyslots; a non-approved header
# hash stays in the digest (exit 6, fipsluks reencrypt named); --dry-run changes nothing
l1=$(hdr l1.img)
fl_expect_exit 7 fipsluks migrate --batch --dry-run --convert-luks1 -d k0 l1.img
fl_assert_eq "$l1" "$(hdr l1.img)" "LUKS1 header after a dry run"
fl_expect_exit 0 fipsluks migrate --batch --json --convert-luks1 -d k0 --pbkdf-force-iterations 1000 --header-backup l1.bak l1.img
fl_assert_eq "l1.bak true" "$(jq -r '"\(.luks1_backup) \(.fips_compatible)"' <<<"$FL_OUT")" "converted LUKS1"
fl_assert_eq "2" "$(fipsluks scan --json l1.img | jq -r '.volumes[0].luks_version')" "LUKS version after --convert-luks1"
cryptsetup open --test-passphrase --key-file k0 l1.img || fl_fail "converted LUKS1 volume does not open"
cryptsetup isLuks --type luks1 l1.bak || fl_fail "the LUKS1 header backup is not a LUKS1 header"
fl-mkluks --type luks1 --hash ripemd160 --slot "key-file=k0" l1r.img
rc=0
fipsluks migrate --batch --convert-luks1 -d k0 --pbkdf-force-iterations 1000 --header-backup l1r.bak l1r.img >out 2>&1 || rc=$?
fl_assert_eq 6 "$rc" "LUKS1 ripemd160 after --convert-luks1"
fl_assert_contains "$(cat out)" "needs re-encryption: fipsluks reencrypt l1r.img" "digest remedy"
fl_assert_eq "pbkdf2 sha256" "$(fipsluks scan --json l1r.img | jq -r '.volumes[0].keyslots[0] | "\(.kdf) \(.hash)"')" "keyslot after --convert-luks1"
[[ -f l1r.bak && -f l1r.bak.luks2 ]] || fl_fail "backups of the LUKS1 and the LUKS2 header"

# a terminal: the prompt names the keyslot, the secret is not echoed, YES confirms
fl-mkluks --slot "kdf=argon2id,key-file=k0" tty.img
out=$(python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" --timeout 60 \
    --expect "passphrase for keyslot 0 (argon2id)" --send "$(cat k0)" \
    --expect "Type YES" --send YES \
    -- fipsluks migrate --pbkdf-force-iterations 1000 --header-backup tty.bak tty.img) || fl_fail "terminal migrate: $out"
[[ $out != *"$(cat k0)"* ]] || fl_fail "the secret was echoed"
fl_assert_eq true "$(fipsluks scan --json tty.img | jq -r '.volumes[0].fips_compatible')" "terminal migrate"
echo "migrate: all assertions passed"
