#!/usr/bin/env bash
# Header values out of range, in headers libcryptsetup accepts (luksDump exits 0): scan reports them as
# FL-HEADER-MALFORMED instead of judging wrapped numbers or offering a remedy migrate refuses.
. "$(dirname "$0")/lib/common.sh"

fl_key "$T/k" "malformed-secret"
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,iter=200000,key-file=$T/k" "$T/base.img"
ks=$(fl-luks2-edit "$T/base.img" --print | jq -c '.keyslots["0"]')

# edited NAME EDIT…: a copy of base.img with the fl-luks2-edit operations applied
edited() {
    local name=$1
    shift
    cp --sparse=always "$T/base.img" "$T/$name.img"
    fl-luks2-edit "$T/$name.img" "$@"
}

# scan_json NAME: scan it (exit 6: not compatible), libcryptsetup accepting the same bytes
scan_json() {
    cp --sparse=always "$T/$1.img" "$T/dump.img"
    cryptsetup luksDump "$T/dump.img" >/dev/null || fl_fail "$1: luksDump refuses it; the case is not what it claims"
    fl_expect_exit 6 fipsluks scan --json "$T/$1.img"
    J=$FL_OUT
}

# findings: "RULE OBJECT" per finding of the one volume, and the remedies
findings() { jq -r '.volumes[0].findings[] | "\(.rule) \(.object)"' <<<"$J" | sort | tr '\n' ';'; }
remedies() { jq -r '.volumes[0].findings[].remedy' <<<"$J"; }

# keyslot id 40: LUKS2 has 0-31; libcryptsetup ignores it (and migrate --key-slot 40 is refused)
edited id40 --set "keyslots.40=$ks" --delete keyslots.0 --set 'digests.0.keyslots.0="40"'
scan_json id40
fl_assert_eq "FL-HEADER-MALFORMED keyslot 40;FL-NO-KEYSLOT header;" "$(findings)" "keyslot 40 findings"
fl_assert_contains "$(jq -r '.volumes[0].findings[] | select(.object == "keyslot 40") | .message' <<<"$J")" \
    "keyslot id 40 is beyond LUKS2's 32 keyslots" "keyslot 40 message"
[[ $(remedies) != *"--key-slot 40"* ]] || fl_fail "a remedy names keyslot 40: $(remedies)"

# keyslot 31 is the last valid id: judged as usual
edited id31 --set "keyslots.31=$ks" --delete keyslots.0 --set 'digests.0.keyslots.0="31"'
fl_expect_exit 0 fipsluks scan --json "$T/id31.img"
fl_assert_eq "[]" "$(jq -c '.volumes[0].findings' <<<"$FL_OUT")" "keyslot 31 findings"

# junk keyslots listed first (each with its own area and digest binding, so libcryptsetup accepts them)
# cannot push the real keyslot 0 out of the 32 places: it used to be dropped, unjudged
args=(--delete keyslots.0)
ids=
for i in $(seq 100 132); do
    args+=(--set "keyslots.$i=$(jq -c --argjson i "$i" '.area.offset = (32768 + ($i - 99) * 258048 | tostring)' <<<"$ks")")
    ids+="\"$i\","
done
edited many "${args[@]}" --set "keyslots.0=$ks" --set "digests.0.keyslots=[$ids\"0\"]"
scan_json many
fl_assert_eq 1 "$(jq -r '[.volumes[0].keyslots[] | select(.id == 0)] | length' <<<"$J")" "keyslot 0 read"
fl_assert_contains "$(findings)" "FL-HEADER-MALFORMED keyslot 100;" "junk keyslots reported"

# key_size * 8 used to wrap: 536870913 bytes became an 8-bit key
edited wrap --set 'keyslots.0.key_size=536870913'
scan_json wrap
fl_assert_eq "FL-HEADER-MALFORMED keyslot 0;FL-HEADER-MALFORMED segment 0;FL-NO-KEYSLOT header;" "$(findings)" \
    "wrapped volume key size"
[[ $J != *'"key_bits":8,'* ]] || fl_fail "a wrapped 8-bit key is reported: $J"

# a negative keyslot area key size used to read as 0 bits, and the volume passed as compatible
edited negative --set 'keyslots.0.area.key_size=-8'
scan_json negative
fl_assert_eq "FL-HEADER-MALFORMED keyslot 0;FL-NO-KEYSLOT header;" "$(findings)" "negative area key size"

# a huge one (beyond 64 bits) used to be clamped to 4294967288 bits
edited huge --set 'keyslots.0.area.key_size=99999999999999999999'
scan_json huge
fl_assert_contains "$(findings)" "FL-HEADER-MALFORMED keyslot 0" "huge area key size"
# a reencrypt keyslot has no key material area ("area": {"type": "none" | "checksum" | …}, no key_size):
# not malformed
cp --sparse=always "$T/base.img" "$T/reencrypt.img"
cryptsetup reencrypt --init-only -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$T/k" "$T/reencrypt.img"
fl_expect_exit 6 fipsluks scan --json "$T/reencrypt.img"
J=$FL_OUT
fl_assert_eq "reencrypt" "$(jq -r '[.volumes[0].keyslots[].type] | map(select(. == "reencrypt")) | .[0]' <<<"$J")" \
    "a reencrypt keyslot"
[[ $(findings) != *FL-HEADER-MALFORMED* ]] || fl_fail "reencrypt keyslot reported as malformed: $(findings)"
echo "scan-malformed: ok"
