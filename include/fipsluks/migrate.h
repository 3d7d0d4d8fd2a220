/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file migrate.h
 * Re-wrapping keyslots a FIPS host refuses (argon2, non-approved hashes) as PBKDF2 keyslots that
 * open with the same secret, without ever risking the volume.
 *
 * Each conversion is journalled in the header itself: a LUKS2 token of type
 * "fipsluks-migration" records the keyslot, its priority and the keyslot ids that existed before,
 * and is committed before anything else changes. libcryptsetup then writes the new keyslot into a
 * free slot and area, commits, swaps the ids and destroys the old keyslot (wiping its area first),
 * each header change a LUKS2 commit (two copies, sequence ids). After a crash at any moment at least
 * one keyslot holding the secret opens; fl_migration_recover() works out which, keeps that one under
 * the original number, restores the priority and drops the journal.
 */
#ifndef FIPSLUKS_MIGRATE_H
#define FIPSLUKS_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secret.h"
#include "volume.h"

/** Token type of the migration journal. */
#define FL_MIGRATION_TOKEN "fipsluks-migration"

struct fl_migration;

/** Why a keyslot is (or is not) converted. */
enum fl_slot_plan {
    FL_SLOT_CONVERT = 0,   /**< has a finding that migrate fixes */
    FL_SLOT_COMPLIANT,     /**< nothing to do */
    FL_SLOT_TOKEN_BOUND,   /**< non-compliant, but its secret belongs to a token (TPM2, FIDO2, …) */
    FL_SLOT_NOT_KEYSLOT,   /**< a reencrypt keyslot: no KDF */
};

struct fl_slot {
    int id;
    enum fl_slot_plan plan;
    char rules[160];        /**< comma-separated rule ids that make it non-compliant */
};

/** An interrupted conversion found in the header. */
struct fl_journal {
    int token;              /**< journal token id */
    int keyslot;            /**< the keyslot being converted */
    enum fl_priority priority;
    int existing[FL_MAX_KEYSLOTS]; /**< keyslot ids before the conversion started */
    size_t n_existing;
};

/**
 * Open @p path (with the detached header @p header, or NULL) for migration and read its header.
 * LUKS1 volumes and headers in reencryption open too: the caller decides what to tell.
 * @return 0, or -ENOENT, -EACCES, -EMEDIUMTYPE, -EUCLEAN (as fl_volume_read()), -ENOMEM.
 */
int fl_migration_open(const char *path, const char *header, struct fl_migration **ret);

void fl_migration_free(struct fl_migration *m);

/** The volume as read when opened (or after the last fl_migration_reload()). */
const struct fl_volume *fl_migration_volume(const struct fl_migration *m);

/** Read the header again, e.g. after converting. @return 0 or -errno. */
int fl_migration_reload(struct fl_migration *m);

/**
 * What to do with each keyslot: those with an error finding that a new PBKDF2 keyslot fixes are
 * FL_SLOT_CONVERT; with @p include_warnings also those with such a warning (SHA-1, few iterations).
 * @return number of entries written to @p slots (at most FL_MAX_KEYSLOTS), or -ENOMEM.
 */
int fl_migration_plan(const struct fl_migration *m, bool include_warnings, struct fl_slot *slots);

/** Journals of interrupted conversions. @return number written to @p out, or -errno. */
int fl_migration_journals(struct fl_migration *m, struct fl_journal *out, size_t max);

/**
 * Check @p secret against keyslot @p slot without activating anything.
 * @return 0 when it opens, -EPERM when it does not, -ENOTSUP when the keyslot's KDF cannot be
 *         computed here (argon2 on a FIPS host with cryptsetup >= 2.7 and OpenSSL >= 3.2), -errno.
 */
int fl_migration_try_secret(struct fl_migration *m, int slot, const struct fl_secret *secret);

/** Whether libcryptsetup runs in FIPS mode (its LUKS2 default KDF is pbkdf2). */
bool fl_libcryptsetup_fips_mode(void);

/**
 * Turn this process's OpenSSL default properties away from the FIPS provider, before
 * libcryptsetup initialises its crypto backend, so argon2 keyslots can be unlocked on a FIPS host.
 * @return 0, or -EALREADY when libcryptsetup is already initialised in FIPS mode.
 */
int fl_allow_non_fips_unlock(void);

/**
 * Whether keyslot @p slot can be converted without overwriting it in place: a free keyslot id and
 * a free keyslot area large enough for the new keyslot exist.
 * @return 1 if so, 0 if not, or -errno.
 */
int fl_migration_has_room(const struct fl_migration *m, int slot);

/**
 * Back up the header to @p file (created 0600; never overwrites: -EEXIST).
 * @return 0 or -errno.
 */
int fl_migration_backup(struct fl_migration *m, const char *file);

/** Restore the header from @p file, written by fl_migration_backup(). */
int fl_migration_restore(struct fl_migration *m, const char *file);

struct fl_pbkdf2 {
    const char *hash;
    uint32_t iterations;
};

/**
 * Convert keyslot @p slot, which @p secret opens, to PBKDF2 with @p kdf; keep its id, priority
 * and tokens; verify the new keyslot opens with @p secret. With @p in_place the keyslot is
 * overwritten where it is (only when there is no room; a crash then loses it: have a backup).
 * @return 0, -ENOSPC (no room and not @p in_place), -EPERM (secret does not open it),
 *         -EIO (the new keyslot does not verify), -errno.
 */
int fl_migration_convert(struct fl_migration *m, int slot, const struct fl_secret *secret,
                         const struct fl_pbkdf2 *kdf, bool in_place);

/**
 * Finish or roll back an interrupted conversion, with the secret of the journalled keyslot:
 * - the journalled keyslot opens with @p secret: destroy the keyslots the conversion added (the new
 *   one before the swap, the old one after it);
 * - it does not, but an added keyslot does (the old area was wiped before the swap was committed):
 *   rebuild the keyslot under its own number from that copy, as PBKDF2 with @p kdf, then destroy
 *   the rest.
 * Then restore the priority and remove the journal. Every step is itself a LUKS2 commit, so a crash
 * during recovery leaves a state recovery handles.
 * @return 0, -EPERM (no keyslot opens with @p secret: nothing touched), -errno.
 */
int fl_migration_recover(struct fl_migration *m, const struct fl_journal *j, const struct fl_secret *secret,
                         const struct fl_pbkdf2 *kdf);

/** The keyslots a journal's conversion added (candidates for its secret). @return how many. */
size_t fl_journal_added(const struct fl_migration *m, const struct fl_journal *j, int *slots);

/** Size of the volume key in bytes (what a new keyslot's PBKDF2 derives). */
size_t fl_migration_key_size(const struct fl_migration *m);

#endif
