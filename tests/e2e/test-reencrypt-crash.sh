#!/usr/bin/env bash
# fipsluks reencrypt killed part-way and run again with the same command (every call: test-reencrypt-sweep.sh):
# while interrupted, scan names the command that resumes it; a start killed between its new keyslots leaves a
# keyslot the journal names, which the rerun removes; killed twice (during the run and during the recovery),
# with checksum and journal resilience, the third run finishes; SIGTERM (an operator's Ctrl-C) stops after the
# current step with exit 7 and the rerun finishes. The data pattern decrypts with the new volume key, both
# secrets open the volume, scan says compatible.
. "$(dirname "$0")/lib/common.sh"

/usr/bin/python3 -c 'import cryptography' 2>/dev/null || fl_skip "python3-cryptography is missing (scripts/setup)"
shim=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so
[[ -f $shim ]] || fl_fail "missing $shim"
fl_tmp_in_memory # the crashes are simulated: real fsyncs only cost time
cd "$T"
export FIPSLUKS_BACKUP_DIR=$T/backups
for i in 0 1; do fl_key k$i "crash-reencrypt-$i"; chmod 600 k$i; done
head -c 64 /dev/urandom >old.vk
DATA=$((4 * 1024 * 1024))

truncate -s 8M pristine.img
cryptsetup luksFormat -q --type luks2 --cipher aes-xts-plain64 --key-size 512 --volume-key-file old.vk \
    --hash ripemd160 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --sector-size 4096 \
    --luks2-metadata-size 16k --luks2-keyslots-size 2m --key-file k0 pristine.img
cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k0 pristine.img k1
OFFSET=$({ fipsluks scan --json pristine.img || true; } | jq -er ".volumes[0].segments[0].offset")
truncate -s $((OFFSET + DATA)) pristine.img
pattern() { fl-xts-pattern "$1" "$2" --offset "$OFFSET" --length $DATA --key-file "$3" --sector-size 4096 >/dev/null; }
pattern write pristine.img old.vk

# 256 KiB per step: 16 steps, each a header update and a data write
reenc() { fipsluks reencrypt --batch --pbkdf-force-iterations 1000 --hotzone-size 262144 -d k0 -d k1 "$@"; }

check_done() { # IMG WHAT
    local json
    json=$(fipsluks scan --json "$1") || fl_fail "$2: scan says not compatible: $json"
    fl_assert_eq "pbkdf2 sha256,pbkdf2 sha256" "$(jq -r '[.volumes[0].keyslots[] | "\(.kdf) \(.hash)"] | join(",")' <<<"$json")" "$2: keyslots"
    fl_assert_eq "sha256" "$(jq -r '[.volumes[0].digests[].hash] | join(",")' <<<"$json")" "$2: digest"
    rm -f new.vk
    cryptsetup luksDump -q --dump-volume-key --volume-key-file new.vk --key-file k1 "$1" >/dev/null ||
        fl_fail "$2: k1 does not open"
    cryptsetup open --test-passphrase --key-file k0 "$1" || fl_fail "$2: k0 does not open"
    pattern check "$1" new.vk || fl_fail "$2: data pattern lost"
}

# crash MODE N IMG: run with a crash at the Nth write/sync call; the process must die (or stop, for sigterm)
crash() {
    local rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_CRASH_TARGET=$3 FL_CRASH_AT=$2 FL_CRASH_MODE=$1 \
        LD_PRELOAD=$shim reenc "$3" >crash.out 2>crash.err || rc=$?
    echo "$rc"
}

# how many write/sync calls a whole run makes on the image
cp --sparse=always pristine.img count.img
ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_CRASH_TARGET=count.img FL_CRASH_AT=1000000 \
    FL_CRASH_LOG=$T/calls LD_PRELOAD=$shim reenc count.img >/dev/null
N=$(wc -l <calls)
((N > 40)) || fl_fail "only $N write/sync calls: the run is not split into steps ($(cat calls))"
check_done count.img "uninterrupted run"

# every call, before and torn, is test-reencrypt-sweep.sh's; here: scan while interrupted, and the cases
# that need two crashes or a signal
mid=$(awk -v n=$((N / 2)) '$1 >= n && $2 == "write" && $4 == 262144 { print $1; exit }' calls)
cp --sparse=always pristine.img v.img
fl_assert_eq 137 "$(crash before "$mid" v.img)" "crash in the middle of the data"
rc=0
out=$(fipsluks scan v.img) || rc=$?
fl_assert_eq 6 "$rc" "scan while interrupted"
fl_assert_contains "$out" "FL-REENCRYPT" "scan finding"
fl_assert_contains "$out" "fix: fipsluks reencrypt v.img (resumes it; then scan again)" "remedy"
fl_expect_exit 0 reenc v.img
check_done v.img "crash in the middle of the data"

# killed after the first new keyslot was committed, before the reencryption was initialised: the rerun removes
# that unbound keyslot (k0 opens it) and starts afresh; the result has exactly the two new keyslots
second_area=$(awk '$2 == "write" && $4 == 253952 { if (++n == 2) { print $1; exit } }' calls)
[[ -n $second_area ]] || fl_fail "no second keyslot area write: $(head -30 calls)"
cp --sparse=always pristine.img v.img
fl_assert_eq 137 "$(crash before "$second_area" v.img)" "crash between the new keyslots"
fl_assert_eq 3 "$(cryptsetup luksDump v.img | grep -cE '^  [0-9]+: luks2')" "keyslots after that crash"
fl_expect_exit 0 reenc v.img
fl_assert_contains "$FL_OUT" "removed, an unbound keyslot an interrupted start left (it opens with k0)" "leftover removed"
check_done v.img "crash between the new keyslots"

# killed twice: during the first run and while the next one recovers the interrupted area (checksum resilience
# assumes whole encryption sectors are written atomically: the recovery writes single sectors, so it is killed
# between them, never inside one)
# the first crash: before a data write (a hotzone in progress) a third of the way
data_write=$(awk -v n=$((N / 3)) '$1 >= n && $2 == "write" && $4 == 262144 { print $1; exit }' calls)
[[ -n $data_write ]] || fl_fail "no data write after call $((N / 3)): $(cat calls)"
for at in 1 6; do
    cp --sparse=always pristine.img v.img
    fl_assert_eq 137 "$(crash before "$data_write" v.img)" "first crash"
    fl_assert_eq 137 "$(crash before $at v.img)" "crash $at of the resumed run"
    fl_expect_exit 0 reenc v.img
    fl_assert_contains "$FL_OUT" "resuming an interrupted reencryption" "resume message"
    fl_assert_contains "$FL_OUT" "recovering the area an interrupted run was writing" "recovery message"
    check_done v.img "two crashes ($at)"
done

# --resilience journal survives writes torn inside a sector, also during the recovery
reenc() { fipsluks reencrypt --batch --pbkdf-force-iterations 1000 --hotzone-size 262144 --resilience journal -d k0 -d k1 "$@"; }
cp --sparse=always pristine.img count.img
rm -f calls
ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_CRASH_TARGET=count.img FL_CRASH_AT=1000000 \
    FL_CRASH_LOG=$T/calls LD_PRELOAD=$shim reenc count.img >/dev/null
N=$(wc -l <calls)
for at in $((N / 3)) $((N / 2)); do
    cp --sparse=always pristine.img v.img
    fl_assert_eq 137 "$(crash torn "$at" v.img)" "journal: first crash"
    for again in 2 6; do
        fl_assert_eq 137 "$(crash torn $again v.img)" "journal: torn crash $again of the resumed run"
    done
    fl_expect_exit 0 reenc v.img
    check_done v.img "journal: torn crashes from call $at"
done

# SIGTERM (Ctrl-C): finishes the current step, exits 7 and says how to continue; the rerun completes
cp --sparse=always pristine.img v.img
fl_assert_eq 7 "$(crash sigterm $((N / 2)) v.img)" "exit status after SIGTERM"
fl_assert_contains "$(cat crash.err)" "interrupted: finishing the current step" "SIGTERM message"
fl_assert_contains "$(cat crash.out)" "v.img: interrupted at" "interrupted line"
fl_assert_contains "$(cat crash.out)" "run the same command again to continue" "how to continue"
fl_expect_exit 0 reenc v.img
check_done v.img "after SIGTERM"
echo "reencrypt-crash: all assertions passed"
