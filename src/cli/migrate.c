/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fipsluks migrate: re-wrap keyslots a FIPS host refuses as PBKDF2 keyslots, crash-safely. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fipsluks/kdf.h"
#include "fipsluks/migrate.h"
#include "fipsluks/secret.h"
#include "fipsluks/util.h"
#include "cli.h"

#define DEFAULT_BACKUP_DIR "/var/lib/fipsluks/backup"
#define SHORT_PASSPHRASE 8

struct opts {
    char **key_files;       /* popt's ARGV array; freed in opts_free() */
    uint64_t keyfile_offset, keyfile_size;
    int key_slot; /* -1: every keyslot that needs it */
    char *hash, *header, *backup;
    const char *path;
    uint32_t iter_time, iterations;
    bool dry_run, batch, allow_in_place, allow_non_fips, json;
};

/* One keyslot to convert and the secret that opens it. */
struct job {
    int slot;
    char rules[160];
    char from[96];           /* "argon2id" / "pbkdf2 ripemd160, 1000 iterations" */
    const struct fl_secret *secret; /* from the pool */
    const char *status;      /* planned, converted, no-secret, token-bound, failed, interrupted */
};

struct run {
    struct opts o;
    struct fl_migration *m;
    struct job jobs[FL_MAX_KEYSLOTS];
    size_t n_jobs;
    char backup[4096];
    bool backed_up;
    uint32_t iterations;
    struct fl_secret *pool[FL_MAX_KEYSLOTS]; /* every secret read or typed, wiped at the end */
    size_t n_pool;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
}

/* SIGINT/SIGTERM/SIGHUP: set a flag (no SA_RESTART, so a prompt returns EINTR). */
static void catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Header writes run with these signals held back, so each atomic step completes. */
static void hold_signals(bool hold, sigset_t *saved)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(hold ? SIG_BLOCK : SIG_SETMASK, hold ? &set : saved, hold ? saved : NULL);
}

static void describe_kdf(const struct fl_keyslot *ks, char *buf, size_t size)
{
    if (ks->kdf && !strcmp(ks->kdf, "pbkdf2"))
        snprintf(buf, size, "pbkdf2 %s, %u iterations", ks->hash ? ks->hash : "?", ks->iterations);
    else if (ks->kdf)
        snprintf(buf, size, "%s", ks->kdf);
    else
        snprintf(buf, size, "no kdf");
}

static void say(const struct run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct run *run, const char *fmt, ...)
{
    va_list ap;

    if (run->o.json)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static int parse_options(int argc, const char **argv, struct opts *o, poptContext *ret_ctx)
{
    char *offset = NULL, *size = NULL, *slot = NULL, *iter_time = NULL, *iterations = NULL;
    int dry_run = 0, in_place = 0, non_fips = 0, json = 0, r = 0;
    struct poptOption options[] = {
        {"key-file", 'd', POPT_ARG_ARGV, &o->key_files, 0,
         "Read a secret from FILE (\"-\": standard input); repeatable", "FILE"},
        {"keyfile-offset", 0, POPT_ARG_STRING, &offset, 0, "Skip BYTES at the start of each key file", "BYTES"},
        {"keyfile-size", 'l', POPT_ARG_STRING, &size, 0, "Read at most BYTES from each key file", "BYTES"},
        {"key-slot", 'S', POPT_ARG_STRING, &slot, 0, "Convert only keyslot N", "N"},
        {"hash", 'h', POPT_ARG_STRING, &o->hash, 0, "PBKDF2 hash of new keyslots: sha256 (default) or sha512",
         "HASH"},
        {"iter-time", 'i', POPT_ARG_STRING, &iter_time, 0, "PBKDF2 unlock time of new keyslots (default 2000)",
         "MS"},
        {"pbkdf-force-iterations", 0, POPT_ARG_STRING, &iterations, 0,
         "PBKDF2 iterations of new keyslots (at least 1000), no calibration", "N"},
        {"header", 0, POPT_ARG_STRING, &o->header, 0, "Detached LUKS header", "FILE"},
        {"header-backup", 0, POPT_ARG_STRING, &o->backup, 0,
         "Write the header backup to FILE (default " DEFAULT_BACKUP_DIR "/UUID-TIME.luksheader)", "FILE"},
        {"dry-run", 0, POPT_ARG_NONE, &dry_run, 0, "Print the plan, change nothing", NULL},
        {"allow-in-place", 0, POPT_ARG_NONE, &in_place, 0,
         "Overwrite a keyslot in place when there is no free keyslot or area (not crash-safe)", NULL},
        {"allow-non-fips-unlock", 0, POPT_ARG_NONE, &non_fips, 0,
         "On a FIPS host, unlock argon2 keyslots with OpenSSL's non-FIPS default provider", NULL},
        {"json", 'j', POPT_ARG_NONE, &json, 0, "Write a JSON report (schema in fipsluks-migrate(8))", NULL},
        {NULL, 0, POPT_ARG_INCLUDE_TABLE, fl_ask_options, 0, "Questions:", NULL},
        {NULL, 0, POPT_ARG_INCLUDE_TABLE, fl_common_options, 0, "Common options:", NULL},
        POPT_AUTOHELP POPT_TABLEEND,
    };
    poptContext ctx = fl_popt_context("migrate", argc, argv, options, "DEVICE|IMAGE");
    const char **args;
    uint64_t v;

    *ret_ctx = ctx;
    o->key_slot = -1;
    r = fl_popt_parse(ctx, "migrate");
    if (r < 0)
        goto out;
    args = poptGetArgs(ctx);
    if (!args || !args[0] || args[1]) {
        r = fl_usage_error("migrate", "needs exactly one DEVICE or IMAGE");
        goto out;
    }
    o->path = args[0];
    o->dry_run = dry_run;
    o->batch = fl_opts.batch;
    o->allow_in_place = in_place;
    o->allow_non_fips = non_fips;
    o->json = json;
    if (!o->hash && !(o->hash = strdup(FL_DEFAULT_HASH))) {
        r = -ENOMEM;
        goto out;
    }
    if (!fl_kdf_hash_allowed(o->hash)) {
        r = fl_usage_error("migrate", "--hash '%s' is not allowed; approved choices: sha256, sha512", o->hash);
        goto out;
    }
    if (offset && fl_parse_u64(offset, &o->keyfile_offset) < 0) {
        r = fl_usage_error("migrate", "--keyfile-offset needs a number of bytes, not '%s'", offset);
        goto out;
    }
    if (size && (fl_parse_u64(size, &o->keyfile_size) < 0 || o->keyfile_size == 0 ||
                 o->keyfile_size > FL_SECRET_MAX_SIZE)) {
        r = fl_usage_error("migrate", "--keyfile-size needs 1 to %u bytes, not '%s'", FL_SECRET_MAX_SIZE, size);
        goto out;
    }
    if (slot) {
        if (fl_parse_u64(slot, &v) < 0 || v >= FL_MAX_KEYSLOTS) {
            r = fl_usage_error("migrate", "--key-slot needs a keyslot number 0-%d, not '%s'", FL_MAX_KEYSLOTS - 1,
                               slot);
            goto out;
        }
        o->key_slot = (int)v;
    }
    if (iter_time && iterations) {
        r = fl_usage_error("migrate", "--iter-time and --pbkdf-force-iterations exclude each other");
        goto out;
    }
    o->iter_time = FL_DEFAULT_ITER_TIME_MS;
    if (iter_time && (fl_parse_u64(iter_time, &v) < 0 || v == 0 || v > 3600000)) {
        r = fl_usage_error("migrate", "--iter-time needs milliseconds (1-3600000), not '%s'", iter_time);
        goto out;
    }
    if (iter_time)
        o->iter_time = (uint32_t)v;
    if (iterations &&
        (fl_parse_u64(iterations, &v) < 0 || v < FL_FIPS_MIN_ITERATIONS || v > UINT32_MAX)) {
        r = fl_usage_error("migrate", "--pbkdf-force-iterations needs %u or more (the FIPS minimum), not '%s'",
                           FL_FIPS_MIN_ITERATIONS, iterations);
        goto out;
    }
    if (iterations)
        o->iterations = (uint32_t)v;
    for (size_t i = 0, stdin_seen = 0; o->key_files && o->key_files[i]; i++)
        if (!strcmp(o->key_files[i], "-") && stdin_seen++) {
            r = fl_usage_error("migrate", "standard input (--key-file=-) can be read only once");
            goto out;
        }
out:
    free(offset);
    free(size);
    free(slot);
    free(iter_time);
    free(iterations);
    return r;
}

/* ---- finding the secrets ---- */

static void warn_secret(const struct fl_secret *s, const char *source)
{
    if (s->len < SHORT_PASSPHRASE)
        fl_log_warning("the secret from %s is shorter than %d bytes: Red Hat's FIPS OpenSSL refuses PBKDF2 "
                       "with such passphrases", source, SHORT_PASSPHRASE);
}

/* -ENOTSUP from a keyslot check: Argon2 cannot be computed on this host. */
static int argon2_unavailable(int slot)
{
    fl_log_error(0, "keyslot %d is argon2, which this FIPS host cannot compute (cryptsetup >= 2.7 with "
                    "OpenSSL >= 3.2 and the FIPS provider). Migrate before enabling FIPS mode, or on another "
                    "host against the image or a header backup, or pass --allow-non-fips-unlock to unlock it "
                    "with OpenSSL's non-FIPS default provider for this one process (see fipsluks-migrate(8))",
                 slot);
    return -ENOTSUP;
}

/* Every key file, read once into the pool of secrets. */
static int read_key_files(struct run *run)
{
    for (size_t k = 0; run->o.key_files && run->o.key_files[k]; k++) {
        const char *file = run->o.key_files[k];
        struct fl_secret *s = NULL;
        int r;

        if (run->n_pool == FL_MAX_KEYSLOTS)
            return fl_usage_error("migrate", "at most %d key files", FL_MAX_KEYSLOTS);
        r = fl_secret_read_file(file, run->o.keyfile_offset, run->o.keyfile_size, &s);
        if (r < 0) {
            fl_log_error(r, "cannot read key file '%s'", file);
            return r == -ENOMEM || r == -EACCES ? r : -EINVAL;
        }
        if (fl_secret_file_exposed(file) > 0)
            fl_log_warning("key file '%s' can be read by other users", file);
        warn_secret(s, file);
        run->pool[run->n_pool++] = s;
    }
    return 0;
}

/* Try the pool's secrets on @p slot; @return pool index, -1 if none opens it, -ENOTSUP, -errno. */
static int pool_match(struct run *run, int slot)
{
    for (size_t i = 0; i < run->n_pool; i++) {
        int r = fl_migration_try_secret(run->m, slot, run->pool[i]);
        if (r == 0)
            return (int)i;
        if (r != -EPERM)
            return r;
        if (interrupted)
            return -EINTR;
    }
    return -1;
}

/*
 * Ask for the secret of @p slot on the terminal until one opens it (or of any of @p also, for an
 * interrupted conversion). An empty answer skips. @return pool index, -1 if skipped, -errno.
 */
static int prompt_for(struct run *run, int slot, const char *what, const int *also, size_t n_also)
{
    char prompt[256];

    snprintf(prompt, sizeof(prompt), "Enter passphrase for keyslot %d (%s) [empty to skip]: ", slot, what);
    for (unsigned attempt = 0; attempt < fl_opts.tries; attempt++) {
        struct fl_secret *s = NULL;
        int r;

        r = fl_prompt_secret(prompt, &s);
        if (r < 0)
            return r;
        if (s->len == 0) {
            fl_secret_free(s);
            return -1;
        }
        r = -EPERM;
        for (size_t i = 0; i < n_also && r == -EPERM; i++)
            r = fl_migration_try_secret(run->m, also[i], s);
        if (r == -EPERM)
            r = fl_migration_try_secret(run->m, slot, s);
        if (r == 0) {
            warn_secret(s, "the prompt");
            run->pool[run->n_pool++] = s;
            return (int)run->n_pool - 1;
        }
        fl_secret_free(s);
        if (r == -ENOTSUP)
            return argon2_unavailable(slot);
        if (r != -EPERM)
            return r;
        fprintf(stderr, "No key available with this passphrase.\n");
    }
    return -EACCES; /* --tries used up: exit 2, as cryptsetup (-EPERM is -1, "skipped") */
}

static bool can_prompt(const struct run *run)
{
    return run->n_pool == 0 && !(run->o.key_files && run->o.key_files[0]) && fl_interactive();
}

static int no_secret_source(void)
{
    fl_log_error(0, "no secret given: use --key-file FILE (or --key-file=- for standard input), or run on a "
                    "terminal to be asked");
    return -EINVAL;
}

/* The secret of each planned keyslot, from the key files or the terminal. */
static int find_secrets(struct run *run)
{
    bool prompting = !(run->o.key_files && run->o.key_files[0]);
    int matched = 0;

    if (prompting && !fl_interactive())
        return no_secret_source();
    for (size_t i = 0; i < run->n_jobs; i++) {
        struct job *j = &run->jobs[i];
        int k = pool_match(run, j->slot);

        if (k == -1 && prompting)
            k = prompt_for(run, j->slot, j->from, NULL, 0);
        if (k == -ENOTSUP)
            return argon2_unavailable(j->slot);
        if (k < -1)
            return k;
        if (k >= 0) {
            j->secret = run->pool[k];
            matched++;
        }
    }
    if (matched == 0 && !prompting) {
        fl_log_error(0, "no key available with this passphrase: no key file given opens %s",
                     run->o.key_slot >= 0 ? "that keyslot" : "any keyslot to migrate");
        return -EPERM;
    }
    return 0;
}

/* ---- planning ---- */

static int make_plan(struct run *run, struct fl_slot *slots, int n)
{
    const struct fl_volume *v = fl_migration_volume(run->m);

    for (int i = 0; i < n; i++) {
        const struct fl_keyslot *ks = fl_volume_keyslot(v, slots[i].id);
        struct job *j;

        if (run->o.key_slot >= 0 && slots[i].id != run->o.key_slot)
            continue;
        if (slots[i].plan == FL_SLOT_COMPLIANT || slots[i].plan == FL_SLOT_NOT_KEYSLOT)
            continue;
        /* a token-bound keyslot is converted only when asked for by number, with its secret in a file */
        if (slots[i].plan == FL_SLOT_TOKEN_BOUND && (run->o.key_slot < 0 || !run->o.key_files))
            continue;
        j = &run->jobs[run->n_jobs++];
        j->slot = slots[i].id;
        j->status = "planned";
        snprintf(j->rules, sizeof(j->rules), "%s", slots[i].rules);
        describe_kdf(ks, j->from, sizeof(j->from));
    }
    return 0;
}

static void print_plan(const struct run *run)
{
    say(run, "%s: %zu keyslot%s to convert to PBKDF2-%s:\n", run->o.path, run->n_jobs, run->n_jobs == 1 ? "" : "s",
        run->o.hash);
    for (size_t i = 0; i < run->n_jobs; i++)
        say(run, "  keyslot %-2d %s -> pbkdf2 %s%s (%s)\n", run->jobs[i].slot, run->jobs[i].from, run->o.hash,
            run->o.dry_run || run->jobs[i].secret ? "" : ", no secret: skipped", run->jobs[i].rules);
}

/* ---- doing it ---- */

static int default_backup_path(struct run *run)
{
    const struct fl_volume *v = fl_migration_volume(run->m);
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    if (run->o.backup) {
        snprintf(run->backup, sizeof(run->backup), "%s", run->o.backup);
        return 0;
    }
    if (mkdir("/var/lib/fipsluks", 0700) < 0 && errno != EEXIST)
        return -errno;
    if (mkdir(DEFAULT_BACKUP_DIR, 0700) < 0 && errno != EEXIST)
        return -errno;
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    snprintf(run->backup, sizeof(run->backup), "%s/%s-%s.luksheader", DEFAULT_BACKUP_DIR,
             v->uuid ? v->uuid : "unknown", stamp);
    return 0;
}

static int ensure_backup(struct run *run)
{
    int r;

    if (run->backed_up)
        return 0;
    r = default_backup_path(run);
    if (r == 0)
        r = fl_migration_backup(run->m, run->backup);
    if (r < 0) {
        fl_log_error(r, "cannot write the header backup '%s'%s", run->backup,
                     r == -EEXIST ? " (it exists; it is never overwritten)" : "");
        return r == -EEXIST ? -EEXIST : -EIO;
    }
    run->backed_up = true;
    say(run, "header backup: %s\n", run->backup);
    return 0;
}

/* PBKDF2 iterations for new keyslots: forced, or calibrated once per process. */
static int ensure_iterations(struct run *run)
{
    int r;

    if (run->iterations)
        return 0;
    if (run->o.iterations) {
        run->iterations = run->o.iterations;
        return 0;
    }
    r = fl_kdf_calibrate_pbkdf2(run->o.hash, fl_migration_key_size(run->m), run->o.iter_time, &run->iterations);
    if (r < 0)
        fl_log_error(r, "cannot calibrate PBKDF2-%s", run->o.hash);
    return r;
}

static int recover_journals(struct run *run)
{
    struct fl_journal journals[FL_MAX_TOKENS];
    int n = fl_migration_journals(run->m, journals, FL_MAX_TOKENS), r;
    struct fl_pbkdf2 kdf = {.hash = run->o.hash};

    for (int i = 0; i < n; i++) {
        const struct fl_journal *j = &journals[i];
        int added[FL_MAX_KEYSLOTS], k = -1;
        size_t n_added = fl_journal_added(run->m, j, added);

        say(run, "keyslot %d: an interrupted migration (journal token %d) %s\n", j->keyslot, j->token,
            run->o.dry_run ? "will be finished" : "is being finished");
        if (run->o.dry_run)
            continue;
        /* the copies the conversion added first: they are PBKDF2 and cheap to try */
        for (size_t a = 0; a < n_added && k < 0; a++)
            k = pool_match(run, added[a]);
        if (k < 0)
            k = pool_match(run, j->keyslot);
        if (k == -ENOTSUP || k == -1) {
            if (can_prompt(run) || (run->n_pool > 0 && !(run->o.key_files && run->o.key_files[0])))
                k = prompt_for(run, j->keyslot, "interrupted migration", added, n_added);
            else if (!(run->o.key_files && run->o.key_files[0]))
                return no_secret_source();
        }
        if (k < 0) {
            fl_log_error(0, "keyslot %d: cannot finish its interrupted migration without its secret; nothing "
                            "was changed", j->keyslot);
            return k == -1 || k == -ENOTSUP ? -EPERM : k;
        }
        r = ensure_iterations(run);
        if (r == 0)
            r = ensure_backup(run);
        if (r < 0)
            return r;
        kdf.iterations = run->iterations;
        r = fl_migration_recover(run->m, j, run->pool[k], &kdf);
        if (r < 0) {
            fl_log_error(r, "cannot finish the interrupted migration of keyslot %d", j->keyslot);
            return r;
        }
    }
    return 0;
}

static int convert_all(struct run *run)
{
    struct fl_pbkdf2 kdf = {.hash = run->o.hash, .iterations = run->iterations};

    for (size_t i = 0; i < run->n_jobs; i++) {
        struct job *j = &run->jobs[i];
        sigset_t saved;
        int r;

        if (!j->secret) {
            j->status = "no-secret";
            continue;
        }
        if (interrupted) {
            j->status = "interrupted";
            continue;
        }
        say(run, "keyslot %d: %s -> pbkdf2 %s, %u iterations ... ", j->slot, j->from, kdf.hash, kdf.iterations);
        hold_signals(true, &saved);
        r = fl_migration_convert(run->m, j->slot, j->secret, &kdf, run->o.allow_in_place);
        hold_signals(false, &saved);
        if (r < 0) {
            j->status = "failed";
            say(run, "failed\n");
            if (r == -EIO) {
                int rr = fl_migration_restore(run->m, run->backup);
                fl_log_error(0, "keyslot %d did not verify after conversion; %s", j->slot,
                             rr < 0 ? "restoring the header backup failed too: restore it with "
                                      "'cryptsetup luksHeaderRestore' from the backup"
                                    : "the header was restored from the backup");
            } else {
                fl_log_error(r, "cannot convert keyslot %d", j->slot);
            }
            return r;
        }
        j->status = "converted";
        say(run, "done, verified\n");
    }
    return 0;
}

/* ---- reporting ---- */

/* The policy's remedy for keyslot @p id (for a token-bound keyslot: how to re-enroll it), or NULL. */
static const char *keyslot_remedy(const struct fl_findings *f, int id)
{
    char object[32];

    snprintf(object, sizeof(object), "keyslot %d", id);
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->items[i].object, object) && f->items[i].remedy)
            return f->items[i].remedy;
    return NULL;
}

static int report(struct run *run, int result)
{
    const struct fl_volume *v = fl_migration_volume(run->m);
    struct fl_findings f = {0};
    struct fl_slot slots[FL_MAX_KEYSLOTS];
    int n, remaining = 0, r, code;
    bool compatible;

    r = fl_policy_evaluate(v, &f);
    if (r < 0)
        return r;
    compatible = fl_findings_compatible(&f);
    n = fl_migration_plan(run->m, false, slots);
    for (int i = 0; i < n; i++)
        remaining += slots[i].plan == FL_SLOT_CONVERT || slots[i].plan == FL_SLOT_TOKEN_BOUND;
    code = result < 0 ? result : remaining ? FL_EXIT_INCOMPLETE : compatible ? FL_EXIT_OK : FL_EXIT_INCOMPATIBLE;
    if (interrupted && result >= 0)
        code = FL_EXIT_INCOMPLETE;

    if (run->o.json) {
        json_object *doc = json_object_new_object(), *jobs = json_object_new_array(), *rem = json_object_new_array();
        json_object_object_add(doc, "tool", json_object_new_string("fipsluks"));
        json_object_object_add(doc, "version", json_object_new_string(FL_VERSION));
        json_object_object_add(doc, "path", fl_json_string(run->o.path));
        json_object_object_add(doc, "header", fl_json_string(run->o.header));
        json_object_object_add(doc, "dry_run", json_object_new_boolean(run->o.dry_run));
        json_object_object_add(doc, "backup", run->backed_up ? fl_json_string(run->backup) : NULL);
        json_object_object_add(doc, "hash", json_object_new_string(run->o.hash));
        json_object_object_add(doc, "iterations", fl_json_u64(run->iterations, run->iterations > 0));
        for (size_t i = 0; i < run->n_jobs; i++) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "id", json_object_new_int(run->jobs[i].slot));
            json_object_object_add(o, "from", json_object_new_string(run->jobs[i].from));
            json_object_object_add(o, "rules", json_object_new_string(run->jobs[i].rules));
            json_object_object_add(o, "status", json_object_new_string(run->jobs[i].status));
            json_object_array_add(jobs, o);
        }
        json_object_object_add(doc, "keyslots", jobs);
        for (int i = 0; i < n; i++)
            if (slots[i].plan == FL_SLOT_CONVERT || slots[i].plan == FL_SLOT_TOKEN_BOUND)
                json_object_array_add(rem, json_object_new_int(slots[i].id));
        json_object_object_add(doc, "remaining", rem);
        json_object_object_add(doc, "interrupted", json_object_new_boolean(interrupted != 0));
        json_object_object_add(doc, "fips_compatible", json_object_new_boolean(compatible));
        json_object_object_add(doc, "volume", fl_json_volume(v, &f));
        r = fl_json_print(doc, false);
        json_object_put(doc);
    } else {
        for (int i = 0; i < n; i++) {
            const struct fl_keyslot *ks = fl_volume_keyslot(v, slots[i].id);
            const struct fl_token *t = ks && ks->n_tokens ? fl_volume_token(v, ks->tokens[0]) : NULL;
            const char *fix = keyslot_remedy(&f, slots[i].id);

            if (slots[i].plan == FL_SLOT_CONVERT)
                printf("keyslot %d still needs migration (%s): give its secret with --key-file, or run on a "
                       "terminal\n", slots[i].id, slots[i].rules);
            else if (slots[i].plan == FL_SLOT_TOKEN_BOUND)
                printf("keyslot %d is bound to a token (%s)\n", slots[i].id, t && t->type ? t->type : "token");
            else
                continue;
            if (fix) {
                printf("  fix: ");
                fl_fputs_escaped(fix, stdout);
                putchar('\n');
            }
        }
        if (interrupted)
            printf("interrupted: the current step was completed; run the same command again to continue\n");
        printf("%s: %s%s%s\n", run->o.path, fl_color_on(stdout, compatible ? FL_COLOR_GREEN : FL_COLOR_RED),
               compatible ? "FIPS-compatible" : "NOT FIPS-compatible", fl_color_off(stdout));
        if (!compatible && !remaining)
            printf("what migrate cannot fix (see 'fipsluks scan %s'): re-encryption is needed\n", run->o.path);
        r = fflush(stdout) == EOF ? -EIO : 0;
    }
    fl_findings_clear(&f);
    return r < 0 ? r : code;
}

/* ---- the verb ---- */

static int explain_luks1(struct run *run)
{
    fl_log_error(0, "'%s' is LUKS1: its keyslots are PBKDF2 already and fipsluks migrate changes nothing. "
                    "A non-approved LUKS1 hash needs re-encryption (cryptsetup reencrypt --hash sha256); "
                    "'fipsluks scan' names the exact remedy", run->o.path);
    return report(run, 0);
}

static int migrate(struct run *run)
{
    const struct fl_volume *v;
    struct fl_slot slots[FL_MAX_KEYSLOTS];
    int n, r;

    r = fl_migration_open(run->o.path, run->o.header, &run->m);
    if (r < 0) {
        fl_log_error(0, "'%s': %s", run->o.header ? run->o.header : run->o.path, fl_volume_strerror(r));
        return r;
    }
    v = fl_migration_volume(run->m);
    if (v->luks_version == 1)
        return explain_luks1(run);
    if (v->reencrypt || v->unknown_requirements) {
        fl_log_error(0, "'%s' %s; finish or inspect it with cryptsetup first", run->o.path,
                     v->reencrypt ? "is in the middle of a reencryption" : "has requirements this tool does not know");
        return -EBUSY;
    }
    r = read_key_files(run);
    if (r < 0)
        return r;
    r = recover_journals(run);
    if (r < 0)
        return r;

    n = fl_migration_plan(run->m, run->o.key_slot >= 0, slots);
    if (n < 0)
        return n;
    if (run->o.key_slot >= 0 && !fl_volume_keyslot(fl_migration_volume(run->m), run->o.key_slot)) {
        fl_log_error(0, "'%s' has no keyslot %d", run->o.path, run->o.key_slot);
        return -EINVAL;
    }
    make_plan(run, slots, n);
    if (run->n_jobs == 0) {
        say(run, "%s: no keyslot to convert\n", run->o.path);
        return report(run, 0);
    }
    if (run->o.dry_run) {
        print_plan(run);
        say(run, "dry run: nothing was changed\n");
        return report(run, 0);
    }
    for (size_t i = 0; i < run->n_jobs; i++) {
        r = fl_migration_has_room(run->m, run->jobs[i].slot);
        if (r == 0 && !run->o.allow_in_place) {
            fl_log_error(0, "'%s' has no free keyslot or keyslot area for a new keyslot, so keyslot %d could only "
                            "be overwritten in place, which loses it if the machine crashes midway. Remove an "
                            "unused keyslot first, or accept the risk with --allow-in-place (a header backup is "
                            "written first)", run->o.path, run->jobs[i].slot);
            return -ENOSPC;
        }
    }

    r = find_secrets(run);
    if (r < 0)
        return r;
    print_plan(run);
    if (!run->o.batch && fl_interactive()) {
        r = fl_confirm("Convert these keyslots? Type YES to proceed: ", "YES");
        if (r <= 0) {
            fl_log_error(0, "not confirmed; nothing was changed");
            return -ECANCELED;
        }
    }
    r = ensure_iterations(run);
    if (r < 0)
        return r;
    r = ensure_backup(run);
    if (r < 0)
        return r;
    r = convert_all(run);
    return report(run, r);
}

static void opts_free(struct opts *o)
{
    for (size_t i = 0; o->key_files && o->key_files[i]; i++)
        free(o->key_files[i]);
    free(o->key_files);
    free(o->hash);
    free(o->header);
    free(o->backup);
}

int verb_migrate(int argc, const char **argv)
{
    struct run run = {0};
    poptContext ctx = NULL;
    int r;

    r = parse_options(argc, argv, &run.o, &ctx);
    if (r < 0)
        goto out;
    if (run.o.allow_non_fips) {
        r = fl_allow_non_fips_unlock();
        if (r < 0) {
            fl_log_error(r, "cannot switch OpenSSL away from the FIPS provider for this process");
            goto out;
        }
    }
    catch_signals();
    r = migrate(&run);
    if (r == -ENOSPC)
        r = -EINVAL; /* no room for a crash-safe conversion: refused, like a bad option */
out:
    for (size_t i = 0; i < run.n_pool; i++)
        fl_secret_free(run.pool[i]);
    fl_migration_free(run.m);
    poptFreeContext(ctx);
    opts_free(&run.o);
    return r;
}
