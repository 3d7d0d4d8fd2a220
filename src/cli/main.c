/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fipsluks: the verb table and dispatch. Everything a verb does lives in its own file. */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
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
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: fipsluks [--version] [--help] VERB [OPTIONS] [ARGS]\n\nVerbs:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\n'fipsluks VERB --help' lists a verb's options; man fipsluks(8) has the details.\n");
}

/* libcryptsetup prints its own errors unless told otherwise; the CLI reports errors itself. */
static void cryptsetup_log(int level, const char *msg, void *usrptr)
{
    if (level == CRYPT_LOG_DEBUG || level == CRYPT_LOG_DEBUG_JSON)
        fputs(msg, stderr);
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
    protect_secrets();
    setlocale(LC_ALL, "");
    crypt_set_log_callback(NULL, cryptsetup_log, NULL);

    if (argc < 2) {
        usage(stderr);
        return FL_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return FL_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("fipsluks %s\n", FL_VERSION);
        return FL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(argv[1], verbs[i].name))
            return fl_exit_code(verbs[i].run(argc - 1, argv + 1));

    fl_log_error(0, "unknown verb '%s'; try 'fipsluks --help'", argv[1]);
    return FL_EXIT_USAGE;
}
