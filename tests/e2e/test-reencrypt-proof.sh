#!/usr/bin/env bash
# fipsluks reencrypt proves the data and touches only what it made:
# - an operator's own unbound keyslot (cryptsetup luksAddKey --unbound) that a given secret opens is left
#   alone on a volume that was never interrupted (it was removed as a "leftover" before);
# - the journal token (fipsluks-reencrypt) names the keyslot ids before they exist and is gone afterwards;
# - digests of sampled plaintext sectors are taken before the first data write and checked under the new key:
#   a sampled sector changed behind fipsluks's back while a run was interrupted makes the rerun fail (exit 4,
#   "does not decrypt to what it was before"), never "FIPS-compatible";
# - a finished volume has nothing to re-encrypt: the same command again writes nothing and exits 0.
. "$(dirname "$0")/lib/common.sh"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || fl_skip "python3-cryptography is missing (scripts/setup)"
shim=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so
fl_tmp_in_memory
cd "$T"
export FIPSLUKS_BACKUP_DIR=$T/backups
fl_key k0 "proof-secret-0"
chmod 600 k0
DATA=$((1024 * 1024))
reenc() { fipsluks reencrypt --batch --pbkdf-force-iterations 1000 --hotzone-size 262144 -d k0 "$@"; }
make() {
    truncate -s 4M "$1"
    head -c 64 /dev/urandom >old.vk
    cryptsetup luksFormat -q --type luks2 --cipher aes-xts-plain64 --key-size 512 --hash ripemd160 \
        --sector-size 4096 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --luks2-metadata-size 16k \
        --luks2-keyslots-size 2m --volume-key-file old.vk --key-file k0 "$1" 2>/dev/null
    OFFSET=$(cryptsetup luksDump --dump-json-metadata "$1" | jq -r '.segments["0"].offset')
    truncate -s $((OFFSET + DATA)) "$1"
    fl-xts-pattern write "$1" --offset "$OFFSET" --length $DATA --key-file old.vk --sector-size 4096 >/dev/null
}

# the operator's unbound keyslot, opened by the same secret, stays
make u.img
cryptsetup luksAddKey -q --unbound --key-size 256 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k0 \
    u.img k0
unbound=$(cryptsetup luksDump --dump-json-metadata u.img | jq -r '.digests | to_entries[] | select(.value.segments == []) | .value.keyslots[0]')
[[ -n $unbound ]] || fl_fail "no unbound keyslot made"
fl_expect_exit 0 reenc u.img
[[ $FL_OUT != *"removed, an unbound keyslot"* ]] || fl_fail "the operator's unbound keyslot was removed: $FL_OUT"
fl_assert_contains "$FL_OUT" "data proven: 32 sectors" "the proof is reported"
json=$(cryptsetup luksDump --dump-json-metadata u.img)
fl_assert_eq "$unbound" "$(jq -r --arg k "$unbound" '.keyslots | has($k) | if . then $k else "gone" end' <<<"$json")" "unbound keyslot $unbound after the run"
fl_assert_eq 0 "$(jq '[.tokens[] | select(.type == "fipsluks-reencrypt")] | length' <<<"$json")" "no journal token left"
fl-data-check --length $DATA u.img k0 || fl_fail "the data after the run"
sum=$(fl_sum u.img)
fl_expect_exit 0 reenc u.img
fl_assert_contains "$FL_OUT" "nothing to re-encrypt, nothing was written" "the run after a finished one"
fl_assert_eq "$sum" "$(fl_sum u.img)" "a finished volume is not written again"

# interrupted after the journal and the samples, before the data: the journal names the new keyslot and
# holds the samples; a sampled sector changed behind fipsluks's back makes the rerun fail
make p.img
cp --sparse=always p.img count.img
FL_CRASH_TARGET=count.img FL_CRASH_AT=1000000 FL_CRASH_LOG=$T/calls LD_PRELOAD=$shim reenc count.img >/dev/null
data_write=$(awk '$2 == "write" && $4 == 262144 { print $1; exit }' calls)
[[ -n $data_write ]] || fl_fail "no data write: $(cat calls)"
rc=0
FL_CRASH_TARGET=p.img FL_CRASH_AT=$((data_write + 8)) LD_PRELOAD=$shim reenc p.img >/dev/null 2>&1 || rc=$?
fl_assert_eq 137 "$rc" "killed in the middle of the data"
json=$(cryptsetup luksDump --dump-json-metadata p.img)
fl_assert_eq '["1"]' "$(jq -c '.tokens[] | select(.type == "fipsluks-reencrypt") | .new_keyslots' <<<"$json")" "journal: the new keyslot"
fl_assert_eq 32 "$(jq '.tokens[] | select(.type == "fipsluks-reencrypt") | .samples.offsets | length' <<<"$json")" "journal: the samples"
# the last sampled sector (the device's last) is still old data: overwrite it with other bytes
dd if=/dev/urandom of=p.img bs=4096 seek=$(((OFFSET + DATA) / 4096 - 1)) count=1 conv=notrunc status=none
fl_expect_exit2 4 reenc p.img
fl_assert_contains "$FL_ERR" "keep the header backup $T/backups/" "names the backup"
fl_assert_contains "$FL_ERR" "does not decrypt to what it was before" "the proof fails"
fl_assert_contains "$FL_ERR" "NOT proven" "and says so"
[[ $FL_OUT != *"FIPS-compatible"* ]] || fl_fail "an unproven volume is called FIPS-compatible: $FL_OUT"

# --verify-data full: a digest of the whole plaintext before and after. A sector outside the sample (data
# sector 1: the samples are sectors 0, 8, 16, …) changed while the run was interrupted passes the sample check
# and fails the full one; an untouched run is proven whole
make f.img
fl_expect_exit 0 reenc --verify-data full f.img
fl_assert_contains "$FL_OUT" "every sector decrypts under the new key to the same bytes" "full proof reported"
make g.img
rc=0
FL_CRASH_TARGET=g.img FL_CRASH_AT=$((data_write + 8)) LD_PRELOAD=$shim reenc --verify-data full g.img >/dev/null 2>&1 || rc=$?
fl_assert_eq 137 "$rc" "full: killed in the middle of the data"
fl_assert_eq 64 "$(cryptsetup luksDump --dump-json-metadata g.img | jq -r '.tokens[] | select(.type == "fipsluks-reencrypt") | .data_sha256 | length')" "journal: the whole-data digest"
dd if=/dev/urandom of=g.img bs=4096 seek=$((OFFSET / 4096 + 1)) count=1 conv=notrunc status=none
fl_expect_exit2 4 reenc --json g.img
fl_assert_contains "$FL_ERR" "the whole plaintext differs, though the 32 sampled sectors match" "the full proof fails"
# a proof that fails is EPROTO (71), not EIO: an I/O error is something else
fl_assert_eq 71 "$(jq '.error.errno' <<<"$FL_OUT")" "--json: the errno of a failed proof"
fl_expect_exit 1 reenc --verify-data most g.img
# an IV mode the proof cannot compute (benbi) is refused before anything is written, the backup included
make l.img
fl-luks2-edit l.img --set 'segments.0.encryption="aes-xts-benbi"'
sum=$(fl_sum l.img)
rm -rf "$FIPSLUKS_BACKUP_DIR"
fl_expect_exit2 1 reenc l.img
fl_assert_contains "$FL_ERR" "aes-xts-benbi, whose sectors fipsluks cannot decrypt itself to prove the result" "benbi refused"
fl_assert_contains "$FL_ERR" "nothing was written" "benbi: nothing written"
fl_assert_eq "$sum" "$(fl_sum l.img)" "benbi: the image"
[[ ! -e $FIPSLUKS_BACKUP_DIR ]] || fl_fail "benbi: a backup was written: $(ls "$FIPSLUKS_BACKUP_DIR")"
echo "reencrypt-proof: all assertions passed"
