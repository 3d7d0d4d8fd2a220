#!/usr/bin/env bash
# LUKS1 → LUKS2 conversion (migrate --convert-luks1, reencrypt) killed at every write and sync call, before it
# and torn, with this machine's libcryptsetup: the same command again finishes, every secret opens, the data
# decrypts (tests/e2e/lib/luks1-crash.sh). A backup that is not this volume's is never written over it.
. "$(dirname "$0")/lib/common.sh"

lib() { "$@"; }
. "$(dirname "$0")/lib/luks1-crash.sh"
echo "luks1-convert-crash: all assertions passed"
