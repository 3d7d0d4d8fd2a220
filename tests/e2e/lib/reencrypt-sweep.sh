# shellcheck shell=bash
# The reencrypt crash sweep, shared by test-reencrypt-sweep.sh (this machine's libcryptsetup) and
# test-reencrypt-sweep-fips.sh (the FIPS test host's). Source it after common.sh.
#
# sweep NAME TARGET -- FORMAT-ARGS... -- REENCRYPT-ARGS...
#   makes a volume (cryptsetup luksFormat FORMAT-ARGS, key files k0 and k1, 1 MiB of known data), counts
#   the write and sync calls a whole `fipsluks reencrypt REENCRYPT-ARGS` makes on TARGET (image: the
#   volume; header or data: a volume with a detached header, its header file or its data image), then, for EVERY one of those calls, kills a fresh copy there with SIGKILL: before the
#   call, and (for writes) with only half its buffer written. After each kill it runs the same command
#   again and asserts: exit 0; the volume is no longer in reencryption and scan calls it compatible; both
#   secrets open it; the data decrypts to the pattern under the new key (tests/tools/fl-data-check); and a
#   third run writes nothing ("nothing to re-encrypt"). The points run in parallel, one per core.
#   FL_SWEEP_STRIDE=K (else FL_CRASH_STRIDE) keeps every Kth call only (the sanitizer pass).
#
# Set before calling: SWEEP_RUN (a command prefix: empty, or `fips` for the FIPS test host) and
# SWEEP_CIPHER (the pattern's cipher: aes-xts-plain64 or aes-cbc-plain64).

SWEEP_DATA=$((1024 * 1024))
SWEEP_SHIM=$FL_BUILD_DIR/tests/tools/libfl-crashpoint.so
[[ -f $SWEEP_SHIM ]] || fl_fail "missing $SWEEP_SHIM"
SWEEP_RUN=${SWEEP_RUN:-}
SWEEP_CIPHER=${SWEEP_CIPHER:-aes-xts-plain64}
export FIPSLUKS_BACKUP_DIR=$T/backups

for i in 0 1; do fl_key "$T/k$i" "sweep-secret-$i"; chmod 600 "$T/k$i"; done

# sweep_point DIR MODE AT: one crash point; prints "ok" or what failed, on one line
sweep_point() {
    local dir=$1 mode=$2 at=$3 w rc out img hdr target
    w=$(mktemp -d "$dir/p.XXXXXX")
    cp --sparse=always "$dir/v.img" "$w/v.img"
    img=$w/v.img
    target=$img
    if [[ -f $dir/h.img ]]; then
        cp --sparse=always "$dir/h.img" "$w/h.img"
        hdr=(--header "$w/h.img")
        [[ $(cat "$dir/target") == header ]] && target=$w/h.img
    else
        hdr=()
    fi
    read -r -a args <"$dir/args"
    # a UUID of its own: libcryptsetup locks a reencryption by UUID, and the points run in parallel
    cryptsetup luksUUID -q --uuid "$(cat /proc/sys/kernel/random/uuid)" "${hdr[1]:-$img}" ||
        { echo "$mode $at: cannot set a UUID"; rm -rf "$w"; return; }
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_CRASH_TARGET=$target FL_CRASH_AT=$at \
        FL_CRASH_MODE=$mode LD_PRELOAD=$SWEEP_SHIM $SWEEP_RUN fipsluks reencrypt "${args[@]}" "${hdr[@]}" "$img" \
        >"$w/crash.out" 2>&1 || rc=$?
    if [[ $rc != 137 ]]; then
        echo "$mode $at: the crashed run exited $rc, not 137 (SIGKILL)"
    elif ! out=$($SWEEP_RUN fipsluks reencrypt "${args[@]}" "${hdr[@]}" "$img" 2>&1); then
        echo "$mode $at: the rerun failed: $(tr '\n' ' ' <<<"$out" | tail -c 400)"
    elif ! out=$(fl-data-check "${hdr[@]}" --length $SWEEP_DATA "$img" "$T/k0" "$T/k1" 2>&1); then
        echo "$mode $at: after the rerun: $out"
    elif ! out=$(fipsluks scan "${hdr[@]}" "$img" 2>&1); then
        echo "$mode $at: scan after the rerun: $(tr '\n' ' ' <<<"$out" | tail -c 400)"
    elif ! out=$($SWEEP_RUN fipsluks reencrypt "${args[@]}" "${hdr[@]}" "$img" 2>&1) ||
        [[ $out != *"nothing to re-encrypt"* ]]; then
        echo "$mode $at: a third run did not find the job done: $(tr '\n' ' ' <<<"$out" | tail -c 400)"
    else
        echo ok
    fi
    rm -rf "$w"
}
export -f sweep_point
export SWEEP_DATA SWEEP_SHIM SWEEP_RUN T FL_BUILD_DIR FIPSLUKS_BACKUP_DIR PATH

sweep() {
    local name=$1 target=$2 offset n points stride=${FL_SWEEP_STRIDE:-${FL_CRASH_STRIDE:-1}} bad
    local dir=$T/$name
    shift 2
    [[ $1 == -- ]] || fl_fail "sweep: usage"
    shift
    local -a format=() reenc=()
    while (($#)) && [[ $1 != -- ]]; do format+=("$1"); shift; done
    shift
    reenc=(--batch --pbkdf-force-iterations 1000 -d "$T/k0" -d "$T/k1" "$@")
    mkdir -p "$dir"
    echo "$target" >"$dir/target"
    echo "${reenc[*]}" >"$dir/args"
    truncate -s 4M "$dir/v.img"
    local hdr=()
    if [[ $target == header || $target == data ]]; then
        truncate -s 4M "$dir/h.img"
        hdr=(--header "$dir/h.img")
    fi
    local vk_bytes=64
    [[ $SWEEP_CIPHER == aes-cbc-plain64 ]] && vk_bytes=32
    head -c $vk_bytes /dev/urandom >"$dir/old.vk"
    cryptsetup luksFormat -q "${format[@]}" --volume-key-file "$dir/old.vk" --pbkdf pbkdf2 \
        --pbkdf-force-iterations 1000 --key-file "$T/k0" "${hdr[@]}" "$dir/v.img" 2>/dev/null
    cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$T/k0" \
        "${hdr[@]}" "$dir/v.img" "$T/k1"
    local meta=${hdr[1]:-$dir/v.img} sector=512
    if [[ $(cryptsetup luksDump "$meta" | awk '/^Version:/ { print $2 }') == 1 ]]; then
        offset=$(($(cryptsetup luksDump "$meta" | awk '/^Payload offset:/ { print $3 }') * 512))
    else
        offset=$(cryptsetup luksDump --dump-json-metadata "$meta" | jq -r '.segments["0"].offset')
        sector=$(cryptsetup luksDump --dump-json-metadata "$meta" | jq -r '.segments["0"].sector_size')
    fi
    truncate -s $((offset + SWEEP_DATA)) "$dir/v.img"
    fl-xts-pattern write "$dir/v.img" --offset "$offset" --length $SWEEP_DATA --key-file "$dir/old.vk" \
        --cipher "$SWEEP_CIPHER" --sector-size "$sector" >/dev/null

    # how many write and sync calls a whole run makes on the target, and which are writes
    cp --sparse=always "$dir/v.img" "$dir/count.img"
    local count_hdr=() count_target=$dir/count.img
    if [[ -f $dir/h.img ]]; then
        cp --sparse=always "$dir/h.img" "$dir/count-h.img"
        count_hdr=(--header "$dir/count-h.img")
        [[ $target == header ]] && count_target=$dir/count-h.img
    fi
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 FL_CRASH_TARGET=$count_target FL_CRASH_AT=1000000 \
        FL_CRASH_LOG=$dir/calls LD_PRELOAD=$SWEEP_SHIM $SWEEP_RUN fipsluks reencrypt "${reenc[@]}" \
        "${count_hdr[@]}" "$dir/count.img" >/dev/null
    fl-data-check "${count_hdr[@]}" --length $SWEEP_DATA "$dir/count.img" "$T/k0" "$T/k1" ||
        fl_fail "$name: the uninterrupted run"
    n=$(wc -l <"$dir/calls")
    ((n >= ($([[ $target == data ]] && echo 2 || echo 10)))) || fl_fail "$name: only $n write/sync calls on the $target: $(cat "$dir/calls")"
    # every call before it; every write torn in the middle
    points=$(awk -v s="$stride" '(NR - 1) % s == 0 { print "before", $1; if ($2 ~ /write/) print "torn", $1 }' "$dir/calls")
    printf '%s\n' "$points" | xargs -P "$(nproc)" -n 2 bash -c 'sweep_point "$0" "$1" "$2"' "$dir" \
        >"$dir/results" 2>"$dir/stderr" # (bash reports each SIGKILL there)
    bad=$(grep -v '^ok$' "$dir/results" || true)
    [[ -z $bad ]] || fl_fail "$name: $(grep -vc '^ok$' "$dir/results") of $(wc -l <"$dir/results") crash points lost or stuck the volume:
$(sort -k2 -n <<<"$bad" | head -20)"
    echo "$name: $(wc -l <"$dir/results") crash points over $n calls on the $target: every one finished with the data intact"
    rm -rf "$dir"
}
