#!/usr/bin/env bash
# The Ansible playbooks, run for real with Debian's ansible-core against this machine
# (-i localhost, -c local) on image files: scan.yml writes the fleet report; migrate.yml takes a
# vault-encrypted key file, stops at the dry run when the key is wrong, migrates when it is right,
# and leaves no key file behind either way.
. "$(dirname "$0")/lib/common.sh"

command -v ansible-playbook >/dev/null || {
    [[ ${CI:-} == true ]] && fl_fail "ansible-playbook missing (scripts/setup installs ansible-core)"
    fl_skip "ansible-playbook missing (Debian package ansible-core)"
}
A=$FL_SOURCE_DIR/scripts/ansible
FIPSLUKS=$(command -v fipsluks)
export ANSIBLE_LOCAL_TEMP=$T/ansible-local ANSIBLE_REMOTE_TEMP=$T/ansible-remote ANSIBLE_NOCOLOR=1
export ANSIBLE_PIPELINING=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_HOME=$T/ansible-home
play() {
    local t0=$SECONDS rc=0
    ${PLAY_PREFIX:-} ansible-playbook -i localhost, -c local "$@" || rc=$?
    echo "# ansible-playbook: $((SECONDS - t0)) s" >&2
    return $rc
}

cd "$T"
secret="fleet-vault-secret-$$-$RANDOM"
fl_key right.key "$secret"
fl_key wrong.key "not-the-secret-$RANDOM"
fl-mkluks --slot "kdf=argon2id,key-file=right.key" vol1.img
fl-mkluks --slot "kdf=pbkdf2,hash=sha256,iter=100000,key-file=right.key" ok.img
mkdir images && mv vol1.img ok.img images/

# ---- scan.yml ----
play "$A/scan.yml" -e "fipsluks_bin=$FIPSLUKS" -e "fipsluks_report_bin=$FIPSLUKS" -e "report_dir=$T/report" \
    -e "{\"scan_paths\": [\"$T/images\", \"$T/missing.img\"]}" >scan-play.log ||
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

# ---- migrate.yml with Ansible Vault ----
printf '%s\n' "vault-pass-$RANDOM" >vault.pass
cp right.key right.vault && ansible-vault encrypt --vault-password-file vault.pass right.vault >/dev/null
cp wrong.key wrong.vault && ansible-vault encrypt --vault-password-file vault.pass wrong.vault >/dev/null
head -n1 right.vault | grep -q '^\$ANSIBLE_VAULT' || fl_fail "the key file is not vault-encrypted"
rm -f right.key wrong.key # from here on the secret exists only inside the vault files
KD=$(mktemp -d /dev/shm/fipsluks-keys.XXXXXX)
rmdir "$KD"
fl_on_exit "rm -rf '$KD'"
vars() { printf '{"fipsluks_volumes": [{"device": "%s", "key_file": "%s"}]}' "$T/images/vol1.img" "$T/$1"; }
migrate() {
    play "$A/migrate.yml" --vault-password-file vault.pass -e "fipsluks_bin=$FIPSLUKS" \
        -e "fipsluks_key_dir=$KD" -e "fipsluks_backup_dir=$T/backups" -e "$(vars "$1")" "${@:2}"
}
before=$(fl_sum images/vol1.img)

# The wrong key: the dry run stops everything; nothing written, no key left.
# Ansible stages a copied file as "source" in its remote temporary directory: strace shows where.
rc=0
if command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
    # (LeakSanitizer cannot run under ptrace: the sanitizer build's leak check is off for this run.)
    PLAY_PREFIX="strace -f -qq -e trace=openat -o $T/wrong.strace env ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0" \
        migrate wrong.vault >wrong-play.log || rc=$?
    grep -q "\"$KD/ansible-tmp-[^\"]*/source\".*O_CREAT" "$T/wrong.strace" ||
        fl_fail "the decrypted key was not staged in the tmpfs key directory"
    grep -q "ansible-remote/ansible-tmp-[^\"]*/source\"" "$T/wrong.strace" &&
        fl_fail "the decrypted key was staged on disk in Ansible's remote temporary directory"
else
    migrate wrong.vault >wrong-play.log || rc=$?
fi
[[ $rc -ne 0 ]] || fl_fail "migrate.yml succeeded with the wrong key"
grep -q 'Pre-flight' wrong-play.log || fl_fail "no pre-flight stage ran"
grep -q '"rc": 2' wrong-play.log || { cat wrong-play.log; fl_fail "the dry run did not report the wrong secret (exit 2)"; }
grep -q 'PLAY \[Migrate, in batches\]' wrong-play.log && fl_fail "the migration stage started after a failed pre-flight"
fl_assert_eq "$before" "$(fl_sum images/vol1.img)" "image bytes after the failed pre-flight"
[[ ! -e $KD ]] || fl_fail "key directory left behind after a failure: $(ls -la "$KD")"

# A key directory on disk is refused (the key would reach it unencrypted).
rc=0
play "$A/migrate.yml" --vault-password-file vault.pass -e "fipsluks_bin=$FIPSLUKS" -e "fipsluks_key_dir=$T/disk-keys" \
    -e "$(vars right.vault)" >disk-play.log || rc=$?
[[ $rc -ne 0 ]] || fl_fail "migrate.yml accepted a key directory on disk"
[[ ! -e $T/disk-keys ]] || fl_fail "the refused key directory was left behind"
fl_assert_eq "$before" "$(fl_sum images/vol1.img)" "image bytes after the refused key directory"

# The right key: dry run, then the batch; the volume is FIPS-compatible, a header backup exists.
migrate right.vault -e fipsluks_serial=1 >right-play.log || { cat right-play.log; fl_fail "migrate.yml failed"; }
grep -q 'would convert' right-play.log || fl_fail "no dry-run result shown"
grep -q 'converted; FIPS-compatible True' right-play.log || { cat right-play.log; fl_fail "no migration result"; }
fipsluks scan --json images/vol1.img >after.json || fl_fail "vol1.img is not FIPS-compatible after migrate.yml"
fl_assert_eq pbkdf2 "$(fl_jq '.volumes[0].keyslots[0].kdf' after.json)" "keyslot 0 after migrate.yml"
ls "$T"/backups/localhost-vol1.img-*.img >/dev/null 2>&1 || fl_fail "no header backup"
[[ ! -e $KD ]] || fl_fail "key directory left behind after the run"
# The secret never stayed on disk in the clear: not in this tree (Ansible's temporary files included).
if grep -rqaF -- "$secret" "$T" /dev/shm 2>/dev/null; then
    fl_fail "the secret is left in the clear in: $(grep -rlaF -- "$secret" "$T" /dev/shm 2>/dev/null | head -3)"
fi
echo "fleet-ansible: ok"
