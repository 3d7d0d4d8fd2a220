#!/usr/bin/env bash
# The Ansible playbooks, run for real with Debian's ansible-core on image files: ansible-lint on
# both; scan.yml writes the fleet report (and changes nothing under --check); migrate.yml against an
# inventory of three hosts (h1 h2 h3, each ansible_connection=local, each with its own images and
# vault-encrypted key files): one wrong key, an immutable image, a keyslot without a key file, a
# missing key file or a wrong vault password stops every host before anything is written; --check
# (and fipsluks_preflight_only) runs the pre-flight only; a failure in the first batch stops the
# next ones; the right keys migrate every host, fetch the header backups, and a second run reports
# changed=0. No key file is left behind, and the operator's tmpfs is left alone.
. "$(dirname "$0")/lib/common.sh"

command -v ansible-playbook >/dev/null || {
    [[ ${CI:-} == true ]] && fl_fail "ansible-playbook missing (scripts/setup installs ansible-core)"
    fl_skip "ansible-playbook missing (Debian package ansible-core)"
}
A=$FL_SOURCE_DIR/scripts/ansible
FIPSLUKS=$(command -v fipsluks)
export ANSIBLE_LOCAL_TEMP=$T/ansible-local ANSIBLE_REMOTE_TEMP=$T/ansible-remote ANSIBLE_NOCOLOR=1
export ANSIBLE_PIPELINING=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_HOME=$T/ansible-home
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
play() {
    local t0=$SECONDS rc=0
    ${PLAY_PREFIX:-} ansible-playbook "$@" || rc=$?
    echo "# ansible-playbook: $((SECONDS - t0)) s" >&2
    return $rc
}
cd "$T"

# ---- ansible-lint: both playbooks clean --------------------------------------------------------
if command -v ansible-lint >/dev/null; then
    (cd "$A" && ansible-lint --offline -p migrate.yml scan.yml tasks/migrate-volumes.yml) >lint.log 2>&1 ||
        { cat lint.log; fl_fail "ansible-lint finds problems in scripts/ansible"; }
elif [[ ${CI:-} == true ]]; then
    fl_fail "ansible-lint missing (scripts/setup installs it)"
else
    echo "NOTE: ansible-lint missing (Debian package ansible-lint): the playbooks are not linted" >&2
fi

secret="fleet-vault-secret-$$-$RANDOM"
fl_key right.key "$secret"
fl_key wrong.key "not-the-secret-$RANDOM"
fl-mkluks --slot "kdf=argon2id,key-file=right.key" vol1.img
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,iter=100000,key-file=right.key" ok.img
mkdir images && mv vol1.img ok.img images/

# ---- scan.yml ----
play -i localhost, -c local "$A/scan.yml" -e "fipsluks_bin=$FIPSLUKS" -e "fipsluks_report_bin=$FIPSLUKS" \
    -e "report_dir=$T/report" -e "{\"scan_paths\": [\"$T/images\", \"$T/missing.img\"]}" >scan-play.log ||
    { cat scan-play.log; fl_fail "scan.yml failed"; }
R=$T/report
[[ -s $R/scans/localhost.jsonl ]] || fl_fail "no scan fetched to the controller"
fl_assert_eq summary "$(tail -n1 "$R/scans/localhost.jsonl" | jq -r .record)" "the fetched scan ends with its summary"
fl_assert_eq 1 "$(fl_jq .summary.hosts "$R/fleet-report.json")" "hosts in fleet-report.json"
fl_assert_eq 3 "$(fl_jq .summary.volumes "$R/fleet-report.json")" "volumes in fleet-report.json"
fl_assert_eq 1 "$(fl_jq .summary.incompatible "$R/fleet-report.json")" "incompatible volumes"
fl_assert_eq 1 "$(fl_jq .summary.unreadable "$R/fleet-report.json")" "unreadable volumes"
fl_assert_eq "$(hostname)" "$(fl_jq '.hosts[0].hostname' "$R/fleet-report.json")" "the host's name"
python3 -c 'import csv,sys; rows=list(csv.DictReader(open(sys.argv[1]))); assert len(rows)==3, rows' \
    "$R/fleet-report.csv" || fl_fail "fleet-report.csv does not hold the 3 volumes"
# --check: the hosts are scanned, nothing is written on the controller, no error
play -i localhost, -c local --check "$A/scan.yml" -e "fipsluks_bin=$FIPSLUKS" -e "fipsluks_report_bin=$FIPSLUKS" \
    -e "report_dir=$T/report-check" -e "{\"scan_paths\": [\"$T/images\"]}" >scan-check.log ||
    { cat scan-check.log; fl_fail "scan.yml --check failed"; }
[[ ! -e $T/report-check/fleet-report.json && ! -e $T/report-check/scans/localhost.jsonl ]] ||
    fl_fail "scan.yml --check wrote the report"

# ---- migrate.yml: three hosts, key files in Ansible Vault ----
# h1: one volume with two argon2 keyslots, a key file each, and --hash sha512 for it alone;
# h2: one argon2 volume; h3: an argon2 volume and a pbkdf2-ripemd160 one, its key file given by a
# path relative to the inventory's directory.
printf '%s\n' "vault-pass-$RANDOM" >vault.pass
mkdir -p inv/host_vars inv/vault
vault() { # vault NAME SECRET: a vault-encrypted key file inv/vault/NAME
    fl_key "inv/vault/$1" "$2"
    ansible-vault encrypt --vault-password-file vault.pass "inv/vault/$1" >/dev/null
}
for h in h1 h2 h3; do mkdir -p "$h"; done
s1a="h1-a-$secret" s1b="h1-b-$secret" s2="h2-$secret" s3="h3-$secret" s3b="h3-b-$secret"
vault h1-a.key "$s1a"
vault h1-b.key "$s1b"
vault h2.key "$s2"
vault h3.key "$s3"
vault h3-b.key "$s3b"
vault h2-wrong.key "wrong-$RANDOM-$RANDOM"
head -n1 inv/vault/h2.key | grep -q '^\$ANSIBLE_VAULT' || fl_fail "the key file is not vault-encrypted"
fl_key k1a "$s1a" && fl_key k1b "$s1b" && fl_key k2 "$s2" && fl_key k3 "$s3" && fl_key k3b "$s3b"
fl-mkluks --slot "kdf=argon2id,key-file=k1a" --slot "kdf=argon2i,key-file=k1b" h1/data.img
fl-mkluks --slot "kdf=argon2id,key-file=k2" h2/data.img
fl-mkluks --slot "kdf=argon2id,key-file=k3" h3/data.img
fl-mkluks --slot "kdf=pbkdf2,hash=ripemd160,iter=1000,key-file=k3b" h3/old.img
rm -f k1a k1b k2 k3 k3b right.key wrong.key # from here on the secrets exist only inside the vault files
IMAGES=(h1/data.img h2/data.img h3/data.img h3/old.img)
sums() { local i; for i in "${IMAGES[@]}"; do fl_sum "$i"; done; }
pristine=$(sums)
mkdir pristine && for h in h1 h2 h3; do mkdir "pristine/$h"; done
for i in "${IMAGES[@]}"; do cp "$i" "pristine/$i"; done
restore() { local i; for i in "${IMAGES[@]}"; do cp "pristine/$i" "$i"; done; }

# The operator's tmpfs, under which the play makes its own key directory: a file of the operator's
# in it, and its mode, must survive every run.
KP=$(mktemp -d /dev/shm/fipsluks-kp.XXXXXX)
fl_on_exit "rm -rf '$KP'"
chmod 0755 "$KP"
echo operator-data >"$KP/keep-me"
kp_untouched() {
    fl_assert_eq "keep-me" "$(ls -A "$KP")" "$1: the key parent holds only the operator's file (no key directory left)"
    fl_assert_eq operator-data "$(cat "$KP/keep-me")" "$1: the operator's file"
    fl_assert_eq 755 "$(stat -c %a "$KP")" "$1: the key parent's mode"
}

# host_vars: hostvars H2KEY [H1BIN [H1KEYS]]
hostvars() {
    cat >inv/host_vars/h1.yml <<EOF
fipsluks_bin: ${2:-$FIPSLUKS}
fipsluks_volumes:
  - device: $T/h1/data.img
    key_files: ${3:-[$T/inv/vault/h1-a.key, $T/inv/vault/h1-b.key]}
    args: [--hash, sha512]
EOF
    cat >inv/host_vars/h2.yml <<EOF
fipsluks_volumes:
  - {device: $T/h2/data.img, key_file: vault/$1}
EOF
    cat >inv/host_vars/h3.yml <<EOF
fipsluks_volumes:
  - {device: $T/h3/data.img, key_file: vault/h3.key}
  - {device: $T/h3/old.img, key_files: [vault/h3-b.key]}
EOF
}
cat >inv/hosts <<EOF
[fleet]
h1 ansible_connection=local
h2 ansible_connection=local
h3 ansible_connection=local

[fleet:vars]
fipsluks_bin=$FIPSLUKS
fipsluks_key_parent=$KP
fipsluks_backup_dir=$T/backups-on-host
fipsluks_backup_fetch_dir=$T/fetched
fipsluks_migrate_args=["--pbkdf-force-iterations", "1000"]
EOF
migrate() { play -i inv/hosts --vault-password-file vault.pass "$A/migrate.yml" "$@"; }
# recap LOG HOST FIELD: the count of FIELD (changed, failed, ...) in the PLAY RECAP line of HOST
recap() { sed -n "s/^$2 *:.* $3=\([0-9]*\).*/\1/p" "$1"; }

# -- one wrong key on h2: the pre-flight fails there, and no host is migrated ---------------------
hostvars h2-wrong.key
rc=0
if command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
    # --seccomp-bpf: only openat stops the traced processes (ansible under plain strace -f is slow)
    seccomp=
    strace -f --seccomp-bpf -qq -o /dev/null true 2>/dev/null && seccomp=--seccomp-bpf
    # Ansible stages a copied file as "source" in its remote temporary directory: strace shows where.
    # (LeakSanitizer cannot run under ptrace: the sanitizer build's leak check is off for this run.)
    PLAY_PREFIX="strace -f $seccomp -qq -e trace=openat -o $T/wrong.strace env ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0" \
        migrate >wrong-play.log || rc=$?
    grep -q "\"$KP/fipsluks-keys\.[^/\"]*/ansible-tmp-[^\"]*/source\".*O_CREAT" "$T/wrong.strace" ||
        fl_fail "the decrypted key was not staged in the play's tmpfs key directory"
    grep -q "ansible-remote/ansible-tmp-[^\"]*/source\"" "$T/wrong.strace" &&
        fl_fail "the decrypted key was staged on disk in Ansible's remote temporary directory"
else
    migrate >wrong-play.log || rc=$?
fi
[[ $rc -ne 0 ]] || { cat wrong-play.log; fl_fail "migrate.yml succeeded with a wrong key on h2"; }
grep -q "pre-flight of $T/h2/data.img on h2 failed (fipsluks exit 2)" wrong-play.log ||
    { cat wrong-play.log; fl_fail "no clear message for h2's wrong key"; }
grep -q "the pre-flight did not pass on h2" wrong-play.log || { cat wrong-play.log; fl_fail "the gate did not name h2"; }
grep -q 'TASK \[Run fipsluks migrate\]' wrong-play.log || fl_fail "no pre-flight ran"
grep -q 'PLAY \[Migrate, in batches\]' wrong-play.log && fl_fail "the migration stage started after a failed pre-flight"
fl_assert_eq "$pristine" "$(sums)" "every host's images after h2's failed pre-flight"
[[ ! -e $T/backups-on-host ]] || fl_fail "a header backup was written after a failed pre-flight"
kp_untouched "wrong key"
grep -qF -- "$s2" wrong-play.log && fl_fail "a secret is in the play's output"

# -- every other reason a pre-flight fails, one per host: h1's second keyslot has no key file (a run
# would leave it: exit 7, which is not success), h2's key file does not exist on the controller (a
# message that needs no secret), h3's second image is immutable (the real run would refuse it: 4)
hostvars h2.key "$FIPSLUKS" "[$T/inv/vault/h1-a.key]"
mv inv/vault/h2.key inv/vault/h2.moved
immutable=
if chattr +i h3/old.img 2>/dev/null; then
    fl_on_exit "chattr -i '$T/h3/old.img'"
    immutable=1
else
    echo "NOTE: chattr +i does not work in $T: the immutable-image case is not run" >&2
fi
rc=0
migrate >refused-play.log || rc=$?
[[ -z $immutable ]] || chattr -i h3/old.img
mv inv/vault/h2.moved inv/vault/h2.key
hostvars h2.key # every key file again
[[ $rc -ne 0 ]] || { cat refused-play.log; fl_fail "migrate.yml passed a missing key file and an immutable image"; }
grep -q "pre-flight of $T/h1/data.img on h1 failed (fipsluks exit 7): keyslots 1 would be left without a secret" \
    refused-play.log || { cat refused-play.log; fl_fail "no clear message for a keyslot left without a key file"; }
grep -q "key file $T/inv/vault/h2.key (key_file vault/h2.key) for volume $T/h2/data.img on host h2 does not exist" \
    refused-play.log || { cat refused-play.log; fl_fail "no clear message for a missing key file"; }
if [[ -n $immutable ]]; then
    grep -q "pre-flight of $T/h3/old.img on h3 failed (fipsluks exit 4).*read-only" refused-play.log ||
        { cat refused-play.log; fl_fail "no clear message for the immutable image"; }
else
    grep -q "the pre-flight did not pass on h1, h2 " refused-play.log || { cat refused-play.log; fl_fail "the gate did not name h1, h2"; }
fi
grep -q 'PLAY \[Migrate, in batches\]' refused-play.log && fl_fail "the migration stage started after failed pre-flights"
fl_assert_eq "$pristine" "$(sums)" "every host's images after the refused pre-flights"
kp_untouched "refused pre-flights"

# -- a key parent on disk is refused (the key would reach it unencrypted) -------------------------
mkdir disk-keys
rc=0
migrate -e "fipsluks_key_parent=$T/disk-keys" >disk-play.log || rc=$?
[[ $rc -ne 0 ]] || fl_fail "migrate.yml accepted a key directory on disk"
[[ -z $(ls -A disk-keys) ]] || fl_fail "something was left in the refused key parent: $(ls -A disk-keys)"
fl_assert_eq "$pristine" "$(sums)" "images after the refused key parent"
# the old variable, which named a directory the play then deleted, is refused with a message
rc=0
migrate -e "fipsluks_key_dir=$KP" >keydir-play.log || rc=$?
[[ $rc -ne 0 ]] || fl_fail "migrate.yml accepted fipsluks_key_dir"
grep -q "fipsluks_key_dir is no longer used" keydir-play.log || { cat keydir-play.log; fl_fail "no message for fipsluks_key_dir"; }
kp_untouched "fipsluks_key_dir"

# -- a wrong vault password: a message without the key, nothing written, no key directory left ----
printf '%s\n' "not-the-vault-pass" >wrong-vault.pass
rc=0
play -i inv/hosts --vault-password-file wrong-vault.pass "$A/migrate.yml" >vaultpass-play.log || rc=$?
[[ $rc -ne 0 ]] || fl_fail "migrate.yml passed with a wrong vault password"
grep -q "the key files of h2 ($T/inv/vault/h2.key) could not be decrypted or copied" vaultpass-play.log ||
    { cat vaultpass-play.log; fl_fail "no clear message for a wrong vault password"; }
fl_assert_eq "$pristine" "$(sums)" "images after a wrong vault password"
kp_untouched "wrong vault password"

# -- --check: the pre-flight on every host, nothing changed ---------------------------------------
migrate --check >check-play.log || { cat check-play.log; fl_fail "migrate.yml --check failed"; }
grep -q "h1/data.img: pre-flight passed, would convert keyslots 0, 1; FIPS-compatible False (after a real run: True)" check-play.log || { cat check-play.log; fl_fail "no pre-flight result in --check"; }
grep -q "pre-flight passed; nothing was migrated (check mode)" check-play.log || fl_fail "--check did not say it stopped"
fl_assert_eq "$pristine" "$(sums)" "every image's bytes after --check"
for h in h1 h2 h3; do fl_assert_eq 0 "$(recap check-play.log $h changed)" "changed on $h under --check"; done
[[ ! -e $T/backups-on-host && ! -e $T/fetched ]] || fl_fail "--check wrote a header backup"
kp_untouched "--check"
# fipsluks_preflight_only: the same without check mode
migrate -e fipsluks_preflight_only=true >preflight-play.log || { cat preflight-play.log; fl_fail "fipsluks_preflight_only failed"; }
grep -q "pre-flight passed; nothing was migrated (fipsluks_preflight_only)" preflight-play.log ||
    fl_fail "fipsluks_preflight_only did not say it stopped"
fl_assert_eq "$pristine" "$(sums)" "every image's bytes after fipsluks_preflight_only"

# -- a failure in the first batch stops the next ones (serial 1, max_fail_percentage 0) -----------
# h1's fipsluks passes its pre-flight and fails its real run, as a disk that fails between the two.
cat >failing-fipsluks <<EOF
#!/bin/sh
case " \$* " in *" --dry-run "*) exec "$FIPSLUKS" "\$@" ;; esac
echo '{"error": {"message": "simulated failure"}}'
exit 4
EOF
chmod 0755 failing-fipsluks
hostvars h2.key "$T/failing-fipsluks"
rc=0
migrate -e fipsluks_serial=1 >batch-play.log || rc=$?
[[ $rc -ne 0 ]] || { cat batch-play.log; fl_fail "migrate.yml succeeded with a failing host"; }
grep -q "migration of $T/h1/data.img on h1 failed (fipsluks exit 4): simulated failure" batch-play.log ||
    { cat batch-play.log; fl_fail "no message for h1's failed migration"; }
fl_assert_eq "$pristine" "$(sums)" "images after a failure in the first batch (h2, h3 not started)"
kp_untouched "failed batch"

# -- the right keys: every host migrated, backups fetched and removed from the hosts --------------
hostvars h2.key
migrate -e fipsluks_serial=2 >right-play.log || { cat right-play.log; fl_fail "migrate.yml failed"; }
grep -q "h1/data.img: converted keyslots 0, 1; FIPS-compatible True" right-play.log || { cat right-play.log; fl_fail "no migration result"; }
for i in "${IMAGES[@]}"; do
    fipsluks scan --json "$i" >after.json || fl_fail "$i is not FIPS-compatible after migrate.yml"
    fl_assert_eq pbkdf2 "$(fl_jq '.volumes[0].keyslots[0].kdf' after.json)" "$i: keyslot 0 after migrate.yml"
done
fl_assert_eq "sha512 sha512" "$(fipsluks scan --json h1/data.img | jq -r '[.volumes[0].keyslots[].hash] | join(" ")')" \
    "h1's per-volume --hash sha512"
fl_assert_eq sha256 "$(fipsluks scan --json h2/data.img | jq -r '.volumes[0].keyslots[0].hash')" "h2: the default hash"
for h in h1 h2 h3; do
    [[ $(recap right-play.log $h changed) -gt 0 ]] || fl_fail "$h: changed=0 on the run that migrated it"
done
fl_assert_eq "1 1 2" "$(for h in h1 h2 h3; do find "fetched/$h" -name '*.luksheader' | wc -l; done | xargs)" \
    "header backups fetched to the controller per host"
[[ -z $(find backups-on-host -type f) ]] || fl_fail "header backups left on the hosts: $(find backups-on-host -type f)"
kp_untouched "the migration"

# -- a second run: nothing to do, changed=0 on every host -------------------------------------------
after=$(sums)
migrate >second-play.log || { cat second-play.log; fl_fail "the second run of migrate.yml failed"; }
for h in h1 h2 h3; do
    fl_assert_eq 0 "$(recap second-play.log $h changed)" "changed on $h in the second run"
    fl_assert_eq 0 "$(recap second-play.log $h failed)" "failed on $h in the second run"
done
fl_assert_eq "$after" "$(sums)" "images after the second run"
fl_assert_eq "1 1 2" "$(for h in h1 h2 h3; do find "fetched/$h" -name '*.luksheader' | wc -l; done | xargs)" \
    "no new header backup in the second run"
kp_untouched "second run"

# The secrets never stayed on disk in the clear: not in this tree (Ansible's temporary files and the
# play logs included), nor on /dev/shm.
for s in "$s1a" "$s1b" "$s2" "$s3" "$s3b"; do
    if grep -rqaF -- "$s" "$T" /dev/shm 2>/dev/null; then
        fl_fail "a secret is left in the clear in: $(grep -rlaF -- "$s" "$T" /dev/shm 2>/dev/null | head -3)"
    fi
done
echo "fleet-ansible: ok"
