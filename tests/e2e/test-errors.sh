#!/usr/bin/env bash
# One failure, one error line, the documented exit code (fipsluks(8), EXIT STATUS): for failures of
# format, migrate, reencrypt and scan, standard error holds exactly one line, "fipsluks: ...", with
# names from the command line escaped; the exit code is the one src/cli/exit.c maps the library's
# errno to. And every errno src/lib uses is in the table of tests/unit/test_exit.c.
. "$(dirname "$0")/lib/common.sh"

cd "$T"
fast=(--pbkdf-force-iterations 1000)

# one_error CODE WHAT CMD…: CMD exits CODE and writes exactly one line to standard error, an error
# of fipsluks ("fipsluks: …"), kept in $FL_ERR; standard output in $T/out.
one_error() {
    local want=$1 what=$2 rc=0
    shift 2
    "$@" >out 2>err || rc=$?
    FL_ERR=$(cat err)
    [[ $rc -eq $want ]] || fl_fail "$what: exited $rc, expected $want; stderr: $FL_ERR"
    [[ $(wc -l <err) -eq 1 ]] || fl_fail "$what: expected one line on standard error, got: $FL_ERR"
    [[ $FL_ERR == "fipsluks: "* ]] || fl_fail "$what: not an error line: $FL_ERR"
}

printf 'correct horse battery' >k
printf 'wrong horse battery!' >kw
: >kempty
chmod 600 k kw kempty
mkdir dir
truncate -s 40M blank.img
truncate -s 8M small.img
head -c 40M /dev/urandom >noise.img
truncate -s 40M v.img
fipsluks format --batch --key-file k "${fast[@]}" v.img >/dev/null
sum=$(fl_sum v.img)
blank=$(fl_sum blank.img)

# --- key files: a missing one is exit 4 (a file that cannot be read) and named, in every verb ---------
one_error 4 "format: missing key file" fipsluks format --batch --key-file nokey "${fast[@]}" blank.img
fl_assert_contains "$FL_ERR" "key file 'nokey'" "format: the key file is named"
fl_assert_contains "$FL_ERR" "No such file or directory" "format: why"
one_error 4 "migrate: missing key file" fipsluks migrate --batch -d nokey v.img
fl_assert_contains "$FL_ERR" "key file 'nokey'" "migrate: the key file is named"
one_error 4 "reencrypt: missing key file" fipsluks reencrypt --batch -d nokey v.img
fl_assert_contains "$FL_ERR" "key file 'nokey'" "reencrypt: the key file is named"
# a directory is no key file either (4); an empty one is a wrong parameter (1)
for v in migrate reencrypt; do
    one_error 4 "$v: key file is a directory" fipsluks "$v" --batch -d dir v.img
    fl_assert_contains "$FL_ERR" "key file 'dir': Is a directory" "$v: directory key file"
    one_error 1 "$v: empty key file" fipsluks "$v" --batch -d kempty v.img
    fl_assert_contains "$FL_ERR" "key file 'kempty' is empty" "$v: empty key file"
done
one_error 4 "format: key file is a directory" fipsluks format --batch --key-file dir "${fast[@]}" blank.img
one_error 1 "format: empty key file" fipsluks format --batch --key-file kempty "${fast[@]}" blank.img
one_error 1 "migrate: key file shorter than --keyfile-size" \
    fipsluks migrate --batch --keyfile-size 64 -d k v.img
fl_assert_contains "$FL_ERR" "key file 'k' is empty or shorter than" "short key file"
# a name with a terminal escape and a newline stays on one line, escaped
hostile=$'key\e[2J\nfipsluks: forged'
one_error 4 "migrate: hostile key file name" fipsluks migrate --batch -d "$hostile" v.img
fl_assert_contains "$FL_ERR" "key file 'key\\x1b[2J\\x0afipsluks: forged'" "escaped key file name"
one_error 4 "format: hostile key file name" fipsluks format --batch --key-file "$hostile" "${fast[@]}" blank.img
fl_assert_contains "$FL_ERR" "key file 'key\\x1b[2J\\x0afipsluks: forged'" "format: escaped key file name"
fl_assert_eq "$sum" "$(fl_sum v.img)" "key file errors changed the volume"
fl_assert_eq "$blank" "$(fl_sum blank.img)" "key file errors wrote to the format target"

# usage errors escape the operator's bytes too (and point at --help on a second line)
fl_expect_exit 1 fipsluks migrate --hash $'sha\e[31m\nx' -d k v.img 2>err
fl_assert_eq "fipsluks migrate: --hash 'sha\x1b[31m\x0ax' is not allowed; approved choices: sha256, sha512" \
    "$(head -n1 err)" "escaped option value"
fl_assert_eq "Try 'fipsluks migrate --help'." "$(tail -n +2 err)" "usage hint"

# --- the wrong secret: exit 2, naming the key file -----------------------------------------------------
one_error 2 "migrate: wrong secret" fipsluks migrate --batch -d kw v.img
fl_assert_contains "$FL_ERR" "key file 'kw' opens no keyslot of 'v.img'" "migrate: wrong secret named"
one_error 2 "reencrypt: wrong secret" fipsluks reencrypt --batch -d kw v.img
fl_assert_contains "$FL_ERR" "kw opens no keyslot of 'v.img'" "reencrypt: wrong secret named"
# with --json: the one line on standard error, the same error in the JSON document
one_error 2 "migrate --json: wrong secret" fipsluks migrate --batch --json -d kw v.img
fl_assert_eq 2 "$(fl_jq .error.exit_code out)" "migrate --json: exit code in the document"
fl_assert_eq kw "$(fl_jq .error.key_file out)" "migrate --json: key file in the document"
one_error 4 "migrate --json: missing key file" fipsluks migrate --batch --json -d nokey v.img
fl_assert_eq 4 "$(fl_jq .error.exit_code out)" "migrate --json: missing key file, exit code in the document"
fl_assert_eq "$sum" "$(fl_sum v.img)" "wrong secrets changed the volume"

# --- devices and images that cannot be read: exit 4 ----------------------------------------------------
for v in migrate reencrypt; do
    one_error 4 "$v: missing image" fipsluks "$v" --batch -d k nope.img
    fl_assert_contains "$FL_ERR" "'nope.img'" "$v: the image is named"
    one_error 4 "$v: a directory" fipsluks "$v" --batch -d k dir
    one_error 4 "$v: not LUKS" fipsluks "$v" --batch -d k noise.img
done
one_error 4 "format: missing target" fipsluks format --batch --key-file k "${fast[@]}" nope.img
one_error 4 "format: a directory" fipsluks format --batch --key-file k "${fast[@]}" dir
fl_assert_contains "$FL_ERR" "neither a block device nor a regular file" "format: directory refused"
ln -s blank.img link.img
one_error 4 "format: a link to an image" fipsluks format --batch --key-file k "${fast[@]}" link.img
fl_assert_contains "$FL_ERR" "symbolic link to a regular file" "format: link refused"
one_error 4 "format: too small" fipsluks format --batch --key-file k "${fast[@]}" small.img
fl_assert_contains "$FL_ERR" "too small" "format: too small"
fl_assert_eq "$blank" "$(fl_sum blank.img)" "refusals wrote to the format target"

# --- scan: an --output that cannot be written is reported once (not again as "scan failed") -----------
one_error 4 "scan: --output is a directory" fipsluks scan --output dir v.img
fl_assert_contains "$FL_ERR" "cannot write 'dir'" "scan: the output is named"
one_error 4 "scan: --output in a missing directory" fipsluks scan --output nodir/x.json v.img

# --- questions on a terminal: "no" is exit 1 (declined), a signal is exit 7 (interrupted) -----------------
ptyrun() { python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" "$@"; }
fl-mkluks --slot "kdf=argon2id,key-file=k" a.img
asum=$(fl_sum a.img)
fl_expect_exit 1 ptyrun --timeout 60 --expect "Type YES to proceed: " --send "no" \
    -- fipsluks migrate "${fast[@]}" -d k --header-backup a.bak a.img
fl_assert_contains "$FL_OUT" "fipsluks: not confirmed; nothing was written" "migrate: no"
fl_expect_exit 7 ptyrun --timeout 60 --expect "Type YES to proceed: " --intr \
    -- fipsluks migrate "${fast[@]}" -d k --header-backup a.bak a.img
fl_assert_contains "$FL_OUT" "fipsluks: interrupted before anything was written; run the same command again" \
    "migrate: a signal at the question"
[[ $FL_OUT != *"not confirmed"* ]] || fl_fail "migrate: a signal reported as 'not confirmed': $FL_OUT"
fl_assert_eq "$asum" "$(fl_sum a.img)" "migrate: image after the questions"
[[ ! -e a.bak ]] || fl_fail "migrate: a backup was written before the question was answered"
# (a volume reencrypt has work on: a compatible one has nothing to re-encrypt and asks nothing)
truncate -s 40M two.img
cryptsetup luksFormat -q --type luks2 --hash ripemd160 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k \
    two.img
cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file k two.img kw
tsum=$(fl_sum two.img)
fl_expect_exit 7 ptyrun --timeout 60 --expect "Drop these keyslots? Type YES to proceed: " --intr \
    -- fipsluks reencrypt "${fast[@]}" -d k --header-backup two.bak two.img
fl_assert_contains "$FL_OUT" "fipsluks: interrupted; nothing was written; run the same command again" \
    "reencrypt: a signal at the question"
fl_assert_eq "$tsum" "$(fl_sum two.img)" "reencrypt: image after the question"

# --- exit codes pass through the one map ----------------------------------------------------------------
# every errno the library uses (and the aliases it defines) has a row in tests/unit/test_exit.c
lib_errnos=$(grep -ohE -- '(^|[^A-Za-z0-9_])-E[A-Z0-9]+\b' "$FL_SOURCE_DIR"/src/lib/*.[ch] \
    "$FL_SOURCE_DIR"/include/fipsluks/*.h | grep -oE 'E[A-Z0-9]+' | sort -u)
aliases=$(grep -ohE '^#define FL_E[A-Z]+ +E[A-Z0-9]+' "$FL_SOURCE_DIR"/src/lib/*.h | awk '{print $3}' | sort -u)
[[ $(wc -w <<<"$lib_errnos") -gt 20 ]] || fl_fail "too few errnos found in src/lib: $lib_errnos"
for e in $lib_errnos $aliases; do
    grep -qE "^ +\{$e, FL_EXIT_[A-Z]+," "$FL_SOURCE_DIR/tests/unit/test_exit.c" ||
        fl_fail "src/lib returns -$e, but tests/unit/test_exit.c does not say which exit code it is"
done
echo "PASS"
