/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Key files as every verb reads them, and the one wording of what is worth a warning about a secret. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fipsluks/secret.h"
#include "cli.h"

void fl_warn_short_secret(const struct fl_secret *s, const char *source)
{
    if (!fl_secret_short(s))
        return;
    fl_log_warning("the passphrase is %zu byte%s long (%s): Red Hat's FIPS OpenSSL (RHEL 9 and 10) refuses "
                   "PBKDF2 passphrases shorter than %u bytes, so such a host may not open this volume",
                   s->len, s->len == 1 ? "" : "s", source, FL_SECRET_MIN_PASSPHRASE);
}

int fl_read_key_file(const char *path, uint64_t offset, uint64_t size, struct fl_secret **ret)
{
    unsigned notes = 0;
    int r;

    r = fl_secret_read_key_file(path, offset, size, ret, &notes);
    if (r < 0)
        return r;
    if (notes & FL_KEY_FILE_EXPOSED)
        fl_log_warning("key file '%s' can be read by group or others; chmod 0400 it", path);
    if (notes & FL_KEY_FILE_SHORT) {
        if (!strcmp(path, "-")) {
            fl_warn_short_secret(*ret, "standard input");
        } else {
            char source[64 + 16];
            /* a long name is cut short: the warning is about the length of the secret */
            snprintf(source, sizeof(source), "key file '%.64s'", path);
            fl_warn_short_secret(*ret, source);
        }
    }
    return 0;
}

int fl_key_file_error(int r, const char *path, struct fl_why *why)
{
    if (r == -EINVAL)
        return fl_why_set(
            why, r, "key file '%s' is empty or shorter than --keyfile-offset/--keyfile-size ask for", path);
    return fl_why_set(why, r, "cannot read key file '%s': %s", path, strerror(-r));
}

int fl_read_key_files(const struct fl_args *a, struct fl_secret **secrets, size_t max, size_t *n,
                      struct fl_why *why)
{
    char *const *files = fl_arg_list(a, FL_OPT_KEY_FILE);
    uint64_t offset = a->num[FL_OPT_KEYFILE_OFFSET], size = a->num[FL_OPT_KEYFILE_SIZE];

    for (size_t k = 0; files && files[k]; k++) {
        int r;

        if (*n == max)
            return fl_why_set(why, -EINVAL, "at most %zu key files", max);
        r = fl_read_key_file(files[k], offset, size, &secrets[*n]);
        if (r < 0)
            return fl_key_file_error(r, files[k], why);
        (*n)++;
    }
    return 0;
}
