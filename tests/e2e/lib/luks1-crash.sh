# shellcheck shell=bash
# The LUKS1 → LUKS2 conversion killed at every write and sync call it makes on the volume, before the call and
# with half its buffer written (torn), for `fipsluks migrate --convert-luks1` and `fipsluks reencrypt`; after each
# crash the same command is run again and must finish: exit 0, every secret opens, the data pattern decrypts with
# the volume key it should have (migrate: the old one; reencrypt: the new one).
# Sourced after common.sh by test-luks1-convert-crash.sh (this machine's libcryptsetup) and
# test-luks1-convert-crash-fips.sh (the FIPS test host's): each defines `lib CMD…`, which runs CMD with the
# libcryptsetup under test (and its cryptsetup first on PATH).
#   FL_CRASH_STRIDE=N  exercise every Nth crash point only (the sanitizer pass uses this to save time)
#   LUKS1_CRASH_MORE=0 the sweep and the refusal only (the FIPS host: its process start-up makes each run slower)
STRIDE=${FL_CRASH_STRIDE:-1}

/usr/bin/python3 -c 'import cryptography' 2>/dev/null || fl_skip "python3-cryptography is missing (scripts/setup)"
shim=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so
[[ -f $shim ]] || fl_fail "missing $shim"
fl_tmp_in_memory # the crashes are simulated: real fsyncs only cost time
cd "$T"
export FIPSLUKS_BACKUP_DIR=$T/backups
for i in 0 1; do fl_key k$i "luks1-crash-secret-$i"; chmod 600 k$i; done
fl_key wrong "not-a-secret-of-this-volume"
chmod 600 wrong
head -c 64 /dev/urandom >old.vk
DATA=$((1024 * 1024))

# LUKS1, sha256, PBKDF2 (1000 iterations): FIPS-compatible as it is, so migrate's only writes are the conversion;
# the FIPS host's libcryptsetup opens it too
truncate -s 4M pristine.img
cryptsetup luksFormat -q --type luks1 --cipher aes-xts-plain64 --key-size 512 --hash sha256 \
    --pbkdf-force-iterations 1000 --volume-key-file old.vk --key-file k0 pristine.img
cryptsetup luksAddKey -q --pbkdf-force-iterations 1000 --key-file k0 pristine.img k1
OFFSET=$(($(cryptsetup luksDump pristine.img | sed -n 's/^Payload offset:[[:space:]]*//p') * 512))
truncate -s $((OFFSET + DATA)) pristine.img
pattern() { fl-xts-pattern "$1" "$2" --offset "$OFFSET" --length $DATA --key-file "$3" >/dev/null; }
pattern write pristine.img old.vk

# the commands, by name (run VERB)
migrate=(fipsluks migrate --batch --convert-luks1 -d k0 -d k1 --pbkdf-force-iterations 1000)
reenc=(fipsluks reencrypt --batch --pbkdf-force-iterations 1000 -d k0 -d k1)
named=("${migrate[@]}" --header-backup named.bak)

# run VERB MODE N IMG [LOG]: command VERB on IMG with libfl-crashpoint (crash at call N; 0: never); its exit status
run() {
    local -n cmd=$1
    local rc=0
    lib env ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" FL_CRASH_TARGET="$4" FL_CRASH_AT="$3" \
        FL_CRASH_MODE="$2" FL_CRASH_LOG="${5:-}" LD_PRELOAD="$shim" "${cmd[@]}" "$4" >crash.out 2>crash.err || rc=$?
    echo "$rc"
}

opens() { cryptsetup open --test-passphrase --key-file "$2" "$1" 2>/dev/null; }

# check_done VERB IMG WHAT: LUKS2, both secrets open (here and with the library under test), the data decrypts
check_done() {
    local key=old.vk
    [[ $(cryptsetup luksDump "$2") == *"Version:       	2"* ]] || fl_fail "$3: not LUKS2"
    opens "$2" k0 || fl_fail "$3: k0 does not open"
    opens "$2" k1 || fl_fail "$3: k1 does not open"
    lib cryptsetup open --test-passphrase --disable-locks --key-file k1 "$2" 2>/dev/null ||
        fl_fail "$3: k1 does not open with the libcryptsetup under test"
    if [[ $1 == reenc ]]; then
        rm -f new.vk
        cryptsetup luksDump -q --dump-volume-key --volume-key-file new.vk --key-file k1 "$2" >/dev/null ||
            fl_fail "$3: cannot read the new volume key"
        key=new.vk
    fi
    pattern check "$2" "$key" || fl_fail "$3: the data pattern does not decrypt with $key"
}

# The calls of an uninterrupted conversion: migrate's whole run (nothing else to do on this volume)
cp --sparse=always pristine.img count.img
rm -rf backups
fl_assert_eq 0 "$(run migrate before 0 count.img "$T/calls.migrate")" "uninterrupted migrate --convert-luks1"
check_done migrate count.img "uninterrupted migrate"
N=$(wc -l <calls.migrate)
((N >= 6)) || fl_fail "only $N write/sync calls in the conversion: $(cat calls.migrate)"
# reencrypt converts first, with the same calls, then starts the LUKS2 reencryption (the coordinator's sweep)
cp --sparse=always pristine.img count.img
rm -rf backups
fl_assert_eq 0 "$(run reenc before 0 count.img "$T/calls.reenc")" "uninterrupted reencrypt"
check_done reenc count.img "uninterrupted reencrypt"
fl_assert_eq "$(cut -d' ' -f2- calls.migrate)" "$(head -n "$N" calls.reenc | cut -d' ' -f2-)" \
    "the first $N calls of reencrypt are the conversion's"

# sweep VERB: a crash at every call of the conversion, before it and torn, then the same command again
sweep() {
    local verb=$1 mode at what rc restored=0 backups b
    for mode in before torn; do
        for ((at = 1; at <= N; at += STRIDE)); do
            what="$verb, $mode crash at call $at of $N"
            cp --sparse=always pristine.img v.img
            rm -rf backups
            fl_assert_eq 137 "$(run "$verb" "$mode" "$at" v.img)" "$what: exit status (SIGKILL)"
            cut_short=0
            opens v.img k0 || cut_short=1
            rc=$(run "$verb" before 0 v.img)
            [[ $rc == 0 ]] || fl_fail "$what: the rerun exited $rc: $(cat crash.err)"
            if ((cut_short)); then
                restored=$((restored + 1))
                fl_assert_contains "$(cat crash.out)" "was cut short" "$what: the rerun says what it put back"
            fi
            check_done "$verb" v.img "$what"
            # one LUKS1 backup for the conversion: the rerun reuses it (a rerun of reencrypt that finds the
            # conversion done backs up the LUKS2 header before its own first write)
            backups=0
            for b in backups/*.luksheader; do
                cryptsetup isLuks --type luks1 "$b" && backups=$((backups + 1))
            done
            fl_assert_eq 1 "$backups" "$what: LUKS1 header backups"
        done
    done
    # the crashes that matter: those that left a volume no secret opens
    ((STRIDE > 1 || restored >= 4)) || fl_fail "$verb: only $restored crash points left a volume that needed its backup"
    echo "$verb: $((2 * N)) crash points (stride $STRIDE), $restored of them put back from the backup"
}
sweep migrate
sweep reenc

# cut short where no secret opens it (the keyslot material moved), for the checks below
cut_short() { # IMG
    cp --sparse=always pristine.img "$1"
    rm -rf backups
    fl_assert_eq 137 "$(run migrate before 3 "$1")" "crash before the LUKS2 header"
    (! opens "$1" k0) || fl_fail "no keyslot should open after the crash"
}

# no secret opens the backup: nothing is written; the message names the backup and the command
cut_short v.img
sum=$(fl_sum v.img)
bak=$(find "$T/backups" -name '*.luksheader')
[[ -n $bak ]] || fl_fail "no backup after the crash"
fl_expect_exit2 2 lib fipsluks migrate --batch --convert-luks1 -d wrong v.img
fl_assert_contains "$FL_ERR" "was cut short" "wrong secret: what was found"
fl_assert_contains "$FL_ERR" "No given secret opens the header backup" "wrong secret: why"
fl_assert_contains "$FL_ERR" "cryptsetup luksHeaderRestore --header-backup-file $bak v.img" "wrong secret: the command"
fl_assert_contains "$FL_ERR" "nothing was written" "wrong secret: nothing written"
fl_assert_eq "$sum" "$(fl_sum v.img)" "wrong secret: the image"
# one right and one wrong: the backup is proven, but a secret that opens nothing would stop the run after the
# restore; refused before it
fl_expect_exit2 2 lib fipsluks migrate --batch --convert-luks1 -d k0 -d wrong v.img
fl_assert_contains "$FL_ERR" "key file 'wrong' opens none of its keyslots" "a wrong secret among right ones"
fl_assert_contains "$FL_ERR" "nothing was written" "a wrong secret among right ones: nothing written"
fl_assert_eq "$sum" "$(fl_sum v.img)" "a wrong secret among right ones: the image"
fl_expect_exit2 2 lib fipsluks reencrypt --batch -d wrong v.img
fl_assert_contains "$FL_ERR" "cryptsetup luksHeaderRestore --header-backup-file $bak v.img" "reencrypt, wrong secret"
fl_assert_eq "$sum" "$(fl_sum v.img)" "reencrypt, wrong secret: the image"

((${LUKS1_CRASH_MORE:-1})) || return 0

# killed again while the rerun puts the backup back (its LUKS1 header, the sync, the keyslot material): the
# next run still proves and restores it
for at in 1 2 3; do
    for mode in before torn; do
        cut_short v.img
        fl_assert_eq 137 "$(run migrate "$mode" "$at" v.img)" "second crash ($mode at $at)"
        fl_assert_eq 0 "$(run migrate before 0 v.img)" "run after a crash in the restore ($mode at $at): $(cat crash.err)"
        check_done migrate v.img "crash in the restore ($mode at $at)"
    done
done

# never another volume's: a backup of a volume with the same UUID and secrets but another header (other salts,
# another volume key) is not this one's, nor is a backup of this volume from before a keyslot was removed;
# neither is written over it, whether its LUKS1 header is still there (crash before call 3) or half overwritten
# by the LUKS2 one (before call 4)
uuid=$(cryptsetup luksUUID pristine.img)
truncate -s 4M twin.img
cryptsetup luksFormat -q --type luks1 --uuid "$uuid" --hash sha256 --pbkdf-force-iterations 1000 --key-file k0 twin.img
cryptsetup luksAddKey -q --pbkdf-force-iterations 1000 --key-file k0 twin.img k1
cp --sparse=always pristine.img older.img
cryptsetup luksKillSlot -q --key-file k0 older.img 1
for at in 3 4; do
    cp --sparse=always pristine.img v.img
    rm -rf backups
    fl_assert_eq 137 "$(run migrate before "$at" v.img)" "crash before call $at"
    sum=$(fl_sum v.img)
    own=$(find backups -name '*.luksheader')
    mv "$own" saved.luksheader
    head -c "$OFFSET" twin.img >"backups/$uuid-20000101T000000Z.luksheader"
    head -c "$OFFSET" older.img >"backups/$uuid-20000102T000000Z.luksheader"
    rc=$(run migrate before 0 v.img)
    [[ $rc == 2 || $rc == 4 ]] || fl_fail "others' backups, crash before call $at: exit $rc, expected 2 or 4"
    [[ $(cat crash.out crash.err) != *"put back"* ]] || fl_fail "others' backups, crash before call $at: put back"
    fl_assert_eq "$sum" "$(fl_sum v.img)" "others' backups, crash before call $at: the image"
    # with its own backup back, the same command finishes
    mv saved.luksheader "$own"
    fl_assert_eq 0 "$(run migrate before 0 v.img)" "own backup back ($at): $(cat crash.err)"
    check_done migrate v.img "own backup back ($at)"
done

# --header-backup FILE: the same command again finds FILE (the backup it wrote) and proves it like any other
cp --sparse=always pristine.img v.img
rm -rf backups named.bak
fl_assert_eq 137 "$(run named before 3 v.img)" "crash with --header-backup"
fl_assert_eq 0 "$(run named before 0 v.img)" "rerun with --header-backup: $(cat crash.err)"
fl_assert_contains "$(cat crash.out)" "from the backup named.bak" "--header-backup: put back from FILE"
check_done migrate v.img "--header-backup"
[[ -z $(find backups -type f 2>/dev/null) ]] || fl_fail "--header-backup: a backup in the directory too: $(ls backups)"
