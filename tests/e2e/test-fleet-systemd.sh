#!/usr/bin/env bash
# The systemd units `cmake --install` puts in place: systemd-analyze verify accepts them without a
# single warning, the service is hardened (systemd-analyze security), the timer is daily and spread.
. "$(dirname "$0")/lib/common.sh"

command -v systemd-analyze >/dev/null || fl_skip "systemd-analyze is not installed"
P=$T/prefix
cmake --install "$FL_BUILD_DIR" --prefix "$P" >/dev/null
U=$P/lib/systemd/system
S=$U/fipsluks-scan.service
[[ -f $S && -f $U/fipsluks-scan.timer ]] || fl_fail "units not installed in $U"
exec_start=$(sed -n 's/^ExecStart=//p' "$S")
fl_assert_eq "$P/sbin/fipsluks scan --format prometheus --output \${FIPSLUKS_PROM}" "$exec_start" "ExecStart"
[[ -x $P/sbin/fipsluks ]] || fl_fail "ExecStart's binary is not installed"

# verify exits 0 even for values it ignores: any message is a failure. The man page the units name
# is the one just installed.
MANPATH=$P/share/man: systemd-analyze verify "$S" "$U/fipsluks-scan.timer" >"$T/verify.out" 2>&1 ||
    fl_fail "systemd-analyze verify failed: $(cat "$T/verify.out")"
[[ ! -s $T/verify.out ]] || fl_fail "systemd-analyze verify complains: $(cat "$T/verify.out")"

for want in ProtectSystem=strict PrivateNetwork=yes "DeviceAllow=block-\* r" DevicePolicy=closed \
    NoNewPrivileges=yes "ReadWritePaths=-/var/lib/prometheus/node-exporter" "SuccessExitStatus=4 6"; do
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
fl_assert_eq "/usr/sbin/fipsluks scan --format prometheus --output \${FIPSLUKS_PROM}" \
    "$(sed -n 's/^ExecStart=//p' "$T/dest/usr/lib/systemd/system/fipsluks-scan.service")" "ExecStart with DESTDIR"
echo "fleet-systemd: ok"
