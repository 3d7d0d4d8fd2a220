#!/usr/bin/env bash
# One rule per shared option, in every verb that takes it (src/cli/options.c): --keyfile-size 0 reads the
# whole file, --pbkdf-force-iterations 1000 to 2147483647, --iter-time 1 to 3600000, --hash in any case
# (stored in lower case), --keyfile-offset/--keyfile-size only with --key-file, standard input read once,
# one wording of each refusal; a repeated option leaks nothing (under valgrind, or ASan's leak check);
# one key-file reader (the same warnings in format, migrate and reencrypt); typed numbers and allowed
# values refused by the parser with one wording; and the bash completion, --help and the man pages agree
# with the binary's tables (fipsluks __complete).
. "$(dirname "$0")/lib/common.sh"

command -v cryptsetup >/dev/null || fl_skip "cryptsetup is not installed"
command -v jq >/dev/null || fl_skip "jq is not installed"
cd "$T"
fast=(--pbkdf-force-iterations 1000)
creating=(format migrate reencrypt) # the verbs that make PBKDF2 keyslots
reading=(format migrate)            # the verbs that take --keyfile-offset/--keyfile-size

# same_refusal OPTION…: each of "${verbs_[@]}" refuses the options (no target exists) with exit 1 and the
# same first line of standard error, but for the verb's name; that line is left in $FL_LINE.
same_refusal() {
    local v first='' line
    for v in "${verbs_[@]}"; do
        fl_expect_exit2 1 fipsluks "$v" --batch "$@" missing.img
        line=$(head -n1 <<<"$FL_ERR")
        fl_assert_contains "$line" "fipsluks $v: " "$v $*: names the verb"
        line=${line#"fipsluks $v: "}
        [[ -z $first || $line == "$first" ]] || fl_fail "$v $*: '$line', another verb said '$first'"
        first=$line
        fl_assert_contains "$FL_ERR" "Try 'fipsluks $v --help'." "$v $*: hint"
    done
    FL_LINE=$first
}
# dump IMAGE: the LUKS2 metadata
dump() { cryptsetup luksDump --dump-json-metadata "$1"; }
key() { fl_key "$1" "$2"; chmod 600 "$1"; }

key k0 "zero-secret-0"
key kshort "1234567"
printf 'HEADzero-secret-0' >kpad
chmod 600 kpad

# --- --keyfile-size 0: the whole file (cryptsetup's meaning), in every verb ---------------------------
truncate -s 24M f.img
fl_expect_exit2 0 fipsluks format --batch "${fast[@]}" --keyfile-size 0 -d k0 f.img
cryptsetup open --test-passphrase --key-file k0 f.img || fl_fail "format --keyfile-size 0: the whole file"
fl-mkluks --slot "kdf=pbkdf2,hash=ripemd160,key-file=k0" m.img
fl_expect_exit2 0 fipsluks migrate --batch "${fast[@]}" --keyfile-size 0 -d k0 --header-backup m.bak m.img
fl_assert_eq sha256 "$(dump m.img | jq -r '.keyslots["0"].kdf.hash')" "migrate --keyfile-size 0 converted"
cryptsetup open --test-passphrase --key-file k0 m.img || fl_fail "migrate --keyfile-size 0: the whole file"
# with an offset: the rest of the file
fl-mkluks --slot "kdf=pbkdf2,hash=ripemd160,key-file=k0" mo.img
fl_expect_exit2 0 fipsluks migrate --batch "${fast[@]}" --keyfile-offset 4 --keyfile-size 0 -d kpad --header-backup mo.bak mo.img
cryptsetup open --test-passphrase --key-file k0 mo.img || fl_fail "migrate --keyfile-offset 4 --keyfile-size 0"
verbs_=("${reading[@]}")
same_refusal -d k0 --keyfile-size 8388609
fl_assert_contains "$FL_LINE" "--keyfile-size '8388609': not a number from 0 to 8388608" "--keyfile-size too large"
same_refusal -d k0 --keyfile-size 12x
same_refusal -d k0 --keyfile-offset -1
# --keyfile-offset/--keyfile-size go with --key-file, in every verb
same_refusal --keyfile-size 4
fl_assert_contains "$FL_LINE" "need --key-file" "--keyfile-size without --key-file"
same_refusal --keyfile-offset 4
verbs_=(migrate reencrypt)
same_refusal -d - -d k0 -d -
fl_assert_contains "$FL_LINE" "standard input (--key-file=-) can be read only once" "stdin twice"

# --- --pbkdf-force-iterations: 1000 to 2147483647 (what a LUKS2 keyslot stores), in every verb ---------
verbs_=("${creating[@]}")
for n in 0 999 2147483648 4294967295 4294967296 -1000 abc; do
    same_refusal -d k0 --pbkdf-force-iterations "$n"
    fl_assert_contains "$FL_LINE" "--pbkdf-force-iterations '$n': not a number from 1000 to 2147483647" "iterations $n"
done
for v in "${creating[@]}"; do # accepted: the target is what is wrong
    fl_expect_exit2 4 fipsluks "$v" --batch -d k0 --pbkdf-force-iterations 2147483647 missing.img
done
# --iter-time: 1 to 3600000 milliseconds
for n in 0 3600001 -1 1s; do
    same_refusal -d k0 --iter-time "$n"
    fl_assert_contains "$FL_LINE" "--iter-time '$n': not a number from 1 to 3600000 (milliseconds)" "iter-time $n"
done
same_refusal -d k0 --iter-time 10 --pbkdf-force-iterations 1000
fl_assert_eq "--iter-time and --pbkdf-force-iterations exclude each other" "$FL_LINE" "both"

# --- --hash: any case, normalised to lower case, in every verb -----------------------------------------
for h in sha1 SHA1 ripemd160 Whirlpool md5 ""; do
    same_refusal -d k0 --hash "$h"
    fl_assert_eq "--hash '${h,,}' is not allowed; approved choices: sha256, sha512" "$FL_LINE" "--hash '$h'"
done
truncate -s 24M fh.img
fl_expect_exit2 0 fipsluks format --batch --json "${fast[@]}" --hash SHA512 -d k0 fh.img
fl_assert_eq sha512 "$(jq -r .hash <<<"$FL_OUT")" "format --hash SHA512: JSON"
fl_assert_eq "sha512 sha512" "$(dump fh.img | jq -r '[.keyslots["0"].kdf.hash, .digests["0"].hash] | join(" ")')" \
    "format --hash SHA512: header"
fl-mkluks --slot "kdf=pbkdf2,hash=ripemd160,key-file=k0" mh.img
fl_expect_exit2 0 fipsluks migrate --batch --json "${fast[@]}" --hash Sha512 -d k0 --header-backup mh.bak mh.img
fl_assert_eq sha512 "$(jq -r .hash <<<"$FL_OUT")" "migrate --hash Sha512: JSON"
fl_assert_eq sha512 "$(dump mh.img | jq -r '.keyslots["0"].kdf.hash')" "migrate --hash Sha512: header"
fl-mkluks --hash ripemd160 --slot "kdf=pbkdf2,hash=ripemd160,key-file=k0" --size 24 rh.img
fl_expect_exit2 0 fipsluks reencrypt --batch "${fast[@]}" --hash SHA256 --hotzone-size 8M -d k0 --header-backup rh.bak rh.img
fl_assert_eq "sha256" "$(dump rh.img | jq -r '[(.keyslots[] | .kdf.hash), (.digests[] | .hash)] | unique | join(" ")')" \
    "reencrypt --hash SHA256: every keyslot and digest"
cryptsetup open --test-passphrase --key-file k0 rh.img || fl_fail "reencrypt --hash SHA256: the secret opens"

# --- typed numbers: --hotzone-size takes cryptsetup's suffixes; --sector-size, --key-size refused the same way
verbs_=(reencrypt)
for n in 1MB 5000 2T 4X; do
    same_refusal -d k0 --hotzone-size "$n"
    fl_assert_contains "$FL_LINE" "--hotzone-size '$n': not a number from 4096 to 1099511627776 (bytes, a multiple of 4096; suffixes" "hotzone $n"
done
fl_expect_exit2 4 fipsluks reencrypt --batch -d k0 --hotzone-size 1M missing.img # accepted: the target is what is wrong
verbs_=(format)
for n in 0 256 3000 8192 4k; do
    same_refusal -d k0 --sector-size "$n"
    fl_assert_contains "$FL_LINE" "--sector-size '$n': not a number from 512 to 4096 (bytes, a power of two; " "sector $n"
done
for n in 0 384 abc; do
    same_refusal -d k0 --key-size "$n"
    fl_assert_eq "--key-size '$n' is not allowed; approved choices: 256, 512" "$FL_LINE" "key-size $n"
done
fl_expect_exit2 1 fipsluks report --max-age 1ds missing.json
fl_assert_contains "$FL_ERR" "fipsluks report: --max-age '1ds': not a number (seconds; units s, m, h, d, w)" "--max-age 1ds"
# --- allowed values: in the table, refused by the parser with one wording ------------------------------
verbs_=(reencrypt)
same_refusal -d k0 --verify-data all
fl_assert_eq "--verify-data 'all' is not allowed; choices: sample, full" "$FL_LINE" "--verify-data all"
same_refusal -d k0 --resilience none
fl_assert_eq "--resilience 'none' is not allowed; choices: checksum, journal" "$FL_LINE" "--resilience none"
fl_expect_exit2 1 fipsluks scan --format xml t0.img
fl_assert_contains "$FL_ERR" "fipsluks scan: --format 'xml' is not allowed; choices: text, json, json-lines, prometheus" "scan --format"
fl_expect_exit2 1 fipsluks check --format json-lines
fl_assert_contains "$FL_ERR" "fipsluks check: --format 'json-lines' is not allowed; choices: text, json, prometheus" "check --format"
fl_expect_exit2 1 fipsluks check --emit yaml
fl_assert_contains "$FL_ERR" "fipsluks check: --emit 'yaml' is not allowed; choices: butane, ignition" "check --emit"

# --- one key-file reader: the same warnings in every verb that reads key files -------------------------
fl-mkluks --slot "kdf=pbkdf2,hash=ripemd160,key-file=kshort" ws.img
fl-mkluks --hash ripemd160 --slot "kdf=pbkdf2,hash=ripemd160,key-file=kshort" --size 24 wr.img
truncate -s 24M wf.img
chmod 0644 kshort
fl_expect_exit2 0 fipsluks format --batch "${fast[@]}" -d kshort wf.img
warn_format=$FL_ERR
fl_expect_exit2 0 fipsluks migrate --batch "${fast[@]}" -d kshort --header-backup ws.bak ws.img
warn_migrate=$FL_ERR
fl_expect_exit2 0 fipsluks reencrypt --batch "${fast[@]}" -d kshort --header-backup wr.bak wr.img
warn_reencrypt=$(grep '^fipsluks: warning' <<<"$FL_ERR" || true)
chmod 0600 kshort
want="fipsluks: warning: key file 'kshort' can be read by group or others; chmod 0400 it
fipsluks: warning: the passphrase is 7 bytes long (key file 'kshort'): Red Hat's FIPS OpenSSL (RHEL 9 and 10) refuses PBKDF2 passphrases shorter than 8 bytes, so such a host may not open this volume"
for v in format migrate reencrypt; do
    w=warn_$v
    fl_assert_eq "$want" "$(grep '^fipsluks: warning' <<<"${!w}")" "$v: the key file warnings"
done
# the same wording for a key file that cannot be read
truncate -s 24M e.img
cp m.img e2.img
for v in "${reading[@]}"; do
    img=e.img
    [[ $v == format ]] || img=e2.img
    fl_expect_exit2 1 fipsluks "$v" --batch "${fast[@]}" --keyfile-offset 4 --keyfile-size 14 -d kpad $img
    fl_assert_contains "$FL_ERR" "fipsluks: key file 'kpad' is empty or shorter than --keyfile-offset/--keyfile-size ask for" "$v: short key file"
done

# --- an option given twice leaks nothing (popt's own storage did, in five verbs) ----------------------
# Under FL_VALGRIND=1 or in an ASan build (LeakSanitizer) every fipsluks is checked already; otherwise run
# these under valgrind here, when there is one.
leakcheck=()
fipsluks_bin=$(command -v fipsluks)
if [[ ${FL_VALGRIND:-0} != 1 ]] && ! grep -q __asan_init "$fipsluks_bin" && command -v valgrind >/dev/null; then
    leakcheck=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
        --show-leak-kinds=definite "--suppressions=$FL_SOURCE_DIR/tests/valgrind.supp")
fi
twice() { # CODE VERB ARGS…: exits CODE, and leaks nothing
    local want=$1
    shift
    fl_expect_exit2 "$want" "${leakcheck[@]}" "$fipsluks_bin" "$@"
}
fl-mkluks --slot "kdf=pbkdf2,hash=ripemd160,key-file=k0" t.img
twice 4 scan --header a --header b --jobs 1 --jobs 2 --format text --format json --output o1 --output o2 t.img
twice 1 check --root /nonexistent --root /nonexistent2 --emit x --emit y
twice 0 check --emit butane --emit butane --luks a:/dev/x --luks b:/dev/y
twice 4 report --max-age 1d --max-age 2d --output HOST,os --output +STATE missing.json
twice 4 format --batch --hash sha256 --hash SHA512 -d k0 -d k0 --label a --label b --cipher x --cipher aes-xts-plain64 missing.img
twice 1 format --batch --hash sha256 --hash sha1 -d k0 -d k0 missing.img
twice 0 migrate --batch --dry-run --hash sha256 --hash sha512 --key-file k0 --header-backup a --header-backup b \
    --iter-time 10 --iter-time 20 --keyfile-offset 0 --keyfile-offset 0 -T 2 -T 3 t.img
twice 1 migrate --batch --hash sha256 --hash x --header a --header b -d k0 t.img
twice 4 reencrypt --batch --hash sha256 --hash sha512 --resilience journal --resilience checksum --header a --header b \
    --hotzone-size 4096 --hotzone-size 8192 -d k0 missing.img
twice 1 reencrypt --batch --resilience x --resilience y -d k0 missing.img

# --- one table: the bash completion, --help and the man pages say what the binary's tables hold ---------
# "fipsluks __complete" is the tables (fl_verbs[], fl_option_table[]) as the completion reads them.
fl_expect_exit2 0 fipsluks __complete
table=$FL_OUT
completion=$FL_SOURCE_DIR/scripts/bash-completion/fipsluks
comp() { # WORD…: the sorted COMPREPLY of _fipsluks for the words (the last is being completed)
    bash --norc --noprofile -c '. "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _fipsluks fipsluks "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@" | sort | tr '\n' ' '
}
sorted() { sort | tr '\n' ' '; }
# man_entries PAGE SECTION: the long options of SECTION's .TP entries ("OPT --x"), and each entry's lines
# ("TEXT --x LINE")
man_entries() {
    awk -v sec="$2" '/^\.SH/ { in_sec = ($0 == ".SH " sec); next }
        in_sec && /^\.(TP|PP|SS)/ { tp = ($1 == ".TP"); next }
        in_sec && tp { gsub(/\\-/, "-"); n = split($0, w, /[^a-z0-9-]+/); opt = ""
            for (i = 1; i <= n; i++) if (w[i] ~ /^--[a-z0-9]/) { opt = w[i]; print "OPT " opt }
            tp = 0; cur = opt; if (opt != "") print "TEXT " opt " " $0; next }
        in_sec && cur != "" { gsub(/\\-/, "-"); print "TEXT " cur " " $0 }' "$FL_SOURCE_DIR/man/$1"
}
verbs=$(awk '$1 == "verb" { print $2 }' <<<"$table")
fl_assert_eq "scan check format migrate reencrypt report" "$(paste -sd ' ' <<<"$verbs")" "the verb table"
fl_expect_exit2 0 fipsluks --help
fl_assert_eq "$verbs" "$(sed -nE '/^Verbs:/,/^$/s/^  ([a-z]+) .*/\1/p' <<<"$FL_OUT")" "fipsluks --help lists the verbs"
fl_assert_eq "$(printf '%s\nhelp\n' "$verbs" | sorted)" "$(comp fipsluks "")" "completion: the verbs"
for v in $verbs; do
    opts=$(awk -v v="$v" '$1 == "option" && $2 == v { print $3 }' <<<"$table" | sorted)
    fl_expect_exit2 0 fipsluks "$v" --help
    help=$FL_OUT
    fl_assert_eq "$opts" "$(grep -oE '^ +(-[^-], )?--[a-z0-9-]+' <<<"$help" | grep -oE -- '--[a-z0-9-]+' | sorted)" \
        "$v --help lists the table's options"
    fl_assert_eq "$opts" "$(comp fipsluks "$v" --)" "completion: $v's options"
    entries=$(man_entries "fipsluks-$v.8" OPTIONS)
    fl_assert_eq "$(grep -vxE -- '--(help|usage)' <<<"${opts// /$'\n'}" | grep . | sorted)" \
        "$(awk '$1 == "OPT" { print $2 }' <<<"$entries" | grep -vxE -- '--help' | sort -u | tr '\n' ' ')" \
        "fipsluks-$v(8) OPTIONS lists the table's options"
    while read -r _ _ long short arg; do
        values=$(awk -v v="$v" -v o="$long" '$1 == "value" && $2 == v && $3 == o { print $4 }' <<<"$table")
        shown=$(sed -nE "s/^ +(-[^-], )?$long=([^ ]+).*/\2/p" <<<"$help")
        [[ $arg == - ]] && want="" || want=$arg
        [[ -z $values || $shown == "$arg" ]] || want=$(paste -sd '|' <<<"$values")
        fl_assert_eq "$want" "$shown" "$v --help: the argument of $long"
        [[ -n $values ]] || continue
        fl_assert_eq "$(sorted <<<"$values")" "$(comp fipsluks "$v" "$long" "")" "completion: $v $long's values"
        [[ $short == - ]] || fl_assert_eq "$(sorted <<<"$values")" "$(comp fipsluks "$v" "$short" "")" "completion: $v $short"
        for value in $values; do # the man page names each value in the option's entry
            grep -qF -- "TEXT $long " <<<"$entries" || fl_fail "fipsluks-$v(8): no text for $long"
            grep -F -- "TEXT $long " <<<"$entries" | grep -qE -- "(^|[^a-z0-9-])$value([^a-z0-9-]|$)" ||
                fl_fail "fipsluks-$v(8): $long does not name '$value'"
        done
    done < <(awk -v v="$v" '$1 == "option" && $2 == v' <<<"$table")
done

echo "test-options: ok"
