/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fipsluks migrate: re-wrap keyslots a FIPS host refuses as PBKDF2 keyslots, crash-safely.
 * The protocol (matching, backup, journal, conversion, verification, recovery) is fl_migrate() in
 * the library; this file reads options and secrets, prompts, catches signals and reports.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fipsluks/crypttab.h"
#include "fipsluks/discover.h"
#include "fipsluks/kdf.h"
#include "fipsluks/luks1.h"
#include "fipsluks/migrate.h"
#include "fipsluks/secret.h"
#include "fipsluks/util.h"
#include "cli.h"

struct opts {
    struct fl_args args; /* the command line, which owns the strings below */
    char *const *key_files;
    const char *header;
    const char *path;
    const char *root; /* --crypttab --root */
    unsigned tries;
    bool batch, allow_non_fips, json, convert_luks1, crypttab;
    /* what fl_migrate() is told (--hash, --iter-time, --pbkdf-force-iterations, --key-slot: -1 for every
     * keyslot that needs it, --dry-run, --allow-in-place, --header-backup), parsed straight into it */
    struct fl_migrate_options lib;
};

struct run {
    struct opts o;
    struct fl_migration *m;
    struct fl_secret_offer secrets[FL_MAX_KEYSLOTS];
    struct fl_secret *owned[FL_MAX_KEYSLOTS]; /* the same secrets, to free */
    char *sources[FL_MAX_KEYSLOTS];           /* "key file 'x'" for each of secrets[] */
    size_t n_secrets;
    struct fl_migrate_result res;
    bool forecast;                  /* a dry run got to its end: res.forecast says what a real run leaves */
    char from[FL_MAX_KEYSLOTS][96]; /* each converted keyslot's KDF before the conversion */
    char luks1_backup[PATH_MAX];    /* --convert-luks1: the LUKS1 header backup, "" if none */
    char *luks2_backup;             /* --convert-luks1 --header-backup FILE: FILE.luks2 for the migration */
    char error[1024];               /* the message of the error that ended the run, for --json */
    const struct fl_crypttab_entry
        *entry; /* --crypttab: the entry this run converts; its key is secrets[0] */
};

/* ---- signals ---- */

static const char stop_before[] = "\nfipsluks: interrupted: nothing has been written; stopping\n";
static const char stop_during[] = "\nfipsluks: interrupted: finishing the current step (the volume is safe), "
                                  "then stopping\n";

/* ---- messages ---- */

static bool text(const struct run *run)
{
    return !run->o.json;
}

static void say(const struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct run *run, const char *fmt, ...)
{
    va_list ap;

    if (!text(run))
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

/* Progress for a person watching a terminal (standard error), never in --json or piped runs. */
static void progress(const struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const struct run *run, const char *fmt, ...)
{
    va_list ap;

    if (!isatty(STDERR_FILENO))
        return;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* Report the error that ends the run (standard error, and the JSON document). @return @p r. */
static int fail(struct run *run, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct run *run, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(run->error, sizeof(run->error), fmt, ap);
    va_end(ap);
    return fl_log_error_errno(r, "%s", run->error);
}

/* A keyslot's KDF for people: header strings escaped (they are untrusted), into @p buf. */
static void describe_kdf(const struct fl_keyslot *ks, char *buf, size_t size)
{
    char raw[256];
    FILE *f;

    if (!ks)
        snprintf(raw, sizeof(raw), "gone");
    else if (ks->kdf && !strcmp(ks->kdf, "pbkdf2"))
        snprintf(raw, sizeof(raw), "pbkdf2 %s, %u iterations", ks->hash ? ks->hash : "?", ks->iterations);
    else if (ks->kdf && ks->memory_kib)
        snprintf(raw, sizeof(raw), "%s, %u MiB", ks->kdf, ks->memory_kib / 1024);
    else if (ks->kdf)
        snprintf(raw, sizeof(raw), "%s", ks->kdf);
    else
        snprintf(raw, sizeof(raw), "no kdf");
    buf[0] = '\0';
    f = fmemopen(buf, size, "w");
    if (!f)
        return;
    fl_fputs_escaped(raw, f);
    fclose(f);
}

/* The keyslot's KDF for a plan line: "argon2id", "pbkdf2 ripemd160, 1000 iterations". */
static void describe_from(const struct fl_keyslot *ks, char *buf, size_t size)
{
    struct fl_keyslot bare;

    if (ks && ks->kdf && strcmp(ks->kdf, "pbkdf2")) {
        bare = *ks;
        bare.memory_kib = 0;
        ks = &bare;
    }
    describe_kdf(ks, buf, size);
}

static const char *source_of(const struct run *run, int secret)
{
    return fl_offer_source(run->secrets, run->n_secrets, secret);
}

/* ---- options ---- */

static int parse_options(int argc, const char **argv, struct opts *o)
{
    const struct fl_args *a = &o->args;
    const char **args;
    int r;

    o->lib.keyslot = -1;
    r = fl_options_parse(FL_VERB_MIGRATE, argc, argv, &o->args);
    o->json = fl_flag(a, FL_OPT_JSON); /* first: even a usage error gets its JSON document */
    if (r < 0)
        return r;
    args = fl_args_rest(a);
    o->crypttab = fl_flag(a, FL_OPT_CRYPTTAB);
    o->root = fl_arg(a, FL_OPT_ROOT);
    if (o->crypttab) {
        if (args && args[0])
            return fl_usage_error("migrate",
                                  "--crypttab converts the volumes /etc/crypttab lists: no DEVICE");
        if (fl_flag(a, FL_OPT_KEY_FILE) || fl_flag(a, FL_OPT_HEADER) || fl_flag(a, FL_OPT_HEADER_BACKUP) ||
            fl_flag(a, FL_OPT_KEY_SLOT) || fl_flag(a, FL_OPT_KEYFILE_OFFSET) ||
            fl_flag(a, FL_OPT_KEYFILE_SIZE))
            return fl_usage_error("migrate",
                                  "--crypttab takes each volume's key file, key-slot=, keyfile-offset= "
                                  "and keyfile-size= from /etc/crypttab: no --key-file, --key-slot, "
                                  "--keyfile-offset, --keyfile-size, --header or --header-backup");
        if (o->root && (!*o->root || !strcmp(o->root, "/")))
            o->root = NULL;
    } else {
        if (fl_flag(a, FL_OPT_ROOT))
            return fl_usage_error("migrate", "--root goes with --crypttab");
        if (!args || !args[0] || args[1])
            return fl_usage_error("migrate", "needs exactly one DEVICE or IMAGE");
        o->path = args[0];
    }
    o->lib.dry_run = fl_flag(a, FL_OPT_DRY_RUN);
    o->batch = fl_opts.batch;
    o->tries = fl_opts.tries;
    o->lib.allow_in_place = fl_flag(a, FL_OPT_ALLOW_IN_PLACE);
    o->allow_non_fips = fl_flag(a, FL_OPT_ALLOW_NON_FIPS_UNLOCK);
    o->convert_luks1 = fl_flag(a, FL_OPT_CONVERT_LUKS1);
    o->key_files = fl_arg_list(a, FL_OPT_KEY_FILE);
    o->lib.hash = fl_arg(a, FL_OPT_HASH) ? fl_arg(a, FL_OPT_HASH) : FL_DEFAULT_HASH;
    o->header = fl_arg(a, FL_OPT_HEADER);
    o->lib.backup = fl_arg(a, FL_OPT_HEADER_BACKUP);
    if (fl_flag(a, FL_OPT_KEY_SLOT))
        o->lib.keyslot = (int)a->num[FL_OPT_KEY_SLOT];
    o->lib.iter_time_ms =
        fl_flag(a, FL_OPT_ITER_TIME) ? (uint32_t)a->num[FL_OPT_ITER_TIME] : FL_DEFAULT_ITER_TIME_MS;
    o->lib.iterations = (uint32_t)a->num[FL_OPT_ITERATIONS];
    return 0;
}

/* ---- secrets ---- */

/* Every key file, read once. */
static int read_key_files(struct run *run)
{
    struct fl_why why;
    int r;

    r = fl_read_key_files(&run->o.args, run->owned, FL_MAX_KEYSLOTS, &run->n_secrets, &why);
    if (r < 0)
        r = fail(run, r, "%s", why.text);
    /* one secret per --key-file, in the order of the NULL-terminated key_files (clang's analyzer cannot
     * tell that they are as many) */
    for (size_t i = 0; run->o.key_files && run->o.key_files[i] && i < run->n_secrets; i++) {
        const char *file = run->o.key_files[i];

        if (!strcmp(file, "-"))
            run->sources[i] = strdup("standard input");
        else if (asprintf(&run->sources[i], "key file '%s'", file) < 0)
            run->sources[i] = NULL;
        /* sources[] keeps the string, and verb_migrate() frees it; clang's analyzer drops the binding of
         * sources[i] at the next store at a symbolic index and reports it leaked. */
        /* NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
        run->secrets[i].secret = run->owned[i];
        run->secrets[i].source = run->sources[i];
        if (!run->sources[i] && r >= 0)
            r = fail(run, -ENOMEM, "cannot read key file '%s': %s", file, strerror(ENOMEM));
    }
    return r;
}

static int ask(void *userdata, const struct fl_keyslot *ks, unsigned attempt, struct fl_secret **ret)
{
    struct run *run = userdata;
    char prompt[256], kdf[96];
    int r;

    if (attempt >= run->o.tries)
        return -EPERM;
    describe_from(ks, kdf, sizeof(kdf));
    snprintf(prompt, sizeof(prompt),
             "Enter passphrase for keyslot %d (%s) [empty to skip]: ", ks ? ks->id : -1, kdf);
    r = fl_stop_ask_secret(prompt, ret);
    if (r != 0)
        return r;
    fl_warn_short_secret(*ret, "typed at the terminal");
    return 0;
}

/* With --verbose, when each step starts (seconds since the run started), for timing a migration. */
static void note_time(enum fl_migrate_event ev, int keyslot)
{
    static const char *const names[] = {
        [FL_EVENT_UNLOCK] = "unlock",       [FL_EVENT_WRONG_SECRET] = "wrong-secret",
        [FL_EVENT_CALIBRATE] = "calibrate", [FL_EVENT_BACKUP] = "backed-up",
        [FL_EVENT_RECOVER] = "recover",     [FL_EVENT_CONVERT] = "journal",
        [FL_EVENT_WRITE] = "write",         [FL_EVENT_VERIFY] = "verify",
        [FL_EVENT_CONVERTED] = "converted",
    };
    static struct timespec start;
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!start.tv_sec && !start.tv_nsec)
        start = now;
    if (fl_opts.verbose)
        fprintf(stderr, "fipsluks: %8.3f s %s keyslot %d\n",
                (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9, names[ev],
                keyslot);
}

static void event(void *userdata, enum fl_migrate_event ev, int keyslot, int secret)
{
    struct run *run = userdata;
    const struct fl_volume *v = fl_migration_volume(run->m);
    const struct fl_keyslot *ks = fl_volume_keyslot(v, keyslot);
    char kdf[96];

    note_time(ev, keyslot);

    describe_kdf(ks, kdf, sizeof(kdf));
    switch (ev) {
    case FL_EVENT_UNLOCK:
        progress(run, "unlocking keyslot %d (%s) with %s ...\n", keyslot, kdf, source_of(run, secret));
        break;
    case FL_EVENT_WRONG_SECRET:
        if (keyslot >= 0)
            fprintf(stderr, "No key available with this passphrase.\n");
        break;
    case FL_EVENT_CALIBRATE:
        progress(run, "timing PBKDF2-%s for the new keyslots ...\n", run->o.lib.hash);
        break;
    case FL_EVENT_BACKUP:
        fl_stop_message(stop_during);
        say(run, "header backup: %s\n", run->res.backup);
        if (run->res.backup_on_volume)
            fl_log_warning("the header backup '%s' is on a file system inside the volume it backs up: if the "
                           "header is damaged, the backup cannot be read. Keep a copy elsewhere, or pass "
                           "--header-backup with a path on other storage",
                           run->res.backup);
        break;
    case FL_EVENT_RECOVER:
        say(run, "keyslot %d: finishing an interrupted migration\n", keyslot);
        break;
    case FL_EVENT_CONVERT:
        if (keyslot >= 0 && keyslot < FL_MAX_KEYSLOTS)
            describe_from(ks, run->from[keyslot], sizeof(run->from[keyslot]));
        progress(run, "keyslot %d: converting %s to pbkdf2 %s, %u iterations\n", keyslot, kdf,
                 run->o.lib.hash, run->res.iterations);
        break;
    case FL_EVENT_WRITE:
        progress(run, "  writing PBKDF2 keyslot %d ...\n", keyslot);
        break;
    case FL_EVENT_VERIFY:
        progress(run, "  verifying that keyslot %d opens ...\n", keyslot);
        break;
    case FL_EVENT_CONVERTED:
        for (size_t i = 0; i < run->res.n_jobs; i++)
            if (run->res.jobs[i].keyslot == keyslot)
                say(run, "keyslot %d: %s -> pbkdf2 %s, %u iterations ... done, verified\n", keyslot,
                    run->from[keyslot], run->o.lib.hash, run->res.iterations);
        break;
    }
}

static bool stop(void *userdata)
{
    return fl_interrupted != 0;
}

static void print_plan(const struct run *run, const struct fl_migrate_job *jobs, size_t n)
{
    const struct fl_volume *v = fl_migration_volume(run->m);

    say(run, "%s: %zu keyslot%s to convert to PBKDF2-%s:\n", run->o.path, n, n == 1 ? "" : "s",
        run->o.lib.hash);
    for (size_t i = 0; i < n; i++) {
        char from[96];

        describe_from(fl_volume_keyslot(v, jobs[i].keyslot), from, sizeof(from));
        say(run, "  keyslot %-2d %s -> pbkdf2 %s (%s)%s%s\n", jobs[i].keyslot, from, run->o.lib.hash,
            jobs[i].rules, jobs[i].secret >= 0 ? ": opens with " : ", no secret: skipped",
            jobs[i].secret >= 0 ? source_of(run, jobs[i].secret) : "");
    }
}

static int confirm(void *userdata, const struct fl_migrate_job *jobs, size_t n)
{
    struct run *run = userdata;
    int r;

    print_plan(run, jobs, n);
    if (run->o.batch || !fl_interactive())
        return 0;
    r = fl_stop_confirm("Convert these keyslots? Type YES to proceed: ", "YES");
    if (r < 0)
        return r; /* -EINTR: stopped by a signal */
    return r > 0 ? 0 : -ECANCELED;
}

/* ---- reporting ---- */

/* The policy's remedy for keyslot @p id (for a token-bound keyslot: how to re-enroll it), or NULL. */
static const char *keyslot_remedy(const struct fl_findings *f, int id)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->items[i].object == FL_OBJECT_KEYSLOT && f->items[i].object_id == id && f->items[i].remedy)
            return f->items[i].remedy;
    return NULL;
}

static const char *job_status(enum fl_job_status s)
{
    static const char *const names[] = {
        [FL_JOB_PLANNED] = "planned", [FL_JOB_CONVERTED] = "converted",     [FL_JOB_NO_SECRET] = "no-secret",
        [FL_JOB_FAILED] = "failed",   [FL_JOB_INTERRUPTED] = "interrupted",
    };
    return names[s];
}

static bool journal_pending(const struct run *run, const struct fl_journal *j)
{
    const struct fl_volume *v = fl_migration_volume(run->m);

    for (size_t t = 0; v && t < v->n_tokens; t++)
        if (v->tokens[t].id == j->token && v->tokens[t].type &&
            !strcmp(v->tokens[t].type, FL_MIGRATION_TOKEN))
            return true;
    return false;
}

static json_object *json_report(struct run *run, const struct fl_findings *f, const struct fl_slot *slots,
                                int n, int code, bool compatible)
{
    const struct fl_volume *v = run->m ? fl_migration_volume(run->m) : NULL;
    json_object *doc = json_object_new_object(), *jobs = json_object_new_array(),
                *rem = json_object_new_array(), *secrets = json_object_new_array(),
                *journals = json_object_new_array(), *err = NULL;

    (void)fl_json_record_this_host(doc, "migrate", "finished_at");
    json_object_object_add(doc, "path", fl_json_string(run->o.path));
    json_object_object_add(doc, "header", fl_json_string(run->o.header));
    json_object_object_add(doc, "dry_run", json_object_new_boolean(run->o.lib.dry_run));
    json_object_object_add(doc, "allow_non_fips_unlock", json_object_new_boolean(run->o.allow_non_fips));
    json_object_object_add(doc, "backup", run->res.backup[0] ? fl_json_string(run->res.backup) : NULL);
    json_object_object_add(doc, "backup_on_volume", json_object_new_boolean(run->res.backup_on_volume));
    json_object_object_add(doc, "luks1_backup",
                           run->luks1_backup[0] ? fl_json_string(run->luks1_backup) : NULL);
    json_object_object_add(doc, "hash", fl_json_string(run->o.lib.hash));
    json_object_object_add(doc, "iterations", fl_json_u64(run->res.iterations, run->res.iterations > 0));
    if (run->entry) {
        json_object *ct = json_object_new_object();
        json_object_object_add(ct, "name", fl_json_string(run->entry->name));
        json_object_object_add(ct, "line", json_object_new_int((int)run->entry->line));
        json_object_object_add(ct, "device", fl_json_string(run->entry->device));
        json_object_object_add(ct, "key_file", fl_json_string(run->entry->key_file));
        json_object_object_add(doc, "crypttab", ct);
    }
    for (size_t i = 0; i < run->n_secrets; i++) {
        json_object *o = json_object_new_object();
        const char *file = run->entry ? run->entry->key_file : run->o.key_files[i];
        json_object_object_add(o, "key_file", fl_json_string(strcmp(file, "-") ? file : NULL));
        json_object_object_add(o, "stdin", json_object_new_boolean(!strcmp(file, "-")));
        json_object_object_add(
            o, "keyslot", run->secrets[i].keyslot >= 0 ? json_object_new_int(run->secrets[i].keyslot) : NULL);
        json_object_array_add(secrets, o);
    }
    json_object_object_add(doc, "secrets", secrets);
    for (size_t i = 0; i < run->res.n_jobs; i++) {
        const struct fl_migrate_job *j = &run->res.jobs[i];
        json_object *o = json_object_new_object();
        char from[96];

        if (run->from[j->keyslot][0])
            snprintf(from, sizeof(from), "%s", run->from[j->keyslot]);
        else
            describe_from(v ? fl_volume_keyslot(v, j->keyslot) : NULL, from, sizeof(from));
        json_object_object_add(o, "id", json_object_new_int(j->keyslot));
        json_object_object_add(o, "from", fl_json_string(from));
        json_object_object_add(o, "rules", json_object_new_string(j->rules));
        json_object_object_add(o, "status", json_object_new_string(job_status(j->status)));
        json_object_array_add(jobs, o);
    }
    json_object_object_add(doc, "keyslots", jobs);
    for (size_t i = 0; i < run->res.n_journals; i++) {
        const struct fl_journal *j = &run->res.journals[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "token", json_object_new_int(j->token));
        json_object_object_add(o, "keyslot", j->keyslot >= 0 ? json_object_new_int(j->keyslot) : NULL);
        json_object_object_add(o, "temp", j->temp >= 0 ? json_object_new_int(j->temp) : NULL);
        json_object_object_add(o, "problem", j->why.text[0] ? fl_json_string(j->why.text) : NULL);
        json_object_object_add(o, "pending", json_object_new_boolean(journal_pending(run, j)));
        json_object_array_add(journals, o);
    }
    json_object_object_add(doc, "journals", journals);
    for (int i = 0; i < n; i++)
        if (slots[i].plan == FL_SLOT_CONVERT || slots[i].plan == FL_SLOT_TOKEN_BOUND)
            json_object_array_add(rem, json_object_new_int(slots[i].id));
    json_object_object_add(doc, "remaining", rem);
    json_object_object_add(doc, "interrupted", json_object_new_boolean(fl_interrupted != 0));
    json_object_object_add(doc, "restored", json_object_new_boolean(run->res.restored));
    json_object_object_add(doc, "written", json_object_new_boolean(run->res.wrote));
    json_object_object_add(doc, "fips_compatible", v ? json_object_new_boolean(compatible) : NULL);
    json_object_object_add(doc, "would_be_fips_compatible",
                           run->forecast ? json_object_new_boolean(run->res.forecast.compatible) : NULL);
    json_object_object_add(doc, "volume", v ? fl_json_volume(v, f) : NULL);
    if (run->error[0]) {
        err = json_object_new_object();
        json_object_object_add(err, "exit_code", json_object_new_int(fl_exit_code(code)));
        json_object_object_add(err, "errno", code < 0 ? json_object_new_int(-code) : NULL);
        json_object_object_add(err, "message", fl_json_string(run->error));
        json_object_object_add(err, "keyslot",
                               run->res.failed_keyslot >= 0 ? json_object_new_int(run->res.failed_keyslot)
                                                            : NULL);
        json_object_object_add(
            err, "key_file",
            run->res.failed_secret >= 0 && (size_t)run->res.failed_secret < run->n_secrets
                ? fl_json_string(run->entry ? run->entry->key_file : run->o.key_files[run->res.failed_secret])
                : NULL);
    }
    json_object_object_add(doc, "error", err);
    return doc;
}

static void print_text(struct run *run, const struct fl_findings *f, const struct fl_slot *slots, int n,
                       bool compatible, int remaining)
{
    const struct fl_volume *v = fl_migration_volume(run->m);

    for (int i = 0; i < n; i++) {
        const struct fl_keyslot *ks = fl_volume_keyslot(v, slots[i].id);
        const struct fl_token *t = ks && ks->n_tokens ? fl_volume_token(v, ks->tokens[0]) : NULL;
        const char *fix = keyslot_remedy(f, slots[i].id);

        if (slots[i].plan == FL_SLOT_CONVERT)
            printf("keyslot %d still needs migration (%s): give its secret with --key-file, or run on a "
                   "terminal\n",
                   slots[i].id, slots[i].rules);
        else if (slots[i].plan == FL_SLOT_TOKEN_BOUND) {
            printf("keyslot %d is bound to a token (", slots[i].id);
            fl_fputs_escaped(t && t->type ? t->type : "token", stdout);
            printf(")\n");
        } else
            continue;
        if (fix) {
            printf("  fix: ");
            fl_fputs_escaped(fix, stdout);
            putchar('\n');
        }
    }
    for (size_t i = 0; i < run->res.n_journals; i++)
        if (journal_pending(run, &run->res.journals[i]) && !run->res.journals[i].why.text[0])
            printf(
                "keyslot %d has an unfinished migration (journal token %d): give its secret to finish it\n",
                run->res.journals[i].keyslot, run->res.journals[i].token);
    if (run->o.allow_non_fips)
        printf(
            "note: --allow-non-fips-unlock: this run computed keyslot KDFs with OpenSSL's non-FIPS default "
            "provider\n");
    if (fl_interrupted)
        printf("interrupted: the current step was completed and the volume is safe; run the same command "
               "again to continue\n");
    if (run->luks1_backup[0])
        printf("the LUKS1 header backup %s holds the old keyslots too: keep it only until the volume is "
               "verified\n",
               run->luks1_backup);
    if (run->res.backup[0] && run->res.wrote) {
        char *q = fl_shell_quote(run->res.backup);
        printf(
            "the header backup %s holds the old keyslots: anyone with an old secret can open the volume with "
            "it. Once the volume is verified, remove it (shred -u %s) or move it to protected storage\n",
            run->res.backup, q ? q : run->res.backup);
        free(q);
    }
    if (run->forecast && !compatible) {
        bool after = run->res.forecast.compatible && !remaining;
        printf("%s: NOT FIPS-compatible now; %s%s%s\n", run->o.path,
               fl_color_on(stdout, after ? FL_COLOR_GREEN : FL_COLOR_RED),
               after       ? "a real run with these secrets makes it FIPS-compatible"
               : remaining ? "a real run with these secrets leaves work to do (see above)"
                           : "a real run with these secrets leaves it NOT FIPS-compatible",
               fl_color_off(stdout));
        compatible = run->res.forecast.compatible; /* for the hint below */
    } else
        printf("%s: %s%s%s\n", run->o.path, fl_color_on(stdout, compatible ? FL_COLOR_GREEN : FL_COLOR_RED),
               compatible ? "FIPS-compatible" : "NOT FIPS-compatible", fl_color_off(stdout));
    if (!compatible && !remaining)
        printf("what migrate cannot fix (the cipher or the volume-key digest, see 'fipsluks scan %s') needs "
               "re-encryption: fipsluks reencrypt %s\n",
               run->o.path, run->o.path);
}

/* The report of a run that got as far as the migration: text or JSON; @return the exit code or @p result. */
static int report(struct run *run, int result)
{
    const struct fl_volume *v = run->m ? fl_migration_volume(run->m) : NULL;
    struct fl_findings f = {0};
    struct fl_slot slots[FL_MAX_KEYSLOTS];
    int n = 0, remaining = 0, r = 0, code;
    bool compatible = false;

    if (v) {
        r = fl_policy_evaluate(v, &f);
        if (r < 0) {
            fl_findings_clear(&f);
            return fl_log_error_errno(r, "cannot evaluate '%s': %m", run->o.path);
        }
        compatible = fl_findings_compatible(&f);
        n = fl_migration_plan(v, false, slots);
        if (n < 0)
            n = 0;
        for (int i = 0; i < n; i++)
            remaining += slots[i].plan == FL_SLOT_CONVERT || slots[i].plan == FL_SLOT_TOKEN_BOUND;
        for (size_t i = 0; i < run->res.n_journals; i++)
            remaining += journal_pending(run, &run->res.journals[i]);
    }
    if (run->forecast) { /* a dry run ends as the real run with the same secrets would */
        remaining = (int)run->res.forecast.n_left;
        for (int i = 0; i < n; i++)
            if (slots[i].plan == FL_SLOT_CONVERT || slots[i].plan == FL_SLOT_TOKEN_BOUND)
                slots[i].plan = run->res.forecast.left[slots[i].id] ? slots[i].plan : FL_SLOT_COMPLIANT;
    }
    code = result != 0                                                   ? result
           : remaining || fl_interrupted                                 ? FL_EXIT_INCOMPLETE
           : (run->forecast ? run->res.forecast.compatible : compatible) ? FL_EXIT_OK
                                                                         : FL_EXIT_INCOMPATIBLE;
    if (run->o.json) {
        json_object *doc = json_report(run, &f, slots, n, code, compatible);
        r = fl_json_print(doc, false);
        json_object_put(doc);
    } else if (v && result >= 0) {
        print_text(run, &f, slots, n, compatible, remaining);
        r = fflush(stdout) == EOF ? -EIO : 0;
    }
    if (r < 0)
        fl_log_error_errno(r, "cannot write the report: %m");
    fl_findings_clear(&f);
    return r < 0 ? r : code;
}

/* ---- the verb ---- */

static int explain_error(struct run *run, int r)
{
    const struct fl_migrate_result *res = &run->res;
    const char *what = run->o.header ? run->o.header : run->o.path;

    switch (-r) {
    case EPERM:
        if (res->failed_secret >= 0 && (size_t)res->failed_secret < run->n_secrets &&
            res->unusable_keyslot >= 0)
            return fail(run, r,
                        "%s opens no keyslot of '%s' that this host can compute (keyslot %d uses a KDF or "
                        "hash it cannot); nothing was written",
                        source_of(run, res->failed_secret), run->o.path, res->unusable_keyslot);
        if (res->failed_secret >= 0 && (size_t)res->failed_secret < run->n_secrets)
            return fail(run, r, "%s opens no keyslot of '%s'; nothing was written",
                        source_of(run, res->failed_secret), run->o.path);
        return fail(run, r, "no key available with this passphrase; nothing was written");
    case ENOTSUP:
        return fail(run, r,
                    "keyslot %d is argon2, which this FIPS host cannot compute (cryptsetup >= 2.7 with "
                    "OpenSSL >= 3.2 and the FIPS provider). Migrate before enabling FIPS mode, or on another "
                    "host against the image or a header backup, or pass --allow-non-fips-unlock to unlock "
                    "it with OpenSSL's non-FIPS default provider for this one process "
                    "(see fipsluks-migrate(8)); nothing was written",
                    res->failed_keyslot);
    case EINVAL:
        if (run->o.lib.keyslot >= 0 && !fl_volume_keyslot(fl_migration_volume(run->m), run->o.lib.keyslot))
            return fail(run, r, "'%s' has no keyslot %d (--key-slot); nothing was written", run->o.path,
                        run->o.lib.keyslot);
        break;
    case EROFS:
        return fail(run, r,
                    "'%s' is read-only (read-only device, media, mount or an immutable file)%s; nothing "
                    "was written",
                    what, run->o.lib.dry_run ? ", so a real run could not migrate it" : "");
    case EBUSY:
        if (fl_migration_volume(run->m)->reencrypt || fl_migration_volume(run->m)->unknown_requirements)
            return fail(run, r, "'%s' %s; finish or inspect it with cryptsetup first", run->o.path,
                        fl_migration_volume(run->m)->reencrypt ? "is in the middle of a reencryption"
                                                               : "has requirements this tool does not know");
        return fail(run, r, "another fipsluks migrate or reencrypt is working on '%s'; nothing was written",
                    what);
    case EUCLEAN:
        for (size_t i = 0; i < res->n_journals; i++)
            if (res->journals[i].why.text[0])
                fl_log_error_errno(0, "journal token %d in '%s' does not fit the header: %s",
                                   res->journals[i].token, what, res->journals[i].why.text);
        return fail(run, r,
                    "nothing was changed. Inspect the journal with 'cryptsetup token export --token-id N "
                    "%s'; if no migration of yours is pending, check that every keyslot opens, then remove "
                    "it with 'cryptsetup token remove --token-id N %s'",
                    what, what);
    case EXFULL:
        return fail(
            run, r,
            "%s'%s' has no free keyslot or keyslot area for a new keyslot, so keyslot %d could only be "
            "overwritten in place, which loses it if the machine crashes midway. Remove an unused "
            "keyslot first, or accept the risk with --allow-in-place (a header backup is written "
            "first); nothing was written",
            run->o.lib.dry_run ? "a real run would stop here: " : "", run->o.path, res->failed_keyslot);
    case ECANCELED:
        return fail(run, r, "not confirmed; nothing was written");
    case EINTR:
        return fail(run, r, "interrupted before anything was written; run the same command again");
    case EEXIST:
        return fail(run, r,
                    "%s the header backup '%s': it exists (a backup is never overwritten); "
                    "nothing was written",
                    run->o.lib.dry_run ? "a real run could not write" : "cannot write", res->backup);
    case EPROTO:
    case EIO:
        if (res->failed_keyslot >= 0 && res->wrote)
            return fail(run, r, "keyslot %d %s; %s", res->failed_keyslot,
                        r == -EPROTO ? "did not verify after conversion" : "could not be written (I/O error)",
                        res->restored ? "the header was restored from the backup"
                                      : "restoring the header backup failed too: restore it with 'cryptsetup "
                                        "luksHeaderRestore' from the backup");
        break;
    default:
        break;
    }
    if (!res->wrote && !res->backup[0])
        return fail(run, r, "cannot migrate '%s': %s; nothing was written", run->o.path, strerror(-r));
    if (!res->wrote)
        return fail(run, r, "cannot write the header backup '%s': %s; nothing was written to the volume",
                    res->backup, strerror(-r));
    return fail(run, r,
                "cannot migrate keyslot %d of '%s': %s. The volume opens with its old secrets; run "
                "the same command again to finish",
                res->failed_keyslot, run->o.path, strerror(-r));
}

static int explain_luks1(struct run *run)
{
    const struct fl_volume *v = fl_migration_volume(run->m);
    bool hash_ok = v->hash_spec && fl_policy_hash(v->hash_spec) != FL_NOT_APPROVED;

    if (hash_ok)
        fl_log_error_errno(
            0,
            "'%s' is LUKS1: 'fipsluks migrate --convert-luks1' converts it to LUKS2 (after a header "
            "backup) and then its keyslots; nothing was changed",
            run->o.path);
    else
        fl_log_error_errno(
            0,
            "'%s' is LUKS1 with the header hash %s, which every keyslot and the volume-key digest use: "
            "only re-encryption fixes the digest. 'fipsluks reencrypt %s' does all of it in one run; "
            "nothing was changed",
            run->o.path, v->hash_spec ? v->hash_spec : "?", run->o.path);
    return 0;
}

/*
 * --convert-luks1, first: a conversion cut short by an earlier run (killed while libcryptsetup moved
 * the keyslot material or wrote the LUKS2 header) gets its LUKS1 header back from that run's backup,
 * once proven this volume's (fl_luks1_recover()); convert_luks1() then converts it again.
 */
static int recover_luks1(struct run *run)
{
    struct fl_luks1_result lr;
    int r;

    fl_stop_message(stop_during); /* it may write */
    r = fl_luks1_recover(run->o.path, run->o.header, run->secrets, run->n_secrets, run->o.lib.backup, NULL,
                         &lr);
    if (!lr.wrote)
        fl_stop_message(stop_before);
    if (r < 0)
        return fail(run, r, "%s%s", lr.why.text[0] ? lr.why.text : strerror(-r),
                    lr.wrote ? "" : "; nothing was written");
    if (r > 0)
        say(run,
            "%s: an earlier conversion to LUKS2 was cut short; put back its LUKS1 header from the backup %s "
            "(same UUID and data offset; a given secret opens it)\n",
            run->o.path, lr.backup);
    return 0;
}

/*
 * --convert-luks1: LUKS1 to LUKS2 (fl_luks1_convert(): in-use check, header backup, crypt_convert),
 * then open the volume again so that the migration sees LUKS2.
 */
static int convert_luks1(struct run *run)
{
    struct fl_luks1_result lr = {0};
    int failed = -1, r;

    if (run->o.lib.dry_run) {
        say(run, "%s: LUKS1: would be converted to LUKS2 (after a header backup), then its keyslots\n",
            run->o.path);
        return FL_EXIT_INCOMPLETE;
    }
    r = fl_luks1_check_secrets(run->o.path, run->o.header, run->secrets, run->n_secrets, &failed);
    if (r == -EPERM)
        return fail(run, r, "%s opens no keyslot of '%s'; nothing was written", source_of(run, failed),
                    run->o.path);
    if (r < 0)
        return fail(run, r, "cannot convert '%s' to LUKS2: %s; nothing was written", run->o.path,
                    strerror(-r));
    fl_stop_message(stop_during);
    r = fl_luks1_convert(run->o.path, run->o.header, run->o.lib.backup, NULL, &lr);
    snprintf(run->luks1_backup, sizeof(run->luks1_backup), "%s", lr.backup);
    if (r == -EBUSY)
        return fail(run, r, "'%s' is in use (%s); nothing was changed", run->o.path, lr.why.text);
    if (r < 0)
        return fail(run, r, "cannot convert '%s' to LUKS2: %s (see 'fipsluks migrate -v'); %s", run->o.path,
                    strerror(-r), lr.backup[0] ? "the LUKS1 header is as it was" : "nothing was written");
    say(run, "%s: converted from LUKS1 to LUKS2 (LUKS1 header backup: %s)\n", run->o.path, lr.backup);
    fl_migration_free(run->m);
    run->m = NULL;
    r = fl_migration_open(run->o.path, run->o.header, &run->m);
    if (r < 0)
        return fail(run, r, "'%s': %s", run->o.header ? run->o.header : run->o.path,
                    fl_volume_strerror_at(r, run->o.header ? run->o.header : run->o.path));
    return 0;
}

static int migrate(struct run *run)
{
    struct fl_migrate_options mo = run->o.lib;
    struct fl_migrate_ops ops = {
        .userdata = run,
        .event = event,
        .stop = stop,
        .confirm = confirm,
        .ask = run->entry || (run->o.key_files && run->o.key_files[0]) ? NULL : ask,
    };
    bool keys_read = run->entry != NULL; /* --crypttab: its key is read already */
    int r;

    if (run->o.convert_luks1 && !run->o.lib.dry_run) {
        /* before the header is read: a conversion cut short may have left one that does not load */
        r = keys_read ? 0 : read_key_files(run);
        if (r < 0)
            return r;
        keys_read = true;
        r = recover_luks1(run);
        if (r < 0)
            return r;
    }
    r = fl_migration_open(run->o.path, run->o.header, &run->m);
    if (r < 0)
        return fail(run, r, "'%s': %s", run->o.header ? run->o.header : run->o.path,
                    fl_volume_strerror_at(r, run->o.header ? run->o.header : run->o.path));
    if (fl_migration_volume(run->m)->luks_version == 1 && !run->o.convert_luks1)
        return explain_luks1(run);
    r = keys_read ? 0 : read_key_files(run);
    if (r < 0)
        return r;
    if (fl_migration_volume(run->m)->luks_version == 1) {
        r = convert_luks1(run);
        if (r != 0)
            return r;
    }
    /* --header-backup FILE holds (or will hold) the LUKS1 header: the LUKS2 one goes next to it, also when
     * an earlier run was cut short after its conversion */
    if (run->o.convert_luks1 && run->o.lib.backup) {
        if (asprintf(&run->luks2_backup, "%s.luks2", run->o.lib.backup) < 0) {
            run->luks2_backup = NULL;
            return fail(run, -ENOMEM, "cannot migrate '%s': %s", run->o.path, strerror(ENOMEM));
        }
        mo.backup = run->luks2_backup;
    }
    if (!ops.ask && run->n_secrets == 0)
        return fail(run, -EINVAL,
                    "no secret given: use --key-file FILE (or --key-file=- for standard input)");
    if (ops.ask && !fl_interactive() && !run->o.lib.dry_run)
        return fail(run, -EINVAL,
                    "no secret given: use --key-file FILE (or --key-file=- for standard input), or "
                    "run on a terminal to be asked");
    if (ops.ask && !fl_interactive())
        ops.ask = NULL; /* a dry run without secrets: the plan only */

    r = fl_migrate(run->m, &mo, run->secrets, run->n_secrets, &ops, &run->res);
    if (r < 0)
        return explain_error(run, r);
    run->forecast = run->o.lib.dry_run;
    if (run->o.lib.dry_run) {
        print_plan(run, run->res.jobs, run->res.n_jobs);
        for (size_t i = 0; i < run->res.n_journals; i++)
            say(run, "keyslot %d: an interrupted migration (journal token %d) will be finished\n",
                run->res.journals[i].keyslot, run->res.journals[i].token);
        if (text(run)) {
            fl_print_offer_keyslots(stdout, run->secrets, run->n_secrets);
            fflush(stdout);
        }
        say(run, "dry run: %s; nothing was changed\n",
            run->n_secrets ? "every secret was tested" : "no secret given, none was tested");
    } else if (run->res.n_jobs == 0 && !run->res.n_recovered) {
        say(run, "%s: no keyslot to convert\n", run->o.path);
    }
    return 0;
}

/* ---- --crypttab: every volume /etc/crypttab lists, unattended ---- */

/* The worst of two exit codes of the volumes of one run: a failure (1-5) first, then 7, then 6, then 0. */
static int worse(int a, int b)
{
    int ra = a >= 1 && a <= 5 ? 3 : a == FL_EXIT_INCOMPLETE ? 2 : a == FL_EXIT_INCOMPATIBLE ? 1 : 0;
    int rb = b >= 1 && b <= 5 ? 3 : b == FL_EXIT_INCOMPLETE ? 2 : b == FL_EXIT_INCOMPATIBLE ? 1 : 0;

    return rb > ra ? b : a; /* the first failure wins among equals */
}

/* The LUKS volumes below the root with their headers read, to match the entries to (by UUID, label, path). */
struct found_volume {
    char *path;
    struct fl_volume *v;
};

static int find_volumes(const char *root, struct found_volume **ret, size_t *ret_n)
{
    struct fl_found_list list = {0};
    struct found_volume *fv;
    size_t n = 0;
    int r;

    r = fl_discover_luks_devices(root, &list);
    if (r < 0) {
        fl_found_clear(&list);
        return r;
    }
    fv = calloc(list.n ? list.n : 1, sizeof(*fv));
    if (!fv) {
        fl_found_clear(&list);
        return -ENOMEM;
    }
    for (size_t i = 0; i < list.n; i++) {
        struct fl_volume *v = NULL;
        if (list.items[i].error < 0 || fl_volume_read(list.items[i].path, NULL, &v) < 0)
            continue;
        fv[n].path = list.items[i].path;
        list.items[i].path = NULL;
        fv[n++].v = v;
    }
    fl_found_clear(&list);
    *ret = fv;
    *ret_n = n;
    return 0;
}

/* An entry that is skipped before its volume is opened: said (and, with --json, a document with the error).
 */
static int skip_entry(struct run *run, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int skip_entry(struct run *run, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(run->error, sizeof(run->error), fmt, ap);
    va_end(ap);
    fl_log_error_errno(0, "%s", run->error);
    if (run->o.json) {
        json_object *doc = json_report(run, &(struct fl_findings){0}, NULL, 0, code, false);
        int r = fl_json_print(doc, false);
        json_object_put(doc);
        if (r < 0)
            return r;
    }
    return code;
}

/* One entry: its volume, its key, then the migration of one volume, as without --crypttab. */
static int migrate_entry(const struct opts *o, const struct fl_crypttab *ct,
                         const struct fl_crypttab_entry *e, const struct found_volume *fv, size_t n_fv)
{
    struct run run = {.o = *o, .entry = e};
    const char *path = NULL;
    int r;

    run.o.args = (struct fl_args){0}; /* the caller owns it */
    run.o.key_files = NULL;
    run.o.path = e->device;
    if (e->type != FL_CRYPTTAB_LUKS) {
        say(&run, "crypttab %s (line %u): not LUKS: skipped\n", e->name, e->line);
        return FL_EXIT_OK;
    }
    for (size_t i = 0; i < n_fv && !path; i++)
        if (fl_crypttab_find(ct, o->root, fv[i].path, fv[i].v->uuid, fv[i].v->label) == e)
            path = fv[i].path;
    if (!path)
        return skip_entry(&run, FL_EXIT_INCOMPLETE,
                          "crypttab %s (line %u): no LUKS volume found for '%s'; skipped", e->name, e->line,
                          e->device);
    run.o.path = path;
    if (e->header)
        return skip_entry(&run, FL_EXIT_INCOMPLETE,
                          "crypttab %s (line %u): '%s' has a detached header (header=), "
                          "which --crypttab does not read; migrate it with --header; skipped",
                          e->name, e->line, path);
    r = fl_crypttab_read_key(o->root, e, &run.owned[0]);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return skip_entry(
            &run, FL_EXIT_INCOMPLETE,
            "crypttab %s (line %u): key file %s: %s; skipped: 'fipsluks migrate %s' asks for its "
            "passphrase",
            e->name, e->line, e->key_file ? e->key_file : "none", fl_crypttab_strerror(r), path);
    if (asprintf(&run.sources[0], "key file '%s' (crypttab %s)", e->key_file, e->name) < 0) {
        fl_secret_free(run.owned[0]);
        return -ENOMEM;
    }
    run.secrets[0] =
        (struct fl_secret_offer){.secret = run.owned[0], .source = run.sources[0], .keyslot = -1};
    run.n_secrets = 1;
    run.o.lib.keyslot = e->key_slot;
    run.o.batch = true;
    say(&run, "crypttab %s (line %u): %s with key file %s\n", e->name, e->line, path, e->key_file);
    fl_stop_message(stop_before);
    r = migrate(&run);
    if (r == -EPERM && !run.res.wrote) { /* the key file opens nothing: said, skipped */
        r = FL_EXIT_INCOMPLETE;
        if (run.o.json)
            r = report(&run, r);
    } else if (run.o.json || (r >= 0 && run.m)) {
        r = report(&run, r);
    }
    fl_secret_free(run.owned[0]);
    free(run.sources[0]);
    fl_migration_free(run.m);
    free(run.luks2_backup);
    return r < 0 ? fl_exit_code(r) : r;
}

static int migrate_crypttab(struct opts *o)
{
    struct fl_crypttab ct = {0};
    struct found_volume *fv = NULL;
    size_t n_fv = 0;
    int r, code = FL_EXIT_OK;

    r = fl_crypttab_read(o->root, &ct);
    if (r < 0) {
        fl_log_error_errno(r, "cannot read %s%s: %s", o->root ? o->root : "", FL_CRYPTTAB_PATH,
                           fl_crypttab_strerror(r));
        goto out;
    }
    if (ct.ignored)
        fl_log_warning("%s%s: %u line%s ignored (malformed, too long, or too many entries)",
                       o->root ? o->root : "", FL_CRYPTTAB_PATH, ct.ignored, ct.ignored == 1 ? "" : "s");
    if (ct.n == 0) {
        if (!o->json)
            printf("%s%s lists no volume: nothing to do\n", o->root ? o->root : "", FL_CRYPTTAB_PATH);
        goto out;
    }
    r = find_volumes(o->root, &fv, &n_fv);
    if (r < 0) {
        fl_log_error_errno(r, "cannot list the block devices: %m");
        goto out;
    }
    fl_stop_catch(true);
    for (size_t i = 0; i < ct.n && !fl_interrupted; i++) {
        int c = migrate_entry(o, &ct, &ct.entries[i], fv, n_fv);
        if (c == -ENOMEM) {
            r = c;
            goto out;
        }
        code = worse(code, c);
    }
    if (fl_interrupted)
        code = worse(code, FL_EXIT_INCOMPLETE);
    r = code;
out:
    for (size_t i = 0; i < n_fv; i++) {
        free(fv[i].path);
        fl_volume_free(fv[i].v);
    }
    free(fv);
    fl_crypttab_clear(&ct);
    return r;
}

int verb_migrate(int argc, const char **argv)
{
    struct run run = {0};
    int r;

    r = parse_options(argc, argv, &run.o);
    if (r < 0) {
        snprintf(run.error, sizeof(run.error), "invalid options (see fipsluks migrate --help)");
        goto out;
    }
    if (run.o.allow_non_fips) {
        bool followed = false;

        r = fl_allow_non_fips_unlock(&followed);
        if (r < 0 || !followed) {
            r = r < 0 ? r : -ENOTSUP;
            fail(&run, r, "cannot switch OpenSSL away from the FIPS provider for this process: %s",
                 r == -ENOTSUP ? "libcryptsetup runs in FIPS mode already" : strerror(-r));
            goto out;
        }
    }
    if (run.o.crypttab) {
        r = migrate_crypttab(&run.o);
        fl_args_free(&run.o.args);
        return r;
    }
    fl_stop_message(stop_before);
    fl_stop_catch(true);
    r = migrate(&run);
out:
    if (run.o.json || (r >= 0 && run.m))
        r = report(&run, r);
    for (size_t i = 0; i < run.n_secrets; i++) {
        fl_secret_free(run.owned[i]);
        free(run.sources[i]);
    }
    fl_migration_free(run.m);
    free(run.luks2_backup);
    fl_args_free(&run.o.args);
    return r;
}
