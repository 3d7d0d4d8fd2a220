/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What migrate and reencrypt share when they rewrite the keyslots of one volume: the volume itself (its
 * paths, lock, libcryptsetup context and read-only model), the header backup taken before the first
 * write, and the secrets of the run matched to the keyslots they open.
 *
 * Matching runs each keyslot's KDF at most once per secret (struct fl_run_secrets remembers what was
 * tried), keeps the volume key each unlock gives in crypt_safe_alloc() memory, and decides nothing about
 * which keyslots to try in which order, what to tell the operator or when to ask: each verb keeps its own
 * order, events and prompts.
 */
#ifndef FL_LIB_KEYSLOT_RUN_H
#define FL_LIB_KEYSLOT_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fipsluks/secret.h"
#include "fipsluks/volume.h"

struct crypt_device;
struct fl_luks1_result;
struct fl_run_secrets;

/* ---- the volume ---- */

struct fl_run_volume {
    char *path;              /* the device or image */
    char *header;            /* its detached header, or NULL */
    struct crypt_device *cd; /* libcryptsetup's context, or NULL */
    struct fl_volume *v;     /* the read-only model of the header as last read, or NULL */
    int lock_fd;             /* the header device, locked for this run (fl_target_lock()), or -1 */
};

/* Copy @p path and @p header (NULL: none) into @p rv, which holds nothing else yet. @return 0 or -ENOMEM. */
int fl_run_volume_init(struct fl_run_volume *rv, const char *path, const char *header);

/* Release everything @p rv holds (the lock too). */
void fl_run_volume_clear(struct fl_run_volume *rv);

/* The device the header is on: the detached header, else the volume. */
const char *fl_run_volume_header_device(const struct fl_run_volume *rv);

/* Read the header again into rv->v (fl_volume_read()); rv->v is kept on failure. @return 0 or -errno. */
int fl_run_volume_read(struct fl_run_volume *rv);

/*
 * A new libcryptsetup context for the volume, loaded (CRYPT_LUKS: LUKS1 or LUKS2); the old one is freed
 * first. With @p quiet its messages go to fl_crypt_log_quiet() (library code does not log), else to
 * libcryptsetup's default log. @return 0 or -errno (rv->cd may then be NULL or not loaded).
 */
int fl_run_volume_open(struct fl_run_volume *rv, bool quiet);

/*
 * The header backup, before the first write: the header region (both LUKS2 header copies and the keyslots
 * area of rv->v) read from @p src_fd, or, when it is -1, from the header device opened read-only here,
 * written by fl_backup_header() to @p backup or a new file in @p backup_dir. The path used is in
 * @p ret_path; @p ret_fd (NULL: closed) is the backup open for reading. @return 0 or fl_backup_header()'s
 * -errno (@p ret_path may then name the file that could not be written, or be empty).
 */
int fl_run_volume_backup(const struct fl_run_volume *rv, int src_fd, const char *backup,
                         const char *backup_dir, char *ret_path, size_t size, int *ret_fd);

/* Whether keyslot @p slot of @p cd holds a key (bound to the data or not). */
bool fl_run_keyslot_active(struct crypt_device *cd, int slot);

/*
 * A LUKS1 conversion an earlier run cut short: fl_luks1_recover() on this volume, with the offered secrets
 * of @p keys, looking for its backup as @p backup or in @p backup_dir. Before the header is read: a
 * conversion cut short may have left one that does not load. @return fl_luks1_recover()'s.
 */
int fl_run_volume_recover_luks1(const struct fl_run_volume *rv, const struct fl_run_secrets *keys,
                                const char *backup, const char *backup_dir, struct fl_luks1_result *res);

/*
 * Convert the LUKS1 volume to LUKS2 (fl_luks1_convert(), which takes its own header backup, to @p backup or
 * a new file in @p backup_dir). The libcryptsetup context is freed first (the conversion opens the device
 * itself); the caller reads and opens the volume again. @return fl_luks1_convert()'s.
 */
int fl_run_volume_convert_luks1(struct fl_run_volume *rv, const char *backup, const char *backup_dir,
                                struct fl_luks1_result *res);

/* ---- the secrets ---- */

/* Offered secrets plus typed ones. */
#define FL_RUN_MAX_SECRETS (2 * FL_MAX_KEYSLOTS)

/*
 * The secrets of a run, numbered: the offered ones first (0 … n_offered - 1), then the typed ones in the
 * order they were added. What each secret was tried on, and which secret opens each keyslot.
 */
struct fl_run_secrets {
    struct fl_secret_offer *offered;
    size_t n_offered;
    struct fl_secret *typed[FL_RUN_MAX_SECRETS]; /* owned; secret n_offered + i */
    size_t n_typed;
    uint32_t tried[FL_RUN_MAX_SECRETS];    /* keyslots each secret was tried on (bit per keyslot) */
    struct fl_secret *vk[FL_MAX_KEYSLOTS]; /* the volume key from unlocking keyslot k, owned */
    int opener[FL_MAX_KEYSLOTS];           /* the secret that opens keyslot k, or -1 */
};

/*
 * Start @p s with @p n offered secrets (their ->keyslot set to -1: none found yet).
 * @return 0, or -E2BIG when @p n is more than FL_MAX_KEYSLOTS (nothing set but the empty table).
 */
int fl_run_secrets_init(struct fl_run_secrets *s, struct fl_secret_offer *offered, size_t n);

/* Wipe and free the typed secrets and the volume keys. */
void fl_run_secrets_clear(struct fl_run_secrets *s);

/* All secrets: offered plus typed. */
size_t fl_run_secrets_count(const struct fl_run_secrets *s);

/* Secret @p i (offered or typed), or NULL when out of range. */
const struct fl_secret *fl_run_secret(const struct fl_run_secrets *s, size_t i);

/* The secret that opens keyslot @p slot, or NULL (none found, or out of range). */
const struct fl_secret *fl_run_secret_of(const struct fl_run_secrets *s, int slot);

/* Whether there is room for one more typed secret. */
bool fl_run_secrets_full(const struct fl_run_secrets *s);

/* Take @p typed (owned from now on) as the next secret. @return its number, or -E2BIG (then freed). */
int fl_run_secrets_add(struct fl_run_secrets *s, struct fl_secret *typed);

/* Forget and free the last typed secret: one that opened nothing. */
void fl_run_secrets_drop_last(struct fl_run_secrets *s);

/* Whether secret @p i opens some keyslot. */
bool fl_run_secrets_opens_any(const struct fl_run_secrets *s, size_t i);

/*
 * Secret @p i on keyslot @p slot of @p cd, its KDF run at most once: an inactive keyslot (or @p slot < 0)
 * is never tried; a pair tried before answers from memory; a keyslot another secret opens already is
 * compared with that secret instead of unlocked. Otherwise @p unlocking (may be NULL) is called just before
 * the KDF runs, and on success the volume key is kept in s->vk[slot] and s->opener[slot] is @p i.
 * @p v is the header's model (to tell an argon2 keyslot a FIPS libcryptsetup cannot compute).
 * @return 1 opens, 0 does not, -EINVAL (a KDF or hash libcryptsetup cannot compute: no secret opens it
 *         here), -ENOTSUP (argon2 on a FIPS libcryptsetup), -ENOMEM, or libcryptsetup's -errno.
 */
int fl_run_secrets_try(struct fl_run_secrets *s, struct crypt_device *cd, const struct fl_volume *v, int slot,
                       size_t i, void (*unlocking)(void *userdata, int slot, size_t i), void *userdata);

#endif
