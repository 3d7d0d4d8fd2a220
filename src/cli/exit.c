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
    case EINTR: /* interrupted before anything was written */
        return FL_EXIT_INCOMPLETE;
    case EXFULL:    /* migrate: no room for a crash-safe conversion */
    case ENOTSUP:   /* migrate: argon2 cannot be computed on this FIPS host */
    case ECANCELED: /* the operator did not confirm */
    case EINVAL:
    default:
        return FL_EXIT_USAGE;
    }
}

const char *fl_exit_meaning(int exit_code)
{
    switch (exit_code) {
    case FL_EXIT_OK:
        return "success";
    case FL_EXIT_USAGE:
        return "wrong or missing parameters";
    case FL_EXIT_PERMISSION:
        return "no permission or bad passphrase";
    case FL_EXIT_NOMEM:
        return "out of memory";
    case FL_EXIT_DEVICE:
        return "a device or file could not be read or written";
    case FL_EXIT_BUSY:
        return "device busy or already exists";
    case FL_EXIT_INCOMPATIBLE:
        return "not FIPS-compatible, or not FIPS-ready";
    case FL_EXIT_INCOMPLETE:
        return "incomplete: keyslots still need migration";
    default:
        return "unknown error";
    }
}
