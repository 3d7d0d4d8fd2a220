#!/usr/bin/env bash
# The safe order of fipsluks check's remedies, walked for real in the FIPS test host (issue 21).
#
# A host root that is "before FIPS" (a stock Debian, lib/host.sh fl_host_debian: sshd_config and
# ssh_config with OpenSSH's defaults, so chacha20-poly1305 and curve25519 are offered; a plain
# openssl.cnf; an argon2id LUKS2 volume; no FIPS module, no /etc/system-fips; the kernel not in FIPS
# mode) is checked, and the remedies are applied one check at a time in the order check prints. Each
# step is done by lib/apply-remedy.py from the remedy text of the check as it is just before the step
# (values parsed from the remedy, or its evidence: never a known good end state; `openssl fipsinstall`
# is in openssl-config's remedy, openssl-module's installs fips.so). After every step, as
# on a host whose sshd starts a new process for each connection:
#   - a default OpenSSH client (Debian's ssh outside the FIPS host; -F /dev/null with only the key, no
#     host key checks and BatchMode: no cipher, MAC or kex option) logs in as root through a new
#     `sshd -i` (its ProxyCommand) and runs a command;
#   - the volume opens (cryptsetup open --test-passphrase with its key file);
#   - fipsluks check passes the check just fixed.
# Programs "on the host" (sshd, cryptsetup, fipsluks, openssl fipsinstall) run through $T/on-host: the
# FIPS test host's libcrypto, FIPS provider and libcryptsetup (scripts/fips-host), with the root's
# /etc/ssl, /etc/ssh, /root and OpenSSL module directory bound in their places in a private mount
# namespace, OPENSSL_CONF=/etc/ssl/openssl.cnf and OPENSSL_MODULES the module directory: sshd loads the
# root's openssl.cnf as it is at that moment, and the paths in the remedies and configuration files
# (.include /etc/ssl/fipsmodule.cnf, Include /etc/ssh/sshd_config.d/*.conf) mean what they mean on
# that host. Nothing outside $T is written.
#
# The walk in the printed order never locks out and ends with every check passing but the kernel: its
# remedy is applied to /etc/default/grub, but update-grub and the reboot that turn on the kernel flag
# are outside the walk (the kernel's fips_enabled stays 0 below a root: a warning, pending the reboot). The negative control walks the
# same remedies in the old order (issue 13's stages, hard-coded below: OpenSSL before ssh) and must
# lock out exactly at openssl-config, with sshd's "ssh_dispatch_run_fatal: ... invalid argument" in its
# log: the differential that keeps the order honest.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/host.sh"

fl_need_fips_host
for tool in /usr/sbin/sshd ssh ssh-keygen unshare jq; do
    command -v "$tool" >/dev/null || {
        [[ ${CI:-} == true ]] && fl_fail "$tool is missing (scripts/setup installs it)"
        fl_skip "$tool is missing: run scripts/setup"
    }
done
[[ $(id -u) -eq 0 ]] || fl_skip "sshd's privilege separation and the mount namespace need root"
unshare -m true 2>/dev/null || fl_skip "no private mount namespace here (unshare -m failed)"
# the fixture's OpenSSL module directory (Debian's); bound over this machine's, which must exist
export FL_MODDIR=/usr/lib/x86_64-linux-gnu/ossl-modules
[[ -d $FL_MODDIR ]] || fl_skip "no $FL_MODDIR to bind the root's module directory over"
mkdir -p /run/sshd
start=$SECONDS

export FL_FIPS_PREFIX FL_BOUND=/etc/ssl:/etc/ssh:/root:$FL_MODDIR
export FL_ON_HOST=$T/on-host FL_KEY=$T/img/key FL_FIPS_MODULE=$FL_FIPS_PREFIX/lib/ossl-modules/fips.so
# on-host ROOT CMD…: CMD as a program started on the host ROOT (see the top).
cat >"$T/on-host" <<'EOF'
#!/bin/bash
set -euo pipefail
root=$1
shift
# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare -m -- /bin/bash -c '
set -euo pipefail
root=$1
shift
IFS=: read -ra dirs <<<"$FL_BOUND"
for d in "${dirs[@]}"; do mount --bind "$root$d" "$d"; done
export LD_LIBRARY_PATH=$FL_FIPS_PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENSSL_CONF=/etc/ssl/openssl.cnf OPENSSL_MODULES=$FL_MODDIR PATH=$FL_FIPS_PREFIX/sbin:$FL_FIPS_PREFIX/bin:$PATH
exec "$@"' on-host "$root" "$@"
EOF
chmod 0755 "$T/on-host"

# --- the host before FIPS -----------------------------------------------------------------------------
mkdir "$T/img"
fl_key "$T/img/key" "fixture passphrase"
fl-mkluks --size 20 --slot "key-file=$T/img/key,kdf=argon2id" "$T/img/argon2id.img"
fl_host_debian "$T/template" "$T/img"
mkdir -p "$T/template/etc/default" "$T/template/root/.ssh"
fl_host_default_grub "$T/template/etc/default/grub"
# keys that work in FIPS mode: ECDSA P-256 for the host and the operator
ssh-keygen -q -t ecdsa -b 256 -N '' -C host -f "$T/template/etc/ssh/ssh_host_ecdsa_key"
ssh-keygen -q -t ecdsa -b 256 -N '' -C operator -f "$T/operator"
cp "$T/operator.pub" "$T/template/root/.ssh/authorized_keys"
chmod 0700 "$T/template/root" "$T/template/root/.ssh"
chmod 0600 "$T/template/root/.ssh/authorized_keys"

# check_on ROOT JSON: fipsluks check --json --root ROOT run on that host (so openssl-live and
# libcryptsetup probe ROOT's openssl.cnf), into JSON.
check_on() {
    local rc=0
    "$T/on-host" "$1" fipsluks check --json --root "$1" >"$2" || rc=$?
    [[ $rc -eq 0 || $rc -eq 6 ]] || fl_fail "fipsluks check --root $1 exited $rc: $(cat "$2")"
}
status_in() { jq -r --arg id "$2" '.checks[] | select(.id == $id) | .status' "$1"; }
message_in() { jq -r --arg id "$2" '.checks[] | select(.id == $id) | .message' "$1"; }

# login ROOT LOG: a default OpenSSH client logs in as root through a new sshd -i on the host ROOT and
# runs echo; sshd's messages are appended to LOG, the client's in $login_out.
login() {
    local proxy out
    proxy="$(printf '%q ' "$T/on-host" "$1" /usr/sbin/sshd -i -e)2>>$(printf '%q' "$2")"
    out=$(timeout 30 ssh -F /dev/null -i "$T/operator" -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o ProxyCommand="$proxy" root@fipsluks-order echo ok 2>"$T/ssh.err") || true
    login_out="$out $(grep -v '^Warning: Permanently added' "$T/ssh.err" || true)"
    [[ $out == ok ]]
}

# opens ROOT: the volume opens with its key file, on the host ROOT.
opens() {
    "$T/on-host" "$1" cryptsetup open --test-passphrase --key-file "$FL_KEY" "$1/dev/sda1" >/dev/null 2>&1
}

# walk NAME ROOT REPORT ID…: apply the remedies of the checks ID… to ROOT, one at a time, in that order,
# starting from REPORT (check's JSON on ROOT, or on an identical copy, as it is before the walk). After
# each: the check is fixed (the kernel: only for the next boot), the volume opens, a login works. A login
# that fails ends the walk: $locked is then the check whose remedy was the last applied, and $locked_log
# its sshd log; otherwise $locked is empty. $walked: the checks whose remedies were applied.
walk() {
    local name=$1 root=$2 before=$3 id n=0 after
    shift 3
    locked='' locked_log='' walked=()
    mkdir "$T/backups-$name"
    for id in "$@"; do
        n=$((n + 1))
        after=$T/$name-$n-$id.json
        case $id in
        openssl-live | libcryptsetup) # nothing to do: they follow from openssl-module and openssl-config
            echo "$name $n. $id: follows from the OpenSSL steps" >>"$T/$name.log" ;;
        *)
            echo "$name $n. $id:" >>"$T/$name.log"
            FL_ROOT=$root FL_BACKUPS=$T/backups-$name python3 "$FL_SOURCE_DIR/tests/e2e/lib/apply-remedy.py" \
                "$before" "$id" >>"$T/$name.log" 2>&1 ||
                fl_fail "$name, step $n ($id): the remedy could not be applied: $(tail -3 "$T/$name.log")"
            ;;
        esac
        walked+=("$id")
        check_on "$root" "$after"
        if [[ $id == kernel ]]; then
            # fips=1 is for the next boot; this kernel stays out of FIPS mode: below a root, check says
            # so as a warning, pending the reboot (check-kernel.c)
            fl_assert_eq warn "$(status_in "$after" kernel)" "$name, step $n: kernel (no reboot)"
            fl_assert_contains "$(message_in "$after" kernel)" "fips=1 not on the command line" "$name, step $n: kernel"
            fl_assert_contains "$(message_in "$after" kernel)" "configured for the next boot (/etc/default/grub): pending a reboot" \
                "$name, step $n: kernel"
        else
            fl_assert_eq pass "$(status_in "$after" "$id")" "$name, step $n ($id) fixed it: $(message_in "$after" "$id")"
        fi
        opens "$root" || fl_fail "$name, step $n ($id): the volume no longer opens"
        if ! login "$root" "$T/$name-$n-$id.sshd.log"; then
            locked=$id locked_log=$T/$name-$n-$id.sshd.log
            echo "$name $n. $id: LOCKED OUT: $login_out" >>"$T/$name.log"
            return 0
        fi
        before=$after
    done
}

# --- the printed order, and the old one -----------------------------------------------------------------
cp -a "$T/template" "$T/new"
J0=$T/first.json
check_on "$T/new" "$J0"
for id in kernel system-fips openssl-module openssl-config openssl-live libcryptsetup sshd ssh-client luks; do
    if [[ $(status_in "$J0" $id) == pass ]]; then fl_fail "before FIPS, $id passes: $(message_in "$J0" $id)"; fi
done
order=$(jq -r '[.remedy_order[].check] | join(" ")' "$J0")
fl_assert_eq "luks sshd ssh-client openssl-module openssl-config openssl-live libcryptsetup system-fips kernel" \
    "$order" "the printed order"
# the old order (issue 13): 1 volumes, 2 system-fips and OpenSSL, 3 ssh, 4 kernel; report order within
old_order=$(jq -r '
    {"luks": 1, "system-fips": 2, "openssl-module": 2, "openssl-config": 2, "openssl-live": 2,
     "libcryptsetup": 2, "sshd": 3, "ssh-client": 3, "kernel": 4} as $stage
    | (.checks | to_entries | map({key: .value.id, value: .key}) | from_entries) as $at
    | [.remedy_order[].check] | sort_by([$stage[.], $at[.]]) | join(" ")' "$J0")
fl_assert_eq "luks system-fips openssl-module openssl-config openssl-live libcryptsetup sshd ssh-client kernel" \
    "$old_order" "the old order"

# before any step: the default client logs in, the argon2id volume opens (OpenSSL not in FIPS mode)
login "$T/new" "$T/new-0.sshd.log" || fl_fail "before any step, the login fails: $login_out $(cat "$T/new-0.sshd.log")"
opens "$T/new" || fl_fail "before any step, the volume does not open"

# --- the walk in the printed order: never locked out ---------------------------------------------------
read -ra new_steps <<<"$order"
walk new "$T/new" "$J0" "${new_steps[@]}"
[[ -z $locked ]] || fl_fail "the printed order locks out after $locked: $login_out; sshd: $(cat "$locked_log"); $(cat "$T/new.log")"
last=$T/new-${#new_steps[@]}-kernel.json
for id in luks sshd ssh-client openssl-module openssl-config openssl-live libcryptsetup system-fips; do
    fl_assert_eq pass "$(status_in "$last" $id)" "after the walk, $id: $(message_in "$last" $id)"
done
fl_assert_eq "0 1" "$(jq -r '"\(.summary.fail) \(.summary.warn)"' "$last")" "after the walk, only the kernel warns (pending the reboot)"
fl_assert_eq '["kernel"]' "$(jq -c '[.remedy_order[].check]' "$last")" "after the walk, only the kernel is left"
grep -qx 'GRUB_CMDLINE_LINUX="fips=1"' "$T/new/etc/default/grub" ||
    fl_fail "the kernel step did not put fips=1 in GRUB_CMDLINE_LINUX: $(cat "$T/new/etc/default/grub")"
# what the steps did, from the files: the volume's keyslot is PBKDF2 now, sshd lost chacha20
fl_expect_exit 0 "$T/on-host" "$T/new" fipsluks scan --json "$T/new/dev/sda1"
fl_assert_eq pbkdf2 "$(jq -r '.. | objects | select(has("kdf")) | .kdf' <<<"$FL_OUT" | sort -u | paste -sd' ')" "the volume's keyslot KDF"
grep -q '^Ciphers aes256-gcm@openssh.com,' "$T/new/etc/ssh/sshd_config" || fl_fail "sshd_config has no Ciphers line: $(cat "$T/new/etc/ssh/sshd_config")"

# --- the old order: locked out at OpenSSL's switch --------------------------------------------------------
cp -a "$T/template" "$T/old"
read -ra old_steps <<<"$old_order"
walk old "$T/old" "$J0" "${old_steps[@]}"
fl_assert_eq openssl-config "$locked" "the old order locks out at OpenSSL's switch (walk: $(cat "$T/old.log"))"
fl_assert_contains "$login_out" "Connection closed" "the old order's failed login"
grep -q 'ssh_dispatch_run_fatal: .*invalid argument \[preauth\]' "$locked_log" ||
    fl_fail "the old order's login failed, but not with sshd's FIPS error: $login_out; sshd: $(cat "$locked_log")"
fl_assert_eq "luks system-fips openssl-module openssl-config" "${walked[*]}" "the steps of the old walk"

echo "check-order-fips: the printed order (${#new_steps[@]} steps) keeps logins and the volume working; the old order locks out at openssl-config ($((SECONDS - start)) s)"
