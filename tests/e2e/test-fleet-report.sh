#!/usr/bin/env bash
# fipsluks report: scan output of several hosts (JSON documents and JSON lines, mixed) merged into a
# fleet summary; hostile and malformed inputs reported by file and line and skipped, never a crash.
. "$(dirname "$0")/lib/common.sh"

cd "$T"
fl_key a.key "report-argon"
fl_key b.key "report-pbkdf2"
fl-mkluks --slot "kdf=argon2id,key-file=a.key" old.img
fl-mkluks --label data --slot "kdf=pbkdf2,hash=sha256,iter=100000,key-file=b.key" good.img

# host HOSTNAME MACHINE-ID [TIME]: rewrite a scan's records as if HOSTNAME had written them
host() {
    jq -c --arg h "$1" --arg m "$2" --arg t "${3:-}" \
        '.host.hostname = $h | .host.machine_id = $m | if $t != "" then .scanned_at = $t else . end'
}
rc=0
fipsluks scan --json-lines --jobs 1 old.img good.img missing.img >scan.jsonl || rc=$?
fl_assert_eq 4 "$rc" "scan exit code"
fipsluks scan --json good.img >good.json
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
week_ago=$(date -u -d '7 days ago' +%Y-%m-%dT%H:%M:%SZ)
host web-1 11111111111111111111111111111111 <scan.jsonl >web-1.jsonl
host db-1 22222222222222222222222222222222 <good.json >db-1.json
host old-1 33333333333333333333333333333333 "$week_ago" <good.json >old-1.json
# web-1 scanned again later (a minute from now: within the clock skew report allows), all fine now:
# only its newest scan counts
host web-1 11111111111111111111111111111111 "$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)" <good.json >web-1-future.json
# a stream cut short: volume records without their summary
host cut-1 44444444444444444444444444444444 <scan.jsonl | head -n 2 >cut-1.jsonl

# ---- the merge, as JSON ----
rc=0
fipsluks report --json web-1.jsonl db-1.json old-1.json cut-1.jsonl >report.json || rc=$?
fl_assert_eq 6 "$rc" "report exit code (hosts need action)"
s() { fl_jq "$1" report.json; }
fl_assert_eq 4 "$(s .summary.hosts)" "hosts"
fl_assert_eq 7 "$(s .summary.volumes)" "volumes (3 + 1 + 1 + 2)"
fl_assert_eq 4 "$(s .summary.compatible)" "compatible"
fl_assert_eq 2 "$(s .summary.incompatible)" "incompatible"
fl_assert_eq 1 "$(s .summary.unreadable)" "unreadable"
fl_assert_eq 1 "$(s .summary.stale_hosts)" "stale hosts (7 days > 2d)"
fl_assert_eq 3 "$(s .summary.hosts_needing_action)" "hosts needing action"
fl_assert_eq 2 "$(s '.summary.errors_by_rule["FL-KDF-ARGON2"]')" "argon2 errors"
fl_assert_eq 2 "$(s .summary.keyslots_by_kdf.argon2id)" "argon2id keyslots"
fl_assert_eq 4 "$(s .summary.keyslots_by_kdf.pbkdf2)" "pbkdf2 keyslots"
fl_assert_eq "cut-1 db-1 old-1 web-1" "$(s '[.hosts[].hostname] | join(" ")')" "hosts sorted by name"
fl_assert_eq "fipsluks migrate --key-slot 0 $PWD/old.img|fipsluks scan $PWD/missing.img" \
    "$(s '.hosts[] | select(.hostname == "web-1") | .commands | join("|")')" "web-1's commands"
fl_assert_eq "systemctl start fipsluks-scan.service" "$(s '.hosts[] | select(.hostname == "old-1") | .commands[0]')" "old-1's command"
fl_assert_eq false "$(s '.hosts[] | select(.hostname == "cut-1") | .complete')" "cut-1 incomplete"
fl_assert_eq "$(hostname)" "$(fipsluks report --json scan.jsonl | jq -r '.hosts[0].hostname')" "a real scan's host" || true

# newest scan wins (web-1 is fine a minute later), and --max-age moves the stale line
rc=0
fipsluks report --json --max-age 8d web-1.jsonl web-1-future.json db-1.json old-1.json >r2.json || rc=$?
fl_assert_eq 0 "$rc" "everything fine with the newer web-1 scan and an 8-day maximum age"
fl_assert_eq 0 "$(fl_jq .summary.hosts_needing_action r2.json)" "no host needs action"
fl_assert_eq 1 "$(fl_jq '.hosts[] | select(.hostname == "web-1") | .volume_count' r2.json)" "web-1: newest scan only"

# any mix on standard input: documents and lines in one stream
cat db-1.json web-1.jsonl | fipsluks report --json - >r3.json || true
fl_assert_eq 2 "$(fl_jq .summary.hosts r3.json)" "hosts from standard input"

# ---- hostile and malformed input: reported by file and line, skipped ----
{
    head -n1 web-1.jsonl                                             # 1 good
    printf '[1,2,3]\n'                                               # 2 not an object
    jq -c '.path = 42' <<<"$(head -n1 web-1.jsonl)"                  # 3 wrong type
    jq -c '.schema_version = 99' <<<"$(head -n1 web-1.jsonl)"        # 4 unknown schema
    jq -c 'del(.host)' <<<"$(head -n1 web-1.jsonl)"                  # 5 no identity
    jq -c '.findings[0].remedy = "fipsluks migrate x; rm -rf /" | .host.hostname = "evil\u001b[2Jhost" | .host.machine_id = "55555555555555555555555555555555"' \
        <<<"$(head -n1 web-1.jsonl)"                                 # 6 hostile strings, taken
    printf '%*s' 3000 '' | tr ' ' '['; echo                          # 7 deep nesting
    printf '{"schema_version":1,"tool":"fipsluks","record":"volume",\n' # 8 broken…
    printf 'garbage\x00\xff\n'                                       # …resynchronised past this
    head -c 5000 /dev/urandom | tr -d '{'; echo                    # noise (no pipe cut short: pipefail)
    printf '{"cut": '                                                # cut short
} >hostile.jsonl
rc=0
fipsluks report --json hostile.jsonl missing-input.jsonl >r4.json 2>err.txt || rc=$?
fl_assert_eq 4 "$rc" "report exit code with an unreadable input file"
cat err.txt
for where in "hostile.jsonl:2: not a JSON object" "hostile.jsonl:3: a volume has no \"path\"" \
    "hostile.jsonl:4: \"schema_version\" is not 1" "hostile.jsonl:5: no host identity" "hostile.jsonl:7: invalid JSON" \
    "hostile.jsonl:8: invalid JSON" "cut short" "missing-input.jsonl: No such file"; do
    fl_assert_contains "$(cat err.txt)" "$where" "input error"
done
grep -q $'\x1b' err.txt r4.json && fl_fail "an escape character from the input reached the output"
fl_assert_eq 2 "$(fl_jq '.summary.hosts' r4.json)" "the good host and the hostile one"
# the hostile remedy is never offered as a command: report builds its own from the rule and path
fipsluks report hostile.jsonl >r4.txt 2>/dev/null || true
grep -q 'rm -rf' r4.txt && fl_fail "a hostile remedy was offered as a command"
grep -q $'\x1b' r4.txt && fl_fail "an escape character reached the text report"
fl_assert_contains "$(cat r4.txt)" "evil\\x1b[2Jhost" "escaped host name"
jq -e '.input_errors | length >= 7' r4.json >/dev/null || fl_fail "input errors missing from the JSON"

# ---- mutations of real scan output: never a crash, a hang or an exit code other than 0/4/6 ----
mkdir fuzz
python3 - web-1.jsonl db-1.json fuzz <<'PY'
import random, sys
seed = random.Random(1123)
base = open(sys.argv[1], "rb").read() + open(sys.argv[2], "rb").read()
tokens = [b"{", b"}", b"[", b"]", b'"', b":", b",", b"null", b"1e999", b"-1", b"\\u0000", b"\xff", b"\n",
          b'"schema_version":1', b'"record":"volume"', b'"status":"error"', b"[" * 100]
for i in range(100):
    d = bytearray(base)
    for _ in range(seed.randint(1, 8)):
        pos = seed.randrange(len(d) + 1)
        op = seed.randrange(4)
        if op == 0:
            d[pos:pos + 1] = bytes([seed.randrange(256)])
        elif op == 1:
            del d[pos:pos + seed.randint(1, 40)]
        elif op == 2:
            d[pos:pos] = seed.choice(tokens)
        else:
            d = d[:pos]
    open("%s/%03d.jsonl" % (sys.argv[3], i), "wb").write(bytes(d))
PY
for f in fuzz/*.jsonl; do
    for fmt in --json --csv ""; do
        rc=0
        timeout 20 fipsluks report $fmt "$f" >/dev/null 2>&1 || rc=$?
        [[ $rc == 0 || $rc == 6 ]] || fl_fail "report $fmt on mutated input $f exited $rc"
    done
done

# ---- CSV, read back by a real CSV parser ----
fipsluks report --csv web-1.jsonl db-1.json old-1.json hostile.jsonl >report.csv 2>/dev/null || true
grep -q $'\x1b' report.csv && fl_fail "an escape character from the input reached the CSV"
fl_assert_contains "$(cat report.csv)" '"evil\x1b[2Jhost"' "the hostile host name, escaped, in the CSV"
python3 - report.csv "$PWD" <<'PY' || fl_fail "CSV does not read back"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 3 + 1 + 1 + 1, len(rows)  # web-1, db-1, old-1, the hostile host
web = [r for r in rows if r["hostname"] == "web-1"]
assert [r["state"] for r in web] == ["incompatible", "compatible", "unreadable"], web
assert web[0]["rules"] == "FL-KDF-ARGON2" and web[0]["commands"] == "fipsluks migrate --key-slot 0 %s/old.img" % sys.argv[2]
assert web[2]["commands"] == "fipsluks scan %s/missing.img" % sys.argv[2]
assert [r for r in rows if r["hostname"] == "old-1"][0]["stale"] == "true"
for r in rows:
    for v in r.values():
        assert not v or v[0] not in "=+-@", ("formula cell", v)
print("csv: %d rows" % len(rows))
PY

# ---- text: the table fits the terminal; commands are never cut ----
COLUMNS=60 fipsluks report web-1.jsonl db-1.json old-1.json cut-1.jsonl >table.txt || true
cat table.txt
awk '/^HOST/,/^$/' table.txt | while IFS= read -r line; do
    [[ ${#line} -le 60 ]] || fl_fail "table line wider than 60 columns: $line"
done
fl_assert_contains "$(cat table.txt)" "    fipsluks migrate --key-slot 0 $PWD/old.img" "command in the text report"
fl_assert_contains "$(head -n1 table.txt)" "4 hosts, 7 volumes" "text summary"

# ---- --json is streamed, and so is each input: memory holds the merged fleet, neither the document
#      nor the input file (about 1 KiB a host here; reading the 3.5 MB input whole added 3.4 MiB) ----
# (Not under AddressSanitizer, whose quarantine keeps freed memory resident on purpose.)
if [[ -x /usr/bin/time && $(ldd "$(command -v fipsluks)") != *libasan* ]]; then
    # hosts N: N hosts' scans of the 3 targets of scan.jsonl, in one input file
    hosts() { jq -c --argjson n "$1" 'range($n) as $i | .host.hostname = "h-\($i)"
        | .host.machine_id = ("0" * 32 + "\($i)")[-32:]' scan.jsonl >"hosts-$1.jsonl"; }
    hosts 10
    hosts 1000
    rss() { /usr/bin/time -f %M -o rss.txt fipsluks report --json "$1" >"$1.report" 2>/dev/null || true; tail -n1 rss.txt; }
    few=$(rss hosts-10.jsonl) many=$(rss hosts-1000.jsonl)
    echo "report --json peak RSS (KiB), 10 → 1000 hosts: $few → $many"
    fl_assert_eq 1000 "$(jq '.hosts | length' hosts-1000.jsonl.report)" "hosts in the streamed report"
    fl_assert_eq 3000 "$(jq '.summary.volumes' hosts-1000.jsonl.report)" "volumes in the streamed report"
    ((many - few < 3072)) || fl_fail "report --json grew by $((many - few)) KiB from 10 to 1000 hosts"
fi

# ---- usage ----
(! fipsluks report 2>/dev/null) || fl_fail "report without inputs accepted"
(! fipsluks report --max-age 3x web-1.jsonl 2>/dev/null) || fl_fail "--max-age 3x accepted"
(! fipsluks report --json --csv web-1.jsonl 2>/dev/null) || fl_fail "--json --csv accepted"
(! fipsluks report - - </dev/null 2>/dev/null) || fl_fail "standard input twice accepted"
echo "fleet-report: ok"
