#!/usr/bin/env bash
# fipsluks format and a genuine FIPS userspace (scripts/fips-host: OpenSSL FIPS provider only,
# cryptsetup 2.7 built --enable-fips): every allowed option combination formatted outside opens
# inside; fipsluks format itself runs inside (calibration, digest, key generation through the FIPS
# provider) and its volumes open inside and outside, equal field by field to what the FIPS
# cryptsetup's own luksFormat makes.
# Needs a built FIPS host. Without one this test skips (77) and names the build command; with
# CI=true a missing or failing build is a failure.
. "$(dirname "$0")/lib/common.sh"

fips_dir=$FL_SOURCE_DIR/scripts/fips-host
build_cmd="$fips_dir/build"
if [[ ! -x $fips_dir/run || ! -x $build_cmd ]]; then
    [[ ${CI:-} != true ]] || fl_fail "no scripts/fips-host/run or build (CI=true)"
    fl_skip "no FIPS host scripts in $fips_dir"
fi
# Only use a FIPS host that is already built (a first build takes 5-8 minutes), except in CI.
cache=${FL_FIPS_HOST_DIR:-/var/cache/fipsluks/fips-host}
if [[ ${CI:-} != true && ! -f $cache/current/.stamp ]]; then
    fl_skip "the FIPS host is not built; run '$build_cmd' once (5-8 min), then this test"
fi
if ! "$build_cmd" >/dev/null; then
    [[ ${CI:-} != true ]] || fl_fail "'$build_cmd' failed (CI=true, so this is a failure, not a skip)"
    fl_skip "'$build_cmd' failed (output above); run it by hand to see why"
fi
fips() { "$fips_dir/run" "$@"; }
fipsluks=$FL_BUILD_DIR/src/cli/fipsluks
[[ -x $fipsluks ]] || fl_fail "$fipsluks is not built"
command -v cryptsetup >/dev/null || fl_fail "no cryptsetup outside the FIPS host"
fl_expect_exit 0 fips cryptsetup --version
fl_assert_contains "$FL_OUT" "FIPS" "cryptsetup inside"

fast=(--pbkdf-force-iterations 1000)
fl_key "$T/key" "correct horse battery staple"
fl_key "$T/wrong" "incorrect horse battery staple"
chmod 0600 "$T/key" "$T/wrong"
image() {
    rm -f "$1"
    truncate -s 20M "$1"
}
# opens_inside IMAGE KEY: the FIPS cryptsetup opens it (and refuses a wrong key: the check is real)
opens_inside() {
    local rc=0
    fips cryptsetup open --test-passphrase --key-file "$2" "$1" 2>"$T/open.err" ||
        fl_fail "'$1' does not open inside the FIPS host: $(cat "$T/open.err")"
    fips cryptsetup open --test-passphrase --key-file "$T/wrong" "$1" 2>/dev/null || rc=$?
    fl_assert_eq 2 "$rc" "wrong key inside the FIPS host for '$1'"
}
metadata() {
    cryptsetup luksDump --dump-json-metadata "$1" |
        jq -S "del(.keyslots[].kdf.salt, .digests[].salt, .digests[].digest)${2:-}"
}

combos=(
    ""
    "--key-size 256"
    "--hash sha512"
    "--key-size 256 --hash sha512"
    "--cipher aes-cbc-essiv:sha256"
    "--cipher aes-cbc-essiv:sha256 --hash sha512 --sector-size 512 --label fips --subsystem fl"
)

# --- formatted outside (Debian's libcryptsetup and OpenSSL), opened inside ---------------------------
for combo in "${combos[@]}"; do
    read -ra opts <<<"$combo"
    image "$T/out.img"
    fl_expect_exit 0 "$fipsluks" format --batch --key-file "$T/key" "${fast[@]}" "${opts[@]}" "$T/out.img"
    opens_inside "$T/out.img" "$T/key"
done
# a calibrated one too
image "$T/out.img"
fl_expect_exit 0 "$fipsluks" format --batch --key-file "$T/key" --iter-time 100 "$T/out.img"
opens_inside "$T/out.img" "$T/key"

# --- fipsluks format inside the FIPS host ----------------------------------------------------------
for combo in "${combos[@]}"; do
    read -ra opts <<<"$combo"
    image "$T/in.img"
    image "$T/ref.img"
    fl_expect_exit 0 fips "$fipsluks" format --batch --json --key-file "$T/key" "${fast[@]}" "${opts[@]}" "$T/in.img"
    sector=$(jq -r .sector_size <<<"$FL_OUT")
    fl_assert_eq true "$(jq -r .volume.fips_compatible <<<"$FL_OUT")" "inside: compatible ($combo)"
    opens_inside "$T/in.img" "$T/key"
    cryptsetup open --test-passphrase --key-file "$T/key" "$T/in.img" || fl_fail "'$combo' made inside does not open outside"
    # the same volume as the FIPS cryptsetup's own luksFormat
    fips cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --key-file "$T/key" "${fast[@]}" \
        --sector-size "$sector" "${opts[@]}" "$T/ref.img"
    fl_assert_eq "$(metadata "$T/ref.img")" "$(metadata "$T/in.img")" "inside: LUKS2 metadata for '$combo'"
done

# calibrated inside: PBKDF2 from the FIPS provider, the digest at libcryptsetup's 1000, a generated key file
image "$T/in.img"
fl_expect_exit 0 fips "$fipsluks" format --batch --json --new-key-file "$T/new.key" --iter-time 200 "$T/in.img"
fl_assert_eq "true true" "$(jq -r '"\(.key_file_generated) \(.volume.fips_compatible)"' <<<"$FL_OUT")" "inside: calibrated"
iter=$(jq -r .iterations <<<"$FL_OUT")
digest=$(jq -r .digest_iterations <<<"$FL_OUT")
((iter > 1000 && digest == 1000)) || fl_fail "inside: calibration gave $iter keyslot / $digest digest iterations"
fl_assert_eq "0400 64" "$(stat -c '%a %s' "$T/new.key" | sed 's/^/0/')" "inside: new key file"
opens_inside "$T/in.img" "$T/new.key"
iters='| del(.keyslots[].kdf.iterations, .digests[].iterations)'
image "$T/ref.img"
fips cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --iter-time 200 --key-file "$T/key" "$T/ref.img"
fl_assert_eq "$(metadata "$T/ref.img" "$iters")" "$(metadata "$T/in.img" "$iters")" "inside: calibrated metadata"

# refusals are the same inside
for combo in "--pbkdf argon2id" "--hash ripemd160" "--cipher serpent-xts-plain64"; do
    read -ra opts <<<"$combo"
    fl_expect_exit 1 fips "$fipsluks" format --batch --force --key-file "$T/key" "${opts[@]}" "$T/in.img"
done
opens_inside "$T/in.img" "$T/new.key"
echo "format-fips: all assertions passed"
