#!/usr/bin/env bash
# What the alerts read from scan --format prometheus, parsed by a real parser (prometheus_client) and
# promtool: series that go to 0 instead of vanishing (after a migration), distinct series for paths
# that differ only in bytes that are not UTF-8, the host's FIPS mode and switches, and
# fipsluks check --format prometheus.
. "$(dirname "$0")/lib/common.sh"

python3 -c 'import prometheus_client' 2>/dev/null || {
    [[ ${CI:-} == true ]] && fl_fail "python3-prometheus-client missing (scripts/setup installs it)"
    fl_skip "python3-prometheus-client missing"
}
cd "$T"

# parse FILE PYTHON: run PYTHON with fams (name -> family) and series(name) -> {labels tuple: value}
# from FILE, read as strict UTF-8 (a label value that is not UTF-8 is an error here, as in Prometheus).
parse() {
    python3 - "$1" "$2" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8", errors="strict").read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
seen = [(s.name, tuple(sorted(s.labels.items()))) for f in fams.values() for s in f.samples]
dups = {x for x in seen if seen.count(x) > 1}
assert not dups, "series appear twice: %s" % sorted(dups)
def series(name):
    return {tuple(sorted(s.labels.items())): s.value for s in fams[name].samples}
exec(sys.argv[2])
PY
}
promcheck() {
    if command -v promtool >/dev/null; then
        promtool check metrics <"$1" || fl_fail "promtool check metrics rejects $1"
    fi
}

# ---- after a migration, fipsluks_keyslots{kdf="argon2id"} is 0, not gone ----
fl_key k.key "prometheus zero series"
fl-mkluks --slot "kdf=argon2id,key-file=k.key" v.img
rc=0
fipsluks scan --format prometheus --output before.prom v.img || rc=$?
fl_assert_eq 6 "$rc" "scan before the migration"
promcheck before.prom
parse before.prom '
k = series("fipsluks_keyslots")
assert k == {(("kdf", "argon2i"),): 0, (("kdf", "argon2id"),): 1, (("kdf", "pbkdf2"),): 0}, k
f = series("fipsluks_findings")
assert f[(("rule", "FL-KDF-ARGON2"), ("severity", "error"))] == 1, f
' || fl_fail "metrics before the migration"
fipsluks migrate --batch -d k.key --pbkdf-force-iterations 1000 --header-backup v.bak v.img >/dev/null ||
    fl_fail "migrate failed"
rc=0
fipsluks scan --format prometheus --output after.prom v.img || rc=$?
# the migrated volume is compatible; 1000 iterations is a warning (FL-KDF-ITER-LOW), not an error
fl_assert_eq 0 "$rc" "scan after the migration"
promcheck after.prom
parse after.prom '
k = series("fipsluks_keyslots")
assert k == {(("kdf", "argon2i"),): 0, (("kdf", "argon2id"),): 0, (("kdf", "pbkdf2"),): 1}, k
f = series("fipsluks_findings")
assert f[(("rule", "FL-KDF-ARGON2"), ("severity", "error"))] == 0, f
# every rule, at least at its own severity, whatever the volumes
rules = {dict(l)["rule"] for l in f}
assert len(rules) == 20 and "FL-LUKS1" in rules and "FL-AF-HASH" in rules, sorted(rules)
v = series("fipsluks_volumes")
assert v == {(("state", "compatible"),): 1, (("state", "incompatible"),): 0, (("state", "unreadable"),): 0}, v
' || fl_fail "metrics after the migration: a series vanished instead of going to 0"
# no volume at all: the families are still there, at 0
mkdir empty
fipsluks scan --format prometheus --output empty.prom empty || fl_fail "scan of an empty directory"
parse empty.prom '
assert set(series("fipsluks_keyslots").values()) == {0}
assert set(series("fipsluks_findings").values()) == {0}
assert len(series("fipsluks_keyslots")) == 3
' || fl_fail "metrics of a scan without volumes"

# ---- file names that differ only in a byte that is not UTF-8: distinct, valid series ----
mkdir names
cp --sparse=always v.img names/$'a\xff.img'
cp --sparse=always v.img names/$'a\xfe.img'
cp --sparse=always v.img 'names/a\xff.img' # the escape's own spelling, as a name
cp --sparse=always v.img names/$'b\xc3\xa9.img' # é: valid UTF-8, kept as it is
fipsluks scan --format prometheus --output names.prom names/$'a\xff.img' names/$'a\xfe.img' \
    'names/a\xff.img' names/$'b\xc3\xa9.img' || fl_fail "scan of the oddly named images"
iconv -f UTF-8 -t UTF-8 names.prom >/dev/null || fl_fail "the .prom file is not valid UTF-8"
promcheck names.prom
parse names.prom '
paths = sorted(dict(l)["path"] for l in series("fipsluks_volume_fips_compatible"))
want = sorted(["names/a\\xff.img", "names/a\\xfe.img", "names/a\\\\xff.img", "names/b\u00e9.img"])
assert paths == want, paths
' || fl_fail "label values of paths that are not UTF-8"
# the unreadable-target series too
fipsluks scan --format prometheus --output missing.prom names/$'gone\xff' names/$'gone\xfe' && fl_fail "missing targets read"
parse missing.prom '
paths = sorted(dict(l)["path"] for l in series("fipsluks_target_unreadable"))
assert paths == ["names/gone\\xfe", "names/gone\\xff"], paths
' || fl_fail "unreadable targets whose names are not UTF-8"

# ---- the host's FIPS mode and switches ----
parse after.prom '
import os
mode = series("fipsluks_host_fips_mode")[()]
try:
    want = int(open("/proc/sys/crypto/fips_enabled").read().strip())
except OSError:
    want = -1
assert mode == want, (mode, want)
' || fl_fail "fipsluks_host_fips_mode is not the kernel's fips_enabled"
# an openssl.cnf that requires fips=yes (what --emit provisions): the switch is made, so pending
fipsluks check --emit butane | python3 -c '
import sys, yaml
bu = yaml.safe_load(sys.stdin)
print([f for f in bu["storage"]["files"] if f["path"] == "/etc/ssl/openssl.cnf.fips"][0]["contents"]["inline"], end="")
' | sed "s#/etc/ssl/fipsmodule.cnf#$T/fipsmodule.cnf#" >fips.cnf
printf '[fips_sect]\nactivate = 1\nmodule-mac = 29:C8:49:23\n' >fipsmodule.cnf
# this host: 0 unless one of the switches is there (then the unit tests of fl_fips_state_read() say
# which counts)
if [[ ! -e /etc/system-fips ]] && ! grep -qs 'fips=1' /proc/cmdline /etc/default/grub /etc/kernel/cmdline \
    /boot/grub2/grubenv /boot/loader/entries/*.conf; then
    parse after.prom "assert series('fipsluks_host_fips_pending')[()] == 0" ||
        fl_fail "fipsluks_host_fips_pending is 1 on a host without a switch to FIPS mode"
fi
OPENSSL_CONF=$T/fips.cnf fipsluks scan --format prometheus --output switched.prom v.img ||
    fl_fail "scan with the FIPS openssl.cnf"
promcheck switched.prom
parse switched.prom 'assert series("fipsluks_host_fips_pending")[()] == 1' ||
    fl_fail "an openssl.cnf that requires fips=yes does not make fipsluks_host_fips_pending 1"

# ---- fipsluks check --format prometheus: every check with every status, as --json says ----
rc_json=0 rc_prom=0
fipsluks check --json >check.json || rc_json=$?
fipsluks check --format prometheus --output check.prom >out.txt || rc_prom=$?
fl_assert_eq "$rc_json" "$rc_prom" "check --format prometheus exit code (as --json)"
[[ ! -s out.txt ]] || fl_fail "check --output also wrote to standard output"
[[ $(stat -c %a check.prom) == 644 ]] || fl_fail "check.prom is not 0644"
ls -A | grep -q '^\.check\.prom\.' && fl_fail "a temporary file was left behind"
promcheck check.prom
parse check.prom '
import json
doc = json.load(open("check.json"))
st = series("fipsluks_check_status")
for c in doc["checks"]:
    for s in ("fail", "pass", "skip", "warn"):
        v = st.pop((("check", c["id"]), ("status", s)))
        assert v == (1 if c["status"] == s else 0), (c["id"], s, v)
assert not st, "series for checks --json does not have: %s" % st
assert series("fipsluks_check_fips_ready")[()] == (1 if doc["fips_ready"] else 0)
counts = {dict(l)["status"]: v for l, v in series("fipsluks_checks").items()}
assert counts == doc["summary"], (counts, doc["summary"])
info = list(series("fipsluks_check_info"))[0]
assert dict(info)["hostname"] == doc["host"]["hostname"], info
' || fl_fail "check --format prometheus disagrees with check --json"
# --output takes every format: the same bytes as standard output
fipsluks check --format text --output check.txt >/dev/null || true
fipsluks check >stdout.txt || true
cmp check.txt stdout.txt || fl_fail "check --output gives other text than standard output"
# node_exporter reads both files of fipsluks-scan.service as one: no series, no family in both
cat after.prom check.prom >both.prom
promcheck both.prom
parse both.prom 'pass' || fl_fail "scan's and check's files share a series"
python3 - after.prom check.prom <<'PY' || fl_fail "scan's and check's files share a family"
import sys
names = [set(l.split()[2] for l in open(f) if l.startswith("# TYPE ")) for f in sys.argv[1:]]
assert not names[0] & names[1], names[0] & names[1]
PY
# usage errors
fl_expect_exit 1 fipsluks check --json --format prometheus
fl_expect_exit 1 fipsluks check --format json-lines
fl_expect_exit 1 fipsluks check --emit butane --format prometheus
fl_expect_exit 1 fipsluks check --emit butane --output x.prom
fl_expect_exit 1 fipsluks check --output ''
[[ ! -e x.prom ]] || fl_fail "a usage error wrote the output file"

echo "fleet-prometheus: ok"
