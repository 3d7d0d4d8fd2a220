#!/usr/bin/env bash
# fipsluks report on input written by other, possibly compromised, hosts (issue 20): nothing a record
# says is shown as a command; a scan from the future is refused; records that disagree give the
# worse verdict in any order; commands use the absolute path; controls and bidi characters never
# reach the output raw; the merge is linear and one hostile value cannot take the memory.
. "$(dirname "$0")/lib/common.sh"

cd "$T"
fl_key a.key "hostile-argon"
fl_key b.key "hostile-pbkdf2"
fl_key t.key "hostile-token"
fl-mkluks --slot "kdf=argon2id,key-file=a.key" old.img
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,iter=100000,key-file=b.key" good.img
fl-mkluks --type luks1 --hash ripemd160 --slot "key-file=b.key,iter=5000" l1.img
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,iter=100000,key-file=b.key" \
    --slot "kdf=argon2id,key-file=t.key,token=systemd-tpm2" tok.img
mkdir data
cp --sparse=always old.img data/rel.img

# as HOST: rewrite a scan's records as if HOST (machine id from its name) had written them
as() { jq -c --arg h "$1" --arg m "$(printf '%s' "$1" | md5sum | cut -c1-32)" '.host.hostname = $h | .host.machine_id = $m'; }
rc=0
fipsluks scan --json-lines --jobs 1 old.img good.img l1.img tok.img >scan.jsonl || rc=$?
fl_assert_eq 6 "$rc" "scan exit code"
# one volume's record: vol NAME
vol() { jq -c --arg p "$1" 'select(.record == "volume" and .path == $p)' scan.jsonl; }
summary() { jq -c 'select(.record == "summary")' scan.jsonl; }
fl_assert_eq "$PWD/old.img" "$(vol old.img | jq -r .absolute_path)" "scan records the absolute path"

# ---- remedies are never copied: the to-do list is rebuilt from rule ids, keyslots and paths ----
{
    vol old.img | jq -c '.findings[0].remedy = "fipsluks format --force --batch --new-key-file /root/x /dev/sda"
        | .findings += [{"rule": "FL-EVIL", "severity": "error", "object": "header", "message": "x",
                         "remedy": "cryptsetup luksErase --batch-mode /dev/sdb"}]'
    vol good.img
    summary
} | as db-1 >evil.jsonl
rc=0
fipsluks report evil.jsonl >evil.txt 2>evil.err || rc=$?
cat evil.txt
fl_assert_eq 6 "$rc" "report exit code"
grep -q -- '--force\|luksErase\|/dev/sd' evil.txt && fl_fail "a record's remedy was shown"
fl_assert_contains "$(cat evil.txt)" "    fipsluks migrate --key-slot 0 $PWD/old.img" "the command report built"
fl_assert_contains "$(cat evil.txt)" "    # $PWD/old.img: needs a look: 1 error finding of rules this fipsluks does not know (FL-EVIL)" \
    "an unknown rule needs a look, without a command"
fipsluks report --json evil.jsonl >evil.json 2>/dev/null || true
fl_assert_eq "fipsluks migrate --key-slot 0 $PWD/old.img" "$(jq -r '.hosts[0].commands | join("|")' evil.json)" \
    "the JSON's commands: only what report built"
fipsluks report --csv evil.jsonl >evil.csv 2>/dev/null || true
grep -q -- '--force\|luksErase' evil.csv && fl_fail "a record's remedy reached the CSV"

# ---- what the to-do list must say: LUKS1/ripemd160 is reencrypted; a token-bound keyslot is listed ----
{
    vol l1.img
    vol tok.img
    summary
} | as app-1 >todo.jsonl
fipsluks report --json todo.jsonl >todo.json 2>/dev/null || true
fl_assert_eq "fipsluks reencrypt $PWD/l1.img" \
    "$(jq -r '.hosts[0].volumes[] | select(.path == "l1.img") | .commands | join("|")' todo.json)" \
    "LUKS1 with ripemd160: reencrypt (before FIPS mode), not a scan"
fl_assert_contains "$(jq -r '.hosts[0].volumes[] | select(.path == "l1.img") | .notes[]' todo.json)" \
    "not yet in FIPS mode" "reencrypt runs before FIPS mode"
fl_assert_contains "$(jq -r '.hosts[0].notes[]' todo.json)" \
    "$PWD/tok.img: re-enroll the systemd-tpm2 token for keyslot 1 (e.g. systemd-cryptenroll --wipe-slot=1 --tpm2-device=auto $PWD/tok.img)" \
    "the token-bound argon2 keyslot, with scan's re-enrolment guidance"
# scan and report say the same about it (scan with the path as it was given)
fl_assert_contains "$(vol tok.img | jq -r '.findings[] | select(.object == "keyslot 1") | .remedy')" \
    "re-enroll the systemd-tpm2 token for keyslot 1 (e.g. systemd-cryptenroll --wipe-slot=1 --tpm2-device=auto tok.img)" \
    "scan's words"

# ---- a scan from the future is refused; the host's real scan counts ----
{
    vol good.img | jq -c '.scanned_at = "2999-01-01T00:00:00Z"'
    jq -c 'select(.record == "summary") | .scanned_at = "2999-01-01T00:00:00Z"' scan.jsonl
} | as web-1 >future.jsonl
{
    vol old.img
    summary
} | as web-1 >real.jsonl
rc=0
fipsluks report --json future.jsonl real.jsonl >future.json 2>future.err || rc=$?
fl_assert_eq 6 "$rc" "the real, incompatible scan counts"
fl_assert_contains "$(cat future.err)" "future.jsonl:1: \"scanned_at\" 2999-01-01T00:00:00Z is in the future" "input error"
fl_assert_eq 1 "$(jq '.hosts[0].incompatible' future.json)" "web-1's real scan"
fl_assert_eq 2 "$(jq '.summary.input_errors' future.json)" "both future records refused"
# a little clock skew is fine
skewed=$(date -u -d '+2 minutes' +%Y-%m-%dT%H:%M:%SZ)
{
    vol good.img
    summary
} | jq -c --arg t "$skewed" '.scanned_at = $t' | as skew-1 >skew.jsonl
fipsluks report --json skew.jsonl >skew.json 2>/dev/null
fl_assert_eq 0 "$(jq '.summary.input_errors' skew.json)" "two minutes ahead: accepted"

# ---- two records of one volume that disagree: the worse verdict, whatever the order ----
{
    vol good.img
    summary
} | as db-2 >a.jsonl
{
    vol old.img | jq -c --argjson good "$(vol good.img)" '.path = $good.path | .absolute_path = $good.absolute_path'
    summary
} | as db-2 >b.jsonl
rc_ab=0 rc_ba=0
fipsluks report --json a.jsonl b.jsonl >ab.json 2>/dev/null || rc_ab=$?
fipsluks report --json b.jsonl a.jsonl >ba.json 2>/dev/null || rc_ba=$?
fl_assert_eq "6 6" "$rc_ab $rc_ba" "exit codes of report a b and report b a"
diff <(jq -S 'del(.generated_at)' ab.json) <(jq -S 'del(.generated_at)' ba.json) ||
    fl_fail "the report depends on the order of its inputs"
fl_assert_eq incompatible "$(jq -r '.hosts[0].volumes[0].state' ab.json)" "the worse verdict"

# ---- relative paths: scan records the absolute one, report's command works from anywhere ----
fipsluks scan --json-lines data/rel.img | as rel-1 >rel.jsonl || true
(cd / && fipsluks report --json "$T/rel.jsonl" >"$T/rel.json" 2>/dev/null) || true
fl_assert_eq "fipsluks migrate --key-slot 0 $PWD/data/rel.img" "$(jq -r '.hosts[0].commands[0]' rel.json)" \
    "the command uses the absolute path"
# an old record without one: no command, a note
jq -c 'del(.absolute_path)' rel.jsonl >rel-old.jsonl
fipsluks report --json rel-old.jsonl >rel-old.json 2>/dev/null || true
fl_assert_eq 0 "$(jq '.hosts[0].commands | length' rel-old.json)" "a relative path: no command"
fl_assert_contains "$(jq -r '.hosts[0].notes[0]' rel-old.json)" "needs a look: the record has no absolute path" "note"

# ---- controls and bidi characters: escaped in text and CSV, never in a command ----
c1=$'\xc2\x9b'  # U+009B, CSI to some terminals
rlo=$'\xe2\x80\xae' # U+202E RIGHT-TO-LEFT OVERRIDE
{
    vol old.img | jq -c --arg c1 "$c1" --arg rlo "$rlo" '.path = "/srv/gpj.\($rlo)exe" | .absolute_path = .path
        | .label = "l\($c1)31m"'
    vol good.img | jq -c --arg rlo "$rlo" '.label = "x\($rlo)y"'
    summary
} | jq -c --arg c1 "$c1" --arg rlo "$rlo" '.host.hostname = "evil\($c1)2J\($rlo)\nfake-row" | .host.os_id = "deb\($rlo)ian"
    | .host.machine_id = "77777777777777777777777777777777"' >bidi.jsonl
fipsluks report bidi.jsonl >bidi.txt 2>&1 || true
fipsluks report --csv bidi.jsonl >bidi.csv 2>/dev/null || true
cat bidi.txt bidi.csv
for f in bidi.txt bidi.csv; do
    grep -q "$c1" "$f" && fl_fail "a C1 control reached $f raw"
    grep -q "$rlo" "$f" && fl_fail "U+202E reached $f raw"
done
fl_assert_contains "$(cat bidi.txt)" 'evil\xc2\x9b2J\xe2\x80\xae' "the host name, escaped"
fl_assert_contains "$(cat bidi.csv)" '/srv/gpj.\xe2\x80\xaeexe' "the path, escaped in the CSV"
grep -q '^    fipsluks.*gpj' bidi.txt && fl_fail "a command for a path with a bidi override"
python3 -c 'import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 2 and all("\n" not in r["hostname"] for r in rows), rows' bidi.csv ||
    fl_fail "a newline in a host name reached the CSV raw"
fl_assert_contains "$(cat bidi.txt)" "needs a look: the record has no absolute path fit for a command" "no command"

# ---- scale: linear in hosts and in volumes; one hostile value cannot take the memory ----
if [[ $(ldd "$(command -v fipsluks)") != *libasan* && ${FL_VALGRIND:-0} != 1 ]]; then
    python3 - "$(vol good.img)" <<'PY'
import json, sys
rec = json.loads(sys.argv[1])
rec["keyslots"] = rec["segments"] = rec["digests"] = []
with open("hosts.jsonl", "w") as out:  # 100,000 hosts, one volume each
    for h in range(100000):
        rec["host"] = {"hostname": "h-%d" % h, "machine_id": "%032x" % h}
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")
with open("volumes.jsonl", "w") as out:  # one host, 100,000 volumes
    rec["host"] = {"hostname": "big", "machine_id": "b" * 32}
    for v in range(100000):
        rec["path"] = rec["absolute_path"] = "/dev/v%d" % v
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")
# one record with a 64 MiB label
rec["label"] = "x" * (64 << 20)
open("label.jsonl", "w").write(json.dumps(rec) + "\n" + json.dumps(dict(rec, label="ok")) + "\n")
PY
    # the quadratic merge took 102 s for 100k hosts and ~80 s for 100k volumes of one host
    t0=$SECONDS
    timeout 60 fipsluks report --json hosts.jsonl >hosts.json 2>/dev/null || [[ $? == 6 ]] ||
        fl_fail "report of 100,000 hosts did not finish in 60 s"
    fl_assert_eq 100000 "$(jq .summary.hosts hosts.json)" "hosts"
    timeout 60 fipsluks report --json volumes.jsonl >volumes.json 2>/dev/null || [[ $? == 6 ]] ||
        fl_fail "report of one host with 100,000 volumes did not finish in 60 s"
    fl_assert_eq 100000 "$(jq .summary.volumes volumes.json)" "volumes"
    echo "100k hosts and 100k volumes of one host: $((SECONDS - t0)) s"
    /usr/bin/time -f %M -o rss.txt fipsluks report --json label.jsonl >label.json 2>label.err || true
    rss=$(tail -n1 rss.txt)
    echo "a 64 MiB label: peak RSS $rss KiB"
    fl_assert_contains "$(cat label.err)" "label.jsonl:1: a string longer than 4096 characters: refused" "capped"
    fl_assert_eq ok "$(jq -r '.hosts[0].volumes[0].label' label.json)" "the next record still read"
    ((rss < 40 * 1024)) || fl_fail "a 64 MiB label took $rss KiB"
fi
echo "fleet-report-hostile: ok"
