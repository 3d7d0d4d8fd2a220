#!/usr/bin/env bash
# The sweep of test-luks1-convert-crash.sh with fipsluks (and cryptsetup) running against the genuine FIPS test
# host's libcryptsetup 2.7 and OpenSSL FIPS provider (scripts/fips-host): its crypt_convert() makes the same
# calls, and a crash at any of them is recovered there too. Skips (77) without the FIPS host unless CI=true.
. "$(dirname "$0")/lib/common.sh"
fl_need_fips_host

lib() { fips "$@"; }
LUKS1_CRASH_MORE=0
. "$(dirname "$0")/lib/luks1-crash.sh"
echo "luks1-convert-crash-fips: all assertions passed"
