# shellcheck shell=bash
# The standard scan corpus: real LUKS images with cheap KDFs, made with fl-mkluks and fl-luks2-edit.
# Source after lib/common.sh (which puts the tools on PATH):
#     . "$(dirname "$0")/lib/common.sh"
#     . "$(dirname "$0")/lib/corpus.sh"
#     fl_make_corpus "$T/corpus"
#
# fl_make_corpus DIR creates, under DIR (image names are an interface: tests assert on them):
#   luks2-argon2id.img         slot 0 argon2id
#   luks2-argon2i.img          slot 0 argon2i
#   luks2-pbkdf2-sha256.img    slot 0 PBKDF2-sha256
#   luks2-pbkdf2-sha1.img      slot 0 PBKDF2-sha1
#   luks2-pbkdf2-sha512.img    slot 0 PBKDF2-sha512
#   luks2-pbkdf2-ripemd160.img slot 0 PBKDF2-ripemd160
#   luks2-pbkdf2-whirlpool.img slot 0 PBKDF2-whirlpool
#   luks1-sha256.img           LUKS1, header hash sha256, slot 0
#   luks1-ripemd160.img        LUKS1, header hash ripemd160, slot 0
#   luks2-cbc-essiv.img        aes-cbc-essiv:sha256, 256-bit key, slot 0 PBKDF2-sha256
#   luks2-token.img            slot 0 PBKDF2-sha256 passphrase; slot 1 PBKDF2-sha256 1000 iterations bound to
#                              systemd-tpm2 token 0, its secret a base64 string like systemd's
#   luks2-multi.img            slot 0 argon2id, 1 PBKDF2-sha256, 2 argon2i priority prefer, 3 PBKDF2-sha1
#                              (slot 3's key file ends in a newline: key files are exact bytes)
#   luks2-serpent.img          aes image edited to serpent-xts-plain64 (segment 0 and keyslot 0 area)
#   luks2-twofish.img          aes image edited to twofish-xts-plain64 (segment 0 and keyslot 0 area)
#   luks2-bad-primary.img      PBKDF2-sha256, primary header copy corrupted; loads from the secondary
#   luks2-bad-both.img         PBKDF2-sha256, both header copies corrupted; no usable header
#   not-luks.img               1 MiB of random bytes
#   tree/a/b/nested-argon2id.img  slot 0 argon2id (its own volume and key)
#   tree/a/notes.txt           text
#   keys/*.key                 one key file per keyslot
#   MANIFEST                   "IMAGE SLOT KEYFILE" per keyslot with a known secret that opens here
#                              (paths relative to DIR; sorted; not serpent, twofish or bad-both)
# All LUKS2 images: aes-xts-plain64 512-bit unless said otherwise, digest PBKDF2-sha256 1000 iterations,
# PBKDF2 keyslots 1000 iterations, Argon2 time 4 / 32 MiB / 1 thread, 20 MiB sparse files.
#
# Careful with luks2-bad-primary.img: libcryptsetup's crypt_load() repairs the bad copy from the good one
# whenever it can write the file (as root it always can), so a plain `cryptsetup luksDump` or
# `cryptsetup open --test-passphrase` fixes it. Use `--disable-locks` (crypt_metadata_locking(NULL, 0)),
# which turns the auto-repair off, or work on a copy.

# _fl_corpus_key DIR IMAGE SLOT TEXT — write keys/<image name>.SLOT.key under DIR with TEXT's exact bytes;
# print its path relative to DIR.
_fl_corpus_key() {
    local name=${2##*/}
    local rel="keys/${name%.img}.$3.key"
    printf '%s' "$4" >"$1/$rel" || return 1
    printf '%s\n' "$rel"
}

# _fl_corpus_image MANIFEST|- DIR IMAGE [fl-mkluks options] -- SLOT:SPEC...
# Make DIR/IMAGE with keyslot SLOT for each SLOT:SPEC, SPEC being fl-mkluks's slot options after id=SLOT.
# Each keyslot gets its own key file (secret "corpus NAME slot N"; a SPEC starting with "nl" adds a final
# newline, "b64" makes it a base64 string of 32 random bytes). With MANIFEST, the keyslots are recorded in
# DIR/MANIFEST.part.NAME.
_fl_corpus_image() {
    local record=$1 dir=$2 image=$3 opts=() slots=() lines=() s id spec secret name key
    shift 3
    while (($#)) && [[ $1 != -- ]]; do
        opts+=("$1")
        shift
    done
    (($#)) && shift
    name=${image##*/}
    name=${name%.img}
    for s in "$@"; do
        id=${s%%:*}
        spec=${s#*:}
        secret="corpus $name slot $id"
        case $spec in
        nl*) secret+=$'\n' spec=${spec#nl} ;;
        b64*) secret=$(head -c 32 /dev/urandom | base64 -w0) spec=${spec#b64} ;;
        esac
        key=$(_fl_corpus_key "$dir" "$image" "$id" "$secret") || return 1
        slots+=(--slot "key-file=$dir/$key,id=$id$spec")
        lines+=("$image $id $key")
    done
    fl-mkluks "${opts[@]}" "${slots[@]}" "$dir/$image" || {
        echo "fl_make_corpus: cannot make '$dir/$image'" >&2
        return 1
    }
    if [[ $record == MANIFEST ]]; then
        printf '%s\n' "${lines[@]}" >"$dir/MANIFEST.part.$name"
    fi
}

# _fl_corpus_edited DIR IMAGE EDIT-ARGS... : an unlisted PBKDF2-sha256 image, then fl-luks2-edit EDIT-ARGS.
_fl_corpus_edited() {
    local dir=$1 image=$2
    shift 2
    _fl_corpus_image - "$dir" "$image" -- 0:,hash=sha256 && fl-luks2-edit "$dir/$image" "$@"
}

fl_make_corpus() {
    local dir=${1:?usage: fl_make_corpus DIR} c m=MANIFEST pid rc=0
    local -a pids=()
    command -v fl-mkluks >/dev/null || fl_fail "fl-mkluks not found on PATH (build the project first)"
    command -v fl-luks2-edit >/dev/null || fl_fail "fl-luks2-edit not found on PATH"

    mkdir -p "$dir/keys" "$dir/tree/a/b" || return 1
    rm -f "$dir/MANIFEST" "$dir"/MANIFEST.part.*

    # The images are independent and their making mostly waits for the disk: make them in parallel.
    _fl_corpus_image $m "$dir" luks2-argon2id.img -- 0:,kdf=argon2id &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks2-argon2i.img -- 0:,kdf=argon2i &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks2-pbkdf2-sha256.img -- 0:,hash=sha256 &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks2-pbkdf2-sha1.img -- 0:,hash=sha1 &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks2-pbkdf2-sha512.img -- 0:,hash=sha512 &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks2-pbkdf2-ripemd160.img -- 0:,hash=ripemd160 &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks2-pbkdf2-whirlpool.img -- 0:,hash=whirlpool &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks1-sha256.img --type luks1 --hash sha256 -- 0: &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks1-ripemd160.img --type luks1 --hash ripemd160 -- 0: &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks2-cbc-essiv.img --cipher aes-cbc-essiv:sha256 --key-size 256 \
        -- 0:,hash=sha256 &
    pids+=($!)
    # systemd-cryptenroll --tpm2-device: PBKDF2, 1000 iterations, secret = base64 of 32 random bytes.
    _fl_corpus_image $m "$dir" luks2-token.img \
        -- 0:,hash=sha256 1:b64,hash=sha256,iter=1000,token=systemd-tpm2 &
    pids+=($!)
    _fl_corpus_image $m "$dir" luks2-multi.img \
        -- 0:,kdf=argon2id 1:,hash=sha256 2:,kdf=argon2i,priority=prefer 3:nl,hash=sha1 &
    pids+=($!)
    _fl_corpus_image $m "$dir" tree/a/b/nested-argon2id.img -- 0:,kdf=argon2id &
    pids+=($!)
    # Ciphers this host can neither format nor open: a valid aes image, segment and keyslot area edited.
    for c in serpent twofish; do
        _fl_corpus_edited "$dir" "luks2-$c.img" \
            --set "segments.0.encryption=\"$c-xts-plain64\"" \
            --set "keyslots.0.area.encryption=\"$c-xts-plain64\"" &
        pids+=($!)
    done
    {
        _fl_corpus_image $m "$dir" luks2-bad-primary.img -- 0:,hash=sha256 &&
            fl-luks2-edit "$dir/luks2-bad-primary.img" --corrupt primary
    } &
    pids+=($!)
    _fl_corpus_edited "$dir" luks2-bad-both.img --corrupt primary --corrupt secondary &
    pids+=($!)

    head -c 1M /dev/urandom >"$dir/not-luks.img" || rc=1
    printf 'Not a LUKS volume.\nJust notes next to the images.\n' >"$dir/tree/a/notes.txt" || rc=1
    for pid in "${pids[@]}"; do
        wait "$pid" || rc=1
    done
    if ((rc == 0)); then
        cat "$dir"/MANIFEST.part.* | LC_ALL=C sort >"$dir/MANIFEST" || rc=1
    fi
    rm -f "$dir"/MANIFEST.part.*
    ((rc == 0)) || echo "fl_make_corpus: failed to make the corpus in '$dir'" >&2
    return $rc
}

# fl_corpus_key DIR IMAGE SLOT — print the key file (DIR/…) of IMAGE's keyslot SLOT from DIR/MANIFEST.
fl_corpus_key() {
    local image slot key
    while read -r image slot key; do
        if [[ $image == "$2" && $slot == "$3" ]]; then
            printf '%s\n' "$1/$key"
            return 0
        fi
    done <"$1/MANIFEST"
    echo "fl_corpus_key: no keyslot $3 of '$2' in $1/MANIFEST" >&2
    return 1
}
