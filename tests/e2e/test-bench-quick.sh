#!/usr/bin/env bash
# scripts/bench/all --quick keeps working: every benchmark runs on a tiny set and the results table
# has a row with a number for every figure. Benchmarks are not tests: no timing target is asserted.
. "$(dirname "$0")/lib/common.sh"

command -v cryptsetup >/dev/null || fl_skip "cryptsetup is not installed"
[[ -x /usr/bin/time ]] || fl_skip "GNU time is not installed (scripts/setup installs it)"

rc=0
TMPDIR=$T "$FL_SOURCE_DIR/scripts/bench/all" --quick >"$T/out" 2>"$T/err" || rc=$?
fl_assert_eq 0 "$rc" "scripts/bench/all --quick exit status (stderr: $(tail -n 5 "$T/err"))"
sed -n '/^## Results$/,$p' "$T/out" >"$T/results"
[[ -s $T/results ]] || fl_fail "no results section in the output"
fl_assert_contains "$(cat "$T/results")" "machine: " "the machine line"
fl_assert_contains "$(cat "$T/results")" "libcryptsetup " "the versions"
fl_assert_contains "$(cat "$T/results")" "load average " "the load average"

# figure NAME: its row, with a number and a verdict
figure() {
    local row
    row=$(grep -F "| $1" "$T/results" | head -n 1) || true
    [[ -n $row ]] || fl_fail "no row for '$1' in the results table"
    [[ $row =~ ^\|[^|]+\|\ -?[0-9]+(\.[0-9]+)?\ [^|]*\|[^|]+\|\ (met|NOT\ met|info)\ \| ]] ||
        fl_fail "the row for '$1' has no number and verdict: $row"
}
figure "scan, warm, 20 headers: fipsluks / floor"
figure "scan, warm, 40 headers: fipsluks / floor"
figure "scan, warm, 20 headers: fipsluks / crypt_load (CPU)"
figure "scan vs a luksDump loop: times faster"
for mode in text json json-lines prometheus; do
    figure "scan peak RSS, 40 volumes, --format $mode"
done
figure "start-up: fipsluks scan IMAGE / cryptsetup isLuks IMAGE"
if [[ $(id -u) == 0 ]] && command -v losetup >/dev/null; then
    figure "scan, cold cache: fipsluks / floor"
    figure "scan, cold cache: bytes read per volume / header region"
fi
figure "report --json peak RSS, 50 hosts x 5 volumes"
figure "format, --iter-time 50: fipsluks / cryptsetup luksFormat"
figure "format, --iter-time 50: keyslot iterations, distance from cryptsetup's"
figure "migrate: fipsluks / (luksConvertKey + one derivation)"
figure "reencrypt: fipsluks / cryptsetup reencrypt"
figure "check: the whole fipsluks check of this host"
figure "check: one 16384-byte configuration file, the slowest case (CPU)"
# every figure any benchmark reported is in the table, and only those
fl_assert_eq "$(grep -c '^figure: ' "$T/out")" "$(grep -c '^| ' "$T/results" | awk '{ print $1 - 1 }')" \
    "figures reported and rows in the table (less its heading)"
echo "bench-quick: $(grep -c '^figure: ' "$T/out") figures"
