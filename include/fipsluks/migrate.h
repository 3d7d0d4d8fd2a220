/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file migrate.h
 * Re-wrapping keyslots a FIPS host refuses (argon2, non-approved hashes) as PBKDF2 keyslots that
 * open with the same secret, without ever risking the volume.
 *
 * fl_migrate() is the whole protocol behind one call, so no caller can skip a safety rule:
 *
 *  1. Lock the volume (an OFD write lock on the header device: a second migrate gets -EBUSY) and
 *     refuse read-only targets (-EROFS) before anything else. A dry run takes a read lock and
 *     refuses the same targets (it checks that the device could be written, without opening it so).
 *  2. Match every secret to the keyslot it opens, unlocking each keyslot's KDF once and keeping
 *     the volume key in locked memory. A secret that opens no keyslot: -EPERM, nothing written.
 *  3. Back up the header (only when a write will follow; never over an existing file; fsynced).
 *  4. Finish interrupted conversions (their journals), proving before any destroy that a keyslot
 *     is the copy the journal's own conversion made.
 *  5. Convert each keyslot S, each step a LUKS2 commit:
 *       journal {S, salt of S, temporary keyslot T, T's exact PBKDF2 parameters, priority, tokens}
 *       → add T from the volume key (PBKDF2, a quarter of the final iterations) → journal T's salt
 *       → verify T
 *       → destroy S → add S from the volume key (final PBKDF2) → priority, tokens → verify S
 *       → destroy T → drop the journal.
 *     The secret opens S or T at every moment, so a crash anywhere leaves a volume that opens.
 *     A final keyslot that does not verify: the header is restored from this run's backup (-EIO).
 *
 * The old keyslot's KDF runs once per keyslot; the new PBKDF2 runs twice (derive, verify) plus
 * the temporary copy's quarter twice.
 */
#ifndef FIPSLUKS_MIGRATE_H
#define FIPSLUKS_MIGRATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fips.h"
#include "secret.h"
#include "volume.h"
#include "why.h"

/** Token type of the migration journal. */
#define FL_MIGRATION_TOKEN "fipsluks-migration"
/** Version of the journal format this library writes and reads. */
#define FL_JOURNAL_VERSION 2

struct fl_migration;

/** Why a keyslot is (or is not) converted. */
enum fl_slot_plan {
    FL_SLOT_CONVERT = 0, /**< has a finding that migrate fixes */
    FL_SLOT_COMPLIANT,   /**< nothing to do */
    FL_SLOT_TOKEN_BOUND, /**< non-compliant, but its secret belongs to a token (TPM2, FIDO2, …) */
    FL_SLOT_NOT_KEYSLOT, /**< a reencrypt keyslot: no KDF */
};

struct fl_slot {
    int id;
    enum fl_slot_plan plan;
    char rules[160]; /**< comma-separated rule ids that make it non-compliant */
};

/** An interrupted conversion found in the header (a fipsluks-migration token). */
struct fl_journal {
    int token;          /**< journal token id */
    int keyslot;        /**< the keyslot being converted (S) */
    int temp;           /**< the temporary copy the conversion writes (T) */
    char salt[128];     /**< the KDF salt of the old keyslot S, as stored (base64): its identity */
    char temp_hash[32]; /**< T's exact PBKDF2 hash and iterations: its identity */
    uint32_t temp_iterations;
    char temp_salt[128]; /**< T's salt, recorded once T is written ("" before): its identity, even wiped */
    enum fl_priority priority;
    int tokens[FL_MAX_TOKENS]; /**< tokens assigned to S before the conversion */
    size_t n_tokens;
    struct fl_why why; /**< empty, or why this journal does not fit the header */
};

/**
 * Open @p path (with the detached header @p header, or NULL) for migration and read its header.
 * LUKS1 volumes and headers in reencryption open too: the caller decides what to tell.
 * @return 0, or -ENOENT, -EACCES, -EMEDIUMTYPE, -EUCLEAN (as fl_volume_read()), -ENOMEM.
 */
int fl_migration_open(const char *path, const char *header, struct fl_migration **ret);

void fl_migration_free(struct fl_migration *m);

/** The volume as read when opened (or after the last change). */
const struct fl_volume *fl_migration_volume(const struct fl_migration *m);

/**
 * What to do with each keyslot of @p v: those with an error finding that a new PBKDF2 keyslot fixes
 * are FL_SLOT_CONVERT; with @p include_warnings also those with such a warning (SHA-1, few
 * iterations). Pure: no I/O.
 * @return number of entries written to @p slots (at most FL_MAX_KEYSLOTS), or -ENOMEM.
 */
int fl_migration_plan(const struct fl_volume *v, bool include_warnings, struct fl_slot *slots);

/**
 * Whether @p v has room for one more keyslot of a @p key_size -byte volume key: a free keyslot id
 * and a gap in the keyslots area large enough. Pure. @return 1 if so, 0 if not.
 */
int fl_migration_has_room(const struct fl_volume *v, size_t key_size);

/**
 * Parse one journal token's JSON. Pure. A journal that cannot be used (unparsable, an older
 * version, ids out of range, missing fields) is still returned, with @p ret->why set.
 * @return 0, or -ENOMEM.
 */
int fl_journal_parse(const char *json, int token, struct fl_journal *ret);

/**
 * Check @p n journals against the header @p v: every journal names existing or expected keyslots,
 * no keyslot belongs to two journals, the temporary copy is not the keyslot itself. Sets
 * ->why on those that do not fit. Pure. @return the number of journals with a problem.
 */
size_t fl_journal_validate(struct fl_journal *j, size_t n, const struct fl_volume *v);

/** Journals in the header of @p m, parsed and validated. @return number written to @p out, or -errno. */
int fl_migration_journals(struct fl_migration *m, struct fl_journal *out, size_t max);

/** Size of the volume key in bytes (what a new keyslot's PBKDF2 derives). */
size_t fl_migration_key_size(const struct fl_migration *m);

/* ---- the protocol ---------------------------------------------------------------------------- */

/** What a keyslot job ended as. */
enum fl_job_status {
    FL_JOB_PLANNED = 0, /**< dry run: would be converted */
    FL_JOB_CONVERTED,
    FL_JOB_NO_SECRET, /**< no secret opens it: skipped */
    FL_JOB_FAILED,
    FL_JOB_INTERRUPTED, /**< a stop was asked for before it started */
};

struct fl_migrate_job {
    int keyslot;
    char rules[160];
    int secret; /**< index into the secrets (-1: none) */
    enum fl_job_status status;
};

/** Things worth telling an operator while fl_migrate() runs (none is an error). */
enum fl_migrate_event {
    FL_EVENT_UNLOCK,       /**< unlocking @p keyslot with @p secret (the old KDF: may take seconds) */
    FL_EVENT_WRONG_SECRET, /**< @p secret does not open @p keyslot */
    FL_EVENT_CALIBRATE,    /**< timing PBKDF2 for the new keyslots */
    FL_EVENT_BACKUP,       /**< the header backup was written (result->backup) */
    FL_EVENT_RECOVER,      /**< finishing the interrupted conversion of @p keyslot */
    FL_EVENT_CONVERT,      /**< converting @p keyslot */
    FL_EVENT_WRITE,        /**< writing a PBKDF2 keyslot for @p keyslot */
    FL_EVENT_VERIFY,       /**< verifying that the new @p keyslot opens */
    FL_EVENT_CONVERTED,    /**< @p keyslot is converted and verified */
};

struct fl_migrate_ops {
    void *userdata;
    /**
     * Ask for the secret of @p keyslot (its @p attempt -th try, from 0). Return 0 with a new
     * secret in @p ret (fl_migrate() frees it at the end), 1 to skip the keyslot, or -errno
     * (-EPERM after the last try). NULL: no asking.
     */
    int (*ask)(void *userdata, const struct fl_keyslot *ks, unsigned attempt, struct fl_secret **ret);
    /** Progress; may be NULL. */
    void (*event)(void *userdata, enum fl_migrate_event ev, int keyslot, int secret);
    /** True when the operator asked to stop: fl_migrate() finishes the current keyslot, then returns. */
    bool (*stop)(void *userdata);
    /** Last chance to say no after secrets matched and before the first write: 0 to go on, -ECANCELED to stop
     *  (the operator said no), or another -errno (-EINTR: stopped by a signal), returned as it is. */
    int (*confirm)(void *userdata, const struct fl_migrate_job *jobs, size_t n_jobs);
};

struct fl_migrate_options {
    const char *hash;    /**< PBKDF2 hash of new keyslots ("sha256", "sha512") */
    uint32_t iterations; /**< PBKDF2 iterations; 0: calibrate to iter_time_ms */
    uint32_t iter_time_ms;
    int keyslot;            /**< only this keyslot (warnings count too), or -1 */
    bool dry_run;           /**< match the secrets, write nothing; refuse what a real run refuses before
                                 its first write, and fill res->forecast */
    bool allow_in_place;    /**< no room: overwrite in place (a crash midway loses the keyslot) */
    const char *backup;     /**< header backup file, or NULL for a new file in backup_dir */
    const char *backup_dir; /**< NULL: $FIPSLUKS_BACKUP_DIR or FL_DEFAULT_BACKUP_DIR */
};

/** What a real run with the same secrets would leave of a volume (fl_migration_forecast()). */
struct fl_migrate_forecast {
    bool left[FL_MAX_KEYSLOTS]; /**< keyslot k would still need migration (no secret, token-bound) */
    size_t n_left;              /**< those keyslots, plus interrupted conversions no secret can finish */
    bool compatible;            /**< the volume would be FIPS-compatible */
};

struct fl_migrate_result {
    struct fl_migrate_job jobs[FL_MAX_KEYSLOTS];
    size_t n_jobs;
    struct fl_journal journals[FL_MAX_TOKENS];
    size_t n_journals;
    size_t n_recovered;    /**< journals finished */
    uint32_t iterations;   /**< PBKDF2 iterations of the new keyslots (0 if none written) */
    char backup[PATH_MAX]; /**< the header backup written, or "" */
    bool backup_on_volume; /**< the backup's file system lives inside the volume being migrated */
    int failed_keyslot;    /**< the keyslot an error is about, or -1 */
    int failed_secret;     /**< the secret an error is about (a wrong one), or -1 */
    int unusable_keyslot; /**< a keyslot whose KDF cannot be computed on this host (no secret opens it), or -1
                           */
    bool restored;        /**< the header was restored from the backup after a failure */
    bool wrote;           /**< anything was written to the volume */
    bool interrupted;     /**< stopped early because ops->stop() said so */
    struct fl_migrate_forecast forecast; /**< dry run: what a real run would leave (zero otherwise) */
};

/**
 * What a real run would leave of @p v, from the jobs and journals of a dry run's @p res: a job with
 * a secret is converted, a journal whose keyslot or temporary copy @p opens is finished; the
 * findings a new PBKDF2 keyslot fixes (fix FL_FIX_MIGRATE) of those keyslots go, every other
 * error finding stays. Pure. @return 0, or -ENOMEM.
 */
int fl_migration_forecast(const struct fl_volume *v, const struct fl_migrate_result *res,
                          const bool opens[FL_MAX_KEYSLOTS], struct fl_migrate_forecast *ret);

/**
 * Migrate the keyslots of @p m, as described at the top of this file.
 * @return 0 (see @p res for what was done and what is left), or
 *   -EPERM      a secret opens no keyslot (res->failed_secret), or a typed one failed every try;
 *               nothing written
 *   -ENOTSUP    an argon2 keyslot cannot be computed on this FIPS host (res->failed_keyslot)
 *   -EINVAL     options->keyslot does not exist (an invalid option)
 *   -EROFS      the header device is read-only; -EBUSY: another migration holds the lock, or a
 *               reencryption is in progress; -EMEDIUMTYPE: LUKS1
 *   -EUCLEAN    a journal does not fit the header (res->journals[].why); nothing written
 *   -EXFULL     no room for a crash-safe conversion and not allow_in_place (res->failed_keyslot),
 *               dry run or not
 *   -EEXIST     the backup file exists (dry run or not); -ENOSPC and other -errno writing the backup
 *   -ECANCELED  ops->confirm() said no
 *   -EIO        a new keyslot did not verify (res->restored says whether the header was restored)
 *   other -errno from libcryptsetup.
 */
int fl_migrate(struct fl_migration *m, const struct fl_migrate_options *options,
               struct fl_secret_offer *secrets, size_t n_secrets, const struct fl_migrate_ops *ops,
               struct fl_migrate_result *res);

#endif
