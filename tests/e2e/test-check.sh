#!/usr/bin/env bash
# fipsluks check --root on fixture hosts: a compliant one, a stock Debian one, and each single failure
# one at a time (status per check id in --json, evidence with file:line, remedies, exit codes); the
# text report; usage errors; --emit butane and --emit ignition parsed and compared.
# The live probes (openssl-live, libcryptsetup) test this process whatever --root says: they are
# asserted in test-check-fips.sh, here only the exit code's consistency with them.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/host.sh"

python3 -c 'import yaml' 2>/dev/null || fl_fail "python3 yaml missing (scripts/setup installs python3-yaml)"

fl_host_images "$T/img"
fl_host_compliant "$T/ok" "$T/img"
fl_host_debian "$T/debian" "$T/img"

ROOT_CHECKS=(kernel system-fips openssl-module openssl-config sshd ssh-client luks)
J=$T/check.json
CASE=

# check ROOT: fipsluks check --json --root ROOT into $J; the exit code must be 6 exactly when a check fails.
check() {
    local rc=0 want=0
    fipsluks check --json --root "$1" >"$J" || rc=$?
    jq -e . "$J" >/dev/null || fl_fail "$CASE: output is not JSON: $(cat "$J")"
    (($(jq .summary.fail "$J") == 0)) || want=6
    [[ $rc -eq $want ]] || fl_fail "$CASE: exit $rc, expected $want; $(jq -c '.checks[] | [.id, .status]' "$J")"
    # every check's status, read once
    local id st
    STATUS=()
    while read -r id st; do STATUS[$id]=$st; done < <(jq -r '.checks[] | "\(.id) \(.status)"' "$J")
}
declare -A STATUS
status() { printf '%s' "${STATUS[$1]:-}"; }
# only ID STATUS: that check has STATUS, every other file-based check passes
only() {
    local id
    for id in "${ROOT_CHECKS[@]}"; do
        if [[ $id == "$1" ]]; then expect "$id" "$2"; else expect "$id" pass; fi
    done
}
# variant NAME: a fresh copy of the compliant host in $R
variant() {
    CASE=$1
    R=$T/$1
    cp -a "$T/ok" "$R"
}

# --- the compliant host ------------------------------------------------------------------------
CASE=compliant
check "$T/ok"
only none none
fl_assert_eq fipsluks "$(jq -r .tool "$J")" "tool"
fl_assert_eq "$T/ok" "$(jq -r .root "$J")" "root"
fl_assert_eq "kernel system-fips openssl-module openssl-config openssl-live libcryptsetup sshd ssh-client luks" \
    "$(jq -r '[.checks[].id] | join(" ")' "$J")" "check ids in order"
fl_assert_eq true "$(jq '[.checks[] | (.id|type) == "string" and (.status|test("^(pass|warn|fail|skip)$"))
    and (.message|type) == "string" and (.evidence|type) == "array" and (.remedy|type|test("string|null"))] | all' "$J")" \
    "check objects"
fl_assert_eq 9 "$(jq '.summary | .pass + .warn + .fail + .skip' "$J")" "summary adds up"
fl_assert_eq "$(jq '[.checks[] | select(.status == "fail")] | length' "$J")" "$(jq .summary.fail "$J")" "summary fail"
fl_assert_eq "$(jq '.summary.fail == 0' "$J")" "$(jq .fips_ready "$J")" "fips_ready"
fl_assert_eq null "$(jq -c '[.checks[] | select(.status == "pass" and .id != "luks") | .remedy] | unique | .[0]' "$J")" \
    "no remedy for passing checks"
has_evidence kernel "/proc/sys/crypto/fips_enabled: 1"
has_evidence kernel "/proc/cmdline: fips=1"
has_evidence openssl-module "/usr/lib64/ossl-modules/fips.so: exists"
has_evidence openssl-config "/etc/ssl/openssl.cnf:11: providers = provider_sect; activated: fips, base"
has_evidence openssl-config "[algorithm_sect] default_properties = fips=yes"
has_evidence sshd "read /etc/ssh/sshd_config.d/10-fips.conf"
has_evidence sshd "/etc/ssh/sshd_config.d/10-fips.conf:3: MACs hmac-sha2-256-etm@openssh.com"
has_evidence sshd "/etc/ssh/sshd_config.d/10-fips.conf:3: MACs hmac-sha2-256-etm@openssh.com: approved"
has_evidence ssh-client "read /etc/ssh/ssh_config.d/10-fips.conf"
has_evidence ssh-client "/etc/ssh/ssh_config.d/10-fips.conf:1: Ciphers aes256-gcm@openssh.com: approved"
has_message ssh-client "ssh offers only FIPS-approved algorithms"
has_evidence sshd "(in the Match block /etc/ssh/sshd_config:11: Match User core)"
[[ $(evidence sshd) != *README* ]] || fl_fail "compliant: sshd read a file that is not *.conf"
has_message luks "2 LUKS volumes: 2 FIPS-compatible, 0 not compatible, 0 unreadable"
has_evidence luks "/dev/vda1: LUKS2, FIPS-compatible"
has_evidence luks "/dev/vda2: LUKS1, FIPS-compatible"
# the live probes are whatever this process is; the exit code followed them (checked in check())
for id in openssl-live libcryptsetup; do
    [[ $(status $id) == pass || $(status $id) == fail ]] || fl_fail "compliant: $id is $(status $id)"
done

# --- a stock Debian host: everything wrong ------------------------------------------------------
CASE=debian
check "$T/debian"
expect kernel fail
expect system-fips warn
expect openssl-module fail
expect openssl-config fail
expect sshd warn
expect ssh-client warn
expect luks fail
has_message openssl-config "no usable fipsmodule.cnf; the fips provider is not activated; default_properties do not require fips=yes"
has_evidence openssl-config "activated: default"
has_remedy openssl-config "openssl fipsinstall -out /etc/ssl/fipsmodule.cnf -module /usr/lib64/ossl-modules/fips.so"
has_remedy openssl-config "fipsluks check --emit butane"
has_evidence sshd "no line: Ciphers: OpenSSH's compiled-in default includes chacha20-poly1305@openssh.com (breaks)"
has_evidence sshd "/etc/ssh/sshd_config:1: Include /etc/ssh/sshd_config.d/*.conf: matched no files"
has_evidence ssh-client "no line: Ciphers: OpenSSH's compiled-in default includes chacha20-poly1305@openssh.com (breaks)"
has_remedy ssh-client "add to /etc/ssh/ssh_config, before any Host or Match block: Ciphers aes256-gcm@openssh.com"
has_remedy sshd "add to /etc/ssh/sshd_config, before any Match block: Ciphers aes256-gcm@openssh.com"
has_evidence luks "/dev/sda1: LUKS2, NOT FIPS-compatible: FL-KDF-ARGON2 keyslot 0"
has_remedy luks "fipsluks migrate --key-slot 0 /dev/sda1"
fl_assert_eq false "$(jq .fips_ready "$J")" "debian fips_ready"
# the safe order of remedies (issues 13, 21): volumes first, then ssh (before OpenSSL's switch: each new
# login's sshd loads openssl.cnf), then OpenSSL, the marker, the kernel and its reboot last
# (test-check-order-fips.sh walks this order in the FIPS test host)
fl_assert_eq "luks sshd ssh-client openssl-module openssl-config system-fips kernel" \
    "$(jq -r '[.remedy_order[] | select(.check != "openssl-live" and .check != "libcryptsetup") | .check] | join(" ")' "$J")" \
    "$CASE: remedy order"
fl_assert_eq "$(jq '[.remedy_order[].step]' "$J")" "$(jq '[range(1; (.remedy_order | length) + 1)]' "$J")" "$CASE: steps numbered"
fl_assert_eq '["kernel"]' "$(jq -c '[.remedy_order[] | select(.reboot) | .check]' "$J")" "$CASE: only the kernel needs a reboot"
fl_assert_eq kernel "$(jq -r '.remedy_order[-1].check' "$J")" "$CASE: kernel last"
fl_assert_eq 5 "$(jq -r '.remedy_order[-1].stage' "$J")" "$CASE: kernel stage"
fl_assert_eq "1 2 2 3 3 4 5" \
    "$(jq -r '[.remedy_order[] | select(.check != "openssl-live" and .check != "libcryptsetup") | .stage] | join(" ")' "$J")" \
    "$CASE: stages"
fl_assert_contains "$(jq -r '.remedy_order[] | select(.check == "sshd") | .why' "$J")" "before OpenSSL's switch" "$CASE: why sshd before OpenSSL"
fl_assert_contains "$(jq -r '.remedy_order[0].why' "$J")" "argon2 keyslots no longer open" "$CASE: why volumes first"
fl_assert_contains "$(jq -r '.remedy_order[-1].why' "$J")" "last, with the reboot" "$CASE: why the kernel last"
fl_expect_exit 6 fipsluks check --json --root "$T/debian"

# --- kernel, one way at a time ------------------------------------------------------------------
variant kernel-off
echo 0 >"$R/proc/sys/crypto/fips_enabled"
sed -i 's/ fips=1//' "$R/proc/cmdline"
check "$R"
only kernel fail
has_message kernel "not in FIPS mode"
has_remedy kernel "add fips=1 to the kernel command line and reboot"

variant kernel-ignored
echo 0 >"$R/proc/sys/crypto/fips_enabled"
check "$R"
only kernel fail
has_message kernel "fips=1 is on the command line, but fips_enabled=0"

variant kernel-enforced
sed -i 's/ fips=1//' "$R/proc/cmdline"
check "$R"
only kernel warn
has_evidence kernel "/proc/cmdline: no fips= argument"

variant kernel-unsupported
rm "$R/proc/sys/crypto/fips_enabled"
check "$R"
only kernel fail
has_message kernel "built without CONFIG_CRYPTO_FIPS"
has_remedy kernel "CONFIG_CRYPTO_FIPS=y"

# --- /etc/system-fips ---------------------------------------------------------------------------
variant no-system-fips
rm "$R/etc/system-fips"
check "$R"
only system-fips warn
has_message system-fips "the FIPS guide creates it for older tools that look for it (cryptsetup >= 2.5 does not read it, RHEL 9 dropped it)"
[[ $(message system-fips) != *"do not see FIPS mode"* ]] || fl_fail "$CASE: system-fips still claims cryptsetup reads it"
has_remedy system-fips "touch /etc/system-fips"

# --- OpenSSL ------------------------------------------------------------------------------------
variant no-module
rm "$R/usr/lib64/ossl-modules/fips.so"
check "$R"
only openssl-module fail
has_evidence openssl-module "fips.so: not found"

variant no-fipsmodule
rm "$R/etc/ssl/fipsmodule.cnf"
check "$R"
only openssl-config fail
has_evidence openssl-config "/etc/ssl/fipsmodule.cnf: included, but No such file or directory"
has_remedy openssl-config "openssl fipsinstall -out /etc/ssl/fipsmodule.cnf -module /usr/lib64/ossl-modules/fips.so"

variant not-included
sed -i '/^\.include/d' "$R/etc/ssl/openssl.cnf"
check "$R"
only openssl-config fail
has_evidence openssl-config "/etc/ssl/fipsmodule.cnf: exists, but /etc/ssl/openssl.cnf does not include it"
has_remedy openssl-config ".include /etc/ssl/fipsmodule.cnf"

variant not-activated
sed -i '/^fips = fips_sect$/d' "$R/etc/ssl/openssl.cnf"
check "$R"
only openssl-config fail
has_message openssl-config "the fips provider is not activated"
has_evidence openssl-config "[provider_sect]: no fips provider"
has_evidence openssl-config "activated: base"

variant no-fips-properties
sed -i '/^default_properties/d' "$R/etc/ssl/openssl.cnf"
check "$R"
only openssl-config fail
has_message openssl-config "activates the fips provider but sets no default_properties = fips=yes (as the FIPS guide's openssl.cnf.fips): libcryptsetup (OpenSSL backend) then does not run in FIPS mode, and luksFormat still makes argon2id keyslots"
has_remedy openssl-config "set default_properties = fips=yes in [algorithm_sect] of /etc/ssl/openssl.cnf"
has_remedy openssl-config "the sections must be complete: [openssl_init] providers = provider_sect, alg_section = algorithm_sect; [provider_sect] fips = fips_sect, base = base_sect; [base_sect] activate = 1; [algorithm_sect] default_properties = fips=yes"

# the guide's openssl.cnf.fips exactly: no alg_section at all
variant guide-openssl-cnf
sed -i '/^alg_section/d; /^\[algorithm_sect\]/d; /^default_properties/d' "$R/etc/ssl/openssl.cnf"
check "$R"
only openssl-config fail
has_message openssl-config "sets no default_properties = fips=yes (as the FIPS guide's openssl.cnf.fips)"
has_remedy openssl-config "[algorithm_sect] default_properties = fips=yes"

# Flatcar keeps the real file elsewhere: an absolute link is followed inside the root
variant linked-config
mkdir -p "$R/usr/share/ssl"
mv "$R/etc/ssl/openssl.cnf" "$R/usr/share/ssl/openssl.cnf"
ln -s /usr/share/ssl/openssl.cnf "$R/etc/ssl/openssl.cnf"
check "$R"
only none none

# --- sshd ---------------------------------------------------------------------------------------
variant sshd-chacha
printf '# legacy clients\n\nCiphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com\n' \
    >"$R/etc/ssh/sshd_config.d/05-legacy.conf"
check "$R"
only sshd fail
has_evidence sshd "/etc/ssh/sshd_config.d/05-legacy.conf:3: Ciphers chacha20-poly1305@openssh.com: breaks: OpenSSH takes ChaCha20-Poly1305 from OpenSSL, whose FIPS provider has none"
has_evidence sshd "/etc/ssh/sshd_config.d/05-legacy.conf:3: Ciphers aes256-gcm@openssh.com: approved"
has_message sshd "ssh_dispatch_run_fatal"
has_remedy sshd "/etc/ssh/sshd_config.d/05-legacy.conf line 3: replace with \"Ciphers aes256-gcm@openssh.com\" (without what breaks)"

variant sshd-match
printf 'Match Address 192.0.2.0/24\n    Ciphers hmac-md5,chacha20-poly1305@openssh.com\n' >>"$R/etc/ssh/sshd_config"
check "$R"
only sshd fail
has_evidence sshd "/etc/ssh/sshd_config:14: Ciphers chacha20-poly1305@openssh.com: breaks"
has_evidence sshd "(in the Match block /etc/ssh/sshd_config:13: Match Address 192.0.2.0/24)"

# What works on a FIPS host but is not approved warns: curve25519 and ed25519 (issue 13: failing them
# and suggesting new host key algorithms could lock operators out for no functional reason).
variant sshd-not-approved
sed -i 's/^KexAlgorithms = /KexAlgorithms = curve25519-sha256,/; s/^HostKeyAlgorithms /HostKeyAlgorithms ssh-ed25519,/' \
    "$R/etc/ssh/sshd_config.d/10-fips.conf"
check "$R"
only sshd warn
has_evidence sshd "/etc/ssh/sshd_config.d/10-fips.conf:4: KexAlgorithms curve25519-sha256: not approved: X25519 is not FIPS-approved; OpenSSH computes X25519 itself, so the handshake works"
has_evidence sshd "/etc/ssh/sshd_config.d/10-fips.conf:5: HostKeyAlgorithms ssh-ed25519: not approved"
has_message sshd "sshd offers algorithms that work on a FIPS host but are not FIPS-approved (KexAlgorithms, HostKeyAlgorithms): RHEL-style FIPS crypto policies disable them"
has_remedy sshd "/etc/ssh/sshd_config.d/10-fips.conf line 5 (optional: these work, but are not FIPS-approved"

variant sshd-defaults
sed -i '/^Ciphers/d' "$R/etc/ssh/sshd_config.d/10-fips.conf"
check "$R"
only sshd warn
has_evidence sshd "no line: Ciphers: OpenSSH's compiled-in default includes chacha20-poly1305@openssh.com (breaks)"

variant sshd-plus
sed -i 's/^Ciphers .*/Ciphers +aes256-cbc/' "$R/etc/ssh/sshd_config.d/10-fips.conf"
check "$R"
only sshd warn
has_remedy sshd "/etc/ssh/sshd_config.d/10-fips.conf line 2: replace with \"Ciphers "

variant sshd-minus
sed -i 's/^Ciphers .*/Ciphers -chacha20-poly1305@openssh.com/; s/^macs=.*/MACs -umac-*/' \
    "$R/etc/ssh/sshd_config.d/10-fips.conf"
check "$R"
only none none

# first value wins: a later file cannot add chacha20 back
variant sshd-later
echo 'Ciphers chacha20-poly1305@openssh.com' >"$R/etc/ssh/sshd_config.d/99-late.conf"
check "$R"
only none none
has_evidence sshd "/etc/ssh/sshd_config.d/99-late.conf:1: Ciphers chacha20-poly1305@openssh.com: ignored, /etc/ssh/sshd_config.d/10-fips.conf:2 came first"

variant sshd-absent
rm "$R/etc/ssh/sshd_config"
check "$R"
only sshd skip

# --- ssh client -----------------------------------------------------------------------------------
variant client-chacha
printf 'Host legacy.example.com\n    Ciphers chacha20-poly1305@openssh.com,aes128-ctr\n' >"$R/etc/ssh/ssh_config.d/05-legacy.conf"
check "$R"
only ssh-client fail
has_evidence ssh-client "/etc/ssh/ssh_config.d/05-legacy.conf:2: Ciphers chacha20-poly1305@openssh.com,aes128-ctr (in the Host block /etc/ssh/ssh_config.d/05-legacy.conf:1: Host legacy.example.com)"
has_evidence ssh-client "/etc/ssh/ssh_config.d/05-legacy.conf:2: Ciphers chacha20-poly1305@openssh.com: breaks"
has_message ssh-client "ssh offers algorithms that break on a FIPS host (Ciphers): outgoing connections that negotiate them fail the same way"
has_remedy ssh-client "/etc/ssh/ssh_config.d/05-legacy.conf line 2: replace with \"Ciphers aes128-ctr\" (without what breaks)"

variant client-defaults
rm "$R/etc/ssh/ssh_config.d/10-fips.conf"
check "$R"
only ssh-client warn
has_evidence ssh-client "/etc/ssh/ssh_config:1: Include /etc/ssh/ssh_config.d/*.conf: matched no files"

variant client-absent
rm -r "$R/etc/ssh/ssh_config" "$R/etc/ssh/ssh_config.d"
check "$R"
only ssh-client skip

# --- LUKS volumes -------------------------------------------------------------------------------
variant luks-argon2
mkdir -p "$R/sys/class/block/vdb"
cp --sparse=always "$T/img/argon2id.img" "$R/dev/vdb"
check "$R"
only luks warn # not in /etc/crypttab: not opened at boot
has_message luks "3 LUKS volumes: 2 FIPS-compatible, 1 not compatible, 0 unreadable"
has_evidence luks "/dev/vdb: LUKS2, NOT FIPS-compatible: FL-KDF-ARGON2 keyslot 0"
has_evidence luks "/dev/vdb: not in /etc/crypttab"
has_remedy luks "fipsluks migrate --key-slot 0 /dev/vdb"
echo "vdb /dev/vdb none luks" >"$R/etc/crypttab" # opened at boot: fails
check "$R"
only luks fail
has_evidence luks "/dev/vdb: in /etc/crypttab as vdb (line 1), key file none (keyslot 0: none)"
has_remedy luks "fipsluks migrate --key-slot 0 /dev/vdb"
rm "$R/etc/crypttab"

# a LUKS signature without a valid header: cannot be judged, a warning
variant luks-unreadable
mkdir -p "$R/sys/class/block/vdc"
truncate -s 1M "$R/dev/vdc"
printf 'LUKS\xba\xbe\x00\x02' | dd of="$R/dev/vdc" conv=notrunc status=none
check "$R"
only luks warn
has_evidence luks "/dev/vdc: cannot read: LUKS signature found, but no header copy is valid"
has_remedy luks "fipsluks scan (as root) shows why a volume cannot be read"

variant luks-no-sysfs
rm -r "$R/sys"
check "$R"
only luks skip

# --- text report --------------------------------------------------------------------------------
fl_expect_exit "$(fipsluks check --json --root "$T/ok" >/dev/null && echo 0 || echo 6)" fipsluks check --root "$T/ok"
fl_assert_contains "$FL_OUT" "PASS kernel          fips_enabled=1, fips=1 on the command line" "text pass line"
fl_assert_contains "$FL_OUT" "       /proc/sys/crypto/fips_enabled: 1" "text evidence"
fl_assert_contains "$FL_OUT" "9 checks: " "text summary"
[[ $FL_OUT != *$'\033'* ]] || fl_fail "colours when not on a terminal"
fl_expect_exit 6 fipsluks check --root "$T/kernel-off"
fl_assert_contains "$FL_OUT" "FAIL kernel          the kernel is not in FIPS mode" "text fail line"
fl_assert_contains "$FL_OUT" "       fix: add fips=1 to the kernel command line and reboot" "text remedy"
fl_assert_contains "$FL_OUT" "this host is NOT FIPS-ready" "text verdict"
rc=0
fipsluks check --root "$T/no-system-fips" >"$T/text.txt" || rc=$?
fl_assert_contains "$(cat "$T/text.txt")" "WARN system-fips     /etc/system-fips does not exist" "text warn line"
fl_assert_contains "$(cat "$T/text.txt")" "       fix: touch /etc/system-fips" "text remedy"
# the safe order, with the reason and the reboot marked, after the checks
fl_expect_exit 6 fipsluks check --root "$T/debian"
order=$(printf '%s\n' "$FL_OUT" | sed -n '/^fix in this order/,/^$/p')
fl_assert_contains "$order" "fix in this order (top to bottom keeps the host bootable and reachable):" "text order heading"
fl_assert_contains "$order" "  1. luks: first: once OpenSSL is in FIPS mode" "text order: luks first"
fl_assert_contains "$order" "  2. sshd: before OpenSSL's switch (openssl-config), and restart sshd" "text order: sshd second"
fl_assert_contains "$order" ". kernel (needs a reboot): last, with the reboot" "text order: kernel"
[[ $(printf '%s\n' "$order" | grep -E '^  [0-9]+\.' | tail -1) == *". kernel (needs a reboot)"* ]] ||
    fl_fail "text order: the kernel is not last: $order"
[[ $(printf '%s\n' "$order" | grep -n '^  [0-9]*\. luks:' | cut -d: -f1) -lt $(printf '%s\n' "$order" | grep -n '^  [0-9]*\. sshd:' | cut -d: -f1) ]] ||
    fl_fail "text order: sshd before luks: $order"
[[ $(printf '%s\n' "$order" | grep -n '^  [0-9]*\. sshd:' | cut -d: -f1) -lt $(printf '%s\n' "$order" | grep -n '^  [0-9]*\. openssl-config:' | cut -d: -f1) ]] ||
    fl_fail "text order: openssl-config before sshd: $order"

# --- usage ---------------------------------------------------------------------------------------
fl_expect_exit 1 fipsluks check --root "$T/does-not-exist"
fl_expect_exit 1 fipsluks check --root "$T/ok/etc/system-fips"
fl_expect_exit 1 fipsluks check extra-argument
fl_expect_exit 1 fipsluks check --no-such-option
fl_expect_exit 1 fipsluks check --emit yaml
fl_expect_exit 1 fipsluks check --emit butane --json
fl_expect_exit 1 fipsluks check --emit ignition --root "$T/ok"
fl_expect_exit 1 fipsluks check --luks data:/dev/vdb
fl_expect_exit 1 fipsluks check --emit butane --luks data
fl_expect_exit 1 fipsluks check --emit butane --luks data:dev/vdb
fl_expect_exit 1 fipsluks check --emit butane --luks a/b:/dev/vdb
fl_expect_exit 1 fipsluks check --emit butane --luks a:/dev/vdb:k:l:extra
rc=0
fipsluks check --emit ignition --luks data:/dev/vdb:/etc/data.key >/dev/null 2>"$T/err" || rc=$?
fl_assert_eq 1 "$rc" "ignition with a local key file"
fl_assert_contains "$(cat "$T/err")" "Ignition cannot read the local key file '/etc/data.key'" "ignition local key file message"
fl_expect_exit 0 fipsluks check --help
fl_assert_contains "$FL_OUT" "--emit" "help"
fl_assert_contains "$FL_OUT" "--luks=NAME:DEVICE[:KEYFILE[:LABEL]]" "help --luks"
fl_expect_exit 0 fipsluks --help
fl_assert_contains "$FL_OUT" "check " "verb list"

# --- --emit butane / ignition ------------------------------------------------------------------
fl_expect_exit 0 fipsluks check --emit butane
printf '%s\n' "$FL_OUT" >"$T/fips.bu"
fipsluks check --emit ignition >"$T/fips.ign" 2>"$T/err" || fl_fail "--emit ignition failed"
fl_assert_contains "$(cat "$T/err")" "note: no storage.luks entries: Ignition formats LUKS volumes with cryptsetup's defaults (argon2id)" "ignition hint on stderr"
grep -q '^  # LUKS volumes: Ignition formats them with cryptsetup.s defaults (argon2id)' "$T/fips.bu" ||
    fl_fail "butane: no comment on how to add LUKS volumes"
jq -e '.storage | has("luks") | not' "$T/fips.ign" >/dev/null || fl_fail "ignition: storage.luks without --luks"
python3 - "$T/fips.bu" "$T/fips.ign" <<'EOF' || fl_fail "emitted configs: see above"
import json, sys, urllib.parse, yaml

bu = yaml.safe_load(open(sys.argv[1]))
ign = json.load(open(sys.argv[2]))
fipsinstall = "ExecStart=/usr/bin/openssl fipsinstall -out /etc/ssl/fipsmodule.cnf -module /usr/lib64/ossl-modules/fips.so"
move = "ExecStart=/usr/bin/mv /etc/ssl/openssl.cnf.fips /etc/ssl/openssl.cnf"

def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

# Butane: variant flatcar 1.0.0, fips=1, the three things, the unit
check(bu["variant"] == "flatcar" and bu["version"] == "1.0.0", "butane variant/version")
check(bu["kernel_arguments"]["should_exist"] == ["fips=1"], "butane kernel_arguments")
files = {f["path"]: f for f in bu["storage"]["files"]}
check(set(files) == {"/etc/system-fips", "/etc/ssl/openssl.cnf.fips"}, "butane files: %s" % sorted(files))
for f in files.values():
    check(f["mode"] == 0o644, "butane mode of " + f["path"])
    check(isinstance(f["contents"]["inline"], str), "butane inline contents of " + f["path"])
cnf = files["/etc/ssl/openssl.cnf.fips"]["contents"]["inline"]
for line in ["openssl_conf = openssl_init", ".include /etc/ssl/fipsmodule.cnf", "providers = provider_sect",
             "alg_section = algorithm_sect", "fips = fips_sect", "base = base_sect", "activate = 1",
             "default_properties = fips=yes"]:
    check(line in cnf.splitlines(), "openssl.cnf.fips line: " + line)
units = bu["systemd"]["units"]
check(len(units) == 1 and units[0]["name"] == "enable-fips.service" and units[0]["enabled"] is True, "butane unit")
unit = units[0]["contents"].splitlines()
for line in [fipsinstall, move, "Type=oneshot", "RemainAfterExit=yes", "ConditionPathExists=/etc/ssl/openssl.cnf.fips",
             "WantedBy=multi-user.target", "[Install]"]:
    check(line in unit, "unit line: " + line)
check(unit.index(fipsinstall) < unit.index(move), "fipsinstall runs before the move")

# Ignition 3.3.0: the same, in Ignition's terms
check(ign["ignition"]["version"] == "3.3.0", "ignition version")
check(ign["kernelArguments"]["shouldExist"] == bu["kernel_arguments"]["should_exist"], "ignition shouldExist")
check(ign["kernelArguments"]["shouldNotExist"] == bu["kernel_arguments"]["should_not_exist"], "ignition shouldNotExist")
ifiles = {f["path"]: f for f in ign["storage"]["files"]}
check(set(ifiles) == set(files), "ignition files")
for path, f in ifiles.items():
    check(f["mode"] == 420, "ignition mode of " + path)
    check(f["overwrite"] is True and files[path]["overwrite"] is True, "overwrite of " + path)
    src = f["contents"]["source"]
    check(src.startswith("data:,"), "data URL of " + path)
    check(urllib.parse.unquote(src[len("data:,"):]) == files[path]["contents"]["inline"], "contents of " + path)
iunits = ign["systemd"]["units"]
check([(u["name"], u["enabled"], u["contents"]) for u in iunits]
      == [(u["name"], u["enabled"], u["contents"]) for u in units], "ignition units")
EOF

# --- --luks: storage.luks entries with the PBKDF2 options ------------------------------------------
fipsluks check --emit butane --luks 'data:/dev/disk/by-partlabel/data' \
    --luks 'srv:/dev/disk/by-path/pci-0000\:00\:1f.2-ata-1:https\://keys.example.com/srv.key:srv-data' \
    --luks 'local:/dev/vdc:keys/local.key' >"$T/luks.bu" 2>"$T/err" || fl_fail "--emit butane --luks failed"
fipsluks check --emit ignition --luks 'data:/dev/disk/by-partlabel/data' \
    --luks 'srv:/dev/disk/by-path/pci-0000\:00\:1f.2-ata-1:https\://keys.example.com/srv.key:srv-data' \
    >"$T/luks.ign" 2>"$T/err" || fl_fail "--emit ignition --luks failed"
[[ ! -s $T/err ]] || fl_fail "--emit ignition --luks wrote to stderr: $(cat "$T/err")"
python3 - "$T/luks.bu" "$T/luks.ign" <<'EOF' || fl_fail "emitted storage.luks: see above"
import json, sys, yaml

bu = yaml.safe_load(open(sys.argv[1]))
ign = json.load(open(sys.argv[2]))
opts = ["--pbkdf", "pbkdf2", "--hash", "sha256", "--cipher", "aes-xts-plain64", "--key-size", "512"]

def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

luks = bu["storage"]["luks"]
check([v["name"] for v in luks] == ["data", "srv", "local"], "butane names: %s" % luks)
check(luks[0] == {"name": "data", "device": "/dev/disk/by-partlabel/data", "wipe_volume": False, "options": opts},
      "butane data: %s" % luks[0])
check(luks[1]["device"] == "/dev/disk/by-path/pci-0000:00:1f.2-ata-1", "butane srv device")
check(luks[1]["key_file"] == {"source": "https://keys.example.com/srv.key"}, "butane srv key_file")
check(luks[1]["label"] == "srv-data", "butane srv label")
check(luks[2]["key_file"] == {"local": "keys/local.key"}, "butane local key_file")
for v in luks:
    check(v["options"] == opts, "butane options of " + v["name"])
    o = v["options"]
    check(o[o.index("--pbkdf") + 1] == "pbkdf2", "pbkdf2")
ilu = ign["storage"]["luks"]
check([v["name"] for v in ilu] == ["data", "srv"], "ignition names")
check(ilu[0] == {"name": "data", "device": "/dev/disk/by-partlabel/data", "wipeVolume": False, "options": opts},
      "ignition data: %s" % ilu[0])
check(ilu[1]["keyFile"] == {"source": "https://keys.example.com/srv.key"} and ilu[1]["label"] == "srv-data",
      "ignition srv: %s" % ilu[1])
# the rest of the config is unchanged by --luks
check(bu["kernel_arguments"]["should_exist"] == ["fips=1"], "butane kernel args with --luks")
check(ign["kernelArguments"]["shouldExist"] == ["fips=1"], "ignition kernel args with --luks")
EOF

if command -v ignition-validate >/dev/null; then
    ignition-validate "$T/fips.ign" || fl_fail "ignition-validate refuses the emitted Ignition config"
    ignition-validate "$T/luks.ign" || fl_fail "ignition-validate refuses the emitted Ignition config with storage.luks"
else
    echo "note: ignition-validate not installed (Debian package ignition); Ignition config checked by structure only" >&2
fi
if command -v butane >/dev/null; then
    butane --strict <"$T/fips.bu" >"$T/butane.ign" || fl_fail "butane --strict refuses the emitted Butane config"
    fl_assert_eq "$(jq -S '.kernelArguments, .systemd' "$T/fips.ign")" "$(jq -S '.kernelArguments, .systemd' "$T/butane.ign")" \
        "butane's translation"
else
    echo "note: butane not installed (Debian bookworm has no package); Butane config checked by structure only" >&2
fi
if command -v systemd-analyze >/dev/null; then
    jq -r '.systemd.units[0].contents' "$T/fips.ign" >"$T/enable-fips.service"
    (cd "$T" && systemd-analyze verify ./enable-fips.service) || fl_fail "systemd-analyze verify refuses the unit"
    # It runs before sshd takes a login: Flatcar socket-activates sshd (sshd.socket, sshd@.service),
    # other hosts run sshd.service. A boot transaction with it, sshd's units and basic.target (as
    # multi-user.target has) has no ordering cycle: sshd.socket is before sockets.target, which is
    # before basic.target, which a service with the default dependencies comes after.
    grep -qx 'Before=sshd.socket sshd.service systemd-user-sessions.service shutdown.target' "$T/enable-fips.service" ||
        fl_fail "enable-fips.service is not ordered before sshd.socket and sshd.service: $(grep '^Before=' "$T/enable-fips.service")"
    for host in flatcar service; do
        U=$T/units-$host
        mkdir "$U"
        cp "$T/enable-fips.service" "$U/"
        if [[ $host == flatcar ]]; then
            printf '[Unit]\nDescription=OpenSSH Server Socket\nConflicts=sshd.service\n[Socket]\nListenStream=22\nAccept=yes\n[Install]\nWantedBy=sockets.target\n' >"$U/sshd.socket"
            printf '[Unit]\nDescription=OpenSSH per-connection server daemon\n[Service]\nExecStart=-/usr/sbin/sshd -i\nStandardInput=socket\n' >"$U/sshd@.service"
            wants="enable-fips.service sshd.socket basic.target"
        else
            printf '[Unit]\nDescription=OpenSSH server daemon\n[Service]\nExecStart=/usr/sbin/sshd -D\n' >"$U/sshd.service"
            wants="enable-fips.service sshd.service basic.target"
        fi
        printf '[Unit]\nDescription=the boot, in short\nWants=%s\n' "$wants" >"$U/fl-boot.target"
        (cd "$U" && systemd-analyze verify ./fl-boot.target ./enable-fips.service) >"$T/verify-$host.out" 2>&1 ||
            fl_fail "boot transaction with enable-fips.service ($host): $(cat "$T/verify-$host.out")"
        [[ ! -s $T/verify-$host.out ]] || fl_fail "systemd-analyze verify ($host): $(cat "$T/verify-$host.out")"
    done
fi

echo "check: all assertions passed"
