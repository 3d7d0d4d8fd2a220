/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fipsluks format: create a LUKS2 volume that a FIPS host opens, with the care of mkfs and wipefs:
 * nothing in use is touched, existing signatures are shown and kept unless --force, an operator
 * at a terminal confirms, and any failure leaves the target as it was.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "fipsluks/format.h"
#include "fipsluks/kdf.h"
#include "fipsluks/secret.h"
#include "fipsluks/util.h"
#include "../lib/cleanup.h"
#include "cli.h"

#define VERB "format"

struct format_opts {
    struct fl_format_params params;
    const char *target;
    const char *key_file;     /* --key-file, or NULL */
    const char *new_key_file; /* --new-key-file, or NULL */
    uint64_t keyfile_offset, keyfile_size;
    bool force, json;
};

/* ---- options ---- */

/* A strictly parsed number for --OPTION; @return 0 or a usage error. */
static void print_target(const char *path)
{
    fputc('\'', stderr);
    fl_fputs_escaped(path, stderr);
    fputc('\'', stderr);
}

/* ---- what is on the target ---- */

static void print_signature(const struct fl_signature *s)
{
    fprintf(stderr, "  %-18s %-16s at offset 0x%llx", s->type, s->usage, (unsigned long long)s->offset);
    if (s->label) {
        fprintf(stderr, ", label '");
        fl_fputs_escaped(s->label, stderr);
        fputc('\'', stderr);
    }
    if (s->uuid) {
        fprintf(stderr, ", uuid ");
        fl_fputs_escaped(s->uuid, stderr);
    }
    fputc('\n', stderr);
}

/* Open the target, once: every check and the formatting act on this one open file. */
static int open_target(const struct format_opts *o, struct fl_format_target **ret)
{
    struct fl_why why;
    int r;

    r = fl_format_open(o->target, ret, &why);
    if (r < 0)
        fl_log_error_errno(r, "%s '%s': %s", r == -EBUSY ? "refusing to format" : "cannot format", o->target,
                           !fl_why_empty(&why)             ? why.text
                           : r == -EBUSY                   ? "it is in use"
                           : r == -ENOTBLK || r == -EISDIR ? "neither a block device nor a regular file"
                                                           : strerror(-r));
    return r;
}

/* Refuse a target that is in use or (without --force) carries signatures. */
static int check_target(const struct format_opts *o, const struct fl_format_target *t)
{
    struct fl_signatures sigs = {0};
    struct fl_why why;
    int r;

    r = fl_format_check(t, &o->params, &why);
    if (r < 0)
        return fl_log_error_errno(r, "%s '%s': %s", r == -EBUSY ? "refusing to format" : "cannot format",
                                  o->target,
                                  !fl_why_empty(&why) ? why.text
                                  : r == -EBUSY       ? "it is in use"
                                                      : strerror(-r));
    r = fl_format_signatures(t, &sigs);
    if (r < 0)
        return fl_log_error_errno(r, "cannot probe '%s' for signatures: %m", o->target);
    if (sigs.n > 0) {
        fprintf(stderr, "fipsluks: ");
        print_target(o->target);
        fprintf(stderr, " is not empty; libblkid finds %zu signature%s:\n", sigs.n, sigs.n == 1 ? "" : "s");
        for (size_t i = 0; i < sigs.n; i++)
            print_signature(&sigs.items[i]);
        if (!o->force)
            r = fl_log_error_errno(-EEXIST,
                                   "refusing to destroy %s; check the target, then add --force to format "
                                   "it anyway",
                                   sigs.n == 1 ? "it" : "them");
        else
            fl_log_warning("--force: %s will be destroyed", sigs.n == 1 ? "it" : "they");
    }
    fl_signatures_clear(&sigs);
    return r < 0 ? r : 0;
}

/* At a terminal, the operator types the device name (or its base name) or YES. */
static int confirm(const struct format_opts *o)
{
    const char *base = strrchr(o->target, '/') ? strrchr(o->target, '/') + 1 : o->target;
    char *question = NULL, answer[256];
    int r;

    if (fl_opts.batch || !fl_interactive())
        return 0;
    if (asprintf(&question,
                 "WARNING: this overwrites the start of '%s' irrevocably; its current contents are lost.\n"
                 "Type the device name (%s) or YES to continue: ",
                 o->target, base) < 0)
        return -ENOMEM;
    r = fl_ask(question, answer, sizeof(answer));
    free(question);
    if (r == -EFBIG)
        r = 0, answer[0] = '\0';
    if (r < 0)
        return fl_log_error_errno(r, "cannot ask for confirmation: %m; nothing was written");
    if (strcmp(answer, "YES") && strcmp(answer, base) && strcmp(answer, o->target))
        return fl_log_error_errno(-ECANCELED, "not confirmed; nothing was written");
    return 0;
}

/* ---- the secret ---- */

/* Ask for the passphrase and its confirmation; a mismatch asks again, up to --tries times. */
static int prompt_twice(const char *target, struct fl_secret **ret)
{
    _cleanup_secret_ struct fl_secret *a = NULL, *b = NULL;
    _cleanup_free_ char *prompt = NULL;
    int r = -EPERM;

    prompt = fl_asprintf("Enter passphrase for %s: ", target);
    if (!prompt)
        return -ENOMEM;
    for (unsigned attempt = 0; attempt < fl_opts.tries && r == -EPERM; attempt++) {
        fl_secret_free(a);
        fl_secret_free(b);
        a = b = NULL;
        r = fl_prompt_secret(prompt, &a);
        if (r == 0)
            r = fl_prompt_secret("Verify passphrase: ", &b);
        if (r == -ECANCELED) /* Ctrl-C at the prompt */
            return fl_log_error_errno(r, "interrupted; nothing was written");
        if (r < 0)
            return fl_log_error_errno(r, "cannot read the passphrase: %m");
        if (a->len == 0)
            return fl_log_error_errno(-EINVAL, "empty passphrase; nothing was written");
        if (!fl_secret_equal(a, b)) {
            fprintf(stderr, "Passphrases do not match.\n");
            r = -EPERM;
        }
    }
    if (r == -EPERM)
        return fl_log_error_errno(r, "passphrases do not match; nothing was written");
    *ret = TAKE_PTR(a);
    return r;
}

static int read_key_file(const struct format_opts *o, struct fl_secret **ret)
{
    struct fl_why why;
    int r;

    r = fl_read_key_file(o->key_file, o->keyfile_offset, o->keyfile_size, ret);
    if (r < 0) {
        fl_key_file_error(r, o->key_file, &why);
        return fl_log_error_errno(r, "%s", why.text);
    }
    return r;
}

/* ---- output ---- */

static int print_json(const struct format_opts *o, const struct fl_format_result *res)
{
    _cleanup_json_ json_object *doc = json_object_new_object();
    const struct fl_volume *v = res->volume;

    if (!doc)
        return -ENOMEM;
    (void)fl_json_record_this_host(doc, "format", "finished_at");
    json_object_object_add(doc, "path", fl_json_string(o->target));
    json_object_object_add(doc, "uuid", fl_json_string(v->uuid));
    json_object_object_add(doc, "label", fl_json_string(v->label));
    json_object_object_add(doc, "subsystem", fl_json_string(v->subsystem));
    json_object_object_add(doc, "cipher", fl_json_string(v->segments[0].cipher));
    json_object_object_add(doc, "key_bits", json_object_new_int64(res->key_bits));
    json_object_object_add(doc, "sector_size", json_object_new_int64(res->sector_size));
    json_object_object_add(doc, "data_offset", json_object_new_int64((int64_t)v->segments[0].offset));
    json_object_object_add(doc, "pbkdf", json_object_new_string("pbkdf2"));
    json_object_object_add(doc, "hash", fl_json_string(o->params.hash));
    json_object_object_add(doc, "iterations", json_object_new_int64(res->iterations));
    json_object_object_add(doc, "iter_time_ms", fl_json_u64(o->params.iter_time_ms, res->calibrated));
    json_object_object_add(doc, "digest_iterations", json_object_new_int64(res->digest_iterations));
    json_object_object_add(doc, "keyslot", json_object_new_int(res->keyslot));
    json_object_object_add(doc, "key_file", fl_json_string(o->new_key_file ? o->new_key_file : o->key_file));
    json_object_object_add(doc, "key_file_generated", json_object_new_boolean(o->new_key_file != NULL));
    json_object_object_add(doc, "signatures_erased", json_object_new_int((int)res->wiped));
    json_object_object_add(doc, "volume", fl_json_volume(v, &res->findings));
    return fl_json_print(doc, false);
}

static int print_text(const struct format_opts *o, const struct fl_format_result *res)
{
    printf("formatted ");
    fl_fputs_escaped(o->target, stdout);
    printf(": keyslot %d, PBKDF2-%s with %u iterations", res->keyslot, o->params.hash, res->iterations);
    if (res->calibrated)
        printf(" (%u ms on this machine)", o->params.iter_time_ms);
    if (o->new_key_file) {
        printf("; new key file ");
        fl_fputs_escaped(o->new_key_file, stdout);
        printf(" (%u random bytes, mode 0400: keep it safe, it is the only way in)", FL_FORMAT_KEY_FILE_SIZE);
    }
    printf("\n\n");
    fl_print_volume(stdout, res->volume, &res->findings);
    return fflush(stdout) == EOF || ferror(stdout) ? -EIO : 0;
}

/* ---- the verb ---- */

static int run_format(struct format_opts *o)
{
    struct fl_format_result res = {0};
    struct fl_format_target *t = NULL;
    struct fl_secret *secret = NULL;
    struct stat key_st = {0};
    sigset_t block, old;
    struct fl_why why;
    int r;

    sigprocmask(SIG_BLOCK, NULL, &old); /* the mask as it is, restored at the end */
    r = open_target(o, &t);
    if (r < 0)
        return r;
    r = check_target(o, t);
    if (r < 0)
        goto out;
    if (o->new_key_file && lstat(o->new_key_file, &key_st) == 0) {
        r = fl_log_error_errno(-EEXIST, "key file '%s' already exists; fipsluks never overwrites a key file",
                               o->new_key_file);
        goto out;
    }
    r = confirm(o);
    if (r < 0)
        goto out;

    if (o->key_file) {
        r = read_key_file(o, &secret);
    } else if (o->new_key_file) {
        r = 0; /* made right before formatting, so that a refusal leaves no key file behind */
    } else {
        r = prompt_twice(o->target, &secret);
        if (r == 0)
            fl_warn_short_secret(secret, "typed at the terminal");
    }
    if (r < 0)
        goto out;

    /* From here on an interruption would leave a half-written target: hold signals until done. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGQUIT);
    sigprocmask(SIG_BLOCK, &block, &old);

    if (o->new_key_file) {
        r = fl_format_new_key_file(o->new_key_file, FL_FORMAT_KEY_FILE_SIZE, &secret);
        if (r < 0) {
            fl_log_error_errno(r, "cannot create key file '%s': %m", o->new_key_file);
            goto out;
        }
        if (stat(o->new_key_file, &key_st) < 0)
            memset(&key_st, 0, sizeof(key_st));
    }
    r = fl_format(t, &o->params, secret, &res, &why);
    if (r < 0) {
        /* One line: what failed, what libcryptsetup said (with -v it said so itself), what is left. */
        bool said = fl_cryptsetup_last_error()[0] && !fl_opts.verbose;

        fl_log_error_errno(r, "formatting '%s' failed: %s%s%s%s%s", o->target,
                           fl_why_empty(&why) ? strerror(-r) : why.text, said ? " (libcryptsetup: " : "",
                           said ? fl_cryptsetup_last_error() : "", said ? ")" : "",
                           r != -EUCLEAN ? "; the target is unchanged" : "");
        if (o->new_key_file) {
            struct stat now;
            /* The key opens nothing: remove it, if it is still the file made above. */
            if (lstat(o->new_key_file, &now) == 0 && now.st_dev == key_st.st_dev &&
                now.st_ino == key_st.st_ino)
                unlink(o->new_key_file);
        }
        goto out;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    r = o->json ? print_json(o, &res) : print_text(o, &res);
    if (r < 0)
        fl_log_error_errno(r, "formatted '%s', but cannot write the report: %m", o->target);
out:
    sigprocmask(SIG_SETMASK, &old, NULL);
    fl_format_result_clear(&res);
    fl_secret_free(secret);
    fl_format_close(t);
    return r < 0 ? r : FL_EXIT_OK;
}

/* The option of each parameter fl_format_check_params() may refuse: its reasons are the library's, the
 * names the command line's. */
const enum fl_opt fl_format_param_option[FL_FORMAT_PARAM_COUNT] = {
    [FL_FORMAT_PARAM_NONE] = FL_OPT_TYPE, /* never refused; a valid index all the same */
    [FL_FORMAT_PARAM_TYPE] = FL_OPT_TYPE,           [FL_FORMAT_PARAM_CIPHER] = FL_OPT_CIPHER,
    [FL_FORMAT_PARAM_KEY_SIZE] = FL_OPT_KEY_SIZE,   [FL_FORMAT_PARAM_PBKDF] = FL_OPT_PBKDF,
    [FL_FORMAT_PARAM_HASH] = FL_OPT_HASH,           [FL_FORMAT_PARAM_ITERATIONS] = FL_OPT_ITERATIONS,
    [FL_FORMAT_PARAM_ITER_TIME] = FL_OPT_ITER_TIME, [FL_FORMAT_PARAM_SECTOR_SIZE] = FL_OPT_SECTOR_SIZE,
    [FL_FORMAT_PARAM_LABEL] = FL_OPT_LABEL,         [FL_FORMAT_PARAM_SUBSYSTEM] = FL_OPT_SUBSYSTEM,
    [FL_FORMAT_PARAM_UUID] = FL_OPT_UUID,
};

/* The numbers, parsed and range-checked by fl_options_parse(). */
static void numbers(const struct fl_args *a, struct format_opts *o)
{
    if (fl_flag(a, FL_OPT_KEY_SIZE))
        o->params.key_bits = (uint32_t)a->num[FL_OPT_KEY_SIZE];
    if (fl_flag(a, FL_OPT_SECTOR_SIZE))
        o->params.sector_size = (uint32_t)a->num[FL_OPT_SECTOR_SIZE];
    if (fl_flag(a, FL_OPT_ITER_TIME))
        o->params.iter_time_ms = (uint32_t)a->num[FL_OPT_ITER_TIME];
    if (fl_flag(a, FL_OPT_ITERATIONS))
        o->params.iterations = (uint32_t)a->num[FL_OPT_ITERATIONS];
    o->keyfile_offset = a->num[FL_OPT_KEYFILE_OFFSET];
    o->keyfile_size = a->num[FL_OPT_KEYFILE_SIZE];
}

int verb_format(int argc, const char **argv)
{
    _cleanup_(fl_args_free) struct fl_args a = {0};
    struct format_opts o = {0};
    enum fl_format_param param = FL_FORMAT_PARAM_NONE;
    const char **args;
    struct fl_why why;
    int r;

    r = fl_options_parse(FL_VERB_FORMAT, argc, argv, &a);
    if (r < 0)
        return r;
    args = fl_args_rest(&a);
    if (!args || !args[0] || args[1])
        return fl_usage_error(VERB, "give exactly one DEVICE or IMAGE to format");
    o.target = args[0];
    o.force = fl_flag(&a, FL_OPT_FORCE);
    o.json = fl_flag(&a, FL_OPT_JSON);
    o.key_file = fl_arg(&a, FL_OPT_KEY_FILE);
    o.new_key_file = fl_arg(&a, FL_OPT_NEW_KEY_FILE);

    fl_format_params_default(&o.params);
    if (fl_arg(&a, FL_OPT_CIPHER))
        o.params.cipher = fl_arg(&a, FL_OPT_CIPHER);
    if (fl_arg(&a, FL_OPT_HASH))
        o.params.hash = fl_arg(&a, FL_OPT_HASH);
    if (fl_arg(&a, FL_OPT_PBKDF))
        o.params.pbkdf = fl_arg(&a, FL_OPT_PBKDF);
    if (fl_arg(&a, FL_OPT_TYPE))
        o.params.type = fl_arg(&a, FL_OPT_TYPE);
    o.params.label = fl_arg(&a, FL_OPT_LABEL);
    o.params.subsystem = fl_arg(&a, FL_OPT_SUBSYSTEM);
    o.params.uuid = fl_arg(&a, FL_OPT_UUID);
    numbers(&a, &o);

    if (o.key_file && o.new_key_file)
        return fl_usage_error(VERB, "--key-file and --new-key-file exclude each other");
    if (!o.key_file && !o.new_key_file && !fl_interactive())
        return fl_usage_error(VERB, "no terminal to ask for a passphrase: give --key-file FILE, --key-file=- "
                                    "(standard input) or --new-key-file FILE");
    if (fl_format_check_params(&o.params, &param, &why) < 0) {
        enum fl_opt opt = fl_format_param_option[param];
        const char *value = fl_arg(&a, opt);

        return fl_log_error_errno(-EINVAL, "%s: --%s '%s' refused: %s. Nothing was written.", VERB,
                                  fl_option_table[opt].name, value ? value : "(default)", why.text);
    }
    return run_format(&o);
}
