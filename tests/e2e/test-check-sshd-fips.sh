#!/usr/bin/env bash
# Differential test of check's sshd and ssh-client verdicts. Server side: Debian's sshd runs inside
# the genuine FIPS test host (scripts/fips-host: OpenSSL's FIPS provider, default_properties =
# fips=yes) on 127.0.0.1, and Debian's ssh, outside it, tries a handshake with every cipher, MAC
# (with aes128-ctr: an AEAD cipher negotiates no MAC), key exchange and host key algorithm that
# `ssh -Q` lists. Client side: the same handshakes with ssh inside the FIPS test host against an
# sshd outside it. For each algorithm and side, fipsluks check's verdict "breaks" (sshd, ssh-client)
# must equal "the handshake failed". One sshd per host key type and side (each with a host
# certificate for the -cert-v01 algorithms); the security-key algorithms (sk-*, webauthn-*) cannot
# be host keys and are not tried.
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
cp "$T/root/etc/ssh/sshd_config" "$T/root/etc/ssh/ssh_config"
J=$T/check.json
rc=0
fipsluks check --json --root "$T/root" >"$J" || rc=$?
[[ $rc -eq 0 || $rc -eq 6 ]] || fl_fail "fipsluks check exited $rc"
declare -A verdict=() client_verdict=()
# verdicts ID FILE: "NAME<TAB>VERDICT" for each algorithm check ID lists for FILE
verdicts() {
    jq -r --arg id "$1" '.checks[] | select(.id == $id) | .evidence[]' "$J" |
        sed -nE "s#^$2:[0-9]+: [A-Za-z]+ ([^ :]+(@[^ :]+)?): (breaks|not approved|approved)(: .*)?\$#\\1\\t\\3#p"
}
while IFS=$'\t' read -r name v; do verdict[$name]=$v; done < <(verdicts sshd /etc/ssh/sshd_config)
while IFS=$'\t' read -r name v; do client_verdict[$name]=$v; done < <(verdicts ssh-client /etc/ssh/ssh_config)
[[ ${#verdict[@]} -gt 50 ]] || fl_fail "check listed only ${#verdict[@]} algorithms with a verdict: $(jq -c '.checks[] | select(.id == "sshd")' "$J")"
[[ ${#client_verdict[@]} -eq ${#verdict[@]} ]] || fl_fail "ssh-client listed ${#client_verdict[@]} verdicts, sshd ${#verdict[@]}"

# --- sshd inside the FIPS host -------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

ssh-keygen -q -t ed25519 -N '' -C ca -f "$T/ca"
declare -A port
# start_sshd fips|plain NAME KEYGEN-ARGS…: an sshd inside the FIPS host (fips) or outside it
# (plain), with one host key (and its certificate), on a free port of 127.0.0.1.
start_sshd() {
    local where=$1 name=$2 p run=()
    shift 2
    [[ $where == fips ]] && run=("$FL_SOURCE_DIR/scripts/fips-host/run")
    mkdir "$T/$name"
    ssh-keygen -q "$@" -N '' -C "$name" -f "$T/$name/key"
    ssh-keygen -q -s "$T/ca" -I "$name" -h -n 127.0.0.1 "$T/$name/key.pub"
    for _ in 1 2 3 4 5; do
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
        (exec "${run[@]}" /usr/sbin/sshd -D -e -f "$T/$name/sshd_config" \
            </dev/null >/dev/null 2>"$T/$name/sshd.log") &
        local pid=$!
        fl_on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
        for _ in $(seq 50); do
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
for where in fips plain; do
    start_sshd $where $where-ecdsa256 -t ecdsa -b 256
    start_sshd $where $where-ecdsa384 -t ecdsa -b 384
    start_sshd $where $where-ecdsa521 -t ecdsa -b 521
    start_sshd $where $where-ed25519 -t ed25519
    start_sshd $where $where-rsa -t rsa -b 3072
    start_sshd $where $where-dsa -t dsa
done

# handshake SIDE SERVER SSH-OPTIONS…: "ok" when the key exchange and host key check completed (the
# server then refuses authentication), "failed" when the connection died before that. SIDE server:
# ssh outside against sshd inside the FIPS host; SIDE client: ssh inside against sshd outside.
handshake() {
    local side=$1 server out run=()
    server=$([[ $1 == server ]] && echo fips || echo plain)-$2
    shift 2
    [[ $side == client ]] && run=("$FL_SOURCE_DIR/scripts/fips-host/run")
    out=$(timeout 20 "${run[@]}" ssh -F /dev/null -p "${port[$server]}" -o BatchMode=yes -o PreferredAuthentications=none \
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
shown() { [[ $1 == ok ]] && echo "works" || echo "**fails**"; }
# judge KIND NAME SSH-OPTIONS…: both sides' handshakes against both checks' verdicts
judge() {
    local kind=$1 name=$2 v=${verdict[$2]:-} cv=${client_verdict[$2]:-} server client side result want
    shift 2
    server=$(handshake server "$@")
    client=$(handshake client "$@")
    tried=$((tried + 2))
    [[ -n $v && -n $cv ]] || fl_fail "check gave no verdict for $kind $name (sshd '$v', ssh-client '$cv')"
    table+=("| $kind | \`$name\` | $(shown "$server") | $(shown "$client") | $v |")
    for side in server client; do
        result=$([[ $side == server ]] && echo "$server" || echo "$client")
        want=$([[ $side == server ]] && echo "$v" || echo "$cv")
        if [[ $result == failed && $want != breaks ]] || [[ $result == ok && $want == breaks ]]; then
            mismatches+=("$kind $name: $side handshake $result, check says '$want'")
        fi
    done
}

# Each kind is tried with the others pinned to approved algorithms that work (a default client
# prefers chacha20-poly1305, which would hide every other result).
cipher=aes128-ctr mac=hmac-sha2-256 kex=ecdh-sha2-nistp256 key=ecdsa-sha2-nistp256
IFS=, read -ra list <<<"$all_ciphers"
for a in "${list[@]}"; do
    judge cipher "$a" ecdsa256 -c "$a" -m $mac -o KexAlgorithms=$kex -o HostKeyAlgorithms=$key
done
IFS=, read -ra list <<<"$all_macs"
for a in "${list[@]}"; do
    judge MAC "$a" ecdsa256 -c $cipher -m "$a" -o KexAlgorithms=$kex -o HostKeyAlgorithms=$key
done
IFS=, read -ra list <<<"$all_kex"
for a in "${list[@]}"; do
    judge kex "$a" ecdsa256 -c $cipher -m $mac -o KexAlgorithms="$a" -o HostKeyAlgorithms=$key
done
IFS=, read -ra list <<<"$all_keys"
for a in "${list[@]}"; do
    case $a in sk-* | webauthn-*) continue ;; esac
    judge "host key" "$a" "$(host_server "$a")" -c $cipher -m $mac -o KexAlgorithms=$kex -o HostKeyAlgorithms="$a"
done

# The control: the guide's symptom, in the sshd log of the server that dropped chacha20.
grep -q 'ssh_dispatch_run_fatal: .*invalid argument \[preauth\]' "$T/fips-ecdsa256/sshd.log" ||
    fl_fail "sshd never logged the guide's 'invalid argument' line: $(tail -5 "$T/fips-ecdsa256/sshd.log")"

if [[ -n ${FL_SSHD_TABLE:-} ]]; then
    {
        echo "OpenSSH: $(dpkg-query -W -f '${Package} ${Version}' openssh-server 2>/dev/null) ($(/usr/sbin/sshd -V 2>&1 | head -1 | cut -d, -f1))"
        echo "OpenSSL (FIPS host): $(fips openssl version)"
        printf '%s\n' "${table[@]}"
    } >"$FL_SSHD_TABLE"
fi
((${#mismatches[@]} == 0)) || fl_fail "check's verdicts differ from what sshd does:$(printf '\n  %s' "${mismatches[@]}")"
echo "check-sshd-fips: $tried handshakes, every verdict matches"
