/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file luks1.h
 * Converting a LUKS1 volume to LUKS2 in place, after a header backup, and nothing else.
 *
 * LUKS1 keeps one header copy and one header-wide hash; LUKS2 keeps two copies and per-keyslot
 * parameters, so only a LUKS2 volume can have its keyslots re-wrapped one by one (fipsluks migrate)
 * or be re-encrypted resumably (fipsluks reencrypt). The conversion keeps the volume key, the data,
 * the UUID, every keyslot (as LUKS2 keyslots with the same PBKDF2 hash and iterations) and the
 * digest: a non-approved LUKS1 hash stays non-approved until the volume is re-encrypted.
 */
#ifndef FIPSLUKS_LUKS1_H
#define FIPSLUKS_LUKS1_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "fipsluks/backup.h"
#include "fipsluks/migrate.h"
#include "fipsluks/why.h"

/** What fl_luks1_convert() or fl_luks1_recover() did, for messages. */
struct fl_luks1_result {
    char backup[PATH_MAX]; /**< the LUKS1 header backup written, reused or put back ("" when none) */
    struct fl_why why;     /**< with -EBUSY: what uses the device; from fl_luks1_recover(): what was found */
    bool restored;         /**< fl_luks1_recover(): the LUKS1 header was put back from @p backup */
    bool luks2;            /**< fl_luks1_convert(): refused (-EINVAL), the volume is LUKS2 already */
    bool wrote;            /**< fl_luks1_recover(): the device was written (also when that then failed) */
};

/**
 * Convert the LUKS1 volume @p path (with its detached header @p header, or NULL) to LUKS2.
 *
 *  1. Refuses a device or image in use (mounted, held by device-mapper, swap, backing a loop device
 *     in use, opened exclusively): -EBUSY, with the reason in @p res->why.
 *  2. Loads the header: -EMEDIUMTYPE when it is not LUKS, -EINVAL with @p res->luks2 when it is
 *     LUKS2 already (nothing to convert).
 *  3. Writes a header backup of the whole LUKS1 header region (up to the data offset) to @p backup,
 *     or, with @p backup NULL, to a new file in @p backup_dir (NULL: $FIPSLUKS_BACKUP_DIR, else
 *     FL_DEFAULT_BACKUP_DIR). Never overwrites a file (-EEXIST); fsynced before the conversion.
 *     A backup that already holds exactly these bytes (@p backup, or a backup of this UUID in the
 *     backup directory, left by a run cut short or put back by fl_luks1_recover()) is used instead
 *     of a new one, after another fsync.
 *  4. crypt_convert() to LUKS2. It refuses what cannot be converted (keyslot areas that cannot be
 *     moved to make room for the LUKS2 metadata, an active device): its errno is returned (mostly
 *     -EINVAL) and libcryptsetup's log says why. If it fails after writing, so that the LUKS1 header
 *     no longer loads, the header is restored from the backup.
 *
 * Killed during step 4, the volume opens with no secret until fl_luks1_recover() puts the backup back:
 * call that first.
 *
 * @return 0 (now LUKS2), or -errno as above, -ENOENT, -EACCES, -ENOMEM, -EIO.
 */
int fl_luks1_convert(const char *path, const char *header, const char *backup, const char *backup_dir,
                     struct fl_luks1_result *res);

/**
 * Whether each of @p secrets opens a keyslot of the LUKS1 volume @p path (with @p header): checked
 * before fl_luks1_convert(), which rewrites the header, so that a volume no given secret opens is
 * left exactly as it is.
 * @return 0; -EPERM with the index of the first secret that opens none in @p ret_failed; -EMEDIUMTYPE
 *         when the header does not load as LUKS1; or libcryptsetup's -errno.
 */
int fl_luks1_check_secrets(const char *path, const char *header, const struct fl_secret_offer *secrets,
                           size_t n_secrets, int *ret_failed);

/**
 * Put back the LUKS1 header of a conversion by fl_luks1_convert() that was cut short (killed, power
 * lost) while crypt_convert() was moving the keyslot material or writing the LUKS2 header: a LUKS1
 * header whose keyslots no longer open, or a header that does not load at all.
 *
 * The backup is looked for as @p backup (the file the cut-short run was told to write), then among
 * the backups named for the device's UUID in @p backup_dir (as fl_luks1_convert()), newest first. It
 * is written back only when proven (see luks1.c): a LUKS1 header with the device's UUID and a data
 * offset that fits the device, whose header region the device holds part-way through crypt_convert(),
 * and which one of @p secrets opens as a detached header of the device. It is then written over the
 * header region (the LUKS1 header first, then the keyslot material, each synced) and the secret must
 * open the device. A header that loads as LUKS2, or one that matches no backup, is left alone.
 *
 * @return 0: nothing to put back (nothing written); 1: put back from @p res->backup (@p res->restored):
 *         convert again; -EPERM: a backup matches a conversion cut short but no secret (or none given)
 *         opens it: nothing written, @p res->why says what was found, names the backup and the
 *         cryptsetup luksHeaderRestore command; -EBUSY (in use, @p res->why); -EIO and other -errno
 *         when writing it back failed (@p res->wrote, @p res->why); -ENOMEM.
 */
int fl_luks1_recover(const char *path, const char *header, const struct fl_secret_offer *secrets,
                     size_t n_secrets, const char *backup, const char *backup_dir,
                     struct fl_luks1_result *res);

#endif
