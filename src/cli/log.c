/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Messages on standard error: the CLI's own errors and warnings, and libcryptsetup's.
 *
 * An error is reported once, where it is handled: `return fl_log_error_errno(r, "cannot ...: %m")`.
 * Every message is escaped (fl_fputs_escaped()): a path or a header string cannot start a terminal
 * escape or a line of its own.
 *
 * The CLI reports errors in its own words, so libcryptsetup's are shown only with -v/--verbose (as
 * cryptsetup shows them) and its debug log only with --debug, on standard error (standard output
 * carries reports and JSON). libcryptsetup never logs secrets.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libcryptsetup.h>

#include "cli.h"

static char last_error[512];

/* @p prefix, then @p fmt escaped (with errno set to -@p err for %m), then a newline. errno is left as it was.
 */
static void vlog(const char *prefix, int err, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void vlog(const char *prefix, int err, const char *fmt, va_list ap)
{
    int saved = errno;

    fputs(prefix, stderr);
    errno = err < 0 ? -err : saved;
    if (fl_vfprintf_escaped(stderr, fmt, ap) < 0)
        fl_fputs_escaped(fmt, stderr); /* out of memory: the words at least */
    fputc('\n', stderr);
    errno = saved;
}

int fl_log_error_errno(int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog("fipsluks: ", r, fmt, ap);
    va_end(ap);
    return r;
}

void fl_log_warning(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog("fipsluks: warning: ", 0, fmt, ap);
    va_end(ap);
}

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
