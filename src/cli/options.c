/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Option parsing shared by the verbs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

int fl_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fipsluks %s: ", verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'fipsluks %s --help'.\n", verb);
    return -EINVAL;
}

int fl_popt_parse(poptContext ctx)
{
    int rc;

    while ((rc = poptGetNextOpt(ctx)) > 0)
        ;
    if (rc < -1) {
        fprintf(stderr, "fipsluks: %s: %s\nTry 'fipsluks --help'.\n", poptBadOption(ctx, POPT_BADOPTION_NOALIAS),
                poptStrerror(rc));
        return -EINVAL;
    }
    return 0;
}
