/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What fl_reencrypt() asks before it writes anything, and what it tells a dry run: the refusals
 * (read-only, locked by another migrate or reencrypt, no room, a UUID libcryptsetup cannot lock), the
 * keyslot numbers the new keyslots will get, the data size and an estimate of the time.
 */
#ifndef FL_LIB_REENCRYPT_PLAN_H
#define FL_LIB_REENCRYPT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fipsluks/volume.h"
#include "fipsluks/why.h"

/*
 * Lock the header device of @p path (@p header, or @p path itself) as fl_target_lock() does (a dry run
 * with a shared lock, a run with an exclusive one), refuse a read-only data device (a detached header's
 * data device is checked too), and an image whose file system has no room for its holes.
 * @return the locked descriptor (the caller closes it), or -EROFS, -EBUSY, -ENOSPC (why in @p why),
 *         -errno of open().
 */
int fl_reencrypt_preflight(const char *path, const char *header, bool dry_run, struct fl_why *why);

/*
 * libcryptsetup names its reencryption lock after the header's UUID ("LUKS2-reencryption-UUID"): a
 * UUID that is not 8-4-4-4-12 hex digits (a crafted one with '/' or control bytes) makes the lock fail
 * after the reencryption was initialised, and the volume is stuck. @return 0, or -ENOTSUP (why in @p why).
 */
int fl_reencrypt_check_uuid(const struct fl_volume *v, struct fl_why *why);

/*
 * The ids libcryptsetup will give the @p n new keyslots (one per kept keyslot, in header order): the
 * lowest free id each, as crypt_keyslot_add_by_key(CRYPT_ANY_SLOT) picks it; the old keyslots still
 * exist while the data is re-encrypted, so no new keyslot can take an old one's number. Pure.
 * @return 0 with @p ret_new[0..n) filled, or -EXFULL (no free id for one of them).
 */
int fl_reencrypt_predict_ids(const struct fl_volume *v, size_t n, int *ret_new);

/* Bytes of data a reencryption of @p path rewrites (from @p offset to the end of the device), or 0. */
uint64_t fl_reencrypt_data_size(const char *path, uint64_t offset);

/*
 * An estimate of the reencryption rate of @p path, measured without writing: a sample of up to 8 MiB
 * read from @p offset (its page cache dropped first) and AES-XTS in memory, counted as libcryptsetup
 * spends them: each byte read and written (the write assumed as fast as the read), decrypted and
 * encrypted. The header writes between hotzones are not counted. @return 0 with bytes per second in
 * *@p ret_rate, or -EINVAL (no data after @p offset), -ENOTSUP (no AES-XTS here), -errno.
 */
int fl_reencrypt_measure(const char *path, uint64_t offset, uint64_t *ret_rate);

#endif
