#!/usr/bin/env bash
# fipsluks reencrypt on images: LUKS2 and LUKS1 volumes with a RIPEMD-160 digest and keyslots, holding a
# known data pattern encrypted with their volume key (AES-XTS, plain64 IVs in 512-byte units). After one run
# the pattern decrypts unchanged with the NEW volume key, every secret opens the volume, and scan reports it
# FIPS-compatible. Refusals (keyslots that would be dropped, a wrong secret, a device in use, sources this
# host cannot decrypt, integrity) write nothing. --progress-json prints JSON lines.
. "$(dirname "$0")/lib/common.sh"

/usr/bin/python3 -c 'import cryptography' 2>/dev/null || fl_skip "python3-cryptography is missing (scripts/setup)"
cd "$T"
export FIPSLUKS_BACKUP_DIR=$T/backups
for i in 0 1; do fl_key k$i "reencrypt-secret-$i"; chmod 600 k$i; done
fl_key kw "not-a-secret-of-it"
chmod 600 kw
head -c 64 /dev/urandom >old.vk
DATA=$((4 * 1024 * 1024))

# offset IMG: the data offset in bytes (from scan's JSON)
offset() { fipsluks scan --json "$1" | jq -er '.volumes[0].segments[0].offset' || true; }
sector() { fipsluks scan --json "$1" | jq -er '.volumes[0].segments[0].sector_size' || true; }
pattern() { # write|check IMG VK
    fl-xts-pattern "$1" "$2" --offset "$(offset "$2")" --length $DATA --key-file "$3" --sector-size "$(sector "$2")"
}
volume_key() { # IMG KEY OUT
    rm -f "$3"
    cryptsetup luksDump -q --dump-volume-key --volume-key-file "$3" --key-file "$2" "$1" >/dev/null
}
opens() { cryptsetup open --test-passphrase --key-file "$2" "$1" 2>/dev/null; }
reenc() { fipsluks reencrypt --batch --pbkdf-force-iterations 1000 "$@"; }

# make IMG TYPE [SECTOR]: a RIPEMD-160 volume with keyslots for k0 and k1 and the pattern in its data area
make() {
    local img=$1 type=$2 extra=()
    [[ $type == luks2 ]] && extra=(--sector-size "${3:-4096}" --luks2-metadata-size 16k --luks2-keyslots-size 2m)
    truncate -s 8M "$img"
    cryptsetup luksFormat -q --type "$type" --cipher aes-xts-plain64 --key-size 512 --volume-key-file old.vk \
        --hash ripemd160 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "${extra[@]}" --key-file k0 "$img"
    cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k0 "$img" k1
    truncate -s $(($(offset "$img") + DATA)) "$img"
    pattern write "$img" old.vk >/dev/null
}

# check_done IMG WHAT: compatible, approved digest and PBKDF2 keyslots, both secrets open, new key, pattern
check_done() {
    local img=$1 what=$2 json
    fl_expect_exit 0 fipsluks scan --json "$img"
    json=$FL_OUT
    fl_assert_eq true "$(jq -r '.volumes[0].fips_compatible' <<<"$json")" "$what: scan"
    fl_assert_eq 2 "$(jq -r '.volumes[0].luks_version' <<<"$json")" "$what: LUKS version"
    fl_assert_eq "aes-xts-plain64 512" "$(jq -r '.volumes[0].segments[0] | "\(.cipher) \(.key_bits)"' <<<"$json")" "$what: segment"
    fl_assert_eq "pbkdf2 sha256" "$(jq -r '.volumes[0].digests[] | "\(.type) \(.hash)"' <<<"$json")" "$what: digest"
    fl_assert_eq "pbkdf2 sha256 sha256,pbkdf2 sha256 sha256" \
        "$(jq -r '[.volumes[0].keyslots[] | "\(.kdf) \(.hash) \(.af_hash)"] | join(",")' <<<"$json")" "$what: keyslots"
    opens "$img" k0 || fl_fail "$what: k0 does not open the result"
    opens "$img" k1 || fl_fail "$what: k1 does not open the result"
    volume_key "$img" k0 new.vk
    cmp -s old.vk new.vk && fl_fail "$what: the volume key did not change"
    pattern check "$img" new.vk >/dev/null || fl_fail "$what: the data pattern does not decrypt with the new key"
    (! pattern check "$img" old.vk >/dev/null 2>&1) || fl_fail "$what: the data still decrypts with the old key"
}

# --- LUKS2, RIPEMD-160 digest and keyslots, 4096-byte sectors -----------------------------------------------
make l2.img luks2
pattern check l2.img old.vk >/dev/null || fl_fail "the test's own pattern does not decrypt"
fl_expect_exit 6 fipsluks scan l2.img
fl_assert_contains "$FL_OUT" "fix: fipsluks reencrypt l2.img (on a host not yet in FIPS mode)" "scan remedy (LUKS2)"
fl_expect_exit 0 reenc -d k0 -d k1 --header-backup l2.bak l2.img
fl_assert_contains "$FL_OUT" "header backup: l2.bak" "backup line"
fl_assert_contains "$FL_OUT" "l2.img: re-encrypted; FIPS-compatible" "verdict"
check_done l2.img "LUKS2"
[[ $(cryptsetup luksDump l2.bak) == *ripemd160* ]] || fl_fail "the backup is not the old header"

# the new keyslots keep priority and token assignments of the keyslots they replace
make tok.img luks2
cryptsetup config --priority prefer --key-slot 1 tok.img
echo '{"type":"example-token","keyslots":["0"]}' | cryptsetup token import --token-id 3 tok.img
fl_expect_exit 0 reenc -d k0 -d k1 tok.img
fl_assert_eq "2:normal:3 3:prefer:" \
    "$(fipsluks scan --json tok.img | jq -r '[.volumes[0].keyslots[] | "\(.id):\(.priority):\([.tokens[].id] | join(","))"] | join(" ")')" \
    "keyslot ids, priority and tokens after reencrypt"

# 512-byte sectors
make l2s.img luks2 512
fl_expect_exit 0 reenc -d k1 -d k0 l2s.img
check_done l2s.img "LUKS2, 512-byte sectors"
fl_assert_eq 2 "$(find backups -name "*.luksheader" | wc -l)" "a backup in FIPSLUKS_BACKUP_DIR for each run without --header-backup"

# --keyfile-offset/--keyfile-size: the secrets inside longer files, each file read alike (as migrate does)
make kf.img luks2
for i in 0 1; do { printf 'PREFIX-8'; cat k$i; printf 'trailing bytes\n'; } >k$i.padded; chmod 600 k$i.padded; done
fl_expect_exit2 1 reenc -d k0.padded -d k1.padded --keyfile-offset 8 --keyfile-size 4096 kf.img
fl_assert_contains "$FL_ERR" "k0.padded" "a key file shorter than offset + size is named"
fl_expect_exit 0 reenc -d k0.padded -d k1.padded --keyfile-offset 8 --keyfile-size "$(stat -c %s k0)" kf.img
check_done kf.img "LUKS2, secrets at an offset in their key files"

# --- LUKS1, RIPEMD-160 header hash: converted to LUKS2 on the way ------------------------------------------
make l1.img luks1
fl_expect_exit 6 fipsluks scan l1.img
fl_assert_contains "$FL_OUT" "fix: fipsluks reencrypt l1.img (on a host not yet in FIPS mode)" "scan remedy (LUKS1)"
fl_expect_exit 0 reenc -d k0 -d k1 --header-backup l1.bak l1.img
fl_assert_contains "$FL_OUT" "converted LUKS1 to LUKS2" "LUKS1 conversion"
check_done l1.img "LUKS1"
[[ $(cryptsetup luksDump l1.bak) == *"Version:       	1"* ]] || fl_fail "the backup is not the LUKS1 header"

# a LUKS1 header whose keyslot areas reach its data offset cannot become LUKS2: refused, the volume unchanged
truncate -s 8M l1full.img
cryptsetup luksFormat -q --type luks1 --align-payload 8 --hash ripemd160 --pbkdf-force-iterations 1000 --key-file k0 l1full.img
sum=$(fl_sum l1full.img)
fl_expect_exit 1 reenc -d k0 l1full.img 2>err
fl_assert_contains "$(cat err)" "libcryptsetup cannot convert this LUKS1 header to LUKS2" "LUKS1 without room"
fl_assert_contains "$(cat err)" "nothing was written" "LUKS1 without room: nothing written"
fl_assert_eq "$sum" "$(fl_sum l1full.img)" "LUKS1 image after the refusal"

# --- keyslots that would be dropped: --batch (and no terminal) refuses; nothing is written --------------------
make drop.img luks2
sum=$(fl_sum drop.img)
fl_expect_exit 1 reenc -d k0 drop.img 2>err
fl_assert_contains "$(cat err)" "no secret was given for keyslot 1: it would be dropped" "drop message"
fl_assert_contains "$(cat err)" "--batch never drops keyslots" "drop refusal"
fl_assert_eq "$sum" "$(fl_sum drop.img)" "image after the drop refusal"
rc=0
fipsluks reencrypt --pbkdf-force-iterations 1000 -d k0 drop.img </dev/null >out 2>err || rc=$?
fl_assert_eq 1 "$rc" "no terminal to confirm the drop"
fl_assert_eq "$sum" "$(fl_sum drop.img)" "image after the unconfirmed drop"

# --- a secret that opens nothing ------------------------------------------------------------------------------
fl_expect_exit 2 reenc -d k0 -d kw drop.img 2>err
fl_assert_contains "$(cat err)" "the secret from kw opens no keyslot of 'drop.img'; nothing was written" "wrong secret"
fl_assert_eq "$sum" "$(fl_sum drop.img)" "image after a wrong secret"
[[ -z $(find backups -newer drop.img -name '*.luksheader') ]] || fl_fail "a backup was written for a refusal"

# --- no room in the keyslots area for the new keyslots: refused, the header as it was (a secret given twice is fine)
truncate -s 8M full.img
cryptsetup luksFormat -q --type luks2 --hash ripemd160 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --luks2-metadata-size 16k --luks2-keyslots-size 512k --key-file k0 full.img 2>/dev/null
cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k0 full.img k1
sum=$(fl_sum full.img)
fl_expect_exit 1 reenc -d k0 -d k1 -d k0 full.img 2>err
fl_assert_contains "$(cat err)" "libcryptsetup could not add the new keyslots" "no room"
fl_assert_contains "$(cat err)" "nothing was written" "no room: nothing written"
fl_assert_eq "$sum" "$(fl_sum full.img)" "image after the no-room refusal"

# --- --progress-json: JSON lines, the last one complete -------------------------------------------------------
fl_expect_exit 0 reenc --progress-json -d k0 -d k1 --hotzone-size 1048576 drop.img
last=$(tail -n1 <<<"$FL_OUT")
fl_assert_eq "$DATA $DATA" "$(jq -r '"\(.device_bytes) \(.device_size)"' <<<"$last")" "last progress line"
jq -e 'select(.device == "drop.img" and (.speed|type) == "number" and (.eta_ms|type) == "number")' <<<"$FL_OUT" >/dev/null ||
    fl_fail "progress lines: $FL_OUT"
[[ $FL_OUT != *"re-encrypted"* ]] || fl_fail "--progress-json mixed text into standard output: $FL_OUT"
check_done drop.img "--progress-json"

# --- on a terminal: a prompt per keyslot, the drop asked about, progress with percent and time left -------------
ptyrun() { python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" "$@"; }
make tty.img luks2
sum=$(fl_sum tty.img)
# keyslot 1 left without a secret: asked, answered "no": nothing written
fl_expect_exit 1 ptyrun --timeout 60 --expect "Enter passphrase for keyslot 0 [empty: drop this keyslot]: " \
    --send "reencrypt-secret-0" --expect "Enter passphrase for keyslot 1 [empty: drop this keyslot]: " --send "" \
    --expect "Drop these keyslots? Type YES to proceed: " --send "no" \
    -- fipsluks reencrypt --pbkdf-force-iterations 1000 tty.img
fl_assert_contains "$FL_OUT" "no secret was given for keyslot 1: it would be dropped" "tty: drop listed"
fl_assert_contains "$FL_OUT" "not confirmed" "tty: not confirmed"
fl_assert_eq "$sum" "$(fl_sum tty.img)" "tty: image after no"
# a wrong passphrase is asked again (--tries), then YES drops keyslot 1, and YES re-encrypts
fl_expect_exit 0 ptyrun --timeout 60 --expect "keyslot 0 [empty: drop this keyslot]: " --send "wrong-one" \
    --expect "No key available with this passphrase." --expect "keyslot 0 [empty: drop this keyslot]: " \
    --send "reencrypt-secret-0" --expect "keyslot 1 [empty: drop this keyslot]: " --send "" \
    --expect "Drop these keyslots? Type YES to proceed: " --send "YES" \
    --expect "Re-encrypt every byte of 'tty.img'? Type YES to proceed: " --send "YES" \
    -- fipsluks reencrypt --pbkdf-force-iterations 1000 --hotzone-size 1048576 tty.img
fl_assert_contains "$FL_OUT" "Progress: 100.0%, 4 of 4 MiB" "tty: progress line"
fl_assert_contains "$FL_OUT" "time left 00:00" "tty: time left"
fl_assert_contains "$FL_OUT" "dropped keyslot 1 (no secret given)" "tty: dropped"
fl_assert_contains "$FL_OUT" "tty.img: re-encrypted; " "tty: verdict"
opens tty.img k0 || fl_fail "tty: k0 does not open"
(! opens tty.img k1) || fl_fail "tty: the dropped keyslot's secret still opens"
volume_key tty.img k0 new.vk
pattern check tty.img new.vk >/dev/null || fl_fail "tty: data pattern"

# --- a detached header ---------------------------------------------------------------------------------------
truncate -s 4M detached.img
cryptsetup luksFormat -q --type luks2 --cipher aes-xts-plain64 --key-size 512 --volume-key-file old.vk \
    --hash ripemd160 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --luks2-metadata-size 16k \
    --luks2-keyslots-size 2m --sector-size 4096 --header detached.hdr --key-file k0 detached.img
fl-xts-pattern write detached.img --offset 0 --length $DATA --key-file old.vk --sector-size 4096 >/dev/null
fl_expect_exit 6 fipsluks scan --header detached.hdr detached.img
fl_assert_contains "$FL_OUT" "fix: fipsluks reencrypt --header detached.hdr detached.img" "detached: remedy"
fl_expect_exit 0 reenc --header detached.hdr -d k0 detached.img
rm -f new.vk
cryptsetup luksDump -q --dump-volume-key --volume-key-file new.vk --key-file k0 detached.hdr >/dev/null
fl-xts-pattern check detached.img --offset 0 --length $DATA --key-file new.vk --sector-size 4096 >/dev/null ||
    fl_fail "detached: data pattern"
fl_expect_exit 0 fipsluks scan --header detached.hdr detached.img

# --- sources this host cannot decrypt, integrity: refused before anything is unlocked or written --------------
make crafted.img luks2
refuse() { # WHAT EXPECTED-MESSAGE EDIT…
    local what=$1 msg=$2
    shift 2
    cp --sparse=always crafted.img c.img
    fl-luks2-edit c.img "$@"
    sum=$(fl_sum c.img)
    fl_expect_exit 1 reenc -d k0 -d k1 c.img 2>err
    fl_assert_contains "$(cat err)" "$msg" "$what"
    fl_assert_contains "$(cat err)" "nothing was written" "$what: nothing written"
    fl_assert_eq "$sum" "$(fl_sum c.img)" "$what: image unchanged"
}
for c in serpent-xts-plain64 twofish-cbc-essiv:sha256 camellia-xts-plain64; do
    if [[ $c == camellia* ]] && openssl enc -camellia-256-cbc -help >/dev/null 2>&1; then
        continue # OpenSSL has Camellia: this host can decrypt it
    fi
    refuse "$c" "segment 0 is encrypted with $c (512-bit key), which this host can compute neither with OpenSSL nor with the kernel's crypto API (AF_ALG)" \
        --set "segments.0.encryption=\"$c\""
done
refuse integrity "segment 0 has integrity protection (hmac(sha256)): libcryptsetup cannot re-encrypt integrity volumes" \
    --set 'segments.0.integrity={"type":"hmac(sha256)","journal_encryption":"none","journal_integrity":"none"}'
refuse cipher_null "segment 0 is not encrypted (cipher_null)" --set 'segments.0.encryption="cipher_null-ecb"'

# --- an interrupted cryptsetup reencrypt --encrypt is not continued (it is not a re-encryption) -----------------
truncate -s 16M enc.img
cryptsetup reencrypt -q --encrypt --init-only --reduce-device-size 8M --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file k0 --force-offline-reencrypt enc.img
sum=$(fl_sum enc.img)
fl_expect_exit 1 reenc -d k0 enc.img 2>err
fl_assert_contains "$(cat err)" "the header holds an interrupted encryption (cryptsetup reencrypt --encrypt), not a re-encryption" "encrypt mode"
fl_assert_eq "$sum" "$(fl_sum enc.img)" "image after the encrypt-mode refusal"

# --- not LUKS; usage -------------------------------------------------------------------------------------------
truncate -s 4M plain.img
fl_expect_exit 4 reenc -d k0 plain.img 2>err
fl_expect_exit 1 fipsluks reencrypt -d k0 --hash ripemd160 crafted.img 2>err
fl_assert_contains "$(cat err)" "--hash 'ripemd160' is not allowed" "--hash"
fl_expect_exit 1 fipsluks reencrypt -d k0 --hotzone-size 1000 crafted.img 2>err
rc=0
fipsluks reencrypt crafted.img </dev/null >out 2>err || rc=$?
fl_assert_eq 1 "$rc" "no secret, no terminal"
fl_assert_contains "$(cat err)" "no secret given" "no secret"

# --- in use: an image backing a loop device that another program holds exclusively; the loop device itself ----
if [[ $(id -u) == 0 ]] && loop=$(losetup -f --show crafted.img 2>/dev/null); then
    fl_on_exit "losetup -d $loop"
    /usr/bin/python3 -c 'import os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL); print("held", flush=True); time.sleep(60)' "$loop" >held &
    holder=$!
    fl_on_exit "kill $holder"
    for _ in $(seq 50); do [[ -s held ]] && break; sleep 0.1; done
    sum=$(fl_sum crafted.img)
    fl_expect_exit 5 reenc -d k0 -d k1 crafted.img 2>err
    fl_assert_contains "$(cat err)" "cannot re-encrypt: 'crafted.img': backs loop device $loop" "image in use"
    fl_assert_contains "$(cat err)" "nothing was written" "image in use: nothing written"
    fl_expect_exit 5 reenc -d k0 -d k1 "$loop" 2>err
    fl_assert_contains "$(cat err)" "'$loop': opened exclusively by another program" "device in use"
    fl_assert_eq "$sum" "$(fl_sum crafted.img)" "image after the in-use refusals"
else
    echo "note: no loop device here; the in-use refusal is not tested" >&2
fi
echo "reencrypt: all assertions passed"
