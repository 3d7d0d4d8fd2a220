/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fipsluks reencrypt: re-encrypt a volume offline to AES-XTS with a new volume key, an approved
 * digest hash and PBKDF2 keyslots. The protocol is fl_reencrypt() in the library; this file reads
 * options and secrets, prompts, shows progress, catches signals and reports.
 */
#include <errno.h>
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
    const char *hash, *header, *backup, *resilience;
    const char *path;
    uint32_t iter_time, iterations;
    uint64_t hotzone;
    unsigned tries;
    bool batch, progress_json;
};

struct run {
    struct opts o;
    struct fl_migrate_secret secrets[FL_MAX_KEYSLOTS];
    struct fl_secret *owned[FL_MAX_KEYSLOTS];
    size_t n_secrets;
    struct fl_reencrypt_result res;
    struct timespec started, last;
    uint64_t first_done; /* bytes already done when this run started (a resumed run) */
    bool progress_shown;
};

/* ---- signals ---- */

static const char stop_msg[] = "\nfipsluks: interrupted: finishing the current step, then stopping (run the "
                               "same command again to continue)\n";

/* ---- options ---- */

static int parse_options(int argc, const char **argv, struct opts *o)
{
    const struct fl_args *a = &o->args;
    const char **args, *hotzone;
    uint64_t v;
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
    o->key_files = fl_arg_list(a, FL_OPT_KEY_FILE);
    o->hash = fl_arg(a, FL_OPT_HASH) ? fl_arg(a, FL_OPT_HASH) : FL_DEFAULT_HASH;
    o->header = fl_arg(a, FL_OPT_HEADER);
    o->backup = fl_arg(a, FL_OPT_HEADER_BACKUP);
    o->resilience = fl_arg(a, FL_OPT_RESILIENCE);
    o->iter_time = fl_flag(a, FL_OPT_ITER_TIME) ? (uint32_t)a->num[FL_OPT_ITER_TIME] : FL_DEFAULT_ITER_TIME_MS;
    o->iterations = (uint32_t)a->num[FL_OPT_ITERATIONS];
    hotzone = fl_arg(a, FL_OPT_HOTZONE_SIZE);
    if (hotzone && (fl_parse_u64(hotzone, &v) < 0 || v < 4096 || v % 4096 || v > (1ull << 40)))
        return fl_usage_error(VERB, "--hotzone-size needs a multiple of 4096 bytes, not '%s'", hotzone);
    if (hotzone)
        o->hotzone = v;
    if (o->resilience && strcmp(o->resilience, "checksum") && strcmp(o->resilience, "journal"))
        return fl_usage_error(VERB, "--resilience needs checksum or journal, not '%s'", o->resilience);
    return 0;
}

/* ---- secrets ---- */

static const char *source_name(const char *file)
{
    return strcmp(file, "-") ? file : "standard input";
}

static int read_key_files(struct run *run)
{
    char why[1024];
    int r;

    r = fl_read_key_files(&run->o.args, run->owned, FL_MAX_KEYSLOTS, &run->n_secrets, why, sizeof(why));
    /* n_secrets counts files of the same --key-file list, read in its order */
    for (size_t i = 0; run->o.key_files && i < run->n_secrets && run->o.key_files[i]; i++) {
        run->secrets[i].source = source_name(run->o.key_files[i]);
        run->secrets[i].secret = run->owned[i];
    }
    return r < 0 ? fl_log_error_errno(r, "%s", why) : 0;
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
    int r;

    fprintf(stderr, "fipsluks: no secret was given for keyslot%s", n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s %d", i ? "," : "", ids[i]);
    fprintf(stderr,
            ": %s dropped when the reencryption finishes (its secret will no longer open the "
            "volume)\n",
            n == 1 ? "it would be" : "they would be");
    if (run->o.batch || !fl_interactive())
        return -ECANCELED;
    r = fl_stop_confirm("Drop these keyslots? Type YES to proceed: ", "YES");
    if (r < 0)
        return r; /* -EINTR: stopped by a signal */
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

/* Where the text report goes: standard output, or standard error when standard output carries JSON lines. */
static FILE *text(const struct run *run)
{
    return run->o.progress_json ? stderr : stdout;
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
                    secret >= 0 ? run->secrets[secret].source : "the typed passphrase");
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
        fprintf(out, "keyslot %d: new PBKDF2-%s keyslot %d for the new volume key\n", secret, run->o.hash,
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
    case FL_REENC_LEFTOVER:
        fprintf(out, "keyslot %d: removed, an unbound keyslot an interrupted start left (it opens with %s)\n",
                keyslot, secret >= 0 ? run->secrets[secret].source : "the typed passphrase");
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
    const char *nothing = res->converted_luks1 && res->n_kept == 0
                              ? "; the volume was converted to LUKS2 (its LUKS1 header is in the "
                                "backup), nothing else was changed"
                          : res->wrote ? ""
                                       : "; nothing was written";

    switch (-r) {
    case EBUSY:
        if (res->why[0])
            return fl_log_error_errno(r,
                                      "cannot re-encrypt: %s. Unmount it, close its mapping (cryptsetup close), "
                                      "detach the loop device; fipsluks re-encrypts offline only%s",
                                      res->why, nothing);
        return fl_log_error_errno(r, "'%s' is locked by another reencryption%s", path, nothing);
    case ENOTSUP:
    case EXFULL:
    case EINVAL:
        if (res->why[0])
            return fl_log_error_errno(r, "cannot re-encrypt '%s': %s%s", path, res->why, nothing);
        break;
    case EPERM:
        if (res->failed_secret >= 0)
            return fl_log_error_errno(r, "the secret from %s opens no keyslot of '%s'%s%s",
                                      run->secrets[res->failed_secret].source, path,
                                      fl_libcryptsetup_fips_mode(NULL)
                                          ? " (libcryptsetup runs in FIPS mode here: keyslots whose "
                                            "KDF or hash it refuses cannot be unlocked; re-encrypt "
                                            "before enabling FIPS mode, or on another host)"
                                          : "",
                                      nothing);
        return fl_log_error_errno(r, "%s%s", res->why[0] ? res->why : "no key available with this passphrase",
                                  nothing);
    case ECANCELED:
        return fl_log_error_errno(r,
                                  "%s: give every keyslot's secret with --key-file (one per keyslot), or confirm "
                                  "on a terminal%s",
                                  run->o.batch ? "--batch never drops keyslots" : "not confirmed", nothing);
    case EEXIST:
        return fl_log_error_errno(r, "cannot write the header backup '%s': it exists (a backup is never "
                                     "overwritten)%s", res->backup, nothing);
    case EINTR:
        return fl_log_error_errno(r, "interrupted%s; run the same command again", nothing);
    case EIO:
        if (res->why[0])
            return fl_log_error_errno(r, "%s", res->why);
        break;
    case EMEDIUMTYPE:
    case EUCLEAN:
    case ENOENT:
    case EACCES:
        if (!res->wrote)
            return fl_log_error_errno(r, "'%s': %s; nothing was written", run->o.header ? run->o.header : path,
                                      fl_volume_strerror(r));
        break;
    default:
        break;
    }
    if (res->wrote)
        return fl_log_error_errno(r,
                                  "reencryption of '%s' failed (%s); the header records its progress: fix the "
                                  "cause and run the same command again: %m",
                                  path, fl_cryptsetup_last_error()[0] ? fl_cryptsetup_last_error() : "see --verbose");
    return fl_log_error_errno(r, "cannot re-encrypt '%s'%s%s%s: %m", path, fl_cryptsetup_last_error()[0] ? " (" : "",
                              fl_cryptsetup_last_error(), fl_cryptsetup_last_error()[0] ? ")" : "");
}

/* After a finished run: the verdict of the policy on the result. */
static int verdict(struct run *run)
{
    struct fl_volume *v = NULL;
    struct fl_findings f = {0};
    FILE *out = text(run);
    int r, compatible;

    r = fl_volume_read(run->o.path, run->o.header, &v);
    if (r < 0)
        return explain(run, r);
    r = fl_policy_evaluate(v, &f);
    if (r < 0) {
        fl_volume_free(v);
        fl_findings_clear(&f);
        return fl_log_error_errno(r, "re-encrypted '%s', but cannot evaluate it: %m", run->o.path);
    }
    compatible = fl_findings_compatible(&f);
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

/* ---- the verb ---- */

static int reencrypt(struct run *run)
{
    struct fl_reencrypt_options ro = {
        .header = run->o.header,
        .hash = run->o.hash,
        .iter_time_ms = run->o.iter_time,
        .iterations = run->o.iterations,
        .backup = run->o.backup,
        .hotzone_bytes = run->o.hotzone,
        .resilience = run->o.resilience,
    };
    struct fl_reencrypt_ops ops = {
        .userdata = run,
        .confirm_drop = confirm_drop,
        .event = event,
        .progress = progress,
        .ask = run->o.key_files && run->o.key_files[0] ? NULL : ask,
    };
    int r;

    r = read_key_files(run);
    if (r < 0)
        return r;
    if (ops.ask && !fl_interactive())
        return fl_log_error_errno(-EINVAL, "no secret given: use --key-file FILE (or --key-file=- for standard "
                                           "input), or run on a terminal to be asked");
    r = fl_reencrypt(run->o.path, &ro, run->secrets, run->n_secrets, &ops, &run->res);
    if (run->progress_shown && !run->o.progress_json && isatty(STDERR_FILENO) && !run->res.finished)
        fputc('\n', stderr);
    if (r < 0)
        return explain(run, r);
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
    struct run run = {0};
    int r;

    r = parse_options(argc, argv, &run.o);
    if (r == 0) {
        fl_stop_message(stop_msg);
        fl_stop_catch(true);
        r = reencrypt(&run);
    }
    if (r >= 0 && fflush(stdout) == EOF)
        r = fl_log_error_errno(-EIO, "cannot write the report: %m");
    for (size_t i = 0; i < run.n_secrets; i++)
        fl_secret_free(run.owned[i]);
    fl_args_free(&run.o.args);
    return r;
}
