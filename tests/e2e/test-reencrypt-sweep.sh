#!/usr/bin/env bash
# fipsluks reencrypt killed at EVERY write and sync call it makes on the volume (before the call, and each
# write torn in half), then run again with the same command: the rerun finishes, the data decrypts under the
# new key, both secrets open, scan calls it compatible, and a third run has nothing to do. Volumes: one
# hotzone, several hotzones, --resilience journal, a detached header (its calls and the data's), and a
# LUKS1 source (the conversion's calls included). This machine's libcryptsetup; test-reencrypt-sweep-fips.sh
# runs the FIPS test host's. (lib/reencrypt-sweep.sh; docs/reencrypt-crash.md tells the story.)
. "$(dirname "$0")/lib/common.sh"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || fl_skip "python3-cryptography is missing (scripts/setup)"
fl_tmp_in_memory # the crashes are simulated: real fsyncs only cost time
. "$(dirname "$0")/lib/reencrypt-sweep.sh"

luks2=(--type luks2 --cipher aes-xts-plain64 --key-size 512 --hash ripemd160 --sector-size 4096
    --luks2-metadata-size 16k --luks2-keyslots-size 2m)
sweep one-hotzone image -- "${luks2[@]}" --
sweep hotzones image -- "${luks2[@]}" -- --hotzone-size 524288
sweep journal image -- "${luks2[@]}" -- --hotzone-size 524288 --resilience journal
sweep detached-header header -- "${luks2[@]}" -- --hotzone-size 524288
sweep detached-data data -- "${luks2[@]}" -- --hotzone-size 524288
sweep luks1 image -- --type luks1 --cipher aes-xts-plain64 --key-size 512 --hash ripemd160 -- --hotzone-size 524288
echo "reencrypt-sweep: all assertions passed"
