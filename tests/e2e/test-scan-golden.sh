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

rc=0
fipsluks scan --json golden2.img golden1.img >out.json || rc=$?
fl_assert_eq 6 "$rc" "exit code"
jq -S --arg v "$(fipsluks --version | cut -d' ' -f2)" '.version |= if . == $v then "VERSION" else . end' out.json >actual.json
if [[ ${FL_GOLDEN_UPDATE:-0} == 1 ]]; then
    cp actual.json "$G"
    echo "updated $G"
fi
diff -u "$G" actual.json || fl_fail "scan --json differs from $G"
echo "scan-golden: JSON matches"
