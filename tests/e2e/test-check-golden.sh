#!/usr/bin/env bash
# The JSON of fipsluks check is an interface too (schema in fipsluks-check(8)): fixed host trees
# below --root must give exactly the documents in tests/e2e/golden/check-*.json. The trees are built
# whole here, host identity included (etc/hostname, etc/machine-id, etc/os-release,
# proc/sys/crypto/fips_enabled), so nothing is taken from this machine but:
#   - the fipsluks version and checked_at (normalised, checked for form);
#   - root, the temporary directory (normalised);
#   - openssl-live and libcryptsetup: they probe the OpenSSL and libcryptsetup this process runs
#     with, not the tree below --root (fipsluks-check(8) says so), so their status, message, evidence
#     and remedy are this machine's (its OpenSSL version, library paths, FIPS or not). They are
#     replaced by "LIVE", taken out of remedy_order (which is renumbered), and the summary counts and
#     fips_ready, which add them in, are checked against the checks and then kept only where no live
#     check can change them.
# To update after a deliberate, documented change: FL_GOLDEN_UPDATE=1 bash this-test.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/host.sh"

python3 -c 'import yaml' 2>/dev/null || fl_fail "python3 yaml missing (scripts/setup installs python3-yaml)"

G=$FL_SOURCE_DIR/tests/e2e/golden
version=$(fipsluks --version | cut -d' ' -f2)
cd "$T"
fl_host_images img

# identity ROOT HOSTNAME MACHINE-ID OS-ID OS-VERSION: the files the host identity is read from.
identity() {
    mkdir -p "$1/etc"
    echo "$2" >"$1/etc/hostname"
    echo "$3" >"$1/etc/machine-id"
    printf 'PRETTY_NAME="fixture"\nID=%s\nVERSION_ID="%s"\n' "$4" "$5" >"$1/etc/os-release"
}

# A FIPS-ready Flatcar-like host (every file-based check passes).
fl_host_compliant compliant img
identity compliant golden-fips 0123456789abcdef0123456789abcdef flatcar 4230.2.0

# A stock Debian host: nothing done for FIPS, an argon2id volume.
fl_host_debian debian img
identity debian golden-debian fedcba9876543210fedcba9876543210 debian 12

# The FIPS host, broken: OpenSSL refuses its openssl.cnf (a variable with no value), sshd offers
# ciphers and a MAC that break on a FIPS host and ones that are not approved, ssh a UMAC, and
# fips=1 is on the command line of a kernel that did not enter FIPS mode.
fl_host_compliant broken img
identity broken golden-broken 00112233445566778899aabbccddeeff rhel 9.4
echo 0 >broken/proc/sys/crypto/fips_enabled
printf '\n[extra_sect]\nhome = $ENV::HOME/x\nbroken = $undefined_var\n' >>broken/etc/ssl/openssl.cnf
cat >broken/etc/ssh/sshd_config.d/00-legacy.conf <<'EOF'
# a legacy client list, read before 10-fips.conf: its lines win
Ciphers chacha20-poly1305@openssh.com,aes256-ctr,3des-cbc
MACs hmac-sha2-256,hmac-md5,umac-64@openssh.com
EOF
echo 'MACs umac-128-etm@openssh.com,hmac-sha2-256' >broken/etc/ssh/ssh_config.d/00-umac.conf

# The normalisation described at the top, then sorted keys.
normalise() {
    jq -S --arg v "$version" '
        def live: . == "openssl-live" or . == "libcryptsetup";
        .version |= (if . == $v then "VERSION" else . end)
        | .checked_at = "CHECKED_AT"
        | .root = "ROOT"
        | .fips_ready = (if any(.checks[]; (.id | live | not) and .status == "fail") then .fips_ready else "LIVE" end)
        | .summary |= map_values("COUNTED")
        | .checks |= map(if (.id | live) then {id, status: "LIVE", message: "LIVE", evidence: ["LIVE"], remedy: "LIVE"} else . end)
        | .remedy_order |= ([.[] | select(.check | live | not)] | to_entries | map(.value + {step: (.key + 1)}))'
}

for name in compliant debian broken; do
    rc=0
    fipsluks check --json --root "$T/$name" >"$name.raw" 2>"$name.err" || rc=$?
    jq -e . "$name.raw" >/dev/null || fl_fail "$name: not JSON: $(cat "$name.raw" "$name.err")"
    # what the normalisation hides, checked here on the document as written
    want=0
    (($(jq .summary.fail "$name.raw") == 0)) || want=6
    fl_assert_eq "$want" "$rc" "$name: exit code (6 exactly when a check fails)"
    for s in pass warn fail skip; do
        fl_assert_eq "$(jq --arg s $s '[.checks[] | select(.status == $s)] | length' "$name.raw")" \
            "$(jq .summary.$s "$name.raw")" "$name: summary.$s counts the checks"
    done
    fl_assert_eq "$(jq '.summary.fail == 0' "$name.raw")" "$(jq .fips_ready "$name.raw")" "$name: fips_ready"
    fl_assert_eq "$(jq '[range(1; length + 1)]' <<<"$(jq .remedy_order "$name.raw")")" \
        "$(jq '[.remedy_order[].step]' "$name.raw")" "$name: remedy_order steps are 1..n"
    fl_assert_eq "$T/$name" "$(jq -r .root "$name.raw")" "$name: root"
    jq -e '.checked_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' "$name.raw" >/dev/null ||
        fl_fail "$name: checked_at is not RFC 3339 UTC: $(jq .checked_at "$name.raw")"
    normalise <"$name.raw" >"check-$name.json" || fl_fail "$name: normalising failed"
    if [[ ${FL_GOLDEN_UPDATE:-0} == 1 ]]; then
        cp "check-$name.json" "$G/check-$name.json"
        echo "updated $G/check-$name.json"
    fi
    diff -u "$G/check-$name.json" "check-$name.json" || fl_fail "$name: the JSON differs from $G/check-$name.json"
done
echo "check-golden: check documents match"
