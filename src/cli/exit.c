/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one place where errors become exit codes (documented in fipsluks(8), EXIT STATUS).
 *
 * The library returns the errno that says what happened, and the verbs pass it on unchanged: no
 * verb rewrites an errno to steer its exit code. When one errno would have to mean two exit codes,
 * the library (or the prompt) returns a distinct errno for one of the situations instead:
 *   -EINTR      a stop signal (SIGINT, SIGTERM, SIGHUP) ended migrate or reencrypt: the same command
 *               continues (7); Ctrl-C at a question of a verb that cannot continue is -ECANCELED (1)
 *   -ECANCELED  the operator declined: did not confirm, Ctrl-C at format's prompts, keyslots would
 *               be dropped (1)
 *   -ENOTSUP    cannot be done on this host: argon2 on a FIPS libcryptsetup (migrate, also with
 *               --allow-non-fips-unlock once libcryptsetup runs in FIPS mode), a cipher or integrity
 *               reencrypt cannot handle (1)
 *   -EXFULL     no room in the header for a crash-safe conversion or the new keyslots (1)
 *   -EPROTO     a result that did not verify: format's new volume failed its check (the target was
 *               restored), migrate's new keyslot did not open (the header was restored), or a
 *               re-encrypted volume that did not prove (4); -EIO is a read or write error only
 *   -EUCLEAN    a damaged header, a journal that does not fit it, or format's target left damaged (4)
 *   -ENOKEY     a crypttab entry without a key file (2); -EREMOTE: its key file is on another device (4).
 *               migrate --crypttab reports both and skips the entry: exit 7 at the end
 * tests/unit/test_exit.c lists every errno the library returns, with its exit code.
 */
#include <errno.h>

#include "cli.h"

int fl_exit_code(int r)
{
    if (r >= 0)
        return r;
    switch (-r) {
    case EPERM:  /* a secret opens no keyslot; typed passphrases failed every try (or differ: format) */
    case EACCES: /* permission denied: the device, image, header or a key file */
    case ENOKEY: /* a crypttab entry names no key file (none, -) */
        return FL_EXIT_PERMISSION;
    case ENOMEM:
        return FL_EXIT_NOMEM;
    case ENOENT:  /* no such device, image or key file */
    case ENOTDIR: /* a path through something that is not a directory: no such file either */
    case ENODEV:
    case ENXIO:   /* no medium (an unbound loop device) */
    case ENOTBLK: /* not a block device or an image file: a FIFO, a device node, a file on proc or sysfs */
    case EISDIR:  /* a directory given as a device, image or key file */
    case ELOOP:   /* format: a symbolic link to a regular file (give the file's own path) */
    case EIO:
    case ENOSPC:      /* format: the target is too small; a full disk while writing a backup */
    case EROFS:       /* a read-only device, media, mount or immutable file */
    case EMEDIUMTYPE: /* not LUKS, or LUKS1 where LUKS2 is needed */
    case EUCLEAN:
    case EREMOTE: /* a crypttab key file on another device (PATH:DEVICE), not read */
    case EPROTO:
        return FL_EXIT_DEVICE;
    case EBUSY:  /* in use, locked by another migrate or reencryption */
    case EEXIST: /* a header backup or key file that would be overwritten; format: signatures */
        return FL_EXIT_BUSY;
    case EINTR:
        return FL_EXIT_INCOMPLETE;
    case ECANCELED:
    case ENOTSUP:
    case EXFULL:
    case EFBIG:        /* a key file or typed passphrase larger than a secret may be */
    case E2BIG:        /* more secrets than keyslots */
    case ENAMETOOLONG: /* a header backup path too long */
    case ENOTTY:       /* no terminal to ask on */
    case EINVAL:       /* a wrong parameter: options (migrate --key-slot N: no keyslot N), an empty or short
                          key file, a refused profile, a LUKS1 conversion of a LUKS2 volume */
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
        return "incomplete: interrupted, or work is left to do";
    default:
        return "unknown error";
    }
}
