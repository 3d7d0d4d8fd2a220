/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared declarations of the fipsluks command line. */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>
#include <popt.h>

#include "fipsluks/crypttab.h"
#include "fipsluks/policy.h"
#include "fipsluks/volume.h"
#include "fipsluks/why.h"

/*
 * Exit codes, documented in fipsluks(8). Numbers shared with cryptsetup(8) mean the same thing.
 * A verb returns one of these (>= 0) or a negative errno, which fl_exit_code() maps; nothing
 * else decides an exit code.
 */
enum fl_exit {
    FL_EXIT_OK = 0,
    FL_EXIT_USAGE = 1,        /* invalid arguments or usage (cryptsetup: wrong parameters) */
    FL_EXIT_PERMISSION = 2,   /* no permission or bad passphrase (cryptsetup: same) */
    FL_EXIT_NOMEM = 3,        /* out of memory (cryptsetup: same) */
    FL_EXIT_DEVICE = 4,       /* a device or file could not be read or written (cryptsetup: wrong device) */
    FL_EXIT_BUSY = 5,         /* device busy or already exists (cryptsetup: same) */
    FL_EXIT_INCOMPATIBLE = 6, /* scan: a volume is not FIPS-compatible; check: the host is not FIPS-ready */
    FL_EXIT_INCOMPLETE = 7,   /* migrate: keyslots left unconverted (no secret, token-bound, interrupted) */
};

int fl_exit_code(int r);

int verb_scan(int argc, const char **argv);
int verb_check(int argc, const char **argv);
int verb_format(int argc, const char **argv);
int verb_migrate(int argc, const char **argv);
int verb_reencrypt(int argc, const char **argv);
int verb_report(int argc, const char **argv);

/* ---- options as data (options.c) ---- */

#define FL_TRIES_DEFAULT 3
#define FL_TRIES_MAX     100

/* The verbs, as options.c knows them (each option has an allow list of these). */
enum fl_verb_id {
    FL_VERB_SCAN,
    FL_VERB_CHECK,
    FL_VERB_FORMAT,
    FL_VERB_MIGRATE,
    FL_VERB_REENCRYPT,
    FL_VERB_REPORT,
    FL_VERB_COUNT,
};
#define FL_V(verb) (1u << (verb))

/*
 * The one verb table (options.c), indexed by enum fl_verb_id: main.c dispatches through it and prints
 * "fipsluks --help" from it, fl_options_parse() takes each verb's usage line from it, and
 * "fipsluks __complete" lists it. handler: argv[0] is "fipsluks VERB" (popt's usage line shows it).
 */
struct fl_verb {
    const char *name;
    const char *summary; /* one line, in "fipsluks --help" */
    int (*run)(int argc, const char **argv);
    const char *args;   /* the arguments of its usage line, after "[OPTION...]" */
    const char *common; /* the heading of the common options in its --help, or NULL: "Common options:" */
};
extern const struct fl_verb fl_verbs[FL_VERB_COUNT];
/* The verb called @p name, or NULL. */
const struct fl_verb *fl_verb_by_name(const char *name);

/* Every option of every verb: a row of fl_option_table[], in the order --help lists them. */
enum fl_opt {
    FL_OPT_KEY_FILE,
    FL_OPT_KEYFILE_OFFSET,
    FL_OPT_KEYFILE_SIZE,
    FL_OPT_NEW_KEY_FILE,
    FL_OPT_KEY_SLOT,
    FL_OPT_CIPHER,
    FL_OPT_KEY_SIZE,
    FL_OPT_HASH,
    FL_OPT_PBKDF,
    FL_OPT_ITER_TIME,
    FL_OPT_ITERATIONS, /* --pbkdf-force-iterations */
    FL_OPT_SECTOR_SIZE,
    FL_OPT_LABEL,
    FL_OPT_SUBSYSTEM,
    FL_OPT_UUID,
    FL_OPT_TYPE,
    FL_OPT_HEADER,
    FL_OPT_HEADER_BACKUP,
    FL_OPT_HOTZONE_SIZE,
    FL_OPT_RESILIENCE,
    FL_OPT_VERIFY_DATA,
    FL_OPT_DRY_RUN,
    FL_OPT_CONVERT_LUKS1,
    FL_OPT_ALLOW_IN_PLACE,
    FL_OPT_ALLOW_NON_FIPS_UNLOCK,
    FL_OPT_FORCE,
    FL_OPT_ROOT,
    FL_OPT_CRYPTTAB, /* migrate */
    FL_OPT_EMIT,
    FL_OPT_LUKS,
    FL_OPT_SYSEXT,
    FL_OPT_JSON,
    FL_OPT_JSON_LINES,
    FL_OPT_CSV,
    FL_OPT_FORMAT,
    FL_OPT_OUTPUT,
    FL_OPT_PROGRESS_JSON,
    FL_OPT_JOBS,
    FL_OPT_ONE_FILE_SYSTEM,
    FL_OPT_MAX_AGE,
    FL_OPT_BATCH, /* the questions: format, migrate, reencrypt */
    FL_OPT_BATCH_MODE,
    FL_OPT_TRIES,
    FL_OPT_VERBOSE, /* every verb */
    FL_OPT_DEBUG,
    FL_OPT_COUNT,
};

enum fl_arg_kind {
    FL_ARG_NONE,     /* a flag */
    FL_ARG_STRING,   /* a value the verb checks */
    FL_ARG_NUMBER,   /* a decimal number from min to max, checked by fl_options_parse() into fl_args.num[] */
    FL_ARG_SIZE,     /* the same, in bytes, with cryptsetup's size suffixes: s (512-byte sectors); K, M, G, T
                      * alone or with "iB" (powers of 1024), with "B" (powers of 1000) */
    FL_ARG_DURATION, /* the same, in seconds, with one unit s, m, h, d or w */
};

/* Where --help lists an option: with the verb's own, under "Questions:", under "Common options:". */
enum fl_opt_group { FL_GROUP_VERB, FL_GROUP_ASK, FL_GROUP_COMMON };

/* One option, as cryptsetup's src/cryptsetup_arg_list.h: names, argument, help, which verbs take it. */
struct fl_option {
    const char *name; /* long name, without "--" */
    char short_name;  /* or 0 */
    enum fl_arg_kind kind;
    const char *arg; /* the argument's name in --help ("FILE"), NULL for a flag */
    enum fl_opt_group group;
    unsigned verbs;                      /* allow list: FL_V() bits */
    unsigned repeatable;                 /* verbs where every value counts; elsewhere the last one does */
    const char *help;                    /* --help text... */
    const char *help_for[FL_VERB_COUNT]; /* ...unless a verb has its own */
    /* numbers (FL_ARG_NUMBER, FL_ARG_SIZE), each checked by fl_options_parse() with one wording: */
    const char *unit;  /* what it counts ("bits", "bytes", "milliseconds"), or NULL */
    uint64_t min, max; /* the range accepted */
    uint64_t multiple; /* > 0: only multiples of this */
    bool power_of_two; /* only powers of two */
    const char *range; /* what the range means, for the error, or NULL */
    /* A fixed set of values (NULL-terminated; a number's in decimal): fl_options_parse() refuses any other,
     * with one wording, and --help shows them as the argument ("--emit=butane|ignition"); fl_arg_choice()
     * gives the index of the one given. */
    const char *const *values;
    const char *const *values_for[FL_VERB_COUNT]; /* ...unless a verb has its own set */
    bool approved;       /* the set is what a FIPS host approves: the refusal says "approved choices" */
    bool any_case;       /* a value in any case is kept in lower case, as cryptsetup takes --hash */
    bool library_checks; /* the set is the library's policy, which checks it and words the refusal
                          * (fl_format_check_params()): the parser leaves it alone; completion and --help
                          * list it, and test_options.c proves the library accepts each */
    const char *arg_for[FL_VERB_COUNT]; /* the argument's name in --help where a verb has its own */
    /* Verbs where the value is a comma-separated list of the set's values, each in any case, as lsblk's
     * --output: "+" in front adds them to the default list. --help shows the argument's name, not the set;
     * fl_arg_choices() gives the indices. */
    unsigned list;
    /* What each value of the set means (in the set's order): --help lists them under values_heading, as
     * lsblk lists its columns. */
    const char *const *values_help;
    const char *values_heading;
};
extern const struct fl_option fl_option_table[FL_OPT_COUNT];

/* A verb's command line, parsed. Owns every value; fl_args_free() releases them. */
struct fl_args {
    enum fl_verb_id verb;
    poptContext ctx;              /* holds the positional arguments (fl_args_rest()) */
    struct poptOption *popt;      /* the verb's popt tables, built from fl_option_table[] */
    char **values[FL_OPT_COUNT];  /* every value given, in order, NULL-terminated; NULL if none */
    char *arg_help[FL_OPT_COUNT]; /* the argument of an option with a set of values in --help: "a|b" */
    char *values_help;            /* --help's list of values and what each means (values_help), or NULL */
    unsigned n[FL_OPT_COUNT];     /* how often each option was given (flags too) */
    uint64_t num[FL_OPT_COUNT];   /* numbers: the (last) value, checked (a size in bytes) */
};

/* The options every verb shares, set by fl_options_parse(). */
struct fl_common_opts {
    int verbose;    /* -v/--verbose: libcryptsetup's messages, and the final status line */
    int debug;      /* --debug: libcryptsetup's debug log on stderr, prefixed "# " */
    int batch;      /* -q/--batch/--batch-mode: no questions (format, migrate, reencrypt) */
    unsigned tries; /* -T/--tries: attempts at a passphrase prompt (format, migrate, reencrypt) */
    int argc;       /* the whole command line, for the --debug header line */
    const char **argv;
};
extern struct fl_common_opts fl_opts;

/*
 * Parse @p verb's command line (@p argv[0] is "fipsluks VERB") with the popt table built from
 * fl_option_table[]: each value is collected into @p ret (a repeated option replaces the last value,
 * or, where it is repeatable, adds one; nothing leaks). Then the one validator of the shared options:
 * numbers within their range, --hash in lower case and approved, --iter-time and
 * --pbkdf-force-iterations not both, --keyfile-offset/--keyfile-size only with --key-file, standard
 * input read once; -v, --debug, -q, -T into fl_opts. Errors are reported (pointing at the verb's
 * --help). @p ret is filled as far as parsing got, even on failure: release it with fl_args_free().
 * @return 0 or -EINVAL.
 */
int fl_options_parse(enum fl_verb_id verb, int argc, const char **argv, struct fl_args *ret);
void fl_args_free(struct fl_args *a);
/* The last value of @p opt, or NULL. */
const char *fl_arg(const struct fl_args *a, enum fl_opt opt);
/* Whether @p opt was given. */
bool fl_flag(const struct fl_args *a, enum fl_opt opt);
/* Every value of @p opt, NULL-terminated (an empty list when none). */
char *const *fl_arg_list(const struct fl_args *a, enum fl_opt opt);
/* What fl_arg_choice() returns for the options with a set of values: an index into the option's set in
 * options.c, whose strings are written there at these indices. */
enum fl_scan_format {
    FL_SCAN_FORMAT_TEXT,
    FL_SCAN_FORMAT_JSON,
    FL_SCAN_FORMAT_JSON_LINES,
    FL_SCAN_FORMAT_PROMETHEUS
};
enum fl_check_format { FL_CHECK_FORMAT_TEXT, FL_CHECK_FORMAT_JSON, FL_CHECK_FORMAT_PROMETHEUS };
enum fl_emit { FL_EMIT_BUTANE, FL_EMIT_IGNITION };
enum fl_verify_data { FL_VERIFY_DATA_SAMPLE, FL_VERIFY_DATA_FULL };
/* The columns of report's host table (report.c), in their default order: fl_report_columns[] are their
 * names (what --output takes), fl_report_columns_help[] what each shows; both NULL-terminated. */
enum fl_report_column {
    FL_COL_HOST,
    FL_COL_OS,
    FL_COL_SCANNED,
    FL_COL_VOLUMES,
    FL_COL_OK,
    FL_COL_NOT_OK,
    FL_COL_UNREADABLE,
    FL_COL_STATE,
    FL_COL_COUNT,
};
extern const char *const fl_report_columns[FL_COL_COUNT + 1];
extern const char *const fl_report_columns_help[FL_COL_COUNT + 1];
/* @p opt's set of values for @p verb (NULL-terminated), or NULL when it takes any. */
const char *const *fl_option_values(enum fl_verb_id verb, enum fl_opt opt);
/* The index in fl_option_values(a->verb, opt) of @p opt's (last) value, or -1 when it was not given. */
int fl_arg_choice(const struct fl_args *a, enum fl_opt opt);
/* Most items of a list (fl_option.list): more are refused. */
#define FL_LIST_MAX 32
/* The indices in fl_option_values(a->verb, opt) of the items of @p opt's (last) value, a comma-separated
 * list (fl_option.list) that fl_options_parse() checked, into @p ret; *@p ret_add: a "+" in front (add them
 * to the default list). @return how many (0: the option was not given). */
size_t fl_arg_choices(const struct fl_args *a, enum fl_opt opt, int ret[FL_LIST_MAX], bool *ret_add);
/* The positional arguments, NULL-terminated, or NULL. */
const char **fl_args_rest(const struct fl_args *a);
/*
 * "fipsluks __complete" (hidden; what the bash completion reads, so that it cannot drift from the tables):
 * one line per verb, "verb NAME"; per option of each verb, "option VERB --LONG -S ARG" (-S: "-" without
 * a short name; ARG: the argument's name in --help, "-" for a flag); per allowed value, "value VERB --LONG
 * VALUE". Option names, argument names and values contain no spaces.
 */
void fl_options_complete(FILE *f);
/* The option whose long name is @p name, or FL_OPT_COUNT. */
enum fl_opt fl_option_by_name(const char *name);
/* The option of each parameter fl_format_check_params() refuses (format.c), by enum fl_format_param. */
extern const enum fl_opt fl_format_param_option[];
/* Print an error for a usage problem and return -EINVAL. */
int fl_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- key files (keyfile.c) ---- */

struct fl_secret;
/*
 * Read key file @p path ("-": standard input) with --keyfile-offset @p offset and --keyfile-size
 * @p size (0: the whole file), as every verb does: warns when group or others can read it and when
 * the secret is short (fl_warn_short_secret()). Errors are not reported: fl_key_file_error() words
 * them. @return 0, or fl_secret_read_key_file()'s -errno.
 */
int fl_read_key_file(const char *path, uint64_t offset, uint64_t size, struct fl_secret **ret);
/* The one wording of fl_read_key_file()'s failure @p r for @p path, into @p why (for the caller to report).
 * @return @p r. */
int fl_key_file_error(int r, const char *path, struct fl_why *why);
/*
 * Every --key-file of @p a read once, in order, with fl_read_key_file() and @p a's --keyfile-offset
 * and --keyfile-size, into @p secrets, which has room for @p max: *@p n counts those read, which the
 * caller owns, also on failure. On failure @p why says what, naming the file.
 */
int fl_read_key_files(const struct fl_args *a, struct fl_secret **secrets, size_t max, size_t *n,
                      struct fl_why *why);
/* Warn when @p s, from @p source ("key file 'x'", "the prompt"), is shorter than
 * FL_SECRET_MIN_PASSPHRASE. */
void fl_warn_short_secret(const struct fl_secret *s, const char *source);

/* ---- the secrets offered to migrate and reencrypt (secret-offers.c) ---- */

struct fl_secret_offer;
/* Where secret @p i of the @p n @p offers came from ("key file 'x'"), or "the typed passphrase" (a typed
 * secret, -1, or one out of range). */
const char *fl_offer_source(const struct fl_secret_offer *offers, size_t n, int i);
/* The summary after matching: "SOURCE opens keyslot N" for each of @p offers that opens one, in order. */
void fl_print_offer_keyslots(FILE *out, const struct fl_secret_offer *offers, size_t n);

/* ---- the operator's terminal (prompt.c) ---- */

/* Standard input and standard error are both terminals. */
bool fl_interactive(void);
/* Ask for a secret on /dev/tty without echo. @return 0, -ENOTTY (no terminal), -ECANCELED (Ctrl-C, or
 * another signal that would end the process), -EINTR (a signal the program handles), -EFBIG. */
int fl_prompt_secret(const char *prompt, struct fl_secret **ret);
/* Ask @p question on /dev/tty; @return 1 when the reply is exactly @p answer, 0 if not, or -errno. */
int fl_confirm(const char *question, const char *answer);
/* Ask @p question on /dev/tty and put the reply (one line, without the newline) into @p buf.
 * @return 0, -ENOTTY (no terminal), -EINTR (a signal the program handles), -EFBIG (longer than @p size - 1).
 */
int fl_ask(const char *question, char *buf, size_t size);

/* ---- messages on standard error (log.c) ---- */

/*
 * Report the error @p r (a negative errno) that the caller handles: "fipsluks: " and the message,
 * escaped (user- and header-supplied bytes cannot inject terminal escapes or newlines), on one line
 * of standard error. %m in @p fmt is strerror(-@p r). @return @p r, to return it on:
 *     return fl_log_error_errno(r, "cannot read key file '%s': %m", path);
 * Log once, where the error is handled; the exit code comes from fl_exit_code(r).
 */
int fl_log_error_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "fipsluks: warning: …" on standard error, escaped. */
void fl_log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The global libcryptsetup log callback: debug lines with --debug, the rest with --verbose; the last
 * error is kept for fl_cryptsetup_last_error(). */
void fl_cryptsetup_log(int level, const char *msg, void *usrptr);
/* libcryptsetup's last error message (without the newline), or "" if none since the start. */
const char *fl_cryptsetup_last_error(void);
/* With --verbose: "Command successful." or "Command failed with code N (meaning)." on stderr. */
void fl_log_status(int exit_code);
/* What an exit code means, as fipsluks(8) says. */
const char *fl_exit_meaning(int exit_code);

/* ---- stopping on signals (stop.c), for the verbs that write ---- */

#include <signal.h>
/* Set by SIGINT/SIGTERM/SIGHUP once fl_stop_catch() is in place: the signal number, or 0. */
extern volatile sig_atomic_t fl_interrupted;
/* Catch the three signals (system calls restart with @p restart; not at prompts, so Ctrl-C ends them). */
void fl_stop_catch(bool restart);
/* What the handler writes on standard error at the first signal (a static string; NULL: nothing). */
void fl_stop_message(const char *msg);
/* fl_prompt_secret() that Ctrl-C ends: @return 0 with a secret, 1 for an empty answer (skip), -EINTR, -errno.
 */
int fl_stop_ask_secret(const char *prompt, struct fl_secret **ret);
/* fl_confirm() that Ctrl-C ends. */
int fl_stop_confirm(const char *question, const char *answer);

/* ---- output (output.c) ---- */

enum fl_color { FL_COLOR_RED, FL_COLOR_YELLOW, FL_COLOR_GREEN, FL_COLOR_BOLD, FL_COLOR_DIM };

/* Whether colours are used on @p f: a terminal, NO_COLOR unset, TERM not "dumb". */
bool fl_use_color(FILE *f);
const char *fl_color_on(FILE *f, enum fl_color c);
const char *fl_color_off(FILE *f);

/*
 * Write @p s for a person: C0 controls (newline too), DEL, C1 controls (U+0080-U+009F), the invisible
 * characters that change how text reads (bidi overrides such as U+202E, zero-width characters: see
 * fl_char_unsafe()) and bytes that are not valid UTF-8 shown as \xNN escapes, one per byte (a C1
 * control is two: \xc2\x9b; U+202E three: \xe2\x80\xae).
 */
void fl_fputs_escaped(const char *s, FILE *f);
/* The same, but the ASCII bytes in @p keep (e.g. "\n") are written as they are. */
void fl_fputs_escaped_keep(const char *s, FILE *f, const char *keep);
/* printf, then fl_fputs_escaped() on the result (newlines too: end a line with fputc). @return 0, -ENOMEM. */
int fl_fprintf_escaped(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fl_vfprintf_escaped(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Length of the valid UTF-8 sequence at @p s (1..4), or 0 when it is not valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF are not). */
size_t fl_utf8_len(const unsigned char *s);
/* A JSON string for @p s (NULL → JSON null), invalid UTF-8 replaced by U+FFFD. */
json_object *fl_json_string(const char *s);
/* A JSON number, or null when @p present is false. */
json_object *fl_json_u64(unsigned long long v, bool present);
/* Print @p doc to stdout as one line (or pretty with @p pretty), followed by a newline. */
int fl_json_print(json_object *doc, bool pretty);
/*
 * Write @p o to @p f compactly, as fl_json_print(o, false) would but without the newline; with
 * @p open (an object), all but its closing brace, so that more members can follow: a document
 * written piece by piece (streamed) has the same bytes as one printed whole. @return 0 or -errno.
 */
int fl_json_write(FILE *f, json_object *o, bool open);

/*
 * JSON written straight as text, byte for byte what json-c writes for the same objects (compact, "/"
 * not escaped: fl_json_write()), without building them: for what is written once per volume.
 * Zero-initialise; each call adds a comma where one is due. Text in w.sb (fl_sb_take()).
 */
struct fl_jw {
    struct fl_sb sb;
    bool more; /* a value was written at this level: the next needs a comma */
};
void fl_jw_begin(struct fl_jw *w, char open); /* '{' or '[' */
void fl_jw_end(struct fl_jw *w, char close);
void fl_jw_key(struct fl_jw *w,
               const char *key); /* a member's name, escaped as json-c does: its value comes next */
void fl_jw_string(struct fl_jw *w,
                  const char *s); /* as fl_json_string(): NULL is null, U+FFFD for bad UTF-8 */
void fl_jw_int(struct fl_jw *w, int64_t v);
void fl_jw_u64(struct fl_jw *w, unsigned long long v, bool present); /* as fl_json_u64() */
void fl_jw_bool(struct fl_jw *w, bool v);
void fl_jw_null(struct fl_jw *w);

/* ---- volumes as JSON and text (volume-show.c) ---- */

/* The JSON object of one scanned volume (schema in fipsluks-scan(8)). */
json_object *fl_json_volume(const struct fl_volume *v, const struct fl_findings *f);
/* The JSON object of a volume that could not be read. */
json_object *fl_json_volume_error(const char *path, int err);
/* The text form of one scanned volume. */
void fl_print_volume(FILE *out, const struct fl_volume *v, const struct fl_findings *f);
/* scan's fields of a volume: "crypttab" (@p entry's object, or null), and with an entry each keyslot's
 * "crypttab_key" (@p keys by keyslot index, fl_crypttab_try_keys(); null for a keyslot not tried). */
struct fl_jw_crypttab {
    const struct fl_crypttab_entry *entry;
    const enum fl_crypttab_key *keys;
};
/* Write fl_json_volume()'s object, with @p ct's fields (schema in fipsluks-scan(8)) unless NULL, and
 * leave it open (fl_jw_end() closes it) for more members. */
void fl_jw_volume(struct fl_jw *w, const struct fl_volume *v, const struct fl_findings *f,
                  const struct fl_jw_crypttab *ct);
/* "  crypttab: NAME, key file PATH (opens keyslot 0)…" for volume @p v, in crypttab as @p e. */
void fl_print_crypttab(FILE *out, const struct fl_volume *v, const struct fl_crypttab_entry *e,
                       const enum fl_crypttab_key *keys);

/* ---- the envelope of every JSON document, host identity and time (record.c) ---- */

struct fl_identity;
/* Add the fields every JSON document and record begins with to @p doc: schema_version, record
 * (@p record: "scan", "check", "migrate", "format", "report", …), tool, version. The caller adds the
 * rest (a streaming writer too: envelope first, then its own fields). Schema in fipsluks-scan(8). */
void fl_json_envelope(json_object *doc, const char *record);

/* The five host-identity fields, whatever struct they come from (struct fl_identity, a report's
 * struct fl_fleet_host). Strings may be NULL; kernel_fips is 1, 0 or -1 (unknown). */
/* Add hostname, machine_id, os_id, os_version_id (null when NULL) and kernel_fips (null when < 0) to
 * @p o: the host fields of a record (struct fl_identity) and of a fleet report's host, named once. */
void fl_json_host_fields(json_object *o, const char *hostname, const char *machine_id, const char *os_id,
                         const char *os_version_id, int kernel_fips);

/* Add the envelope (fl_json_envelope()), "host" ({fl_json_host_fields()} of @p id) and @p time_key
 * ("scanned_at", "checked_at", "finished_at") with @p id's timestamp to @p doc. @return 0 or -ENOMEM. */
int fl_json_record_add(json_object *doc, const char *record, const struct fl_identity *id,
                       const char *time_key);
/* A new JSON object holding what fl_json_record_add() adds, or NULL (no memory). */
json_object *fl_json_record(const char *record, const struct fl_identity *id, const char *time_key);
/* fl_json_record_add() with this host's identity, read now (migrate, format: no --root). @return 0 or
 * -ENOMEM. */
int fl_json_record_this_host(json_object *doc, const char *record, const char *time_key);

/* ---- files written atomically (atomic.c) ---- */

/* A file being written: a temporary file next to @p path, renamed over it on commit. */
struct fl_atomic {
    FILE *file; /* write here */
    char *path;
    char *tmp;
};
/* Start writing @p path (mode 0644). @return 0 or -errno. */
int fl_atomic_open(const char *path, struct fl_atomic *ret);
/* Flush, fsync and rename into place; on failure the temporary file is removed. @return 0 or -errno. */
int fl_atomic_commit(struct fl_atomic *a);
/* Drop the temporary file; @p path is left as it was. */
void fl_atomic_abort(struct fl_atomic *a);

/* ---- node_exporter textfile format (prometheus.c) ---- */

struct fl_prom;
int fl_prom_new(struct fl_prom **ret);
void fl_prom_free(struct fl_prom *p);
/* Count a scanned volume (its gauge, its keyslots by KDF, its findings). @return 0 or -ENOMEM. */
int fl_prom_volume(struct fl_prom *p, const struct fl_volume *v, const struct fl_findings *f);
/* Count a target that could not be read. @return 0 or -ENOMEM. */
int fl_prom_unreadable(struct fl_prom *p, const char *path);
/* Write every metric family (names and meaning in fipsluks-scan(8)); @p fips: the host's FIPS mode and
 * switches. @return 0 or -errno. */
struct fl_fips_state;
int fl_prom_write(struct fl_prom *p, FILE *out, const struct fl_identity *id,
                  const struct fl_fips_state *fips, double duration_seconds);
/* The helpers fipsluks check --format prometheus shares: a family's HELP and TYPE gauge lines, and a
 * label value (see prometheus.c). */
void fl_prom_family(FILE *out, const char *name, const char *help);
void fl_prom_label_value(FILE *out, const char *s);

#endif
