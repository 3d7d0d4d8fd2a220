#!/usr/bin/env bash
# fipsluks format: every allowed option combination gives the volume `cryptsetup luksFormat --type
# luks2 --pbkdf pbkdf2` gives (field by field) and opens; calibrated iteration counts match
# cryptsetup's within 25%; refused options, signatures, mounts and failures leave the target
# byte-identical; key files, passphrase prompts and warnings behave.
. "$(dirname "$0")/lib/common.sh"

command -v cryptsetup >/dev/null || fl_skip "no cryptsetup to compare with (scripts/setup installs cryptsetup-bin)"
ptyrun() { python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" "$@"; }
fast=(--pbkdf-force-iterations 1000)
fl_key "$T/key" "correct horse battery staple"
chmod 0600 "$T/key"

# image FILE [SIZE]: a new all-zero image
image() {
    rm -f "$1"
    truncate -s "${2:-20M}" "$1"
}
# opens IMAGE KEYFILE: cryptsetup (not fipsluks) opens the keyslot with that key
opens() { cryptsetup open --test-passphrase --key-file "$2" "$1" || fl_fail "'$1' does not open with '$2'"; }
# metadata IMAGE [JQ-DELETIONS]: the LUKS2 JSON without what is random per format
metadata() {
    cryptsetup luksDump --dump-json-metadata "$1" |
        jq -S "del(.keyslots[].kdf.salt, .digests[].salt, .digests[].digest)${2:-}"
}
# header IMAGE: label, subsystem, and sector size from the binary header / text dump
header() { cryptsetup luksDump "$1" | grep -E '^(Label|Subsystem|Version):|sector:' | tr -s '\t ' ' '; }
# q CMD…: run CMD with its standard error in $T/err (so that fl_expect_exit's own message still shows)
q() { "$@" 2>"$T/err"; }
# unchanged IMAGE SUM WHAT
unchanged() { fl_assert_eq "$2" "$(fl_sum "$1")" "$3: target bytes"; }

# --- every allowed combination: the same volume as cryptsetup's, and it opens ------------------
uuid=6d3c1f34-5a8e-4f7d-b0a2-9c81e2d4f5a6
combos=(
    ""
    "--key-size 256"
    "--hash sha512"
    "--cipher aes-cbc-essiv:sha256"
    "--cipher aes-cbc-essiv:sha256 --key-size 256 --hash sha512"
    "--key-size 512 --cipher aes-xts-plain64 --sector-size 512 --label fl-label --subsystem fl-sub --uuid $uuid"
)
# Under valgrind (FL_VALGRIND=1) each run costs seconds: the first and the last combination (which
# holds most options), and every third refusal below; the full lists run in the other passes.
if [[ ${FL_VALGRIND:-0} == 1 ]]; then
    combos=("${combos[0]}" "${combos[-1]}")
fi
for combo in "${combos[@]}"; do
    read -ra opts <<<"$combo"
    image "$T/ours.img"
    image "$T/theirs.img"
    fl_expect_exit 0 fipsluks format --batch --json --key-file "$T/key" "${fast[@]}" "${opts[@]}" "$T/ours.img"
    json=$FL_OUT
    sector=$(jq -r .sector_size <<<"$json")
    opens "$T/ours.img" "$T/key"
    cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --key-file "$T/key" "${fast[@]}" --sector-size "$sector" \
        "${opts[@]}" "$T/theirs.img"
    fl_assert_eq "$(metadata "$T/theirs.img")" "$(metadata "$T/ours.img")" "LUKS2 metadata for '$combo'"
    fl_assert_eq "$(header "$T/theirs.img")" "$(header "$T/ours.img")" "LUKS2 header for '$combo'"
    # the scan policy agrees (exit 0: compatible)
    fl_expect_exit 0 fipsluks scan "$T/ours.img"
done
fl_assert_eq "$uuid" "$(cryptsetup luksUUID "$T/ours.img")" "--uuid"
fl_assert_eq "512 fl-label fl-sub" "$(jq -r '"\(.sector_size) \(.label) \(.subsystem)"' <<<"$json")" "last combination"

# --- the default profile and its JSON ------------------------------------------------------------
image "$T/json.img"
fl_expect_exit 0 fipsluks format -q -j -d "$T/key" "${fast[@]}" "$T/json.img"
J=$T/format.json
printf '%s\n' "$FL_OUT" >"$J"
fl_assert_eq "fipsluks $T/json.img aes-xts-plain64 512 4096 16777216 pbkdf2 sha256 1000 null 1000 0 $T/key false 0" \
    "$(jq -r '[.tool, .path, .cipher, .key_bits, .sector_size, .data_offset, .pbkdf, .hash, .iterations,
               .iter_time_ms, .digest_iterations, .keyslot, .key_file, .key_file_generated,
               .signatures_erased] | map(tostring) | join(" ")' "$J")" "format JSON"
fl_assert_eq "$(cryptsetup luksUUID "$T/json.img")" "$(jq -r .uuid "$J")" "JSON uuid"
# a repeated option: the last one counts (as in cryptsetup)
image "$T/json.img"
fl_expect_exit 0 fipsluks format -q -j -d "$T/key" --label first --label second --hash sha1 --hash sha512 "${fast[@]}" \
    "$T/json.img"
fl_assert_eq "second sha512" "$(jq -r '"\(.label) \(.hash)"' <<<"$FL_OUT")" "repeated options"
fl_expect_exit 0 fipsluks format --help
fl_assert_contains "$FL_OUT" "--new-key-file=FILE" "help"
fl_assert_eq "true FL-KDF-ITER-LOW" "$(jq -r '"\(.volume.fips_compatible) \(.volume.findings | map(.rule) | join(","))"' "$J")" \
    "forced 1000 iterations: compatible, with the weak-iterations warning"

# --- calibration: keyslot iterations within 25% of cryptsetup's for the same --iter-time; the digest
# keeps libcryptsetup's fixed 1000 (its count protects nothing: fipsluks writes no header byte itself)
# The machine may be busy with other tests, and a busy machine changes how fast PBKDF2 runs from
# one second to the next (for cryptsetup as much as for fipsluks). So cryptsetup formats right
# before and right after fipsluks, fipsluks must be within 25% of either, and there are three tries.
within() { awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; exit !(r >= 0.75 && r <= 1.25) }'; }
counts() { metadata "$1" | jq -r '"\(.keyslots."0".kdf.iterations) \(.digests."0".iterations)"'; }
cryptsetup_format() {
    image "$1"
    cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --iter-time 500 --key-file "$T/key" "$1"
}
# AddressSanitizer intercepts OpenSSL's memcpy(): PBKDF2 really is several times slower in such a
# process, so its calibrated counts are not comparable with cryptsetup's.
# The same under valgrind (FL_VALGRIND=1), which runs PBKDF2 tens of times slower.
asan=0
[[ $(ldd "$(command -v fipsluks)") != *libasan* ]] || asan=1
[[ ${FL_VALGRIND:-0} != 1 ]] || asan=1
ok=0
for attempt in 1 2 3; do
    cryptsetup_format "$T/before.img"
    image "$T/ours.img"
    fl_expect_exit 0 fipsluks format --batch --json --key-file "$T/key" --iter-time 500 "$T/ours.img"
    cryptsetup_format "$T/theirs.img"
    ours=$(counts "$T/ours.img")
    echo "calibration attempt $attempt: keyslot/digest iterations: cryptsetup $(counts "$T/before.img"), " \
        "fipsluks $ours, cryptsetup $(counts "$T/theirs.img")"
    fl_assert_eq "${ours% *}" "$(jq -r .iterations <<<"$FL_OUT")" "JSON iterations"
    fl_assert_eq "500" "$(jq -r .iter_time_ms <<<"$FL_OUT")" "JSON iter_time_ms"
    for ref in before theirs; do
        theirs=$(counts "$T/$ref.img")
        if ((asan)) || within "${ours% *}" "${theirs% *}"; then
            ok=1
        fi
    done
    ((!ok)) || break
done
((!asan)) || echo "note: sanitizer build or valgrind; calibrated counts not compared with cryptsetup's" >&2
((ok)) || fl_fail "calibrated iterations ($ours) not within 25% of cryptsetup's in 3 tries (see above)"
fl_assert_eq 1000 "${ours#* }" "digest iterations"
opens "$T/ours.img" "$T/key"
iters='| del(.keyslots[].kdf.iterations, .digests[].iterations)'
fl_assert_eq "$(metadata "$T/theirs.img" "$iters")" "$(metadata "$T/ours.img" "$iters")" "calibrated LUKS2 metadata"

# --- refused options: exit 1, target untouched, the approved choices named ------------------------
image "$T/ext4.img" 24M
mkfs.ext4 -q -F -L precious "$T/ext4.img"
sum=$(fl_sum "$T/ext4.img")
refused=(
    "--cipher serpent-xts-plain64" "--cipher twofish-xts-plain64" "--cipher aes-xts-plain" "--cipher aes-ecb"
    "--key-size 384" "--key-size 128" "--cipher aes-cbc-essiv:sha256 --key-size 512"
    "--hash sha1" "--hash ripemd160" "--hash whirlpool" "--pbkdf argon2id" "--pbkdf argon2i"
    "--pbkdf-force-iterations 999" "--type luks1" "--sector-size 8192"
)
if [[ ${FL_VALGRIND:-0} == 1 ]]; then
    for i in "${!refused[@]}"; do ((i % 3 == 0)) || unset 'refused[i]'; done
fi
for combo in "${refused[@]}"; do
    read -ra opts <<<"$combo"
    rc=0
    fipsluks format --batch --force --key-file "$T/key" "${opts[@]}" "$T/ext4.img" 2>"$T/err" || rc=$?
    fl_assert_eq 1 "$rc" "exit code for $combo"
    fl_assert_contains "$(cat "$T/err")" "approved" "message for $combo"
    unchanged "$T/ext4.img" "$sum" "$combo"
done
fl_assert_contains "$(cat "$T/err")" "refused" "refusal message"
fipsluks format --batch --key-file "$T/key" --cipher serpent-xts-plain64 "$T/ext4.img" 2>"$T/err" || true
fl_assert_contains "$(cat "$T/err")" "approved: aes-xts-plain64, aes-cbc-essiv:sha256" "cipher message"
# usage errors
for args in "--uuid not-a-uuid" "--label $(printf 'x%.0s' {1..48})"  "--iter-time 100 --pbkdf-force-iterations 1000" "--key-size abc" "--iter-time -1" \
    "--new-key-file $T/nk --key-file $T/key"; do
    read -ra opts <<<"$args"
    fl_expect_exit 1 q fipsluks format --batch --force --key-file "$T/key" "${opts[@]}" "$T/ext4.img"
done
fl_expect_exit 1 q fipsluks format --batch --key-file "$T/key"
fl_expect_exit 1 q fipsluks format --batch --new-key-file "$T/nk" --keyfile-size 4 "$T/ext4.img"
fl_assert_contains "$(cat "$T/err")" "need --key-file" "--keyfile-size without --key-file"
fl_expect_exit 1 q fipsluks format --batch --key-file "$T/key" "$T/ext4.img" "$T/json.img"
fl_expect_exit 1 q fipsluks format --batch "$T/ext4.img" </dev/null
fl_assert_contains "$(cat "$T/err")" "no terminal to ask for a passphrase" "no terminal"
unchanged "$T/ext4.img" "$sum" "usage errors"
fl_expect_exit 4 q fipsluks format --batch --key-file "$T/key" "$T/missing.img"
fl_expect_exit 4 q fipsluks format --batch --key-file "$T/key" "$T"
image "$T/small.img" 16M
fl_expect_exit 4 q fipsluks format --batch --key-file "$T/key" "$T/small.img"
image "$T/odd.img" $((20 * 1024 * 1024 + 512))
fl_expect_exit 1 q fipsluks format --batch --key-file "$T/key" --sector-size 4096 "$T/odd.img"
fl_expect_exit 0 fipsluks format --batch --json --key-file "$T/key" "${fast[@]}" "$T/odd.img"
fl_assert_eq 512 "$(jq -r .sector_size <<<"$FL_OUT")" "sector size where 4096 does not fit"

# --- signatures: an ext4 image is left alone without --force (also with --batch) ------------------
rc=0
fipsluks format --batch --key-file "$T/key" "${fast[@]}" "$T/ext4.img" 2>"$T/err" || rc=$?
fl_assert_eq 5 "$rc" "exit code with an ext4 signature"
fl_assert_contains "$(cat "$T/err")" "ext4" "signature listed"
fl_assert_contains "$(cat "$T/err")" "label 'precious'" "signature label"
fl_assert_contains "$(cat "$T/err")" "--force" "remedy"
unchanged "$T/ext4.img" "$sum" "ext4 without --force"
# a LUKS volume and a swap area too
fl_expect_exit 5 q fipsluks format --batch --key-file "$T/key" "${fast[@]}" "$T/json.img"
image "$T/swap.img" 20M
mkswap -q "$T/swap.img" >/dev/null 2>&1 || mkswap "$T/swap.img" >/dev/null
fl_expect_exit 5 q fipsluks format --batch --key-file "$T/key" "${fast[@]}" "$T/swap.img"
# --force: formatted, and libblkid sees only LUKS
fl_expect_exit 0 q fipsluks format --batch --force --key-file "$T/key" "${fast[@]}" "$T/ext4.img"
fl_assert_contains "$(cat "$T/err")" "will be destroyed" "--force notice"
fl_assert_eq "crypto_LUKS" "$(blkid -p -o value -s TYPE "$T/ext4.img")" "type after --force"
opens "$T/ext4.img" "$T/key"

# nothing past the 16 MiB header area is written
head -c 24M /dev/urandom >"$T/data.img"
tail_sum() { tail -c +$((16 * 1024 * 1024 + 1)) "$1" | sha256sum | cut -d' ' -f1; }
before=$(tail_sum "$T/data.img")
fl_expect_exit 0 fipsluks format --batch --force --key-file "$T/key" "${fast[@]}" "$T/data.img"
fl_assert_eq "$before" "$(tail_sum "$T/data.img")" "data area after formatting"

# --- key files -----------------------------------------------------------------------------------------
image "$T/nk.img"
fl_expect_exit 0 fipsluks format --batch --json --new-key-file "$T/new.key" "${fast[@]}" "$T/nk.img"
fl_assert_eq "0400 64" "$(stat -c '%a %s' "$T/new.key" | sed 's/^/0/')" "new key file mode and size"
fl_assert_eq "true $T/new.key" "$(jq -r '"\(.key_file_generated) \(.key_file)"' <<<"$FL_OUT")" "JSON key file"
opens "$T/nk.img" "$T/new.key"
keysum=$(fl_sum "$T/new.key")
# never overwritten; the target stays as it is
image "$T/nk2.img"
sum=$(fl_sum "$T/nk2.img")
fl_expect_exit 5 q fipsluks format --batch --new-key-file "$T/new.key" "${fast[@]}" "$T/nk2.img"
fl_assert_eq "$keysum" "$(fl_sum "$T/new.key")" "existing key file"
unchanged "$T/nk2.img" "$sum" "existing key file"
ln -s "$T/elsewhere.key" "$T/link.key"
fl_expect_exit 5 q fipsluks format --batch --new-key-file "$T/link.key" "${fast[@]}" "$T/nk2.img"
[[ ! -e $T/elsewhere.key ]] || fl_fail "a symbolic link was followed"
# a refused or failed format leaves no key file behind
fl_expect_exit 5 q fipsluks format --batch --new-key-file "$T/refused.key" "${fast[@]}" "$T/nk.img"
[[ ! -e $T/refused.key ]] || fl_fail "key file created for a refused target"
fl_expect_exit 4 q fipsluks format --batch --new-key-file "$T/small.key" "${fast[@]}" "$T/small.img"
[[ ! -e $T/small.key ]] || fl_fail "key file left behind"
# exposed key files and short passphrases are warned about
chmod 0644 "$T/key"
image "$T/w.img"
fl_expect_exit 0 q fipsluks format --batch --key-file "$T/key" "${fast[@]}" "$T/w.img"
fl_assert_contains "$(cat "$T/err")" "can be read by group or others" "exposed key file warning"
chmod 0600 "$T/key"
fl_key "$T/short" "1234567"
chmod 0600 "$T/short"
image "$T/w.img"
fl_expect_exit 0 q fipsluks format --batch --key-file "$T/short" "${fast[@]}" "$T/w.img"
fl_assert_contains "$(cat "$T/err")" "passphrase is 7 bytes long" "short passphrase warning"
fl_assert_contains "$(cat "$T/err")" "shorter than 8 bytes" "short passphrase warning"
opens "$T/w.img" "$T/short"
fl_key "$T/eight" "12345678"
chmod 0600 "$T/eight"
image "$T/w.img"
fl_expect_exit 0 q fipsluks format --batch --key-file "$T/eight" "${fast[@]}" "$T/w.img"
[[ $(cat "$T/err") != *"bytes long"* ]] || fl_fail "warning for an 8-byte passphrase"
# --key-file=- reads standard input; --keyfile-offset/--keyfile-size pick bytes
image "$T/w.img"
printf 'stdin passphrase' | fipsluks format --batch --key-file=- "${fast[@]}" "$T/w.img" >/dev/null
printf 'stdin passphrase' | cryptsetup open --test-passphrase --key-file - "$T/w.img" || fl_fail "stdin key"
image "$T/w.img"
fl_expect_exit 0 fipsluks format --batch --key-file "$T/key" --keyfile-offset 8 --keyfile-size 5 "${fast[@]}" "$T/w.img"
printf 'horse' | cryptsetup open --test-passphrase --key-file - "$T/w.img" || fl_fail "--keyfile-offset/size"

# --- at a terminal: passphrase twice, and the operator confirms --------------------------------------
image "$T/tty.img"
sum=$(fl_sum "$T/tty.img")
fl_expect_exit 0 ptyrun --expect "or YES to continue: " --send "tty.img" --expect "Enter passphrase for" \
    --send "typed secret 1" --expect "Verify passphrase: " --send "typed secret 1" -- \
    fipsluks format "${fast[@]}" "$T/tty.img"
fl_assert_contains "$FL_OUT" "Type the device name (tty.img) or YES" "confirmation question"
fl_assert_contains "$FL_OUT" "formatted $T/tty.img" "formatted at a terminal"
[[ $FL_OUT != *"typed secret"* ]] || fl_fail "the passphrase was echoed"
printf 'typed secret 1' | cryptsetup open --test-passphrase --key-file - "$T/tty.img" || fl_fail "typed passphrase"
# mismatch: asked again, 3 times by default (--tries), then exit 2, nothing written
image "$T/tty.img"
mismatch=()
for i in 1 2 3; do
    mismatch+=(--expect "Enter passphrase for" --send "typed secret 1" --expect "Verify passphrase: " --send "typed secret 2")
done
fl_expect_exit 2 ptyrun --expect "or YES to continue: " --send "YES" "${mismatch[@]}" -- \
    fipsluks format "${fast[@]}" "$T/tty.img"
fl_assert_contains "$FL_OUT" "passphrases do not match" "mismatch message"
fl_assert_eq 3 "$(grep -c '^Passphrases do not match.' <<<"$FL_OUT")" "one mismatch notice per try"
unchanged "$T/tty.img" "$sum" "passphrase mismatch"
# not confirmed: exit 1, nothing written, no passphrase asked
fl_expect_exit 1 ptyrun --expect "or YES to continue: " --send "yes" -- fipsluks format "${fast[@]}" "$T/tty.img"
fl_assert_contains "$FL_OUT" "not confirmed" "declined"
[[ $FL_OUT != *"Enter passphrase"* ]] || fl_fail "passphrase asked after a declined confirmation"
unchanged "$T/tty.img" "$sum" "declined confirmation"
# the full path confirms too; --batch skips the question (not the prompt)
fl_expect_exit 0 ptyrun --expect "or YES to continue: " --send "$T/tty.img" -- \
    fipsluks format --key-file "$T/key" "${fast[@]}" "$T/tty.img"
image "$T/tty.img"
fl_expect_exit 0 ptyrun --expect "Enter passphrase for" --send "typed secret 3" --expect "Verify passphrase: " \
    --send "typed secret 3" -- fipsluks format --batch "${fast[@]}" "$T/tty.img"
[[ $FL_OUT != *"or YES"* ]] || fl_fail "--batch asked for confirmation"
# --batch does not skip the signature check at a terminal either
fl_expect_exit 5 ptyrun -- fipsluks format --batch --key-file "$T/key" "${fast[@]}" "$T/tty.img"

# --- in use: mounted, or held exclusively (root, loop devices) ----------------------------------------
image "$T/busy.img" 24M
mkfs.ext4 -q -F "$T/busy.img"
if [[ $(id -u) -ne 0 ]] || ! loop=$(losetup -f --show "$T/busy.img" 2>/dev/null); then
    echo "note: no loop devices (needs root); in-use checks skipped" >&2
    echo "format: all assertions passed"
    exit 0
fi
mkdir "$T/mnt"
fl_on_exit "umount '$T/mnt' 2>/dev/null; losetup -d $loop"
if mount "$loop" "$T/mnt" 2>/dev/null; then
    rc=0
    fipsluks format --batch --force --key-file "$T/key" "${fast[@]}" "$loop" 2>"$T/err" || rc=$?
    fl_assert_eq 5 "$rc" "mounted device"
    fl_assert_contains "$(cat "$T/err")" "mounted on $T/mnt" "mounted device message"
    rc=0
    fipsluks format --batch --force --key-file "$T/key" "${fast[@]}" "$T/busy.img" 2>"$T/err" || rc=$?
    fl_assert_eq 5 "$rc" "image of a mounted loop device"
    fl_assert_contains "$(cat "$T/err")" "backs loop device $loop, which is mounted on $T/mnt" "image message"
    umount "$T/mnt"
    # (mounting itself changed the image's ext4 superblock; no LUKS header was written)
    fl_assert_eq ext4 "$(blkid -p -o value -s TYPE "$T/busy.img")" "mounted image after the refusals"
else
    echo "note: cannot mount here; mount checks skipped" >&2
fi
# held open with O_EXCL (as device-mapper or RAID would)
sum=$(fl_sum "$T/busy.img")
python3 - "$loop" "$T/busy.img" "$T/key" <<'EOF' || fl_fail "exclusively held device was not refused"
import os, subprocess, sys
loop, img, key = sys.argv[1:]
fd = os.open(loop, os.O_RDONLY | os.O_EXCL)
for target in (loop, img):
    r = subprocess.run(["fipsluks", "format", "--batch", "--force", "--key-file", key,
                        "--pbkdf-force-iterations", "1000", target], capture_output=True, text=True)
    if r.returncode != 5 or "opened exclusively" not in r.stderr:
        sys.exit("%s: exit %d: %s" % (target, r.returncode, r.stderr))
EOF
unchanged "$T/busy.img" "$sum" "held"
# free again: a block device formats with 4096-byte sectors and opens
fl_expect_exit 0 fipsluks format --batch --force --json --key-file "$T/key" "${fast[@]}" "$loop"
fl_assert_eq 4096 "$(jq -r .sector_size <<<"$FL_OUT")" "sector size on a loop device"
opens "$loop" "$T/key"
echo "format: all assertions passed"
