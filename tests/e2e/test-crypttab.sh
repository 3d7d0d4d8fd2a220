#!/usr/bin/env bash
# What the host opens at boot: a root with LUKS images as /dev/NAME, an /etc/crypttab (UUID= and path
# entries, key files under /etc/luks), and what scan, check and migrate --crypttab make of it:
#   vda  argon2id   root   UUID=…     /etc/luks/root          the key opens it
#   vdb  argon2id   data   /dev/vdb   /etc/luks/data          the key does not open it (nofail)
#   vdc  argon2id   spare  /dev/vdc   /etc/luks/spare noauto  the key opens it; not opened at boot
#   vdd  argon2id   tpm    /dev/vdd   /etc/luks/tpm tpm2-device=auto: keyslot 0 opens, keyslot 1 is token-bound
#   vde  argon2id   (not in crypttab)
. "$(dirname "$0")/lib/common.sh"

R=$T/root
mkdir -p "$R/etc/luks" "$T/backup"
export FIPSLUKS_BACKUP_DIR=$T/backup
dev() { # dev NAME SLOT…: a LUKS2 image at $R/dev/NAME, listed in $R/sys/class/block
    local name=$1
    shift
    mkdir -p "$R/sys/class/block/$name" "$R/dev"
    fl-mkluks --size 18 "$@" "$R/dev/$name"
}
for k in root data spare tpm other; do fl_key "$R/etc/luks/$k" "secret-of-$k-0123"; done
fl_key "$T/data-real" "the-real-data-key"
fl_key "$T/tpm-token" "secret-of-the-tpm-token"
dev vda --slot "kdf=argon2id,key-file=$R/etc/luks/root"
dev vdb --slot "kdf=argon2id,key-file=$T/data-real"
dev vdc --slot "kdf=argon2id,key-file=$R/etc/luks/spare"
dev vdd --slot "kdf=argon2id,key-file=$R/etc/luks/tpm" --slot "kdf=argon2id,key-file=$T/tpm-token,token=systemd-tpm2"
dev vde --slot "kdf=argon2id,key-file=$R/etc/luks/other"
uuid=$(cryptsetup luksUUID "$R/dev/vda")
cat >"$R/etc/crypttab" <<EOF
# <name> <device> <key file> <options>
root  UUID=$uuid  /etc/luks/root  luks,discard
data  /dev/vdb    /etc/luks/data  luks,nofail
spare /dev/vdc    /etc/luks/spare luks,noauto
tpm   /dev/vdd    /etc/luks/tpm   luks,tpm2-device=auto,token-timeout=30
EOF
# a key file that points out of the root does not reach the host's files
ln -s /etc/luks/root "$R/etc/luks/link"
sum_b=$(fl_sum "$R/dev/vdb")

# --- scan ---------------------------------------------------------------------------------------------
rc=0
fipsluks scan --json --root "$R" "$R"/dev/vd? >"$T/scan.json" || rc=$?
fl_assert_eq 6 "$rc" "scan exit code"
ct() { jq -c --arg p "$R/dev/$1" ".volumes[] | select(.path == \$p) | $2" "$T/scan.json"; }
fl_assert_eq '"root"' "$(ct vda .crypttab.name)" "vda: crypttab name"
fl_assert_eq "\"UUID=$uuid\"" "$(ct vda .crypttab.device)" "vda: device as written"
fl_assert_eq '"/etc/luks/root"' "$(ct vda .crypttab.key_file)" "vda: key file as written"
fl_assert_eq '["opens"]' "$(ct vda '[.keyslots[].crypttab_key]')" "vda: the key opens keyslot 0"
fl_assert_eq '["fails"]' "$(ct vdb '[.keyslots[].crypttab_key]')" "vdb: the key does not open it"
fl_assert_eq 'true' "$(ct vdb .crypttab.nofail)" "vdb: nofail"
fl_assert_eq 'true' "$(ct vdc .crypttab.noauto)" "vdc: noauto"
fl_assert_eq '["opens"]' "$(ct vdc '[.keyslots[].crypttab_key]')" "vdc: the key opens keyslot 0"
fl_assert_eq '["tpm2"]' "$(ct vdd .crypttab.tokens)" "vdd: tpm2-device"
fl_assert_eq '["opens","fails"]' "$(ct vdd '[.keyslots[].crypttab_key]')" "vdd: keyslot 0 opens, the token's does not"
fl_assert_eq 'null' "$(ct vde .crypttab)" "vde: not in crypttab"
fl_assert_eq '[]' "$(ct vde '[.keyslots[] | select(has("crypttab_key"))]')" "vde: no crypttab_key"
grep -q 'secret-of' "$T/scan.json" && fl_fail "a key's content is in the scan JSON"
fipsluks scan --root "$R" "$R/dev/vda" "$R/dev/vdd" >"$T/scan.txt" || true
fl_assert_contains "$(cat "$T/scan.txt")" "crypttab: root, key file /etc/luks/root (opens keyslot 0)" "text: vda"
fl_assert_contains "$(cat "$T/scan.txt")" "crypttab: tpm, key file /etc/luks/tpm (opens keyslot 0; fails keyslot 1), tpm2-device" "text: vdd"

# a key file that is a FIFO, or a link out of the root: unreadable, never waited on
mkfifo "$R/etc/luks/fifo"
sed -i 's|/etc/luks/data |/etc/luks/fifo |' "$R/etc/crypttab"
timeout 20 fipsluks scan --json --root "$R" "$R/dev/vdb" >"$T/fifo.json" || true
fl_assert_eq '"unreadable"' "$(jq -c '.volumes[0].keyslots[0].crypttab_key' "$T/fifo.json")" "FIFO key file"
sed -i 's|/etc/luks/fifo |/etc/luks/link |' "$R/etc/crypttab"
fipsluks scan --json --root "$R" "$R/dev/vdb" >"$T/link.json" || true
fl_assert_eq '"fails"' "$(jq -c '.volumes[0].keyslots[0].crypttab_key' "$T/link.json")" \
    "a link to /etc/luks/root resolves inside the root (that key does not open vdb)"
sed -i 's|/etc/luks/link |/etc/luks/data |' "$R/etc/crypttab"

# --- check --------------------------------------------------------------------------------------------
luks() { jq -r ".checks[] | select(.id == \"luks\") | $1" "$T/check.json"; }
fipsluks check --json --root "$R" >"$T/check.json" || true
fl_assert_eq fail "$(luks .status)" "check: volumes opened at boot are not FIPS-compatible"
fl_assert_contains "$(luks '.evidence[]')" "/dev/vda: in /etc/crypttab as root (line 2), key file /etc/luks/root (keyslot 0: opens)" "evidence: vda"
fl_assert_contains "$(luks '.evidence[]')" "/dev/vdb: in /etc/crypttab as data (line 3), key file /etc/luks/data (keyslot 0: fails)" "evidence: vdb"
fl_assert_contains "$(luks '.evidence[]')" "/dev/vdc: noauto: not opened at boot" "evidence: vdc"
fl_assert_contains "$(luks '.evidence[]')" "/dev/vde: not in /etc/crypttab" "evidence: vde"
fl_assert_contains "$(luks '.evidence[]')" "3 of 5 not compatible opened at boot" "evidence: tally"
fl_assert_contains "$(luks .remedy)" "fipsluks migrate --crypttab" "remedy: migrate --crypttab"
fl_assert_contains "$(luks .remedy)" "fipsluks migrate --key-slot 0 /dev/vdb" "remedy: vdb by hand"

# --- report: a host whose keyslots all open with its crypttab key files is fixed unattended -------------
fipsluks scan --json-lines --root "$R" "$R/dev/vda" "$R/dev/vdc" >"$T/keyed.jsonl" || true
fipsluks report --json "$T/keyed.jsonl" >"$T/keyed-report.json" || true
fl_assert_eq 1 "$(jq .summary.hosts_unattended "$T/keyed-report.json")" "report: the host is unattended"
fl_assert_eq '["fipsluks migrate --crypttab"]' "$(jq -c '.hosts[0].commands' "$T/keyed-report.json")" \
    "report: one migrate --crypttab instead of a command per keyslot"
fl_assert_eq 'true' "$(jq -c '.hosts[0].unattended' "$T/keyed-report.json")" "report: host unattended"
fipsluks scan --json-lines --root "$R" "$R"/dev/vd? >"$T/all.jsonl" || true
fipsluks report --json "$T/all.jsonl" >"$T/all-report.json" || true
fl_assert_eq 'false' "$(jq -c '.hosts[0].unattended' "$T/all-report.json")" \
    "report: a key that fails, a token-bound keyslot and a volume not in crypttab need an operator"
fl_assert_eq '{"vda":true,"vdb":false,"vdc":true,"vdd":false,"vde":false}' \
    "$(jq -c '[.hosts[0].volumes[] | {key: (.path | split("/") | last), value: .unattended}] | sort_by(.key) | from_entries' "$T/all-report.json")" \
    "report: which volumes are unattended"
commands=$(jq -r '.hosts[0].commands[]' "$T/all-report.json")
fl_assert_contains "$commands" "fipsluks migrate --crypttab" "report: migrate --crypttab for vda and vdc"
fl_assert_contains "$commands" "fipsluks migrate --key-slot 0 $R/dev/vdb" "report: vdb by hand"
fipsluks report "$T/all.jsonl" >"$T/all-report.txt" || true
fl_assert_contains "$(cat "$T/all-report.txt")" "# needs an operator" "report text: says who must act"

# --- migrate --crypttab -------------------------------------------------------------------------------
(! fipsluks migrate --crypttab "$R/dev/vda" 2>/dev/null) || fl_fail "--crypttab with a DEVICE"
(! fipsluks migrate --crypttab --key-file "$R/etc/luks/root" 2>/dev/null) || fl_fail "--crypttab with --key-file"
rc=0
fipsluks migrate --crypttab --root "$R" --dry-run --json --pbkdf-force-iterations 1000 >"$T/dry.json" 2>/dev/null || rc=$?
fl_assert_eq 7 "$rc" "dry run: exit 7 (entries left)"
fl_assert_eq 4 "$(wc -l <"$T/dry.json")" "dry run: one document per entry"
fl_assert_eq '"root" "data" "spare" "tpm"' "$(jq -r '.crypttab.name' "$T/dry.json" | sed 's/.*/"&"/' | paste -sd' ')" "dry run: in crypttab order"
fl_assert_eq "$sum_b" "$(fl_sum "$R/dev/vdb")" "dry run wrote nothing"
rc=0
fipsluks migrate --crypttab --root "$R" --pbkdf-force-iterations 1000 >"$T/migrate.txt" 2>"$T/migrate.err" || rc=$?
fl_assert_eq 7 "$rc" "migrate --crypttab: exit 7 (the data key opens nothing, the token's keyslot is left)"
fl_assert_contains "$(cat "$T/migrate.err")" "key file '/etc/luks/data' (crypttab data) opens no keyslot of '$R/dev/vdb'; nothing was written" "data: said"
fl_assert_contains "$(cat "$T/migrate.txt")" "systemd-cryptenroll --wipe-slot=1 --tpm2-device=auto" "tpm: the re-enrolment command"
fl_assert_eq "$sum_b" "$(fl_sum "$R/dev/vdb")" "vdb is byte-identical"
# real open results: the converted keyslots are PBKDF2 and open with the crypttab key files
opens() { cryptsetup open --test-passphrase --key-slot "$2" --key-file "$3" "$R/dev/$1"; }
kdf() { cryptsetup luksDump --dump-json-metadata "$R/dev/$1" | jq -r ".keyslots.\"$2\".kdf.type"; }
for d in vda:root vdc:spare vdd:tpm; do
    opens "${d%%:*}" 0 "$R/etc/luks/${d#*:}" || fl_fail "${d%%:*}: keyslot 0 does not open with its key file"
    fl_assert_eq pbkdf2 "$(kdf "${d%%:*}" 0)" "${d%%:*}: keyslot 0 converted"
done
opens vdd 1 "$T/tpm-token" || fl_fail "vdd: the token keyslot does not open"
fl_assert_eq argon2id "$(kdf vdd 1)" "vdd: the token keyslot is left as it was"
opens vdb 0 "$T/data-real" || fl_fail "vdb: does not open"
fl_assert_eq argon2id "$(kdf vde 0)" "vde (not in crypttab) untouched"

# only the volumes the boot does not open are left: a warning
sed -i -e 's|^data .*|data /dev/vdb /etc/luks/data luks,noauto|' -e '/^tpm /d' "$R/etc/crypttab"
fipsluks check --json --root "$R" >"$T/check.json" || true
fl_assert_eq warn "$(luks .status)" "check: what is left is not opened at boot"
echo "crypttab: all assertions passed"
