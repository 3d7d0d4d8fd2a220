#!/usr/bin/env bash
# The reencrypt crash sweep of test-reencrypt-sweep.sh, run inside the genuine FIPS test host (cryptsetup
# 2.7 --enable-fips, OpenSSL 3.5 FIPS provider): fipsluks and its libcryptsetup are the FIPS host's, killed at
# every write and sync call and run again. The source is one a FIPS host can still unlock but must not keep
# (AES-CBC with plain64 IVs); the checks after each rerun use this machine's libcryptsetup, an independent
# reader of the result. libcryptsetup 2.7.5 destroys the data at the same calls 2.6.1 does (FACTS.md).
. "$(dirname "$0")/lib/common.sh"
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || fl_skip "python3-cryptography is missing (scripts/setup)"
fl_need_fips_host
fl_tmp_in_memory
# a command prefix the parallel points can run: the FIPS host's environment, then the command
{
    echo '#!/bin/bash'
    "$FL_SOURCE_DIR/scripts/fips-host/env"
    echo 'exec "$@"'
} >"$T/fips-run"
chmod 755 "$T/fips-run"
"$T/fips-run" fipsluks --version | grep -q . || fl_fail "fipsluks does not start inside the FIPS host"
"$T/fips-run" cryptsetup --version | grep -q FIPS || fl_fail "the FIPS host's cryptsetup is not a FIPS build"
SWEEP_RUN=$T/fips-run
SWEEP_CIPHER=aes-cbc-plain64
. "$(dirname "$0")/lib/reencrypt-sweep.sh"

cbc=(--type luks2 --cipher aes-cbc-plain64 --key-size 256 --hash sha256 --sector-size 512
    --luks2-metadata-size 16k --luks2-keyslots-size 2m)
sweep fips-one-hotzone image -- "${cbc[@]}" --
sweep fips-hotzones image -- "${cbc[@]}" -- --hotzone-size 524288
# (a detached header, journal resilience and a LUKS1 source: test-reencrypt-sweep.sh, with 2.6.1)
echo "reencrypt-sweep-fips: all assertions passed"
