#!/usr/bin/env bash
# Crash safety of fipsluks migrate: kill it at every write and sync call it makes on the volume, one crash
# point per run, before the call and with only half the buffer written (torn write). After every crash the
# volume must open with each original secret, and a rerun must complete: both keyslots PBKDF2 with their
# ids, priority and secrets, no leftover keyslot or journal, scan says compatible.
# In the "before" pass an operator adds a third secret (cryptsetup luksAddKey) between the crash and the
# rerun: the rerun must never destroy that keyslot, wherever it landed.
#   FL_CRASH_STRIDE=N  exercise every Nth crash point only (the sanitizer pass uses this to save time)
. "$(dirname "$0")/lib/common.sh"

shim=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so
[[ -f $shim ]] || fl_fail "missing $shim"
STRIDE=${FL_CRASH_STRIDE:-1}
# Work in memory when we can: the crashes are simulated, and hundreds of real fsyncs only cost time.
fl_tmp_in_memory

fl_key "$T/k0" "crash-secret-zero"
fl_key "$T/k1" "crash-secret-one"
fl_key "$T/k2" "third-secret-added-later"
chmod 600 "$T/k0" "$T/k1" "$T/k2"
# argon2 with 1 MiB: every crash point costs several unlocks
fl-mkluks --slot "kdf=argon2id,mem=1024,key-file=$T/k0,priority=prefer" --slot "kdf=argon2i,mem=1024,key-file=$T/k1" "$T/pristine.img"

migrate() { fipsluks migrate --batch -d "$T/k0" -d "$T/k1" --pbkdf-force-iterations 1000 --header-backup "$1" "$2"; }

# opens_with IMG KEY: the secret opens some keyslot (on a copy: cryptsetup may repair what it loads)
opens_with() {
    cp --sparse=always "$1" "$T/probe.img"
    cryptsetup open --test-passphrase --key-file "$2" "$T/probe.img" 2>/dev/null
}

check_complete() { # IMG WHAT
    local img=$1 what=$2 json
    json=$(fipsluks scan --json "$img") || fl_fail "$what: scan says not compatible: $json"
    fl_assert_eq "0:pbkdf2:prefer 1:pbkdf2:normal" \
        "$(jq -r '[.volumes[0].keyslots[] | "\(.id):\(.kdf):\(.priority)"] | join(" ")' <<<"$json")" "$what: keyslots"
    [[ $(cryptsetup luksDump "$img") != *fipsluks-migration* ]] || fl_fail "$what: journal token left behind"
    cryptsetup open --test-passphrase --key-slot 0 --key-file "$T/k0" "$img" || fl_fail "$what: slot 0 secret"
    cryptsetup open --test-passphrase --key-slot 1 --key-file "$T/k1" "$img" || fl_fail "$what: slot 1 secret"
}

# slot_of IMG KEY: the keyslot KEY opens
slot_of() {
    cryptsetup open --test-passphrase -v --key-file "$2" "$1" 2>/dev/null | sed -n 's/^Key slot \([0-9]*\) unlocked.*/\1/p'
}

# After a rerun that followed luksAddKey of k2: three keyslots, all PBKDF2, each secret opens one, k0's
# keeps its priority, and keyslots 0 and 1 keep their secrets unless k2 took that number.
check_with_third() { # IMG WHAT
    local img=$1 what=$2 json s0 s1 s2
    json=$(fipsluks scan --json "$img") || fl_fail "$what: scan says not compatible: $json"
    fl_assert_eq 3 "$(jq '.volumes[0].keyslots | length' <<<"$json")" "$what: keyslot count"
    fl_assert_eq "pbkdf2 pbkdf2 pbkdf2" "$(jq -r '[.volumes[0].keyslots[].kdf] | join(" ")' <<<"$json")" "$what: kdfs"
    [[ $(cryptsetup luksDump "$img") != *fipsluks-migration* ]] || fl_fail "$what: journal token left behind"
    s0=$(slot_of "$img" "$T/k0") s1=$(slot_of "$img" "$T/k1") s2=$(slot_of "$img" "$T/k2")
    [[ -n $s0 && -n $s1 && -n $s2 ]] || fl_fail "$what: a secret no longer opens (k0:'$s0' k1:'$s1' k2:'$s2')"
    fl_assert_eq prefer "$(jq -r ".volumes[0].keyslots[] | select(.id == $s0) | .priority" <<<"$json")" "$what: k0 priority"
    [[ $s2 == 0 || $s0 == 0 ]] || fl_fail "$what: k0 moved from keyslot 0 to $s0"
    [[ $s2 == 1 || $s1 == 1 ]] || fl_fail "$what: k1 moved from keyslot 1 to $s1"
}

total=0
for mode in before torn; do
    i=1
    while :; do
        cp --sparse=always "$T/pristine.img" "$T/v.img"
        rc=0
        ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 \
            FL_CRASH_TARGET=$T/v.img FL_CRASH_AT=$i FL_CRASH_MODE=$mode LD_PRELOAD=$shim \
            migrate "$T/b-$mode-$i" "$T/v.img" >/dev/null 2>&1 || rc=$?
        if [[ $rc -eq 0 ]]; then
            check_complete "$T/v.img" "$mode: run without reaching crash point $i"
            break
        fi
        [[ $rc -eq 137 ]] || fl_fail "$mode crash point $i: migrate exited $rc instead of being killed"
        total=$((total + 1))
        opens_with "$T/v.img" "$T/k0" || fl_fail "$mode crash point $i: secret 0 no longer opens the volume"
        opens_with "$T/v.img" "$T/k1" || fl_fail "$mode crash point $i: secret 1 no longer opens the volume"
        if [[ $mode == before ]]; then
            cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$T/k0" "$T/v.img" "$T/k2" ||
                fl_fail "$mode crash point $i: luksAddKey failed"
        fi
        migrate "$T/r-$mode-$i" "$T/v.img" >"$T/rerun.out" 2>&1 || fl_fail "$mode crash point $i: rerun failed: $(cat "$T/rerun.out")"
        if [[ $mode == before ]]; then
            check_with_third "$T/v.img" "$mode crash point $i + luksAddKey, after the rerun"
        else
            check_complete "$T/v.img" "$mode crash point $i, after the rerun"
        fi
        i=$((i + STRIDE))
    done
    echo "$mode: ran to completion at crash point $i"
done
((total * STRIDE > 60)) || fl_fail "only $total crash points exercised"

# SIGTERM in the middle of the first conversion's header writes: that conversion completes, the
# second does not start, exit 7 with "interrupted"; a rerun finishes.
cp --sparse=always "$T/pristine.img" "$T/v.img"
rc=0
ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_CRASH_TARGET=$T/v.img FL_CRASH_AT=6 FL_CRASH_MODE=sigterm \
    LD_PRELOAD=$shim fipsluks migrate --json --batch -d "$T/k0" -d "$T/k1" --pbkdf-force-iterations 1000 \
    --header-backup "$T/sig.bak" "$T/v.img" >"$T/sig.json" 2>"$T/sig.err" || rc=$?
fl_assert_eq 7 "$rc" "exit code after SIGTERM"
fl_assert_contains "$(cat "$T/sig.err")" "interrupted: finishing the current step (the volume is safe), then stopping" "SIGTERM message"
fl_assert_eq "true 0:converted 1:interrupted" \
    "$(jq -r '"\(.interrupted) \([.keyslots[] | "\(.id):\(.status)"] | join(" "))"' "$T/sig.json")" "SIGTERM report"
fl_assert_eq "0:pbkdf2 1:argon2i" "$(fipsluks scan --json "$T/v.img" | jq -r '[.volumes[0].keyslots[] | "\(.id):\(.kdf)"] | join(" ")')" "after SIGTERM"
[[ $(cryptsetup luksDump "$T/v.img") != *fipsluks-migration* ]] || fl_fail "journal left after SIGTERM"
migrate "$T/sig2.bak" "$T/v.img" >/dev/null
check_complete "$T/v.img" "rerun after SIGTERM"
echo "migrate-crash: $total crash points exercised (stride $STRIDE), every one recovered"
