#!/usr/bin/env bash
# fipsluks scan on the standard corpus: verdicts, JSON fields, exit codes, and not one byte written.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/corpus.sh"

C=$T/corpus
fl_make_corpus "$C"
( cd "$C" && find . -type f ! -name '*.key' -print0 | sort -z | xargs -0 sha256sum ) >"$T/before.sum"

# The whole corpus directory: unreadable bad-both.img wins the exit code (4).
fl_expect_exit 4 fipsluks scan --json --verbose "$C"
J=$T/scan.json
printf '%s\n' "$FL_OUT" >"$J"

# vol NAME: jq path of the volume whose path ends in /NAME
vol() { printf '.volumes[] | select(.path | endswith("/%s"))' "$1"; }
# q NAME FILTER: run FILTER on that volume
q() { jq -er "$(vol "$1") | $2" "$J"; }
# rules NAME: "rule:object:severity" of every finding, sorted
rules() { jq -r "$(vol "$1") | .findings[] | \"\(.rule):\(.object):\(.severity)\"" "$J" | sort | tr '\n' ' '; }
compat() { fl_assert_eq "$2" "$(q "$1" .fips_compatible)" "$1 fips_compatible"; }
has_rule() { fl_assert_contains "$(rules "$1")" "$2" "$1 findings"; }
lacks_rule() { [[ "$(rules "$1")" != *"$2"* ]] || fl_fail "$1: unexpected finding $2 in: $(rules "$1")"; }

fl_assert_eq fipsluks "$(jq -r .tool "$J")" "tool"

# argon2: refused, with the remedy that fixes it
for kdf in argon2id argon2i; do
    img=luks2-$kdf.img
    compat $img false
    has_rule $img "FL-KDF-ARGON2:keyslot 0:error"
    fl_assert_eq "$kdf 4 32768 1 null" "$(q $img '.keyslots[0] | "\(.kdf) \(.iterations) \(.memory_kib) \(.threads) \(.hash)"')" "$img keyslot"
    fl_assert_eq "fipsluks migrate --key-slot 0 $C/$img" \
        "$(q $img '.findings[] | select(.rule=="FL-KDF-ARGON2") | .remedy')" "$img remedy"
done

# PBKDF2 hashes
compat luks2-pbkdf2-sha256.img true
fl_assert_eq "pbkdf2 sha256 1000 null" "$(q luks2-pbkdf2-sha256.img '.keyslots[0] | "\(.kdf) \(.hash) \(.iterations) \(.memory_kib)"')" "sha256 keyslot"
has_rule luks2-pbkdf2-sha256.img "FL-KDF-ITER-LOW:keyslot 0:warning"
compat luks2-pbkdf2-sha512.img true
compat luks2-pbkdf2-sha1.img true
has_rule luks2-pbkdf2-sha1.img "FL-KDF-SHA1:keyslot 0:warning"
for h in ripemd160 whirlpool; do
    compat luks2-pbkdf2-$h.img false
    has_rule luks2-pbkdf2-$h.img "FL-KDF-HASH:keyslot 0:error"
    fl_assert_eq $h "$(q luks2-pbkdf2-$h.img '.keyslots[0].hash')" "$h keyslot hash"
done

# LUKS1: one header-wide hash
fl_assert_eq 1 "$(q luks1-sha256.img .luks_version)" "luks1 version"
compat luks1-sha256.img true
has_rule luks1-sha256.img "FL-LUKS1:header:info"
compat luks1-ripemd160.img false
has_rule luks1-ripemd160.img "FL-LUKS1-HASH:header:error"
lacks_rule luks1-ripemd160.img "FL-KDF-HASH"
fl_assert_eq "ripemd160 ripemd160" "$(q luks1-ripemd160.img '"\(.keyslots[0].hash) \(.digests[0].hash)"')" "luks1 hashes"

# ciphers
compat luks2-cbc-essiv.img true
fl_assert_eq "aes-cbc-essiv:sha256 256" "$(q luks2-cbc-essiv.img '.segments[0] | "\(.cipher) \(.key_bits)"')" "cbc segment"
for c in serpent twofish; do
    compat luks2-$c.img false
    has_rule luks2-$c.img "FL-CIPHER:segment 0:error"
    fl_assert_eq "$c-xts-plain64" "$(q luks2-$c.img '.segments[0].cipher')" "$c segment"
done

# token-bound keyslot: no "weak iterations" warning for it, but for the passphrase keyslot
compat luks2-token.img true
fl_assert_eq "systemd-tpm2" "$(q luks2-token.img '.keyslots[] | select(.id==1) | .tokens[0].type')" "token type"
has_rule luks2-token.img "FL-KDF-ITER-LOW:keyslot 0:warning"
lacks_rule luks2-token.img "FL-KDF-ITER-LOW:keyslot 1"

# several keyslots
compat luks2-multi.img false
fl_assert_eq "0:argon2id 1:pbkdf2 2:argon2i 3:pbkdf2" "$(q luks2-multi.img '[.keyslots[] | "\(.id):\(.kdf)"] | join(" ")')" "multi keyslots"
fl_assert_eq prefer "$(q luks2-multi.img '.keyslots[] | select(.id==2) | .priority')" "multi priority"
has_rule luks2-multi.img "FL-KDF-ARGON2:keyslot 0:error"
has_rule luks2-multi.img "FL-KDF-ARGON2:keyslot 2:error"
has_rule luks2-multi.img "FL-KDF-SHA1:keyslot 3:warning"
lacks_rule luks2-multi.img "FL-KDF-ARGON2:keyslot 1"

# damaged headers: one copy → reported, still judged; both → unreadable entry
compat luks2-bad-primary.img true
has_rule luks2-bad-primary.img "FL-HEADER-DAMAGED:header:warning"
fl_assert_eq error "$(q luks2-bad-both.img .status)" "bad-both status"
fl_assert_contains "$(q luks2-bad-both.img .error)" "no header copy is valid" "bad-both error"

# directory walking: nested images found, non-LUKS files skipped (listed with --verbose)
compat nested-argon2id.img false
fl_assert_eq true "$(jq -r '[.skipped[] | select(endswith("/not-luks.img"))] | length == 1' "$J")" "not-luks skipped"
fl_assert_eq true "$(jq -r '[.skipped[] | select(endswith("/tree/a/notes.txt"))] | length == 1' "$J")" "notes skipped"
fl_assert_eq 0 "$(jq '[.volumes[] | select(.path | endswith("not-luks.img"))] | length' "$J")" "not-luks not a volume"
fl_assert_eq 1 "$(jq .summary.unreadable "$J")" "summary unreadable"
fl_assert_eq "$(jq '[.volumes[] | select(.fips_compatible == false)] | length' "$J")" "$(jq .summary.incompatible "$J")" "summary incompatible"
fl_assert_eq "$(jq '.volumes | length' "$J")" "$(jq .summary.volumes "$J")" "summary volumes"

# Scanning never writes: every byte of every image is unchanged.
( cd "$C" && sha256sum --quiet -c "$T/before.sum" ) || fl_fail "scan changed image bytes"

# exit codes: compatible only → 0; an incompatible one → 6; a non-LUKS file given explicitly is
# reported as not a LUKS volume, not as unreadable (so it changes no exit code)
fl_expect_exit 0 fipsluks scan "$C/luks2-pbkdf2-sha256.img" "$C/luks1-sha256.img"
fl_assert_contains "$FL_OUT" "2 volumes: 2 FIPS-compatible, 0 not compatible, 0 unreadable" "text summary"
fl_expect_exit 6 fipsluks scan "$C/luks2-pbkdf2-sha256.img" "$C/luks2-argon2id.img"
fl_assert_contains "$FL_OUT" "NOT FIPS-compatible" "text verdict"
fl_assert_contains "$FL_OUT" "fix: fipsluks migrate --key-slot 0 $C/luks2-argon2id.img" "text remedy"
fl_expect_exit 0 fipsluks scan "$C/not-luks.img" "$C/luks2-pbkdf2-sha256.img"
fl_assert_contains "$FL_OUT" "$C/not-luks.img: not a LUKS volume (no LUKS signature)" "explicit non-LUKS"
fl_assert_contains "$FL_OUT" "1 volume: 1 FIPS-compatible, 0 not compatible, 0 unreadable (1 file without a LUKS signature skipped)" \
    "explicit non-LUKS: not unreadable"
[[ $FL_OUT != *"cannot read"* ]] || fl_fail "a named non-LUKS file is 'cannot read': $FL_OUT"
fl_expect_exit 0 fipsluks scan --json "$C/not-luks.img"
fl_assert_eq '["'"$C"'/not-luks.img"] 0 0 1' "$(jq -c -j '.skipped, " ", .summary.volumes, " ", .summary.unreadable, " ", .summary.skipped' <<<"$FL_OUT")" \
    "explicit non-LUKS in --json"
fl_expect_exit 0 fipsluks scan --json-lines "$C/not-luks.img"
fl_assert_eq "skipped summary" "$(jq -r .record <<<"$FL_OUT" | xargs)" "explicit non-LUKS in --json-lines"
fl_expect_exit2 4 fipsluks migrate --batch -d "$C/not-luks.img" "$C/not-luks.img"
fl_assert_contains "$FL_ERR" "not a LUKS volume" "migrate: explicit non-LUKS"
fl_expect_exit 4 fipsluks scan --json "$T/does-not-exist"
fl_assert_eq "no such file or device" "$(jq -r '.volumes[0].error' <<<"$FL_OUT")" "missing file"
mkdir "$T/empty"
fl_expect_exit 0 fipsluks scan "$T/empty"
fl_assert_contains "$FL_OUT" "no LUKS volumes found" "empty dir"

# headers that cannot be judged: a reencryption in progress, requirements from the future
cp "$C/luks2-pbkdf2-sha256.img" "$T/reencrypt.img"
key=$(awk '$1 == "luks2-pbkdf2-sha256.img" { print $3; exit }' "$C/MANIFEST")
cryptsetup reencrypt --init-only -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$C/$key" "$T/reencrypt.img"
fl_expect_exit 6 fipsluks scan --json "$T/reencrypt.img"
fl_assert_eq "FL-REENCRYPT:header:error" "$(jq -r '.volumes[0].findings[0] | "\(.rule):\(.object):\(.severity)"' <<<"$FL_OUT")" "reencrypt finding"
fl_assert_eq "reencrypt" "$(jq -r '[.volumes[0].keyslots[].type] | map(select(. == "reencrypt")) | .[0]' <<<"$FL_OUT")" "reencrypt keyslot"
cp "$C/luks2-pbkdf2-sha256.img" "$T/future.img"
fl-luks2-edit "$T/future.img" --set 'config.requirements={"mandatory":["future-feature"]}'
fl_expect_exit 6 fipsluks scan --json "$T/future.img"
fl_assert_contains "$(jq -r '.volumes[0].findings[] | "\(.rule):\(.severity)"' <<<"$FL_OUT")" "FL-REQUIREMENTS:error" "unknown requirement"

# usage errors exit 1 and scan nothing
fl_expect_exit 1 fipsluks scan --no-such-option "$C"
fl_expect_exit 1 fipsluks scan --header "$C/luks2-argon2id.img" "$C/a" "$C/b"
fl_expect_exit 1 fipsluks no-such-verb

# detached header: remedies name it
cryptsetup luksHeaderBackup "$C/luks2-argon2id.img" --header-backup-file "$T/detached.hdr"
truncate -s 1M "$T/data.img"
fl_expect_exit 6 fipsluks scan --json --header "$T/detached.hdr" "$T/data.img"
fl_assert_eq "$T/detached.hdr" "$(jq -r '.volumes[0].header' <<<"$FL_OUT")" "header field"
fl_assert_eq "fipsluks migrate --key-slot 0 --header $T/detached.hdr $T/data.img" \
    "$(jq -r '.volumes[0].findings[] | select(.rule=="FL-KDF-ARGON2") | .remedy' <<<"$FL_OUT")" "detached remedy"

# odd file names: quotes, a newline, a space and invalid UTF-8 stay valid JSON and one text line
odd=$T/$'we"ird\nname \xff.img'
cp "$C/luks2-argon2id.img" "$odd"
fl_expect_exit 6 fipsluks scan --json "$odd"
fl_assert_eq "$T/we\"ird
name �.img" "$(jq -r '.volumes[0].path' <<<"$FL_OUT")" "odd path in JSON"
fl_expect_exit 6 fipsluks scan "$odd"
fl_assert_contains "$FL_OUT" 'we"ird\x0aname \xff.img: LUKS2' "odd path escaped in text"
fl_assert_contains "$FL_OUT" "fix: fipsluks migrate --key-slot 0 '$T/we\"ird" "odd path quoted in remedy"

# permission problems are one unreadable entry, not a crash (as an unprivileged user)
if command -v setpriv >/dev/null && [[ $(id -u) -eq 0 ]]; then
    chmod 0755 "$T"
    install -m 0600 "$C/luks2-argon2id.img" "$T/private.img"
    fl_expect_exit 4 setpriv --reuid=65534 --regid=65534 --clear-groups fipsluks scan --json "$T/private.img" "$C/../empty"
    fl_assert_eq "permission denied" "$(jq -r '.volumes[0].error' <<<"$FL_OUT")" "permission error"
fi
echo "scan: all assertions passed"
