#!/usr/bin/env bash
# The command-line habits every verb shares with cryptsetup: help VERB, usage lines, errors that point
# at the verb's --help, -v/--verbose, --debug (never a secret), -q/--batch/--batch-mode, -T/--tries,
# --keyfile-offset/--keyfile-size with several key files, and the bash completion script.
. "$(dirname "$0")/lib/common.sh"

cd "$T"
ptyrun() { python3 "$FL_SOURCE_DIR/tests/e2e/lib/ptyrun.py" "$@"; }
key() { fl_key "$1" "$2"; chmod 600 "$1"; }
fast=(--pbkdf-force-iterations 1000)
verbs=(scan check format migrate reencrypt report)
version=$(fipsluks --version | cut -d' ' -f2)

# --- help VERB, usage lines ---------------------------------------------------------------------------
fl_expect_exit 0 fipsluks --help
top_help=$FL_OUT
fl_expect_exit 0 fipsluks help
fl_assert_eq "$top_help" "$FL_OUT" "fipsluks help = fipsluks --help"
fl_assert_contains "$top_help" "fipsluks help [VERB]" "top-level usage names help VERB"
for v in "${verbs[@]}"; do
    fl_expect_exit 0 fipsluks "$v" --help
    verb_help=$FL_OUT
    fl_assert_contains "$(head -n1 <<<"$verb_help")" "Usage: fipsluks $v [OPTION...]" "$v --help usage line"
    fl_expect_exit 0 fipsluks help "$v"
    fl_assert_eq "$verb_help" "$FL_OUT" "fipsluks help $v = fipsluks $v --help"
    fl_expect_exit 0 fipsluks "$v" --usage
    fl_assert_contains "$(head -n1 <<<"$FL_OUT")" "Usage: fipsluks $v [" "$v --usage line"
    # every verb takes -v/--verbose and --debug
    fl_assert_contains "$verb_help" "-v, --verbose" "$v --help lists -v"
    fl_assert_contains "$verb_help" "--debug" "$v --help lists --debug"
    # an unknown or malformed option points at the verb's own --help
    fl_expect_exit2 1 fipsluks "$v" --no-such-option
    fl_assert_contains "$FL_ERR" "fipsluks $v: --no-such-option: unknown option" "$v unknown option"
    fl_assert_contains "$FL_ERR" "Try 'fipsluks $v --help'." "$v unknown option hint"
    [[ $FL_ERR != *"Try 'fipsluks --help'"* ]] || fl_fail "$v: hint names the top-level --help: $FL_ERR"
done
fl_expect_exit2 1 fipsluks scan --header
fl_assert_contains "$FL_ERR" "fipsluks scan: --header: missing argument" "option without its argument"
fl_assert_contains "$FL_ERR" "Try 'fipsluks scan --help'." "missing argument hint"
fl_expect_exit2 1 fipsluks check --json=yes
fl_assert_contains "$FL_ERR" "Try 'fipsluks check --help'." "argument to a flag"
fl_expect_exit2 1 fipsluks help nosuchverb
fl_assert_contains "$FL_ERR" "unknown verb 'nosuchverb'" "help with an unknown verb"
[[ -z $FL_OUT ]] || fl_fail "help with an unknown verb printed help: $FL_OUT"
fl_expect_exit2 1 fipsluks help scan check
fl_expect_exit2 1 fipsluks nosuchverb

# --- which verbs take which shared options --------------------------------------------------------------
for v in format migrate reencrypt; do
    fl_expect_exit 0 fipsluks "$v" --help
    for o in "-q, --batch" "--batch-mode" "-T, --tries=N"; do
        fl_assert_contains "$FL_OUT" "$o" "$v --help lists $o"
    done
    # --tries: strictly a number from 1 to 100
    for bad in 0 101 abc 3x -1 "" " 3" 0x3 99999999999999999999; do
        fl_expect_exit2 1 fipsluks "$v" --tries="$bad" -d /dev/null x.img
        fl_assert_contains "$FL_ERR" "fipsluks $v: --tries '$bad': not a number from 1 to 100" "$v --tries '$bad'"
        fl_assert_contains "$FL_ERR" "Try 'fipsluks $v --help'." "$v --tries hint"
    done
done
for v in scan check; do
    for o in --batch --batch-mode -q --tries=3 -T3; do
        fl_expect_exit2 1 fipsluks "$v" "$o"
        fl_assert_contains "$FL_ERR" "Try 'fipsluks $v --help'." "$v refuses $o"
    done
done

# --- -v/--verbose: the final status line, as cryptsetup writes it -------------------------------------
key k1 "alpha-secret-1"
key k2 "bravo-secret-2"
key kw "wrong-secret-99"
fl-mkluks --slot "kdf=argon2id,key-file=k1" --slot "kdf=argon2i,key-file=k2" v.img
cp v.img v.orig
fl_expect_exit2 6 fipsluks scan -v v.img
fl_assert_eq "Command failed with code 6 (not FIPS-compatible, or not FIPS-ready)." "$(tail -n1 <<<"$FL_ERR")" "scan -v status"
fl_expect_exit2 4 fipsluks scan --verbose missing.img
fl_assert_eq "Command failed with code 4 (a device or file could not be read or written)." "$(tail -n1 <<<"$FL_ERR")" "scan -v unreadable"
fl_expect_exit2 2 fipsluks migrate -v --batch -d kw --header-backup v.bak v.img
fl_assert_eq "Command failed with code 2 (no permission or bad passphrase)." "$(tail -n1 <<<"$FL_ERR")" "migrate -v wrong secret"
fl_expect_exit2 1 fipsluks migrate -v --tries 0 v.img
fl_assert_eq "Command failed with code 1 (wrong or missing parameters)." "$(tail -n1 <<<"$FL_ERR")" "usage error -v"
fl_expect_exit2 2 fipsluks migrate --batch -d kw --header-backup v.bak v.img
[[ $FL_ERR != *"Command "* ]] || fl_fail "a status line without -v: $FL_ERR"
cmp v.img v.orig || fl_fail "a refused migrate changed the image"
fl_expect_exit2 0 fipsluks check -v --emit butane
fl_assert_eq "Command successful." "$FL_ERR" "check -v status"

# --- --debug: libcryptsetup's debug log on stderr, never the secret ------------------------------------
secret="Uniq-$RANDOM-$$-Pass-7f3a9c"
hex=$(printf '%s' "$secret" | od -An -tx1 | tr -d ' \n')
key kd "$secret"
no_secret() { # STDERR WHAT
    [[ $1 != *"$secret"* ]] || fl_fail "$2: the passphrase is in the debug log"
    ! grep -qiF "$hex" <<<"$1" || fl_fail "$2: the passphrase's hex is in the debug log"
    ! grep -qiF "$(sed 's/../& /g; s/ $//' <<<"$hex")" <<<"$1" || fl_fail "$2: the passphrase's spaced hex is in the debug log"
}
truncate -s 24M d.img
fl_expect_exit2 0 fipsluks format --debug --batch "${fast[@]}" -d kd --json d.img
jq -e .uuid <<<"$FL_OUT" >/dev/null || fl_fail "format --debug --json: stdout is not the JSON document"
fl_assert_eq "# fipsluks $version processing \"fipsluks format --debug --batch ${fast[*]} -d kd --json d.img\"" \
    "$(head -n1 <<<"$FL_ERR")" "--debug first line"
fl_assert_contains "$FL_ERR" "# Allocating context for crypt device " "libcryptsetup debug lines"
fl_assert_contains "$FL_ERR" "# Formatting LUKS2 with JSON metadata area" "libcryptsetup debug lines (format)"
[[ $(grep -c '^# ' <<<"$FL_ERR") -gt 20 ]] || fl_fail "few debug lines: $FL_ERR"
fl_assert_eq "Command successful." "$(tail -n1 <<<"$FL_ERR")" "--debug implies --verbose"
no_secret "$FL_ERR" "format --debug"
cryptsetup open --test-passphrase --key-file kd d.img || fl_fail "format --debug: the passphrase does not open the volume"

# migrate: the device's own log callback passes debug messages on
key ks "$secret"
fl-mkluks --slot "kdf=argon2id,key-file=ks" m.img
fl_expect_exit2 0 fipsluks migrate --debug --batch "${fast[@]}" -d ks --header-backup m.bak m.img
fl_assert_contains "$(head -n1 <<<"$FL_ERR")" "# fipsluks $version processing \"fipsluks migrate --debug" "migrate --debug first line"
fl_assert_contains "$FL_ERR" "# Trying to open LUKS2 keyslot 0" "migrate: debug lines from the device callback"
no_secret "$FL_ERR" "migrate --debug"
fl_expect_exit 0 fipsluks scan --json m.img
fl_assert_eq pbkdf2 "$(jq -r '.volumes[0].keyslots[0].kdf' <<<"$FL_OUT")" "migrate --debug converted"
# scan: debug lines through the read-only header copy's callback, JSON stays clean on stdout
fl_expect_exit2 0 fipsluks scan --debug --json m.img
fl_assert_eq 1 "$(jq -r '.summary.volumes' <<<"$FL_OUT")" "scan --debug --json stdout"
fl_assert_contains "$FL_ERR" "# Trying to load any crypt type from device /proc/self/fd/" "scan: debug lines from the device callback"
# without --debug: not one debug line
fl_expect_exit2 0 fipsluks scan m.img
! grep -q '^# ' <<<"$FL_ERR" || fl_fail "debug lines without --debug: $FL_ERR"

# --- -q/--batch/--batch-mode and -T/--tries at a terminal --------------------------------------------
key kf "format-secret-1"
for b in --batch --batch-mode -q; do
    truncate -s 24M "b$b.img"
    fl_expect_exit 0 ptyrun --timeout 60 -- fipsluks format "$b" -d kf "${fast[@]}" "b$b.img"
    [[ $FL_OUT != *"or YES"* ]] || fl_fail "format $b asked for confirmation"
done
truncate -s 24M q.img
fl_expect_exit 1 ptyrun --timeout 60 --expect "or YES to continue: " --send "no" -- fipsluks format -d kf "${fast[@]}" q.img
fl_assert_contains "$FL_OUT" "not confirmed" "without --batch, format asks"

# format: a mismatch is asked again, up to --tries times, then exit 2 with nothing written
typed() { # PASS1 PASS2: one round of format's prompts
    rounds+=(--expect "Enter passphrase for" --send "$1" --expect "Verify passphrase: " --send "$2")
}
truncate -s 24M t.img
sum=$(fl_sum t.img)
rounds=()
typed "typed secret 1" "typed secret 2"
fl_expect_exit 2 ptyrun --timeout 60 "${rounds[@]}" -- fipsluks format -q -T 1 "${fast[@]}" t.img
fl_assert_eq 1 "$(grep -c '^Passphrases do not match.' <<<"$FL_OUT")" "-T 1: one try"
fl_assert_contains "$FL_OUT" "passphrases do not match; nothing was written" "-T 1: refused"
fl_assert_eq "$sum" "$(fl_sum t.img)" "-T 1: nothing written"
rounds=()
typed "typed secret 1" "typed secret 2"
typed "typed secret 3" "typed secret 4"
fl_expect_exit 2 ptyrun --timeout 60 "${rounds[@]}" -- fipsluks format -q --tries=2 "${fast[@]}" t.img
fl_assert_eq 2 "$(grep -c '^Passphrases do not match.' <<<"$FL_OUT")" "--tries=2: two tries"
fl_assert_eq "$sum" "$(fl_sum t.img)" "--tries=2: nothing written"
rounds=()
typed "typed secret 1" "typed secret 2"
typed "typed secret 5" "typed secret 5"
fl_expect_exit 0 ptyrun --timeout 60 "${rounds[@]}" -- fipsluks format -q --tries 2 "${fast[@]}" t.img
fl_assert_contains "$FL_OUT" "formatted t.img" "second try matches"
printf 'typed secret 5' | cryptsetup open --test-passphrase --key-file - t.img || fl_fail "the second try's passphrase"
! printf 'typed secret 1' | cryptsetup open --test-passphrase --key-file - t.img 2>/dev/null || fl_fail "first try's passphrase opens"

# migrate: a wrong passphrase is asked again, up to --tries times (default 3); then exit 2, as
# cryptsetup, with the keyslot and the header as they were and no backup written
key ka "alpha-secret-1"
fl-mkluks --slot "kdf=argon2id,key-file=ka" one.img
for tries in 1 3; do
    cp one.img p.img
    rounds=()
    for ((i = 0; i < tries; i++)); do rounds+=(--expect "Enter passphrase for keyslot 0" --send "wrong passphrase $i"); done
    opt=()
    [[ $tries -eq 3 ]] || opt=(-T "$tries")
    fl_expect_exit 2 ptyrun --timeout 60 "${rounds[@]}" -- fipsluks migrate -q "${opt[@]}" "${fast[@]}" --header-backup "p$tries.bak" p.img
    fl_assert_eq "$tries" "$(grep -c '^No key available with this passphrase.' <<<"$FL_OUT")" "migrate: $tries tries"
    fl_assert_eq "$tries" "$(grep -o 'Enter passphrase for keyslot 0' <<<"$FL_OUT" | wc -l)" "migrate: $tries prompts"
    fl_expect_exit 6 fipsluks scan --json p.img
    fl_assert_eq argon2id "$(jq -r '.volumes[0].keyslots[0].kdf' <<<"$FL_OUT")" "migrate: keyslot kept after $tries wrong tries"
    cmp p.img one.img || fl_fail "migrate: $tries wrong tries changed the image"
    [[ ! -e p$tries.bak ]] || fl_fail "migrate: a backup was written after $tries wrong tries"
done
# the second of two tries opens it
cp one.img p.img
fl_expect_exit 0 ptyrun --timeout 60 --expect "Enter passphrase for keyslot 0" --send "wrong" \
    --expect "Enter passphrase for keyslot 0" --send "alpha-secret-1" -- \
    fipsluks migrate -q --tries 2 "${fast[@]}" --header-backup p.bak p.img
fl_assert_eq 1 "$(grep -c '^No key available with this passphrase.' <<<"$FL_OUT")" "migrate: one wrong try"
cryptsetup open --test-passphrase --key-file ka p.img || fl_fail "migrate --tries 2: secret after conversion"
fl_expect_exit 0 fipsluks scan --json p.img
fl_assert_eq pbkdf2 "$(jq -r '.volumes[0].keyslots[0].kdf' <<<"$FL_OUT")" "migrate --tries 2: converted"

# --- --keyfile-offset/--keyfile-size apply to every --key-file, each read on its own ------------------
printf 'HEADER01%sTRAILER-ONE' "alpha-secret-1" >o1
printf 'xxxxxxxx%sother-trailer-two' "bravo-secret-2" >o2
chmod 600 o1 o2
fl_expect_exit2 0 fipsluks migrate -q "${fast[@]}" --keyfile-offset 8 --keyfile-size 14 -d o1 -d o2 --header-backup o.bak v.img
fl_expect_exit 0 fipsluks scan --json v.img
fl_assert_eq "pbkdf2 pbkdf2" "$(jq -r '[.volumes[0].keyslots[].kdf] | join(" ")' <<<"$FL_OUT")" "both keyslots converted"
fl_key s1 "alpha-secret-1"
fl_key s2 "bravo-secret-2"
cryptsetup open --test-passphrase --key-slot 0 --key-file s1 v.img || fl_fail "keyslot 0 after offset/size migrate"
cryptsetup open --test-passphrase --key-slot 1 --key-file s2 v.img || fl_fail "keyslot 1 after offset/size migrate"
# a key file shorter than offset + size is refused, nothing written
cp v.orig v.img
printf 'xxxxxxxxbravo' >o3
chmod 600 o3
fl_expect_exit2 1 fipsluks migrate -q "${fast[@]}" --keyfile-offset 8 --keyfile-size 14 -d o1 -d o3 --header-backup o3.bak v.img
fl_assert_contains "$FL_ERR" "key file 'o3'" "the short key file is named"
cmp v.img v.orig || fl_fail "a short key file changed the image"
[[ ! -e o3.bak ]] || fl_fail "a backup was written for a short key file"

# --- bash completion ----------------------------------------------------------------------------------
completion=$FL_SOURCE_DIR/scripts/bash-completion/fipsluks
# comp [--bash-completion] WORD…: COMPREPLY of _fipsluks for the words (the last is being completed)
comp() {
    local pre=:
    if [[ $1 == --bash-completion ]]; then
        pre='. /usr/share/bash-completion/bash_completion'
        shift
    fi
    bash --norc --noprofile -c "$pre"'
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _fipsluks fipsluks "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@" | sort | tr '\n' ' '
}
fl_assert_eq "check format help migrate reencrypt report scan " "$(comp fipsluks "")" "verbs"
fl_assert_eq "--help --version " "$(comp fipsluks --)" "top-level options"
fl_assert_eq "format " "$(comp fipsluks help fo)" "help VERB"
fl_assert_eq "" "$(comp fipsluks help scan "")" "help takes one VERB"
for v in "${verbs[@]}"; do
    # each verb's options are exactly the long options of its --help
    want=$(fipsluks "$v" --help | grep -oE '^ +(-[^-], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort | tr '\n' ' ')
    fl_assert_eq "$want" "$(comp fipsluks "$v" --)" "$v options"
done
fl_assert_contains "$(comp fipsluks format --)" "--batch --batch-mode " "format options"
fl_assert_contains "$(comp fipsluks migrate --)" "--tries " "migrate options"
fl_assert_eq "--debug " "$(comp fipsluks scan --d)" "scan --d"
fl_assert_eq "--keyfile-offset --keyfile-size " "$(comp fipsluks migrate -q --keyf)" "options after options"
fl_assert_eq "aes-cbc-essiv:sha256 aes-xts-plain64 " "$(comp fipsluks format --cipher "")" "cipher values"
fl_assert_eq "sha256 sha512 " "$(comp fipsluks migrate --hash = "")" "--hash=VALUE, = split off"
fl_assert_eq "sha512 " "$(comp fipsluks migrate --hash=sha5)" "--hash=VALUE, one word"
fl_assert_eq "butane ignition " "$(comp fipsluks check --emit "")" "emit values"
fl_assert_eq "json json-lines prometheus text " "$(comp fipsluks scan --format "")" "scan --format values"
fl_assert_eq "json prometheus text " "$(comp fipsluks check --format "")" "check --format values"
fl_assert_eq "--output " "$(comp fipsluks check --outp)" "check --output"
fl_assert_eq "" "$(comp fipsluks scan --jobs "")" "no completion for --jobs N"
fl_assert_eq "" "$(comp fipsluks format -T "")" "no completion for numbers"
fl_assert_eq "" "$(comp fipsluks format --label "")" "no completion for a label"
# files and devices
mkdir -p cdir/sub
touch cdir/key.bin cdir/img.raw
fl_assert_eq "cdir/img.raw cdir/key.bin cdir/sub " "$(comp fipsluks migrate -d k1 cdir/)" "device argument: files"
fl_assert_eq "cdir/img.raw cdir/key.bin cdir/sub " "$(comp fipsluks migrate --key-file cdir/)" "key file names"
fl_assert_eq "cdir/sub " "$(comp fipsluks check --root cdir/)" "--root: directories"
fl_assert_eq "/dev/null " "$(comp fipsluks scan /dev/nul)" "devices under /dev"
fl_assert_eq "" "$(comp fipsluks check cdir/)" "check takes no file argument"
# what an option's argument is comes from --help, built from the option table: every FILE completes
# files, every DIR directories, every other argument without a fixed set of values nothing
for v in "${verbs[@]}"; do
    while read -r opt arg; do
        case $arg in
        FILE) want="cdir/img.raw cdir/key.bin cdir/sub " ;;
        DIR) want="cdir/sub " ;;
        N | BYTES | MS | AGE | LABEL | SUBSYSTEM | UUID | NAME:*) want="" ;;
        *) continue ;; # a fixed set of values, asserted above
        esac
        fl_assert_eq "$want" "$(comp fipsluks "$v" "$opt" cdir/)" "$v $opt $arg"
    done < <(fipsluks "$v" --help | sed -nE 's/^ +(-[^-], )?(--[a-z0-9-]+)=([^ ]+).*/\2 \3/p')
done
fl_assert_eq "cdir/img.raw cdir/key.bin cdir/sub " "$(comp fipsluks report cdir/)" "report: scan output files"
# with bash-completion loaded: its _filedir
if [[ -r /usr/share/bash-completion/bash_completion ]]; then
    fl_assert_eq "check format help migrate reencrypt report scan " "$(comp --bash-completion fipsluks "")" "verbs (bash-completion)"
    fl_assert_eq "cdir/img.raw cdir/key.bin cdir/sub " "$(comp --bash-completion fipsluks format cdir/)" "files (bash-completion)"
    fl_assert_eq "--tries " "$(comp --bash-completion fipsluks format --tr)" "options (bash-completion)"
elif [[ ${CI:-} == true ]]; then
    fl_fail "bash-completion is not installed (scripts/setup installs it)"
fi
# a shell that loads the installed script completes fipsluks with _fipsluks
[[ $(bash --norc --noprofile -c '. "$1"; complete -p fipsluks' _ "$completion") == "complete -F _fipsluks fipsluks" ]] ||
    fl_fail "the script does not register _fipsluks for fipsluks"

# cmake --install puts it where bash-completion looks for it
DESTDIR=$T/inst cmake --install "$FL_BUILD_DIR" --prefix /usr >/dev/null
cmp "$completion" "$T/inst/usr/share/bash-completion/completions/fipsluks" ||
    fl_fail "cmake --install did not install the completion script"
[[ -x $T/inst/usr/sbin/fipsluks ]] || fl_fail "cmake --install did not install the binary"

echo "test-cli: ok"
