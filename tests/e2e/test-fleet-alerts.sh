#!/usr/bin/env bash
# The shipped Prometheus alerting rules: valid (promtool check rules), doing what they say
# (promtool test rules), and using only metric names a real scan writes.
. "$(dirname "$0")/lib/common.sh"

command -v promtool >/dev/null || {
    [[ ${CI:-} == true ]] && fl_fail "promtool missing (scripts/setup installs Debian's prometheus)"
    fl_skip "promtool missing (Debian package prometheus)"
}
R=$FL_SOURCE_DIR/scripts/prometheus
promtool check rules "$R/fipsluks-alerts.yml"
for a in FipsLuksVolumeNotCompatible FipsLuksScanStale FipsLuksScanErrors; do
    grep -q "alert: $a\$" "$R/fipsluks-alerts.yml" || fl_fail "alert $a missing"
done
(cd "$R" && promtool test rules fipsluks-alerts.test.yml)

# Every metric an alert reads is one fipsluks scan writes, with the labels the alerts show.
cd "$T"
fl_key k.key "alerts"
fl-mkluks --slot "kdf=argon2id,key-file=k.key" a.img
fipsluks scan --format prometheus --output "$T/out.prom" a.img missing.img || true
for m in $(grep -o 'fipsluks_[a-z_]*' "$R/fipsluks-alerts.yml" | sort -u); do
    grep -q "^$m[{ ]" out.prom || fl_fail "the rules read $m, which fipsluks scan does not write"
done
grep -q '^fipsluks_volume_fips_compatible{path="a.img",uuid="[^"]*",label=""} 0$' out.prom ||
    fl_fail "the volume gauge lacks the labels the alert shows"
echo "fleet-alerts: ok"
