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

/** True when all @p len bytes of @p buf are zero. */
bool fl_all_zero(const void *buf, size_t len);

#endif
