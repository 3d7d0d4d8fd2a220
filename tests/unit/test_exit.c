/*
 * Unit tests: the one errno → exit code map (src/cli/exit.c), against the table in fipsluks(8).
 * Every errno the library (src/lib) or the CLI's own helpers return is listed here with the exit
 * code fipsluks(8) documents for it; tests/e2e/test-errors.sh checks that no errno used in src/lib
 * is missing from this list.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static const struct {
    int err;
    int code;
    const char *where; /* what returns it, for the failure message */
} errnos[] = {
    /* 2: no permission or bad passphrase */
    {EPERM, FL_EXIT_PERMISSION, "a secret opens no keyslot; typed passphrases failed or differ"},
    {EACCES, FL_EXIT_PERMISSION, "permission denied: device, header, key file"},
    {ENOKEY, FL_EXIT_PERMISSION, "crypttab.c: an entry without a key file"},
    /* 3: out of memory */
    {ENOMEM, FL_EXIT_NOMEM, "allocation"},
    /* 4: a device or file could not be read or written */
    {ENOENT, FL_EXIT_DEVICE, "no such device, image or key file"},
    {ENOTDIR, FL_EXIT_DEVICE, "a path through a non-directory"},
    {ENODEV, FL_EXIT_DEVICE, "no such device"},
    {ENXIO, FL_EXIT_DEVICE, "volume.c: no medium (unbound loop device)"},
    {ENOTBLK, FL_EXIT_DEVICE, "not a block device or image file (FIFO, device node, proc/sysfs file)"},
    {EISDIR, FL_EXIT_DEVICE, "a directory as device, image or key file"},
    {ELOOP, FL_EXIT_DEVICE, "format: a symbolic link to a regular file"},
    {EIO, FL_EXIT_DEVICE, "read or write error"},
    {ENOSPC, FL_EXIT_DEVICE, "format: target too small; disk full"},
    {EROFS, FL_EXIT_DEVICE, "migrate: read-only target"},
    {EMEDIUMTYPE, FL_EXIT_DEVICE, "not LUKS, or LUKS1"},
    {EUCLEAN, FL_EXIT_DEVICE, "damaged header; a journal that does not fit; format: target damaged"},
    {EREMOTE, FL_EXIT_DEVICE, "crypttab.c: a key file on another device"},
    {EPROTO, FL_EXIT_DEVICE,
     "a result that did not verify: format's new volume, migrate's new keyslot, reencrypt's data"},
    /* 5: busy or already exists */
    {EBUSY, FL_EXIT_BUSY, "in use; locked by another migrate or reencryption"},
    {EEXIST, FL_EXIT_BUSY, "header backup or key file exists; format: signatures"},
    /* 7: incomplete */
    {EINTR, FL_EXIT_INCOMPLETE, "migrate, reencrypt: stopped by a signal"},
    /* 1: wrong or missing parameters, refusals */
    {ECANCELED, FL_EXIT_USAGE, "the operator declined"},
    {ENOTSUP, FL_EXIT_USAGE, "cannot be computed or done on this host; --allow-non-fips-unlock in vain"},
    {EXFULL, FL_EXIT_USAGE, "no room for a crash-safe conversion or new keyslots"},
    {EFBIG, FL_EXIT_USAGE, "a key file or passphrase too large"},
    {E2BIG, FL_EXIT_USAGE, "more secrets than keyslots"},
    {ENAMETOOLONG, FL_EXIT_USAGE, "header backup path too long"},
    {ENOTTY, FL_EXIT_USAGE, "no terminal to ask on"},
    {EINVAL, FL_EXIT_USAGE,
     "a wrong parameter (migrate --key-slot N: no keyslot N); an empty or short key file; LUKS2 already"},
    {EOVERFLOW, FL_EXIT_USAGE, "identity: a time that cannot be written"},
    {ERANGE, FL_EXIT_USAGE, "util: a number out of range"},
    {EMLINK, FL_EXIT_USAGE, "check: too many links (recorded in the check, not an exit)"},
    {EAGAIN, FL_EXIT_USAGE, "volume.c: cannot happen"},
};

/* Every errno gets the exit code fipsluks(8) documents. */
static void test_every_errno(void **state)
{
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
        int code = fl_exit_code(-errnos[i].err);

        if (code != errnos[i].code)
            fail_msg("%s (%s): exit %d, documented %d", strerror(errnos[i].err), errnos[i].where, code,
                     errnos[i].code);
    }
}

/* An exit code a verb returns passes through; an errno nobody expected is a usage error (1). */
static void test_codes_pass_through(void **state)
{
    for (int code = FL_EXIT_OK; code <= FL_EXIT_INCOMPLETE; code++)
        assert_int_equal(fl_exit_code(code), code);
    assert_int_equal(fl_exit_code(-EDOM), FL_EXIT_USAGE);
    assert_int_equal(fl_exit_code(-4095), FL_EXIT_USAGE);
}

/* fl_exit_meaning() names every exit code (the -v status line), and no other. */
static void test_meanings(void **state)
{
    const char *unknown = fl_exit_meaning(-1);

    assert_string_equal(unknown, "unknown error");
    assert_string_equal(fl_exit_meaning(FL_EXIT_INCOMPLETE + 1), unknown);
    for (int code = FL_EXIT_OK; code <= FL_EXIT_INCOMPLETE; code++) {
        assert_string_not_equal(fl_exit_meaning(code), unknown);
        for (int other = FL_EXIT_OK; other < code; other++)
            assert_string_not_equal(fl_exit_meaning(code), fl_exit_meaning(other));
    }
    for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
        assert_string_not_equal(fl_exit_meaning(fl_exit_code(-errnos[i].err)), unknown);
    assert_string_equal(fl_exit_meaning(FL_EXIT_PERMISSION), "no permission or bad passphrase");
    assert_string_equal(fl_exit_meaning(FL_EXIT_DEVICE), "a device or file could not be read or written");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_errno),
        cmocka_unit_test(test_codes_pass_through),
        cmocka_unit_test(test_meanings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
