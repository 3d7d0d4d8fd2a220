#!/usr/bin/env bash
# Differential test of check's sshd verdicts: Debian's sshd runs inside the genuine FIPS test host
# (scripts/fips-host: OpenSSL's FIPS provider, default_properties = fips=yes) on 127.0.0.1, and a
# client (Debian's ssh, outside the FIPS host) tries a handshake with every cipher, MAC (with
# aes128-ctr: an AEAD cipher negotiates no MAC), key exchange and host key algorithm that `ssh -Q`
# lists. For each one, fipsluks check's verdict "breaks" must equal "the handshake failed".
# One sshd per host key type (each with a host certificate for the -cert-v01 algorithms); the
# security-key algorithms (sk-*, webauthn-*) cannot be host keys and are not tried.
# FL_SSHD_TABLE=FILE writes the observed table (Markdown rows) for docs/sshd-fips.md.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/host.sh"

fl_need_fips_host
for tool in /usr/sbin/sshd ssh ssh-keygen; do
    command -v "$tool" >/dev/null || {
        [[ ${CI:-} == true ]] && fl_fail "$tool is missing (scripts/setup installs openssh-server and openssh-client)"
        fl_skip "$tool is missing: run scripts/setup"
    }
done
[[ $(id -u) -eq 0 ]] || fl_skip "sshd's privilege separation needs root"
mkdir -p /run/sshd

# Every algorithm this OpenSSH knows, by kind.
all_ciphers=$(ssh -Q cipher | paste -sd,)
all_macs=$(ssh -Q mac | paste -sd,)
all_kex=$(ssh -Q kex | paste -sd,)
all_keys=$(ssh -Q HostKeyAlgorithms | paste -sd,)

# --- fipsluks's verdicts, from a fixture whose sshd_config offers everything ------------------------
mkdir -p "$T/root/etc/ssh"
cat >"$T/root/etc/ssh/sshd_config" <<EOF
Ciphers $all_ciphers
MACs $all_macs
KexAlgorithms $all_kex
HostKeyAlgorithms $all_keys
EOF
J=$T/check.json
rc=0
fipsluks check --json --root "$T/root" >"$J" || rc=$?
[[ $rc -eq 0 || $rc -eq 6 ]] || fl_fail "fipsluks check exited $rc"
declare -A verdict=()
while IFS=$'\t' read -r name v; do
    verdict[$name]=$v
done < <(jq -r '.checks[] | select(.id == "sshd") | .evidence[]' "$J" |
    sed -nE 's/^\/etc\/ssh\/sshd_config:[0-9]+: [A-Za-z]+ ([^ :]+(@[^ :]+)?): (breaks|not approved|approved)(: .*)?$/\1\t\3/p')
[[ ${#verdict[@]} -gt 50 ]] || fl_fail "check listed only ${#verdict[@]} algorithms with a verdict: $(jq -c '.checks[] | select(.id == "sshd")' "$J")"

# --- sshd inside the FIPS host -------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

ssh-keygen -q -t ed25519 -N '' -C ca -f "$T/ca"
declare -A port
# start_sshd NAME KEYGEN-ARGS…: an sshd with one host key (and its certificate) on a free port.
start_sshd() {
    local name=$1 p i
    shift
    mkdir "$T/$name"
    ssh-keygen -q "$@" -N '' -C "$name" -f "$T/$name/key"
    ssh-keygen -q -s "$T/ca" -I "$name" -h -n 127.0.0.1 "$T/$name/key.pub"
    for i in 1 2 3 4 5; do
        p=$(free_port)
        cat >"$T/$name/sshd_config" <<EOF
Port $p
ListenAddress 127.0.0.1
HostKey $T/$name/key
HostCertificate $T/$name/key-cert.pub
PidFile $T/$name/sshd.pid
UsePAM no
StrictModes no
LogLevel VERBOSE
Ciphers $all_ciphers
MACs $all_macs
KexAlgorithms $all_kex
HostKeyAlgorithms $all_keys
EOF
        # exec all the way down: $! is sshd itself (-D: it does not fork), killed by the cleanup
        (exec "$FL_SOURCE_DIR/scripts/fips-host/run" /usr/sbin/sshd -D -e -f "$T/$name/sshd_config" \
            </dev/null >/dev/null 2>"$T/$name/sshd.log") &
        local pid=$!
        fl_on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
        local t
        for t in $(seq 50); do
            if ! kill -0 "$pid" 2>/dev/null; then break; fi
            if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
                port[$name]=$p
                return 0
            fi
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
    done
    fl_fail "sshd ($name) did not start: $(cat "$T/$name/sshd.log")"
}
start_sshd ecdsa256 -t ecdsa -b 256
start_sshd ecdsa384 -t ecdsa -b 384
start_sshd ecdsa521 -t ecdsa -b 521
start_sshd ed25519 -t ed25519
start_sshd rsa -t rsa -b 3072
start_sshd dsa -t dsa

# handshake SERVER SSH-OPTIONS…: "ok" when the key exchange and host key check completed (the
# server then refuses authentication), "failed" when the connection died before that.
handshake() {
    local server=$1 out
    shift
    out=$(timeout 20 ssh -F /dev/null -p "${port[$server]}" -o BatchMode=yes -o PreferredAuthentications=none \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o LogLevel=ERROR \
        "$@" nobody@127.0.0.1 true 2>&1) && fl_fail "ssh $* logged in: $out"
    case $out in
    *"Permission denied"*) echo ok ;;
    *) echo failed ;;
    esac
}

host_server() {
    case $1 in
    *ed25519*) echo ed25519 ;;
    ecdsa-sha2-nistp256*) echo ecdsa256 ;;
    ecdsa-sha2-nistp384*) echo ecdsa384 ;;
    ecdsa-sha2-nistp521*) echo ecdsa521 ;;
    ssh-dss*) echo dsa ;;
    *rsa*) echo rsa ;;
    esac
}

mismatches=()
table=()
tried=0
# judge KIND NAME RESULT
judge() {
    local kind=$1 name=$2 result=$3 v=${verdict[$2]:-}
    tried=$((tried + 1))
    [[ -n $v ]] || fl_fail "check gave no verdict for $kind $name"
    table+=("| $kind | \`$name\` | $([[ $result == ok ]] && echo "works" || echo "**fails**") | $v |")
    if [[ $result == failed && $v != breaks ]] || [[ $result == ok && $v == breaks ]]; then
        mismatches+=("$kind $name: handshake $result, check says '$v'")
    fi
}

# Each kind is tried with the others pinned to approved algorithms that work (a default client
# prefers chacha20-poly1305, which would hide every other result).
cipher=aes128-ctr mac=hmac-sha2-256 kex=ecdh-sha2-nistp256 key=ecdsa-sha2-nistp256
IFS=, read -ra list <<<"$all_ciphers"
for a in "${list[@]}"; do
    judge cipher "$a" "$(handshake ecdsa256 -c "$a" -m $mac -o KexAlgorithms=$kex -o HostKeyAlgorithms=$key)"
done
IFS=, read -ra list <<<"$all_macs"
for a in "${list[@]}"; do
    judge MAC "$a" "$(handshake ecdsa256 -c $cipher -m "$a" -o KexAlgorithms=$kex -o HostKeyAlgorithms=$key)"
done
IFS=, read -ra list <<<"$all_kex"
for a in "${list[@]}"; do
    judge kex "$a" "$(handshake ecdsa256 -c $cipher -m $mac -o KexAlgorithms="$a" -o HostKeyAlgorithms=$key)"
done
IFS=, read -ra list <<<"$all_keys"
for a in "${list[@]}"; do
    case $a in sk-* | webauthn-*) continue ;; esac
    judge "host key" "$a" "$(handshake "$(host_server "$a")" -c $cipher -m $mac -o KexAlgorithms=$kex -o HostKeyAlgorithms="$a")"
done

# The control: the guide's symptom, in the sshd log of the server that dropped chacha20.
grep -q 'ssh_dispatch_run_fatal: .*invalid argument \[preauth\]' "$T/ecdsa256/sshd.log" ||
    fl_fail "sshd never logged the guide's 'invalid argument' line: $(tail -5 "$T/ecdsa256/sshd.log")"

if [[ -n ${FL_SSHD_TABLE:-} ]]; then
    {
        echo "OpenSSH: $(dpkg-query -W -f '${Package} ${Version}' openssh-server 2>/dev/null) ($(/usr/sbin/sshd -V 2>&1 | head -1 | cut -d, -f1))"
        echo "OpenSSL (FIPS host): $(fips openssl version)"
        printf '%s\n' "${table[@]}"
    } >"$FL_SSHD_TABLE"
fi
((${#mismatches[@]} == 0)) || fl_fail "check's verdicts differ from what sshd does:$(printf '\n  %s' "${mismatches[@]}")"
echo "check-sshd-fips: $tried handshakes, every verdict matches"
