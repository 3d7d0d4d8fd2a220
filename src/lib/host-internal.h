/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal helpers of the host checks (host.c, openssl-conf.c, openssl-probe.c, sshd.c). */
#ifndef FL_LIB_HOST_INTERNAL_H
#define FL_LIB_HOST_INTERNAL_H

#include <stddef.h>

#include "fipsluks/host.h"

/* Reset @p c to an empty check with @p id (a static string); status pass. */
void fl_check_init(struct fl_check *c, const char *id);
/* Set the status and the message (printf format). @return 0 or -ENOMEM. */
int fl_check_set(struct fl_check *c, enum fl_check_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append one evidence line. @return 0 or -ENOMEM. */
int fl_check_evidence(struct fl_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append one remedy line (skipped when the same line is already there). @return 0 or -ENOMEM. */
int fl_check_remedy(struct fl_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raise the status to @p status when it is worse than the current one (pass < warn < fail). */
void fl_check_worsen(struct fl_check *c, enum fl_check_status status);

/* True when @p root names a root other than "/" (NULL, "" and "/" mean the live system). */
int fl_root_set(const char *root);

/*
 * The path to open for @p path (absolute, as on the host) below @p root, with symbolic links
 * resolved inside @p root the way a chroot would (an absolute link target starts again at @p root;
 * ".." stops at it). Resolution stops at the first component that does not exist; the rest is
 * appended unchanged, so opening the result fails with ENOENT as it should. Without a root, a copy.
 * @return 0 or -ENOMEM, -ELOOP (too many links).
 */
int fl_root_path(const char *root, const char *path, char **ret);

/*
 * Read a whole text file (at most @p max bytes; more is -EFBIG) into a NUL-terminated buffer.
 * @return 0 or -errno.
 */
int fl_read_text(const char *path, size_t max, char **ret);

/* Read @p path below @p root with fl_root_path() and fl_read_text(). @return 0 or -errno. */
int fl_root_read_text(const char *root, const char *path, size_t max, char **ret);

/* Whether @p path below @p root exists (following links inside the root). @return 1, 0, or -errno. */
int fl_root_exists(const char *root, const char *path);

#endif
