/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fipsluks reencrypt: re-encrypt a volume offline to AES-XTS with a new volume key, an approved
 * digest hash and PBKDF2 keyslots. The protocol is fl_reencrypt() in the library; this file reads
 * options and secrets, prompts, shows progress, catches signals and reports.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fipsluks/kdf.h"
#include "fipsluks/reencrypt.h"
#include "fipsluks/secret.h"
#include "fipsluks/util.h"
#include "cli.h"

#define VERB "reencrypt"

struct opts {
    struct fl_args args; /* the command line, which owns the strings below */
    char *const *key_files;
    const char *path;
    unsigned tries;
    bool batch, progress_json, json;
    /* what fl_reencrypt() is told (--header, --hash, --iter-time, --pbkdf-force-iterations,
     * --header-backup, --hotzone-size, --resilience, --dry-run, --verify-data), parsed straight into it */
    struct fl_reencrypt_options lib;
};

struct run {
    struct opts o;
    struct fl_secret_offer secrets[FL_MAX_KEYSLOTS];
    struct fl_secret *owned[FL_MAX_KEYSLOTS];
    size_t n_secrets;
    struct fl_reencrypt_result res;
    struct timespec started, last;
    uint64_t first_done; /* bytes already done when this run started (a resumed run) */
    bool progress_shown;
    const char *not_confirmed; /* why -ECANCELED, for an operator */
    bool drop_refused;         /* ... because keyslots would be dropped */
    char error[1024];          /* the error reported, for --json */
    int compatible;            /* the verdict on the result: 1, 0, or -1 (none) */
};

/* Report an error once (standard error), and keep it for --json. @return @p r. */
static int fail(struct run *run, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct run *run, int r, const char *fmt, ...)
{
    va_list ap;

    errno = -r; /* %m */
    va_start(ap, fmt);
    vsnprintf(run->error, sizeof(run->error), fmt, ap);
    va_end(ap);
    return fl_log_error_errno(r, "%s", run->error);
}

/* ---- signals ---- */

static const char stop_msg[] = "\nfipsluks: interrupted: finishing the current step, then stopping (run the "
                               "same command again to continue)\n";

/* ---- options ---- */

static int parse_options(int argc, const char **argv, struct opts *o)
{
    const struct fl_args *a = &o->args;
    const char **args;
    int r;

    r = fl_options_parse(FL_VERB_REENCRYPT, argc, argv, &o->args);
    if (r < 0)
        return r;
    args = fl_args_rest(a);
    if (!args || !args[0] || args[1])
        return fl_usage_error(VERB, "needs exactly one DEVICE or IMAGE");
    o->path = args[0];
    o->batch = fl_opts.batch;
    o->tries = fl_opts.tries;
    o->progress_json = fl_flag(a, FL_OPT_PROGRESS_JSON);
    o->lib.dry_run = fl_flag(a, FL_OPT_DRY_RUN);
    o->json = fl_flag(a, FL_OPT_JSON);
    if (o->json && o->progress_json)
        return fl_usage_error(VERB, "--json and --progress-json both write standard output: give one");
    o->key_files = fl_arg_list(a, FL_OPT_KEY_FILE);
    o->lib.hash = fl_arg(a, FL_OPT_HASH) ? fl_arg(a, FL_OPT_HASH) : FL_DEFAULT_HASH;
    o->lib.header = fl_arg(a, FL_OPT_HEADER);
    o->lib.backup = fl_arg(a, FL_OPT_HEADER_BACKUP);
    o->lib.resilience = fl_arg(a, FL_OPT_RESILIENCE);
    o->lib.verify_full = fl_arg_choice(a, FL_OPT_VERIFY_DATA) == FL_VERIFY_DATA_FULL;
    o->lib.iter_time_ms =
        fl_flag(a, FL_OPT_ITER_TIME) ? (uint32_t)a->num[FL_OPT_ITER_TIME] : FL_DEFAULT_ITER_TIME_MS;
    o->lib.iterations = (uint32_t)a->num[FL_OPT_ITERATIONS];
    o->lib.hotzone_bytes = a->num[FL_OPT_HOTZONE_SIZE]; /* 0 when not given: libcryptsetup's default */
    return 0;
}

/* ---- secrets ---- */

static const char *source_name(const char *file)
{
    return strcmp(file, "-") ? file : "standard input";
}

static int read_key_files(struct run *run)
{
    struct fl_why why;
    int r;

    r = fl_read_key_files(&run->o.args, run->owned, FL_MAX_KEYSLOTS, &run->n_secrets, &why);
    /* n_secrets counts files of the same --key-file list, read in its order */
    for (size_t i = 0; run->o.key_files && i < run->n_secrets && run->o.key_files[i]; i++) {
        run->secrets[i].source = source_name(run->o.key_files[i]);
        run->secrets[i].secret = run->owned[i];
    }
    return r < 0 ? fail(run, r, "%s", why.text) : 0;
}

static int ask(void *userdata, const struct fl_keyslot *ks, unsigned attempt, struct fl_secret **ret)
{
    struct run *run = userdata;
    char prompt[160];
    int r;

    if (attempt >= run->o.tries)
        return -EPERM;
    if (attempt > 0)
        fprintf(stderr, "No key available with this passphrase.\n");
    if (ks)
        snprintf(prompt, sizeof(prompt),
                 "Enter passphrase for keyslot %d [empty: drop this keyslot]: ", ks->id);
    else
        snprintf(prompt, sizeof(prompt), "Enter passphrase to resume the reencryption: ");
    r = fl_stop_ask_secret(prompt, ret);
    if (r == 0)
        fl_warn_short_secret(*ret, "typed at the terminal");
    return r;
}

static int confirm_drop(void *userdata, const int *ids, size_t n)
{
    struct run *run = userdata;
    char list[32 * 4] = "";
    size_t len = 0;
    int r;

    for (size_t i = 0; i < n && len < sizeof(list); i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s %d", i ? "," : "", ids[i]);
    fl_log_warning(
        "no secret was given for keyslot%s%s: %s dropped when the reencryption finishes (its secret "
        "will no longer open the volume)",
        n == 1 ? "" : "s", list, n == 1 ? "it would be" : "they would be");
    run->drop_refused = true;
    if (run->o.batch) {
        run->not_confirmed = "--batch never drops keyslots";
        return -ECANCELED;
    }
    if (!fl_interactive()) {
        run->not_confirmed = "not confirmed (no terminal to ask on)";
        return -ECANCELED;
    }
    run->drop_refused = false;
    if (run->o.lib.dry_run)
        return 0; /* a real run would ask here */
    r = fl_stop_confirm("Drop these keyslots? Type YES to proceed: ", "YES");
    if (r < 0)
        return r; /* -EINTR: stopped by a signal */
    run->drop_refused = r == 0;
    run->not_confirmed = "not confirmed";
    return r > 0 ? 0 : -ECANCELED;
}

/* ---- the plan ---- */

/* Where the text report goes: standard output, or standard error when standard output carries JSON. */
static FILE *text(const struct run *run)
{
    return run->o.progress_json || run->o.json ? stderr : stdout;
}

/* The secret that opened keyslot @p id, for an operator. */
static const char *opener(const struct run *run, int id)
{
    for (size_t i = 0; i < run->n_secrets; i++)
        if (run->secrets[i].keyslot == id)
            return run->secrets[i].source;
    return "a typed passphrase";
}

static void print_duration(FILE *out, double s)
{
    unsigned long t = (unsigned long)(s + 0.5);

    fprintf(out, "%02lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
}

/* "keyslot numbers change: 0 -> 2, 1 -> 3" and what to update, for @p n pairs. */
static void warn_renumbered(FILE *out, const int *old_ids, const int *new_ids, size_t n)
{
    size_t changed = 0;

    for (size_t i = 0; i < n; i++)
        changed += old_ids[i] != new_ids[i];
    if (!changed)
        return;
    fprintf(out, "warning: keyslot numbers change:");
    for (size_t i = 0, k = 0; i < n; i++)
        if (old_ids[i] != new_ids[i])
            fprintf(out, "%s %d -> %d", k++ ? "," : "", old_ids[i], new_ids[i]);
    fprintf(out,
            ". The old keyslots exist until the data is re-encrypted, so libcryptsetup cannot give a new "
            "keyslot an old number. Update what names a keyslot by number: crypttab key-slot=, scripts "
            "with --key-slot, clevis/luksmeta bindings of LUKS1 volumes (LUKS2 tokens are moved to the "
            "new keyslots)\n");
}

static void print_plan(struct run *run, const struct fl_reencrypt_result *plan, bool warn)
{
    FILE *out = text(run);

    if (plan->resumed) {
        fprintf(out, "%s: an interrupted reencryption would be resumed (%llu MiB of data)\n", run->o.path,
                (unsigned long long)(plan->data_size >> 20));
    } else {
        fprintf(
            out,
            "%s: every byte of %llu MiB of data would be re-encrypted to %s with a new %u-bit volume key\n",
            run->o.path, (unsigned long long)(plan->data_size >> 20), FL_REENCRYPT_CIPHER,
            FL_REENCRYPT_KEY_BITS);
        for (size_t i = 0; i < plan->n_plan; i++)
            fprintf(out, "  keyslot %d -> new keyslot %d, PBKDF2-%s (opens with %s)\n", plan->plan_old[i],
                    plan->plan_new[i], run->o.lib.hash, opener(run, plan->plan_old[i]));
        for (size_t i = 0; i < plan->n_dropped; i++)
            fprintf(out, "  keyslot %d: dropped (no secret given)\n", plan->dropped[i]);
    }
    if (plan->rate && plan->data_size) {
        fprintf(out, "estimated time: ");
        print_duration(out, (double)plan->data_size / (double)plan->rate);
        fprintf(out,
                " (%.1f MiB/s: a sample read from the device and AES-XTS in memory, each byte read, "
                "decrypted, encrypted and written)\n",
                (double)plan->rate / 1048576.0);
    }
    if (warn && !plan->resumed)
        warn_renumbered(out, plan->plan_old, plan->plan_new, plan->n_plan);
    fflush(out);
}

/* The plan is known, nothing is written: show it; ask unless --batch; no terminal, no --batch: refuse. */
static int confirm(void *userdata, const struct fl_reencrypt_result *plan)
{
    struct run *run = userdata;
    char question[PATH_MAX + 128];
    int r;

    print_plan(run, plan, !run->o.batch); /* --batch: the warning comes with the result */
    if (run->o.batch)
        return 0;
    if (!fl_interactive()) {
        run->not_confirmed =
            "not confirmed: no terminal to ask on; pass --batch to re-encrypt without asking";
        return -ECANCELED;
    }
    snprintf(question, sizeof(question), "%s every byte of '%s'? Type YES to proceed: ",
             plan->resumed ? "Continue re-encrypting" : "Re-encrypt", run->o.path);
    r = fl_stop_confirm(question, "YES");
    if (r < 0)
        return r; /* -EINTR: stopped by a signal */
    if (r == 0)
        run->not_confirmed = "not confirmed";
    return r > 0 ? 0 : -ECANCELED;
}

/* ---- progress ---- */

static double seconds(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void show_progress(struct run *run, uint64_t done, uint64_t size, bool final)
{
    struct timespec now;
    double elapsed, rate, left;
    uint64_t this_run;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!run->progress_shown) {
        run->started = now;
        run->first_done = done;
    }
    if (run->progress_shown && !final && seconds(&run->last, &now) < (run->o.progress_json ? 1.0 : 0.5))
        return;
    run->last = now;
    run->progress_shown = true;
    elapsed = seconds(&run->started, &now);
    this_run = done > run->first_done ? done - run->first_done : 0;
    rate = elapsed > 0 ? (double)this_run / elapsed : 0;
    left = rate > 0 && size > done ? (double)(size - done) / rate : 0;
    if (run->o.progress_json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "device", fl_json_string(run->o.path));
        json_object_object_add(o, "device_bytes", json_object_new_int64((int64_t)done));
        json_object_object_add(o, "device_size", json_object_new_int64((int64_t)size));
        json_object_object_add(o, "speed", json_object_new_int64((int64_t)rate));
        json_object_object_add(o, "eta_ms", json_object_new_int64((int64_t)(left * 1000)));
        json_object_object_add(o, "time_ms", json_object_new_int64((int64_t)(elapsed * 1000)));
        (void)fl_json_print(o, false);
        json_object_put(o);
        fflush(stdout);
    } else if (isatty(STDERR_FILENO)) {
        fprintf(stderr, "\rProgress: %5.1f%%, %llu of %llu MiB, %.1f MiB/s, time left %02u:%02u  ",
                size ? 100.0 * (double)done / (double)size : 100.0, (unsigned long long)(done >> 20),
                (unsigned long long)(size >> 20), rate / 1048576.0, (unsigned)left / 60, (unsigned)left % 60);
        if (final)
            fputc('\n', stderr);
    }
}

static int progress(void *userdata, uint64_t done, uint64_t size)
{
    struct run *run = userdata;

    show_progress(run, done, size, done >= size || fl_interrupted);
    return fl_interrupted ? 1 : 0;
}

static void event(void *userdata, enum fl_reencrypt_event ev, int keyslot, int secret)
{
    struct run *run = userdata;
    bool tty = isatty(STDERR_FILENO) && !run->o.progress_json;
    FILE *out = text(run);

    switch (ev) {
    case FL_REENC_UNLOCK:
        if (tty)
            fprintf(stderr, "unlocking keyslot %d with %s ...\n", keyslot,
                    fl_offer_source(run->secrets, run->n_secrets, secret));
        break;
    case FL_REENC_BACKUP:
        fprintf(out, "header backup: %s\n", run->res.backup);
        break;
    case FL_REENC_LUKS1_RESTORED:
        fprintf(out,
                "an earlier conversion to LUKS2 was cut short: put back its LUKS1 header from the backup %s "
                "(same UUID and data offset; a given secret opens it)\n",
                run->res.backup);
        break;
    case FL_REENC_CONVERTED:
        fprintf(out, "converted LUKS1 to LUKS2\n");
        break;
    case FL_REENC_KEYSLOT:
        fprintf(out, "keyslot %d: new PBKDF2-%s keyslot %d for the new volume key\n", secret, run->o.lib.hash,
                keyslot);
        break;
    case FL_REENC_START:
        fprintf(out, "re-encrypting the data to %s with a new %u-bit volume key\n", FL_REENCRYPT_CIPHER,
                FL_REENCRYPT_KEY_BITS);
        break;
    case FL_REENC_RESUME:
        fprintf(out, "resuming an interrupted reencryption\n");
        break;
    case FL_REENC_RECOVER:
        fprintf(out, "recovering the area an interrupted run was writing\n");
        break;
    case FL_REENC_FINALISE:
        fprintf(out,
                "the data was already re-encrypted: finishing the header's clean-up that an interrupted run "
                "left (old keyslots, reencryption metadata)\n");
        break;
    case FL_REENC_LEFTOVER:
        fprintf(out, "keyslot %d: removed, an unbound keyslot an interrupted start left (it opens with %s)\n",
                keyslot, fl_offer_source(run->secrets, run->n_secrets, secret));
        break;
    case FL_REENC_VERIFY:
        if (tty)
            fprintf(stderr, "verifying that every secret opens the volume ...\n");
        break;
    }
    fflush(out);
}

/* ---- reporting ---- */

static int explain(struct run *run, int r)
{
    const struct fl_reencrypt_result *res = &run->res;
    const char *path = run->o.path;
    /* n_kept is 0 again when the new keyslots could not all be added (they were removed) */
    char backup_only[PATH_MAX + 96];
    const char *nothing = res->converted_luks1 && res->n_kept == 0
                              ? "; the volume was converted to LUKS2 (its LUKS1 header is in the "
                                "backup), nothing else was changed"
                          : res->wrote ? ""
                                       : "; nothing was written";

    if (!res->wrote && res->backup[0] && r != -EEXIST) { /* the backup is written, the volume is not */
        snprintf(backup_only, sizeof(backup_only),
                 "; nothing was written to the volume (its header backup "
                 "is %s)",
                 res->backup);
        nothing = backup_only;
    }

    switch (-r) {
    case EBUSY:
        if (res->why.text[0])
            return fail(run, r,
                        "cannot re-encrypt: %s. Unmount it, close its mapping (cryptsetup close), "
                        "stop the program that holds it open, detach the loop device; fipsluks "
                        "re-encrypts offline only%s",
                        res->why.text, nothing);
        return fail(run, r,
                    "another fipsluks migrate or reencrypt (or cryptsetup reencrypt) is working "
                    "on '%s'%s",
                    run->o.lib.header ? run->o.lib.header : path, nothing);
    case EROFS:
        return fail(run, r,
                    "cannot re-encrypt: %s (a read-only device or loop device, a read-only "
                    "mount, or an immutable or append-only file: see lsattr)%s",
                    res->why.text[0] ? res->why.text : "the volume is read-only", nothing);
    case ENOSPC:
        if (res->why.text[0] && res->wrote)
            return fail(run, r,
                        "reencryption of '%s' stopped: %s. The header records its progress: "
                        "free some space and run the same command again",
                        path, res->why.text);
        if (res->why.text[0])
            return fail(run, r, "cannot re-encrypt '%s': %s%s", path, res->why.text, nothing);
        return fail(run, r, "cannot write the header backup of '%s': no space left on device%s", path,
                    nothing);
    case ENOTSUP:
    case EXFULL:
    case EINVAL:
        if (res->why.text[0])
            return fail(run, r, "cannot re-encrypt '%s': %s%s", path, res->why.text, nothing);
        break;
    case EPERM:
        if (res->failed_secret >= 0)
            return fail(run, r, "the secret from %s opens no keyslot of '%s'%s%s",
                        run->secrets[res->failed_secret].source, path,
                        fl_libcryptsetup_fips_mode(NULL)
                            ? " (libcryptsetup runs in FIPS mode here: keyslots whose "
                              "KDF or hash it refuses cannot be unlocked; re-encrypt "
                              "before enabling FIPS mode, or on another host)"
                            : "",
                        nothing);
        return fail(run, r, "%s%s",
                    res->why.text[0] ? res->why.text : "no key available with this passphrase", nothing);
    case ECANCELED:
        if (run->drop_refused)
            return fail(run, r,
                        "%s: give every keyslot's secret with --key-file (one per keyslot), or "
                        "confirm on a terminal%s",
                        run->not_confirmed ? run->not_confirmed : "not confirmed", nothing);
        return fail(run, r, "%s%s", run->not_confirmed ? run->not_confirmed : "not confirmed", nothing);
    case EEXIST:
        return fail(run, r,
                    "cannot write the header backup '%s': it exists (a backup is never "
                    "overwritten)%s",
                    res->backup, nothing);
    case EINTR:
        return fail(run, r, "interrupted%s; run the same command again", nothing);
    case EPROTO: /* the re-encrypted volume did not verify (res->unproven) */
    case EIO:
        if (res->why.text[0])
            return fail(run, r, "%s", res->why.text);
        break;
    case EUCLEAN:
        if (res->why.text[0])
            return fail(run, r, "cannot re-encrypt '%s': %s", path, res->why.text);
        __attribute__((fallthrough));
    case EMEDIUMTYPE:
    case ENOENT:
    case EACCES:
    case ENOTBLK:
        if (!res->wrote)
            return fail(run, r, "'%s': %s; nothing was written", run->o.lib.header ? run->o.lib.header : path,
                        fl_volume_strerror_at(r, run->o.lib.header ? run->o.lib.header : path));
        break;
    default:
        break;
    }
    if (res->wrote)
        return fail(run, r,
                    "reencryption of '%s' failed (%s); the header records its progress: fix the "
                    "cause and run the same command again: %m",
                    path, fl_cryptsetup_last_error()[0] ? fl_cryptsetup_last_error() : "see --verbose");
    return fail(run, r, "cannot re-encrypt '%s'%s%s%s: %m", path, fl_cryptsetup_last_error()[0] ? " (" : "",
                fl_cryptsetup_last_error(), fl_cryptsetup_last_error()[0] ? ")" : "");
}

/* After a finished run: the verdict of the policy on the result. */
static int verdict(struct run *run)
{
    struct fl_volume *v = NULL;
    struct fl_findings f = {0};
    FILE *out = text(run);
    int r, compatible;

    r = fl_volume_read(run->o.path, run->o.lib.header, &v);
    if (r < 0)
        return explain(run, r);
    r = fl_policy_evaluate(v, &f);
    if (r < 0) {
        fl_volume_free(v);
        fl_findings_clear(&f);
        return fail(run, r, "re-encrypted '%s', but cannot evaluate it: %m", run->o.path);
    }
    compatible = fl_findings_compatible(&f);
    run->compatible = compatible ? 1 : 0;
    if (run->res.nothing_to_do) {
        fprintf(out,
                "%s: already FIPS-compatible, nothing reencrypt would fix, not in reencryption; nothing to "
                "re-encrypt, nothing was "
                "written\n",
                run->o.path);
        fl_findings_clear(&f);
        fl_volume_free(v);
        return FL_EXIT_OK;
    }
    warn_renumbered(out, run->res.old_ids, run->res.new_ids, run->res.n_kept);
    if (run->res.data_proven_full)
        fprintf(out,
                "data proven: every sector decrypts under the new key to the same bytes as before the first "
                "write (SHA-256 of the whole plaintext)\n");
    else if (run->res.samples_proven)
        fprintf(
            out,
            "data proven: %zu sectors sampled over the whole device before the first write decrypt to the "
            "same bytes under the new key\n",
            run->res.samples_proven);
    if (run->res.n_dropped) {
        fprintf(out, "dropped keyslot%s", run->res.n_dropped == 1 ? "" : "s");
        for (size_t i = 0; i < run->res.n_dropped; i++)
            fprintf(out, "%s %d", i ? "," : "", run->res.dropped[i]);
        fprintf(out, " (no secret given)\n");
    }
    if (run->res.backup[0]) {
        char *quoted = fl_shell_quote(run->res.backup);

        fprintf(out,
                "the header backup %s holds the old volume key: with an old secret it decrypts what the old "
                "key encrypted. Remove it (shred -u %s) once the volume is verified\n",
                run->res.backup, quoted ? quoted : run->res.backup);
        free(quoted);
    }
    fprintf(out, "%s: re-encrypted; %s%s%s\n", run->o.path,
            fl_color_on(out, compatible ? FL_COLOR_GREEN : FL_COLOR_RED),
            compatible ? "FIPS-compatible" : "NOT FIPS-compatible", fl_color_off(out));
    if (!compatible)
        fprintf(out, "see 'fipsluks scan %s' for what is left\n", run->o.path);
    fl_findings_clear(&f);
    fl_volume_free(v);
    return compatible ? FL_EXIT_OK : FL_EXIT_INCOMPATIBLE;
}

/* ---- JSON (schema in fipsluks-reencrypt(8)) ---- */

static json_object *json_ids(const int *ids, size_t n)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_int(ids[i]));
    return a;
}

static int json_report(struct run *run, int code)
{
    const struct fl_reencrypt_result *res = &run->res;
    bool added = res->n_kept > 0; /* the real numbers, else the plan's */
    const int *old_ids = added ? res->old_ids : res->plan_old,
              *new_ids = added ? res->new_ids : res->plan_new;
    size_t n = added ? res->n_kept : res->n_plan;
    json_object *doc = json_object_new_object(), *slots = json_object_new_array(),
                *renumbered = json_object_new_array(), *err = NULL;
    uint64_t data = res->data_size ? res->data_size : res->size;
    int r;

    (void)fl_json_record_this_host(doc, "reencrypt", "finished_at");
    json_object_object_add(doc, "path", fl_json_string(run->o.path));
    json_object_object_add(doc, "header", fl_json_string(run->o.lib.header));
    json_object_object_add(doc, "dry_run", json_object_new_boolean(run->o.lib.dry_run));
    json_object_object_add(doc, "backup", run->res.backup[0] ? fl_json_string(run->res.backup) : NULL);
    json_object_object_add(doc, "converted_luks1", json_object_new_boolean(res->converted_luks1));
    json_object_object_add(doc, "resumed", json_object_new_boolean(res->resumed));
    json_object_object_add(doc, "data_bytes", fl_json_u64(data, data > 0));
    json_object_object_add(
        doc, "estimated_seconds",
        fl_json_u64(res->rate && data ? (data + res->rate - 1) / res->rate : 0, res->rate && data));
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "old", json_object_new_int(old_ids[i]));
        json_object_object_add(o, "new", json_object_new_int(new_ids[i]));
        json_object_array_add(slots, o);
        if (old_ids[i] != new_ids[i])
            json_object_array_add(renumbered, json_object_get(o));
    }
    json_object_object_add(doc, "keyslots", slots);
    json_object_object_add(doc, "keyslots_renumbered", renumbered);
    json_object_object_add(doc, "dropped", json_ids(res->dropped, res->n_dropped));
    json_object_object_add(doc, "finished", json_object_new_boolean(res->finished));
    json_object_object_add(doc, "interrupted", json_object_new_boolean(res->interrupted));
    json_object_object_add(doc, "written", json_object_new_boolean(res->wrote));
    json_object_object_add(doc, "fips_compatible",
                           run->compatible < 0 ? NULL : json_object_new_boolean(run->compatible));
    if (code < 0) {
        err = json_object_new_object();
        json_object_object_add(err, "exit_code", json_object_new_int(fl_exit_code(code)));
        json_object_object_add(err, "errno", json_object_new_int(-code));
        json_object_object_add(err, "message", fl_json_string(run->error));
        json_object_object_add(err, "key_file",
                               res->failed_secret >= 0 && (size_t)res->failed_secret < run->n_secrets
                                   ? fl_json_string(run->secrets[res->failed_secret].source)
                                   : NULL);
    }
    json_object_object_add(doc, "error", err);
    r = fl_json_print(doc, false);
    json_object_put(doc);
    return r;
}

/* ---- the verb ---- */

static int reencrypt(struct run *run)
{
    struct fl_reencrypt_ops ops = {
        .userdata = run,
        .confirm_drop = confirm_drop,
        .confirm = confirm,
        .event = event,
        .progress = progress,
        .ask = run->o.key_files && run->o.key_files[0] ? NULL : ask,
    };
    int r;

    r = read_key_files(run);
    if (r < 0)
        return r;
    if (ops.ask && !fl_interactive())
        return fail(run, -EINVAL,
                    "no secret given: use --key-file FILE (or --key-file=- for standard "
                    "input), or run on a terminal to be asked");
    r = fl_reencrypt(run->o.path, &run->o.lib, run->secrets, run->n_secrets, &ops, &run->res);
    if (run->progress_shown && !run->o.progress_json && isatty(STDERR_FILENO) && !run->res.finished)
        fputc('\n', stderr);
    if (r < 0)
        return explain(run, r);
    if (run->o.lib.dry_run) {
        print_plan(run, &run->res, true);
        fl_print_offer_keyslots(text(run), run->secrets, run->n_secrets);
        fprintf(text(run), "dry run: %s; nothing was written\n",
                run->n_secrets ? "every secret was tested" : "every typed passphrase was tested");
        return FL_EXIT_OK;
    }
    if (run->res.interrupted) {
        fprintf(text(run),
                "%s: interrupted at %.1f%%; the header records the progress: run the same command again to "
                "continue\n",
                run->o.path, run->res.size ? 100.0 * (double)run->res.done / (double)run->res.size : 0.0);
        return FL_EXIT_INCOMPLETE;
    }
    return verdict(run);
}

int verb_reencrypt(int argc, const char **argv)
{
    struct run run = {.compatible = -1};
    int r;

    r = parse_options(argc, argv, &run.o);
    if (r < 0)
        snprintf(run.error, sizeof(run.error), "invalid options (see fipsluks reencrypt --help)");
    if (r == 0) {
        fl_stop_message(stop_msg);
        fl_stop_catch(true);
        r = reencrypt(&run);
    }
    if (run.o.json && json_report(&run, r) < 0 && r >= 0)
        r = fail(&run, -EIO, "cannot write the JSON report: %m");
    if (r >= 0 && fflush(stdout) == EOF)
        r = fail(&run, -EIO, "cannot write the report: %m");
    for (size_t i = 0; i < run.n_secrets; i++)
        fl_secret_free(run.owned[i]);
    fl_args_free(&run.o.args);
    return r;
}
