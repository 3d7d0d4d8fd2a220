#!/usr/bin/env bash
# fipsluks report's host table, printed by libsmartcols: --output picks its columns (lsblk's way: names in
# any case, in the order given, "+" adds to the default; an unknown name is a usage error, and so is
# --output with --json or --csv); a narrow terminal (COLUMNS, or a real one on a pty) cuts the text columns
# before the host name, each cut cell ending with "…" ("+" outside UTF-8); a terminal too narrow for the
# table at all (1, 5, 20 columns with every column) gets whole rows at the minimum widths, at once (fipsluks
# plans the widths itself: libsmartcols 2.39-2.40 loops forever reducing them); host names with controls,
# bidi overrides and invalid UTF-8 stay escaped, in a UTF-8 locale and in the C locale (where libsmartcols
# 2.38 spins forever on bytes it cannot decode, unless they are escaped first).
. "$(dirname "$0")/lib/common.sh"

command -v jq >/dev/null || fl_skip "jq is not installed"
command -v script >/dev/null || fl_fail "no script(1) (bsdutils): the narrow terminals run on a pty"
cd "$T"
export LC_ALL=C.UTF-8
fl_key a.key "output-argon"
fl_key b.key "output-pbkdf2"
fl-mkluks --slot "kdf=argon2id,key-file=a.key" old.img
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,iter=1000,key-file=b.key" good.img
fipsluks scan --json-lines --jobs 1 old.img good.img missing.img >scan.jsonl || true
fipsluks scan --json-lines good.img >good.jsonl

# as HOST: the records as if HOST (machine id from its name) had written them; the OS is "debian 12"
as() { jq -c --arg h "$1" --arg m "$(printf '%s' "$1" | md5sum | cut -c1-32)" \
    '.host.hostname = $h | .host.machine_id = $m | .host.os_id = "debian" | .host.os_version_id = "12"'; }
as web-1 <scan.jsonl >web-1.jsonl
as db-1 <good.jsonl >db-1.jsonl
long=storage-node-12.example.com
as "$long" <good.jsonl >long.jsonl
inputs=(web-1.jsonl db-1.jsonl long.jsonl)

# table TEXT: the host table's lines (from its header to the blank line after it), spaces squeezed
table() { awk '/^[A-Z]+( |$)/ && !/^To do/ { on = 1 } on && /^$/ { exit } on' <<<"$1" | tr -s ' ' | sed 's/^ //; s/ $//'; }

# ---- --output: the columns named, in that order, with the hosts' real cells ----
fl_expect_exit2 6 fipsluks report --output state,Host,vols "${inputs[@]}"
fl_assert_eq "STATE HOST VOLS
ok db-1 1
ok $long 1
incompatible unreadable web-1 3" "$(table "$FL_OUT")" "--output state,Host,vols (hosts sorted by name)"
fl_assert_contains "$FL_OUT" "3 hosts, 5 volumes: 3 FIPS-compatible" "the summary above the table stays"
fl_assert_contains "$FL_OUT" "  web-1 (machine-id " "the to-do list below it stays"
fl_expect_exit2 6 fipsluks report -o BAD,bad,UNREAD web-1.jsonl
fl_assert_eq "BAD BAD UNREAD
1 1 1" "$(table "$FL_OUT")" "a column twice"
# "+": the default columns, then these; the default is every column
fl_expect_exit2 6 fipsluks report -o +host "${inputs[@]}"
fl_assert_eq "HOST OS SCANNED VOLS OK BAD UNREAD STATE HOST" "$(table "$FL_OUT" | head -n1)" "+host"
fl_assert_eq "web-1 debian 12 $(jq -r 'select(.record == "summary") | .scanned_at' web-1.jsonl) 3 1 1 1 incompatible unreadable web-1" \
    "$(table "$FL_OUT" | grep '^web-1 ')" "web-1's row, every column"
fl_expect_exit2 6 fipsluks report "${inputs[@]}"
fl_assert_eq "HOST OS SCANNED VOLS OK BAD UNREAD STATE" "$(table "$FL_OUT" | head -n1)" "the default columns"

# ---- usage errors: exit code 1, one line naming the column, the --help hint ----
fl_expect_exit2 1 fipsluks report --output HOST,NAME web-1.jsonl
fl_assert_eq "fipsluks report: --output 'NAME' is not allowed; choices: HOST, OS, SCANNED, VOLS, OK, BAD, UNREAD, STATE
Try 'fipsluks report --help'." "$FL_ERR" "an unknown column"
fl_assert_eq "" "$FL_OUT" "nothing printed"
fl_expect_exit2 1 fipsluks report --output HOST,,OS web-1.jsonl
for fmt in json csv; do
    fl_expect_exit2 1 fipsluks report --$fmt --output HOST web-1.jsonl
    fl_assert_contains "$FL_ERR" "fipsluks report: --output chooses the text table's columns: not with --$fmt" "--$fmt --output"
done
fl_expect_exit2 0 fipsluks report --help
fl_assert_contains "$FL_OUT" "  UNREAD   volumes that could not be read" "--help lists the columns"

# ---- a narrow terminal: the text columns are cut first, the host name only when that is not enough
# (64: OS, SCANNED and STATE cut to their names' widths leave room for the 27 characters of $long) ----
COLUMNS=64 fl_expect_exit2 6 fipsluks report "${inputs[@]}"
lines=$(awk '/^HOST/,/^$/' <<<"$FL_OUT")
while IFS= read -r line; do
    ((${#line} <= 64)) || fl_fail "COLUMNS=64: a table line of ${#line} columns: $line"
done <<<"$lines"
fl_assert_eq "db-1 $long web-1" "$(tail -n +2 <<<"$lines" | awk 'NF { print $1 }' | paste -sd ' ')" \
    "COLUMNS=64: the host names whole"
[[ $(head -n1 <<<"$lines") == *STATE* ]] || fl_fail "COLUMNS=64: a column went missing"
# 20 columns, HOST and STATE: even with STATE at its name's width the long host name does not fit, so it is
# cut too, to what is left (8 at least), and ends with "…"; the short names stay whole
COLUMNS=20 fl_expect_exit2 6 fipsluks report -o host,state "${inputs[@]}"
rows=$(table "$FL_OUT" | tail -n +2)
fl_assert_eq "HOST STATE" "$(table "$FL_OUT" | head -n1)" "COLUMNS=20: the header"
read -r h1 s1 h2 s2 h3 s3 <<<"$(paste -sd ' ' <<<"$rows")"
fl_assert_eq "db-1 ok web-1" "$h1 $s1 $h3" "COLUMNS=20: short cells whole"
[[ ${#h2} -ge 8 && $h2 == *… && $long == "${h2%…}"* ]] || fl_fail "COLUMNS=20: '$h2' is not $long cut to 8 or more, with …"
fl_assert_eq "inco…" "$s3" "COLUMNS=20: web-1's state cut to STATE's width"
while IFS= read -r line; do
    ((${#line} <= 20)) || fl_fail "COLUMNS=20: a table line of ${#line} columns: $line"
done < <(awk '/^HOST/,/^$/' <<<"$FL_OUT")
# outside a UTF-8 locale the cut mark is "+" ("…" is not text there)
out=$(LC_ALL=C COLUMNS=20 timeout 20 fipsluks report -o host,state "${inputs[@]}") || [[ $? == 6 ]] ||
    fl_fail "LC_ALL=C COLUMNS=20: report failed or hung"
fl_assert_contains "$(table "$out")" "${long:0:13}+ ok" "LC_ALL=C COLUMNS=20: the long name cut with +"

# ---- too narrow for the table at all: every column at its minimum (HOST 8, OS 2, SCANNED 7, STATE 5; counts
# never cut), rows whole and wider than the terminal, printed at once. COLUMNS below 20 is not taken (it
# would be a mistake), so widths 1 and 5 are real terminals: a pty of that size, where the table width
# comes from the terminal (libsmartcols 2.39.3 looped forever on each of these before fipsluks planned it) ----
scanned() { jq -r 'select(.record == "summary") | .scanned_at' "$1" | cut -c1-6; }
minimal="HOST     OS SCANNED VOLS OK BAD UNREAD STATE
db-1     d… $(scanned db-1.jsonl)…    1  1   0      0 ok
storage… d… $(scanned long.jsonl)…    1  1   0      0 ok
web-1    d… $(scanned web-1.jsonl)…    3  1   1      1 inco…"
every=host,os,scanned,vols,ok,bad,unread,state
COLUMNS=20 fl_expect_exit2 6 timeout 20 fipsluks report -o $every "${inputs[@]}"
fl_assert_eq "$minimal" "$(awk '/^HOST/,/^$/' <<<"$FL_OUT" | sed '/^$/d')" "COLUMNS=20, every column: the minimum widths"
for w in 1 5; do
    rc=0
    COLUMNS=$w timeout 20 script -qec "stty cols $w rows 24 && exec fipsluks report -o $every ${inputs[*]}" \
        /dev/null </dev/null >tty.out 2>&1 || rc=$?
    ((rc == 6)) || fl_fail "a terminal $w wide: exit $rc (124: it hung); $(tr -d '\r' <tty.out)"
    fl_assert_eq "$minimal" "$(tr -d '\r' <tty.out | awk '/^HOST/,/^$/' | sed '/^$/d')" \
        "a terminal $w wide, every column: the minimum widths"
done

# ---- hostile host names: escaped in the table, in a UTF-8 locale and in the C locale ----
esc=$'\x1b' c1=$'\xc2\x9b' rlo=$'\xe2\x80\xae'
as "evil${esc}[2J${c1}x${rlo}y" <good.jsonl >evil.jsonl
# invalid UTF-8 (the raw bytes ff fe) in a host name: JSON text that is not UTF-8
as "badXXutf" <good.jsonl | sed $'s/badXXutf/bad\xff\xfeutf/' >bad.jsonl
as "münchen" <good.jsonl >utf8.jsonl
for locale in C.UTF-8 C; do
    out=$(LC_ALL=$locale timeout 20 fipsluks report -o host,state evil.jsonl bad.jsonl utf8.jsonl) ||
        fl_fail "LC_ALL=$locale: report failed or hung ($?)"
    if grep -q "$esc\|$c1\|$rlo\|"$'\xff' <<<"$out"; then
        fl_fail "LC_ALL=$locale: a control, bidi or invalid byte reached the table raw"
    fi
    rows=$(table "$out" | tail -n +2)
    fl_assert_contains "$rows" 'evil\x1b[2J\xc2\x9bx\xe2\x80\xaey ok' "LC_ALL=$locale: controls escaped once"
    fl_assert_contains "$rows" 'bad\xff\xfeutf ok' "LC_ALL=$locale: invalid UTF-8 escaped"
    if [[ $locale == C ]]; then
        fl_assert_contains "$rows" 'm\xc3\xbcnchen ok' "LC_ALL=C: UTF-8 as bytes"
    else
        fl_assert_contains "$rows" 'münchen ok' "LC_ALL=C.UTF-8: UTF-8 as it is"
    fi
done
echo "report-output: ok"
