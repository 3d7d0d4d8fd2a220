#!/usr/bin/env bash
# fipsluks migrate against a genuine FIPS host (cryptsetup 2.7 --enable-fips, OpenSSL 3.5 FIPS provider):
# argon2 keyslots do not open there before migration and do after it; inside, migrate detects that Argon2
# cannot be computed and changes nothing unless --allow-non-fips-unlock is given.
. "$(dirname "$0")/lib/common.sh"
fl_need_fips_host

cd "$T"
for i in 0 1; do fl_key k$i "fips-migrate-secret-$i"; chmod 600 k$i; done
hdr() { head -c 16777216 "$1" | sha256sum | cut -d' ' -f1; }
opens_inside() { fips cryptsetup open --test-passphrase --disable-locks --key-slot "$2" --key-file "$3" "$1" 2>/dev/null; }

fl-mkluks --slot "kdf=argon2id,key-file=k0,priority=prefer" --slot "kdf=argon2i,key-file=k1" v.img
cp --sparse=always v.img inside.img

# before: the FIPS host refuses both keyslots, and fipsluks says so
(! opens_inside v.img 0 k0) || fl_fail "argon2id keyslot opens on the FIPS host"
(! opens_inside v.img 1 k1) || fl_fail "argon2i keyslot opens on the FIPS host"
fl_expect_exit 6 fips fipsluks scan --json v.img

# migrated outside (before enabling FIPS): every keyslot opens inside with its own secret
fl_expect_exit 0 fipsluks migrate --batch -d k0 -d k1 --pbkdf-force-iterations 1000 --header-backup v.bak v.img
opens_inside v.img 0 k0 || fl_fail "keyslot 0 does not open on the FIPS host after migration"
opens_inside v.img 1 k1 || fl_fail "keyslot 1 does not open on the FIPS host after migration"
fl_expect_exit 0 fips fipsluks scan --json v.img
fl_assert_eq true "$(jq -r '.volumes[0].fips_compatible' <<<"$FL_OUT")" "scan inside after migration"

# inside the FIPS host: Argon2 cannot be computed; detected before anything is written
before=$(hdr inside.img)
rc=0
fips fipsluks migrate --batch -d k0 -d k1 --pbkdf-force-iterations 1000 --header-backup inside.bak inside.img >out 2>err || rc=$?
fl_assert_eq 1 "$rc" "migrate inside without --allow-non-fips-unlock"
fl_assert_contains "$(cat err)" "--allow-non-fips-unlock" "explanation"
fl_assert_eq "$before" "$(hdr inside.img)" "header after the refusal inside"
[[ ! -e inside.bak ]] || fl_fail "a backup was written although nothing was done"

# … and with --allow-non-fips-unlock it converts, the result opens inside the FIPS host
fl_expect_exit 0 fips fipsluks migrate --batch --allow-non-fips-unlock -d k0 -d k1 --pbkdf-force-iterations 1000 \
    --header-backup inside.bak inside.img
opens_inside inside.img 0 k0 || fl_fail "keyslot 0 (migrated inside) does not open on the FIPS host"
opens_inside inside.img 1 k1 || fl_fail "keyslot 1 (migrated inside) does not open on the FIPS host"
fl_assert_eq "0:pbkdf2:prefer 1:pbkdf2:normal" \
    "$(fips fipsluks scan --json inside.img | jq -r '[.volumes[0].keyslots[] | "\(.id):\(.kdf):\(.priority)"] | join(" ")')" "keyslots"
echo "migrate-fips: all assertions passed"
