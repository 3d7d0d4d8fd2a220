/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host checks: kernel FIPS mode, /etc/system-fips, libcryptsetup's FIPS mode, LUKS volumes, and
 * running them all. The OpenSSL checks live in openssl-conf.c and openssl-probe.c, sshd in sshd.c.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "fipsluks/discover.h"
#include "fipsluks/fips.h"
#include "fipsluks/policy.h"
#include "fipsluks/volume.h"
#include "host-internal.h"

/* Larger than any /proc/cmdline (the kernel's COMMAND_LINE_SIZE is at most a few KiB). */
#define FL_PROC_MAX (64u * 1024u)

/* ---- struct fl_check ---- */

const char *fl_check_status_name(enum fl_check_status s)
{
    switch (s) {
    case FL_CHECK_PASS:
        return "pass";
    case FL_CHECK_WARN:
        return "warn";
    case FL_CHECK_FAIL:
        return "fail";
    case FL_CHECK_SKIP:
        return "skip";
    }
    return "unknown";
}

void fl_check_init(struct fl_check *c, const char *id)
{
    *c = (struct fl_check){.id = id, .status = FL_CHECK_PASS};
}

void fl_check_clear(struct fl_check *c)
{
    for (size_t i = 0; i < c->n_evidence; i++)
        free(c->evidence[i]);
    free(c->evidence);
    free(c->message);
    free(c->remedy);
    fl_check_init(c, c->id);
}

void fl_checks_clear(struct fl_checks *checks)
{
    for (size_t i = 0; i < checks->n; i++)
        fl_check_clear(&checks->items[i]);
    checks->n = 0;
}

int fl_check_set(struct fl_check *c, enum fl_check_status status, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    free(c->message);
    c->message = msg;
    c->status = status;
    return 0;
}

int fl_check_evidence(struct fl_check *c, const char *fmt, ...)
{
    char *line = NULL;
    va_list ap;
    int n;

    if (c->n_evidence == c->allocated_evidence) {
        size_t want = c->allocated_evidence ? c->allocated_evidence * 2 : 8;
        char **grown = realloc(c->evidence, want * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        c->evidence = grown;
        c->allocated_evidence = want;
    }
    va_start(ap, fmt);
    n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    c->evidence[c->n_evidence++] = line;
    return 0;
}

/* At most this many remedy lines per check: a configuration with thousands of bad lines gets a bounded,
 * readable list (and adding a remedy stays cheap: the duplicate search reads at most this many). */
#define FL_CHECK_MAX_REMEDIES 64
static const char more_remedies[] = "(more remedies not shown: apply these, then run fipsluks check again)";

/* @p s with each newline written as the four characters \x0a, as the text report escapes it. */
static int escape_newlines(const char *s, char **ret)
{
    size_t n = 0;
    char *out, *q;

    for (const char *p = s; *p; p++)
        n += *p == '\n' ? 4 : 1;
    out = q = malloc(n + 1);
    if (!out)
        return -ENOMEM;
    for (const char *p = s; *p; p++) {
        if (*p == '\n') {
            memcpy(q, "\\x0a", 4);
            q += 4;
        } else {
            *q++ = *p;
        }
    }
    *q = '\0';
    *ret = out;
    return 0;
}

int fl_check_remedy(struct fl_check *c, const char *fmt, ...)
{
    char *line = NULL, *joined = NULL;
    va_list ap;
    int n;

    if (c->remedy) {
        size_t have = strlen(c->remedy), tail = sizeof(more_remedies) - 1;
        if (have >= tail && !strcmp(c->remedy + have - tail, more_remedies))
            return 0; /* full */
    }
    va_start(ap, fmt);
    n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    if (strchr(line, '\n')) {
        /* one action per line: a newline inside one (from a file name) must not start another */
        char *flat = NULL;
        if (escape_newlines(line, &flat) < 0) {
            free(line);
            return -ENOMEM;
        }
        free(line);
        line = flat;
    }
    if (c->remedy) {
        /* the same action once only */
        size_t len = strlen(line), lines = 0;
        for (const char *p = c->remedy; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL, lines++)
            if (!strncmp(p, line, len) && (p[len] == '\n' || p[len] == '\0')) {
                free(line);
                return 0;
            }
        if (lines >= FL_CHECK_MAX_REMEDIES) {
            free(line);
            line = strdup(more_remedies);
            if (!line)
                return -ENOMEM;
        }
        n = asprintf(&joined, "%s\n%s", c->remedy, line);
        free(line);
        if (n < 0)
            return -ENOMEM;
        free(c->remedy);
        c->remedy = joined;
    } else {
        c->remedy = line;
    }
    return 0;
}

void fl_check_worsen(struct fl_check *c, enum fl_check_status status)
{
    if (c->status == FL_CHECK_SKIP || status > c->status)
        c->status = status;
}

/* ---- kernel ---- */

#define FL_REMEDY_FIPS1                                                                                      \
    "add fips=1 to the kernel command line and reboot (RHEL: fips-mode-setup --enable; GRUB: "               \
    "GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub or grub2-mkconfig; Flatcar: "                 \
    "kernel_arguments "                                                                                      \
    "in the Butane config, see fipsluks check --emit butane)"

/* The value of the last fips= argument on @p cmdline (the kernel applies them in order), or NULL. */
static char *cmdline_fips(const char *cmdline)
{
    const char *p = cmdline, *found = NULL;
    size_t found_len = 0;

    while (*p) {
        const char *start;
        bool quoted = false;

        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        start = p;
        while (*p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n'))) {
            if (*p == '"')
                quoted = !quoted;
            p++;
        }
        if ((size_t)(p - start) >= 5 && !strncmp(start, "fips=", 5)) {
            found = start + 5;
            found_len = (size_t)(p - start) - 5;
        }
        if (!strncmp(start, "--", 2) && p - start == 2)
            break; /* the rest belongs to init */
    }
    return found ? strndup(found, found_len) : NULL;
}

/* Trailing white space off, in place. */
static char *chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

int fl_check_kernel(const char *root, struct fl_check *c)
{
    static const char enabled_path[] = "/proc/sys/crypto/fips_enabled";
    char *enabled = NULL, *cmdline = NULL, *arg = NULL;
    int r, er, cr, on = -1;

    fl_check_init(c, FL_CHECK_KERNEL);
    er = fl_root_read_text(root, enabled_path, FL_PROC_MAX, &enabled);
    cr = fl_root_read_text(root, "/proc/cmdline", FL_PROC_MAX, &cmdline);
    if (er == -ENOMEM || cr == -ENOMEM) {
        r = -ENOMEM;
        goto out;
    }
    if (er < 0)
        r = fl_check_evidence(c, "%s: %s", enabled_path, fl_read_strerror(er, 0));
    else {
        chomp(enabled);
        on = !strcmp(enabled, "1") ? 1 : !strcmp(enabled, "0") ? 0 : -1;
        r = fl_check_evidence(c, "%s: %s", enabled_path, enabled);
    }
    if (r < 0)
        goto out;
    if (cr < 0) {
        r = fl_check_evidence(c, "/proc/cmdline: %s", fl_read_strerror(cr, 0));
    } else {
        arg = cmdline_fips(cmdline);
        if (arg)
            r = fl_check_evidence(c, "/proc/cmdline: fips=%s", arg);
        else
            r = fl_check_evidence(c, "/proc/cmdline: no fips= argument");
    }
    if (r < 0)
        goto out;

    {
        bool arg1 = arg && !strcmp(arg, "1");
        const char *argdesc = arg1 ? "fips=1 on the command line" : "fips=1 not on the command line";

        if (on == 1 && arg1) {
            r = fl_check_set(c, FL_CHECK_PASS, "fips_enabled=1, fips=1 on the command line");
        } else if (on == 1) {
            r = fl_check_set(
                c, FL_CHECK_WARN,
                "the kernel is in FIPS mode, but %s: it enforces FIPS mode by itself (built or patched "
                "to); a kernel update may not",
                arg ? "its command line has another fips= value" : "fips=1 is not on its command line");
            if (r >= 0)
                r = fl_check_remedy(c, "%s", FL_REMEDY_FIPS1);
        } else if (er == -ENOENT) {
            r = fl_check_set(c, FL_CHECK_FAIL,
                             "the kernel has no FIPS support (no %s: built without CONFIG_CRYPTO_FIPS)%s",
                             enabled_path, arg1 ? "; fips=1 on its command line has no effect" : "");
            if (r >= 0)
                r = fl_check_remedy(c, "boot a kernel built with CONFIG_CRYPTO_FIPS=y");
            if (r >= 0 && !arg1)
                r = fl_check_remedy(c, "%s", FL_REMEDY_FIPS1);
        } else if (er < 0 || on < 0) {
            r = fl_check_set(c, FL_CHECK_FAIL, "cannot tell whether the kernel is in FIPS mode: %s %s, %s",
                             enabled_path, er < 0 ? fl_read_strerror(er, 0) : "holds neither 0 nor 1",
                             argdesc);
            if (r >= 0 && !arg1)
                r = fl_check_remedy(c, "%s", FL_REMEDY_FIPS1);
        } else if (arg1) {
            r = fl_check_set(
                c, FL_CHECK_FAIL,
                "fips=1 is on the command line, but fips_enabled=0: the kernel did not enter FIPS mode "
                "(the command line read is not the running kernel's, or the kernel ignores fips=)");
            if (r >= 0)
                r = fl_check_remedy(c, "boot a kernel built with CONFIG_CRYPTO_FIPS=y, with fips=1");
        } else {
            r = fl_check_set(c, FL_CHECK_FAIL, "the kernel is not in FIPS mode: fips_enabled=0, %s%s",
                             argdesc, arg ? " (fips= has another value)" : "");
            if (r >= 0)
                r = fl_check_remedy(c, "%s", FL_REMEDY_FIPS1);
        }
    }
out:
    free(enabled);
    free(cmdline);
    free(arg);
    return r < 0 ? r : 0;
}

/* ---- /etc/system-fips ---- */

int fl_check_system_fips(const char *root, struct fl_check *c)
{
    static const char path[] = "/etc/system-fips";
    int r, e;

    fl_check_init(c, FL_CHECK_SYSTEM_FIPS);
    e = fl_root_exists(root, path);
    if (e == -ENOMEM)
        return e;
    if (e > 0) {
        r = fl_check_evidence(c, "%s: exists", path);
        if (r >= 0)
            r = fl_check_set(c, FL_CHECK_PASS, "%s exists", path);
        return r < 0 ? r : 0;
    }
    r = fl_check_evidence(c, "%s: %s", path, e == 0 ? "does not exist" : strerror(-e));
    /* A warning, not a failure: cryptsetup >= 2.5 does not read it (libcryptsetup asks OpenSSL), and
     * RHEL 9 dropped it; the FIPS guide still creates it, for older tools that look for it. */
    if (r >= 0)
        r = fl_check_set(c, FL_CHECK_WARN,
                         e == 0
                             ? "%s does not exist: the FIPS guide creates it for older tools that look for "
                               "it (cryptsetup >= 2.5 does not read it, RHEL 9 dropped it)"
                             : "%s cannot be examined",
                         path);
    if (r >= 0)
        r = fl_check_remedy(c, "touch %s", path);
    return r < 0 ? r : 0;
}

/* ---- libcryptsetup ---- */

int fl_check_libcryptsetup(const struct fl_openssl_live *live, struct fl_check *c)
{
    const char *kdf = NULL;
    bool fips;
    Dl_info info;
    int r = 0;

    fl_check_init(c, FL_CHECK_LIBCRYPTSETUP);
    if (dladdr((void *)crypt_get_pbkdf_default, &info) && info.dli_fname) {
        char real[PATH_MAX];

        if (realpath(info.dli_fname, real) && strcmp(real, info.dli_fname))
            r = fl_check_evidence(c, "library: %s -> %s", info.dli_fname, real);
        else
            r = fl_check_evidence(c, "library: %s", info.dli_fname);
    }
    if (r < 0)
        return r;
    fips = fl_libcryptsetup_fips_mode(&kdf);
    r = fl_check_evidence(c, "crypt_get_pbkdf_default(LUKS2): %s", kdf ? kdf : "(none)");
    if (r < 0)
        return r;
    if (fips) {
        r = fl_check_set(c, FL_CHECK_PASS, "libcryptsetup is in FIPS mode (default LUKS2 PBKDF: pbkdf2)");
    } else if (live && live->fips_available && live->fips_properties) {
        r = fl_check_set(
            c, FL_CHECK_FAIL,
            "libcryptsetup is not in FIPS mode although OpenSSL is: this libcryptsetup was built "
            "without FIPS support (configure --enable-fips), so it keeps creating argon2 keyslots");
        if (r >= 0)
            r = fl_check_remedy(c, "install a libcryptsetup built with --enable-fips (RHEL and Flatcar ship "
                                   "one; Debian's is not)");
    } else {
        r = fl_check_set(c, FL_CHECK_FAIL,
                         "libcryptsetup is not in FIPS mode (default LUKS2 PBKDF: %s): it follows OpenSSL, "
                         "which is not in FIPS mode in this process (see openssl-live)",
                         kdf ? kdf : "none");
        if (r >= 0)
            r = fl_check_remedy(
                c, "put OpenSSL in FIPS mode first (openssl-config, openssl-live); libcryptsetup "
                   "must also be built with --enable-fips");
    }
    return r < 0 ? r : 0;
}

/* ---- LUKS volumes ---- */

struct luks_tally {
    unsigned volumes, compatible, incompatible, unreadable;
};

/* @p path without the root prefix, as on the examined host. */
static const char *host_path(const char *root, const char *path)
{
    size_t n;

    if (!fl_root_set(root))
        return path;
    n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    return !strncmp(path, root, n) && path[n] == '/' ? path + n : path;
}

static int luks_volume(const char *root, const char *path, struct luks_tally *t, struct fl_check *c)
{
    struct fl_findings f = {0};
    struct fl_volume *v = NULL;
    const char *shown = host_path(root, path);
    int r;

    t->volumes++;
    r = fl_volume_read(path, NULL, &v);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        t->unreadable++;
        return fl_check_evidence(c, "%s: cannot read: %s", shown, fl_volume_strerror(r));
    }
    /* remedies name the device as it is on the examined host */
    if (shown != path) {
        char *copy = strdup(shown);
        if (!copy) {
            r = -ENOMEM;
            goto out;
        }
        free(v->path);
        v->path = copy;
    }
    r = fl_policy_evaluate(v, &f);
    if (r < 0)
        goto out;
    if (fl_findings_compatible(&f)) {
        size_t warnings = 0;
        t->compatible++;
        for (size_t i = 0; i < f.n; i++)
            warnings += f.items[i].severity == FL_SEVERITY_WARNING;
        r = fl_check_evidence(c, "%s: LUKS%d, FIPS-compatible (%zu warning%s)", shown, v->luks_version,
                              warnings, warnings == 1 ? "" : "s");
        goto out;
    }
    t->incompatible++;
    for (size_t i = 0; i < f.n && r >= 0; i++) {
        const struct fl_finding *x = &f.items[i];
        char object[32];
        if (x->severity != FL_SEVERITY_ERROR)
            continue;
        r = fl_check_evidence(c, "%s: LUKS%d, NOT FIPS-compatible: %s %s: %s", shown, v->luks_version,
                              x->rule->id, fl_finding_object(x, object, sizeof(object)),
                              x->message ? x->message : "");
        if (r >= 0 && x->remedy)
            r = fl_check_remedy(c, "%s", x->remedy);
    }
out:
    fl_findings_clear(&f);
    fl_volume_free(v);
    return r < 0 ? r : 0;
}

int fl_check_luks(const char *root, struct fl_check *c)
{
    struct fl_found_list list = {0};
    struct luks_tally t = {0};
    int r, n;

    fl_check_init(c, FL_CHECK_LUKS);
    n = fl_discover_luks_devices(fl_root_set(root) ? root : NULL, &list);
    if (n == -ENOMEM) {
        r = n;
        goto out;
    }
    if (n < 0) {
        r = fl_check_evidence(c, "/sys/class/block: %s", strerror(-n));
        if (r >= 0)
            r = fl_check_set(c, FL_CHECK_SKIP,
                             "block devices not examined: /sys/class/block cannot be listed");
        goto out;
    }
    r = 0;
    for (size_t i = 0; i < list.n && r >= 0; i++)
        r = luks_volume(root, list.items[i].path, &t, c);
    if (r < 0)
        goto out;
    if (t.volumes == 0)
        r = fl_check_set(c, FL_CHECK_PASS, "no LUKS volumes found");
    else
        r = fl_check_set(c, FL_CHECK_PASS,
                         "%u LUKS volume%s: %u FIPS-compatible, %u not compatible, %u unreadable", t.volumes,
                         t.volumes == 1 ? "" : "s", t.compatible, t.incompatible, t.unreadable);
    if (r < 0)
        goto out;
    if (t.unreadable) {
        fl_check_worsen(c, FL_CHECK_WARN);
        r = fl_check_remedy(c, "fipsluks scan (as root) shows why a volume cannot be read");
    }
    if (r >= 0 && !fl_root_set(root) && geteuid() != 0) {
        fl_check_worsen(c, FL_CHECK_WARN);
        r = fl_check_evidence(c, "not running as root: block devices this user cannot read are not found");
        if (r >= 0)
            r = fl_check_remedy(c, "run fipsluks check as root to examine every block device");
    }
    if (r >= 0 && t.incompatible) {
        fl_check_worsen(c, FL_CHECK_FAIL);
        r = fl_check_remedy(c, "fipsluks scan shows every finding");
    }
out:
    fl_found_clear(&list);
    return r < 0 ? r : 0;
}

/* ---- the safe order of remedies ---- */

/*
 * Following the checks' remedies top to bottom (kernel first) would reboot an argon2 root volume into
 * FIPS mode before it is migrated. This table is the order instead, by dependency.
 */
static const struct fl_remedy_step steps[] = {
    {FL_CHECK_LUKS, 1, false,
     "first: in FIPS mode no new argon2 keyslot can be made, and with cryptsetup >= 2.7 on OpenSSL >= 3.2 "
     "argon2 keyslots no longer open; migrate while they still open, or the volume (the root volume: the "
     "host) does not unlock after the reboot"},
    {FL_CHECK_OPENSSL_MODULE, 2, false,
     "after the volumes: programs started from now on run in FIPS mode, and the migrated volumes open in "
     "it"},
    {FL_CHECK_OPENSSL_CONFIG, 2, false,
     "after the volumes: programs started from now on run in FIPS mode, and the migrated volumes open in "
     "it"},
    {FL_CHECK_OPENSSL_LIVE, 2, false, "follows from openssl-module and openssl-config"},
    {FL_CHECK_LIBCRYPTSETUP, 2, false, "follows OpenSSL's FIPS mode (with a libcryptsetup built for it)"},
    {FL_CHECK_SYSTEM_FIPS, 2, false, "a marker file for tools that look for it; harmless at any time"},
    {FL_CHECK_SSHD, 3, false,
     "before the reboot: in FIPS mode an sshd that offers an algorithm that breaks drops the clients that "
     "negotiate it, which would lock you out of the rebooted host"},
    {FL_CHECK_SSH_CLIENT, 3, false, "with sshd: outgoing connections fail the same way"},
    {FL_CHECK_KERNEL, 4, true,
     "last, with the reboot: booting into FIPS mode is safe once the volumes open with PBKDF2, OpenSSL is "
     "configured and sshd accepts logins"},
};

const struct fl_remedy_step *fl_remedy_step(const char *id)
{
    for (size_t i = 0; id && i < sizeof(steps) / sizeof(steps[0]); i++)
        if (!strcmp(steps[i].id, id))
            return &steps[i];
    return NULL;
}

size_t fl_remedy_order(const struct fl_checks *checks, size_t *order)
{
    size_t n = 0;

    /* a check the table does not know goes with stage 3: before the kernel and its reboot */
    for (unsigned stage = 1; stage <= 4; stage++)
        for (size_t i = 0; i < checks->n; i++) {
            const struct fl_check *c = &checks->items[i];
            const struct fl_remedy_step *step = fl_remedy_step(c->id);
            unsigned at = step ? step->stage : 3;

            if (at == stage && c->remedy && (c->status == FL_CHECK_FAIL || c->status == FL_CHECK_WARN))
                order[n++] = i;
        }
    return n;
}

/* ---- all of them ---- */

int fl_host_check_all(const char *root, struct fl_checks *out)
{
    struct fl_openssl_live live = {0};
    struct fl_check *c = out->items;
    int r, failed = 0;

    /* The live probe runs first: the configuration check consults it (live system only). */
    out->n = 0;
    r = fl_check_kernel(root, &c[out->n++]);
    if (r >= 0)
        r = fl_check_system_fips(root, &c[out->n++]);
    if (r >= 0)
        r = fl_check_openssl_live(&c[4], &live);
    if (r >= 0)
        r = fl_check_openssl_module(root, &c[out->n++]);
    if (r >= 0)
        r = fl_check_openssl_config(root, fl_root_set(root) ? NULL : &live, &c[out->n++]);
    if (r >= 0) {
        out->n++; /* openssl-live, done above */
        r = fl_check_libcryptsetup(&live, &c[out->n++]);
    }
    if (r >= 0)
        r = fl_check_sshd(root, &c[out->n++]);
    if (r >= 0)
        r = fl_check_ssh_client(root, &c[out->n++]);
    if (r >= 0)
        r = fl_check_luks(root, &c[out->n++]);
    if (r < 0) {
        out->n = sizeof(out->items) / sizeof(out->items[0]);
        return r;
    }
    for (size_t i = 0; i < out->n; i++)
        failed += out->items[i].status == FL_CHECK_FAIL;
    return failed;
}
