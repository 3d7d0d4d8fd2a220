#!/usr/bin/env bash
# The JSON schema is an interface: scanning fixed volumes must give exactly the documented document.
# To update after a deliberate, documented schema addition: FL_GOLDEN_UPDATE=1 bash this-test.
. "$(dirname "$0")/lib/common.sh"

G=$FL_SOURCE_DIR/tests/e2e/golden/scan.json
cd "$T"
fl_key a.key "golden-argon"
fl_key b.key "golden-pbkdf2"
fl_key c.key "golden-token"
fl-mkluks --uuid 11111111-2222-4333-8444-555555555555 --label golden --subsystem fleet \
    --slot "kdf=argon2id,key-file=a.key,priority=prefer" \
    --slot "kdf=pbkdf2,hash=sha512,iter=250000,key-file=b.key,id=4" \
    --slot "kdf=pbkdf2,hash=sha256,iter=1000,key-file=c.key,token=systemd-tpm2" golden2.img
fl-mkluks --type luks1 --hash sha1 --uuid 66666666-7777-4888-9999-aaaaaaaaaaaa \
    --slot "key-file=a.key,iter=5000" golden1.img

# golden2 is in the host's crypttab (below --root) with the key file that opens its argon2id keyslot;
# golden1 is not ("crypttab": null)
mkdir -p root/etc/luks
cp a.key root/etc/luks/golden
printf '# fixed\ngolden UUID=11111111-2222-4333-8444-555555555555 /etc/luks/golden luks,tpm2-device=auto,nofail\n' \
    >root/etc/crypttab
rc=0
fipsluks scan --json --root "$T/root" golden2.img golden1.img >out.json || rc=$?
fl_assert_eq 6 "$rc" "exit code"
# Host identity and time depend on the machine: check them against it, then normalise them.
fl_assert_eq "$(hostname)" "$(fl_jq .host.hostname out.json)" "host.hostname"
if [[ -r /etc/machine-id ]] && grep -qxE '[0-9a-f]{32}' /etc/machine-id; then
    fl_assert_eq "$(cat /etc/machine-id)" "$(fl_jq .host.machine_id out.json)" "host.machine_id"
fi
os_id=$(. /etc/os-release && echo "${ID:-}")
fl_assert_eq "$os_id" "$(jq -r '.host.os_id // ""' out.json)" "host.os_id"
jq -e '.scanned_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' out.json >/dev/null ||
    fl_fail "scanned_at is not RFC 3339 UTC: $(jq .scanned_at out.json)"
# absolute_path: the path given, joined to the working directory (this test's, normalised to $PWD)
jq -S --arg v "$(fipsluks --version | cut -d' ' -f2)" --arg pwd "$PWD/" '.version |= (if . == $v then "VERSION" else . end)
    | .host |= map_values("HOST")
    | .volumes |= map(.absolute_path |= (if type == "string" and startswith($pwd) then "$PWD/" + ltrimstr($pwd) else . end))
    | .scanned_at = "SCANNED_AT"' out.json >actual.json
if [[ ${FL_GOLDEN_UPDATE:-0} == 1 ]]; then
    cp actual.json "$G"
    echo "updated $G"
fi
diff -u "$G" actual.json || fl_fail "scan --json differs from $G"
echo "scan-golden: JSON matches"
