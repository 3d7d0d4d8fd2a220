#!/usr/bin/env bash
# Differential test against a genuine FIPS host: for every image of the scan corpus, fipsluks scan's
# verdict (.volumes[0].fips_compatible) must equal what the FIPS host does, namely "every keyslot
# with a known secret opens" (cryptsetup open --test-passphrase inside scripts/fips-host/run).
# Every listed keyslot must also open outside, or the corpus itself is wrong.
# Without a FIPS host (build failed) this test skips, except with CI=true where it fails.
. "$(dirname "$0")/lib/common.sh"

# shellcheck source=lib/corpus.sh
. "$FL_SOURCE_DIR/tests/e2e/lib/corpus.sh"
fl_need_fips_host

fipsluks=$FL_BUILD_DIR/src/cli/fipsluks
[[ -x $fipsluks ]] || fl_fail "$fipsluks is not built"
command -v cryptsetup >/dev/null ||
    fl_fail "no cryptsetup outside the FIPS host (scripts/setup installs cryptsetup-bin)"

corpus=$T/corpus
mkdir -p "$corpus"
fl_make_corpus "$corpus" || fl_fail "fl_make_corpus could not make the corpus in $corpus"
[[ -s $corpus/MANIFEST ]] || fl_fail "fl_make_corpus wrote no $corpus/MANIFEST"

# MANIFEST: "IMAGE SLOT KEYFILE" per line, paths relative to the corpus. Group keyslots by image.
images=()
declare -A entries=()
n=0
while read -r img slot key rest; do
    [[ -z $img || $img == \#* ]] && continue
    [[ -z $rest && $slot =~ ^[0-9]+$ && -n $key ]] || fl_fail "bad MANIFEST line: $img $slot $key $rest"
    [[ -f $corpus/$img ]] || fl_fail "MANIFEST names a missing image: $img"
    [[ -f $corpus/$key ]] || fl_fail "MANIFEST names a missing key file: $key"
    [[ -v entries[$img] ]] || images+=("$img")
    entries[$img]+="$slot:$key "
    n=$((n + 1))
done <"$corpus/MANIFEST"
((${#images[@]})) || fl_fail "MANIFEST lists no keyslots"
echo "checking $n keyslots of ${#images[@]} images" >&2

# Images without a keyslot to test (no header, unknown secrets) cannot be checked here.
while IFS= read -r f; do
    [[ -v entries[${f#"$corpus"/}] ]] || echo "  ${f#"$corpus"/}: not in MANIFEST, not checked" >&2
done < <(find "$corpus" -name '*.img' | LC_ALL=C sort)

# open_slot WHERE IMAGE SLOT KEY: cryptsetup's exit code; its messages in $T/open.err.
# --disable-locks: libcryptsetup then does not repair a damaged header copy in the corpus image.
open_slot() {
    local where=$1 img=$2 slot=$3 key=$4 rc=0
    local cmd=(cryptsetup open --test-passphrase --disable-locks --key-slot "$slot" --key-file "$corpus/$key"
        "$corpus/$img")
    if [[ $where == inside ]]; then
        fips "${cmd[@]}" >/dev/null 2>"$T/open.err" || rc=$?
    else
        "${cmd[@]}" >/dev/null 2>"$T/open.err" || rc=$?
    fi
    echo "$rc"
}

verdict_filter='.volumes[0].fips_compatible | if type == "boolean" then . else error("not a boolean") end'
problems=()
for img in "${images[@]}"; do
    rc=0
    "$fipsluks" scan --json "$corpus/$img" >"$T/scan.json" 2>"$T/scan.err" || rc=$?
    # scan exits 0 (compatible) or 6 (not compatible); anything else is an error.
    [[ $rc == 0 || $rc == 6 ]] || fl_fail "fipsluks scan --json '$img' exited $rc: $(cat "$T/scan.err")"
    verdict=$(jq -r "$verdict_filter" "$T/scan.json") ||
        fl_fail "no boolean .volumes[0].fips_compatible for '$img': $(cat "$T/scan.json")"

    opened=() refused=()
    for entry in ${entries[$img]}; do
        slot=${entry%%:*} key=${entry#*:}
        rc=$(open_slot outside "$img" "$slot" "$key")
        [[ $rc == 0 ]] ||
            fl_fail "corpus error: keyslot $slot of '$img' does not open outside the FIPS host" \
                "with '$key' (exit $rc): $(cat "$T/open.err")"
        rc=$(open_slot inside "$img" "$slot" "$key")
        if [[ $rc == 0 ]]; then
            opened+=("$slot")
        else
            refused+=("keyslot $slot (exit $rc: $(tr '\n' ' ' <"$T/open.err"))")
        fi
    done

    if [[ $verdict == true ]] && ((${#refused[@]})); then
        problems+=("'$img': fipsluks says FIPS-compatible, but the FIPS host refuses ${refused[*]}")
    elif [[ $verdict == false ]] && ((${#refused[@]} == 0)); then
        findings=$(jq -c '.volumes[0].findings // [] | map({rule, severity, object})' "$T/scan.json")
        msg="'$img': fipsluks says not FIPS-compatible, but every keyslot (${opened[*]}) opens on the FIPS host"
        problems+=("$msg; findings: $findings")
    fi
    ids=$(for entry in ${entries[$img]}; do printf '%s ' "${entry%%:*}"; done)
    echo "  $img: fipsluks fips_compatible=$verdict; the FIPS host opens [${opened[*]}] of [${ids% }]" >&2
done

if ((${#problems[@]})); then
    printf 'DISAGREEMENT: %s\n' "${problems[@]}" >&2
    fl_fail "${#problems[@]} of ${#images[@]} images: fipsluks scan disagrees with the FIPS host"
fi
