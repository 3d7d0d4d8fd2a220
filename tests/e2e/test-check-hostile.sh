#!/usr/bin/env bash
# fipsluks check --root on hostile trees: a FIFO, a socket or a device where a config file is expected
# (reported, never opened blocking), include cycles and repeats found by device and inode, the caps on
# files and bytes, 256 KiB files parsed in linear time, and strings from config files and headers
# escaped in text and valid UTF-8 in JSON. Every run has a timeout: a hang is a failure, not a stall.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/host.sh"

GEN=$FL_SOURCE_DIR/tests/e2e/lib/hostile-conf.py
J=$T/check.json
CASE=

fl_host_images "$T/img"
fl_host_compliant "$T/ok" "$T/img"

# variant NAME: a fresh copy of the compliant host in $R
variant() {
    CASE=$1
    R=$T/$1
    cp -a "$T/ok" "$R"
}
# check [SECONDS]: fipsluks check --json --root $R into $J within SECONDS (default 10); exit 0 or 6
check() {
    local rc=0
    timeout "${1:-10}" fipsluks check --json --root "$R" >"$J" || rc=$?
    [[ $rc -ne 124 ]] || fl_fail "$CASE: fipsluks check did not finish within ${1:-10} s"
    [[ $rc -eq 0 || $rc -eq 6 ]] || fl_fail "$CASE: exit $rc"
    python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read())' "$J" ||
        fl_fail "$CASE: the report is not valid JSON in valid UTF-8"
}
# mksocket PATH: a UNIX socket at PATH (the file stays after python exits; bound by its name in its
# directory, as a socket path is limited to 107 bytes)
mksocket() {
    python3 -c 'import os, socket, sys
os.chdir(os.path.dirname(sys.argv[1]))
socket.socket(socket.AF_UNIX).bind(os.path.basename(sys.argv[1]))' "$1"
}

# --- not a regular file ---------------------------------------------------------------------------
variant sshd-fifo
rm "$R/etc/ssh/sshd_config"
mkfifo "$R/etc/ssh/sshd_config"
check
expect sshd fail
has_message sshd "/etc/ssh/sshd_config is not a regular file: not read"
has_evidence sshd "/etc/ssh/sshd_config: is a FIFO"
has_remedy sshd "make /etc/ssh/sshd_config a regular file"

variant openssl-fifo
rm "$R/etc/ssl/openssl.cnf"
mkfifo "$R/etc/ssl/openssl.cnf"
check
expect openssl-config fail
has_message openssl-config "/etc/ssl/openssl.cnf cannot be read: is a FIFO"
has_evidence openssl-config "/etc/ssl/openssl.cnf: is a FIFO"
expect sshd pass

# a FIFO reached through a link inside the root is just as much a FIFO
variant openssl-fifo-link
mv "$R/etc/ssl/openssl.cnf" "$R/etc/ssl/real.cnf"
mkfifo "$R/etc/ssl/pipe"
ln -s /etc/ssl/pipe "$R/etc/ssl/openssl.cnf"
check
has_evidence openssl-config "/etc/ssl/openssl.cnf: is a FIFO"

variant fipsmodule-fifo
rm "$R/etc/ssl/fipsmodule.cnf"
mkfifo "$R/etc/ssl/fipsmodule.cnf"
check
expect openssl-config fail
has_evidence openssl-config "/etc/ssl/fipsmodule.cnf: .include failed: is a FIFO"
has_evidence openssl-config "/etc/ssl/fipsmodule.cnf: included, but is a FIFO"

variant sshd-socket
mksocket "$R/etc/ssh/sshd_config.d/20-socket.conf"
check
expect sshd warn
has_evidence sshd "/etc/ssh/sshd_config.d/20-socket.conf: is a socket"
has_message sshd "not every file was read"

variant openssl-socket
rm "$R/etc/ssl/openssl.cnf"
mksocket "$R/etc/ssl/openssl.cnf"
check
has_evidence openssl-config "/etc/ssl/openssl.cnf: is a socket"

if [[ $(id -u) -eq 0 ]]; then
    # a character device (like /dev/zero: reading it would never end) is never opened
    variant sshd-device
    mknod "$R/etc/ssh/sshd_config.d/30-zero.conf" c 1 5
    check
    expect sshd warn
    has_evidence sshd "/etc/ssh/sshd_config.d/30-zero.conf: is a character device"
else
    echo "note: not root: the device case is not run" >&2
fi

variant proc-fifo
rm "$R/proc/cmdline"
mkfifo "$R/proc/cmdline"
check
has_evidence kernel "/proc/cmdline: is not a regular file"

variant sshd-directory
mkdir "$R/etc/ssh/sshd_config.d/40-dir.conf"
check
expect sshd warn
has_evidence sshd "/etc/ssh/sshd_config.d/40-dir.conf: is a directory"

# --- include cycles and repeats, by device and inode ----------------------------------------------
# Each level names the same file by a longer path: by path text this never repeats (2^16 files).
variant openssl-cycle
sed -i '1i .include ./openssl.cnf\n.include .//openssl.cnf' "$R/etc/ssl/openssl.cnf"
check
only_ok="kernel system-fips openssl-module openssl-config sshd ssh-client luks"
for id in $only_ok; do expect "$id" pass; done
has_evidence openssl-config "/etc/ssl/./openssl.cnf: .include: an include cycle"
has_evidence openssl-config "/etc/ssl/.//openssl.cnf: .include: an include cycle"
fl_assert_eq 3 "$(evidence openssl-config | grep -c 'included\|\.include')" "$CASE: one line per include"

# three Include lines of a file that includes itself three times (3^16 reads by path)
variant sshd-cycle
printf 'Include /etc/ssh/loop.conf\nInclude /etc/ssh/loop.conf\nInclude /etc/ssh/loop.conf\n' >>"$R/etc/ssh/sshd_config"
printf 'Include loop.conf\nInclude loop.conf\nInclude /etc/ssh/./loop.conf\nCiphers aes128-ctr\n' >"$R/etc/ssh/loop.conf"
check
expect sshd pass
has_evidence sshd "read /etc/ssh/loop.conf"
has_evidence sshd "/etc/ssh/loop.conf: an include cycle"
has_evidence sshd "/etc/ssh/loop.conf: already read (same device and inode); not read again"
fl_assert_eq 1 "$(evidence sshd | grep -c '^read /etc/ssh/loop.conf$')" "$CASE: loop.conf read once"

# a hard link is the same file under another name
variant sshd-hardlink
ln "$R/etc/ssh/sshd_config.d/10-fips.conf" "$R/etc/ssh/sshd_config.d/11-again.conf"
check
has_evidence sshd "/etc/ssh/sshd_config.d/11-again.conf: already read (same device and inode)"

# --- caps ---------------------------------------------------------------------------------------
variant openssl-many-files
mkdir "$R/etc/ssl/many"
for i in $(seq 1 300); do echo "k$i = v" >"$R/etc/ssl/many/f$i.cnf"; done
echo '.include /etc/ssl/many' >>"$R/etc/ssl/openssl.cnf"
check
expect openssl-config warn
has_evidence openssl-config ".include failed: not read: 256 files were already read"
has_evidence openssl-config "more included files not read: the limit of 256 files is reached"
has_remedy openssl-config "includes more than fipsluks reads"

variant sshd-many-bytes
for i in 1 2 3 4 5; do
    head -c $((1000 * 1000)) /dev/zero | tr '\0' '#' | fold -w 100 >"$R/etc/ssh/sshd_config.d/5$i-big.conf"
done
check
expect sshd warn
has_evidence sshd "/etc/ssh/sshd_config.d/55-big.conf: not read: the files read before it already hold 4 MiB"

variant sshd-too-large
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$R/etc/ssh/sshd_config.d/60-huge.conf"
check
expect sshd warn
has_evidence sshd "/etc/ssh/sshd_config.d/60-huge.conf: larger than 1 MiB: not read"

# --- 256 KiB files: linear time (a generous bound: this proves the shape, not the speed) ------------
for c in openssl-section openssl-continued openssl-sections sshd-lines sshd-match sshd-long-match; do
    variant "big-$c"
    python3 "$GEN" "$c" "$R"
    check 5
    case $c in
    openssl-*) expect openssl-config fail ;;
    *) expect sshd fail ;;
    esac
done
CASE=big-sshd-match
R=$T/big-sshd-match
check 5
fl_assert_eq 65 "$(remedy sshd | wc -l)" "$CASE: remedies are capped"
has_remedy sshd "(more remedies not shown"

# --- variables, as OpenSSL expands them (issue 13) -------------------------------------------------
variant openssl-vars
sed -i '1i ssldir = /etc/ssl\nfipsname = fips_sect' "$R/etc/ssl/openssl.cnf"
# shellcheck disable=SC2016
sed -i 's|^\.include /etc/ssl/fipsmodule.cnf$|.include ${ssldir}/fipsmodule.cnf|; s|^fips = fips_sect$|fips = $fipsname|' \
    "$R/etc/ssl/openssl.cnf"
# shellcheck disable=SC2016
grep -q '^fips = \$fipsname$' "$R/etc/ssl/openssl.cnf" || fl_fail "$CASE: fixture not rewritten"
check
expect openssl-config pass
has_evidence openssl-config "/etc/ssl/fipsmodule.cnf: included"
has_evidence openssl-config "[fips_sect] activate = 1"

# a variable with no value: OpenSSL refuses to load the whole file
variant openssl-var-missing
# shellcheck disable=SC2016
sed -i 's|^fips = fips_sect$|fips = $nope|' "$R/etc/ssl/openssl.cnf"
check
expect openssl-config fail
has_message openssl-config "OpenSSL cannot load /etc/ssl/openssl.cnf (/etc/ssl/openssl.cnf:"
has_message openssl-config "\$nope has no value): nothing in it applies"

# --- escaping: C1 controls and invalid UTF-8 from a config file and from a header ---------------------
variant escaping
printf 'Ciphers chacha20-poly1305@openssh.com,\xc2\x9b31mred\xff\xfe\x1b[0m\n' >"$R/etc/ssh/sshd_config.d/05-bad.conf"
check
expect sshd fail
has_evidence sshd "05-bad.conf:1: Ciphers chacha20-poly1305@openssh.com,"$'\xc2\x9b'"31mred"$'\xef\xbf\xbd\xef\xbf\xbd\e'"[0m"
rc=0
timeout 10 fipsluks check --root "$R" >"$T/check.txt" || rc=$?
fl_assert_eq 6 "$rc" "$CASE: text exit code"
grep -qF 'chacha20-poly1305@openssh.com,\xc2\x9b31mred\xff\xfe\x1b[0m' "$T/check.txt" ||
    fl_fail "$CASE: the line is not escaped in the text report: $(grep 05-bad "$T/check.txt")"
if LC_ALL=C grep -q $'\xc2\x9b\|\xff\|\x1b' "$T/check.txt"; then fl_fail "$CASE: raw control bytes in the text report"; fi

# a newline in a file name neither starts an evidence line nor a "fix:" line of its own
variant newline-name
printf 'Match all\nCiphers arcfour\n' >"$R/etc/ssh/sshd_config.d/20-evil"$'\n'"FAIL kernel fake.conf"
check
expect sshd fail
has_remedy sshd '/etc/ssh/sshd_config.d/20-evil\x0aFAIL kernel fake.conf line 2: replace with'
if remedy sshd | grep -q '^FAIL kernel fake'; then fl_fail "$CASE: a remedy line was split at the newline"; fi
rc=0
timeout 10 fipsluks check --root "$R" >"$T/check.txt" || rc=$?
fl_assert_eq 6 "$rc" "$CASE: text exit code"
grep -qF 'read /etc/ssh/sshd_config.d/20-evil\x0aFAIL kernel fake.conf' "$T/check.txt" ||
    fl_fail "$CASE: evidence not escaped: $(grep -a evil "$T/check.txt")"
grep -qF 'fix: /etc/ssh/sshd_config.d/20-evil\x0aFAIL kernel fake.conf line 2' "$T/check.txt" ||
    fl_fail "$CASE: remedy not escaped: $(grep -a evil "$T/check.txt")"
if grep -q '^ *FAIL kernel fake' "$T/check.txt"; then fl_fail "$CASE: a line starts with the file name's second half"; fi

CASE=header-label
fl-mkluks --size 20 --label $'lab\xc2\x9b31m\xc2\x85el\xff' --slot "key-file=$T/img/key,kdf=pbkdf2,hash=sha256" "$T/label.img"
rc=0
fipsluks scan "$T/label.img" >"$T/scan.txt" || rc=$?
fl_assert_eq 0 "$rc" "$CASE: scan exit code"
grep -qF 'label lab\xc2\x9b31m\xc2\x85el\xff' "$T/scan.txt" || fl_fail "$CASE: label not escaped: $(cat "$T/scan.txt")"
if LC_ALL=C grep -q $'\xc2\x9b\|\xc2\x85\|\xff' "$T/scan.txt"; then fl_fail "$CASE: raw bytes in the text report"; fi
fipsluks scan --json "$T/label.img" >"$T/scan.json" || fl_fail "$CASE: scan --json failed"
python3 -c 'import json, sys; sys.stdout.buffer.write(json.loads(open(sys.argv[1], "rb").read())["volumes"][0]["label"].encode())' \
    "$T/scan.json" >"$T/label.txt" || fl_fail "$CASE: scan --json is not valid JSON in valid UTF-8"
fl_assert_eq "lab"$'\xc2\x9b'"31m"$'\xc2\x85'"el"$'\xef\xbf\xbd' "$(cat "$T/label.txt")" "$CASE: JSON label"

echo "check-hostile: all assertions passed"
