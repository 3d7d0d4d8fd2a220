/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OpenSSL configuration checks: the FIPS provider module exists (openssl-module), and the
 * active openssl.cnf includes fipsmodule.cnf, activates the fips provider and requires fips=yes
 * (openssl-config). Includes a reader for OpenSSL's configuration syntax.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "host-internal.h"
#include "openssl-conf.h"

#define FL_OSSL_MAX_FILE  (1024u * 1024u)
#define FL_OSSL_MAX_DEPTH 16

/* ---- reading ---- */

struct parser {
    const char *root;
    struct fl_ossl_conf *conf;
    char *section;    /* current section; carries over into and out of included files, as in OpenSSL */
    char *includedir; /* .pragma includedir */
    int depth;
};

static int add_file(struct fl_ossl_conf *conf, const char *path, int error)
{
    if (conf->n_files == conf->allocated_files) {
        size_t want = conf->allocated_files ? conf->allocated_files * 2 : 8;
        struct fl_ossl_file *grown = realloc(conf->files, want * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        conf->files = grown;
        conf->allocated_files = want;
    }
    conf->files[conf->n_files].path = strdup(path);
    if (!conf->files[conf->n_files].path)
        return -ENOMEM;
    conf->files[conf->n_files++].error = error;
    return 0;
}

static int add_value(struct parser *p, const char *name, const char *value, const char *file, unsigned line)
{
    struct fl_ossl_conf *conf = p->conf;
    struct fl_ossl_value *v;

    if (conf->n_values == conf->allocated_values) {
        size_t want = conf->allocated_values ? conf->allocated_values * 2 : 32;
        struct fl_ossl_value *grown = realloc(conf->values, want * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        conf->values = grown;
        conf->allocated_values = want;
    }
    v = &conf->values[conf->n_values];
    *v = (struct fl_ossl_value){
        .section = strdup(p->section),
        .name = strdup(name),
        .value = strdup(value),
        .file = strdup(file),
        .line = line,
    };
    if (!v->section || !v->name || !v->value || !v->file) {
        free(v->section);
        free(v->name);
        free(v->value);
        free(v->file);
        return -ENOMEM;
    }
    conf->n_values++;
    return 0;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* Cut a comment (# outside quotes, not escaped) off @p s, in place. */
static void cut_comment(char *s)
{
    char quote = 0;

    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
        } else if (quote) {
            if (*s == quote)
                quote = 0;
        } else if (*s == '"' || *s == '\'') {
            quote = *s;
        } else if (*s == '#') {
            *s = '\0';
            return;
        }
    }
}

/* Remove one pair of surrounding quotes, in place. */
static char *unquote(char *s)
{
    size_t n = strlen(s);

    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        return s + 1;
    }
    return s;
}

/* The argument of a directive: "ARG" or "= ARG". */
static char *directive_arg(char *s)
{
    s = trim(s);
    if (*s == '=')
        s = trim(s + 1);
    return unquote(s);
}

static int parse_file(struct parser *p, const char *path);

static bool config_suffix(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && !strcasecmp(name + n - 4, ".cnf")) || (n > 5 && !strcasecmp(name + n - 5, ".conf"));
}

static int only_visible(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

static int include(struct parser *p, const char *from, const char *arg)
{
    char *target = NULL, *full = NULL;
    struct stat st;
    int r = 0;

    if (arg[0] == '/') {
        target = strdup(arg);
    } else {
        const char *base = p->includedir;
        char *dir = NULL;

        if (!base && !fl_root_set(p->root))
            base = getenv("OPENSSL_CONF_INCLUDE");
        if (!base) {
            const char *slash = strrchr(from, '/');
            dir = slash ? strndup(from, (size_t)(slash - from)) : strdup(".");
            base = dir;
        }
        if (base && asprintf(&target, "%s/%s", base, arg) < 0)
            target = NULL;
        free(dir);
    }
    if (!target)
        return -ENOMEM;
    r = fl_root_path(p->root, target, &full);
    if (r < 0)
        goto out;
    if (stat(full, &st) < 0) {
        r = add_file(p->conf, target, -errno);
    } else if (S_ISDIR(st.st_mode)) {
        struct dirent **names = NULL;
        int n = scandir(full, &names, only_visible, alphasort);

        if (n < 0) {
            r = add_file(p->conf, target, -errno);
            goto out;
        }
        for (int i = 0; i < n; i++) {
            char *child = NULL;
            if (r >= 0 && config_suffix(names[i]->d_name)) {
                if (asprintf(&child, "%s/%s", target, names[i]->d_name) < 0)
                    r = -ENOMEM;
                else
                    r = parse_file(p, child);
                free(child);
            }
            free(names[i]);
        }
        free(names);
    } else {
        r = parse_file(p, target);
    }
out:
    free(target);
    free(full);
    return r;
}

static int parse_line(struct parser *p, const char *file, unsigned lineno, char *line)
{
    char *s, *eq;

    cut_comment(line);
    s = trim(line);
    if (!*s)
        return 0;
    if (*s == '[') {
        char *end = strchr(s, ']');
        char *name;

        if (!end)
            return 0; /* OpenSSL refuses the file; judged by what was read so far */
        *end = '\0';
        name = strdup(trim(s + 1));
        if (!name)
            return -ENOMEM;
        free(p->section);
        p->section = name;
        return 0;
    }
    if (!strncmp(s, ".include", 8) && (s[8] == ' ' || s[8] == '\t' || s[8] == '=')) {
        if (p->depth >= FL_OSSL_MAX_DEPTH)
            return add_file(p->conf, directive_arg(s + 8), -ELOOP);
        return include(p, file, directive_arg(s + 8));
    }
    if (!strncmp(s, ".pragma", 7) && (s[7] == ' ' || s[7] == '\t' || s[7] == '=')) {
        char *arg = directive_arg(s + 7);
        if (!strncmp(arg, "includedir:", 11)) {
            char *dir = strdup(trim(arg + 11));
            if (!dir)
                return -ENOMEM;
            free(p->includedir);
            p->includedir = dir;
        }
        return 0;
    }
    eq = strchr(s, '=');
    if (!eq)
        return 0;
    *eq = '\0';
    return add_value(p, trim(s), unquote(trim(eq + 1)), file, lineno);
}

static int parse_text(struct parser *p, const char *name, const char *text)
{
    char *copy = strdup(text), *line, *next;
    unsigned lineno = 0;
    int r = 0;

    if (!copy)
        return -ENOMEM;
    for (line = copy; line && r >= 0; line = next) {
        unsigned first = ++lineno;
        char *end;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        /* a backslash at the end of a line continues it */
        while (next && (end = line + strlen(line)) > line && end[-1] == '\\') {
            char *more = strchr(next, '\n');
            end[-1] = '\0';
            if (more)
                *more++ = '\0';
            memmove(line + strlen(line), next, strlen(next) + 1);
            next = more;
            lineno++;
        }
        r = parse_line(p, name, first, line);
    }
    free(copy);
    return r;
}

static int parse_file(struct parser *p, const char *path)
{
    char *text = NULL;
    int r;

    for (size_t i = 0; i < p->conf->n_files; i++)
        if (!p->conf->files[i].error && !strcmp(p->conf->files[i].path, path))
            return 0; /* already read: an include loop */
    r = fl_root_read_text(p->root, path, FL_OSSL_MAX_FILE, &text);
    if (r == -ENOMEM)
        return r;
    if (add_file(p->conf, path, r < 0 ? r : 0) < 0) {
        free(text);
        return -ENOMEM;
    }
    if (r < 0)
        return p->depth == 0 ? r : 0;
    p->depth++;
    r = parse_text(p, path, text);
    p->depth--;
    free(text);
    return r;
}

static int parser_init(struct parser *p, const char *root, struct fl_ossl_conf *conf)
{
    *p = (struct parser){.root = root, .conf = conf, .section = strdup("default")};
    return p->section ? 0 : -ENOMEM;
}

static void parser_done(struct parser *p)
{
    free(p->section);
    free(p->includedir);
}

int fl_ossl_conf_load(const char *root, const char *path, struct fl_ossl_conf *conf)
{
    struct parser p;
    int r;

    r = parser_init(&p, root, conf);
    if (r >= 0)
        r = parse_file(&p, path);
    parser_done(&p);
    return r;
}

int fl_ossl_conf_parse(const char *root, const char *name, const char *text, struct fl_ossl_conf *conf)
{
    struct parser p;
    int r;

    r = parser_init(&p, root, conf);
    if (r >= 0)
        r = add_file(conf, name, 0);
    if (r >= 0) {
        p.depth = 1;
        r = parse_text(&p, name, text);
    }
    parser_done(&p);
    return r;
}

const struct fl_ossl_value *fl_ossl_conf_get(const struct fl_ossl_conf *conf, const char *section,
                                             const char *name)
{
    const struct fl_ossl_value *found = NULL;

    if (!section || !name)
        return NULL;
    for (size_t i = 0; i < conf->n_values; i++)
        if (!strcmp(conf->values[i].section, section) && !strcmp(conf->values[i].name, name))
            found = &conf->values[i];
    return found;
}

void fl_ossl_conf_clear(struct fl_ossl_conf *conf)
{
    for (size_t i = 0; i < conf->n_values; i++) {
        free(conf->values[i].section);
        free(conf->values[i].name);
        free(conf->values[i].value);
        free(conf->values[i].file);
    }
    for (size_t i = 0; i < conf->n_files; i++)
        free(conf->files[i].path);
    free(conf->values);
    free(conf->files);
    *conf = (struct fl_ossl_conf){0};
}

bool fl_ossl_truthy(const char *value)
{
    return value && (!strcmp(value, "1") || !strcasecmp(value, "yes") || !strcasecmp(value, "true") ||
                     !strcasecmp(value, "on"));
}

bool fl_ossl_properties_fips(const char *properties)
{
    const char *p = properties;

    while (p && *p) {
        const char *end = strchr(p, ','), *q;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[64];

        if (len < sizeof(item)) {
            memcpy(item, p, len);
            item[len] = '\0';
            q = trim(item);
            if (!strncasecmp(q, "fips", 4)) {
                const char *rest = q + 4;
                while (*rest == ' ' || *rest == '\t')
                    rest++;
                if (!*rest)
                    return true;
                if (*rest == '=') {
                    rest++;
                    while (*rest == ' ' || *rest == '\t')
                        rest++;
                    if (!strcasecmp(rest, "yes"))
                        return true;
                }
            }
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

/* ---- where things are ---- */

/* The quoted directory in an OpenSSL_version() string like 'OPENSSLDIR: "/usr/lib/ssl"'. */
static char *compiled_dir(int which)
{
    const char *s = OpenSSL_version(which), *open, *close;

    if (!s || !(open = strchr(s, '"')) || !(close = strrchr(s, '"')) || close <= open + 1)
        return NULL;
    return strndup(open + 1, (size_t)(close - open - 1));
}

static const char *const conf_dirs[] = {"/etc/ssl", "/etc/pki/tls", "/usr/lib/ssl", "/usr/local/ssl", NULL};
static const char *const module_dirs[] = {
    "/usr/lib64/ossl-modules",
    "/usr/lib/x86_64-linux-gnu/ossl-modules",
    "/usr/lib/aarch64-linux-gnu/ossl-modules",
    "/usr/lib/ossl-modules",
    "/usr/local/lib64/ossl-modules",
    "/usr/local/lib/ossl-modules",
    NULL,
};

/*
 * The active openssl.cnf (host path) into @p ret, with the reason in @p ret_why (static). Live:
 * OPENSSL_CONF, else the compiled-in OPENSSLDIR. Below a root: the first existing openssl.cnf in
 * the usual directories (/etc/ssl/openssl.cnf when there is none); what this process's OpenSSL was
 * built with says nothing about the host below the root.
 */
static int active_conf(const char *root, char **ret, const char **ret_why)
{
    char *compiled = compiled_dir(OPENSSL_DIR), *path = NULL;
    int r = 0;

    if (!fl_root_set(root)) {
        const char *env = getenv("OPENSSL_CONF");
        if (env && *env) {
            path = strdup(env);
            *ret_why = "OPENSSL_CONF";
        } else {
            if (asprintf(&path, "%s/openssl.cnf", compiled ? compiled : "/usr/lib/ssl") < 0)
                path = NULL;
            *ret_why = "the compiled-in OPENSSLDIR";
        }
        r = path ? 0 : -ENOMEM;
        goto out;
    }
    *ret_why = "the first openssl.cnf found below the root";
    for (int i = 0; conf_dirs[i]; i++) {
        char *candidate = NULL;
        int e;

        if (asprintf(&candidate, "%s/openssl.cnf", conf_dirs[i]) < 0) {
            r = -ENOMEM;
            goto out;
        }
        e = fl_root_exists(root, candidate);
        if (e > 0 || i == 0) {
            free(path);
            path = candidate;
            if (e > 0)
                break;
        } else {
            free(candidate);
        }
    }
    if (!path)
        r = -ENOMEM;
out:
    free(compiled);
    if (r == 0)
        *ret = path;
    return r;
}

/*
 * Where fips.so is (host path) into @p ret; @p ret_found: 1 when it exists. Order: the fips
 * section's "module"; live: OPENSSL_MODULES, else the compiled-in MODULESDIR; below a root: the
 * usual module directories. @p c (optional) gets the evidence.
 */
static int find_module(const char *root, const struct fl_ossl_value *module, char **ret, int *ret_found,
                       struct fl_check *c)
{
    char *compiled = compiled_dir(OPENSSL_MODULES_DIR), *path = NULL;
    int r = 0, e = 0;

    if (module) {
        path = strdup(module->value);
        if (!path)
            r = -ENOMEM;
        else if ((e = fl_root_exists(root, path)) >= 0 && c)
            r = fl_check_evidence(c, "%s:%u: module = %s: %s", module->file, module->line, path,
                                  e ? "exists" : "does not exist");
        goto out;
    }
    if (!fl_root_set(root)) {
        const char *env = getenv("OPENSSL_MODULES");
        const char *dir = env && *env ? env : compiled ? compiled : "/usr/lib/ossl-modules";

        if (asprintf(&path, "%s/fips.so", dir) < 0) {
            path = NULL;
            r = -ENOMEM;
            goto out;
        }
        e = fl_root_exists(root, path);
        if (e >= 0 && c)
            r = fl_check_evidence(c, "%s/fips.so (%s): %s", dir,
                                  env && *env ? "OPENSSL_MODULES" : "the compiled-in MODULESDIR",
                                  e ? "exists" : "does not exist");
        goto out;
    }
    for (int i = 0; module_dirs[i]; i++) {
        free(path);
        if (asprintf(&path, "%s/fips.so", module_dirs[i]) < 0) {
            path = NULL;
            r = -ENOMEM;
            goto out;
        }
        e = fl_root_exists(root, path);
        if (e > 0)
            break;
    }
    if (e > 0 && c)
        r = fl_check_evidence(c, "%s: exists", path);
    else if (c)
        r = fl_check_evidence(c, "fips.so: not found in the usual module directories (%s, %s, …)",
                              module_dirs[0], module_dirs[1]);
    if (e <= 0 && r >= 0) {
        /* remedies name the Flatcar location, where the emitted configurations point */
        free(path);
        path = strdup("/usr/lib64/ossl-modules/fips.so");
        if (!path)
            r = -ENOMEM;
    }
out:
    free(compiled);
    if (e < 0 && r >= 0)
        r = e == -ENOMEM ? e : 0;
    if (r < 0) {
        free(path);
        return r;
    }
    *ret = path;
    *ret_found = e > 0;
    return 0;
}

/* The fips provider's configuration section, from a loaded configuration (or NULL). */
static const char *fips_section(const struct fl_ossl_conf *conf)
{
    const struct fl_ossl_value *init = fl_ossl_conf_get(conf, "default", "openssl_conf");
    const struct fl_ossl_value *prov = init ? fl_ossl_conf_get(conf, init->value, "providers") : NULL;
    const struct fl_ossl_value *fips = prov ? fl_ossl_conf_get(conf, prov->value, "fips") : NULL;

    if (fips)
        return fips->value;
    /* a provider configured under another name, "identity = fips" */
    for (size_t i = 0; prov && i < conf->n_values; i++) {
        const struct fl_ossl_value *v = &conf->values[i], *id;
        if (strcmp(v->section, prov->value))
            continue;
        id = fl_ossl_conf_get(conf, v->value, "identity");
        if (id && !strcmp(id->value, "fips"))
            return v->value;
    }
    return NULL;
}

/* ---- openssl-module ---- */

int fl_check_openssl_module(const char *root, struct fl_check *c)
{
    struct fl_ossl_conf conf = {0};
    const char *why, *section;
    char *conf_path = NULL, *module = NULL;
    int r, found = 0;

    fl_check_init(c, FL_CHECK_OPENSSL_MODULE);
    r = active_conf(root, &conf_path, &why);
    if (r < 0)
        return r;
    r = fl_ossl_conf_load(root, conf_path, &conf);
    if (r == -ENOMEM)
        goto out;
    section = fips_section(&conf);
    r = find_module(root, section ? fl_ossl_conf_get(&conf, section, "module") : NULL, &module, &found, c);
    if (r < 0)
        goto out;
    if (found) {
        r = fl_check_set(c, FL_CHECK_PASS, "the FIPS provider module is installed: %s", module);
    } else {
        r = fl_check_set(c, FL_CHECK_FAIL, "the OpenSSL FIPS provider module (fips.so) is not installed");
        if (r >= 0)
            r = fl_check_remedy(
                c, "install OpenSSL's FIPS provider (Flatcar and RHEL ship it; Ubuntu: Ubuntu Pro "
                   "FIPS packages; Debian ships none: build OpenSSL with enable-fips)");
    }
out:
    fl_ossl_conf_clear(&conf);
    free(conf_path);
    free(module);
    return r < 0 ? r : 0;
}

/* ---- openssl-config ---- */

static const char *const fipsmodule_dirs[] = {"/etc/ssl", "/usr/lib/ssl", "/etc/pki/tls", "/usr/local/ssl",
                                              NULL};

static bool is_fipsmodule(const char *path)
{
    const char *base = strrchr(path, '/');
    return !strcmp(base ? base + 1 : path, "fipsmodule.cnf");
}

/* The directory part of @p path ("/etc/ssl/openssl.cnf" → "/etc/ssl"), a new string. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash != path ? strndup(path, (size_t)(slash - path)) : strdup("/");
}

/* fipsmodule.cnf: written by openssl fipsinstall, included by openssl.cnf. @return 1 when fine. */
static int judge_fipsmodule(const char *root, const char *conf_path, const struct fl_ossl_conf *conf,
                            const char *section, const char *module, struct fl_check *c)
{
    const struct fl_ossl_value *mac = section ? fl_ossl_conf_get(conf, section, "module-mac") : NULL;
    const struct fl_ossl_file *included = NULL;
    char *dir = NULL, *found = NULL;
    int r;

    for (size_t i = 1; i < conf->n_files; i++)
        if (is_fipsmodule(conf->files[i].path))
            included = &conf->files[i];
    if (included && !included->error && mac)
        return fl_check_evidence(c, "%s:%u: [%s] module-mac is set (written by openssl fipsinstall)",
                                 mac->file, mac->line, section) < 0
                   ? -ENOMEM
                   : 1;
    if (!included && mac)
        return fl_check_evidence(c, "%s:%u: the fips section's module-mac is set here (no fipsmodule.cnf)",
                                 mac->file, mac->line) < 0
                   ? -ENOMEM
                   : 1;
    if (included && included->error) {
        r = fl_check_evidence(c, "%s: included, but %s", included->path, strerror(-included->error));
        if (r >= 0)
            r = fl_check_remedy(c, "openssl fipsinstall -out %s -module %s", included->path, module);
        return r < 0 ? r : 0;
    }
    if (included) {
        r = fl_check_evidence(c, "%s: included, but the fips section has no module-mac", included->path);
        if (r >= 0)
            r = fl_check_remedy(c, "openssl fipsinstall -out %s -module %s", included->path, module);
        return r < 0 ? r : 0;
    }
    /* not included: is there one to include? */
    dir = dir_of(conf_path);
    if (!dir)
        return -ENOMEM;
    for (int i = -1; !found && (i < 0 || fipsmodule_dirs[i]); i++) {
        char *candidate = NULL;
        if (asprintf(&candidate, "%s/fipsmodule.cnf", i < 0 ? dir : fipsmodule_dirs[i]) < 0) {
            free(dir);
            return -ENOMEM;
        }
        if (fl_root_exists(root, candidate) > 0)
            found = candidate;
        else
            free(candidate);
    }
    if (found) {
        r = fl_check_evidence(c, "%s: exists, but %s does not include it", found, conf_path);
        if (r >= 0)
            r = fl_check_remedy(c, "add to %s, before the first section: .include %s", conf_path, found);
    } else {
        r = fl_check_evidence(
            c, "fipsmodule.cnf: not included by %s, and none in %s or the usual directories", conf_path, dir);
        if (r >= 0)
            r = fl_check_remedy(c, "openssl fipsinstall -out %s/fipsmodule.cnf -module %s", dir, module);
        if (r >= 0)
            r = fl_check_remedy(c, "add to %s, before the first section: .include %s/fipsmodule.cnf",
                                conf_path, dir);
    }
    free(dir);
    free(found);
    return r < 0 ? r : 0;
}

#define FL_FIPS_ACTIVE 1 /* the fips provider is configured and activated */
#define FL_FIPS_PROPS  2 /* default_properties require fips=yes */

/* Provider activation and default properties. @return FL_FIPS_* flags for what is right, or -ENOMEM. */
static int judge_providers(const struct fl_ossl_conf *conf, const char *conf_path, const char *section,
                           struct fl_check *c)
{
    const struct fl_ossl_value *init = fl_ossl_conf_get(conf, "default", "openssl_conf");
    const struct fl_ossl_value *prov = init ? fl_ossl_conf_get(conf, init->value, "providers") : NULL;
    const struct fl_ossl_value *alg = init ? fl_ossl_conf_get(conf, init->value, "alg_section") : NULL;
    const struct fl_ossl_value *props = alg ? fl_ossl_conf_get(conf, alg->value, "default_properties") : NULL;
    const struct fl_ossl_value *activate = section ? fl_ossl_conf_get(conf, section, "activate") : NULL;
    bool fips_active = activate && fl_ossl_truthy(activate->value);
    bool fips_props = props && fl_ossl_properties_fips(props->value);
    char active[256] = "";
    int r = 0;

    if (!init) {
        r = fl_check_evidence(c, "%s: no openssl_conf: no provider configuration is applied", conf_path);
        if (r >= 0)
            r = fl_check_remedy(c,
                                "add to %s, before the first section: openssl_conf = openssl_init; then "
                                "[openssl_init] providers = provider_sect, alg_section = algorithm_sect",
                                conf_path);
        goto properties;
    }
    r = fl_check_evidence(c, "%s:%u: openssl_conf = %s", init->file, init->line, init->value);
    if (r < 0)
        return r;
    if (!prov) {
        r = fl_check_evidence(c, "[%s]: no providers section", init->value);
        if (r >= 0)
            r = fl_check_remedy(c, "add to [%s] in %s: providers = provider_sect", init->value, conf_path);
        goto properties;
    }
    /* every provider the configuration activates */
    for (size_t i = 0; i < conf->n_values; i++) {
        const struct fl_ossl_value *v = &conf->values[i], *act;
        if (strcmp(v->section, prov->value) || fl_ossl_conf_get(conf, prov->value, v->name) != v)
            continue;
        act = fl_ossl_conf_get(conf, v->value, "activate");
        if (act && fl_ossl_truthy(act->value) && strlen(active) + strlen(v->name) + 3 < sizeof(active)) {
            strcat(active, *active ? ", " : "");
            strcat(active, v->name);
        }
    }
    r = fl_check_evidence(c, "%s:%u: providers = %s; activated: %s", prov->file, prov->line, prov->value,
                          *active ? active : "none");
    if (r < 0)
        return r;
    if (!section) {
        r = fl_check_evidence(c, "[%s]: no fips provider", prov->value);
        if (r >= 0)
            r = fl_check_remedy(
                c,
                "add to [%s] in %s: fips = fips_sect (the section fipsmodule.cnf defines), and "
                "base = base_sect with [base_sect] activate = 1",
                prov->value, conf_path);
    } else if (!fips_active) {
        if (activate)
            r = fl_check_evidence(c, "%s:%u: [%s] activate = %s: the fips provider is not activated",
                                  activate->file, activate->line, section, activate->value);
        else
            r = fl_check_evidence(c, "[%s]: no activate: the fips provider is not activated", section);
        if (r >= 0)
            r = fl_check_remedy(
                c, "set activate = 1 in [%s] (openssl fipsinstall writes it into fipsmodule.cnf)", section);
    } else {
        r = fl_check_evidence(c, "%s:%u: [%s] activate = %s", activate->file, activate->line, section,
                              activate->value);
    }
properties:
    if (r < 0)
        return r;
    if (fips_props) {
        r = fl_check_evidence(c, "%s:%u: [%s] default_properties = %s", props->file, props->line, alg->value,
                              props->value);
    } else {
        if (props)
            r = fl_check_evidence(c, "%s:%u: [%s] default_properties = %s: does not require fips=yes",
                                  props->file, props->line, alg->value, props->value);
        else if (alg)
            r = fl_check_evidence(c, "[%s]: no default_properties", alg->value);
        else
            r = fl_check_evidence(c, "%s: no alg_section: default properties do not require fips=yes",
                                  conf_path);
        if (r >= 0 && init && !alg)
            r = fl_check_remedy(c,
                                "add to [%s] in %s: alg_section = algorithm_sect; then [algorithm_sect] "
                                "default_properties = fips=yes",
                                init->value, conf_path);
        else if (r >= 0)
            r = fl_check_remedy(c, "set default_properties = fips=yes in [%s] of %s",
                                alg ? alg->value : "algorithm_sect", conf_path);
    }
    if (r < 0)
        return r;
    return (section && fips_active ? FL_FIPS_ACTIVE : 0) | (fips_props ? FL_FIPS_PROPS : 0);
}

int fl_check_openssl_config(const char *root, const struct fl_openssl_live *live, struct fl_check *c)
{
    struct fl_ossl_conf conf = {0};
    const char *why, *section;
    char *conf_path = NULL, *module = NULL;
    int r, found, module_ok, providers_ok;

    fl_check_init(c, FL_CHECK_OPENSSL_CONFIG);
    r = active_conf(root, &conf_path, &why);
    if (r < 0)
        return r;
    r = fl_check_evidence(c, "active configuration: %s (%s)", conf_path, why);
    if (r < 0)
        goto out;
    r = fl_ossl_conf_load(root, conf_path, &conf);
    if (r == -ENOMEM)
        goto out;
    if (r < 0) {
        r = fl_check_evidence(c, "%s: %s", conf_path, strerror(-r));
        if (r >= 0)
            r = fl_check_set(c, FL_CHECK_FAIL, "%s cannot be read", conf_path);
        if (r >= 0)
            r = fl_check_remedy(c, "write a FIPS openssl.cnf to %s (fipsluks check --emit butane shows one)",
                                conf_path);
        goto out;
    }
    for (size_t i = 1; i < conf.n_files && r >= 0; i++)
        r = conf.files[i].error ? fl_check_evidence(c, "%s: .include failed: %s", conf.files[i].path,
                                                    strerror(-conf.files[i].error))
                                : fl_check_evidence(c, "%s: included", conf.files[i].path);
    if (r < 0)
        goto out;
    section = fips_section(&conf);
    r = find_module(root, section ? fl_ossl_conf_get(&conf, section, "module") : NULL, &module, &found, NULL);
    if (r < 0)
        goto out;
    module_ok = judge_fipsmodule(root, conf_path, &conf, section, module, c);
    if (module_ok < 0) {
        r = module_ok;
        goto out;
    }
    providers_ok = judge_providers(&conf, conf_path, section, c);
    if (providers_ok < 0) {
        r = providers_ok;
        goto out;
    }
    if (module_ok && providers_ok == (FL_FIPS_ACTIVE | FL_FIPS_PROPS)) {
        r = fl_check_set(c, FL_CHECK_PASS,
                         "%s includes fipsmodule.cnf, activates the fips provider and requires fips=yes",
                         conf_path);
    } else if (live && live->fips_available && live->fips_properties) {
        r = fl_check_set(
            c, FL_CHECK_WARN,
            "%s does not configure FIPS mode, yet OpenSSL in this process is in it (a distribution patch, "
            "as on RHEL, activates the fips provider when the kernel is in FIPS mode)",
            conf_path);
    } else {
        char problems[200] = "";

        if (!module_ok)
            strcat(problems, "; no usable fipsmodule.cnf");
        if (!(providers_ok & FL_FIPS_ACTIVE))
            strcat(problems, "; the fips provider is not activated");
        if (!(providers_ok & FL_FIPS_PROPS))
            strcat(problems, "; default_properties do not require fips=yes");
        r = fl_check_set(c, FL_CHECK_FAIL, "%s does not put OpenSSL in FIPS mode: %s", conf_path,
                         problems + 2);
    }
    if (r >= 0 && c->status != FL_CHECK_PASS)
        r = fl_check_remedy(c, "fipsluks check --emit butane shows a complete FIPS openssl.cnf");
out:
    fl_ossl_conf_clear(&conf);
    free(conf_path);
    free(module);
    return r < 0 ? r : 0;
}
