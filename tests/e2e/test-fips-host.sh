#!/usr/bin/env bash
# The FIPS test host (scripts/fips-host) is genuine: cryptsetup runs in FIPS mode, OpenSSL refuses
# MD5, an argon2id keyslot that opens on Debian does not open inside while a PBKDF2-SHA256 one does;
# fipsluks runs inside on the FIPS builds of libcryptsetup/libcrypto and its scan verdicts agree
# inside and outside.
# Without a FIPS host (build failed) this test skips, except with CI=true where it fails.
. "$(dirname "$0")/lib/common.sh"

fl_need_fips_host
prefix=$FL_FIPS_PREFIX

# --- the environment is the FIPS build ---------------------------------------------------------
fl_assert_eq "$prefix/sbin/cryptsetup" "$(fips bash -c 'command -v cryptsetup')" "cryptsetup inside"
fl_assert_eq "$prefix/bin/openssl" "$(fips bash -c 'command -v openssl')" "openssl inside"

fl_expect_exit 0 fips cryptsetup --version
fl_assert_contains "$FL_OUT" "FIPS" "cryptsetup --version inside"
ossl_version=$(fips openssl version)
[[ $ossl_version =~ ^OpenSSL\ ([0-9]+\.[0-9]+)\. ]] ||
    fl_fail "unexpected 'openssl version' inside: $ossl_version"
dpkg --compare-versions "${BASH_REMATCH[1]}" ge 3.2 ||
    fl_fail "OpenSSL inside is older than 3.2: $ossl_version"
fl_expect_exit 0 fips openssl list -providers
fl_assert_contains "$FL_OUT" "fips" "active OpenSSL providers inside"

printf 'fipsluks\n' >"$T/data"
(! fips openssl dgst -md5 "$T/data" >"$T/md5.out" 2>&1) || fl_fail "MD5 works inside: $(cat "$T/md5.out")"
fl_expect_exit 0 fips openssl dgst -sha256 -r "$T/data"
fl_assert_eq "$(fl_sum "$T/data")" "${FL_OUT%% *}" "SHA-256 inside"
# Outside, the same OpenSSL configuration does not apply: MD5 works (sanity of the comparison).
openssl dgst -md5 "$T/data" >/dev/null || fl_fail "MD5 does not work outside the FIPS host"

# --- images made by Debian's ordinary cryptsetup, outside ------------------------------------------
command -v cryptsetup >/dev/null ||
    fl_fail "no cryptsetup outside the FIPS host (scripts/setup installs cryptsetup-bin)"
outside_version=$(cryptsetup --version)
[[ $outside_version != *FIPS* ]] || fl_fail "the cryptsetup outside is a FIPS build: $outside_version"

fl_key "$T/key" "correct horse battery staple"
fl_key "$T/wrong" "incorrect horse"
truncate -s 20M "$T/argon2id.img" "$T/pbkdf2.img"
cryptsetup luksFormat -q --type luks2 --key-file "$T/key" \
    --pbkdf argon2id --pbkdf-force-iterations 4 --pbkdf-memory 32768 --pbkdf-parallel 1 "$T/argon2id.img"
cryptsetup luksFormat -q --type luks2 --key-file "$T/key" \
    --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --hash sha256 "$T/pbkdf2.img"

# Outside both open; a wrong key is refused (the check does verify the key).
fl_expect_exit 0 cryptsetup open --test-passphrase --key-file "$T/key" "$T/argon2id.img"
fl_expect_exit 0 cryptsetup open --test-passphrase --key-file "$T/key" "$T/pbkdf2.img"
fl_expect_exit 2 cryptsetup open --test-passphrase --key-file "$T/wrong" "$T/pbkdf2.img" 2>/dev/null

# Inside only PBKDF2 opens. The argon2id keyslot is refused as an unusable algorithm (exit 1,
# "wrong or missing parameters": OpenSSL's FIPS provider has no Argon2), not as a wrong key (exit 2).
rc=0
fips cryptsetup open --test-passphrase --key-file "$T/key" "$T/argon2id.img" 2>"$T/argon2id.err" || rc=$?
((rc != 0)) || fl_fail "the argon2id keyslot opens inside the FIPS host"
fl_assert_eq 1 "$rc" "exit code of opening the argon2id keyslot inside ($(cat "$T/argon2id.err"))"
fl_expect_exit 0 fips cryptsetup open --test-passphrase --key-file "$T/key" "$T/pbkdf2.img"
fl_expect_exit 2 fips cryptsetup open --test-passphrase --key-file "$T/wrong" "$T/pbkdf2.img" 2>/dev/null
# And FIPS cryptsetup refuses to create an argon2id keyslot.
truncate -s 20M "$T/refused.img"
(! fips cryptsetup luksFormat -q --type luks2 --key-file "$T/key" --pbkdf argon2id \
    --pbkdf-force-iterations 4 --pbkdf-memory 32768 --pbkdf-parallel 1 "$T/refused.img" 2>"$T/format.err") ||
    fl_fail "FIPS cryptsetup created an argon2id keyslot"
fl_assert_contains "$(cat "$T/format.err")" "FIPS" "luksFormat --pbkdf argon2id inside"

# --- fipsluks inside -------------------------------------------------------------------------------
fipsluks=$FL_BUILD_DIR/src/cli/fipsluks
if [[ ! -x $fipsluks ]]; then
    echo "note: $fipsluks not built; fipsluks checks skipped" >&2
    exit 0
fi
fl_expect_exit 0 fips "$fipsluks" --version
fl_assert_contains "$FL_OUT" "fipsluks" "fipsluks --version inside"
# The sonames it was linked with resolve to the FIPS builds.
libs=$(fips ldd "$fipsluks")
for lib in libcryptsetup.so.12 libcrypto.so.3; do
    [[ $libs =~ $lib\ =\>\ ([^ ]+) ]] || fl_fail "fipsluks does not load $lib: $libs"
    [[ ${BASH_REMATCH[1]} == "$prefix/lib/"* ]] ||
        fl_fail "inside the FIPS host fipsluks loads $lib from ${BASH_REMATCH[1]}, not from $prefix/lib"
done

if ! "$fipsluks" scan --help >/dev/null 2>&1; then
    echo "note: 'fipsluks scan' not available yet; verdict checks skipped" >&2
    exit 0
fi
# scan exits 0 (compatible) or 6 (not compatible); anything else is an error.
verdict() { # verdict WHERE IMAGE → prints true/false
    local where=$1 img=$2 out rc=0
    out=$T/scan-$where-$(basename "$img").json
    if [[ $where == inside ]]; then
        fips "$fipsluks" scan --json "$img" >"$out" 2>"$out.err" || rc=$?
    else
        "$fipsluks" scan --json "$img" >"$out" 2>"$out.err" || rc=$?
    fi
    [[ $rc == 0 || $rc == 6 ]] || fl_fail "fipsluks scan --json '$img' ($where) exited $rc: $(cat "$out.err")"
    jq -r '.volumes[0].fips_compatible | if type == "boolean" then . else error("not a boolean") end' \
        "$out" ||
        fl_fail "no boolean .volumes[0].fips_compatible in scan output ($where): $(cat "$out")"
}
for img in argon2id:false pbkdf2:true; do
    want=${img#*:} img=${img%:*}
    outside=$(verdict outside "$T/$img.img")
    inside=$(verdict inside "$T/$img.img")
    fl_assert_eq "$outside" "$inside" "fipsluks scan verdict for the $img image, outside vs inside"
    fl_assert_eq "$want" "$outside" "fipsluks scan verdict for the $img image"
done
