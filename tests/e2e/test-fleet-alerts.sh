#!/usr/bin/env bash
# The shipped Prometheus alerting rules: valid (promtool check rules), doing what they say
# (promtool test rules: for each alert a case where it fires and one where it stays silent), each
# with a runbook_url to a section of docs/runbook.md, and using only metric names a real scan or
# check writes.
. "$(dirname "$0")/lib/common.sh"

command -v promtool >/dev/null || {
    [[ ${CI:-} == true ]] && fl_fail "promtool missing (scripts/setup installs Debian's prometheus)"
    fl_skip "promtool missing (Debian package prometheus)"
}
R=$FL_SOURCE_DIR/scripts/prometheus
promtool check rules "$R/fipsluks-alerts.yml"
for a in FipsLuksVolumeLockout FipsLuksVolumesNotCompatible FipsLuksScanStale FipsLuksScanMissing \
    FipsLuksScanErrors FipsLuksCheckNotReady; do
    grep -q "alert: $a\$" "$R/fipsluks-alerts.yml" || fl_fail "alert $a missing"
done
(cd "$R" && promtool test rules fipsluks-alerts.test.yml)
python3 - "$R/fipsluks-alerts.yml" "$R/fipsluks-alerts.test.yml" "$FL_SOURCE_DIR/docs/runbook.md" <<'PY' ||
import re, sys, yaml
rules = [r for g in yaml.safe_load(open(sys.argv[1]))["groups"] for r in g["rules"]]
tests = yaml.safe_load(open(sys.argv[2]))["tests"]
runbook = open(sys.argv[3]).read()
anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.*)$", runbook, re.M)}
evals = [e for t in tests for e in t.get("alert_rule_test", [])]
severities = {}
for r in rules:
    a = r["alert"]
    url = r["annotations"].get("runbook_url", "")
    base = "https://github.com/fipsluks/fipsluks/blob/main/docs/runbook.md#"
    assert url.startswith(base), (a, url)
    assert url[len(base):] in anchors, "%s: no section #%s in docs/runbook.md" % (a, url[len(base):])
    fires = [e for e in evals if e["alertname"] == a and e.get("exp_alerts")]
    silent = [e for e in evals if e["alertname"] == a and not e.get("exp_alerts")]
    assert fires and silent, "%s: needs a promtool case that fires and one that stays silent" % a
    for e in fires:
        for x in e["exp_alerts"]:
            assert x["exp_annotations"]["runbook_url"] == url, (a, x)
    severities[a] = r["labels"]["severity"]
# one page, and it is the lockout: incompatible volumes before the rollout are a warning per host
assert [a for a, s in severities.items() if s == "critical"] == ["FipsLuksVolumeLockout"], severities
for r in rules:
    if r["alert"] in ("FipsLuksVolumeLockout", "FipsLuksVolumesNotCompatible"):
        assert "count by (instance, job)" in r["expr"], r["alert"]
PY
    fl_fail "alert rules: see above"

# Every metric an alert reads is one fipsluks scan writes, with the labels the alerts show.
cd "$T"
fl_key k.key "alerts"
fl-mkluks --slot "kdf=argon2id,key-file=k.key" a.img
fipsluks scan --format prometheus --output "$T/out.prom" a.img missing.img || true
fipsluks check --format prometheus --output "$T/check.prom" || true
for m in $(grep -o 'fipsluks_[a-z_]*' "$R/fipsluks-alerts.yml" | sort -u); do
    grep -q "^$m[{ ]" out.prom check.prom || fl_fail "the rules read $m, which neither fipsluks scan nor check writes"
done
grep -q '^fipsluks_host_fips_mode -\?[01]$' out.prom || fl_fail "scan does not write fipsluks_host_fips_mode"
grep -q '^fipsluks_host_fips_pending [01]$' out.prom || fl_fail "scan does not write fipsluks_host_fips_pending"
grep -q '^fipsluks_volume_fips_compatible{path="a.img",uuid="[^"]*",label=""} 0$' out.prom ||
    fl_fail "the volume gauge lacks the labels the alert shows"
echo "fleet-alerts: ok"
