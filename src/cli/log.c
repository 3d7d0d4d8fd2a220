/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcryptsetup's own messages. The CLI reports errors in its own words, so libcryptsetup's are
 * shown only with -v/--verbose (as cryptsetup shows them) and its debug log only with --debug, on
 * standard error (standard output carries reports and JSON). libcryptsetup never logs secrets.
 */
#include <stdio.h>
#include <string.h>

#include <libcryptsetup.h>

#include "cli.h"

static char last_error[512];

/* @p msg on stderr, each line prefixed with @p prefix, ending in a newline. */
static void print_prefixed(const char *prefix, const char *msg)
{
    const char *p = msg;

    while (*p) {
        size_t n = strcspn(p, "\n");
        fprintf(stderr, "%s%.*s\n", prefix, (int)n, p);
        p += n;
        if (*p == '\n')
            p++;
    }
}

void fl_cryptsetup_log(int level, const char *msg, void *usrptr)
{
    size_t n;

    if (!msg)
        return;
    if (level == CRYPT_LOG_DEBUG || level == CRYPT_LOG_DEBUG_JSON) {
        if (fl_opts.debug)
            print_prefixed("# ", msg);
        return;
    }
    if (level == CRYPT_LOG_ERROR) {
        snprintf(last_error, sizeof(last_error), "%s", msg);
        n = strlen(last_error);
        while (n > 0 && last_error[n - 1] == '\n')
            last_error[--n] = '\0';
    }
    if (fl_opts.verbose)
        print_prefixed("", msg);
}

const char *fl_cryptsetup_last_error(void)
{
    return last_error;
}

void fl_log_status(int exit_code)
{
    if (!fl_opts.verbose)
        return;
    if (exit_code == FL_EXIT_OK)
        fprintf(stderr, "Command successful.\n");
    else
        fprintf(stderr, "Command failed with code %d (%s).\n", exit_code, fl_exit_meaning(exit_code));
}
