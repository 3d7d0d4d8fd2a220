/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Offline re-encryption to AES-XTS with a new volume key, approved digest and PBKDF2 keyslots
 * (see reencrypt.h for the protocol).
 *
 * libcryptsetup does the hard part: its LUKS2 reencryption keeps the progress and a checksum of the
 * area being rewritten (the hotzone) in the header, so a run killed at any moment is recovered and
 * continued by the next. This file decides whether a volume may be re-encrypted at all, which
 * secrets come along, and says what happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_alg.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/algorithms.h"
#include "fipsluks/backup.h"
#include "fipsluks/format.h"
#include "fipsluks/luks1.h"
#include "fipsluks/policy.h"
#include "fipsluks/reencrypt.h"
#include "fipsluks/util.h"
#include "keyslot-run.h"
#include "reencrypt-finish.h"
#include "sectors.h"
#include "reencrypt-plan.h"
#include "target.h"

#ifndef AF_ALG
#define AF_ALG 38
#endif

struct run {
    struct fl_run_volume vol; /* its lock: the one migrate and reencrypt share */
    const struct fl_reencrypt_options *o;
    const struct fl_reencrypt_ops *ops;
    struct fl_reencrypt_result *res;
    struct fl_run_secrets keys;    /* given and typed (ops->ask), and which opens each keyslot */
    bool unbound[FL_MAX_KEYSLOTS]; /* keyslots of no segment (left by a start that was cut short) */
    int journal;                   /* the id of fipsluks's reencryption token, or -1 */
    bool made[FL_MAX_KEYSLOTS];    /* keyslots that token says fipsluks created (or was about to) */
    struct fl_samples samples; /* digests of sampled plaintext sectors, taken before the first data write */
    unsigned char data_sha256[32]; /* with verify_full: SHA-256 of the whole plaintext, before */
    bool have_data_sha256;
    char journal_backup[PATH_MAX]; /* the backup the journal names: for messages only, never opened */
    bool have_samples;
};

__attribute__((format(printf, 3, 4))) static int why(struct run *run, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fl_why_setv(&run->res->why, r, fmt, ap);
    va_end(ap);
    return r;
}

/* The re-encrypted volume did not verify: what, in ->unproven (@p r: why()'s -EPROTO). @return @p r. */
static int unproven(struct run *run, enum fl_reencrypt_unproven what, int r)
{
    run->res->unproven = what;
    return r;
}

static void event(struct run *run, enum fl_reencrypt_event ev, int keyslot, int secret)
{
    if (run->ops && run->ops->event)
        run->ops->event(run->ops->userdata, ev, keyslot, secret);
}

/* ---- can this host compute it? ----------------------------------------------------------------- */

static bool alg_binds(const char *name)
{
    struct sockaddr_alg sa = {.salg_family = AF_ALG, .salg_type = "skcipher"};
    int fd;
    bool ok;

    if (strlen(name) >= sizeof(sa.salg_name))
        return false;
    memcpy(sa.salg_name, name, strlen(name) + 1);
    fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

int fl_cipher_computable(const char *spec, uint32_t key_bits)
{
    struct fl_cipher_spec sp;
    char ossl[2 * FL_CIPHER_SPEC_PART + 16], kernel[2 * FL_CIPHER_SPEC_PART + 2];
    uint32_t bits = key_bits;
    EVP_CIPHER *c;

    if (!spec)
        return 0;
    for (const char *p = spec; *p; p++) /* only plain names reach OpenSSL and the kernel */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-:", *p)))
            return 0;
    /* NAME-CHAIN[-IV]: no short form ("aes-plain" names no chain), no loop-AES key count */
    if (!fl_cipher_spec_parse(spec, &sp) || sp.form != FL_SPEC_FULL || sp.key_count || !*sp.cipher ||
        strlen(sp.cipher) >= 32 || !*sp.mode || strlen(sp.mode) >= 32)
        return 0;
    if (!strcmp(sp.mode, "xts"))
        bits /= 2;
    snprintf(ossl, sizeof(ossl), "%s-%u-%s", sp.cipher, bits, sp.mode);
    c = EVP_CIPHER_fetch(NULL, ossl, NULL);
    if (c) {
        EVP_CIPHER_free(c);
        return 1;
    }
    snprintf(kernel, sizeof(kernel), "%s(%s)", sp.mode, sp.cipher);
    return alg_binds(kernel) ? 1 : 0;
}

/* ---- what may be re-encrypted -------------------------------------------------------------------- */

static int check_busy(struct run *run, const char *path)
{
    struct fl_why reason;
    int r = fl_format_check_busy(path, &reason);

    if (r == -EBUSY)
        why(run, r, "'%s': %s", path, fl_why_empty(&reason) ? "in use" : reason.text);
    return r;
}

/* The one data segment of a volume not in reencryption: refuse what libcryptsetup cannot rewrite here. */
static int check_source(struct run *run)
{
    const struct fl_volume *v = run->vol.v;
    const struct fl_segment *s = &v->segments[0];

    if (v->unknown_requirements)
        return why(run, -ENOTSUP, "the header requires features this libcryptsetup does not know (%s)",
                   v->requirements ? v->requirements : "?");
    if (v->n_segments != 1 || !s->type || strcmp(s->type, "crypt") || !s->cipher)
        return why(run, -ENOTSUP,
                   "it has %zu data segments; only a volume with one encrypted segment can be "
                   "re-encrypted",
                   v->n_segments);
    if (s->integrity && *s->integrity && strcmp(s->integrity, "none"))
        return why(run, -ENOTSUP,
                   "segment %d has integrity protection (%s): libcryptsetup cannot re-encrypt "
                   "integrity volumes; create a new volume and copy the data",
                   s->id, s->integrity);
    if (!strncmp(s->cipher, "cipher_null", 11))
        return why(run, -ENOTSUP,
                   "segment %d is not encrypted (cipher_null): encrypting a volume in place is "
                   "cryptsetup reencrypt --encrypt's job",
                   s->id);
    if (!fl_cipher_computable(s->cipher, s->key_bits))
        return why(
            run, -ENOTSUP,
            "segment %d is encrypted with %s (%u-bit key), which this host can compute neither with "
            "OpenSSL nor with the kernel's crypto API (AF_ALG): the old data cannot be decrypted here. "
            "Re-encrypt on a host not in FIPS mode whose kernel has the cipher and AF_ALG "
            "(modprobe algif_skcipher), then move the volume",
            s->id, s->cipher, s->key_bits);
    {
        /* the proof decrypts sectors itself: an IV mode it does not know (lmk, tcw, benbi…) stops here */
        unsigned char probe[64]; /* a key of that size, not the volume's (XTS refuses equal halves) */
        size_t n = s->key_bits / 8;
        struct fl_sector_cipher *c = NULL;
        int r;

        for (size_t i = 0; i < sizeof(probe); i++)
            probe[i] = (unsigned char)(i * 7 + 1);
        r = n && n <= sizeof(probe) ? fl_sector_cipher_new(s->cipher, probe, n, s->sector_size, &c)
                                    : -ENOTSUP;
        fl_sector_cipher_free(c);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            return why(
                run, -ENOTSUP,
                "segment %d is encrypted with %s, whose sectors fipsluks cannot decrypt itself to prove "
                "the result (IV modes: plain, plain64, plain64be, essiv, null); re-encrypt it with "
                "cryptsetup reencrypt",
                s->id, s->cipher);
    }
    if (!fl_cipher_computable(FL_REENCRYPT_CIPHER, FL_REENCRYPT_KEY_BITS))
        return why(run, -ENOTSUP, "this host cannot compute %s", FL_REENCRYPT_CIPHER);
    return 0;
}

/* ---- secrets ------------------------------------------------------------------------------------- */

/*
 * A keyslot of the volume key with an id in range: not reencryption progress, and not an unbound key.
 * Unbound keyslots open no data; a start cut short before the reencryption was initialised leaves its
 * new keyslots so. They are left alone: neither kept nor dropped.
 */
static bool is_keyslot(const struct run *run, const struct fl_keyslot *ks)
{
    return ks->id >= 0 && ks->id < FL_MAX_KEYSLOTS && (!ks->type || strcmp(ks->type, "reencrypt") != 0) &&
           !run->unbound[ks->id];
}

static void find_unbound(struct run *run)
{
    for (size_t k = 0; k < run->vol.v->n_keyslots; k++) {
        int id = run->vol.v->keyslots[k].id;

        if (id >= 0 && id < FL_MAX_KEYSLOTS)
            run->unbound[id] = crypt_keyslot_status(run->vol.cd, id) == CRYPT_SLOT_UNBOUND;
    }
}

static void unlocking(void *userdata, int slot, size_t i)
{
    struct run *run = userdata;

    event(run, FL_REENC_UNLOCK, slot, i < run->keys.n_offered ? (int)i : -1); /* a typed one: -1 */
}

/* Whether secret @p i opens keyslot @p id (its KDF runs once; @p say: tell ops->event before it does). */
static bool opens(struct run *run, int id, size_t i, bool say)
{
    return fl_run_secrets_try(&run->keys, run->vol.cd, run->vol.v, id, i, say ? unlocking : NULL, run) > 0;
}

/* Give every keyslot a secret that opens it, or none. @return 0, -EPERM (failed_secret), -errno. */
static int match_secrets(struct run *run)
{
    struct fl_volume *v = run->vol.v;
    bool used[FL_MAX_KEYSLOTS] = {false};

    for (size_t k = 0; k < v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &v->keyslots[k];

        if (!is_keyslot(run, ks))
            continue;
        for (size_t i = 0; i < run->keys.n_offered && !fl_run_secret_of(&run->keys, ks->id); i++) {
            if (opens(run, ks->id, i, true)) {
                if (run->keys.offered[i].keyslot < 0)
                    run->keys.offered[i].keyslot = ks->id;
                used[i] = true;
            }
        }
    }
    for (size_t i = 0; i < run->keys.n_offered; i++) {
        /* a secret given twice, or for a keyslot another secret opens too: fine if it opens one */
        for (size_t k = 0; !used[i] && k < v->n_keyslots; k++)
            used[i] = is_keyslot(run, &v->keyslots[k]) && opens(run, v->keyslots[k].id, i, false);
        if (!used[i]) {
            run->res->failed_secret = (int)i;
            return -EPERM;
        }
    }
    /* keyslots still without a secret: ask */
    for (size_t k = 0; run->ops && run->ops->ask && k < v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &v->keyslots[k];

        for (unsigned attempt = 0; is_keyslot(run, ks) && !fl_run_secret_of(&run->keys, ks->id); attempt++) {
            struct fl_secret *s = NULL;
            int r = run->ops->ask(run->ops->userdata, ks, attempt, &s);

            if (r < 0 && r != -EPERM)
                return r;
            if (r != 0)
                break; /* left without (1), or out of tries (-EPERM) */
            r = fl_run_secrets_add(&run->keys, s);
            if (r < 0)
                return r;
            if (!opens(run, ks->id, (size_t)r, true))
                fl_run_secrets_drop_last(&run->keys); /* only a typed secret that opens its keyslot stays */
        }
    }
    return 0;
}

static int drop_list(struct run *run)
{
    struct fl_reencrypt_result *res = run->res;
    size_t kept = 0;

    res->n_dropped = 0;
    for (size_t k = 0; k < run->vol.v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &run->vol.v->keyslots[k];

        if (is_keyslot(run, ks) && fl_run_secret_of(&run->keys, ks->id))
            kept++;
        else if (is_keyslot(run, ks))
            res->dropped[res->n_dropped++] = ks->id;
    }
    if (kept == 0)
        return why(run, -EPERM, "no secret was given for any keyslot");
    if (res->n_dropped == 0)
        return 0;
    if (!run->ops || !run->ops->confirm_drop)
        return -ECANCELED;
    return run->ops->confirm_drop(run->ops->userdata, res->dropped, res->n_dropped);
}

/* ---- the header ---------------------------------------------------------------------------------- */

static int open_device(struct run *run)
{
    return fl_run_volume_open(&run->vol, false); /* libcryptsetup's messages: -v shows them */
}

static int reload(struct run *run)
{
    int r = fl_run_volume_read(&run->vol);

    return r < 0 ? r : open_device(run);
}

static int backup(struct run *run)
{
    int r = fl_run_volume_backup(&run->vol, -1, run->o->backup, run->o->backup_dir, run->res->backup,
                                 sizeof(run->res->backup), NULL);

    if (r < 0) {
        run->res->backup[0] = '\0';
        return r;
    }
    event(run, FL_REENC_BACKUP, -1, -1);
    return 0;
}

/* ---- the journal: what fipsluks creates, recorded before it exists ------------------------------------ */

#define JOURNAL_TYPE "fipsluks-reencrypt"

/*
 * Read fipsluks's reencryption token, if the header has one: the keyslot ids a start recorded before
 * creating them. Only those keyslots may ever be removed as leftovers of a start cut short; a keyslot the
 * token does not name is the operator's, whatever state it is in. A malformed token names nothing.
 */
static void read_journal(struct run *run)
{
    memset(run->made, 0, sizeof(run->made));
    run->journal = -1;
    run->have_samples = false;
    run->have_data_sha256 = false;
    run->journal_backup[0] = '\0';
    for (int id = 0; id < FL_MAX_TOKENS && run->journal < 0; id++) {
        const char *json = NULL, *type = NULL;
        json_object *root, *o = NULL, *list = NULL;

        if (crypt_token_json_get(run->vol.cd, id, &json) < 0 || !json || !(root = json_tokener_parse(json)))
            continue;
        if (json_object_object_get_ex(root, "type", &o))
            type = json_object_get_string(o);
        if (type && !strcmp(type, JOURNAL_TYPE)) {
            run->journal = id;
            run->have_samples =
                json_object_object_get_ex(root, "samples", &o) && fl_samples_from_json(o, &run->samples) == 0;
            run->have_data_sha256 = json_object_object_get_ex(root, "data_sha256", &o) &&
                                    fl_hex_decode(json_object_get_string(o), run->data_sha256, 32) == 0;
            if (json_object_object_get_ex(root, "backup", &o) && json_object_is_type(o, json_type_string)) {
                /* header bytes are untrusted: printable ASCII only, for a message */
                char *b = run->journal_backup;

                snprintf(b, sizeof(run->journal_backup), "%s", json_object_get_string(o));
                for (; *b; b++)
                    if (*b < 0x20 || *b > 0x7e)
                        *b = '?';
            }
            if (json_object_object_get_ex(root, "new_keyslots", &list) &&
                json_object_is_type(list, json_type_array))
                for (size_t i = 0; i < json_object_array_length(list); i++) {
                    const char *v = json_object_get_string(json_object_array_get_idx(list, i));
                    uint64_t k;

                    if (v && fl_parse_u64(v, &k) == 0 && k < FL_MAX_KEYSLOTS)
                        run->made[k] = true;
                }
        }
        json_object_put(root);
    }
}

/* The journal token naming @p ids as the keyslots a start is about to create, as JSON (NULL: no memory). */
static json_object *journal_json(const struct run *run, const int *ids, size_t n)
{
    json_object *root = json_object_new_object(), *list = json_object_new_array();
    char buf[16];

    if (!root || !list) {
        json_object_put(root);
        json_object_put(list);
        return NULL;
    }
    json_object_object_add(root, "type", json_object_new_string(JOURNAL_TYPE));
    json_object_object_add(root, "keyslots", json_object_new_array());
    json_object_object_add(root, "version", json_object_new_string("1"));
    for (size_t i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "%d", ids[i]);
        json_object_array_add(list, json_object_new_string(buf));
    }
    json_object_object_add(root, "new_keyslots", list);
    if (run->res->backup[0])
        json_object_object_add(root, "backup", json_object_new_string(run->res->backup));
    if (run->have_data_sha256) {
        char hex[65];

        fl_hex_encode(run->data_sha256, sizeof(run->data_sha256), hex);
        json_object_object_add(root, "data_sha256", json_object_new_string(hex));
    }
    if (run->have_samples) {
        json_object *samples = fl_samples_to_json(&run->samples);

        if (!samples) {
            json_object_put(root);
            return NULL;
        }
        json_object_object_add(root, "samples", samples);
    }
    return root;
}

/* Commit @p root as the journal token of @p cd: the existing one @p token rewritten, or a new one (-1). */
static int set_journal(struct crypt_device *cd, int token, json_object *root)
{
    int r = root ? crypt_token_json_set(cd, token >= 0 ? token : CRYPT_ANY_TOKEN,
                                        json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN))
                 : -ENOMEM;

    json_object_put(root);
    return r;
}

/* Record @p ids as the keyslots this start is about to create (a new token, or the existing one rewritten).
 */
static int write_journal(struct run *run, const int *ids, size_t n)
{
    int r = set_journal(run->vol.cd, run->journal, journal_json(run, ids, n));

    if (r < 0)
        return r;
    run->journal = r;
    run->res->wrote = true;
    for (size_t i = 0; i < n; i++)
        run->made[ids[i]] = true;
    return 0;
}

/* The job is done (or was undone): the journal goes. */
static int drop_journal(struct run *run)
{
    int r;

    if (run->journal < 0)
        return 0;
    r = crypt_token_json_set(run->vol.cd, run->journal, NULL);
    if (r < 0)
        return r;
    run->journal = -1;
    run->res->wrote = true;
    memset(run->made, 0, sizeof(run->made));
    return 0;
}

/*
 * A LUKS1 conversion cut short by an earlier run: its LUKS1 header back from that run's backup, once
 * proven this volume's (fl_luks1_recover()); then it is LUKS1 again and converted as any other. Before
 * the header is read: a conversion cut short may have left one that does not load.
 */
static int recover_luks1(struct run *run)
{
    struct fl_luks1_result lr;
    int r = fl_run_volume_recover_luks1(&run->vol, &run->keys, run->o->backup, run->o->backup_dir, &lr);

    run->res->wrote = lr.wrote;
    if (r < 0)
        return why(run, r, "%s", lr.why.text);
    if (r > 0) {
        snprintf(run->res->backup, sizeof(run->res->backup), "%s", lr.backup);
        event(run, FL_REENC_LUKS1_RESTORED, -1, -1);
    }
    return 0;
}

/* LUKS1: convert (with its own backup), then read it again as LUKS2. */
static int convert_luks1(struct run *run)
{
    struct fl_luks1_result lr;
    int r;

    r = fl_run_volume_convert_luks1(&run->vol, run->o->backup, run->o->backup_dir, &lr);
    snprintf(run->res->backup, sizeof(run->res->backup), "%s", lr.backup);
    if (lr.backup[0])
        event(run, FL_REENC_BACKUP, -1, -1);
    if (r < 0) {
        if (r == -EBUSY)
            why(run, r, "%s", lr.why.text);
        else
            why(run, r, "libcryptsetup cannot convert this LUKS1 header to LUKS2 (%s)", strerror(-r));
        return r;
    }
    run->res->converted_luks1 = true;
    run->res->wrote = true;
    event(run, FL_REENC_CONVERTED, -1, -1);
    return reload(run);
}

/*
 * Unbound keyslots that fipsluks's journal says it created and a given secret opens: the new keyslots of a
 * start that was cut short before the reencryption was initialised. Their key encrypts no data; a fresh
 * start makes new ones, so remove them. An unbound keyslot the journal does not name is the operator's
 * (cryptsetup luksAddKey --unbound) and stays.
 */
static int remove_leftovers(struct run *run)
{
    for (int id = 0; id < FL_MAX_KEYSLOTS; id++) {
        int size = run->unbound[id] && run->made[id] ? crypt_keyslot_get_key_size(run->vol.cd, id) : -1;
        char *key = size > 0 ? crypt_safe_alloc((size_t)size) : NULL;
        size_t n = size > 0 ? (size_t)size : 0;

        if (size > 0 && !key)
            return -ENOMEM;
        /* the given secrets, then the typed ones (reported as secret -1) */
        for (size_t i = 0; key && i < fl_run_secrets_count(&run->keys); i++) {
            const struct fl_secret *s = fl_run_secret(&run->keys, i);
            int r;

            if (crypt_volume_key_get(run->vol.cd, id, key, &n, s->data, s->len) < 0)
                continue;
            r = crypt_keyslot_destroy(run->vol.cd, id);
            if (r < 0) {
                crypt_safe_free(key);
                return r;
            }
            run->unbound[id] = false;
            run->res->wrote = true;
            event(run, FL_REENC_LEFTOVER, id, i < run->keys.n_offered ? (int)i : -1);
            break;
        }
        crypt_safe_free(key);
    }
    return 0;
}

/*
 * Whether the header has room for the journal and the new keyslots @p ids: tried first on a private copy
 * of the header region, with a throwaway secret and the fastest KDF (the room a keyslot takes does not
 * depend on its KDF), so that a volume without room is refused before anything is written.
 * @return 0, -ENOSPC (no room), -errno.
 */
static int trial_room(struct run *run, const int *ids, size_t n)
{
    const char *hdev = fl_run_volume_header_device(&run->vol);
    struct crypt_pbkdf_type fast = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    const size_t key_size = FL_REENCRYPT_KEY_BITS / 8;
    struct crypt_device *cd = NULL;
    char name[40], *vk = crypt_safe_alloc(key_size);
    size_t vk_size = key_size;
    int fd, mfd, r;

    if (!vk)
        return -ENOMEM;
    fd = open(hdev, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        crypt_safe_free(vk);
        return -errno;
    }
    mfd = fl_header_region_copy(fd, 2 * run->vol.v->metadata_size + run->vol.v->keyslots_size);
    close(fd);
    if (mfd < 0) {
        crypt_safe_free(vk);
        return mfd;
    }
    snprintf(name, sizeof(name), "/proc/self/fd/%d", mfd);
    r = crypt_init_data_device(&cd, name, run->vol.path);
    if (r == 0)
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
    if (r == 0)
        r = crypt_set_pbkdf_type(cd, &fast);
    if (r == 0)
        r = crypt_keyslot_set_encryption(cd, FL_REENCRYPT_CIPHER, key_size);
    if (r == 0) /* the journal, as write_journal() will write it */
        r = set_journal(cd, run->journal, journal_json(run, ids, n));
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = crypt_keyslot_add_by_key(cd, ids[i], i ? vk : NULL, key_size, "x", 1,
                                     CRYPT_VOLUME_KEY_NO_SEGMENT | (i ? CRYPT_VOLUME_KEY_DIGEST_REUSE : 0));
        if (r >= 0 && i == 0)
            r = crypt_volume_key_get(cd, ids[0], vk, &vk_size, "x", 1);
        r = r < 0 ? r : 0;
    }
    crypt_free(cd);
    close(mfd);
    crypt_safe_free(vk);
    return r == -EINVAL ? -ENOSPC : r;
}

/* The new keyslots: one per kept keyslot, same secret, bound to a new volume key (not yet in use). */
static int add_keyslots(struct run *run, int *ret_old, int *ret_new, const struct fl_secret **ret_secret)
{
    struct fl_reencrypt_result *res = run->res;
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2,
        .hash = run->o->hash,
        .time_ms = run->o->iter_time_ms,
        .iterations = run->o->iterations,
        .flags = run->o->iterations ? CRYPT_PBKDF_NO_BENCHMARK : 0,
    };
    const size_t key_size = FL_REENCRYPT_KEY_BITS / 8;
    char *vk = crypt_safe_alloc(key_size);
    size_t vk_size = key_size;
    int r = 0;

    int planned[FL_MAX_KEYSLOTS];
    size_t n_planned = 0, next = 0;

    if (!vk)
        return -ENOMEM;
    /* the ids the new keyslots take, recorded in the journal before any of them exists */
    for (size_t k = 0; k < run->vol.v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &run->vol.v->keyslots[k];

        if (!is_keyslot(run, ks) || !fl_run_secret_of(&run->keys, ks->id))
            continue;
        for (int id = n_planned ? planned[n_planned - 1] + 1 : 0; id < FL_MAX_KEYSLOTS; id++)
            if (crypt_keyslot_status(run->vol.cd, id) == CRYPT_SLOT_INACTIVE) {
                planned[n_planned++] = id;
                break;
            }
    }
    r = trial_room(run, planned, n_planned);
    if (r == 0)
        r = write_journal(run, planned, n_planned);
    if (r == 0)
        r = crypt_set_pbkdf_type(run->vol.cd, &pbkdf);
    if (r == 0)
        r = crypt_keyslot_set_encryption(run->vol.cd, FL_REENCRYPT_CIPHER, key_size);
    for (size_t k = 0; r == 0 && k < run->vol.v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &run->vol.v->keyslots[k];
        const struct fl_secret *s = is_keyslot(run, ks) ? fl_run_secret_of(&run->keys, ks->id) : NULL;
        int n;

        if (!s)
            continue;
        if (next >= n_planned) {
            r = -ENOSPC; /* no free keyslot id left for this one */
            break;
        }
        if (res->n_kept == 0)
            n = crypt_keyslot_add_by_key(run->vol.cd, planned[next++], NULL, key_size, s->data, s->len,
                                         CRYPT_VOLUME_KEY_NO_SEGMENT);
        else
            n = crypt_keyslot_add_by_key(run->vol.cd, planned[next++], vk, key_size, s->data, s->len,
                                         CRYPT_VOLUME_KEY_NO_SEGMENT | CRYPT_VOLUME_KEY_DIGEST_REUSE);
        if (n < 0) {
            r = n;
            break;
        }
        res->wrote = true;
        if (res->n_kept == 0) {
            *ret_old = ks->id;
            *ret_new = n;
            *ret_secret = s;
            r = crypt_volume_key_get(run->vol.cd, n, vk, &vk_size, s->data, s->len);
            if (r < 0)
                break;
            r = 0;
        }
        res->old_ids[res->n_kept] = ks->id;
        res->new_ids[res->n_kept++] = n;
        if (ks->priority != FL_PRIORITY_NORMAL)
            r = crypt_keyslot_set_priority(run->vol.cd, n, (crypt_keyslot_priority)ks->priority);
        for (size_t t = 0; r == 0 && t < ks->n_tokens; t++) {
            int a = crypt_token_assign_keyslot(run->vol.cd, ks->tokens[t], n);
            r = a < 0 && a != -EEXIST ? a : 0;
        }
        event(run, FL_REENC_KEYSLOT, n, ks->id);
    }
    crypt_safe_free(vk);
    return r;
}

/* Undo add_keyslots() when the reencryption could not be initialised (as cryptsetup does). */
static void remove_new_keyslots(struct run *run)
{
    if (crypt_reencrypt_status(run->vol.cd, NULL) != CRYPT_REENCRYPT_NONE)
        return;
    for (size_t i = 0; i < run->res->n_kept; i++)
        (void)crypt_keyslot_destroy(run->vol.cd, run->res->new_ids[i]);
    run->res->n_kept = 0;
    (void)drop_journal(run);
}

/* ---- the data, proven ------------------------------------------------------------------------------ */

/*
 * A sector cipher for the volume's data segment, keyed with the volume key @p s opens (keyslot @p keyslot,
 * or CRYPT_ANY_SLOT), and where the data lies: its offset, size (whole sectors) and IV offset.
 */
static int data_cipher(struct run *run, int keyslot, const struct fl_secret *s, struct fl_sector_cipher **ret,
                       uint64_t *ret_offset, uint64_t *ret_size)
{
    int key_size = crypt_get_volume_key_size(run->vol.cd);
    size_t n = key_size > 0 ? (size_t)key_size : 0;
    uint32_t sector = (uint32_t)crypt_get_sector_size(run->vol.cd);
    char *vk = n ? crypt_safe_alloc(n) : NULL;
    int r;

    if (!vk || !sector || run->vol.v->n_segments < 1 || !run->vol.v->segments[0].cipher) {
        crypt_safe_free(vk);
        return vk ? -EINVAL : -ENOMEM;
    }
    r = crypt_volume_key_get(run->vol.cd, keyslot, vk, &n, s->data, s->len);
    if (r >= 0)
        r = fl_sector_cipher_new(run->vol.v->segments[0].cipher, vk, n, sector, ret);
    crypt_safe_free(vk);
    *ret_offset = crypt_get_data_offset(run->vol.cd) * 512;
    *ret_size = fl_reencrypt_data_size(run->vol.path, *ret_offset) / sector * sector;
    return r < 0 ? r : 0;
}

/* Before the first data write: digests of the plaintext of a sample of sectors spread over the device. */
static int take_samples(struct run *run, int keyslot, const struct fl_secret *s)
{
    struct fl_sector_cipher *c = NULL;
    uint64_t offset, size;
    int fd, r = data_cipher(run, keyslot, s, &c, &offset, &size);

    if (r < 0)
        return why(run, r,
                   "cannot decrypt the data with the old volume key here (%s), so the result could not be "
                   "proven",
                   strerror(-r));
    fd = open(run->vol.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    r = fd < 0
            ? -errno
            : fl_samples_take(fd, offset, size, (uint64_t)crypt_get_iv_offset(run->vol.cd),
                              (uint32_t)crypt_get_sector_size(run->vol.cd), c, FL_SAMPLES_MAX, &run->samples);
    run->have_samples = r == 0;
    if (r == 0 && run->o->verify_full) {
        r = fl_data_digest(fd, offset, size, (uint64_t)crypt_get_iv_offset(run->vol.cd),
                           (uint32_t)crypt_get_sector_size(run->vol.cd), c, run->data_sha256);
        run->have_data_sha256 = r == 0;
    }
    if (fd >= 0)
        close(fd);
    fl_sector_cipher_free(c);
    return r;
}

/*
 * After the last step: the sampled sectors (and with --verify-data full the whole plaintext) decrypt,
 * under the new key, to what they were. One unlock and one open serve both checks.
 */
static int check_samples(struct run *run)
{
    const struct fl_secret *s = fl_run_secret(&run->keys, 0); /* the first given, else the first typed */
    struct fl_sector_cipher *c = NULL;
    uint64_t offset, size, iv_offset;
    unsigned char after[32];
    size_t bad = SIZE_MAX; /* set by fl_samples_check() only when a sample differs */
    int fd, r;

    if (!run->have_samples || !s)
        return 0;
    r = data_cipher(run, CRYPT_ANY_SLOT, s, &c, &offset, &size);
    if (r < 0)
        return unproven(
            run, FL_REENC_DATA_UNDECRYPTABLE,
            why(run, -EPROTO, "cannot decrypt the re-encrypted data to prove it (%s)", strerror(-r)));
    iv_offset = (uint64_t)crypt_get_iv_offset(run->vol.cd);
    fd = open(run->vol.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    r = fd < 0 ? -errno : fl_samples_check(fd, offset, iv_offset, c, &run->samples, &bad);
    if (r == 0)
        run->res->samples_proven = run->samples.n;
    if (r == 0 && run->have_data_sha256)
        r = fl_data_digest(fd, offset, size, iv_offset, (uint32_t)crypt_get_sector_size(run->vol.cd), c,
                           after);
    if (fd >= 0)
        close(fd);
    fl_sector_cipher_free(c);
    if (r == -EPROTO && !run->res->samples_proven && bad < run->samples.n)
        return unproven(
            run, FL_REENC_SAMPLE_DIFFERS,
            why(run, -EPROTO,
                "the data does not decrypt to what it was before: the sector at data offset %llu differs "
                "(%zu of %zu sampled sectors checked). The volume is NOT proven; keep the header "
                "backup%s%s and do not write to the volume",
                (unsigned long long)run->samples.offset[bad], bad + 1, run->samples.n,
                run->journal_backup[0] ? " " : "", run->journal_backup));
    if (r == -EIO || (r < 0 && run->res->samples_proven)) /* a read, not a proof, failed */
        return why(run, -EIO, "cannot read the re-encrypted data to prove it (%s)", strerror(-r));
    if (r < 0 || !run->have_data_sha256)
        return r;
    if (memcmp(after, run->data_sha256, sizeof(after)))
        return unproven(
            run, FL_REENC_DATA_DIFFERS,
            why(run, -EPROTO,
                "the data does not decrypt to what it was before: the whole plaintext differs, though the "
                "%zu sampled sectors match. The volume is NOT proven; keep the header backup%s%s and do not "
                "write to the volume",
                run->samples.n, run->journal_backup[0] ? " " : "", run->journal_backup));
    run->res->data_proven_full = true;
    return 0;
}

static int start(struct run *run)
{
    struct crypt_params_luks2 luks2 = {.sector_size = (uint32_t)crypt_get_sector_size(run->vol.cd)};
    struct crypt_params_reencrypt params = {
        .mode = CRYPT_REENCRYPT_REENCRYPT,
        .direction = CRYPT_REENCRYPT_FORWARD,
        .resilience = run->o->resilience ? run->o->resilience : "checksum",
        .hash = "sha256",
        .max_hotzone_size = run->o->hotzone_bytes / 512,
        .luks2 = &luks2,
    };
    const struct fl_secret *s = NULL;
    int old = -1, new = -1, r;

    /* a fresh start proves against the data as it is now, not against a start cut short */
    run->have_samples = false;
    run->have_data_sha256 = false;
    for (size_t k = 0; k < run->vol.v->n_keyslots && !run->have_samples; k++) {
        const struct fl_keyslot *ks = &run->vol.v->keyslots[k];

        if (is_keyslot(run, ks) && fl_run_secret_of(&run->keys, ks->id)) {
            r = take_samples(run, ks->id, fl_run_secret_of(&run->keys, ks->id));
            if (r < 0)
                return r;
        }
    }
    r = remove_leftovers(run);
    if (r < 0)
        return r;
    r = add_keyslots(run, &old, &new, &s);
    if (r < 0) {
        size_t added = run->res->n_kept;

        remove_new_keyslots(run);
        /* the keyslots are as they were (less any leftovers); a LUKS1 volume stays converted */
        run->res->wrote = run->res->converted_luks1;
        if (r == -ENOSPC || r == -EINVAL)
            return why(
                run, -EXFULL,
                "libcryptsetup could not add the new keyslots (%zu of them added, then removed): the "
                "keyslots "
                "area needs room for a new copy of every kept keyslot next to the old ones. Remove keyslots "
                "that are not needed (cryptsetup luksKillSlot), or re-encrypt with cryptsetup and a larger "
                "--luks2-keyslots-size",
                added);
        return r;
    }
    if (!s)
        return -EPERM;
    /* initialises the header and loads the context at once (one unlock of old and new keyslot) */
    if (r == 0)
        r = crypt_reencrypt_init_by_passphrase(run->vol.cd, NULL, s->data, s->len, old, new, "aes",
                                               "xts-plain64", &params);
    if (r < 0) {
        remove_new_keyslots(run);
        return r;
    }
    event(run, FL_REENC_START, -1, -1);
    return 0;
}

/* ---- running --------------------------------------------------------------------------------------- */

static int progress(uint64_t size, uint64_t offset, void *usrptr)
{
    struct run *run = usrptr;

    run->res->done = offset;
    run->res->size = size;
    if (run->ops && run->ops->progress)
        return run->ops->progress(run->ops->userdata, offset, size);
    return 0;
}

/* Load the reencryption with the given secrets, else the typed one (load_interrupted() asked for it). */
static int resume_with(struct run *run, uint32_t flags)
{
    struct crypt_params_reencrypt params = {.flags = flags, .max_hotzone_size = run->o->hotzone_bytes / 512};
    int r = -EPERM;

    for (size_t i = 0; i < run->keys.n_offered && r == -EPERM; i++) {
        const struct fl_secret *s = run->keys.offered[i].secret;
        r = crypt_reencrypt_init_by_passphrase(run->vol.cd, NULL, s->data, s->len, CRYPT_ANY_SLOT,
                                               CRYPT_ANY_SLOT, NULL, NULL, &params);
    }
    if (r == -EPERM && run->keys.n_typed)
        r = crypt_reencrypt_init_by_passphrase(run->vol.cd, NULL, run->keys.typed[0]->data,
                                               run->keys.typed[0]->len, CRYPT_ANY_SLOT, CRYPT_ANY_SLOT, NULL,
                                               NULL, &params);
    return r < 0 ? r : 0;
}

/*
 * The header says the data is all re-encrypted and only libcryptsetup's clean-up is missing: finish it
 * here (reencrypt-finish.c says why libcryptsetup's resume must never see this state). @return 1 when it
 * was that state and is finished now, 0 when it was not that state, or -errno (nothing written).
 */
static int finish_pending(struct run *run)
{
    const struct fl_secret *secrets[FL_MAX_KEYSLOTS + 1];
    struct fl_finish_result fr;
    size_t n = 0;
    int r;

    for (size_t i = 0; i < run->keys.n_offered && n < FL_MAX_KEYSLOTS; i++)
        secrets[n++] = run->keys.offered[i].secret;
    if (run->keys.n_typed)
        secrets[n++] = run->keys.typed[0];
    crypt_free(run->vol.cd); /* the header is read and written here, not through a loaded context */
    run->vol.cd = NULL;
    r = fl_reencrypt_finish_pending(fl_run_volume_header_device(&run->vol), run->vol.path, secrets, n, &fr);
    if (r == -EPERM && fr.failed_secret >= 0 && (size_t)fr.failed_secret < run->keys.n_offered) {
        run->res->failed_secret = fr.failed_secret;
        why(run, r,
            "the data is re-encrypted and only the header's clean-up is left, but the secret from %s does "
            "not "
            "open the cleaned-up header; nothing was written",
            run->keys.offered[fr.failed_secret].source ? run->keys.offered[fr.failed_secret].source
                                                       : "a key file");
    } else if (r == -EPERM) {
        why(run, r, "the typed passphrase does not open the cleaned-up header; nothing was written");
    } else if (r == -EUCLEAN) {
        why(run, r,
            "the header says the data is re-encrypted, but its keyslot areas are inconsistent; nothing was "
            "written. Inspect it with cryptsetup luksDump%s%s",
            run->res->backup[0] ? " or restore the backup " : "", run->res->backup);
    }
    if (fr.wrote)
        run->res->wrote = true;
    if (r < 0)
        return r;
    if (!fr.pending) {
        r = open_device(run); /* its own errno: a failed open is not an I/O error by itself */
        return r < 0 ? r : 0;
    }
    event(run, FL_REENC_FINALISE, -1, -1);
    return 1;
}

/*
 * Load a reencryption found in the header, recovering the area a crashed run was writing first.
 * @return 1 when nothing is left to re-encrypt (the recovery, or the clean-up here, finished the job),
 * 0 when a reencryption is loaded and ready to run, or -errno.
 */
static int load_interrupted(struct run *run)
{
    int r;

    if (run->keys.n_offered == 0 && run->ops && run->ops->ask) {
        /* the clean-up needs a secret to prove its result, the resume one to load: ask once, here */
        struct fl_secret *s = NULL;

        r = run->ops->ask(run->ops->userdata, NULL, 0, &s);
        if (r != 0)
            return r < 0 ? r : -EPERM;
        r = fl_run_secrets_add(&run->keys, s); /* proven by the clean-up or the resume, verified at the end */
        if (r < 0)
            return r;
    }
    r = finish_pending(run);
    if (r != 0)
        return r;
    if (crypt_reencrypt_status(run->vol.cd, NULL) == CRYPT_REENCRYPT_CRASH) {
        event(run, FL_REENC_RECOVER, -1, -1);
        r = resume_with(run, CRYPT_REENCRYPT_RECOVERY);
        if (r < 0)
            return r;
        r = open_device(run);
        if (r < 0)
            return r;
        /* the recovery finishes the job itself when the area it recovered was the last one */
        if (crypt_reencrypt_status(run->vol.cd, NULL) == CRYPT_REENCRYPT_NONE)
            return 1;
        r = finish_pending(run);
        if (r != 0)
            return r;
    }
    return resume_with(run, CRYPT_REENCRYPT_RESUME_ONLY);
}

/* Run the loaded reencryption until it finishes or ops->progress stops it. */
static int run_reencryption(struct run *run)
{
    int r = crypt_reencrypt_run(run->vol.cd, progress, run);

    if (r < 0)
        return r;
    if (crypt_reencrypt_status(run->vol.cd, NULL) != CRYPT_REENCRYPT_NONE) {
        run->res->interrupted = true;
        return 0;
    }
    run->res->finished = true;
    return 0;
}

/* Every secret opens the result. */
static int verify(struct run *run)
{
    event(run, FL_REENC_VERIFY, -1, -1);
    for (size_t i = 0; i < run->keys.n_offered; i++)
        if (crypt_activate_by_passphrase(run->vol.cd, NULL, CRYPT_ANY_SLOT, run->keys.offered[i].secret->data,
                                         run->keys.offered[i].secret->len, 0) < 0) {
            run->res->failed_secret = (int)i;
            return unproven(run, FL_REENC_SECRET_FAILS,
                            why(run, -EPROTO, "the secret from %s does not open the re-encrypted volume",
                                run->keys.offered[i].source ? run->keys.offered[i].source : "a key file"));
        }
    for (size_t k = 0; k < run->keys.n_typed; k++)
        if (crypt_activate_by_passphrase(run->vol.cd, NULL, CRYPT_ANY_SLOT, run->keys.typed[k]->data,
                                         run->keys.typed[k]->len, 0) < 0)
            return unproven(run, FL_REENC_TYPED_FAILS,
                            why(run, -EPROTO, "a typed passphrase does not open the re-encrypted volume"));
    return 0;
}

/* The data is re-encrypted: every secret opens the result, then the journal goes. */
static int conclude(struct run *run)
{
    int r = reload(run);

    if (r == 0)
        r = verify(run);
    if (r == 0) {
        read_journal(run);
        r = check_samples(run);
    }
    if (r == 0)
        r = drop_journal(run);
    return r;
}

/*
 * A LUKS2 volume not in reencryption that is FIPS-compatible and has no finding (a warning either) that
 * reencrypt fixes: nothing to re-encrypt. (LUKS1 is always converted and re-encrypted.) @return 1, 0, -errno
 */
static int already_compatible(struct run *run)
{
    struct fl_findings f = {0};
    int r = fl_policy_evaluate(run->vol.v, &f);

    r = r < 0 ? r : fl_findings_compatible(&f) && run->vol.v->luks_version == 2 ? 1 : 0;
    for (size_t i = 0; r == 1 && i < f.n; i++)
        if (f.items[i].fix == FL_FIX_REENCRYPT)
            r = 0;
    fl_findings_clear(&f);
    if (r != 1)
        return r;
    r = match_secrets(run); /* a wrong secret is still a wrong secret */
    if (r < 0)
        return r;
    if (run->journal >= 0) {
        /* a finished job whose last step, removing the journal, was cut short: conclude it */
        run->res->resumed = true;
        run->res->finished = true;
        r = conclude(run);
        return r < 0 ? r : 1;
    }
    run->res->nothing_to_do = true;
    r = verify(run);
    return r < 0 ? r : 1;
}

/* ---- before anything is written (reencrypt-plan.c) ---------------------------------------------- */

/* Lock the volume and refuse a target that cannot be written (see reencrypt.h, step 0). */
static int preflight(struct run *run)
{
    int fd = fl_reencrypt_preflight(run->vol.path, run->o->header, run->o->dry_run, &run->res->why);

    if (fd < 0)
        return fd;
    run->vol.lock_fd = fd;
    return 0;
}

/* In a dry run of a resume: every given secret opens the volume (what the resume would unlock with). */
static int test_resume_secrets(struct run *run)
{
    for (size_t i = 0; i < run->keys.n_offered; i++) {
        const struct fl_secret *s = run->keys.offered[i].secret;

        event(run, FL_REENC_UNLOCK, -1, (int)i);
        if (crypt_activate_by_passphrase(run->vol.cd, NULL, CRYPT_ANY_SLOT, s->data, s->len, 0) < 0) {
            run->res->failed_secret = (int)i;
            return -EPERM;
        }
    }
    return 0;
}

/*
 * The plan, once the secrets are known and nothing is written: the new keyslot numbers, the data size,
 * the estimated rate. @return 1 in a dry run (stop there), 0 to go on (ops->confirm agreed), -errno.
 */
static int plan(struct run *run)
{
    struct fl_reencrypt_result *res = run->res;
    uint64_t offset = crypt_get_data_offset(run->vol.cd) * 512;
    int r;

    res->n_plan = 0;
    for (size_t k = 0; !res->resumed && k < run->vol.v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &run->vol.v->keyslots[k];

        if (is_keyslot(run, ks) && fl_run_secret_of(&run->keys, ks->id))
            res->plan_old[res->n_plan++] = ks->id;
    }
    if (res->n_plan && fl_reencrypt_predict_ids(run->vol.v, res->n_plan, res->plan_new) < 0)
        res->n_plan = 0; /* no free number: add_keyslots() says so */
    res->data_size = fl_reencrypt_data_size(run->vol.path, offset);
    if (run->o->dry_run || (run->ops && run->ops->confirm))
        (void)fl_reencrypt_measure(run->vol.path, offset, &res->rate); /* an estimate: 0 if it cannot */
    if (run->o->dry_run) {
        r = res->resumed ? test_resume_secrets(run) : 0;
        return r < 0 ? r : 1;
    }
    if (run->ops && run->ops->confirm)
        return run->ops->confirm(run->ops->userdata, res);
    return 0;
}

static int reencrypt(struct run *run)
{
    crypt_reencrypt_info ri;
    int r;

    r = preflight(run);
    if (r < 0)
        return r;
    r = check_busy(run, run->vol.path);
    if (r == 0 && run->o->header)
        r = check_busy(run, run->o->header);
    if (r < 0)
        return r;
    r = recover_luks1(run);
    if (r < 0)
        return r;
    r = fl_run_volume_read(&run->vol);
    if (r < 0)
        return r;
    r = fl_reencrypt_check_uuid(run->vol.v, &run->res->why);
    if (r < 0)
        return r;
    r = open_device(run);
    if (r < 0)
        return r;
    find_unbound(run);
    read_journal(run);
    ri = run->vol.v->luks_version == 2 ? crypt_reencrypt_status(run->vol.cd, NULL) : CRYPT_REENCRYPT_NONE;
    if (ri == CRYPT_REENCRYPT_INVALID)
        return why(run, -EINVAL, "its reencryption metadata is invalid; inspect it with cryptsetup luksDump");
    if (ri != CRYPT_REENCRYPT_NONE) {
        struct crypt_params_reencrypt p = {0};

        /* continue only what fipsluks starts: a re-encryption, not cryptsetup's --encrypt or --decrypt */
        (void)crypt_reencrypt_status(run->vol.cd, &p);
        if (p.mode != CRYPT_REENCRYPT_REENCRYPT)
            return why(run, -ENOTSUP,
                       "the header holds an interrupted %s, not a re-encryption; finish it with cryptsetup "
                       "reencrypt --resume-only, then run this again",
                       p.mode == CRYPT_REENCRYPT_ENCRYPT ? "encryption (cryptsetup reencrypt --encrypt)"
                                                         : "decryption (cryptsetup reencrypt --decrypt)");
        run->res->resumed = true;
        r = plan(run);
        if (r != 0)
            return r < 0 ? r : 0;
        event(run, FL_REENC_RESUME, -1, -1);
        r = load_interrupted(run);
        if (r < 0)
            return r;
        run->res->wrote = true; /* a recovery may have written; from here the header holds the progress */
        if (r == 1) {
            run->res->finished = true;
            return conclude(run);
        }
    } else {
        r = already_compatible(run);
        if (r != 0)
            return r < 0 ? r : 0;
        r = check_source(run);
        if (r < 0)
            return r;
        r = match_secrets(run);
        if (r < 0)
            return r;
        r = drop_list(run);
        if (r < 0)
            return r;
        r = plan(run);
        if (r != 0)
            return r < 0 ? r : 0;
        if (run->vol.v->luks_version == 1) {
            r = convert_luks1(run);
            if (r < 0)
                return r;
        } else {
            r = backup(run);
            if (r < 0)
                return r;
        }
        r = start(run);
        if (r < 0)
            return r;
    }
    r = run_reencryption(run);
    if (r < 0 || !run->res->finished)
        return r;
    return conclude(run);
}

int fl_reencrypt(const char *path, const struct fl_reencrypt_options *o, struct fl_secret_offer *secrets,
                 size_t n_secrets, const struct fl_reencrypt_ops *ops, struct fl_reencrypt_result *res)
{
    struct run run = {.o = o, .ops = ops, .res = res, .journal = -1};
    int r;

    memset(res, 0, sizeof(*res));
    res->failed_secret = -1;
    if (fl_run_secrets_init(&run.keys, secrets, n_secrets) < 0)
        return -EINVAL;
    r = fl_run_volume_init(&run.vol, path, o->header);
    if (r < 0)
        return r;
    r = reencrypt(&run);
    if (r == -EIO && fl_target_fs_full(path))
        r = why(&run, -ENOSPC, "no space left on the file system of '%s'", path); /* libcryptsetup says EIO */
    fl_run_secrets_clear(&run.keys);
    fl_run_volume_clear(&run.vol);
    return r;
}
