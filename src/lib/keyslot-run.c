/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The volume, the header backup and the matched secrets of a run that rewrites keyslots: what migrate.c
 * and reencrypt.c share (keyslot-run.h). Nothing here writes to the volume.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "fipsluks/backup.h"
#include "fipsluks/fips.h"
#include "fipsluks/luks1.h"
#include "keyslot-run.h"

/* ---- the volume ---- */

int fl_run_volume_init(struct fl_run_volume *rv, const char *path, const char *header)
{
    memset(rv, 0, sizeof(*rv));
    rv->lock_fd = -1;
    rv->path = strdup(path);
    if (!rv->path || (header && !(rv->header = strdup(header)))) {
        fl_run_volume_clear(rv);
        return -ENOMEM;
    }
    return 0;
}

void fl_run_volume_clear(struct fl_run_volume *rv)
{
    crypt_free(rv->cd);
    rv->cd = NULL;
    fl_volume_free(rv->v);
    rv->v = NULL;
    if (rv->lock_fd >= 0)
        close(rv->lock_fd);
    rv->lock_fd = -1;
    free(rv->path);
    free(rv->header);
    rv->path = rv->header = NULL;
}

const char *fl_run_volume_header_device(const struct fl_run_volume *rv)
{
    return rv->header ? rv->header : rv->path;
}

int fl_run_volume_read(struct fl_run_volume *rv)
{
    struct fl_volume *v = NULL;
    int r = fl_volume_read(rv->path, rv->header, &v);

    if (r < 0)
        return r;
    fl_volume_free(rv->v);
    rv->v = v;
    return 0;
}

int fl_run_volume_open(struct fl_run_volume *rv, bool quiet)
{
    int r;

    crypt_free(rv->cd);
    rv->cd = NULL;
    r = rv->header ? crypt_init_data_device(&rv->cd, rv->header, rv->path) : crypt_init(&rv->cd, rv->path);
    if (r < 0)
        return r;
    if (quiet)
        crypt_set_log_callback(rv->cd, fl_crypt_log_quiet, NULL);
    return crypt_load(rv->cd, CRYPT_LUKS, NULL);
}

int fl_run_volume_backup(const struct fl_run_volume *rv, int src_fd, const char *backup,
                         const char *backup_dir, char *ret_path, size_t size, int *ret_fd)
{
    uint64_t bytes = 2 * rv->v->metadata_size + rv->v->keyslots_size;
    int fd = src_fd, bfd = -1, r;

    if (fd < 0) {
        fd = open(fl_run_volume_header_device(rv), O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return -errno;
    }
    r = fl_backup_header(fd, bytes, rv->v->uuid, backup, backup_dir, ret_path, size, &bfd);
    if (fd != src_fd)
        close(fd);
    if (r < 0)
        return r;
    if (ret_fd)
        *ret_fd = bfd;
    else
        close(bfd);
    return 0;
}

int fl_run_volume_recover_luks1(const struct fl_run_volume *rv, const struct fl_run_secrets *keys,
                                const char *backup, const char *backup_dir, struct fl_luks1_result *res)
{
    return fl_luks1_recover(rv->path, rv->header, keys->offered, keys->n_offered, backup, backup_dir, res);
}

int fl_run_volume_convert_luks1(struct fl_run_volume *rv, const char *backup, const char *backup_dir,
                                struct fl_luks1_result *res)
{
    crypt_free(rv->cd);
    rv->cd = NULL;
    return fl_luks1_convert(rv->path, rv->header, backup, backup_dir, res);
}

/* ---- the secrets ---- */

int fl_run_secrets_init(struct fl_run_secrets *s, struct fl_secret_offer *offered, size_t n)
{
    memset(s, 0, sizeof(*s));
    for (int k = 0; k < FL_MAX_KEYSLOTS; k++)
        s->opener[k] = -1;
    for (size_t i = 0; i < n; i++)
        offered[i].keyslot = -1;
    if (n > FL_MAX_KEYSLOTS)
        return -E2BIG;
    s->offered = offered;
    s->n_offered = n;
    return 0;
}

void fl_run_secrets_clear(struct fl_run_secrets *s)
{
    for (int k = 0; k < FL_MAX_KEYSLOTS; k++) {
        fl_secret_free(s->vk[k]);
        s->vk[k] = NULL;
    }
    for (size_t i = 0; i < s->n_typed; i++) {
        fl_secret_free(s->typed[i]);
        s->typed[i] = NULL;
    }
    s->n_typed = 0;
}

size_t fl_run_secrets_count(const struct fl_run_secrets *s)
{
    return s->n_offered + s->n_typed;
}

const struct fl_secret *fl_run_secret(const struct fl_run_secrets *s, size_t i)
{
    if (i < s->n_offered)
        return s->offered[i].secret;
    return i < fl_run_secrets_count(s) ? s->typed[i - s->n_offered] : NULL;
}

const struct fl_secret *fl_run_secret_of(const struct fl_run_secrets *s, int slot)
{
    return slot >= 0 && slot < FL_MAX_KEYSLOTS && s->opener[slot] >= 0
               ? fl_run_secret(s, (size_t)s->opener[slot])
               : NULL;
}

bool fl_run_secrets_full(const struct fl_run_secrets *s)
{
    return fl_run_secrets_count(s) >= FL_RUN_MAX_SECRETS;
}

int fl_run_secrets_add(struct fl_run_secrets *s, struct fl_secret *typed)
{
    if (fl_run_secrets_full(s)) {
        fl_secret_free(typed);
        return -E2BIG;
    }
    s->typed[s->n_typed++] = typed;
    return (int)fl_run_secrets_count(s) - 1;
}

void fl_run_secrets_drop_last(struct fl_run_secrets *s)
{
    size_t i;

    if (!s->n_typed)
        return;
    i = fl_run_secrets_count(s) - 1;
    for (int k = 0; k < FL_MAX_KEYSLOTS; k++)
        if (s->opener[k] == (int)i) {
            s->opener[k] = -1;
            fl_secret_free(s->vk[k]);
            s->vk[k] = NULL;
        }
    s->tried[i] = 0;
    fl_secret_free(s->typed[--s->n_typed]);
    s->typed[s->n_typed] = NULL;
}

bool fl_run_secrets_opens_any(const struct fl_run_secrets *s, size_t i)
{
    for (int k = 0; k < FL_MAX_KEYSLOTS; k++)
        if (s->opener[k] == (int)i)
            return true;
    return false;
}

bool fl_run_keyslot_active(struct crypt_device *cd, int slot)
{
    crypt_keyslot_info st = crypt_keyslot_status(cd, slot);
    return st == CRYPT_SLOT_ACTIVE || st == CRYPT_SLOT_ACTIVE_LAST || st == CRYPT_SLOT_UNBOUND;
}

static bool is_argon2(const struct fl_keyslot *ks)
{
    return ks && ks->kdf && !strncmp(ks->kdf, "argon2", 6);
}

/*
 * Unlock @p slot with secret @p i, keeping the volume key: the keyslot's KDF runs here and nowhere
 * else. @return 0, -EPERM (does not open it), -ENOTSUP (argon2 on a FIPS libcryptsetup), -errno.
 */
static int unlock(struct fl_run_secrets *s, struct crypt_device *cd, const struct fl_volume *v, int slot,
                  size_t i, void (*unlocking)(void *userdata, int slot, size_t i), void *userdata)
{
    const struct fl_secret *x = fl_run_secret(s, i);
    struct fl_secret *vk = NULL;
    int size = crypt_get_volume_key_size(cd);
    size_t len = size > 0 ? (size_t)size : 0;
    int r;

    if (!x)
        return -EPERM; /* no such secret: fl_run_secrets_try() checked the range, an offer may hold none */
    s->tried[i] |= 1u << slot;
    if (s->opener[slot] >= 0)
        return fl_secret_equal(fl_run_secret(s, (size_t)s->opener[slot]), x) ? 0 : -EPERM;
    if (unlocking)
        unlocking(userdata, slot, i);
    r = fl_secret_new(NULL, len, &vk);
    if (r < 0)
        return r;
    r = crypt_volume_key_get(cd, slot, vk->data, &len, x->data, x->len);
    if (r == slot) {
        vk->len = len;
        fl_secret_free(s->vk[slot]);
        s->vk[slot] = vk;
        s->opener[slot] = (int)i;
        return 0;
    }
    fl_secret_free(vk);
    if (r == -EPERM || r == -ENOENT)
        return -EPERM;
    /* A FIPS libcryptsetup that cannot compute Argon2 says "invalid", whatever the secret. */
    if (r == -EINVAL && is_argon2(fl_volume_keyslot(v, slot)) && fl_libcryptsetup_fips_mode(NULL))
        return -ENOTSUP;
    return r < 0 ? r : -EIO;
}

int fl_run_secrets_try(struct fl_run_secrets *s, struct crypt_device *cd, const struct fl_volume *v, int slot,
                       size_t i, void (*unlocking)(void *userdata, int slot, size_t i), void *userdata)
{
    int r;

    if (slot < 0 || slot >= FL_MAX_KEYSLOTS || i >= fl_run_secrets_count(s) ||
        !fl_run_keyslot_active(cd, slot))
        return 0;
    if (s->tried[i] & (1u << slot))
        return s->opener[slot] == (int)i;
    r = unlock(s, cd, v, slot, i, unlocking, userdata);
    return r == 0 ? 1 : r == -EPERM ? 0 : r;
}
