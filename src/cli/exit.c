/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one place where errors become exit codes (documented in fipsluks(8)). */
#include <errno.h>

#include "cli.h"

int fl_exit_code(int r)
{
    if (r >= 0)
        return r;
    switch (-r) {
    case EPERM:
    case EACCES:
        return FL_EXIT_PERMISSION;
    case ENOMEM:
        return FL_EXIT_NOMEM;
    case ENOENT:
    case ENODEV:
    case ENXIO:
    case ENOTBLK:
    case EIO:
    case ENOSPC:
    case EROFS:
    case EMEDIUMTYPE:
    case EUCLEAN:
    case EREMOTEIO: /* on a pseudo file system (proc, sysfs): never read */
    case EPROTO: /* format: the new volume failed its check (and was restored) */
        return FL_EXIT_DEVICE;
    case EBUSY:
    case EEXIST:
        return FL_EXIT_BUSY;
    case EINTR:
        return FL_EXIT_INCOMPLETE;
    default:
        return FL_EXIT_USAGE;
    }
}
