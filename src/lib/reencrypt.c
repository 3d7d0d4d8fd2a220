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

#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/format.h"
#include "fipsluks/luks1.h"
#include "fipsluks/reencrypt.h"

#ifndef AF_ALG
#define AF_ALG 38
#endif

struct run {
    const char *path;
    const struct fl_reencrypt_options *o;
    const struct fl_reencrypt_ops *ops;
    struct fl_reencrypt_result *res;
    struct fl_migrate_secret *secrets;
    size_t n_secrets;
    struct crypt_device *cd;
    struct fl_volume *v;
    struct fl_secret *typed[FL_MAX_KEYSLOTS];             /* secrets from ops->ask, by keyslot id */
    const struct fl_secret *slot_secret[FL_MAX_KEYSLOTS]; /* the secret of each keyslot id, or NULL */
    bool unbound[FL_MAX_KEYSLOTS]; /* keyslots of no segment (left by a start that was cut short) */
};

__attribute__((format(printf, 3, 4))) static int why(struct run *run, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(run->res->why, sizeof(run->res->why), fmt, ap);
    va_end(ap);
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
    char name[32], chain[32], ossl[80], kernel[80];
    const char *dash, *rest;
    uint32_t bits = key_bits;
    EVP_CIPHER *c;
    size_t len;

    if (!spec || !(dash = strchr(spec, '-')) || (len = (size_t)(dash - spec)) == 0 || len >= sizeof(name))
        return 0;
    memcpy(name, spec, len);
    name[len] = '\0';
    rest = dash + 1;
    len = strcspn(rest, "-");
    if (len == 0 || len >= sizeof(chain))
        return 0;
    memcpy(chain, rest, len);
    chain[len] = '\0';
    for (const char *p = spec; *p; p++) /* only plain names reach OpenSSL and the kernel */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-:", *p)))
            return 0;
    if (!strcmp(chain, "xts"))
        bits /= 2;
    snprintf(ossl, sizeof(ossl), "%s-%u-%s", name, bits, chain);
    c = EVP_CIPHER_fetch(NULL, ossl, NULL);
    if (c) {
        EVP_CIPHER_free(c);
        return 1;
    }
    snprintf(kernel, sizeof(kernel), "%s(%s)", chain, name);
    return alg_binds(kernel) ? 1 : 0;
}

/* ---- what may be re-encrypted -------------------------------------------------------------------- */

static int check_busy(struct run *run, const char *path)
{
    char *reason = NULL;
    int r = fl_format_check_busy(path, &reason);

    if (r == -EBUSY)
        why(run, r, "'%s': %s", path, reason ? reason : "in use");
    free(reason);
    return r;
}

/* The one data segment of a volume not in reencryption: refuse what libcryptsetup cannot rewrite here. */
static int check_source(struct run *run)
{
    const struct fl_volume *v = run->v;
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
    for (size_t k = 0; k < run->v->n_keyslots; k++) {
        int id = run->v->keyslots[k].id;

        if (id >= 0 && id < FL_MAX_KEYSLOTS)
            run->unbound[id] = crypt_keyslot_status(run->cd, id) == CRYPT_SLOT_UNBOUND;
    }
}

/* Whether @p s opens keyslot @p id (one KDF run). */
static bool opens(struct crypt_device *cd, int id, const struct fl_secret *s)
{
    return crypt_activate_by_passphrase(cd, NULL, id, s->data, s->len, 0) >= 0;
}

/* Give every keyslot a secret that opens it, or none. @return 0, -EPERM (failed_secret), -errno. */
static int match_secrets(struct run *run)
{
    struct fl_volume *v = run->v;
    bool used[FL_MAX_KEYSLOTS] = {false};

    for (size_t k = 0; k < v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &v->keyslots[k];

        if (!is_keyslot(run, ks))
            continue;
        for (size_t i = 0; i < run->n_secrets && !run->slot_secret[ks->id]; i++) {
            event(run, FL_REENC_UNLOCK, ks->id, (int)i);
            if (opens(run->cd, ks->id, run->secrets[i].secret)) {
                run->slot_secret[ks->id] = run->secrets[i].secret;
                if (run->secrets[i].keyslot < 0)
                    run->secrets[i].keyslot = ks->id;
                used[i] = true;
            }
        }
    }
    for (size_t i = 0; i < run->n_secrets; i++) {
        /* a secret given twice, or for a keyslot another secret opens too: fine if it opens one */
        for (size_t k = 0; !used[i] && k < v->n_keyslots; k++)
            used[i] =
                is_keyslot(run, &v->keyslots[k]) && opens(run->cd, v->keyslots[k].id, run->secrets[i].secret);
        if (!used[i]) {
            run->res->failed_secret = (int)i;
            return -EPERM;
        }
    }
    /* keyslots still without a secret: ask */
    for (size_t k = 0; run->ops && run->ops->ask && k < v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &v->keyslots[k];

        for (unsigned attempt = 0; is_keyslot(run, ks) && !run->slot_secret[ks->id]; attempt++) {
            struct fl_secret *s = NULL;
            int r = run->ops->ask(run->ops->userdata, ks, attempt, &s);

            if (r < 0 && r != -EPERM)
                return r;
            if (r != 0)
                break; /* left without (1), or out of tries (-EPERM) */
            event(run, FL_REENC_UNLOCK, ks->id, -1);
            if (opens(run->cd, ks->id, s)) {
                run->typed[ks->id] = s;
                run->slot_secret[ks->id] = s;
            } else {
                fl_secret_free(s);
            }
        }
    }
    return 0;
}

static int drop_list(struct run *run)
{
    struct fl_reencrypt_result *res = run->res;
    size_t kept = 0;

    res->n_dropped = 0;
    for (size_t k = 0; k < run->v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &run->v->keyslots[k];

        if (is_keyslot(run, ks) && run->slot_secret[ks->id])
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
    int r;

    crypt_free(run->cd);
    run->cd = NULL;
    r = run->o->header ? crypt_init_data_device(&run->cd, run->o->header, run->path)
                       : crypt_init(&run->cd, run->path);
    if (r < 0)
        return r;
    return crypt_load(run->cd, CRYPT_LUKS, NULL);
}

static int reload(struct run *run)
{
    struct fl_volume *v = NULL;
    int r = fl_volume_read(run->path, run->o->header, &v);

    if (r < 0)
        return r;
    fl_volume_free(run->v);
    run->v = v;
    return open_device(run);
}

static int backup(struct run *run)
{
    const char *hdev = run->o->header ? run->o->header : run->path;
    uint64_t bytes = 2 * run->v->metadata_size + run->v->keyslots_size;
    int fd, bfd = -1, r;

    fd = open(hdev, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    r = fl_backup_header(fd, bytes, run->v->uuid, run->o->backup, run->o->backup_dir, run->res->backup,
                         sizeof(run->res->backup), &bfd);
    close(fd);
    if (r < 0) {
        run->res->backup[0] = '\0';
        return r;
    }
    close(bfd);
    event(run, FL_REENC_BACKUP, -1, -1);
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
    int r = fl_luks1_recover(run->path, run->o->header, run->secrets, run->n_secrets, run->o->backup,
                             run->o->backup_dir, &lr);

    run->res->wrote = lr.wrote;
    if (r < 0)
        return why(run, r, "%s", lr.why);
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

    crypt_free(run->cd); /* the conversion opens the device itself */
    run->cd = NULL;
    r = fl_luks1_convert(run->path, run->o->header, run->o->backup, run->o->backup_dir, &lr);
    snprintf(run->res->backup, sizeof(run->res->backup), "%s", lr.backup);
    if (lr.backup[0])
        event(run, FL_REENC_BACKUP, -1, -1);
    if (r < 0) {
        if (r == -EBUSY)
            why(run, r, "%s", lr.why);
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
 * Unbound keyslots a given secret opens: the new keyslots of a start that was cut short before the
 * reencryption was initialised. Their key encrypts no data; a fresh start makes new ones, so remove them.
 */
static int remove_leftovers(struct run *run)
{
    for (int id = 0; id < FL_MAX_KEYSLOTS; id++) {
        int size = run->unbound[id] ? crypt_keyslot_get_key_size(run->cd, id) : -1;
        char *key = size > 0 ? crypt_safe_alloc((size_t)size) : NULL;
        size_t n = size > 0 ? (size_t)size : 0;

        if (size > 0 && !key)
            return -ENOMEM;
        /* the given secrets, then the typed ones (reported as secret -1) */
        for (size_t i = 0; key && i < run->n_secrets + FL_MAX_KEYSLOTS; i++) {
            const struct fl_secret *s =
                i < run->n_secrets ? run->secrets[i].secret : run->typed[i - run->n_secrets];
            int r;

            if (!s)
                continue;
            if (crypt_volume_key_get(run->cd, id, key, &n, s->data, s->len) < 0)
                continue;
            r = crypt_keyslot_destroy(run->cd, id);
            if (r < 0) {
                crypt_safe_free(key);
                return r;
            }
            run->unbound[id] = false;
            run->res->wrote = true;
            event(run, FL_REENC_LEFTOVER, id, i < run->n_secrets ? (int)i : -1);
            break;
        }
        crypt_safe_free(key);
    }
    return 0;
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

    if (!vk)
        return -ENOMEM;
    r = crypt_set_pbkdf_type(run->cd, &pbkdf);
    if (r == 0)
        r = crypt_keyslot_set_encryption(run->cd, FL_REENCRYPT_CIPHER, key_size);
    for (size_t k = 0; r == 0 && k < run->v->n_keyslots; k++) {
        const struct fl_keyslot *ks = &run->v->keyslots[k];
        const struct fl_secret *s = is_keyslot(run, ks) ? run->slot_secret[ks->id] : NULL;
        int n;

        if (!s)
            continue;
        if (res->n_kept == 0)
            n = crypt_keyslot_add_by_key(run->cd, CRYPT_ANY_SLOT, NULL, key_size, s->data, s->len,
                                         CRYPT_VOLUME_KEY_NO_SEGMENT);
        else
            n = crypt_keyslot_add_by_key(run->cd, CRYPT_ANY_SLOT, vk, key_size, s->data, s->len,
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
            r = crypt_volume_key_get(run->cd, n, vk, &vk_size, s->data, s->len);
            if (r < 0)
                break;
            r = 0;
        }
        res->old_ids[res->n_kept] = ks->id;
        res->new_ids[res->n_kept++] = n;
        if (ks->priority != FL_PRIORITY_NORMAL)
            r = crypt_keyslot_set_priority(run->cd, n, (crypt_keyslot_priority)ks->priority);
        for (size_t t = 0; r == 0 && t < ks->n_tokens; t++) {
            int a = crypt_token_assign_keyslot(run->cd, ks->tokens[t], n);
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
    if (crypt_reencrypt_status(run->cd, NULL) != CRYPT_REENCRYPT_NONE)
        return;
    for (size_t i = 0; i < run->res->n_kept; i++)
        (void)crypt_keyslot_destroy(run->cd, run->res->new_ids[i]);
    run->res->n_kept = 0;
}

static int start(struct run *run)
{
    struct crypt_params_luks2 luks2 = {.sector_size = (uint32_t)crypt_get_sector_size(run->cd)};
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
        r = crypt_reencrypt_init_by_passphrase(run->cd, NULL, s->data, s->len, old, new, "aes", "xts-plain64",
                                               &params);
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

/* The secrets that may drive a resumed run: the given ones, else ask once. */
static int resume_with(struct run *run, uint32_t flags)
{
    struct crypt_params_reencrypt params = {.flags = flags, .max_hotzone_size = run->o->hotzone_bytes / 512};
    int r = -EPERM;

    for (size_t i = 0; i < run->n_secrets && r == -EPERM; i++) {
        const struct fl_secret *s = run->secrets[i].secret;
        r = crypt_reencrypt_init_by_passphrase(run->cd, NULL, s->data, s->len, CRYPT_ANY_SLOT, CRYPT_ANY_SLOT,
                                               NULL, NULL, &params);
    }
    for (unsigned attempt = 0; r == -EPERM && run->n_secrets == 0 && run->ops && run->ops->ask; attempt++) {
        struct fl_secret *s = NULL;
        int a = run->ops->ask(run->ops->userdata, NULL, attempt, &s);

        if (a != 0)
            return a < 0 ? a : -EPERM;
        r = crypt_reencrypt_init_by_passphrase(run->cd, NULL, s->data, s->len, CRYPT_ANY_SLOT, CRYPT_ANY_SLOT,
                                               NULL, NULL, &params);
        if (r >= 0 && !run->typed[0])
            run->typed[0] = s; /* verified at the end like the others */
        else
            fl_secret_free(s);
    }
    return r < 0 ? r : 0;
}

/* Load a reencryption found in the header, recovering the area a crashed run was writing first. */
static int load_interrupted(struct run *run)
{
    int r;

    if (crypt_reencrypt_status(run->cd, NULL) == CRYPT_REENCRYPT_CRASH) {
        event(run, FL_REENC_RECOVER, -1, -1);
        r = resume_with(run, CRYPT_REENCRYPT_RECOVERY);
        if (r < 0)
            return r;
        r = open_device(run);
        if (r < 0)
            return r;
    }
    return resume_with(run, CRYPT_REENCRYPT_RESUME_ONLY);
}

/* Run the loaded reencryption until it finishes or ops->progress stops it. */
static int run_reencryption(struct run *run)
{
    int r = crypt_reencrypt_run(run->cd, progress, run);

    if (r < 0)
        return r;
    if (crypt_reencrypt_status(run->cd, NULL) != CRYPT_REENCRYPT_NONE) {
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
    for (size_t i = 0; i < run->n_secrets; i++)
        if (crypt_activate_by_passphrase(run->cd, NULL, CRYPT_ANY_SLOT, run->secrets[i].secret->data,
                                         run->secrets[i].secret->len, 0) < 0) {
            run->res->failed_secret = (int)i;
            return why(run, -EIO, "the secret from %s does not open the re-encrypted volume",
                       run->secrets[i].source ? run->secrets[i].source : "a key file");
        }
    for (size_t k = 0; k < FL_MAX_KEYSLOTS; k++)
        if (run->typed[k] && crypt_activate_by_passphrase(run->cd, NULL, CRYPT_ANY_SLOT, run->typed[k]->data,
                                                          run->typed[k]->len, 0) < 0)
            return why(run, -EIO, "a typed passphrase does not open the re-encrypted volume");
    return 0;
}

static int reencrypt(struct run *run)
{
    crypt_reencrypt_info ri;
    int r;

    r = check_busy(run, run->path);
    if (r == 0 && run->o->header)
        r = check_busy(run, run->o->header);
    if (r < 0)
        return r;
    r = recover_luks1(run);
    if (r < 0)
        return r;
    r = fl_volume_read(run->path, run->o->header, &run->v);
    if (r < 0)
        return r;
    r = open_device(run);
    if (r < 0)
        return r;
    find_unbound(run);
    ri = run->v->luks_version == 2 ? crypt_reencrypt_status(run->cd, NULL) : CRYPT_REENCRYPT_NONE;
    if (ri == CRYPT_REENCRYPT_INVALID)
        return why(run, -EINVAL, "its reencryption metadata is invalid; inspect it with cryptsetup luksDump");
    if (ri != CRYPT_REENCRYPT_NONE) {
        struct crypt_params_reencrypt p = {0};

        /* continue only what fipsluks starts: a re-encryption, not cryptsetup's --encrypt or --decrypt */
        (void)crypt_reencrypt_status(run->cd, &p);
        if (p.mode != CRYPT_REENCRYPT_REENCRYPT)
            return why(run, -ENOTSUP,
                       "the header holds an interrupted %s, not a re-encryption; finish it with cryptsetup "
                       "reencrypt --resume-only, then run this again",
                       p.mode == CRYPT_REENCRYPT_ENCRYPT ? "encryption (cryptsetup reencrypt --encrypt)"
                                                         : "decryption (cryptsetup reencrypt --decrypt)");
        run->res->resumed = true;
        event(run, FL_REENC_RESUME, -1, -1);
        r = load_interrupted(run);
        if (r < 0)
            return r;
        run->res->wrote = true; /* a recovery may have written; from here the header holds the progress */
    } else {
        r = check_source(run);
        if (r < 0)
            return r;
        r = match_secrets(run);
        if (r < 0)
            return r;
        r = drop_list(run);
        if (r < 0)
            return r;
        if (run->v->luks_version == 1) {
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
    r = reload(run);
    if (r < 0)
        return r;
    return verify(run);
}

int fl_reencrypt(const char *path, const struct fl_reencrypt_options *o, struct fl_migrate_secret *secrets,
                 size_t n_secrets, const struct fl_reencrypt_ops *ops, struct fl_reencrypt_result *res)
{
    struct run run = {
        .path = path, .o = o, .ops = ops, .res = res, .secrets = secrets, .n_secrets = n_secrets};
    int r;

    memset(res, 0, sizeof(*res));
    res->failed_secret = -1;
    for (size_t i = 0; i < n_secrets; i++)
        secrets[i].keyslot = -1;
    if (n_secrets > FL_MAX_KEYSLOTS)
        return -EINVAL;
    r = reencrypt(&run);
    for (size_t k = 0; k < FL_MAX_KEYSLOTS; k++)
        fl_secret_free(run.typed[k]);
    crypt_free(run.cd);
    fl_volume_free(run.v);
    return r;
}
