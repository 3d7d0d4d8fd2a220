#!/usr/bin/env bash
# The systemd units `cmake --install` puts in place: systemd-analyze verify accepts them without a
# single warning, the service is hardened (systemd-analyze security), has a start timeout, writes
# scan's and check's metrics into the one directory it may write (one setting, FL_TEXTFILE_DIR:
# Debian's default, RHEL's by -D), and the timer is daily and spread.
. "$(dirname "$0")/lib/common.sh"

command -v systemd-analyze >/dev/null || fl_skip "systemd-analyze is not installed"
P=$T/prefix
cmake --install "$FL_BUILD_DIR" --prefix "$P" >/dev/null
U=$P/lib/systemd/system
S=$U/fipsluks-scan.service
[[ -f $S && -f $U/fipsluks-scan.timer ]] || fl_fail "units not installed in $U"
exec_start=$(sed -n 's/^ExecStart=//p' "$S")
fl_assert_eq "$P/sbin/fipsluks scan --format prometheus --output \${FIPSLUKS_TEXTFILE_DIR}/fipsluks.prom
$P/sbin/fipsluks check --format prometheus --output \${FIPSLUKS_TEXTFILE_DIR}/fipsluks-check.prom" "$exec_start" "ExecStart"
[[ -x $P/sbin/fipsluks ]] || fl_fail "ExecStart's binary is not installed"

# textfile_dir UNIT: the directory the unit writes its files to; fails unless Environment= and
# ReadWritePaths= name the same one, and nothing else in the unit names a directory to write.
textfile_dir() {
    local env rw
    env=$(sed -n 's/^Environment=FIPSLUKS_TEXTFILE_DIR=//p' "$1")
    rw=$(sed -n 's/^ReadWritePaths=-//p' "$1")
    [[ -n $env && $(grep -c '^Environment=' "$1") == 1 && $(grep -c '^ReadWritePaths=' "$1") == 1 ]] ||
        fl_fail "$1: expected one Environment=FIPSLUKS_TEXTFILE_DIR= and one ReadWritePaths=-"
    [[ $env == "$rw" ]] || fl_fail "$1: the service writes to $env, but may write only $rw"
    ! grep -n '^ExecStart=.*--output /' "$1" || fl_fail "$1: an output path outside \${FIPSLUKS_TEXTFILE_DIR}"
    printf '%s\n' "$env"
}
fl_assert_eq /var/lib/prometheus/node-exporter "$(textfile_dir "$S")" "the default textfile directory (Debian's)"
# a start timeout: a hung disk must not block the oneshot (and every later scan) for ever
timeout=$(sed -n 's/^TimeoutStartSec=//p' "$S")
[[ -n $timeout && $timeout != infinity && $timeout != 0 ]] || fl_fail "the service has no TimeoutStartSec ($timeout)"

# RHEL's node_exporter directory, from the one setting: both places follow
R=$T/rhel
cmake -DCMAKE_INSTALL_PREFIX="$R" -DFL_TEXTFILE_DIR=/var/lib/node_exporter/textfile_collector \
    -P "$FL_BUILD_DIR/cmake_install.cmake" >/dev/null
fl_assert_eq /var/lib/node_exporter/textfile_collector "$(textfile_dir "$R/lib/systemd/system/fipsluks-scan.service")" \
    "the textfile directory with -DFL_TEXTFILE_DIR"
MANPATH=$R/share/man: systemd-analyze verify "$R/lib/systemd/system/fipsluks-scan.service" >"$T/verify-rhel.out" 2>&1 ||
    fl_fail "systemd-analyze verify failed (RHEL directory): $(cat "$T/verify-rhel.out")"
[[ ! -s $T/verify-rhel.out ]] || fl_fail "systemd-analyze verify complains (RHEL directory): $(cat "$T/verify-rhel.out")"
(! cmake -DCMAKE_INSTALL_PREFIX="$T/bad" -DFL_TEXTFILE_DIR=relative/dir -P "$FL_BUILD_DIR/cmake_install.cmake" \
    >/dev/null 2>&1) || fl_fail "a relative FL_TEXTFILE_DIR was accepted"

# The ExecStart lines, run as systemd runs them (${FIPSLUKS_TEXTFILE_DIR} expanded, here to a test
# directory): both files appear in it, complete, and nothing else does.
TF=$T/textfile
mkdir "$TF"
fl_key "$T/k" "systemd"
fl-mkluks --slot "kdf=pbkdf2,key-file=$T/k" "$T/v.img"
while read -r line; do
    line=${line//\$\{FIPSLUKS_TEXTFILE_DIR\}/$TF}
    # the scan reads the test image, not this machine's block devices
    [[ $line == *" scan "* ]] && line+=" $T/v.img"
    rc=0
    # shellcheck disable=SC2086 # the command line as systemd splits it (no quoting in these lines)
    $line >/dev/null 2>&1 || rc=$?
    [[ $rc == 0 || $rc == 4 || $rc == 6 ]] || fl_fail "ExecStart $line exited $rc (not in SuccessExitStatus)"
done <<<"$exec_start"
fl_assert_eq "fipsluks-check.prom fipsluks.prom" "$(ls "$TF" | tr '\n' ' ' | sed 's/ $//')" "files in the textfile directory"
grep -q '^fipsluks_volume_fips_compatible{' "$TF/fipsluks.prom" || fl_fail "the scan's file lacks the volume gauge"
grep -q '^fipsluks_check_fips_ready [01]$' "$TF/fipsluks-check.prom" || fl_fail "the check's file lacks fipsluks_check_fips_ready"

# verify exits 0 even for values it ignores: any message is a failure. The man page the units name
# is the one just installed.
MANPATH=$P/share/man: systemd-analyze verify "$S" "$U/fipsluks-scan.timer" >"$T/verify.out" 2>&1 ||
    fl_fail "systemd-analyze verify failed: $(cat "$T/verify.out")"
[[ ! -s $T/verify.out ]] || fl_fail "systemd-analyze verify complains: $(cat "$T/verify.out")"

for want in ProtectSystem=strict PrivateNetwork=yes "DeviceAllow=block-\* r" DevicePolicy=closed \
    NoNewPrivileges=yes "ReadWritePaths=-/var/lib/prometheus/node-exporter" "SuccessExitStatus=4 6" \
    "TimeoutStartSec=30min"; do
    grep -qx "$want" "$S" || fl_fail "the service lacks $want"
done
grep -qx "OnCalendar=daily" "$U/fipsluks-scan.timer" || fl_fail "the timer is not daily"
grep -qx "RandomizedDelaySec=1h" "$U/fipsluks-scan.timer" || fl_fail "the timer has no randomized delay"

if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
    systemd-analyze security --offline=yes --threshold=20 "$S" >"$T/security.out" 2>&1 ||
        fl_fail "exposure above 2.0: $(tail -n 3 "$T/security.out")"
    tail -n1 "$T/security.out"
fi

# DESTDIR installs keep the prefix in ExecStart (a package build).
DESTDIR=$T/dest cmake --install "$FL_BUILD_DIR" --prefix /usr >/dev/null
fl_assert_eq "/usr/sbin/fipsluks scan --format prometheus --output \${FIPSLUKS_TEXTFILE_DIR}/fipsluks.prom" \
    "$(sed -n 's/^ExecStart=//p' "$T/dest/usr/lib/systemd/system/fipsluks-scan.service" | head -n1)" "ExecStart with DESTDIR"
echo "fleet-systemd: ok"
