/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal to the format modules: the target opened once (format-safety.c), used by format.c. */
#ifndef FL_LIB_FORMAT_TARGET_H
#define FL_LIB_FORMAT_TARGET_H

#include <sys/stat.h>

#include "fipsluks/format.h"

struct fl_format_target {
    int fd;         /* O_RDWR; a block device also O_EXCL. Every read and write goes through it. */
    struct stat st; /* fstat() of fd when it was opened */
    char *path;     /* as given, for messages only: never opened again */
};

/* Whether the open target is in use now (as fl_format_check_busy(), without opening anything of it). */
int fl_format_target_busy(const struct fl_format_target *t, struct fl_why *why);

#endif
