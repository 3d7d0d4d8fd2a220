#!/usr/bin/env bash
# Hostile headers: flipped bytes in either or both LUKS2 copies and LUKS1, and edited JSON with valid
# checksums. scan must never crash, hang or write; every result is one of its documented exit codes.
# Under the sanitizer build (scripts/test runs both) memory errors abort the scan and fail the test.
. "$(dirname "$0")/lib/common.sh"

ROUNDS=${FL_FUZZ_ROUNDS:-150}
RANDOM=20261127 # reproducible

fl_key "$T/k" "fuzz-secret"
fl-mkluks --slot "kdf=argon2id,key-file=$T/k" --slot "kdf=pbkdf2,hash=sha1,key-file=$T/k,token=systemd-tpm2" "$T/luks2.img"
fl-mkluks --type luks1 --slot "key-file=$T/k" "$T/luks1.img"

# Only the header region is ever fuzzed (or could be repaired); hashing and restoring just that keeps
# each round cheap.
REGION=$((4 << 20))
head_sum() { head -c $REGION "$1" | sha256sum | cut -d' ' -f1; }
restore() { cp --sparse=always "$1" "$2"; }

# scan_ok IMG: scan must exit 0, 4 or 6 within 20 s, print valid JSON and leave IMG unchanged
scan_ok() {
    local img=$1 before rc=0
    before=$(head_sum "$img")
    timeout 20 fipsluks scan --json "$img" >"$T/out.json" 2>"$T/err" || rc=$?
    case $rc in
    0 | 4 | 6) ;;
    *) cp "$img" "$T/crash.img"; fl_fail "scan exited $rc on a fuzzed header (kept as crash.img): $(cat "$T/err")" ;;
    esac
    # one volume, or (signature gone) one named file that is not a LUKS volume
    jq -e '.summary.volumes + .summary.skipped == 1' "$T/out.json" >/dev/null || fl_fail "invalid JSON for a fuzzed header"
    fl_assert_eq "$before" "$(head_sum "$img")" "image bytes after scanning a fuzzed header"
}

flip() { # flip N random bytes of IMG between offsets LO and HI
    local img=$1 n=$2 lo=$3 hi=$4 i off
    for ((i = 0; i < n; i++)); do
        off=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
        printf "\\x$(printf %02x $((RANDOM % 256)))" | dd of="$img" bs=1 seek=$off conv=notrunc status=none
    done
}

for ((round = 0; round < ROUNDS; round++)); do
    restore "$T/luks2.img" "$T/f.img"
    case $((round % 5)) in
    0) flip "$T/f.img" 4 0 4096 ;;            # primary binary header
    1) flip "$T/f.img" 8 4096 16384 ;;        # primary JSON
    2) flip "$T/f.img" 8 0 32768 ;;           # both copies
    3) flip "$T/f.img" 1 0 64 ;;              # magic, version, header size
    4) restore "$T/luks1.img" "$T/f.img"; flip "$T/f.img" 6 0 1024 ;; # LUKS1 header and keyslots
    esac
    scan_ok "$T/f.img"
done

# Structurally odd JSON with valid checksums.
edits=(
    'keyslots.0.kdf.type="scrypt"'
    'keyslots.1.kdf.hash="md5"'
    'keyslots.1.kdf.iterations=1'
    'keyslots.1.af.hash="whirlpool"'
    'keyslots.0.area.encryption="cipher_null-ecb"'
    'segments.0.encryption="aes-xts-plain64\u0000trail"'
    'segments.0.sector_size=4096'
    'tokens.0.keyslots=["7","1"]'
    'tokens.0.type="x\ny"'
    'digests.0.hash="blake2b-512"'
    'config.requirements={"mandatory":["online-reencrypt-v9"]}'
)
for e in "${edits[@]}"; do
    restore "$T/luks2.img" "$T/f.img"
    fl-luks2-edit "$T/f.img" --set "$e" 2>/dev/null || continue
    scan_ok "$T/f.img"
done
echo "scan-fuzz: $ROUNDS byte-flip rounds and ${#edits[@]} JSON edits survived"
