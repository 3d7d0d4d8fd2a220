#!/usr/bin/env bash
# A target that disappears mid-scan: a clear error for it, every other volume still reported, nothing
# written. strace holds the scan at the moment it opens the target (-P PATH, delay_enter) while the
# test removes the file or detaches the loop device for real.
. "$(dirname "$0")/lib/common.sh"

command -v strace >/dev/null || fl_skip "strace is not installed (scripts/setup installs it)"
# LeakSanitizer cannot run under ptrace (sanitizer build): no leak check in the traced runs only
traced() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 20 strace "$@"; }

fl_key "$T/k" "vanish-secret"
mkdir "$T/tree"
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,iter=200000,key-file=$T/k" "$T/tree/a.img"
cp --sparse=always "$T/tree/a.img" "$T/tree/b.img"
cp --sparse=always "$T/tree/a.img" "$T/tree/c.img"
sum_a=$(fl_sum "$T/tree/a.img")

# held_scan NTH PATH CMD…: run scan with its NTH open of PATH (HOLD=pread64: its NTH read) held for 3 s;
# output in $T/out, exit in $T/rc
held_scan() {
    local nth=$1 path=$2 call=${HOLD:-openat}
    shift 2
    (
        rc=0
        traced -f -qq -o /dev/null -P "$path" -e trace="$call" -e inject="$call":delay_enter=3000000:when="$nth" \
            fipsluks scan "$@" >"$T/out" 2>"$T/err" || rc=$?
        echo "$rc" >"$T/rc"
    ) &
    HELD=$!
    sleep 1
}

# 1. removed after the walk listed it, before it was probed: skipped, the others scanned (exit 0)
held_scan 1 "$T/tree/b.img" --json -v "$T/tree"
rm "$T/tree/b.img"
wait "$HELD"
fl_assert_eq 0 "$(cat "$T/rc")" "exit when a listed file was removed"
fl_assert_eq "2 2 0" "$(jq -r '.summary | "\(.volumes) \(.compatible) \(.unreadable)"' "$T/out")" "others scanned"
fl_assert_eq '["'"$T/tree/a.img"'","'"$T/tree/c.img"'"]' "$(jq -c '[.volumes[].path]' "$T/out")" "volumes"
fl_assert_eq '["'"$T/tree/b.img"'"]' "$(jq -c '.skipped' "$T/out")" "removed file listed as skipped"
fl_expect_exit 0 fipsluks scan "$T/tree"
cp --sparse=always "$T/tree/a.img" "$T/tree/b.img"
held_scan 1 "$T/tree/b.img" "$T/tree"
rm "$T/tree/b.img"
wait "$HELD"
fl_assert_contains "$(cat "$T/out")" "2 volumes: 2 FIPS-compatible, 0 not compatible, 0 unreadable (1 path not read: pseudo or other file systems, or removed during the scan)" "text summary"

# 2. removed after it was opened (its one open by name is also the probe): read through the
#    descriptor, so it is judged as it was, whole; nothing else changes (exit 0)
cp --sparse=always "$T/tree/a.img" "$T/tree/b.img"
HOLD=pread64 held_scan 1 "$T/tree/b.img" --json "$T/tree"
rm "$T/tree/b.img"
wait "$HELD"
fl_assert_eq 0 "$(cat "$T/rc")" "exit when a file was removed while being read"
fl_assert_eq "3 3 0" "$(jq -r '.summary | "\(.volumes) \(.compatible) \(.unreadable)"' "$T/out")" "summary"
fl_assert_eq true "$(jq -r --arg p "$T/tree/b.img" '.volumes[] | select(.path == $p) | .fips_compatible' "$T/out")" \
    "the removed file, read through its descriptor"
fl_assert_eq "$sum_a" "$(fl_sum "$T/tree/a.img")" "a.img unchanged"

# 2b. opened ahead: with --jobs 1 the scan opens the target two places after the one it reads (a,
#     b, c: c while it reads a). c removed while a's read is held: c was open already, so it is read
#     whole (without the open-ahead, it would be "removed during the scan")
cp --sparse=always "$T/tree/a.img" "$T/tree/b.img"
HOLD=pread64 held_scan 1 "$T/tree/a.img" --jobs 1 --json -v "$T/tree"
rm "$T/tree/c.img"
wait "$HELD"
fl_assert_eq 0 "$(cat "$T/rc")" "exit when a file opened ahead was removed"
fl_assert_eq "3 3 0" "$(jq -r '.summary | "\(.volumes) \(.compatible) \(.unreadable)"' "$T/out")" "summary (opened ahead)"
fl_assert_eq '[]' "$(jq -c '.skipped' "$T/out")" "nothing skipped (opened ahead)"
cp --sparse=always "$T/tree/a.img" "$T/tree/c.img"

# 3. a loop device detached while it is scanned: "device not present", the other target still scanned
if [[ $(id -u) -eq 0 ]] && command -v losetup >/dev/null && [[ -e /dev/loop-control ]] &&
    L=$(losetup -r -f --show "$T/tree/c.img" 2>/dev/null); then
    fl_on_exit "fl_loop_detach $L $T/tree/c.img"
    held_scan 1 "$L" --json "$L" "$T/tree/a.img"
    losetup -d "$L"
    wait "$HELD"
    fl_assert_eq 4 "$(cat "$T/rc")" "exit when a loop device was detached"
    fl_assert_eq "device not present (vanished?)" "$(jq -r --arg p "$L" '.volumes[] | select(.path == $p) | .error' "$T/out")" \
        "error for the detached loop device"
    fl_assert_eq true "$(jq -r --arg p "$T/tree/a.img" '.volumes[] | select(.path == $p) | .fips_compatible' "$T/out")" \
        "the other target"
else
    echo "note: no loop devices here; the detached-device case did not run" >&2
fi
echo "scan-vanish: ok"
