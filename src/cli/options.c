/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Option parsing shared by the verbs: the common options, popt contexts, usage errors. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcryptsetup.h>

#include "fipsluks/util.h"
#include "cli.h"

struct fl_common_opts fl_opts = {.tries = FL_TRIES_DEFAULT};

/* -T/--tries N: strictly a number from 1 to FL_TRIES_MAX; a bad value is reported after parsing. */
static void tries_callback(poptContext ctx, enum poptCallbackReason reason, const struct poptOption *opt,
                           const char *arg, const void *data)
{
    uint64_t v;

    if (reason != POPT_CALLBACK_REASON_OPTION || !arg)
        return;
    if (fl_parse_u64(arg, &v) < 0 || v < 1 || v > FL_TRIES_MAX) {
        snprintf(fl_opts.bad_tries, sizeof(fl_opts.bad_tries), "%s", arg);
        fl_opts.tries_bad = true;
        return;
    }
    fl_opts.tries_bad = false;
    fl_opts.tries = (unsigned)v;
}

struct poptOption fl_common_options[] = {
    {"verbose", 'v', POPT_ARG_NONE, &fl_opts.verbose, 0,
     "Show libcryptsetup's messages and a final status line on standard error", NULL},
    {"debug", 0, POPT_ARG_NONE, &fl_opts.debug, 0,
     "Show libcryptsetup's debug log on standard error (never secrets)", NULL},
    POPT_TABLEEND,
};

struct poptOption fl_ask_options[] = {
    {NULL, 0, POPT_ARG_CALLBACK, (void *)tries_callback, 0, NULL, NULL},
    {"batch", 'q', POPT_ARG_NONE, &fl_opts.batch, 0, "Do not ask for confirmation", NULL},
    {"batch-mode", 0, POPT_ARG_NONE, &fl_opts.batch, 0, "Same as --batch (cryptsetup's name)", NULL},
    {"tries", 'T', POPT_ARG_STRING, NULL, 0, "Ask for a passphrase at most N times (default 3, 1-100)", "N"},
    POPT_TABLEEND,
};

poptContext fl_popt_context(const char *verb, int argc, const char **argv, const struct poptOption *options,
                            const char *args)
{
    /* popt's usage line names argv[0], which the dispatcher made "fipsluks VERB". */
    poptContext ctx = poptGetContext(argv[0], argc, argv, options, 0);
    char *help = NULL;

    /* The arguments replace popt's "[OPTION...]" in that line: keep it in front of them. */
    if (ctx && asprintf(&help, "[OPTION...] %s", args) >= 0) {
        poptSetOtherOptionHelp(ctx, help);
        free(help);
    }
    return ctx;
}

int fl_usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "fipsluks %s: ", verb);
    va_start(ap, fmt);
    if (fl_vfprintf_escaped(stderr, fmt, ap) < 0) /* option values are the operator's bytes */
        fl_fputs_escaped(fmt, stderr);
    va_end(ap);
    fprintf(stderr, "\nTry 'fipsluks %s --help'.\n", verb);
    return -EINVAL;
}

/* The first line of a --debug log, as cryptsetup writes it: the whole command line (never a secret:
 * secrets are never on the command line). */
static void debug_header(void)
{
    fprintf(stderr, "# fipsluks %s processing \"", FL_VERSION);
    for (int i = 0; i < fl_opts.argc; i++) {
        if (i)
            fputc(' ', stderr);
        fl_fputs_escaped(i == 0 ? "fipsluks" : fl_opts.argv[i], stderr);
    }
    fprintf(stderr, "\"\n");
}

int fl_popt_finish(poptContext ctx, const char *verb, int rc)
{
    if (rc < -1) {
        fprintf(stderr, "fipsluks %s: ", verb);
        fl_fputs_escaped(poptBadOption(ctx, POPT_BADOPTION_NOALIAS), stderr);
        fprintf(stderr, ": %s\nTry 'fipsluks %s --help'.\n", poptStrerror(rc), verb);
        return -EINVAL;
    }
    if (fl_opts.tries_bad)
        return fl_usage_error(verb, "--tries '%s': not a number from 1 to %d", fl_opts.bad_tries,
                              FL_TRIES_MAX);
    if (fl_opts.debug) {
        fl_opts.verbose = 1; /* as cryptsetup: --debug implies --verbose */
        crypt_set_debug_level(CRYPT_DEBUG_ALL);
        debug_header();
    }
    return 0;
}

int fl_popt_parse(poptContext ctx, const char *verb)
{
    int rc;

    while ((rc = poptGetNextOpt(ctx)) > 0)
        ;
    return fl_popt_finish(ctx, verb, rc);
}
