#!/usr/bin/env bash
# fipsluks reencrypt against a genuine FIPS host (cryptsetup 2.7 --enable-fips, OpenSSL 3.5 FIPS provider):
# LUKS2 and LUKS1 volumes with RIPEMD-160 do not open there; re-encrypted outside (before FIPS mode) they open
# inside with every secret and the FIPS host's fipsluks scan calls them compatible. Inside, a RIPEMD-160
# volume cannot be unlocked, and reencrypt says why without writing; a volume the FIPS host can unlock
# (AES-CBC with plain IVs, a weak cipher) is re-encrypted inside, through the FIPS provider.
. "$(dirname "$0")/lib/common.sh"
fl_need_fips_host

cd "$T"
export FIPSLUKS_BACKUP_DIR=$T/backups
for i in 0 1; do fl_key k$i "fips-reencrypt-secret-$i"; chmod 600 k$i; done
opens_inside() { fips cryptsetup open --test-passphrase --disable-locks --key-file "$2" "$1" 2>/dev/null; }
reenc() { fipsluks reencrypt --batch --pbkdf-force-iterations 1000 -d k0 -d k1 "$@"; }
make() { # IMG TYPE CIPHER KEYBITS HASH
    local extra=()
    [[ $2 == luks2 ]] && extra=(--luks2-metadata-size 16k --luks2-keyslots-size 2m)
    truncate -s 8M "$1"
    cryptsetup luksFormat -q --type "$2" --cipher "$3" --key-size "$4" --hash "$5" --pbkdf pbkdf2 \
        --pbkdf-force-iterations 1000 "${extra[@]}" --key-file k0 "$1" 2>/dev/null
    cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k0 "$1" k1
}

for type in luks2 luks1; do
    img=$type.img
    make "$img" "$type" aes-xts-plain64 512 ripemd160
    cp --sparse=always "$img" inside-$img
    # before: refused inside, and fipsluks inside says so
    (! opens_inside "$img" k0) || fl_fail "$type-ripemd160 opens on the FIPS host"
    # (the FIPS cryptsetup cannot even load a LUKS1 header with a RIPEMD-160 hash: unreadable, exit 4)
    fl_expect_exit "$([[ $type == luks2 ]] && echo 6 || echo 4)" fips fipsluks scan "$img"
    # inside: the keyslots cannot be unlocked (LUKS1: the header not even loaded); nothing is written
    sum=$(fl_sum inside-$img)
    rc=0
    fips fipsluks reencrypt --batch --pbkdf-force-iterations 1000 -d k0 -d k1 inside-$img >out 2>err || rc=$?
    if [[ $type == luks2 ]]; then
        fl_assert_eq 2 "$rc" "$type: reencrypt inside the FIPS host"
        fl_assert_contains "$(cat err)" "libcryptsetup runs in FIPS mode here" "$type: explanation inside"
    else
        fl_assert_eq 4 "$rc" "$type: reencrypt inside the FIPS host"
    fi
    fl_assert_contains "$(cat err)" "nothing was written" "$type: nothing written inside"
    fl_assert_eq "$sum" "$(fl_sum inside-$img)" "$type: image after the refusal inside"
    # re-encrypted outside, one run: every secret opens inside, the FIPS host's scan says compatible
    fl_expect_exit 0 reenc "$img"
    opens_inside "$img" k0 || fl_fail "$type: k0 does not open on the FIPS host after reencrypt"
    opens_inside "$img" k1 || fl_fail "$type: k1 does not open on the FIPS host after reencrypt"
    fl_expect_exit 0 fips fipsluks scan --json "$img"
    fl_assert_eq true "$(jq -r '.volumes[0].fips_compatible' <<<"$FL_OUT")" "$type: scan inside"
done

# a volume the FIPS host can unlock is re-encrypted inside it (FIPS provider: PBKDF2, AES-XTS, key generation)
make cbc.img luks2 aes-cbc-plain64 256 sha256
fl_expect_exit 0 fipsluks scan cbc.img # weak, not refused: a warning
fl_assert_contains "$FL_OUT" "fix: fipsluks reencrypt cbc.img" "remedy of the weak cipher"
fl_expect_exit 0 fips fipsluks reencrypt --batch --pbkdf-force-iterations 1000 -d k0 -d k1 cbc.img
opens_inside cbc.img k0 || fl_fail "cbc: k0 does not open inside after reencrypt inside"
opens_inside cbc.img k1 || fl_fail "cbc: k1 does not open inside after reencrypt inside"
fl_assert_eq "aes-xts-plain64 512 0" \
    "$(fips fipsluks scan --json cbc.img | jq -r '.volumes[0] | "\(.segments[0].cipher) \(.segments[0].key_bits) \([.findings[] | select(.rule == "FL-CIPHER")] | length)"')" \
    "cbc: segment and findings after reencrypt inside"
echo "reencrypt-fips: all assertions passed"
