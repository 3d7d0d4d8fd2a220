/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file backup.h
 * Header backups (backup.c): where they go, writing them safely, and whether a backup would land on
 * the volume it backs up. Used by migrate, reencrypt and the LUKS1 conversion before their first write.
 */
#ifndef FIPSLUKS_BACKUP_H
#define FIPSLUKS_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Where header backups go unless told otherwise (FIPSLUKS_BACKUP_DIR overrides it). */
#define FL_DEFAULT_BACKUP_DIR "/var/lib/fipsluks/backup"

/**
 * A new, unused path for a header backup of a volume with @p uuid in @p dir:
 * DIR/UUID-YYYYMMDDTHHMMSSZ[-N].luksheader. The UUID is used only when it is a well-formed UUID
 * ("volume" otherwise), so header content never becomes part of a path.
 * @return 0, or -ENAMETOOLONG.
 */
int fl_backup_path(const char *dir, const char *uuid, long long now, unsigned n, char *buf, size_t size);

/** Whether @p s is a well-formed UUID (8-4-4-4-12 hex digits). Pure. */
bool fl_uuid_valid(const char *s);

/**
 * Copy @p bytes of the header device @p fd to the new file @p path (O_EXCL, mode 0600 set on the
 * descriptor, fsynced with its directory). A partial file is removed. On success @p ret_fd is the
 * backup, open for reading (restore from it, not from a path that may have changed since).
 * @return 0 or -errno (-EEXIST when @p path exists, -ENOSPC).
 */
int fl_backup_write(int fd, uint64_t bytes, const char *path, int *ret_fd);

/**
 * Write a header backup of @p bytes of the header device @p fd (as fl_backup_write()) to @p path, or,
 * when @p path is NULL, to a new file named by fl_backup_path() in @p dir (NULL: $FIPSLUKS_BACKUP_DIR,
 * else FL_DEFAULT_BACKUP_DIR, created with mode 0700). The path used is copied to @p ret_path.
 * @return 0 or -errno (-EEXIST when @p path exists, -ENAMETOOLONG, -ENOSPC, …).
 */
int fl_backup_header(int fd, uint64_t bytes, const char *uuid, const char *path, const char *dir,
                     char *ret_path, size_t size, int *ret_fd);

/**
 * Whether the file system holding @p path lives on block device @p dev (directly, or through
 * device-mapper/MD layers: /sys/dev/block/MAJ:MIN/slaves, read below @p sysroot).
 * @return 1 if so, 0 if not, -errno.
 */
int fl_path_on_device(const char *sysroot, const char *path, dev_t dev);

/** Whether block device @p outer is @p dev or is stacked on it (see fl_path_on_device()). @return 1 or 0. */
int fl_dev_stacked_on(const char *sysroot, dev_t outer, dev_t dev);

#endif
