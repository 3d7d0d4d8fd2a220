/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A reader for OpenSSL's configuration syntax, as OpenSSL reads it (enough of it to judge FIPS
 * mode): sections, values, .include, .pragma, $var expansion, and what makes OpenSSL refuse a file.
 * Parsing only: what the files mean for FIPS mode is judged in check-openssl.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fipsluks/array.h"
#include "openssl-conf.h"
#include "root.h"

#define FL_OSSL_MAX_DEPTH 16
/* OpenSSL's MAX_CONF_VALUE_LENGTH: a longer value after expansion makes it refuse the file. */
#define FL_OSSL_MAX_VALUE 65536u
/* What $var expansion may make in all, per configuration (OpenSSL has no such limit; fipsluks stops). */
#define FL_OSSL_MAX_EXPANDED (16u * 1024u * 1024u)

/* ---- reading ---- */

struct parser {
    const char *root;
    struct fl_ossl_conf *conf;
    struct fl_conf_reader reader;
    const char *section; /* current section (in conf->sections); carries over into and out of included
                            files, as in OpenSSL */
    char *includedir;    /* .pragma includedir */
    bool dollarid;       /* .pragma dollarid:on: "$" is part of names, only ${x} and $(x) expand */
    int depth;
};

static int index_add(struct fl_ossl_conf *conf, size_t at);

/* Record @p path with @p error; @p ret (optional): the recorded copy of the path. */
static int add_file(struct fl_ossl_conf *conf, const char *path, int error, mode_t type,
                    enum fl_conf_seen seen, const char **ret)
{
    if (fl_array_grow(&conf->files, &conf->allocated_files, conf->n_files + 1, sizeof(*conf->files)) < 0)
        return -ENOMEM;
    conf->files[conf->n_files] =
        (struct fl_ossl_file){.path = strdup(path), .error = error, .type = type, .seen = seen};
    if (!conf->files[conf->n_files].path)
        return -ENOMEM;
    if (ret)
        *ret = conf->files[conf->n_files].path;
    conf->n_files++;
    return 0;
}

/* Make @p name (@p len bytes) the current section: a copy kept in conf->sections. */
static int set_section(struct parser *p, const char *name, size_t len)
{
    struct fl_ossl_conf *conf = p->conf;
    char *copy;

    if (fl_array_grow(&conf->sections, &conf->allocated_sections, conf->n_sections + 1,
                      sizeof(*conf->sections)) < 0)
        return -ENOMEM;
    copy = strndup(name, len);
    if (!copy)
        return -ENOMEM;
    conf->sections[conf->n_sections++] = copy;
    p->section = copy;
    return 0;
}

static int add_value(struct parser *p, const char *name, const char *value, const char *file, unsigned line)
{
    struct fl_ossl_conf *conf = p->conf;
    struct fl_ossl_value *v;

    if (fl_array_grow(&conf->values, &conf->allocated_values, conf->n_values + 1, sizeof(*conf->values)) < 0)
        return -ENOMEM;
    v = &conf->values[conf->n_values];
    *v = (struct fl_ossl_value){
        .section = p->section,
        .name = strdup(name),
        .value = strdup(value),
        .file = file,
        .line = line,
    };
    if (!v->name || !v->value) {
        free(v->name);
        free(v->value);
        return -ENOMEM;
    }
    conf->n_values++;
    /* kept up to date while reading: $var looks values up as they are read */
    return index_add(conf, conf->n_values - 1);
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
    _cleanup_free_ char *target = NULL, *full = NULL;
    struct stat st;
    int r = 0;

    if (arg[0] == '/') {
        target = strdup(arg);
    } else {
        const char *base = p->includedir;
        _cleanup_free_ char *dir = NULL;

        if (!base && !fl_root_set(p->root))
            base = getenv("OPENSSL_CONF_INCLUDE");
        if (!base) {
            const char *slash = strrchr(from, '/');
            dir = slash ? strndup(from, (size_t)(slash - from)) : strdup(".");
            base = dir;
        }
        if (base && asprintf(&target, "%s/%s", base, arg) < 0)
            target = NULL;
    }
    if (!target)
        return -ENOMEM;
    /* an include that fails or names a directory counts against the cap too: every one costs work */
    if (p->reader.attempts >= FL_CONF_MAX_FILES)
        return add_file(p->conf, target, -EMLINK, 0, FL_CONF_NEW, NULL);
    r = fl_root_path(p->root, target, &full);
    if (r < 0)
        return r;
    /* stat() only tells a directory from the rest; fl_conf_read() refuses what is not a regular file */
    if (stat(full, &st) < 0) {
        p->reader.attempts++;
        r = add_file(p->conf, target, -errno, 0, FL_CONF_NEW, NULL);
    } else if (S_ISDIR(st.st_mode)) {
        p->reader.attempts++;
        struct dirent **names = NULL;
        int n = scandir(full, &names, only_visible, alphasort);

        if (n < 0)
            return add_file(p->conf, target, -errno, 0, FL_CONF_NEW, NULL);
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
    return r;
}

/* ---- values as OpenSSL copies them: quotes, escapes, $var (str_copy() in crypto/conf/conf_def.c) ---- */

/* OpenSSL refuses to load the configuration: record why (the first reason) and stop reading. */
static int refuse(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!p->conf->refused) {
        va_start(ap, fmt);
        n = vasprintf(&p->conf->refused, fmt, ap);
        va_end(ap);
        if (n < 0) {
            p->conf->refused = NULL;
            return -ENOMEM;
        }
    }
    return -ECANCELED;
}

/* fipsluks stops reading (a cap): record why (the first reason) and stop. */
static int stop(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int stop(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!p->conf->incomplete) {
        va_start(ap, fmt);
        n = vasprintf(&p->conf->incomplete, fmt, ap);
        va_end(ap);
        if (n < 0) {
            p->conf->incomplete = NULL;
            return -ENOMEM;
        }
    }
    return -ECANCELED;
}

struct text {
    char *data;
    size_t len, size;
};

static int text_put(struct text *t, const char *s, size_t n)
{
    if (n >= SIZE_MAX - t->len || fl_array_grow(&t->data, &t->size, t->len + n + 1, 1) < 0)
        return -ENOMEM;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
    return 0;
}

/* OpenSSL's name characters (CONF_ALNUM: ASCII letters, digits, underscore; "$" too with dollarid). */
static bool name_char(const struct parser *p, char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (p->dollarid && c == '$');
}

/*
 * What $@p section::@p name (or $@p name, @p section NULL for the default section only) expands to, as
 * OpenSSL's _CONF_get_string(): the section's value, for section ENV the environment, then the
 * default section. Below a root the host's environment is unknown: @p ret_env_unknown is set and
 * the caller takes "". @return the value or NULL.
 */
static const char *lookup(struct parser *p, const char *section, const char *name, bool *ret_env_unknown)
{
    const struct fl_ossl_value *v = section ? fl_ossl_conf_get(p->conf, section, name) : NULL;

    if (v)
        return v->value;
    if (section && !strcmp(section, "ENV")) {
        if (!fl_root_set(p->root)) {
            const char *env = secure_getenv(name);
            if (env)
                return env;
        } else {
            *ret_env_unknown = true;
        }
    }
    v = fl_ossl_conf_get(p->conf, "default", name);
    return v ? v->value : NULL;
}

/*
 * Copy @p from as OpenSSL does a value, a section name or an .include argument: '…' and "…" lose
 * their quotes (a backslash inside keeps the next character), \r \n \b \t and \x outside them, and
 * $name, ${name}, $(name), $section::name expand to values read so far in @p section (NULL: the
 * default section only) or the default section. A variable with no value, an unclosed brace, or a
 * result longer than FL_OSSL_MAX_VALUE make OpenSSL refuse the whole configuration (-ECANCELED,
 * with the reason in conf->refused). Expansion is bounded in all by FL_OSSL_MAX_EXPANDED.
 */
static int expand(struct parser *p, const char *section, const char *from, const char *file, unsigned line,
                  char **ret)
{
    struct text t = {0};
    int r = text_put(&t, "", 0);

    while (r >= 0 && *from) {
        if (*from == '\'' || *from == '"') {
            char q = *from++;
            while (r >= 0 && *from && *from != q) {
                if (*from == '\\' && !*++from)
                    break;
                r = text_put(&t, from++, 1);
            }
            if (*from == q)
                from++;
        } else if (*from == '\\') {
            char v = from[1];
            if (!v)
                break;
            from += 2;
            v = (char)(v == 'r' ? '\r' : v == 'n' ? '\n' : v == 'b' ? '\b' : v == 't' ? '\t' : v);
            r = text_put(&t, &v, 1);
        } else if (*from == '$' && (!p->dollarid || from[1] == '{' || from[1] == '(')) {
            const char *s = from + 1, *e, *name, *value;
            char close = (char)(*s == '{' ? '}' : *s == '(' ? ')' : 0), *sec = NULL, *key = NULL;
            bool env_unknown = false;
            size_t n;

            if (close)
                s++;
            for (e = s; name_char(p, *e); e++)
                ;
            name = s;
            if (e[0] == ':' && e[1] == ':') {
                sec = strndup(s, (size_t)(e - s));
                if (!sec) {
                    r = -ENOMEM;
                    break;
                }
                for (name = e += 2; name_char(p, *e); e++)
                    ;
            }
            key = strndup(name, (size_t)(e - name));
            if (!key) {
                free(sec);
                r = -ENOMEM;
                break;
            }
            if (close && *e != close) {
                r = refuse(p, "%s:%u: a variable has no closing '%c'", file, line, close);
            } else {
                value = lookup(p, sec ? sec : section, key, &env_unknown);
                if (env_unknown && !value) {
                    value = "";
                    p->conf->env_unknown++;
                }
                if (!value) {
                    r = refuse(p, "%s:%u: $%s%s%s has no value", file, line, sec ? sec : "", sec ? "::" : "",
                               key);
                } else if (t.len + (n = strlen(value)) > FL_OSSL_MAX_VALUE) {
                    r = refuse(p, "%s:%u: the value is longer than %u bytes after variable expansion", file,
                               line, FL_OSSL_MAX_VALUE);
                } else if ((p->conf->expanded += n) > FL_OSSL_MAX_EXPANDED) {
                    r = stop(p, "%s:%u: not read further: variable expansion made more than %u MiB in all",
                             file, line, FL_OSSL_MAX_EXPANDED >> 20);
                } else {
                    r = text_put(&t, value, n);
                }
                from = e + (close != 0);
            }
            free(sec);
            free(key);
        } else {
            r = text_put(&t, from++, 1);
        }
    }
    if (r < 0) {
        free(t.data);
        return r;
    }
    *ret = t.data;
    return 0;
}

static int parse_line(struct parser *p, const char *file, unsigned lineno, char *line)
{
    char *s, *eq;
    int r;

    cut_comment(line);
    s = trim(line);
    if (!*s)
        return 0;
    if (*s == '[') {
        char *end = strchr(s, ']'), *name = NULL;

        if (!end)
            return 0; /* OpenSSL refuses the file; judged by what was read so far */
        *end = '\0';
        /* section names expand too, from the default section */
        r = expand(p, NULL, trim(s + 1), file, lineno, &name);
        if (r >= 0)
            r = set_section(p, name, strlen(name));
        free(name);
        return r;
    }
    if (!strncmp(s, ".include", 8) && (s[8] == ' ' || s[8] == '\t' || s[8] == '=')) {
        char *arg = NULL;

        s = trim(s + 8);
        if (*s == '=')
            s = trim(s + 1);
        r = expand(p, p->section, s, file, lineno, &arg);
        if (r >= 0 && p->depth >= FL_OSSL_MAX_DEPTH)
            r = add_file(p->conf, arg, -ELOOP, 0, FL_CONF_NEW, NULL);
        else if (r >= 0)
            r = include(p, file, arg);
        free(arg);
        return r;
    }
    if (!strncmp(s, ".pragma", 7) && (s[7] == ' ' || s[7] == '\t' || s[7] == '=')) {
        char *arg = directive_arg(s + 7);
        if (!strncmp(arg, "includedir:", 11)) {
            char *dir = strdup(trim(arg + 11));
            if (!dir)
                return -ENOMEM;
            free(p->includedir);
            p->includedir = dir;
        } else if (!strncmp(arg, "dollarid:", 9)) {
            const char *on = trim(arg + 9);
            if (!strcasecmp(on, "on") || !strcasecmp(on, "true"))
                p->dollarid = true;
            else if (!strcasecmp(on, "off") || !strcasecmp(on, "false"))
                p->dollarid = false;
        }
        return 0;
    }
    eq = strchr(s, '=');
    if (!eq)
        return 0;
    *eq = '\0';
    {
        char *value = NULL;

        r = expand(p, p->section, trim(eq + 1), file, lineno, &value);
        if (r >= 0)
            r = add_value(p, trim(s), value, file, lineno);
        free(value);
    }
    return r;
}

/*
 * Every logical line of @p text to parse_line(): a backslash at the end of a line continues it. Each
 * byte is copied once into one buffer (a logical line is never longer than the text): linear.
 */
static int parse_text(struct parser *p, const char *name, const char *text)
{
    char *line = malloc(strlen(text) + 1);
    const char *s = text;
    unsigned lineno = 0;
    int r = 0;

    if (!line)
        return -ENOMEM;
    while (*s && r >= 0) {
        unsigned first = lineno + 1;
        size_t n = 0;

        for (;;) {
            const char *nl = strchr(s, '\n');
            size_t k = nl ? (size_t)(nl - s) : strlen(s);

            memcpy(line + n, s, k);
            n += k;
            lineno++;
            s += k + (nl != NULL);
            if (!nl || n == 0 || line[n - 1] != '\\')
                break;
            n--;
        }
        line[n] = '\0';
        r = parse_line(p, name, first, line);
    }
    free(line);
    return r;
}

static int parse_file(struct parser *p, const char *path)
{
    const char *recorded = NULL;
    char *text = NULL;
    enum fl_conf_seen seen;
    mode_t type = 0;
    int r, id;

    id = fl_conf_read(&p->reader, path, &text, &type, &seen);
    if (id == -ENOMEM)
        return id;
    if (add_file(p->conf, path, id < 0 ? id : 0, type, id < 0 ? FL_CONF_NEW : seen, &recorded) < 0) {
        free(text);
        return -ENOMEM;
    }
    if (id < 0)
        return p->depth == 0 ? id : 0;
    if (seen != FL_CONF_NEW)
        return 0; /* recorded as met before, not read again */
    p->depth++;
    r = parse_text(p, recorded, text);
    p->depth--;
    fl_conf_read_end(&p->reader, id);
    free(text);
    return r;
}

static int parser_init(struct parser *p, const char *root, struct fl_ossl_conf *conf)
{
    *p = (struct parser){.root = root, .conf = conf};
    fl_conf_reader_init(&p->reader, root);
    return set_section(p, "default", strlen("default"));
}

static void parser_done(struct parser *p)
{
    fl_conf_reader_done(&p->reader);
    free(p->includedir);
}

/* FNV-1a over "section\0name". */
static size_t hash_key(const char *section, const char *name)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (const unsigned char *s = (const unsigned char *)section; *s; s++)
        h = (h ^ *s) * 0x100000001b3u;
    h = (h ^ 0) * 0x100000001b3u;
    for (const unsigned char *s = (const unsigned char *)name; *s; s++)
        h = (h ^ *s) * 0x100000001b3u;
    return (size_t)h;
}

/* The slot for (@p section, @p name) in the index: the one holding it, or the empty one to put it in. */
static size_t find_slot(const struct fl_ossl_conf *conf, const char *section, const char *name)
{
    size_t mask = conf->index_size - 1, i = hash_key(section, name) & mask;

    for (;;) {
        size_t at = conf->index[i];
        if (at == SIZE_MAX ||
            (!strcmp(conf->values[at].name, name) && !strcmp(conf->values[at].section, section)))
            return i;
        i = (i + 1) & mask;
    }
}

/* (Re)build the index fl_ossl_conf_get() uses: one lookup instead of a pass over every value. */
static int build_index(struct fl_ossl_conf *conf)
{
    size_t size = 16, *slots;

    while (size < conf->n_values * 2)
        size *= 2;
    slots = malloc(size * sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < size; i++)
        slots[i] = SIZE_MAX;
    free(conf->index);
    conf->index = slots;
    conf->index_size = size;
    for (size_t i = 0; i < conf->n_values; i++)
        slots[find_slot(conf, conf->values[i].section, conf->values[i].name)] = i; /* the last one wins */
    conf->n_indexed = conf->n_values;
    return 0;
}

/* Index the value at @p at (the last one), growing the index when it is half full. */
static int index_add(struct fl_ossl_conf *conf, size_t at)
{
    const struct fl_ossl_value *v = &conf->values[at];

    if (!conf->index || conf->n_indexed != at || (at + 1) * 2 > conf->index_size)
        return build_index(conf); /* indexes every value, this one too */
    conf->index[find_slot(conf, v->section, v->name)] = at;
    conf->n_indexed = at + 1;
    return 0;
}

int fl_ossl_conf_load(const char *root, const char *path, struct fl_ossl_conf *conf)
{
    struct parser p;
    int r;

    r = parser_init(&p, root, conf);
    if (r >= 0)
        r = parse_file(&p, path);
    parser_done(&p);
    if (r == -ECANCELED)
        r = 0; /* conf->refused or conf->incomplete says why */
    if (r != -ENOMEM && build_index(conf) < 0)
        r = -ENOMEM;
    return r;
}

int fl_ossl_conf_parse(const char *root, const char *name, const char *text, struct fl_ossl_conf *conf)
{
    const char *recorded = NULL;
    struct parser p;
    int r;

    r = parser_init(&p, root, conf);
    if (r >= 0)
        r = add_file(conf, name, 0, 0, FL_CONF_NEW, &recorded);
    if (r >= 0) {
        p.depth = 1;
        r = parse_text(&p, recorded, text);
    }
    parser_done(&p);
    if (r == -ECANCELED)
        r = 0; /* conf->refused or conf->incomplete says why */
    if (r >= 0)
        r = build_index(conf);
    return r;
}

const struct fl_ossl_value *fl_ossl_conf_get(const struct fl_ossl_conf *conf, const char *section,
                                             const char *name)
{
    const struct fl_ossl_value *found = NULL;
    size_t at;

    if (!section || !name)
        return NULL;
    if (conf->index && conf->n_indexed == conf->n_values) {
        at = conf->index[find_slot(conf, section, name)];
        return at == SIZE_MAX ? NULL : &conf->values[at];
    }
    for (size_t i = 0; i < conf->n_values; i++)
        if (!strcmp(conf->values[i].section, section) && !strcmp(conf->values[i].name, name))
            found = &conf->values[i];
    return found;
}

void fl_ossl_conf_clear(struct fl_ossl_conf *conf)
{
    for (size_t i = 0; i < conf->n_values; i++) {
        free(conf->values[i].name);
        free(conf->values[i].value);
    }
    for (size_t i = 0; i < conf->n_files; i++)
        free(conf->files[i].path);
    for (size_t i = 0; i < conf->n_sections; i++)
        free(conf->sections[i]);
    free(conf->values);
    free(conf->files);
    free(conf->sections);
    free(conf->index);
    free(conf->refused);
    free(conf->incomplete);
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
