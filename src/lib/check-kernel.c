/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel checks: the kernel is in FIPS mode with fips=1 on its command line (kernel), and the
 * marker file /etc/system-fips (system-fips). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fipsluks/util.h"
#include "host-internal.h"

/* Larger than any /proc/cmdline (the kernel's COMMAND_LINE_SIZE is at most a few KiB). */
#define FL_PROC_MAX (64u * 1024u)

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

static int next_boot_fips1(const char *root, const char **ret_where);

int fl_check_kernel(const char *root, struct fl_check *c)
{
    static const char enabled_path[] = "/proc/sys/crypto/fips_enabled";
    _cleanup_free_ char *enabled = NULL, *cmdline = NULL, *arg = NULL;
    int r, er, cr, on = -1;

    fl_check_init(c, FL_CHECK_KERNEL);
    er = fl_root_read_text(root, enabled_path, FL_PROC_MAX, &enabled);
    cr = fl_root_read_text(root, "/proc/cmdline", FL_PROC_MAX, &cmdline);
    if (er == -ENOMEM || cr == -ENOMEM)
        return -ENOMEM;
    if (er < 0)
        r = fl_check_evidence(c, "%s: %s", enabled_path, fl_read_strerror(er, 0));
    else {
        chomp(enabled);
        on = !strcmp(enabled, "1") ? 1 : !strcmp(enabled, "0") ? 0 : -1;
        r = fl_check_evidence(c, "%s: %s", enabled_path, enabled);
    }
    if (r < 0)
        return r;
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
        return r;

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
            const char *where = NULL;
            int next = next_boot_fips1(root, &where);

            if (next < 0)
                r = next;
            else if (next)
                r = fl_check_evidence(c, "%s: fips=1 for the next boot", where);
            if (r < 0)
                return r;
            if (next) {
                /* Below a root the files are all there is: the next boot's configuration is what a
                 * playbook can set, the running kernel is not; live, the host is not in FIPS mode. */
                r = fl_check_set(c, fl_root_set(root) ? FL_CHECK_WARN : FL_CHECK_FAIL,
                                 "the kernel is not in FIPS mode yet (fips_enabled=0, %s); fips=1 is "
                                 "configured for the next boot (%s): pending a reboot",
                                 argdesc, where);
                if (r >= 0)
                    r = fl_check_remedy(c, "reboot, then check again");
            } else {
                r = fl_check_set(c, FL_CHECK_FAIL, "the kernel is not in FIPS mode: fips_enabled=0, %s%s",
                                 argdesc, arg ? " (fips= has another value)" : "");
                if (r >= 0)
                    r = fl_check_remedy(c, "%s", FL_REMEDY_FIPS1);
            }
        }
    }
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

/* ---- the FIPS state for metrics ---- */

/* Boot loader entries read at most (a host has a few). */
#define FL_BOOT_ENTRIES_MAX 256

/* Whether the last fips= argument of the command line @p args is fips=1. */
static bool args_fips1(const char *args)
{
    char *arg = cmdline_fips(args);
    bool on = arg && !strcmp(arg, "1");

    free(arg);
    return on;
}

/*
 * Whether a line of @p text that starts with @p key has fips=1 in the rest of the line: @p key
 * "options " for a boot loader entry, "GRUB_CMDLINE_LINUX=" for /etc/default/grub (the value's
 * quotes are dropped), "kernelopts=" for RHEL 8's grubenv.
 */
static bool lines_fips1(const char *text, const char *key)
{
    size_t klen = strlen(key);
    bool on = false;

    for (const char *line = text; line && *line && !on;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        size_t n, indent = strspn(line, " \t");
        char *value;

        if (*key) /* grub.cfg lines may be indented (inside an if) */
            line += indent;
        n = strcspn(line, "\n");
        if (n < klen || strncmp(line, key, klen))
            continue;
        value = strndup(line + klen, n - klen);
        if (!value)
            return false;
        for (char *q = value; *q; q++)
            if (*q == '"' || *q == '\'')
                *q = ' ';
        on = args_fips1(value);
        free(value);
    }
    return on;
}

/* Whether @p path below @p root has a line @p key with fips=1 (lines_fips1()). @return 1, 0 or -ENOMEM. */
static int file_fips1(const char *root, const char *path, const char *key)
{
    char *text = NULL;
    int r = fl_root_read_text(root, path, FL_PROC_MAX, &text);
    bool on;

    if (r == -ENOMEM)
        return r;
    on = r >= 0 && lines_fips1(text, key);
    free(text);
    return on;
}

/* Whether a boot loader entry (/boot/loader/entries/\*.conf: what grubby and RHEL's fips-mode-setup
 * change) has fips=1 in its options. @return 1, 0 or -ENOMEM. */
static int boot_entries_fips1(const char *root)
{
    static const char dir_path[] = "/boot/loader/entries";
    _cleanup_free_ char *dir_name = NULL;
    _cleanup_closedir_ DIR *dir = NULL;
    struct dirent *e;
    unsigned n = 0;
    int r = fl_root_path(root, dir_path, &dir_name), on = 0;

    if (r < 0)
        return r == -ENOMEM ? r : 0;
    dir = opendir(dir_name);
    if (!dir)
        return 0;
    while (!on && n < FL_BOOT_ENTRIES_MAX && (e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        _cleanup_free_ char *path = NULL;

        if (len < 6 || strcmp(e->d_name + len - 5, ".conf") || e->d_name[0] == '.')
            continue;
        n++;
        path = fl_asprintf("%s/%s", dir_path, e->d_name);
        if (!path)
            return -ENOMEM;
        on = file_fips1(root, path, "options ");
    }
    return on;
}

/*
 * Whether the next boot's kernel command line has fips=1: a boot loader entry, RHEL 8's grubenv
 * kernelopts, systemd's /etc/kernel/cmdline (kernel-install), GRUB_CMDLINE_LINUX[_DEFAULT] in
 * /etc/default/grub (Debian's update-grub), or linux_append in Flatcar's OEM grub.cfg (/oem since
 * Flatcar 3760, /usr/share/oem before). @p ret_where (optional) gets the file that says so (static).
 * @return 1, 0 or -ENOMEM.
 */
static int next_boot_fips1(const char *root, const char **ret_where)
{
    static const struct {
        const char *path, *key;
    } files[] = {
        /* clang-format off */
        {"/boot/grub2/grubenv", "kernelopts="},
        {"/etc/kernel/cmdline", ""},
        {"/etc/default/grub", "GRUB_CMDLINE_LINUX="},
        {"/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT="},
        {"/oem/grub.cfg", "set linux_append="},
        {"/usr/share/oem/grub.cfg", "set linux_append="},
        /* clang-format on */
    };
    const char *where = "/boot/loader/entries";
    int on = boot_entries_fips1(root);

    for (size_t i = 0; on == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
        on = file_fips1(root, files[i].path, files[i].key);
        where = files[i].path;
    }
    if (on > 0 && ret_where)
        *ret_where = where;
    return on;
}

bool fl_fips_state_pending(const struct fl_fips_state *s)
{
    return s->cmdline || s->next_boot || s->system_fips || s->openssl;
}

int fl_fips_state_read(const char *root, struct fl_fips_state *ret)
{
    struct fl_fips_state s = {.mode = -1};
    _cleanup_(fl_check_clear) struct fl_check c = {0};
    _cleanup_free_ char *enabled = NULL, *cmdline = NULL, *arg = NULL;
    int r, e;

    r = fl_root_read_text(root, "/proc/sys/crypto/fips_enabled", FL_PROC_MAX, &enabled);
    if (r == -ENOMEM)
        return r;
    if (r >= 0) {
        chomp(enabled);
        s.mode = !strcmp(enabled, "1") ? 1 : !strcmp(enabled, "0") ? 0 : -1;
    }
    r = fl_root_read_text(root, "/proc/cmdline", FL_PROC_MAX, &cmdline);
    if (r == -ENOMEM)
        return r;
    if (r >= 0) {
        arg = cmdline_fips(cmdline);
        s.cmdline = arg && !strcmp(arg, "1");
    }
    e = next_boot_fips1(root, NULL);
    if (e < 0)
        return e;
    s.next_boot = e > 0;
    e = fl_root_exists(root, "/etc/system-fips");
    if (e == -ENOMEM)
        return e;
    s.system_fips = e > 0;
    /* the check's judgement of the file, not the live probe: a distribution patch that activates the
     * provider without the file (RHEL) is seen by the kernel's fips=1 */
    r = fl_check_openssl_config(root, NULL, &c);
    if (r < 0)
        return r;
    s.openssl = c.status == FL_CHECK_PASS;
    *ret = s;
    return 0;
}
