/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The volume a verb is about to write (migrate, reencrypt): refused when it cannot be written, and
 * locked so that two fipsluks runs never work on one volume at once. One function for both verbs:
 * a migrate and a reencrypt of the same volume exclude each other, in both directions.
 */
#ifndef FL_LIB_TARGET_H
#define FL_LIB_TARGET_H

#include <stdbool.h>
#include <stdint.h>

enum fl_target_mode {
    FL_TARGET_READ, /* look only: open read-only, a shared lock (migrate --dry-run) */
    FL_TARGET_PLAN, /* a dry run of a write: open read-only, a shared lock, but refuse what a write refuses */
    FL_TARGET_WRITE, /* open read-write, an exclusive lock */
};

/*
 * Open @p dev (the header device: the image, the block device or the detached header) and lock it
 * with an OFD lock on the whole file (libcryptsetup's own flock() does not conflict with it). Except
 * in FL_TARGET_READ, a target that cannot be written is refused first (fl_target_writable()).
 * @return the open, locked descriptor (the lock lasts until it is closed), or -EROFS, -EBUSY (another
 *         migrate or reencrypt holds the lock), -errno of open() (-ENOENT, -EACCES, -EISDIR, ...).
 */
int fl_target_lock(const char *dev, enum fl_target_mode mode);

/*
 * Whether @p fd can be written, asking without writing: a read-only block device
 * (BLKROGET: losetup -r, write-protected media), an immutable or append-only file (FS_IOC_GETFLAGS:
 * chattr +i / +a), a read-only mount. @return 0, -EROFS, or -errno.
 */
int fl_target_writable(int fd);

/*
 * Room for rewriting every byte of image @p path: a sparse image grows by its holes, and a file
 * system that fills up midway leaves a reencryption stuck. Not a regular file: 0.
 * @return 0, or -ENOSPC with the bytes needed and free in *@p ret_need and *@p ret_free; -errno.
 */
int fl_target_room(const char *path, uint64_t *ret_need, uint64_t *ret_free);

/* Whether the file system holding @p path (a regular file) has no free block left now. */
bool fl_target_fs_full(const char *path);

#endif
