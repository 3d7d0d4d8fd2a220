/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fipsluks: the verb table and dispatch. Everything a verb does lives in its own file. */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <libcryptsetup.h>

#include "cli.h"

static const struct fl_verb verbs[] = {
    {"scan", "report which LUKS keyslots and parameters a FIPS host refuses", verb_scan},
    {"check", "check that this host is FIPS-ready: kernel, OpenSSL, libcryptsetup, sshd, LUKS", verb_check},
    {"format", "create a LUKS2 volume that a FIPS host opens (PBKDF2, AES)", verb_format},
    {"migrate", "convert keyslots a FIPS host refuses to PBKDF2, crash-safely", verb_migrate},
    {"reencrypt", "re-encrypt offline to AES-XTS with a new key, approved digest, PBKDF2 keyslots",
     verb_reencrypt},
    {"report", "merge scan output from many hosts into a fleet summary", verb_report},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: fipsluks [--version] [--help] VERB [OPTION...] [ARGS]\n"
               "       fipsluks help [VERB]\n\nVerbs:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\nOptions of every verb:\n"
               "  -v, --verbose  libcryptsetup's messages and a final status line on standard error\n"
               "      --debug    libcryptsetup's debug log on standard error (never secrets)\n"
               "\n'fipsluks help VERB' or 'fipsluks VERB --help' lists a verb's options; man fipsluks(8) has "
               "the details.\n");
}

static const struct fl_verb *find_verb(const char *name)
{
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(name, verbs[i].name))
            return &verbs[i];
    return NULL;
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

        verb = find_verb(argv[2]);
        if (!verb || argc > 3) {
            if (argc > 3)
                fl_log_error_errno(0, "help takes one VERB; try 'fipsluks --help'");
            else
                fl_log_error_errno(0, "unknown verb '%s'; try 'fipsluks --help'", argv[2]);
            return FL_EXIT_USAGE;
        }
        return run_verb(verb, 2, help_argv);
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("fipsluks %s\n", FL_VERSION);
        return FL_EXIT_OK;
    }
    verb = find_verb(argv[1]);
    if (verb)
        return run_verb(verb, argc - 1, argv + 1);

    fl_log_error_errno(0, "unknown verb '%s'; try 'fipsluks --help'", argv[1]);
    return FL_EXIT_USAGE;
}
