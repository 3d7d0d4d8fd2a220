#!/usr/bin/env bash
# The directory walk has no side effects: pseudo file systems (proc, sysfs, …) are never read, not
# even when named; FIFOs and character devices in a scanned tree are never opened; -x stays on one
# file system; a file removed between the walk and the read is reported, and nothing else is lost.
. "$(dirname "$0")/lib/common.sh"

command -v strace >/dev/null || fl_skip "strace is not installed (scripts/setup installs it)"
# LeakSanitizer cannot run under ptrace (sanitizer build): no leak check in the traced runs only
traced() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" timeout 20 strace "$@"; }

# opened_for_reading TRACE PATTERN: the openat calls on paths matching PATTERN that are not O_PATH
opened_for_reading() { grep -E "openat\([^\"]*\"$2" "$1" | grep -v 'O_PATH' || true; }

# --- /proc: returns promptly, /proc/kmsg (reading it consumes the kernel log) is never opened
fl_expect_exit 0 traced -f -qq -e trace=openat -o "$T/proc.trace" fipsluks scan /proc
fl_assert_contains "$FL_OUT" "/proc: skipped (on a proc pseudo file system: not read)" "scan /proc"
# (the one /proc file scan reads on purpose is the host identity's kernel FIPS state)
fl_assert_eq "" "$(opened_for_reading "$T/proc.trace" '/proc/(kmsg|[0-9]|sys|bus|kcore)' | grep -v '"/proc/sys/crypto/fips_enabled"')" "/proc files opened"
fl_assert_eq "" "$(grep -E 'openat\(.*"/proc",.*O_DIRECTORY' "$T/proc.trace" || true)" "/proc listed"

# --- sysfs: scanning /sys/class/zram-control used to read hot_add, which creates a zram device
if [[ -d /sys/class/zram-control ]]; then
    before=$(ls /sys/block)
    fl_expect_exit 0 traced -f -qq -e trace=openat -o "$T/zram.trace" fipsluks scan --json -v /sys/class/zram-control
    fl_assert_eq "$before" "$(ls /sys/block)" "block devices after scanning /sys/class/zram-control"
    fl_assert_eq "" "$(opened_for_reading "$T/zram.trace" '/sys/')" "sysfs files opened"
    fl_assert_eq '[1,0,["/sys/class/zram-control"]]' "$(jq -c '[.summary.skipped, .summary.volumes, .skipped]' <<<"$FL_OUT")" \
        "JSON for a skipped sysfs directory"
fi
# whatever sysfs holds: nothing under /sys is opened for reading, named as a directory or as a file
fl_expect_exit 0 traced -f -qq -e trace=openat -o "$T/sys.trace" fipsluks scan /sys/kernel /sys/kernel/uevent_seqnum
fl_assert_contains "$FL_OUT" "/sys/kernel/uevent_seqnum: skipped (on a sysfs pseudo file system: not read)" "sysfs file"
fl_assert_eq "" "$(opened_for_reading "$T/sys.trace" '/sys/')" "sysfs files opened"

# --- a tree with a FIFO, a character device, a socket and a link: none of them is opened
mkdir -p "$T/tree/sub"
fl_key "$T/k" "walk-secret"
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,iter=100000,key-file=$T/k" "$T/tree/sub/v.img"
mkfifo "$T/tree/fifo"
ln -s /dev/zero "$T/tree/link-to-zero"
ln -s ../../tree/sub/v.img "$T/tree/link-to-image"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$T/tree/sock"
chardev=
if mknod "$T/tree/null" c 1 3 2>/dev/null; then chardev=yes; fi
fl_expect_exit 0 traced -f -qq -e trace=openat -o "$T/tree.trace" fipsluks scan --json "$T/tree"
fl_assert_eq "1 1" "$(jq -r '"\(.summary.volumes) \(.summary.compatible)"' <<<"$FL_OUT")" "volumes in the tree"
fl_assert_eq "$T/tree/sub/v.img" "$(jq -r '.volumes[0].path' <<<"$FL_OUT")" "the one volume"
fl_assert_eq "" "$(opened_for_reading "$T/tree.trace" "$T/tree/(fifo|sock|null|link-to)")" "special files opened"
fl_assert_eq "" "$(grep -E 'openat\(.*"/dev/zero"' "$T/tree.trace" || true)" "link to /dev/zero followed"
[[ -n $chardev ]] || echo "note: cannot mknod here; the character device case ran without a device" >&2

# a FIFO named explicitly: refused at once, not blocked on (there is no writer)
fl_expect_exit 4 timeout 20 fipsluks scan "$T/tree/fifo"
fl_assert_contains "$FL_OUT" "neither a block device nor a regular file" "explicit FIFO"

# --- -x: a tmpfs mounted inside the tree is not descended into; without -x it is
mkdir -p "$T/tree/mnt"
if mount -t tmpfs fl-walk-tmpfs "$T/tree/mnt" 2>/dev/null; then
    fl_on_exit "umount '$T/tree/mnt'"
    cp --sparse=always "$T/tree/sub/v.img" "$T/tree/mnt/inner.img"
    fl_expect_exit 0 fipsluks scan --json -x -v "$T/tree"
    fl_assert_eq 1 "$(jq -r '.summary.volumes' <<<"$FL_OUT")" "-x: volumes"
    fl_assert_eq true "$(jq -r --arg m "$T/tree/mnt" '.skipped | index($m) != null' <<<"$FL_OUT")" "-x: mount point skipped"
    fl_expect_exit 0 fipsluks scan -x "$T/tree"
    fl_assert_contains "$FL_OUT" "1 path not read" "-x: text summary"
    fl_expect_exit 0 fipsluks scan --one-file-system -v "$T/tree"
    fl_assert_contains "$FL_OUT" "$T/tree/mnt: skipped (on another file system (--one-file-system)" "-x: text"
    fl_expect_exit 0 fipsluks scan --json "$T/tree"
    fl_assert_eq 2 "$(jq -r '.summary.volumes' <<<"$FL_OUT")" "without -x: volumes"
    fl_assert_eq "$T/tree/mnt/inner.img" "$(jq -r '.volumes[0].path' <<<"$FL_OUT")" "without -x: inner image"
else
    echo "note: cannot mount a tmpfs here; -x not tested" >&2
fi
echo "scan-walk: ok"
