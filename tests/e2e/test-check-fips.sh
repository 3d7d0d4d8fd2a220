#!/usr/bin/env bash
# The live probes of fipsluks check (openssl-live, libcryptsetup) against a genuine FIPS userspace
# (scripts/fips-host): outside it, Debian's OpenSSL has no FIPS provider configured and Debian's
# libcryptsetup is not a FIPS build, so both fail; inside it both pass, and a compliant fixture root
# passes every check (exit 0). Mixed set-ups get the right explanation: a FIPS libcryptsetup whose
# OpenSSL is not in FIPS mode, and a FIPS OpenSSL under a libcryptsetup built without FIPS support.
# The openssl.cnf that --emit installs is tried for real with the FIPS provider and openssl fipsinstall.
# Without a FIPS host (build failed) this test skips, except with CI=true where it fails.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/host.sh"

fl_need_fips_host
prefix=$FL_FIPS_PREFIX

fl_host_images "$T/img"
fl_host_compliant "$T/ok" "$T/img"
J=$T/check.json
CASE=

# run_check WANT CMD…: CMD's JSON report in $J, its exit code WANT.
run_check() {
    local want=$1 rc=0
    shift
    "$@" >"$J" || rc=$?
    [[ $rc -eq $want ]] || fl_fail "$CASE: '$*' exited $rc, expected $want; $(jq -c '.checks[] | [.id, .status, .message]' "$J")"
}
files_pass() {
    local id
    for id in kernel system-fips openssl-module openssl-config sshd ssh-client luks; do expect $id pass; done
}

# --- outside: Debian's libraries -------------------------------------------------------------------
CASE=outside
run_check 6 env -u OPENSSL_CONF -u OPENSSL_MODULES fipsluks check --json --root "$T/ok"
files_pass
expect openssl-live fail
expect libcryptsetup fail
has_message openssl-live "not in FIPS mode"
has_evidence openssl-live "MD5: available"
has_evidence openssl-live "default properties: fips not required"
has_evidence openssl-live "the fips provider cannot be loaded"
has_evidence libcryptsetup "crypt_get_pbkdf_default(LUKS2): argon2id"
has_message libcryptsetup "it follows OpenSSL, which is not in FIPS mode"
fl_assert_eq 2 "$(jq .summary.fail "$J")" "outside: fail count"

# --- inside: the FIPS builds of OpenSSL and libcryptsetup -------------------------------------------
CASE=inside
run_check 0 fips fipsluks check --json --root "$T/ok"
files_pass
expect openssl-live pass
expect libcryptsetup pass
fl_assert_eq true "$(jq .fips_ready "$J")" "inside: fips_ready"
has_evidence openssl-live "SHA-256: available (provider fips)"
has_evidence openssl-live "MD5: refused"
has_evidence openssl-live "default properties: fips=yes"
has_evidence openssl-live "provider fips: OpenSSL FIPS Provider 3."
has_evidence openssl-live ", status active"
has_evidence openssl-live "library file: $prefix/lib/libcrypto.so.3"
has_evidence libcryptsetup "crypt_get_pbkdf_default(LUKS2): pbkdf2"
has_evidence libcryptsetup "library: $prefix/lib/libcryptsetup.so.12"
fl_expect_exit 0 fips fipsluks check --root "$T/ok"
fl_assert_contains "$FL_OUT" "PASS openssl-live    the fips provider is active and required" "inside: text"
fl_assert_contains "$FL_OUT" "this host is FIPS-ready" "inside: text verdict"

# Inside, without --root: the OpenSSL files are the ones OPENSSL_CONF and OPENSSL_MODULES name.
CASE=inside-live
run_check 6 fips fipsluks check --json
expect openssl-module pass
expect openssl-config pass
expect openssl-live pass
expect libcryptsetup pass
has_evidence openssl-config "active configuration: $prefix/ssl/openssl.cnf (OPENSSL_CONF)"
has_evidence openssl-module "$prefix/lib/ossl-modules/fips.so (OPENSSL_MODULES): exists"

# --- mixed set-ups -----------------------------------------------------------------------------------
# A FIPS libcryptsetup whose OpenSSL configuration does not ask for FIPS: both fail, for OpenSSL's reason.
CASE=fips-libs-plain-config
printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = p\n[p]\ndefault = d\n[d]\nactivate = 1\n' >"$T/plain.cnf"
run_check 6 fips env OPENSSL_CONF="$T/plain.cnf" fipsluks check --json --root "$T/ok"
expect openssl-live fail
expect libcryptsetup fail
has_message openssl-live "the fips provider is not active, default properties do not require fips=yes, MD5 is available"
has_evidence openssl-live "provider default: OpenSSL Default Provider"
has_evidence openssl-live "the fips provider cannot be loaded: "
has_message libcryptsetup "it follows OpenSSL, which is not in FIPS mode"

# The fips provider configured (fipsmodule.cnf included) but not activated: loadable, reported, not used.
CASE=fips-not-activated
cat >"$T/inactive.cnf" <<EOF
openssl_conf = openssl_init
.include $prefix/ssl/fipsmodule.cnf
[fips_sect]
activate = 0
[openssl_init]
providers = p
[p]
default = d
fips = fips_sect
[d]
activate = 1
EOF
run_check 6 fips env OPENSSL_CONF="$T/inactive.cnf" fipsluks check --json --root "$T/ok"
expect openssl-live fail
has_evidence openssl-live "the fips provider can be loaded, but the configuration does not activate it"
has_evidence openssl-live "provider fips: OpenSSL FIPS Provider 3."
has_evidence openssl-live "MD5: available (provider default)"

# A FIPS OpenSSL under Debian's libcryptsetup (built without --enable-fips): only libcryptsetup fails.
CASE=debian-libcryptsetup
mkdir "$T/openssl-only"
ln -s "$prefix/lib/libcrypto.so.3" "$prefix/lib/libssl.so.3" "$T/openssl-only/"
run_check 6 env OPENSSL_CONF="$prefix/ssl/openssl.cnf" OPENSSL_MODULES="$prefix/lib/ossl-modules" \
    LD_LIBRARY_PATH="$T/openssl-only" fipsluks check --json --root "$T/ok"
expect openssl-live pass
expect libcryptsetup fail
has_message libcryptsetup "built without FIPS support"
[[ $(evidence libcryptsetup) != *"$prefix"* ]] || fl_fail "$CASE: the FIPS libcryptsetup was loaded"

# --- the openssl.cnf that --emit installs, with a real fipsinstall -----------------------------------
CASE=emitted-config
mkdir "$T/emitted"
fips openssl fipsinstall -module "$prefix/lib/ossl-modules/fips.so" -out "$T/emitted/fipsmodule.cnf" 2>"$T/fipsinstall.log" ||
    fl_fail "openssl fipsinstall failed: $(cat "$T/fipsinstall.log")"
fl_host_openssl_cnf | sed "s|^\\.include /etc/ssl/fipsmodule.cnf\$|.include $T/emitted/fipsmodule.cnf|" >"$T/emitted/openssl.cnf"
grep -q "^\\.include $T/emitted/fipsmodule.cnf\$" "$T/emitted/openssl.cnf" || fl_fail "emitted openssl.cnf has no .include line"
run_check 0 fips env OPENSSL_CONF="$T/emitted/openssl.cnf" fipsluks check --json --root "$T/ok"
expect openssl-live pass
expect libcryptsetup pass
has_evidence openssl-live "configuration: $T/emitted/openssl.cnf (OPENSSL_CONF)"
printf 'x' >"$T/data"
(! fips env OPENSSL_CONF="$T/emitted/openssl.cnf" openssl dgst -md5 "$T/data" >/dev/null 2>&1) ||
    fl_fail "MD5 works with the emitted openssl.cnf"
fips env OPENSSL_CONF="$T/emitted/openssl.cnf" openssl dgst -sha256 "$T/data" >/dev/null ||
    fl_fail "SHA-256 does not work with the emitted openssl.cnf"

echo "check-fips: all assertions passed"
