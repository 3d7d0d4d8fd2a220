/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Options as data: one table of every option of every verb (names, argument, help, the verbs that
 * take it), from which each verb's popt table is built, and one parser and validator for them all.
 * As cryptsetup's src/cryptsetup_arg_list.h: a verb does not declare options, it reads them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libcryptsetup.h>

#include "fipsluks/backup.h"
#include "fipsluks/jobs.h"
#include "fipsluks/kdf.h"
#include "fipsluks/policy.h"
#include "fipsluks/secret.h"
#include "fipsluks/util.h"
#include "cli.h"

struct fl_common_opts fl_opts = {.tries = FL_TRIES_DEFAULT};

const struct fl_verb fl_verbs[FL_VERB_COUNT] = {
    [FL_VERB_SCAN] =
        {"scan", "report which LUKS keyslots and parameters a FIPS host refuses", verb_scan, "[PATH…]",
         "Common options (-v also lists what was skipped: no LUKS signature, pseudo file systems):"},
    [FL_VERB_CHECK] =
        {"check", "check that this host is FIPS-ready: kernel, OpenSSL, libcryptsetup, sshd, LUKS",
         verb_check,
         "[--json] [--root DIR] | --emit butane|ignition [--luks NAME:DEVICE[:KEYFILE[:LABEL]]]… "
         "[--sysext URL]",
         NULL},
    [FL_VERB_FORMAT] = {"format", "create a LUKS2 volume that a FIPS host opens (PBKDF2, AES)", verb_format,
                        "DEVICE|IMAGE", NULL},
    [FL_VERB_MIGRATE] = {"migrate", "convert keyslots a FIPS host refuses to PBKDF2, crash-safely",
                         verb_migrate, "DEVICE|IMAGE | --crypttab [--root DIR]", NULL},
    [FL_VERB_REENCRYPT] = {"reencrypt",
                           "re-encrypt offline to AES-XTS with a new key, approved digest, PBKDF2 keyslots",
                           verb_reencrypt, "DEVICE|IMAGE", NULL},
    [FL_VERB_REPORT] = {"report", "merge scan output from many hosts into a fleet summary", verb_report,
                        "FILE…|-", NULL},
};

const struct fl_verb *fl_verb_by_name(const char *name)
{
    for (int i = 0; name && i < FL_VERB_COUNT; i++)
        if (!strcmp(name, fl_verbs[i].name))
            return &fl_verbs[i];
    return NULL;
}

#define SCAN      FL_V(FL_VERB_SCAN)
#define CHECK     FL_V(FL_VERB_CHECK)
#define FORMAT    FL_V(FL_VERB_FORMAT)
#define MIGRATE   FL_V(FL_VERB_MIGRATE)
#define REENCRYPT FL_V(FL_VERB_REENCRYPT)
#define REPORT    FL_V(FL_VERB_REPORT)
#define EVERY     (FL_V(FL_VERB_COUNT) - 1)
#define ASKING    (FORMAT | MIGRATE | REENCRYPT) /* the verbs that ask questions */

/* Help texts too long for one line of an array of them (a string split there reads as a missing comma). */
static const char key_file_reencrypt[] =
    "Read a secret from FILE (\"-\": standard input); repeatable, one per "
    "keyslot";
static const char hash_reencrypt[] = "PBKDF2 hash of the new keyslots and digest: sha256 (default) or sha512";
static const char output_report[] =
    "The host table's columns, comma-separated (+COLS: added to the default); not with --json or "
    "--csv";
static const char dry_run_reencrypt[] =
    "Test every secret, print the plan and an estimate of the time; write "
    "nothing";

/* The fixed sets of values (fl_option.values). Verbs switch on fl_arg_choice(), in this order. */
static const char *const key_sizes[] = {"256", "512", NULL};
static const char *const ciphers[] = {"aes-xts-plain64", "aes-cbc-essiv:sha256", NULL};
static const char *const hashes[] = {"sha256", "sha512", NULL};
static const char *const pbkdfs[] = {"pbkdf2", NULL};
static const char *const types[] = {"luks2", NULL};
static const char *const resiliences[] = {"checksum", "journal", NULL}; /* handed to the library as named */
static const char *const verify_data[] = {
    [FL_VERIFY_DATA_SAMPLE] = "sample", [FL_VERIFY_DATA_FULL] = "full", NULL};
static const char *const emits[] = {[FL_EMIT_BUTANE] = "butane", [FL_EMIT_IGNITION] = "ignition", NULL};
static const char *const scan_formats[] = {[FL_SCAN_FORMAT_TEXT] = "text",
                                           [FL_SCAN_FORMAT_JSON] = "json",
                                           [FL_SCAN_FORMAT_JSON_LINES] = "json-lines",
                                           [FL_SCAN_FORMAT_PROMETHEUS] = "prometheus",
                                           NULL};
static const char *const check_formats[] = {[FL_CHECK_FORMAT_TEXT] = "text",
                                            [FL_CHECK_FORMAT_JSON] = "json",
                                            [FL_CHECK_FORMAT_PROMETHEUS] = "prometheus",
                                            NULL};

/* Where to add an option: a row here (and in enum fl_opt), see docs/ARCHITECTURE.md. */
const struct fl_option fl_option_table[FL_OPT_COUNT] = {
    [FL_OPT_KEY_FILE] = {"key-file", 'd', FL_ARG_STRING, "FILE", FL_GROUP_VERB, FORMAT | MIGRATE | REENCRYPT,
                         .repeatable = MIGRATE | REENCRYPT,
                         .help_for = {[FL_VERB_FORMAT] =
                                          "Read the passphrase from FILE ('-': standard input)",
                                      [FL_VERB_MIGRATE] =
                                          "Read a secret from FILE (\"-\": standard input); repeatable",
                                      [FL_VERB_REENCRYPT] = key_file_reencrypt}},
    [FL_OPT_KEYFILE_OFFSET] = {"keyfile-offset", 0, FL_ARG_NUMBER, "BYTES", FL_GROUP_VERB,
                               FORMAT | MIGRATE | REENCRYPT,
                               .help_for = {[FL_VERB_FORMAT] = "Skip BYTES of the key file",
                                            [FL_VERB_MIGRATE] = "Skip BYTES at the start of each key file",
                                            [FL_VERB_REENCRYPT] = "Skip BYTES at the start of each key file"},
                               .unit = "bytes", .min = 0, .max = UINT64_MAX},
    [FL_OPT_KEYFILE_SIZE] =
        {"keyfile-size", 'l', FL_ARG_NUMBER, "BYTES", FL_GROUP_VERB, FORMAT | MIGRATE | REENCRYPT,
         .help_for = {[FL_VERB_FORMAT] = "Read only BYTES of the key file (0: all of it)",
                      [FL_VERB_MIGRATE] = "Read only BYTES from each key file (0: all of it)",
                      [FL_VERB_REENCRYPT] = "Read only BYTES from each key file (0: all of it)"},
         .unit = "bytes", .min = 0, .max = FL_SECRET_MAX_SIZE, .range = "0 reads the whole file"},
    [FL_OPT_NEW_KEY_FILE] = {"new-key-file", 0, FL_ARG_STRING, "FILE", FL_GROUP_VERB, FORMAT,
                             .help =
                                 "Generate a random 64-byte key file FILE (mode 0400, never overwritten)"},
    [FL_OPT_KEY_SLOT] = {"key-slot", 'S', FL_ARG_NUMBER, "N", FL_GROUP_VERB, MIGRATE,
                         .help = "Convert only keyslot N", .min = 0, .max = FL_MAX_KEYSLOTS - 1},
    [FL_OPT_CIPHER] = {"cipher", 'c', FL_ARG_STRING, "SPEC", FL_GROUP_VERB, FORMAT,
                       .help = "aes-xts-plain64 (default) or aes-cbc-essiv:sha256", .values = ciphers,
                       .approved = true, .library_checks = true},
    [FL_OPT_KEY_SIZE] = {"key-size", 's', FL_ARG_NUMBER, "BITS", FL_GROUP_VERB, FORMAT,
                         .help = "Volume key size in bits: 512 (default for XTS) or 256", .unit = "bits",
                         .min = 1, .max = UINT32_MAX, .values = key_sizes, .approved = true},
    [FL_OPT_HASH] = {"hash", 'h', FL_ARG_STRING, "HASH", FL_GROUP_VERB, FORMAT | MIGRATE | REENCRYPT,
                     .help_for = {[FL_VERB_FORMAT] =
                                      "PBKDF2 hash of keyslot and digest: sha256 (default) or sha512",
                                  [FL_VERB_MIGRATE] =
                                      "PBKDF2 hash of new keyslots: sha256 (default) or sha512",
                                  [FL_VERB_REENCRYPT] = hash_reencrypt},
                     .values = hashes, .approved = true, .any_case = true},
    [FL_OPT_PBKDF] = {"pbkdf", 0, FL_ARG_STRING, "PBKDF", FL_GROUP_VERB, FORMAT,
                      .help = "Key derivation: pbkdf2 (the only one a FIPS host allows)", .values = pbkdfs,
                      .approved = true, .library_checks = true},
    [FL_OPT_ITER_TIME] = {"iter-time", 'i', FL_ARG_NUMBER, "MS", FL_GROUP_VERB, FORMAT | MIGRATE | REENCRYPT,
                          .help = "PBKDF2 unlock time of new keyslots (default 2000)",
                          .help_for = {[FL_VERB_FORMAT] =
                                           "Unlock time to calibrate PBKDF2 to (default 2000)"},
                          .unit = "milliseconds", .min = 1, .max = FL_MAX_ITER_TIME_MS},
    [FL_OPT_ITERATIONS] = {"pbkdf-force-iterations", 0, FL_ARG_NUMBER, "N", FL_GROUP_VERB,
                           FORMAT | MIGRATE | REENCRYPT,
                           .help = "PBKDF2 iterations of new keyslots (at least 1000), no calibration",
                           .help_for = {[FL_VERB_FORMAT] =
                                            "Exactly N PBKDF2 iterations (>= 1000), no calibration"},
                           .min = FL_FIPS_MIN_ITERATIONS, .max = FL_MAX_ITERATIONS,
                           .range = "approved: 1000, the FIPS minimum for PBKDF2, to 2147483647, the most "
                                    "LUKS2 stores; others are refused"},
    [FL_OPT_SECTOR_SIZE] = {"sector-size", 0, FL_ARG_NUMBER, "BYTES", FL_GROUP_VERB, FORMAT,
                            .help = "Encryption sector size (default: 4096 if possible)", .unit = "bytes",
                            .min = 512, .max = 4096, .power_of_two = true,
                            .range = "the approved LUKS2 sector sizes; others are refused"},
    [FL_OPT_LABEL] = {"label", 0, FL_ARG_STRING, "LABEL", FL_GROUP_VERB, FORMAT, .help = "LUKS2 label"},
    [FL_OPT_SUBSYSTEM] = {"subsystem", 0, FL_ARG_STRING, "SUBSYSTEM", FL_GROUP_VERB, FORMAT,
                          .help = "LUKS2 subsystem"},
    [FL_OPT_UUID] = {"uuid", 0, FL_ARG_STRING, "UUID", FL_GROUP_VERB, FORMAT,
                     .help = "Volume UUID instead of a random one"},
    [FL_OPT_TYPE] = {"type", 0, FL_ARG_STRING, "TYPE", FL_GROUP_VERB, FORMAT,
                     .help = "luks2 (the only type created)", .values = types, .approved = true,
                     .library_checks = true},
    [FL_OPT_HEADER] = {"header", 0, FL_ARG_STRING, "FILE", FL_GROUP_VERB, SCAN | MIGRATE | REENCRYPT,
                       .help = "Detached LUKS header",
                       .help_for = {[FL_VERB_SCAN] = "Read the LUKS header from a detached header FILE"}},
    [FL_OPT_HEADER_BACKUP] = {"header-backup", 0, FL_ARG_STRING, "FILE", FL_GROUP_VERB, MIGRATE | REENCRYPT,
                              .help = "Write the header backup to FILE (default " FL_DEFAULT_BACKUP_DIR
                                      "/UUID-TIME.luksheader)"},
    [FL_OPT_HOTZONE_SIZE] = {"hotzone-size", 0, FL_ARG_SIZE, "BYTES", FL_GROUP_VERB, REENCRYPT,
                             .help = "Re-encrypt at most BYTES per step (suffixes K, M, G; default: "
                                     "libcryptsetup's)",
                             .unit = "bytes", .min = 4096, .max = UINT64_C(1) << 40, .multiple = 4096},
    [FL_OPT_RESILIENCE] = {"resilience", 0, FL_ARG_STRING, "MODE", FL_GROUP_VERB, REENCRYPT,
                           .help =
                               "Crash protection of the area being rewritten: checksum (default) or journal",
                           .values = resiliences},
    [FL_OPT_VERIFY_DATA] =
        {"verify-data", 0, FL_ARG_STRING, "HOW", FL_GROUP_VERB, REENCRYPT,
         .help = "Prove the data: sample (default: 32 sectors) or full (every sector: one more "
                 "read of the device before and after)",
         .values = verify_data},
    [FL_OPT_DRY_RUN] = {"dry-run", 0, FL_ARG_NONE, NULL, FL_GROUP_VERB, MIGRATE | REENCRYPT,
                        .help = "Test every secret and print the plan; change nothing",
                        .help_for = {[FL_VERB_REENCRYPT] = dry_run_reencrypt}},
    [FL_OPT_CONVERT_LUKS1] = {"convert-luks1", 0, FL_ARG_NONE, NULL, FL_GROUP_VERB, MIGRATE,
                              .help =
                                  "Convert a LUKS1 volume to LUKS2 first (after a header backup), then its "
                                  "keyslots"},
    [FL_OPT_ALLOW_IN_PLACE] = {"allow-in-place", 0, FL_ARG_NONE, NULL, FL_GROUP_VERB, MIGRATE,
                               .help =
                                   "Overwrite a keyslot in place when there is no free keyslot or area (not "
                                   "crash-safe)"},
    [FL_OPT_ALLOW_NON_FIPS_UNLOCK] = {"allow-non-fips-unlock", 0, FL_ARG_NONE, NULL, FL_GROUP_VERB, MIGRATE,
                                      .help =
                                          "On a FIPS host, unlock argon2 keyslots with OpenSSL's non-FIPS "
                                          "default provider"},
    [FL_OPT_FORCE] =
        {"force", 'f', FL_ARG_NONE, NULL, FL_GROUP_VERB, FORMAT,
         .help = "Format even though signatures (filesystem, LUKS, ...) are found, and erase them all"},
    [FL_OPT_ROOT] = {"root", 0, FL_ARG_STRING, "DIR", FL_GROUP_VERB, SCAN | CHECK | MIGRATE,
                     .help = "Examine the host whose files are below DIR (live probes excepted)",
                     .help_for = {[FL_VERB_SCAN] =
                                      "Read /etc/crypttab and its key files below DIR (and, without "
                                      "PATH, the block devices of DIR/sys and DIR/dev)",
                                  [FL_VERB_MIGRATE] =
                                      "With --crypttab: read /etc/crypttab, its devices and key files "
                                      "below DIR"}},
    [FL_OPT_CRYPTTAB] = {"crypttab", 0, FL_ARG_NONE, NULL, FL_GROUP_VERB, MIGRATE,
                         .help = "Convert every volume /etc/crypttab lists, with the key file it names (no "
                                 "prompt, no DEVICE)"},
    [FL_OPT_EMIT] = {"emit", 0, FL_ARG_STRING, "FORMAT", FL_GROUP_VERB, CHECK,
                     .help = "Print a config that turns FIPS mode on at provisioning", .values = emits},
    [FL_OPT_LUKS] = {"luks", 0, FL_ARG_STRING, "NAME:DEVICE[:KEYFILE[:LABEL]]", FL_GROUP_VERB, CHECK,
                     .repeatable = CHECK,
                     .help =
                         "With --emit: a LUKS volume Ignition creates with PBKDF2 (repeatable; a colon in a "
                         "field: \\:)"},
    [FL_OPT_SYSEXT] = {"sysext", 0, FL_ARG_STRING, "URL", FL_GROUP_VERB, CHECK,
                       .help = "With --emit: install the fipsluks system extension image from URL (Flatcar: "
                               "/opt/extensions, linked from /etc/extensions)"},
    [FL_OPT_JSON] =
        {"json", 'j', FL_ARG_NONE, NULL, FL_GROUP_VERB, SCAN | CHECK | FORMAT | MIGRATE | REENCRYPT | REPORT,
         .help_for = {[FL_VERB_SCAN] = "Write one JSON document (schema in fipsluks-scan(8))",
                      [FL_VERB_CHECK] = "Write one JSON document (schema in fipsluks-check(8))",
                      [FL_VERB_FORMAT] = "Describe the new volume as JSON (schema in fipsluks-format(8))",
                      [FL_VERB_MIGRATE] = "Write a JSON report (schema in fipsluks-migrate(8))",
                      [FL_VERB_REENCRYPT] = "Write a JSON report (schema in fipsluks-reencrypt(8))",
                      [FL_VERB_REPORT] = "Write one JSON document (schema in fipsluks-report(8))"}},
    [FL_OPT_JSON_LINES] = {"json-lines", 0, FL_ARG_NONE, NULL, FL_GROUP_VERB, SCAN,
                           .help =
                               "Write one JSON record per volume as it is scanned, then a summary record"},
    [FL_OPT_CSV] = {"csv", 0, FL_ARG_NONE, NULL, FL_GROUP_VERB, REPORT,
                    .help = "Write CSV: one row per volume, for spreadsheets"},
    [FL_OPT_FORMAT] = {"format", 0, FL_ARG_STRING, "FORMAT", FL_GROUP_VERB, SCAN | CHECK,
                       .help = "Output format (default: text)",
                       .values_for = {[FL_VERB_SCAN] = scan_formats, [FL_VERB_CHECK] = check_formats}},
    [FL_OPT_OUTPUT] = {"output", 'o', FL_ARG_STRING, "FILE", FL_GROUP_VERB, SCAN | CHECK | REPORT,
                       .help = "Write the report to FILE, atomically (a temporary file renamed into place)",
                       .help_for = {[FL_VERB_REPORT] = output_report}, .arg_for = {[FL_VERB_REPORT] = "COLS"},
                       .values_for = {[FL_VERB_REPORT] = fl_report_columns}, .list = REPORT,
                       .values_help = fl_report_columns_help,
                       .values_heading = "Available columns for --output (the default: all, in this order):"},
    [FL_OPT_PROGRESS_JSON] = {"progress-json", 0, FL_ARG_NONE, NULL, FL_GROUP_VERB, REENCRYPT,
                              .help = "Print progress as JSON lines on standard output"},
    [FL_OPT_JOBS] = {"jobs", 'J', FL_ARG_NUMBER, "N", FL_GROUP_VERB, SCAN,
                     .help = "Scan N targets in parallel (default: CPUs, at most 8)", .min = 1,
                     .max = FL_JOBS_MAX},
    [FL_OPT_ONE_FILE_SYSTEM] =
        {"one-file-system", 'x', FL_ARG_NONE, NULL, FL_GROUP_VERB, SCAN,
         .help = "Do not descend into directories on other file systems than the PATH given"},
    [FL_OPT_MAX_AGE] =
        {"max-age", 0, FL_ARG_DURATION, "AGE", FL_GROUP_VERB, REPORT,
         .help = "A host whose newest scan is older than AGE is stale (default 2d; units s, m, h, d, "
                 "w)",
         .unit = "seconds", .min = 0, .max = UINT64_MAX},
    [FL_OPT_BATCH] = {"batch", 'q', FL_ARG_NONE, NULL, FL_GROUP_ASK, ASKING,
                      .help = "Do not ask for confirmation"},
    [FL_OPT_BATCH_MODE] = {"batch-mode", 0, FL_ARG_NONE, NULL, FL_GROUP_ASK, ASKING,
                           .help = "Same as --batch (cryptsetup's name)"},
    [FL_OPT_TRIES] = {"tries", 'T', FL_ARG_NUMBER, "N", FL_GROUP_ASK, ASKING,
                      .help = "Ask for a passphrase at most N times (default 3, 1-100)", .min = 1,
                      .max = FL_TRIES_MAX},
    [FL_OPT_VERBOSE] = {"verbose", 'v', FL_ARG_NONE, NULL, FL_GROUP_COMMON, EVERY,
                        .help = "Show libcryptsetup's messages and a final status line on standard error"},
    [FL_OPT_DEBUG] = {"debug", 0, FL_ARG_NONE, NULL, FL_GROUP_COMMON, EVERY,
                      .help = "Show libcryptsetup's debug log on standard error (never secrets)"},
};

void fl_options_complete(FILE *f)
{
    for (int v = 0; v < FL_VERB_COUNT; v++)
        fprintf(f, "verb %s\n", fl_verbs[v].name);
    for (int v = 0; v < FL_VERB_COUNT; v++) {
        for (int i = 0; i < FL_OPT_COUNT; i++) {
            const struct fl_option *o = &fl_option_table[i];
            const char *const *values = fl_option_values((enum fl_verb_id)v, (enum fl_opt)i);
            char short_name[3] = {'-', o->short_name, '\0'};

            if (!(o->verbs & FL_V(v)))
                continue;
            fprintf(f, "option %s --%s %s %s\n", fl_verbs[v].name, o->name, short_name,
                    o->arg_for[v] ? o->arg_for[v]
                    : o->arg      ? o->arg
                                  : "-");
            for (size_t k = 0; values && values[k]; k++)
                fprintf(f, "value %s --%s %s\n", fl_verbs[v].name, o->name, values[k]);
            if (values && (o->list & FL_V(v)))
                fprintf(f, "list %s --%s\n", fl_verbs[v].name, o->name);
        }
        /* popt's own (POPT_AUTOHELP) */
        fprintf(f, "option %s --help -? -\noption %s --usage - -\n", fl_verbs[v].name, fl_verbs[v].name);
    }
}

enum fl_opt fl_option_by_name(const char *name)
{
    for (int i = 0; i < FL_OPT_COUNT; i++)
        if (!strcmp(fl_option_table[i].name, name))
            return (enum fl_opt)i;
    return FL_OPT_COUNT;
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

/* ---- the verb's popt table ---- */

static bool takes(enum fl_verb_id verb, enum fl_opt opt)
{
    return fl_option_table[opt].verbs & FL_V(verb);
}

const char *const *fl_option_values(enum fl_verb_id verb, enum fl_opt opt)
{
    const struct fl_option *o = &fl_option_table[opt];

    return o->values_for[verb] ? o->values_for[verb] : o->values;
}

/* @p values joined with @p sep ("a|b|c" for --help; the caller frees it), or NULL (no memory). */
static char *joined(const char *const *values, const char *sep)
{
    size_t len = 1;
    char *s;

    for (size_t i = 0; values[i]; i++)
        len += strlen(values[i]) + strlen(sep);
    s = calloc(1, len);
    for (size_t i = 0; s && values[i]; i++) {
        if (i)
            strcat(s, sep);
        strcat(s, values[i]);
    }
    return s;
}

static struct poptOption popt_row(const struct fl_args *a, enum fl_verb_id verb, enum fl_opt opt)
{
    const struct fl_option *o = &fl_option_table[opt];

    return (struct poptOption){
        .longName = o->name,
        .shortName = o->short_name,
        .argInfo = o->kind == FL_ARG_NONE ? POPT_ARG_NONE : POPT_ARG_STRING,
        .arg = NULL, /* popt stores nothing: each value is handed over (parse()) */
        .val = (int)opt + 1,
        .descrip = o->help_for[verb] ? o->help_for[verb] : o->help,
        .argDescrip = a->arg_help[opt]   ? a->arg_help[opt]
                      : o->arg_for[verb] ? o->arg_for[verb]
                                         : o->arg,
    };
}

/*
 * What the values of @p verb's options mean (fl_option.values_help), for the end of its --help, as lsblk
 * lists its columns: each option's heading, then a line a value. @return 0 or -ENOMEM.
 */
static int values_help(struct fl_args *a, enum fl_verb_id verb)
{
    size_t len = 0;
    FILE *f = NULL;

    for (int i = 0; i < FL_OPT_COUNT; i++) {
        const struct fl_option *o = &fl_option_table[i];
        const char *const *values = fl_option_values(verb, (enum fl_opt)i);
        int width = 0;

        if (!takes(verb, (enum fl_opt)i) || !values || !o->values_help)
            continue;
        if (!f && !(f = open_memstream(&a->values_help, &len)))
            return -ENOMEM;
        for (size_t k = 0; values[k]; k++)
            if ((int)strlen(values[k]) > width)
                width = (int)strlen(values[k]);
        fprintf(f, "%s%s", ftell(f) ? "\n\n" : "", o->values_heading);
        for (size_t k = 0; values[k]; k++)
            fprintf(f, "\n  %-*s  %s", width, values[k], o->values_help[k]);
    }
    if (f && fclose(f) == EOF) {
        free(a->values_help);
        a->values_help = NULL;
        return -ENOMEM;
    }
    return 0;
}

/*
 * @p verb's popt tables, in one allocation: its own options, "Questions:" and "Common options:"
 * included as sub-tables, popt's --help and --usage, what the values of its options mean (an empty
 * sub-table whose heading lists them); then the two sub-tables.
 */
static struct poptOption *popt_table(struct fl_args *a, enum fl_verb_id verb)
{
    static const struct poptOption end = POPT_TABLEEND;
    static struct poptOption no_options[] = {POPT_TABLEEND};
    static const struct poptOption autohelp[] = {POPT_AUTOHELP POPT_TABLEEND};
    const char *headings[] = {[FL_GROUP_ASK] = "Questions:",
                              [FL_GROUP_COMMON] =
                                  fl_verbs[verb].common ? fl_verbs[verb].common : "Common options:"};
    struct poptOption *t = calloc(FL_OPT_COUNT + 8, sizeof(*t)), *group[3];
    size_t n[3] = {0}, at = 0;

    if (!t)
        return NULL;
    for (int i = 0; i < FL_OPT_COUNT; i++)
        if (takes(verb, (enum fl_opt)i)) {
            n[fl_option_table[i].group]++;
            /* the sets the parser checks are the argument in --help; the library's (long cipher
             * names) are in the help text, and would push every other option's help off the line */
            if (fl_option_values(verb, (enum fl_opt)i) && !fl_option_table[i].library_checks &&
                !(fl_option_table[i].list & FL_V(verb)) &&
                !(a->arg_help[i] = joined(fl_option_values(verb, (enum fl_opt)i), "|"))) {
                free(t);
                return NULL;
            }
        }
    if (values_help(a, verb) < 0) {
        free(t);
        return NULL;
    }
    /* [own options] [include ask] [include common] [autohelp] [values' help] [end] [ask options] [end]
     * [common] [end] */
    group[FL_GROUP_VERB] = t;
    group[FL_GROUP_ASK] = t + n[FL_GROUP_VERB] + 5;
    group[FL_GROUP_COMMON] = group[FL_GROUP_ASK] + n[FL_GROUP_ASK] + 1;
    for (int g = FL_GROUP_VERB; g <= FL_GROUP_COMMON; g++) {
        at = 0;
        for (int i = 0; i < FL_OPT_COUNT; i++)
            if (takes(verb, (enum fl_opt)i) && fl_option_table[i].group == (enum fl_opt_group)g)
                group[g][at++] = popt_row(a, verb, (enum fl_opt)i);
        group[g][at] = end;
    }
    at = n[FL_GROUP_VERB];
    for (int g = FL_GROUP_ASK; g <= FL_GROUP_COMMON; g++)
        if (n[g])
            t[at++] = (struct poptOption){NULL, 0, POPT_ARG_INCLUDE_TABLE, group[g], 0, headings[g], NULL};
    t[at++] = autohelp[0];
    if (a->values_help)
        t[at++] = (struct poptOption){NULL, 0, POPT_ARG_INCLUDE_TABLE, no_options, 0, a->values_help, NULL};
    t[at] = end;
    return t;
}

/* ---- parsing ---- */

/* Keep @p value (handed over by popt) as one of @p opt's. @return 0 or -ENOMEM. */
static int keep(struct fl_args *a, enum fl_opt opt, char *value)
{
    size_t n = 0;
    char **list;

    while (a->values[opt] && a->values[opt][n])
        n++;
    list = realloc(a->values[opt], (n + 2) * sizeof(*list));
    if (!list) {
        free(value);
        return -ENOMEM;
    }
    list[n] = value;
    list[n + 1] = NULL;
    a->values[opt] = list;
    return 0;
}

/* Each option given, counted; each value handed over from popt into @p a (popt's own storage would
 * leak a value given twice). @return 0 or -ENOMEM; poptGetNextOpt()'s last result in @p ret_rc. */
static int collect(struct fl_args *a, int *ret_rc)
{
    int rc;

    while ((*ret_rc = rc = poptGetNextOpt(a->ctx)) > 0) {
        enum fl_opt opt = (enum fl_opt)(rc - 1);
        char *value = poptGetOptArg(a->ctx);

        if (rc > FL_OPT_COUNT) {
            free(value);
            continue;
        }
        a->n[opt]++;
        if (value && keep(a, opt, value) < 0)
            return -ENOMEM;
    }
    return 0;
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

/* The last value of @p opt (owned by @p a), or NULL. */
static char *last(const struct fl_args *a, enum fl_opt opt)
{
    size_t n = 0;

    while (a->values[opt] && a->values[opt][n])
        n++;
    return n ? a->values[opt][n - 1] : NULL;
}

/* The decimal digits that start @p s, as a number (*@p ret), and what follows them (*@p ret_rest).
 * @return 0, -EINVAL (no digits) or -ERANGE (too large). */
static int leading_number(const char *s, uint64_t *ret, const char **ret_rest)
{
    size_t digits = strspn(s, "0123456789");
    char number[24];

    *ret_rest = s + digits;
    if (digits == 0 || digits >= sizeof(number))
        return digits ? -ERANGE : -EINVAL;
    memcpy(number, s, digits);
    number[digits] = '\0';
    return fl_parse_u64(number, ret);
}

/*
 * A size in bytes as cryptsetup takes one (its tools_string_to_size()): decimal digits, then nothing
 * (bytes), "s" or "S" (512-byte sectors), or one of K, M, G, T in either case, alone or followed by "iB"
 * (powers of 1024) or by "B" (powers of 1000). @return 0, -EINVAL (not a size) or -ERANGE (too large).
 */
static int parse_size(const char *s, uint64_t *ret)
{
    static const char prefixes[] = "kmgt";
    const char *unit, *prefix;
    uint64_t v, base, mult = 1;
    int r = leading_number(s, &v, &unit);

    if (r < 0)
        return r;
    if ((unit[0] == 's' || unit[0] == 'S') && !unit[1])
        mult = 512;
    else if (unit[0]) {
        prefix = strchr(prefixes, tolower((unsigned char)unit[0]));
        if (!prefix)
            return -EINVAL;
        if (!unit[1] || !strcmp(unit + 1, "iB"))
            base = 1024;
        else if (!strcmp(unit + 1, "B"))
            base = 1000;
        else
            return -EINVAL;
        for (const char *p = prefixes; p <= prefix; p++)
            mult *= base;
    }
    if (v > UINT64_MAX / mult)
        return -ERANGE;
    *ret = v * mult;
    return 0;
}

/* A duration in seconds: decimal digits, then nothing (seconds) or one unit s, m, h, d or w. @return 0,
 * -EINVAL (not a duration) or -ERANGE (too large). */
static int parse_duration(const char *s, uint64_t *ret)
{
    static const struct {
        char unit;
        uint64_t seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
    const char *unit;
    uint64_t v, mult = 0;
    int r = leading_number(s, &v, &unit);

    if (r < 0)
        return r;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (unit[0] == units[i].unit && !unit[1])
            mult = units[i].seconds;
    if (!unit[0])
        mult = 1;
    if (!mult)
        return -EINVAL;
    if (v > UINT64_MAX / mult)
        return -ERANGE;
    *ret = v * mult;
    return 0;
}

/* Append @p text to the string in @p buf (@p size bytes), after @p sep unless @p buf is empty. */
static void append(char *buf, size_t size, const char *sep, const char *text)
{
    size_t n = strlen(buf);

    snprintf(buf + n, size - n, "%s%s", n ? sep : "", text);
}

/* The one wording of a number an option refuses: its range, and in brackets what the number counts, what
 * else it must be and what the range means. @return -EINVAL. */
static int number_error(const char *verb, const struct fl_option *o, const char *arg)
{
    char why[256] = "", multiple[48];

    if (o->unit)
        append(why, sizeof(why), ", ", o->unit);
    if (o->power_of_two)
        append(why, sizeof(why), ", ", "a power of two");
    if (o->multiple) {
        snprintf(multiple, sizeof(multiple), "a multiple of %llu", (unsigned long long)o->multiple);
        append(why, sizeof(why), ", ", multiple);
    }
    if (o->kind == FL_ARG_SIZE)
        append(
            why, sizeof(why), "; ",
            "suffixes: s (512 bytes), K or KiB, M or MiB, G or GiB, T or TiB (powers of 1024), KB, MB, GB, "
            "TB (of 1000)");
    if (o->kind == FL_ARG_DURATION)
        append(why, sizeof(why), "; ", "units s, m, h, d, w");
    if (o->range)
        append(why, sizeof(why), "; ", o->range);
    if (o->min == 0 && o->max == UINT64_MAX) /* any number */
        return fl_usage_error(verb, "--%s '%s': not a number%s%s%s", o->name, arg, why[0] ? " (" : "", why,
                              why[0] ? ")" : "");
    return fl_usage_error(verb, "--%s '%s': not a number from %llu to %llu%s%s%s", o->name, arg,
                          (unsigned long long)o->min, (unsigned long long)o->max, why[0] ? " (" : "", why,
                          why[0] ? ")" : "");
}

/* Numbers (FL_ARG_NUMBER, FL_ARG_SIZE): the last value, strictly a number of the option's kind within its
 * range, into a->num[]. */
static int check_numbers(struct fl_args *a)
{
    const char *verb = fl_verbs[a->verb].name;

    for (int i = 0; i < FL_OPT_COUNT; i++) {
        const struct fl_option *o = &fl_option_table[i];
        const char *arg = fl_arg(a, (enum fl_opt)i);
        uint64_t v;
        int r;

        if (o->kind == FL_ARG_NONE || o->kind == FL_ARG_STRING || !arg)
            continue;
        r = o->kind == FL_ARG_SIZE       ? parse_size(arg, &v)
            : o->kind == FL_ARG_DURATION ? parse_duration(arg, &v)
                                         : fl_parse_u64(arg, &v);
        if (r < 0 || v < o->min || v > o->max || (o->multiple && v % o->multiple) ||
            (o->power_of_two && (v & (v - 1))))
            return number_error(verb, o, arg);
        a->num[i] = v;
    }
    return 0;
}

/* The index of @p value in @p values (in any case, with @p any_case), or -1. */
static int choice(const char *const *values, const char *value, bool any_case)
{
    for (int i = 0; values[i]; i++)
        if (any_case ? !strcasecmp(values[i], value) : !strcmp(values[i], value))
            return i;
    return -1;
}

/* The items of @p arg, a comma-separated list (fl_option.list) of @p values, "+" in front, in @p ret
 * (room for FL_LIST_MAX): -1 for an item not in the set (its text in *@p ret_bad, @p bad_size bytes).
 * @return how many items, or -E2BIG (more than FL_LIST_MAX). */
static int list_items(const char *arg, const char *const *values, int *ret, char *bad, size_t bad_size)
{
    const char *p = arg + (*arg == '+');
    int n = 0;

    for (;;) {
        size_t len = strcspn(p, ",");
        int found = -1;

        if (n == FL_LIST_MAX)
            return -E2BIG;
        for (int i = 0; values[i] && found < 0; i++)
            if (strlen(values[i]) == len && !strncasecmp(values[i], p, len))
                found = i;
        if (found < 0 && bad && !bad[0])
            snprintf(bad, bad_size, "%.*s", (int)len, p);
        ret[n++] = found;
        if (!p[len])
            return n;
        p += len + 1;
    }
}

/* A list (fl_option.list): every item is one of @p values, in any case, at most FL_LIST_MAX of them. */
static int check_list(const char *verb, const struct fl_option *o, const char *const *values, const char *arg)
{
    int items[FL_LIST_MAX], n;
    char bad[64] = "", *list;

    n = list_items(arg, values, items, bad, sizeof(bad));
    if (n == -E2BIG)
        return fl_usage_error(verb, "--%s: more than %d items", o->name, FL_LIST_MAX);
    for (int i = 0; i < n; i++)
        if (items[i] < 0) {
            list = joined(values, ", ");
            fl_usage_error(verb, "--%s '%s' is not allowed; choices: %s", o->name, bad, list ? list : "");
            free(list);
            return -EINVAL;
        }
    return 0;
}

/* Options with a set of values: the last value is one of them (kept in lower case where any case is
 * taken), refused with one wording that lists them. The sets the library checks are left to it. */
static int check_values(struct fl_args *a)
{
    const char *verb = fl_verbs[a->verb].name;

    for (int i = 0; i < FL_OPT_COUNT; i++) {
        const struct fl_option *o = &fl_option_table[i];
        const char *const *values = fl_option_values(a->verb, (enum fl_opt)i);
        char *arg = last(a, (enum fl_opt)i), *list;

        if (!values || !arg || o->library_checks)
            continue;
        if (o->list & FL_V(a->verb)) {
            int r = check_list(verb, o, values, arg);
            if (r < 0)
                return r;
            continue;
        }
        for (char *c = arg; o->any_case && *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (choice(values, arg, false) >= 0)
            continue;
        list = joined(values, ", ");
        fl_usage_error(verb, "--%s '%s' is not allowed; %schoices: %s", o->name, arg,
                       o->approved ? "approved " : "", list ? list : "");
        free(list);
        return -EINVAL;
    }
    return 0;
}

size_t fl_arg_choices(const struct fl_args *a, enum fl_opt opt, int ret[FL_LIST_MAX], bool *ret_add)
{
    const char *const *values = fl_option_values(a->verb, opt);
    const char *arg = fl_arg(a, opt);
    int n;

    *ret_add = arg && *arg == '+';
    if (!values || !arg)
        return 0;
    n = list_items(arg, values, ret, NULL, 0);
    return n < 0 ? 0 : (size_t)n;
}

int fl_arg_choice(const struct fl_args *a, enum fl_opt opt)
{
    const char *const *values = fl_option_values(a->verb, opt);
    const char *arg = fl_arg(a, opt);

    return values && arg ? choice(values, arg, fl_option_table[opt].any_case) : -1;
}

/* The one validator of the options several verbs share; the same rule wherever an option is taken. */
static int check_shared(struct fl_args *a)
{
    const char *verb = fl_verbs[a->verb].name;
    char *const *files = fl_arg_list(a, FL_OPT_KEY_FILE);
    int r;

    /* --hash in any case, as cryptsetup: libcryptsetup and the header get it in lower case */
    r = check_values(a);
    if (r >= 0)
        r = check_numbers(a);
    if (r < 0)
        return r;
    if (fl_flag(a, FL_OPT_ITER_TIME) && fl_flag(a, FL_OPT_ITERATIONS))
        return fl_usage_error(verb, "--iter-time and --pbkdf-force-iterations exclude each other");
    if ((fl_flag(a, FL_OPT_KEYFILE_OFFSET) || fl_flag(a, FL_OPT_KEYFILE_SIZE)) && !files[0])
        return fl_usage_error(verb, "--keyfile-offset and --keyfile-size need --key-file");
    if (fl_option_table[FL_OPT_KEY_FILE].repeatable & FL_V(a->verb))
        for (size_t i = 0, stdin_seen = 0; files[i]; i++)
            if (!strcmp(files[i], "-") && stdin_seen++)
                return fl_usage_error(verb, "standard input (--key-file=-) can be read only once");
    return 0;
}

static poptContext popt_context(const char *verb, int argc, const char **argv,
                                const struct poptOption *options, const char *args)
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

int fl_options_parse(enum fl_verb_id verb, int argc, const char **argv, struct fl_args *ret)
{
    const char *name = fl_verbs[verb].name;
    int rc, r;

    *ret = (struct fl_args){.verb = verb};
    ret->popt = popt_table(ret, verb);
    if (ret->popt)
        ret->ctx = popt_context(name, argc, argv, ret->popt, fl_verbs[verb].args);
    if (!ret->ctx) {
        fl_log_error_errno(-ENOMEM, "cannot parse the options: %m");
        return -ENOMEM;
    }
    r = collect(ret, &rc);
    if (r < 0) {
        fl_log_error_errno(r, "cannot parse the options: %m");
        return r;
    }
    /* as popt set them while it parsed: a -v before a bad option still gets its status line */
    fl_opts.verbose = fl_flag(ret, FL_OPT_VERBOSE);
    fl_opts.debug = fl_flag(ret, FL_OPT_DEBUG);
    fl_opts.batch = fl_flag(ret, FL_OPT_BATCH) || fl_flag(ret, FL_OPT_BATCH_MODE);
    if (rc < -1) {
        fprintf(stderr, "fipsluks %s: ", name);
        fl_fputs_escaped(poptBadOption(ret->ctx, POPT_BADOPTION_NOALIAS), stderr);
        fprintf(stderr, ": %s\nTry 'fipsluks %s --help'.\n", poptStrerror(rc), name);
        return -EINVAL;
    }
    r = check_shared(ret);
    if (r < 0)
        return r;
    fl_opts.tries = fl_flag(ret, FL_OPT_TRIES) ? (unsigned)ret->num[FL_OPT_TRIES] : FL_TRIES_DEFAULT;
    if (fl_opts.debug) {
        fl_opts.verbose = 1; /* as cryptsetup: --debug implies --verbose */
        crypt_set_debug_level(CRYPT_DEBUG_ALL);
        debug_header();
    }
    return 0;
}

void fl_args_free(struct fl_args *a)
{
    for (int i = 0; i < FL_OPT_COUNT; i++) {
        for (size_t k = 0; a->values[i] && a->values[i][k]; k++)
            free(a->values[i][k]);
        free(a->values[i]);
        a->values[i] = NULL;
        free(a->arg_help[i]);
        a->arg_help[i] = NULL;
    }
    free(a->values_help);
    a->values_help = NULL;
    if (a->ctx)
        poptFreeContext(a->ctx);
    a->ctx = NULL;
    free(a->popt);
    a->popt = NULL;
}

const char *fl_arg(const struct fl_args *a, enum fl_opt opt)
{
    return last(a, opt);
}

bool fl_flag(const struct fl_args *a, enum fl_opt opt)
{
    return a->n[opt] > 0;
}

char *const *fl_arg_list(const struct fl_args *a, enum fl_opt opt)
{
    static char *const none[] = {NULL};

    return a->values[opt] ? a->values[opt] : none;
}

const char **fl_args_rest(const struct fl_args *a)
{
    return a->ctx ? poptGetArgs(a->ctx) : NULL;
}
