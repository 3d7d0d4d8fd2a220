#!/usr/bin/env bash
# The JSON of migrate and format is an interface too (schemas in their man pages): fixed volumes must
# give exactly the documents in tests/e2e/golden/. The fipsluks version is normalised; everything else
# is fixed by the inputs (UUIDs, labels, forced iterations), but for the envelope's host identity and
# finished_at, which are this machine's: checked against it, then normalised. To update after a
# deliberate, documented schema change: FL_GOLDEN_UPDATE=1 bash this-test.
. "$(dirname "$0")/lib/common.sh"

G=$FL_SOURCE_DIR/tests/e2e/golden
cd "$T"
fl_key k0 "golden-zero"
fl_key k1 "golden-one1"
fl_key kw "golden-wrong"
chmod 600 k0 k1 kw
version=$(fipsluks --version | cut -d' ' -f2)
os_id=$(. /etc/os-release && echo "${ID:-}")

# golden NAME EXPECTED-EXIT CMD...: run CMD (JSON on stdout), compare with golden/NAME.json
golden() {
    local name=$1 want=$2 rc=0
    shift 2
    "$@" >"$name.raw" 2>/dev/null || rc=$?
    fl_assert_eq "$want" "$rc" "$name: exit code"
    jq -e . "$name.raw" >/dev/null || fl_fail "$name: not JSON: $(cat "$name.raw")"
    # The host identity and the time depend on the machine: check them against it, then normalise them.
    fl_assert_eq "$(hostname)" "$(fl_jq .host.hostname "$name.raw")" "$name: host.hostname"
    if [[ -r /etc/machine-id ]] && grep -qxE '[0-9a-f]{32}' /etc/machine-id; then
        fl_assert_eq "$(cat /etc/machine-id)" "$(fl_jq .host.machine_id "$name.raw")" "$name: host.machine_id"
    fi
    fl_assert_eq "$os_id" "$(jq -r '.host.os_id // ""' "$name.raw")" "$name: host.os_id"
    jq -e '.finished_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' "$name.raw" >/dev/null ||
        fl_fail "$name: finished_at is not RFC 3339 UTC: $(jq .finished_at "$name.raw")"
    jq -S --arg v "$version" '.version |= (if . == $v then "VERSION" else . end)
        | .host |= map_values("HOST")
        | .finished_at = "FINISHED_AT"' "$name.raw" >"$name.json"
    if [[ ${FL_GOLDEN_UPDATE:-0} == 1 ]]; then
        cp "$name.json" "$G/$name.json"
        echo "updated $G/$name.json"
    fi
    diff -u "$G/$name.json" "$name.json" || fl_fail "$name: the JSON differs from $G/$name.json"
}

fl-mkluks --uuid 11111111-2222-4333-8444-555555555555 --label golden \
    --slot "kdf=argon2id,key-file=k0,priority=prefer" --slot "kdf=argon2i,key-file=k1" v.img
cp v.img w.img
golden migrate-dry-run 0 fipsluks migrate --batch --json --dry-run -d k1 -d k0 v.img
golden migrate 0 fipsluks migrate --batch --json -d k0 -d k1 --pbkdf-force-iterations 1000 --header-backup v.bak v.img
golden migrate-wrong-secret 2 fipsluks migrate --batch --json -d k0 -d kw --pbkdf-force-iterations 1000 w.img

truncate -s 24M f.img
golden format 0 fipsluks format --batch --json --key-file k0 --pbkdf-force-iterations 1000 \
    --uuid 22222222-3333-4444-8555-666666666666 --label golden-new --subsystem fleet f.img
# The envelope names the record: fipsluks report skips a migrate or format document as what it is.
for name in migrate format; do
    fipsluks report --json "$name.raw" >"report-$name.json" 2>/dev/null
    fl_assert_eq "a \"$name\" record: fipsluks report merges scan output" \
        "$(jq -r '.input_errors[0].message' "report-$name.json")" "report on a $name document"
done
echo "golden-json: migrate and format documents match"
