/* SPDX-License-Identifier: LGPL-2.1-or-later */
/** @file util.h Small helpers shared by the core library and the command line. */
#ifndef FIPSLUKS_UTIL_H
#define FIPSLUKS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * Parse a decimal unsigned 64-bit number strictly: digits only, no sign, no spaces, no trailing
 * characters, no overflow. @return 0 or -EINVAL / -ERANGE; @p ret is written only on success.
 */
int fl_parse_u64(const char *s, uint64_t *ret);

/** pread() until @p len bytes or end of file. @return bytes read, or a negative errno. */
ssize_t fl_pread_full(int fd, void *buf, size_t len, off_t off);

/** pwrite() all @p len bytes (a write of 0 bytes is -EIO). @return @p len, or a negative errno. */
ssize_t fl_pwrite_full(int fd, const void *buf, size_t len, off_t off);

/**
 * Create the new file @p path for writing: O_EXCL (an existing file or any symbolic link, dangling
 * or not, is refused), mode @p mode set on the descriptor whatever the umask.
 * @return the descriptor, or a negative errno (-EEXIST).
 */
int fl_create_new(const char *path, mode_t mode);

/** Make the directory entry of @p path durable: fsync() its directory. @return 0 or -errno. */
int fl_fsync_parent(const char *path);

/** Remove @p path only while it still names the file open as @p fd (never another file put there). */
void fl_unlink_own(const char *path, int fd);

/** True when all @p len bytes of @p buf are zero. */
bool fl_all_zero(const void *buf, size_t len);

#endif
