/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fipsluks: dispatch through the verb table (fl_verbs[], options.c). Everything a verb does lives in its own
 * file. */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <libcryptsetup.h>

#include "cli.h"

/* "fipsluks --help": the verbs and the common options (those every verb takes), from their tables
 * (options.c). */
static void usage(FILE *f)
{
    fprintf(f, "Usage: fipsluks [--version] [--help] VERB [OPTION...] [ARGS]\n"
               "       fipsluks help [VERB]\n\nVerbs:\n");
    for (int i = 0; i < FL_VERB_COUNT; i++)
        fprintf(f, "  %-10s %s\n", fl_verbs[i].name, fl_verbs[i].summary);
    fprintf(f, "\nOptions of every verb:\n");
    for (int i = 0; i < FL_OPT_COUNT; i++) {
        const struct fl_option *o = &fl_option_table[i];
        char name[40];

        if (o->group != FL_GROUP_COMMON)
            continue;
        snprintf(name, sizeof(name), "%c%c%s--%s", o->short_name ? '-' : ' ',
                 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name);
        fprintf(f, "  %-14s %s\n", name, o->help);
    }
    fprintf(f, "\n'fipsluks help VERB' or 'fipsluks VERB --help' lists a verb's options; man fipsluks(8) has "
               "the details.\n");
}

/* Run @p verb with @p argv[0] replaced by "fipsluks VERB" (popt's usage line names argv[0]). */
static int run_verb(const struct fl_verb *verb, int argc, const char **argv)
{
    char name[64];
    const char **vargv = calloc((size_t)argc + 1, sizeof(*vargv));
    int r;

    if (!vargv) {
        fl_log_error_errno(-ENOMEM, "cannot start: %m");
        return FL_EXIT_NOMEM;
    }
    snprintf(name, sizeof(name), "fipsluks %s", verb->name);
    vargv[0] = name;
    for (int i = 1; i < argc; i++)
        vargv[i] = argv[i];
    r = fl_exit_code(verb->run(argc, vargv));
    free(vargv);
    fl_log_status(r);
    return r;
}

/*
 * Passphrases and volume keys pass through this process: no core dump may hold them, and no other
 * process of the same user may read them (ptrace, /proc/PID/mem). Before any verb runs.
 */
static void protect_secrets(void)
{
    const struct rlimit none = {0, 0};

    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)setrlimit(RLIMIT_CORE, &none);
}

int main(int argc, const char **argv)
{
    const struct fl_verb *verb;

    protect_secrets();
    setlocale(LC_ALL, "");
    crypt_set_log_callback(NULL, fl_cryptsetup_log, NULL);
    fl_opts.argc = argc;
    fl_opts.argv = argv;

    if (argc < 2) {
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || (!strcmp(argv[1], "help") && argc == 2)) {
        usage(stdout);
        return FL_EXIT_OK;
    }
    if (!strcmp(argv[1], "help")) {
        /* "fipsluks help VERB" is "fipsluks VERB --help". */
        const char *help_argv[] = {argv[2], "--help", NULL};

        verb = fl_verb_by_name(argv[2]);
        if (!verb || argc > 3) {
            if (argc > 3)
                fl_log_error_errno(0, "help takes one VERB; try 'fipsluks --help'");
            else
                fl_log_error_errno(0, "unknown verb '%s'; try 'fipsluks --help'", argv[2]);
            return FL_EXIT_USAGE;
        }
        return run_verb(verb, 2, help_argv);
    }
    if (!strcmp(argv[1], "__complete") && argc == 2) { /* hidden: for the bash completion */
        fl_options_complete(stdout);
        return fflush(stdout) == EOF ? FL_EXIT_DEVICE : FL_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("fipsluks %s\n", FL_VERSION);
        return FL_EXIT_OK;
    }
    verb = fl_verb_by_name(argv[1]);
    if (verb)
        return run_verb(verb, argc - 1, argv + 1);

    fl_log_error_errno(0, "unknown verb '%s'; try 'fipsluks --help'", argv[1]);
    return FL_EXIT_USAGE;
}
