#!/usr/bin/env bash
# Fleet output of scan: host identity on every record, --json-lines streaming, --jobs giving the same
# bytes as a serial scan, and --format prometheus parsed by real parsers and written atomically.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/corpus.sh"

C=$T/corpus
fl_make_corpus "$C"
cd "$T"

rfc3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# ---- host identity and time, in every record of every JSON output ----
rc=0
fipsluks scan --json-lines -v "$C" >lines.jsonl || rc=$?
fl_assert_eq 4 "$rc" "scan --json-lines exit code (the corpus has an unreadable volume)"
n_volumes=$(jq -s '[.[] | select(.record == "volume")] | length' lines.jsonl)
[[ $n_volumes -gt 10 ]] || fl_fail "expected the corpus' volumes as records, got $n_volumes"
fl_assert_eq summary "$(tail -n1 lines.jsonl | jq -r .record)" "last record"
fl_assert_eq "$n_volumes" "$(tail -n1 lines.jsonl | jq -r .summary.volumes)" "summary record's volume count"
jq -e --arg h "$(hostname)" --arg re "$rfc3339" '
    .schema_version == 1 and .tool == "fipsluks" and (.version | type == "string")
    and .host.hostname == $h and (.host | has("machine_id") and has("os_id") and has("os_version_id")
    and has("kernel_fips")) and (.scanned_at | test($re))' lines.jsonl >/dev/null ||
    fl_fail "a record lacks host identity or time: $(jq -c 'select(.host == null)' lines.jsonl | head -n1)"
# one scan, one time: every record carries the same scanned_at
fl_assert_eq 1 "$(jq -r .scanned_at lines.jsonl | sort -u | wc -l)" "distinct scanned_at values"
fipsluks check --json >check.json || true
jq -e --arg re "$rfc3339" '.schema_version == 1 and .record == "check" and .host.hostname != null
    and (.checked_at | test($re))' check.json >/dev/null || fl_fail "check --json lacks host identity: $(head -c 300 check.json)"

# ---- --json-lines streams: a record is out before the scan is over ----
# strace holds the open of the last image for 5 s; the first record must be out before that.
# (-P matches the path as the program passes it: relative, from this directory.)
if command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
    cp --sparse=always "$C/luks2-argon2id.img" first.img
    cp --sparse=always "$C/luks2-pbkdf2-sha256.img" slow.img
    # (LeakSanitizer cannot run under ptrace: the sanitizer build's leak check is off for this run.)
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
        strace -f -qq -o /dev/null -P slow.img -e trace=openat -e inject=openat:delay_enter=5000000 \
        fipsluks scan --json-lines --jobs 1 first.img slow.img >stream.jsonl 2>/dev/null &
    pid=$!
    # The first record is written before slow.img is opened: from then on the scan has 5 s to go.
    for _ in $(seq 600); do
        [[ -s stream.jsonl ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null || fl_fail "the scan ended before the test could look (strace delay ignored?)"
    fl_assert_eq "first.img" "$(head -n1 stream.jsonl | jq -r .path)" "record streamed while the scan runs"
    rc=0
    wait "$pid" || rc=$?
    fl_assert_eq 6 "$rc" "exit code of the streamed scan"
    fl_assert_eq 3 "$(wc -l <stream.jsonl)" "records after the scan (2 volumes + summary)"
else
    echo "strace cannot trace here: streaming order not timed"
fi

# ---- --json-lines and --json: memory does not grow with the number of volumes ----
# (Not under AddressSanitizer, whose quarantine keeps freed memory resident on purpose.)
if [[ -x /usr/bin/time && $(ldd "$(command -v fipsluks)") != *libasan* ]]; then
    # small images: a 16 KiB metadata area and a 256 KiB keyslots area (272 KiB on disk each)
    truncate -s 4M small.img
    cryptsetup luksFormat --type luks2 --batch-mode --key-file "$C/keys/$(ls "$C/keys" | head -n1)" \
        --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-size 256 --luks2-metadata-size 16k \
        --luks2-keyslots-size 256k small.img >/dev/null 2>&1
    mkdir few many
    for i in $(seq 10); do cp --sparse=always small.img few/$i.img; done
    for i in $(seq 600); do cp --sparse=always small.img many/$i.img; done
    rss() { /usr/bin/time -f %M -o rss.txt fipsluks scan "$@" >/dev/null 2>&1 || true; tail -n1 rss.txt; }
    few_lines=$(rss --json-lines --jobs 2 few) many_lines=$(rss --json-lines --jobs 2 many)
    few_doc=$(rss --json --jobs 2 few) many_doc=$(rss --json --jobs 2 many)
    echo "peak RSS (KiB): json-lines 10 → 600 images: $few_lines → $many_lines; json: $few_doc → $many_doc"
    ((many_lines - few_lines < 2048)) || fl_fail "--json-lines grew by $((many_lines - few_lines)) KiB from 10 to 600 volumes"
    # --json streams its one document too (it held every volume, about 11 KiB each, until the end)
    ((many_doc - few_doc < 2048)) || fl_fail "--json grew by $((many_doc - few_doc)) KiB from 10 to 600 volumes"
    # the measurement saw the volumes: 600 of them, in one valid document
    fipsluks scan --json --jobs 2 many >many.json || true
    fl_assert_eq 600 "$(jq '.volumes | length' many.json)" "volumes in the streamed --json document"
    rm -rf few many small.img
fi

# ---- --jobs N: the same bytes as --jobs 1 (scanned_at and the duration aside) ----
norm() { sed -E 's/"scanned_at":"[^"]*"/"scanned_at":"T"/g; /^fipsluks_(last_scan_timestamp|scan_duration)_seconds /d'; }
for fmt in text json prometheus; do
    rc1=0 rc4=0
    fipsluks scan --format $fmt --jobs 1 -v "$C" "$C/luks1-sha1.img" missing.img | norm >serial.$fmt || rc1=$?
    fipsluks scan --format $fmt --jobs 4 -v "$C" "$C/luks1-sha1.img" missing.img | norm >parallel.$fmt || rc4=$?
    cmp serial.$fmt parallel.$fmt || { diff serial.$fmt parallel.$fmt | head -20; fl_fail "--jobs 4 $fmt differs from --jobs 1"; }
    [[ $(wc -c <serial.$fmt) -gt 2000 ]] || fl_fail "$fmt output too short"
done
# The JSON volumes come in target order: the directory's sorted paths, then the two named ones.
jq -r '.volumes[].path' parallel.json >order.txt
fl_assert_eq "$(head -n -2 order.txt | sort)" "$(head -n -2 order.txt)" "directory volumes sorted by path"
fl_assert_eq "$C/luks1-sha1.img missing.img" "$(tail -n2 order.txt | tr '\n' ' ' | sed 's/ $//')" "named targets last, in order"
# --json-lines with --jobs: the same set of records, in any order
fipsluks scan --json-lines --jobs 4 "$C" | jq -c 'select(.record == "volume") | del(.scanned_at)' | sort >par.set || true
jq -c 'select(.record == "volume") | del(.scanned_at)' lines.jsonl | sort >ser.set
cmp ser.set par.set || fl_fail "--json-lines --jobs 4 gives other records than --jobs 1"
(! fipsluks scan --jobs 0 "$C" 2>err) || fl_fail "--jobs 0 accepted"
fl_assert_contains "$(cat err)" "--jobs '0'" "--jobs 0 error"
(! fipsluks scan --jobs 1x "$C" 2>/dev/null) || fl_fail "--jobs 1x accepted"
(! fipsluks scan --json --format prometheus "$C" 2>/dev/null) || fl_fail "--json with --format accepted"

# ---- Prometheus: real parsers ----
fl_key weird.key "weird"
fl-mkluks --label $'we"ird\\label\nx' --slot "kdf=argon2id,key-file=weird.key" weird.img >/dev/null 2>&1 ||
    fl-mkluks --label 'we"ird\label' --slot "kdf=argon2id,key-file=weird.key" weird.img
rc=0
# weird.img twice: node_exporter refuses a file with a series twice, so it must appear once.
fipsluks scan --format prometheus --output "$T/fipsluks.prom" "$C" weird.img weird.img || rc=$?
fl_assert_eq 4 "$rc" "prometheus exit code"
[[ $(stat -c %a fipsluks.prom) == 644 ]] || fl_fail "the .prom file is not 0644: $(stat -c %a fipsluks.prom)"
ls -A "$T" | grep -q '^\.fipsluks\.prom\.' && fl_fail "a temporary file was left behind"
if command -v promtool >/dev/null; then
    promtool check metrics <fipsluks.prom || fl_fail "promtool check metrics rejects the file"
else
    [[ ${CI:-} == true ]] && fl_fail "promtool missing (scripts/setup installs prometheus)"
    echo "promtool missing: not checked with it"
fi
python3 - "$T/fipsluks.prom" "$T/lines.jsonl" <<'PY' || fl_fail "prometheus_client disagrees with the scan"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
recs = [json.loads(l) for l in open(sys.argv[2])]
vols = [r for r in recs if r["record"] == "volume"]
def samples(name):
    return fams[name].samples
series = [(s.name, tuple(sorted(s.labels.items()))) for f in fams.values() for s in f.samples]
assert len(series) == len(set(series)), "a series appears twice"
gauge = {s.labels["path"]: s.value for s in samples("fipsluks_volume_fips_compatible")}
for v in vols:
    if v["status"] == "ok":
        assert gauge[v["path"]] == (1.0 if v["fips_compatible"] else 0.0), v["path"]
weird = [s for s in samples("fipsluks_volume_fips_compatible") if s.labels["path"] == "weird.img"][0]
# a backslash is doubled in label values (a byte that is not UTF-8 is \xNN: names stay distinct)
assert weird.labels["label"].startswith('we"ird\\\\label'), weird.labels
assert weird.value == 0.0
state = {s.labels["state"]: s.value for s in samples("fipsluks_volumes")}
ok = [v for v in vols if v["status"] == "ok"]
assert state["compatible"] == sum(v["fips_compatible"] for v in ok), state
assert state["incompatible"] == sum(not v["fips_compatible"] for v in ok) + 1, state
assert state["unreadable"] == sum(v["status"] == "error" for v in vols), state
assert samples("fipsluks_unreadable_targets")[0].value == state["unreadable"]
kdfs = {}
for v in ok + [{"keyslots": [{"kdf": "argon2id"}]}]:
    for k in v["keyslots"]:
        kdfs[k["kdf"] or "none"] = kdfs.get(k["kdf"] or "none", 0) + 1
# every known KDF is listed, with 0 when no keyslot has it
got = {s.labels["kdf"]: s.value for s in samples("fipsluks_keyslots")}
assert {k: v for k, v in got.items() if v} == kdfs, got
assert {"argon2i", "argon2id", "pbkdf2"} <= set(got), got
rules = {}
for v in ok + [{"findings": [{"rule": "FL-KDF-ARGON2", "severity": "error"}]}]:
    for x in v["findings"]:
        key = (x["rule"], x["severity"])
        rules[key] = rules.get(key, 0) + 1
got = {(s.labels["rule"], s.labels["severity"]): s.value for s in samples("fipsluks_findings")}
assert {k: v for k, v in got.items() if v} == rules, got
import time
ts = samples("fipsluks_last_scan_timestamp_seconds")[0].value
assert abs(time.time() - ts) < 600, ts
assert 0 <= samples("fipsluks_scan_duration_seconds")[0].value < 600
print("prometheus_client: %d families agree with the scan" % len(fams))
PY

# ---- atomic: a reader never sees a partial file while scans rewrite it ----
(
    for _ in $(seq 30); do fipsluks scan --format prometheus --jobs 2 --output "$T/live.prom" "$C" >/dev/null 2>&1 || true; done
    touch "$T/writer.done"
) &
writer=$!
python3 - "$T/live.prom" "$T/writer.done" <<'PY' || fl_fail "a reader saw a partial .prom file"
import os, sys, time
from prometheus_client.parser import text_string_to_metric_families
path, done = sys.argv[1], sys.argv[2]
reads = 0
while not os.path.exists(done):
    try:
        text = open(path).read()
    except FileNotFoundError:
        continue
    fams = {f.name for f in text_string_to_metric_families(text)}
    assert text.endswith("\n"), "cut short"
    for name in ("fipsluks_scan_info", "fipsluks_volumes", "fipsluks_findings", "fipsluks_keyslots"):
        assert name in fams, (name, len(text))
    reads += 1
assert reads > 30, reads
print("%d complete reads while the file was rewritten" % reads)
PY
wait "$writer"
echo "fleet-scan: identity, streaming, --jobs, prometheus: ok"
