#!/usr/bin/env bash
# Several hundred damaged LUKS1/LUKS2 headers (tests/e2e/test-scan-damaged.py): scan never crashes,
# hangs or writes, and reports a valid volume exactly when `cryptsetup luksDump` accepts the bytes.
. "$(dirname "$0")/lib/common.sh"

command -v cryptsetup >/dev/null || fl_skip "cryptsetup is not installed"
fl_key "$T/k" "damaged-secret"
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,key-file=$T/k" --slot "kdf=argon2id,key-file=$T/k,token=systemd-tpm2" \
    "$T/luks2.img"
fl-mkluks --type luks1 --size 4 --slot "key-file=$T/k" "$T/luks1.img"
mkdir "$T/work"
python3 "$FL_SOURCE_DIR/tests/e2e/test-scan-damaged.py" "$T/work" "$T/luks2.img" "$T/luks1.img"
