#!/usr/bin/env bash
# scripts/ansible/fips-enable.yml run for real with Debian's ansible-core against prepared roots
# (fipsluks_root): a Flatcar-like host and a Debian-like host (each with its own sshd_config and
# sshd_config.d Include, ssh_config, openssl.cnf, grub configuration, ECDSA host key, a copy of the
# FIPS test host's fips.so and PBKDF2 LUKS images), and a host whose gate fails (an argon2 volume,
# and an explicit Ciphers line before the Include that would beat the drop-in).
#   - ansible-lint clean;
#   - with the bad host in the inventory: its gate says why, and no file under any root changes;
#   - --check on the fresh roots: changes reported, nothing changed, no command run;
#   - the real run (reboot skipped): openssl.cnf parsed by the FIPS host's openssl (fips provider
#     active, a fetch without fips=yes refused), sshd -t and sshd -T on each root's configuration
#     (in a mount namespace: the Include is an absolute path), fips=1 exactly once in the grub
#     configuration, update-grub and the sshd reload recorded once, `fipsluks check --root` passes
#     every check but the kernel, which is pending a reboot;
#   - a second run reports changed=0 and runs no command.
# The commands that cannot run below a root (sshd -t, reloading sshd, update-grub) are replaced by
# recorders; sshd -t by the real sshd in a mount namespace.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/host.sh"

command -v ansible-playbook >/dev/null || {
    [[ ${CI:-} == true ]] && fl_fail "ansible-playbook missing (scripts/setup installs ansible-core)"
    fl_skip "ansible-playbook missing (Debian package ansible-core)"
}
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[[ -x $SSHD ]] || fl_skip "no sshd (Debian package openssh-server)"
unshare -m true 2>/dev/null || fl_skip "unshare -m does not work here: sshd and openssl cannot read a root's /etc"
fl_need_fips_host
A=$FL_SOURCE_DIR/scripts/ansible
FIPSLUKS=$(command -v fipsluks)
RUN=$FL_SOURCE_DIR/scripts/fips-host/run
export ANSIBLE_LOCAL_TEMP=$T/ansible-local ANSIBLE_REMOTE_TEMP=$T/ansible-remote ANSIBLE_NOCOLOR=1
export ANSIBLE_PIPELINING=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_HOME=$T/ansible-home
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
cd "$T"

# ---- ansible-lint ----------------------------------------------------------------------------------
if command -v ansible-lint >/dev/null; then
    (cd "$A" && ansible-lint --offline -p fips-enable.yml tasks/fips-gate.yml tasks/fips-apply.yml \
        tasks/fips-reboot.yml) >lint.log 2>&1 || { cat lint.log; fl_fail "ansible-lint finds problems in fips-enable.yml"; }
elif [[ ${CI:-} == true ]]; then
    fl_fail "ansible-lint missing (scripts/setup installs it)"
else
    echo "NOTE: ansible-lint missing (Debian package ansible-lint): the playbook is not linted" >&2
fi

# ---- the roots -------------------------------------------------------------------------------------
printf 'fips-enable' >key
fl-mkluks --size 4 --slot "key-file=key,kdf=pbkdf2,hash=sha256,iter=1000" pbkdf2.img
fl-mkluks --size 4 --slot "key-file=key,kdf=argon2id" argon2id.img
ssh-keygen -q -t ecdsa -N '' -C fixture -f hostkey
MODULE=$FL_FIPS_PREFIX/lib/ossl-modules/fips.so

# common ROOT CMDLINE: what every root has
common() {
    local r=$1
    mkdir -p "$r"/proc/sys/crypto "$r"/etc/ssh/sshd_config.d "$r"/etc/ssh/ssh_config.d "$r"/etc/ssl \
        "$r"/sys/class/block/vda "$r"/sys/class/block/vda1 "$r"/dev
    echo 0 >"$r/proc/sys/crypto/fips_enabled"
    echo "$2" >"$r/proc/cmdline"
    cp hostkey "$r/etc/ssh/ssh_host_ecdsa_key" && cp hostkey.pub "$r/etc/ssh/ssh_host_ecdsa_key.pub"
    cat >"$r/etc/ssh/ssh_config" <<'EOF'
Include /etc/ssh/ssh_config.d/*.conf
Host *
    SendEnv LANG LC_*
    HashKnownHosts yes
EOF
    # the host's own openssl.cnf, replaced by the play (and kept as a backup)
    fl_host_debian_openssl_cnf "$r/etc/ssl/openssl.cnf"
    truncate -s 1M "$r/dev/vda"
    cp --sparse=always pbkdf2.img "$r/dev/vda1"
}

flatcar() {
    local r=$1
    common "$r" 'BOOT_IMAGE=/flatcar/vmlinuz-a mount.usr=/dev/mapper/usr rootflags=rw console=ttyS0,115200n8 flatcar.autologin'
    rmdir "$r/etc/ssh/ssh_config.d" # (made by the play)
    # openssl.cnf is a link into the read-only /usr: the play replaces the link, never the file in /usr
    mkdir -p "$r/usr/share/ssl"
    mv "$r/etc/ssl/openssl.cnf" "$r/usr/share/ssl/openssl.cnf"
    ln -s ../../usr/share/ssl/openssl.cnf "$r/etc/ssl/openssl.cnf"
    printf 'NAME="Flatcar Container Linux by Kinvolk"\nID=flatcar\nID_LIKE=coreos\nVERSION_ID=4152.2.0\n' >"$r/etc/os-release"
    mkdir -p "$r/usr/lib64/ossl-modules" "$r/oem"
    cp "$MODULE" "$r/usr/lib64/ossl-modules/fips.so"
    printf '# Flatcar GRUB settings\nset oem_id="qemu"\nset linux_append="flatcar.autologin"\n' >"$r/oem/grub.cfg"
    cat >"$r/etc/ssh/sshd_config" <<'EOF'
Include /etc/ssh/sshd_config.d/*.conf
# Flatcar-like defaults
Subsystem sftp internal-sftp
ClientAliveInterval 180
UseDNS no
UsePAM yes
PrintLastLog no
PrintMotd no
EOF
}

# debian ROOT [BAD]: BAD: an explicit Ciphers line before the Include, and an argon2id volume
debian() {
    local r=$1
    common "$r" 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0d6f ro quiet'
    printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' >"$r/etc/os-release"
    mkdir -p "$r/usr/lib/x86_64-linux-gnu/ossl-modules" "$r/usr/lib/ssl" "$r/etc/default"
    cp "$MODULE" "$r/usr/lib/x86_64-linux-gnu/ossl-modules/fips.so"
    ln -s /etc/ssl/openssl.cnf "$r/usr/lib/ssl/openssl.cnf"
    fl_host_default_grub "$r/etc/default/grub" console=ttyS0
    {
        [[ -z ${2:-} ]] || echo 'Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com'
        cat <<'EOF'
Include /etc/ssh/sshd_config.d/*.conf
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem	sftp	/usr/lib/openssh/sftp-server
EOF
    } >"$r/etc/ssh/sshd_config"
    if [[ -n ${2:-} ]]; then
        mkdir -p "$r/sys/class/block/vda2"
        cp --sparse=always argon2id.img "$r/dev/vda2"
    fi
}
ROOTS=$T/roots
flatcar "$ROOTS/flatcar"
debian "$ROOTS/debian"
debian "$ROOTS/bad" bad
debian "$ROOTS/refuse" # a host whose sshd refuses the drop-in (its sshd -t fails)
cp -a "$ROOTS" pristine-roots

# snap: every path under the roots, its type, mode and link target, and every file's bytes
snap() { (cd "$ROOTS" && find . -printf '%p %y %m %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
pristine=$(snap)

# ---- the inventory; the commands that cannot run below a root --------------------------------------
mkdir bin inv inv/host_vars
cat >bin/record <<EOF
#!/bin/sh
echo "\$*" >>"$T/calls.log"
EOF
# sshd -t on a root: the real sshd, with the root's /etc/ssh in its place (the Include is absolute)
cat >bin/sshd-t <<EOF
#!/bin/sh
echo "sshd-t \$1" >>"$T/calls.log"
exec unshare -m sh -c 'mount --bind "\$1/etc/ssh" /etc/ssh && exec "$SSHD" -t -f /etc/ssh/sshd_config' sh "\$1"
EOF
chmod 0755 bin/record bin/sshd-t
touch calls.log
cat >inv/hosts <<EOF
[fleet]
flatcar ansible_connection=local
debian ansible_connection=local
bad ansible_connection=local
refuse ansible_connection=local fipsluks_sshd_test_cmd='["false"]'
EOF
mkdir -p inv/group_vars
cat >inv/group_vars/all.yml <<EOF
fipsluks_bin: $FIPSLUKS
fipsluks_root: "$ROOTS/{{ inventory_hostname }}"
fipsluks_openssl_cmd: [$RUN, openssl]
fipsluks_sshd_test_cmd: [$T/bin/sshd-t, "$ROOTS/{{ inventory_hostname }}"]
fipsluks_sshd_reload_cmd: [$T/bin/record, reload-sshd, "{{ inventory_hostname }}"]
fipsluks_update_grub_cmd: [$T/bin/record, update-grub, "{{ inventory_hostname }}"]
fipsluks_serial: 2
EOF
play() {
    local t0=$SECONDS rc=0
    ansible-playbook -i inv/hosts "$A/fips-enable.yml" --skip-tags reboot "$@" || rc=$?
    echo "# ansible-playbook: $((SECONDS - t0)) s" >&2
    return $rc
}
# recap LOG HOST FIELD: the count of FIELD (changed, failed, ...) in the PLAY RECAP line of HOST
recap() { sed -n "s/^$2 *:.* $3=\([0-9]*\).*/\1/p" "$1"; }

# ---- a host whose gate fails: nothing changes on any host -------------------------------------------
rc=0
play >gate-play.log || rc=$?
[[ $rc -ne 0 ]] || { cat gate-play.log; fl_fail "fips-enable.yml passed with a host that fails the gate"; }
grep -q "bad is not switched to FIPS mode: LUKS volumes: .*not compatible.*/dev/vda2: LUKS2, NOT FIPS-compatible" gate-play.log ||
    { cat gate-play.log; fl_fail "the gate did not name bad's argon2 volume"; }
grep -q "sshd with the drop-in 00-fipsluks-fips.conf: sshd offers algorithms that break.*chacha20-poly1305@openssh.com" gate-play.log ||
    { cat gate-play.log; fl_fail "the gate did not say that bad's Ciphers line beats the drop-in"; }
grep -q "the gate did not pass on bad" gate-play.log || { cat gate-play.log; fl_fail "the gate did not stop every host"; }
grep -q "PLAY \[Switch to FIPS mode" gate-play.log && { cat gate-play.log; fl_fail "the switch started after a failed gate"; }
fl_assert_eq "$pristine" "$(snap)" "every file under every root after a failed gate"
[[ ! -s calls.log ]] || fl_fail "commands ran after a failed gate: $(cat calls.log)"

# ---- --check on the fresh roots: changes reported, none made -----------------------------------------
play -l flatcar,debian --check >check-play.log || { cat check-play.log; fl_fail "fips-enable.yml --check failed"; }
for h in flatcar debian; do
    [[ $(recap check-play.log $h changed) -ge 5 ]] ||
        { cat check-play.log; fl_fail "$h: --check reported $(recap check-play.log $h changed) changes"; }
done
fl_assert_eq "$pristine" "$(snap)" "every file under every root after --check"
[[ ! -s calls.log ]] || fl_fail "commands ran under --check: $(cat calls.log)"

# ---- the real run (no reboot) ----------------------------------------------------------------------
play -l flatcar,debian >apply-play.log || { cat apply-play.log; fl_fail "fips-enable.yml failed"; }
for h in flatcar debian; do
    [[ $(recap apply-play.log $h changed) -gt 0 ]] || fl_fail "$h: changed=0 on the run that switched it"
done
fl_assert_eq "reload-sshd debian
reload-sshd flatcar
sshd-t $ROOTS/debian
sshd-t $ROOTS/flatcar
update-grub debian" "$(LC_ALL=C sort calls.log)" "the commands the run ran"
# sshd -t came before the reload, on each host
for h in flatcar debian; do
    grep -n "" calls.log | sed -n "s#^\([0-9]*\):sshd-t $ROOTS/$h\$#\1#p;s#^\([0-9]*\):reload-sshd $h\$#\1#p" | xargs | {
        read -r t l
        [[ $t -lt $l ]] || fl_fail "$h: sshd reloaded before sshd -t"
    }
done
# the bad host was not in this run: untouched
(cd pristine-roots/bad && find . -type f -exec sha256sum {} + | sort) >bad.before
(cd "$ROOTS/bad" && find . -type f -exec sha256sum {} + | sort) >bad.after
cmp -s bad.before bad.after || fl_fail "the bad host's root changed"

for h in flatcar debian; do
    R=$ROOTS/$h
    # OpenSSL reads the root's openssl.cnf (and, through its absolute .include, the root's fipsmodule.cnf)
    # shellcheck disable=SC2016 # expanded by the inner shell
    in_root() { unshare -m sh -c 'mount --bind "$1/etc/ssl" /etc/ssl && mount --bind "$1/etc/ssh" /etc/ssh && shift && exec "$@"' sh "$R" "$@"; }
    mods=$(dirname "$(find "$R/usr" -name fips.so)")
    in_root "$RUN" env OPENSSL_CONF=/etc/ssl/openssl.cnf OPENSSL_MODULES="$mods" openssl list -providers >providers.txt 2>&1 ||
        { cat providers.txt; fl_fail "$h: openssl cannot load the root's openssl.cnf"; }
    grep -A3 '^  fips$' providers.txt | grep -q 'status: active' || { cat providers.txt; fl_fail "$h: the fips provider is not active"; }
    grep -q '^  default$' providers.txt && fl_fail "$h: the default provider is loaded"
    # default_properties = fips=yes: a fetch that asks for a non-FIPS implementation finds none
    in_root "$RUN" env OPENSSL_CONF=/etc/ssl/openssl.cnf OPENSSL_MODULES="$mods" openssl dgst -sha256 /dev/null >/dev/null ||
        fl_fail "$h: SHA-256 does not work with the root's openssl.cnf"
    if in_root "$RUN" env OPENSSL_CONF=/etc/ssl/openssl.cnf OPENSSL_MODULES="$mods" openssl dgst -md5 /dev/null >/dev/null 2>&1; then
        fl_fail "$h: MD5 works with the root's openssl.cnf"
    fi
    # the module MAC is the module's
    "$RUN" openssl fipsinstall -module "$mods/fips.so" -in "$R/etc/ssl/fipsmodule.cnf" -verify >/dev/null 2>&1 ||
        fl_fail "$h: fipsmodule.cnf does not verify against the root's fips.so"
    grep -qx 'default_properties = fips=yes' "$R/etc/ssl/openssl.cnf" || fl_fail "$h: no default_properties = fips=yes"
    if [[ $h == debian ]]; then
        grep -q 'CipherString' "$R"/etc/ssl/openssl.cnf.*~ || fl_fail "$h: the replaced openssl.cnf was not kept as a backup"
    fi
    # sshd accepts the configuration, and the drop-in's lists are what it uses
    # (in the FIPS host, with the root's openssl.cnf: as sshd starts on the switched host)
    in_root "$RUN" env OPENSSL_CONF=/etc/ssl/openssl.cnf OPENSSL_MODULES="$mods" "$SSHD" -t -f /etc/ssh/sshd_config ||
        fl_fail "$h: sshd -t refuses the root's configuration"
    in_root "$RUN" env OPENSSL_CONF=/etc/ssl/openssl.cnf OPENSSL_MODULES="$mods" "$SSHD" -T -f /etc/ssh/sshd_config \
        >sshd-T.txt || fl_fail "$h: sshd -T failed"
    fl_assert_eq "ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr" \
        "$(grep '^ciphers ' sshd-T.txt)" "$h: the ciphers sshd uses"
    fl_assert_eq "macs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512" \
        "$(grep '^macs ' sshd-T.txt)" "$h: the MACs sshd uses"
    [[ -e $R/etc/system-fips ]] || fl_fail "$h: no /etc/system-fips"
    # fipsluks check: everything passes but the kernel, which is pending the reboot
    # (run in the FIPS host with the root's openssl.cnf, as on the switched host: the live checks, OpenSSL
    # and libcryptsetup in this process, pass only when that openssl.cnf puts them in FIPS mode)
    J=$T/check-$h.json
    rc=0
    in_root "$RUN" env OPENSSL_CONF=/etc/ssl/openssl.cnf OPENSSL_MODULES="$mods" "$FIPSLUKS" check --json --root "$R" >"$J" || rc=$?
    jq -r '.checks[] | "\(.id) \(.status): \(.message)"' "$J" >"check-$h.txt"
    fl_assert_eq "kernel warn" "$(jq -r '.checks[] | select(.status != "pass" and .status != "skip") | "\(.id) \(.status)"' "$J")" \
        "$h: the checks that do not pass ($(cat "check-$h.txt"))"
    fl_assert_eq 0 "$rc" "$h: fipsluks check --root exit code"
    jq -r '.checks[] | select(.id == "kernel") | .message' "$J" | grep -q 'configured for the next boot.*pending a reboot' ||
        fl_fail "$h: the kernel check does not say the reboot is pending: $(cat "check-$h.txt")"
done
[[ -f $ROOTS/flatcar/etc/ssl/openssl.cnf && ! -L $ROOTS/flatcar/etc/ssl/openssl.cnf ]] ||
    fl_fail "Flatcar's openssl.cnf link was not replaced by a file"
cmp -s pristine-roots/flatcar/usr/share/ssl/openssl.cnf "$ROOTS/flatcar/usr/share/ssl/openssl.cnf" ||
    fl_fail "the play wrote through the link into /usr"
# the kernel argument, once, the distribution's way
fl_assert_eq 1 "$(grep -o 'fips=1' "$ROOTS/flatcar/oem/grub.cfg" | wc -l)" "fips=1 in Flatcar's /oem/grub.cfg"
# shellcheck disable=SC2016 # the line as written, $linux_append included
fl_assert_eq 'set linux_append="$linux_append fips=1"' "$(tail -n1 "$ROOTS/flatcar/oem/grub.cfg")" "the last line of /oem/grub.cfg"
grep -qx 'set linux_append="flatcar.autologin"' "$ROOTS/flatcar/oem/grub.cfg" || fl_fail "the OEM grub.cfg lost its own line"
fl_assert_eq 'GRUB_CMDLINE_LINUX="console=ttyS0 fips=1"' "$(grep '^GRUB_CMDLINE_LINUX=' "$ROOTS/debian/etc/default/grub")" \
    "GRUB_CMDLINE_LINUX"
fl_assert_eq 1 "$(grep -o 'fips=1' "$ROOTS/debian/etc/default/grub" | wc -l)" "fips=1 in /etc/default/grub"
jq -r '.checks[] | select(.id == "kernel") | .evidence[]' "$T/check-flatcar.json" | grep -qx '/oem/grub.cfg: fips=1 for the next boot' ||
    fl_fail "the kernel check's evidence does not name /oem/grub.cfg"

# ---- a second run: changed=0, no command; with a host whose sshd refuses the drop-in, in the next batch
after=$(snap | grep -v '\./refuse')
refuse_before=$(cd "$ROOTS/refuse" && find . -type f -exec sha256sum {} + | sort)
cp calls.log calls.before
rc=0
play -l flatcar,debian,refuse >second-play.log || rc=$?
[[ $rc -ne 0 ]] || { cat second-play.log; fl_fail "the run passed with a host whose sshd refuses the drop-in"; }
for h in flatcar debian; do
    fl_assert_eq 0 "$(recap second-play.log $h changed)" "changed on $h in the second run"
    fl_assert_eq 0 "$(recap second-play.log $h failed)" "failed on $h in the second run"
done
grep -q "sshd on refuse refuses its configuration with the FIPS drop-in.*the drop-ins are taken back" second-play.log ||
    { cat second-play.log; fl_fail "no message for the drop-in sshd refuses"; }
fl_assert_eq "$after" "$(snap | grep -v '\./refuse')" "the switched roots after the second run"
fl_assert_eq "$refuse_before" "$(cd "$ROOTS/refuse" && find . -type f -exec sha256sum {} + | sort)" \
    "the files of the host whose sshd refused the drop-in (the drop-in taken back, nothing else written)"
[[ -z $(find "$ROOTS/refuse/etc/ssh" -name '00-fipsluks-fips.conf*') ]] || fl_fail "the refused drop-in was left"
cmp -s calls.log calls.before || fl_fail "the second run ran commands: $(diff calls.before calls.log)"
echo "--- fipsluks check --root after the play:" >&2
cat check-flatcar.txt check-debian.txt >&2
echo "fips-enable-ansible: ok"
