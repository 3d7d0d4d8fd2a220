# shellcheck shell=bash
# Fixture roots for fipsluks check --root: a directory tree that looks like a host's /proc, /etc,
# /usr, /sys and /dev. Source after lib/common.sh (which puts fipsluks and the test tools on PATH):
#     . "$(dirname "$0")/lib/common.sh"
#     . "$(dirname "$0")/lib/host.sh"
#     fl_host_images "$T/img"              # once: the LUKS images the roots use
#     fl_host_compliant "$T/ok" "$T/img"   # a FIPS-ready Flatcar-like host
#     fl_host_debian "$T/deb" "$T/img"     # a stock Debian host, nothing done for FIPS
#
# fl_host_compliant ROOT IMAGES makes:
#   proc/sys/crypto/fips_enabled   1
#   proc/cmdline                   a Flatcar command line with fips=1
#   etc/system-fips                empty
#   usr/lib64/ossl-modules/fips.so a stand-in (the check only looks for it)
#   etc/ssl/openssl.cnf            the openssl.cnf.fips that `fipsluks check --emit butane` installs
#   etc/ssl/fipsmodule.cnf         what `openssl fipsinstall` writes ([fips_sect] activate, module-mac)
#   etc/ssh/sshd_config            "Include /etc/ssh/sshd_config.d/*.conf" first, then defaults, a Match block
#   etc/ssh/sshd_config.d/10-fips.conf  FIPS lists for all five algorithm keywords (lines 2-6)
#   etc/ssh/sshd_config.d/README   not *.conf: not included
#   etc/ssh/ssh_config             "Include /etc/ssh/ssh_config.d/*.conf", then a Host * block
#   etc/ssh/ssh_config.d/10-fips.conf   FIPS lists for the client (lines 1-5)
#   sys/class/block/{vda,vda1,vda2}, dev/vda (not LUKS), dev/vda1 (LUKS2 PBKDF2-sha256), dev/vda2 (LUKS1 sha256)

# fl_host_images DIR: LUKS images with cheap KDFs (pbkdf2.img, luks1.img, argon2id.img) and their key.
fl_host_images() {
    local dir=$1
    mkdir -p "$dir"
    command -v fl-mkluks >/dev/null || fl_fail "fl-mkluks not found on PATH (build the project first)"
    printf 'fixture' >"$dir/key"
    fl-mkluks --size 20 --slot "key-file=$dir/key,kdf=pbkdf2,hash=sha256" "$dir/pbkdf2.img"
    fl-mkluks --type luks1 --hash sha256 --size 4 --slot "key-file=$dir/key,kdf=pbkdf2" "$dir/luks1.img"
    fl-mkluks --size 20 --slot "key-file=$dir/key,kdf=argon2id" "$dir/argon2id.img"
}

# fl_host_openssl_cnf: the openssl.cnf.fips from `fipsluks check --emit butane`, on stdout.
fl_host_openssl_cnf() {
    fipsluks check --emit butane | python3 -c '
import sys, yaml
doc = yaml.safe_load(sys.stdin)
for f in doc["storage"]["files"]:
    if f["path"] == "/etc/ssl/openssl.cnf.fips":
        sys.stdout.write(f["contents"]["inline"])
'
}

_fl_host_fipsmodule() {
    cat <<'EOF'
[fips_sect]
activate = 1
install-version = 1
conditional-errors = 1
security-checks = 1
module-mac = 29:C8:49:23:A8:8C:4C:E9:21:3F:89:0C:23:D2:F9:7A:A6:AA:25:A1:29:94:03:75:E6:3D:B5:E8:B7:8B:EC:1F
EOF
}

# _fl_host_dev ROOT NAME [IMAGE]: a block device NAME in ROOT/sys/class/block, ROOT/dev/NAME a copy of
# IMAGE (or 1 MiB of zeros).
_fl_host_dev() {
    local root=$1 name=$2 image=${3:-}
    mkdir -p "$root/sys/class/block/$name" "$root/dev"
    if [[ -n $image ]]; then
        cp --sparse=always "$image" "$root/dev/$name"
    else
        truncate -s 1M "$root/dev/$name"
    fi
}

fl_host_compliant() {
    local root=$1 images=$2
    mkdir -p "$root"/proc/sys/crypto "$root"/etc/ssl "$root"/etc/ssh/sshd_config.d "$root"/usr/lib64/ossl-modules
    echo 1 >"$root/proc/sys/crypto/fips_enabled"
    echo 'BOOT_IMAGE=/flatcar/vmlinuz-a mount.usr=/dev/mapper/usr verity.usr=PARTUUID=7130c94a rootflags=rw console=ttyS0,115200n8 flatcar.first_boot=detected fips=1' \
        >"$root/proc/cmdline"
    : >"$root/etc/system-fips"
    printf 'not really a module\n' >"$root/usr/lib64/ossl-modules/fips.so"
    fl_host_openssl_cnf >"$root/etc/ssl/openssl.cnf"
    _fl_host_fipsmodule >"$root/etc/ssl/fipsmodule.cnf"
    cat >"$root/etc/ssh/sshd_config" <<'EOF'
Include /etc/ssh/sshd_config.d/*.conf
# Flatcar-like defaults
UsePrivilegeSeparation sandbox
Subsystem sftp internal-sftp
ClientAliveInterval 180
UseDNS no
UsePAM yes
PrintLastLog no
PrintMotd no

Match User core
    PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256,rsa-sha2-512
EOF
    cat >"$root/etc/ssh/sshd_config.d/10-fips.conf" <<'EOF'
# FIPS algorithms only
Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
macs=hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512
KexAlgorithms = ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group16-sha512
HostKeyAlgorithms ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256
PubkeyAcceptedAlgorithms "ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
EOF
    echo 'Ciphers chacha20-poly1305@openssh.com' >"$root/etc/ssh/sshd_config.d/README"
    mkdir -p "$root/etc/ssh/ssh_config.d"
    cat >"$root/etc/ssh/ssh_config" <<'EOF'
Include /etc/ssh/ssh_config.d/*.conf
Host *
    SendEnv LANG LC_*
    HashKnownHosts yes
EOF
    cat >"$root/etc/ssh/ssh_config.d/10-fips.conf" <<'EOF'
Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes128-ctr
MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512
KexAlgorithms ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group16-sha512
HostKeyAlgorithms ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256
PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256
EOF
    _fl_host_dev "$root" vda
    _fl_host_dev "$root" vda1 "$images/pbkdf2.img"
    _fl_host_dev "$root" vda2 "$images/luks1.img"
}

# fl_host_debian_openssl_cnf FILE: Debian 12's /etc/ssl/openssl.cnf as installed (the default provider only).
fl_host_debian_openssl_cnf() {
    cat >"$1" <<'EOF'
HOME = .
openssl_conf = openssl_init

[openssl_init]
providers = provider_sect
ssl_conf = ssl_sect

[provider_sect]
default = default_sect

[default_sect]
activate = 1

[ssl_sect]
system_default = system_default_sect

[system_default_sect]
CipherString = DEFAULT:@SECLEVEL=2
EOF
}

# fl_host_default_grub FILE [CMDLINE_LINUX]: Debian 12's /etc/default/grub, without fips=1.
fl_host_default_grub() {
    cat >"$1" <<EOF
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=\`lsb_release -i -s 2> /dev/null || echo Debian\`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="${2:-}"
EOF
}

# fl_host_debian ROOT IMAGES: a Debian 12 host as installed: no FIPS anything; OpenSSH's defaults.
fl_host_debian() {
    local root=$1 images=$2
    mkdir -p "$root"/proc/sys/crypto "$root"/etc/ssl "$root"/etc/ssh/sshd_config.d "$root"/usr/lib/ssl \
        "$root"/usr/lib/x86_64-linux-gnu/ossl-modules
    echo 0 >"$root/proc/sys/crypto/fips_enabled"
    echo 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0d6f ro quiet' >"$root/proc/cmdline"
    fl_host_debian_openssl_cnf "$root/etc/ssl/openssl.cnf"
    ln -s /etc/ssl/openssl.cnf "$root/usr/lib/ssl/openssl.cnf"
    printf 'legacy\n' >"$root/usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so"
    cat >"$root/etc/ssh/sshd_config" <<'EOF'
Include /etc/ssh/sshd_config.d/*.conf
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem	sftp	/usr/lib/openssh/sftp-server
EOF
    cat >"$root/etc/ssh/ssh_config" <<'EOF'
Include /etc/ssh/ssh_config.d/*.conf
Host *
    SendEnv LANG LC_*
    HashKnownHosts yes
    GSSAPIAuthentication yes
EOF
    _fl_host_dev "$root" sda
    _fl_host_dev "$root" sda1 "$images/argon2id.img"
    # as Debian's installer writes it: the volume is opened at boot, with a typed passphrase
    printf '# <target name> <source device> <key file> <options>\nsda1_crypt /dev/sda1 none luks,discard\n' \
        >"$root/etc/crypttab"
}

# Reading a `fipsluks check --json` report in $J, for assertions named after $CASE. A test may
# define status() itself (e.g. from a cache); this one asks jq.
status() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | .status' "$J"; }
evidence() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | .evidence[]' "$J"; }
remedy() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | .remedy // ""' "$J"; }
message() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | .message' "$J"; }
expect() { fl_assert_eq "$2" "$(status "$1")" "$CASE: status of $1 (message: $(message "$1"))"; }
has_evidence() { fl_assert_contains "$(evidence "$1")" "$2" "$CASE: evidence of $1"; }
has_remedy() { fl_assert_contains "$(remedy "$1")" "$2" "$CASE: remedy of $1"; }
has_message() { fl_assert_contains "$(message "$1")" "$2" "$CASE: message of $1"; }
