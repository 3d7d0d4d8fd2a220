#!/usr/bin/env bash
# The fixtures are what the other tests think they are: build the standard corpus and check every image with
# Debian's cryptsetup (luksDump, --dump-json-metadata, open --test-passphrase), then the corners of fl-mkluks
# and fl-luks2-edit that the corpus does not use.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/corpus.sh"

command -v cryptsetup >/dev/null || fl_skip "cryptsetup is not installed"
command -v jq >/dev/null || fl_skip "jq is not installed"

C=$T/corpus
fl_make_corpus "$C"

# Read-only from here on: --disable-locks also keeps libcryptsetup from repairing luks2-bad-primary.img.
dump() { cryptsetup luksDump --disable-locks "$@"; }
dumpn() { dump "$@" | tr -s ' \t\n' '   '; } # one line, whitespace runs squeezed to one space
json() { dump --dump-json-metadata "$1" >"$T/hdr.json" || fl_fail "no LUKS2 metadata in '$1'"; }
jv() { fl_jq "$1" "$T/hdr.json"; }
opens() { cryptsetup open --test-passphrase --disable-locks --disable-external-tokens --key-slot "$2" \
    --key-file "$3" "$1" 2>/dev/null; }

# --- MANIFEST: exactly the keyslots with known secrets, and every one opens --------------------------------
fl_assert_eq "luks1-ripemd160.img 0
luks1-sha256.img 0
luks2-argon2i.img 0
luks2-argon2id.img 0
luks2-bad-primary.img 0
luks2-cbc-essiv.img 0
luks2-multi.img 0
luks2-multi.img 1
luks2-multi.img 2
luks2-multi.img 3
luks2-pbkdf2-ripemd160.img 0
luks2-pbkdf2-sha1.img 0
luks2-pbkdf2-sha256.img 0
luks2-pbkdf2-sha512.img 0
luks2-pbkdf2-whirlpool.img 0
luks2-token.img 0
luks2-token.img 1
tree/a/b/nested-argon2id.img 0" "$(cut -d' ' -f1,2 "$C/MANIFEST")" "MANIFEST keyslots"

while read -r image slot key; do
    [[ -s $C/$key ]] || fl_fail "$image: key file '$key' missing or empty"
    opens "$C/$image" "$slot" "$C/$key" || fl_fail "$image keyslot $slot does not open with '$key'"
done <"$C/MANIFEST"
# Every secret is different, and --key-slot is honoured (a secret opens its own keyslot only).
nkeys=$(find "$C/keys" -name '*.key' | grep -c .)
fl_assert_eq 21 "$nkeys" "key files"
fl_assert_eq "$nkeys" "$(for k in "$C"/keys/*.key; do fl_sum "$k"; done | sort -u | grep -c .)" "distinct secrets"
(! opens "$C/luks2-multi.img" 1 "$C/keys/luks2-multi.0.key") || fl_fail "multi: slot 0 secret opens slot 1"
(! opens "$C/luks2-pbkdf2-sha256.img" 0 "$C/keys/luks2-pbkdf2-sha1.0.key") || fl_fail "foreign secret opens"
# Key files are exact bytes: multi slot 3 ends in a newline and only opens with it.
fl_assert_eq "0a" "$(tail -c1 "$C/keys/luks2-multi.3.key" | od -An -tx1 | tr -d ' ')" "multi slot 3 key file"
head -c -1 "$C/keys/luks2-multi.3.key" >"$T/no-newline.key"
(! opens "$C/luks2-multi.img" 3 "$T/no-newline.key") || fl_fail "multi slot 3 opens without its newline"
fl_assert_eq "$C/keys/luks2-token.1.key" "$(fl_corpus_key "$C" luks2-token.img 1)" "fl_corpus_key"

# --- common LUKS2 parameters --------------------------------------------------------------------------------
for image in luks2-argon2id luks2-argon2i luks2-pbkdf2-sha256 luks2-pbkdf2-sha1 luks2-pbkdf2-sha512 \
    luks2-pbkdf2-ripemd160 luks2-pbkdf2-whirlpool luks2-token luks2-multi luks2-bad-primary \
    tree/a/b/nested-argon2id; do
    json "$C/$image.img"
    fl_assert_eq "aes-xts-plain64 512" "$(jv '.segments."0".encryption + " " + (.keyslots."0".key_size * 8 |
        tostring)')" "$image: cipher"
    fl_assert_eq "pbkdf2 sha256 1000" "$(jv '.digests."0" | "\(.type) \(.hash) \(.iterations)"')" \
        "$image: digest"
    fl_assert_eq "aes-xts-plain64" "$(jv '[.keyslots[].area.encryption] | unique | join(",")')" \
        "$image: keyslot area cipher"
done

# kdf: "TYPE HASH ITERATIONS" for PBKDF2, "TYPE TIME MEMORY CPUS" for Argon2; plus the AF hash.
kdf() { jv ".keyslots.\"$1\" | .kdf | if .type == \"pbkdf2\" then \"\(.type) \(.hash) \(.iterations)\"
    else \"\(.type) \(.time) \(.memory) \(.cpus)\" end"; }
af() { jv ".keyslots.\"$1\".af.hash"; }

for a in argon2id argon2i; do
    json "$C/luks2-$a.img"
    fl_assert_eq "$a 4 32768 1" "$(kdf 0)" "luks2-$a: keyslot 0"
    fl_assert_eq 0 "$(jv '.keyslots | keys | join(",")')" "luks2-$a: keyslots"
done
json "$C/tree/a/b/nested-argon2id.img"
fl_assert_eq "argon2id 4 32768 1" "$(kdf 0)" "nested-argon2id: keyslot 0"
[[ $(cryptsetup luksUUID "$C/tree/a/b/nested-argon2id.img") != $(cryptsetup luksUUID "$C/luks2-argon2id.img") ]] ||
    fl_fail "nested-argon2id shares its UUID with luks2-argon2id"

for h in sha256 sha1 sha512 ripemd160 whirlpool; do
    json "$C/luks2-pbkdf2-$h.img"
    fl_assert_eq "pbkdf2 $h 1000" "$(kdf 0)" "luks2-pbkdf2-$h: keyslot 0"
    fl_assert_eq "$h" "$(af 0)" "luks2-pbkdf2-$h: AF hash"
    # The human-readable dump agrees.
    fl_assert_contains "$(dumpn "$C/luks2-pbkdf2-$h.img")" "PBKDF: pbkdf2 Hash: $h Iterations: 1000" \
        "luks2-pbkdf2-$h: luksDump"
done

json "$C/luks2-cbc-essiv.img"
fl_assert_eq "aes-cbc-essiv:sha256 256" "$(jv '.segments."0".encryption + " " + (.keyslots."0".key_size * 8 |
    tostring)')" "cbc-essiv: cipher"
fl_assert_eq "pbkdf2 sha256 1000" "$(kdf 0)" "cbc-essiv: keyslot 0"

json "$C/luks2-token.img"
fl_assert_eq "pbkdf2 sha256 1000" "$(kdf 0)" "token: keyslot 0"
fl_assert_eq "pbkdf2 sha256 1000" "$(kdf 1)" "token: keyslot 1"
fl_assert_eq "systemd-tpm2 1" "$(jv '.tokens | to_entries | map("\(.value.type) \(.value.keyslots | join(","))") |
    join(";")')" "token: tokens"
fl_assert_eq "7 sha256 false" "$(jv '.tokens."0" | "\(.["tpm2-pcrs"] | join(",")) \(.["tpm2-pcr-bank"]) \(.["tpm2-pin"])"')" \
    "token: tpm2 fields"
fl_assert_eq 44 "$(wc -c <"$C/keys/luks2-token.1.key")" "token: slot 1 secret is base64 of 32 bytes"
fl_assert_contains "$(dump "$C/luks2-token.img")" "systemd-tpm2" "token: luksDump"

json "$C/luks2-multi.img"
fl_assert_eq "argon2id 4 32768 1" "$(kdf 0)" "multi: keyslot 0"
fl_assert_eq "pbkdf2 sha256 1000" "$(kdf 1)" "multi: keyslot 1"
fl_assert_eq "argon2i 4 32768 1" "$(kdf 2)" "multi: keyslot 2"
fl_assert_eq "pbkdf2 sha1 1000" "$(kdf 3)" "multi: keyslot 3"
fl_assert_eq "0:normal 1:normal 2:2 3:normal" \
    "$(jv '.keyslots | to_entries | map("\(.key):\(.value.priority // "normal")") | join(" ")')" "multi: priorities"
fl_assert_contains "$(dumpn "$C/luks2-multi.img")" "Priority: preferred" "multi: luksDump priority"

# --- LUKS1 --------------------------------------------------------------------------------------------------
for h in sha256 ripemd160; do
    out=$(dumpn "$C/luks1-$h.img")
    for want in "Version: 1" "Cipher name: aes" "Cipher mode: xts-plain64" "Hash spec: $h" "MK bits: 512" \
        "MK iterations: 1000" "Key Slot 0: ENABLED Iterations: 1000" "Key Slot 1: DISABLED"; do
        fl_assert_contains "$out" "$want" "luks1-$h"
    done
done

# --- edited ciphers: visible, loadable, not openable here -------------------------------------------------
for c in serpent twofish; do
    json "$C/luks2-$c.img"
    fl_assert_eq "$c-xts-plain64 $c-xts-plain64" "$(jv '.segments."0".encryption + " " +
        .keyslots."0".area.encryption')" "luks2-$c: JSON"
    out=$(dumpn "$C/luks2-$c.img")
    fl_assert_contains "$out" "cipher: $c-xts-plain64" "luks2-$c: luksDump segment"
    fl_assert_contains "$out" "Cipher: $c-xts-plain64" "luks2-$c: luksDump keyslot"
    (! opens "$C/luks2-$c.img" 0 "$C/keys/luks2-$c.0.key") || fl_fail "luks2-$c opens on this host"
done

# --- damaged headers ------------------------------------------------------------------------------------------
before=$(fl_sum "$C/luks2-bad-primary.img")
fl_assert_contains "$(dumpn "$C/luks2-bad-primary.img")" "Version: 2" "bad-primary: luksDump"
opens "$C/luks2-bad-primary.img" 0 "$C/keys/luks2-bad-primary.0.key" || fl_fail "bad-primary does not open"
fl_assert_eq "$before" "$(fl_sum "$C/luks2-bad-primary.img")" "bad-primary unchanged by --disable-locks"
# The primary copy is what is broken: without the secondary, nothing loads.
cp "$C/luks2-bad-primary.img" "$T/no-secondary.img"
dd if=/dev/zero of="$T/no-secondary.img" bs=4096 seek=4 count=1 conv=notrunc status=none
(! dump "$T/no-secondary.img" >/dev/null 2>&1) || fl_fail "bad-primary: the primary copy still loads"
# Documented in corpus.sh: a normal load repairs the primary copy in place.
cp "$C/luks2-bad-primary.img" "$T/repaired.img"
cryptsetup luksDump "$T/repaired.img" >/dev/null
[[ $(fl_sum "$T/repaired.img") != "$before" ]] || fl_fail "cryptsetup no longer repairs the primary copy"
cp "$T/repaired.img" "$T/no-secondary.img"
dd if=/dev/zero of="$T/no-secondary.img" bs=4096 seek=4 count=1 conv=notrunc status=none
dump "$T/no-secondary.img" >/dev/null || fl_fail "repaired primary copy does not load"

(! dump "$C/luks2-bad-both.img" >/dev/null 2>&1) || fl_fail "bad-both loads"
(! cryptsetup isLuks --disable-locks "$C/luks2-bad-both.img") || fl_fail "bad-both is LUKS to cryptsetup"
fl_assert_eq "LUKS" "$(head -c4 "$C/luks2-bad-both.img")" "bad-both keeps its magic"
(! cryptsetup isLuks "$C/not-luks.img") || fl_fail "not-luks.img is LUKS"
(! cryptsetup isLuks "$C/tree/a/notes.txt") || fl_fail "notes.txt is LUKS"

# --- fl-mkluks corners -----------------------------------------------------------------------------------------
fl_key "$T/a.key" "first secret"
fl_key "$T/b.key" "second secret"
# PBKDF2 below 1000 iterations: libcryptsetup refuses it, fl-mkluks forces it, and it opens.
fl-mkluks --slot "key-file=$T/a.key,iter=500" --slot "key-file=$T/b.key,hash=sha512,iter=1" "$T/low.img"
json "$T/low.img"
fl_assert_eq "pbkdf2 sha256 500" "$(kdf 0)" "low iterations: keyslot 0"
fl_assert_eq "pbkdf2 sha512 1" "$(kdf 1)" "low iterations: keyslot 1"
opens "$T/low.img" 0 "$T/a.key" || fl_fail "500-iteration keyslot does not open"
opens "$T/low.img" 1 "$T/b.key" || fl_fail "1-iteration keyslot does not open"
fl_expect_exit 1 fl-mkluks --type luks1 --slot "key-file=$T/a.key,iter=500" "$T/low1.img"
[[ ! -e $T/low1.img ]] || fl_fail "refused image left behind"

# Header options, digest hash, ids, argon2 costs.
fl-mkluks --label LBL --subsystem SUB --uuid 0fc8d1f5-c0de-4b6e-9b7a-1e2d3c4b5a69 --hash sha512 \
    --sector-size 4096 --size 24 \
    --slot "key-file=$T/a.key,kdf=argon2id,iter=5,mem=65536,par=2,id=7" \
    --slot "key-file=$T/b.key,token=systemd-fido2,priority=ignore" "$T/opts.img"
json "$T/opts.img"
fl_assert_eq "LBL SUB" "$(dump "$T/opts.img" | sed -n 's/^Label:[[:space:]]*//p;s/^Subsystem:[[:space:]]*//p' |
    paste -sd' ')" "label and subsystem"
fl_assert_eq 0fc8d1f5-c0de-4b6e-9b7a-1e2d3c4b5a69 "$(cryptsetup luksUUID "$T/opts.img")" "uuid"
fl_assert_eq "pbkdf2 sha512" "$(jv '.digests."0" | "\(.type) \(.hash)"')" "--hash sets the LUKS2 digest hash"
fl_assert_eq 4096 "$(jv '.segments."0".sector_size')" "sector size"
fl_assert_eq 25165824 "$(stat -c %s "$T/opts.img")" "--size"
fl_assert_eq "argon2id 5 65536 2" "$(kdf 7)" "keyslot 7"
fl_assert_eq "0 7" "$(jv '.keyslots | keys | join(" ")')" "keyslot ids"
fl_assert_eq 0 "$(jv '.keyslots."0".priority')" "priority=ignore"
fl_assert_eq "systemd-fido2 0" "$(jv '.tokens."0" | "\(.type) \(.keyslots | join(","))"')" "fido2 token"
opens "$T/opts.img" 7 "$T/a.key" || fl_fail "argon2id keyslot 7 does not open"

fl-mkluks --type luks1 --cipher aes-cbc-essiv:sha256 --key-size 256 --hash sha1 \
    --slot "key-file=$T/a.key,iter=2000,id=5" "$T/l1.img"
out=$(dumpn "$T/l1.img")
for want in "Hash spec: sha1" "Cipher mode: cbc-essiv:sha256" "MK bits: 256" "Key Slot 5: ENABLED Iterations: 2000"; do
    fl_assert_contains "$out" "$want" "luks1 options"
done
opens "$T/l1.img" 5 "$T/a.key" || fl_fail "LUKS1 keyslot 5 does not open"

# Errors: exit 1, a message naming the image, nothing left behind.
for bad in "--slot key-file=$T/missing.key" "--slot key-file=$T/a.key,kdf=scrypt" \
    "--slot key-file=$T/a.key,bogus=1" "--slot kdf=pbkdf2" "--cipher serpent-xts-plain64 --slot key-file=$T/a.key" \
    "--slot key-file=$T/a.key,hash=nosuchhash" "--slot key-file=$T/a.key,id=0 --slot key-file=$T/b.key,id=0" \
    "--type luks1 --slot key-file=$T/a.key,kdf=argon2id" "--type luks1 --label x --slot key-file=$T/a.key" \
    "--key-size 12x --slot key-file=$T/a.key" "--type luks3 --slot key-file=$T/a.key"; do
    rc=0
    # shellcheck disable=SC2086 # word splitting of the option list is intended
    err=$(fl-mkluks $bad "$T/bad.img" 2>&1 >/dev/null) || rc=$?
    fl_assert_eq 1 "$rc" "fl-mkluks $bad: exit status"
    [[ -n $err ]] || fl_fail "fl-mkluks $bad: no message"
    [[ ! -e $T/bad.img ]] || fl_fail "fl-mkluks $bad: left '$T/bad.img' behind"
done
fl_assert_contains "$(fl-mkluks --cipher twofish-xts-plain64 --slot "key-file=$T/a.key" "$T/bad.img" 2>&1)" \
    "'$T/bad.img'" "error names the image"
fl_expect_exit 1 fl-mkluks "$T/bad.img"

# --- fl-luks2-edit corners -------------------------------------------------------------------------------------
cp "$C/luks2-pbkdf2-sha256.img" "$T/e.img"
K=$C/keys/luks2-pbkdf2-sha256.0.key
fl-luks2-edit "$T/e.img" --set 'config.requirements={"mandatory":["fl-test"]}' --set 'segments.0.foo=[1,"x"]' \
    --set 'segments.0.foo.2=true' --delete 'segments.0.foo.0'
json "$T/e.img"
fl_assert_eq '["x",true]' "$(jv '.segments."0".foo | tojson')" "edits in order"
fl_assert_contains "$(dumpn "$T/e.img")" "Requirements: fl-test" "requirement visible"
fl-luks2-edit "$T/e.img" --delete config.requirements --delete segments.0.foo
opens "$T/e.img" 0 "$K" || fl_fail "edited header does not open"
fl-luks2-edit "$T/e.img" --set keyslots.0.kdf.iterations=500
json "$T/e.img"
fl_assert_eq "pbkdf2 sha256 500" "$(kdf 0)" "edited iterations"
(! opens "$T/e.img" 0 "$K") || fl_fail "keyslot opens with edited iterations"
fl-luks2-edit "$T/e.img" --set keyslots.0.kdf.iterations=1000
opens "$T/e.img" 0 "$K" || fl_fail "edit back to 1000 iterations does not open"
# Both copies carry the edit: with the primary corrupted, the secondary still has it.
fl-luks2-edit "$T/e.img" --set 'segments.0.encryption="serpent-xts-plain64"' --corrupt primary
fl_assert_contains "$(dumpn "$T/e.img")" "cipher: serpent-xts-plain64" "edit in the secondary copy"
fl_assert_contains "$(fl-luks2-edit "$T/e.img" --print 2>&1)" "serpent-xts-plain64" "--print"
fl_expect_exit 1 fl-luks2-edit "$T/e.img" --set 'segments.0.encryption="aes-xts-plain64"'
fl_expect_exit 1 fl-luks2-edit "$C/luks1-sha256.img" --set a=1
fl_expect_exit 1 fl-luks2-edit "$C/not-luks.img" --set a=1
fl_expect_exit 1 fl-luks2-edit "$T/low.img" --set 'no.such.path=1'
fl_expect_exit 1 fl-luks2-edit "$T/low.img" --set 'segments.0.encryption=serpent'
fl_expect_exit 1 fl-luks2-edit "$T/low.img" --set "config.big=\"$(head -c 20000 /dev/zero | tr '\0' x)\""
fl_expect_exit 1 fl-luks2-edit "$T/low.img"
opens "$T/low.img" 0 "$T/a.key" || fl_fail "refused edits changed the image"
