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

/** What fl_luks1_convert() did, for messages. */
struct fl_luks1_result {
    char backup[PATH_MAX]; /**< the header backup written ("" when none was written) */
    char why[256];         /**< with -EBUSY: what uses the device */
};

/**
 * Convert the LUKS1 volume @p path (with its detached header @p header, or NULL) to LUKS2.
 *
 *  1. Refuses a device or image in use (mounted, held by device-mapper, swap, backing a loop device
 *     in use, opened exclusively): -EBUSY, with the reason in @p res->why.
 *  2. Loads the header: -EMEDIUMTYPE when it is not LUKS, -EALREADY when it is LUKS2 already.
 *  3. Writes a header backup of the whole LUKS1 header region (up to the data offset) to @p backup,
 *     or, with @p backup NULL, to a new file in @p backup_dir (NULL: $FIPSLUKS_BACKUP_DIR, else
 *     FL_DEFAULT_BACKUP_DIR). Never overwrites a file (-EEXIST); fsynced before the conversion.
 *  4. crypt_convert() to LUKS2. It refuses what cannot be converted (keyslot areas that cannot be
 *     moved to make room for the LUKS2 metadata, an active device): its errno is returned (mostly
 *     -EINVAL) and libcryptsetup's log says why. If it fails after writing, so that the LUKS1 header
 *     no longer loads, the header is restored from the backup.
 *
 * @return 0 (now LUKS2), or -errno as above, -ENOENT, -EACCES, -ENOMEM, -EIO.
 */
int fl_luks1_convert(const char *path, const char *header, const char *backup, const char *backup_dir,
                     struct fl_luks1_result *res);

#endif
