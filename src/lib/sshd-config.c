/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading sshd_config and ssh_config with their Include files: which algorithm lines sshd (or ssh)
 * reads, where, in which Match or Host block. sshd semantics: keywords are case-insensitive, the
 * first value of a keyword wins (per Match block), Include is processed in place, a Match block lasts
 * until the next Match or the end of its file. Reading only: the verdicts are in check-sshd.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <glob.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "fipsluks/array.h"
#include "fipsluks/sshd.h"
#include "fipsluks/util.h"
#include "root.h"

#define FL_SSHD_MAX_DEPTH 16 /* OpenSSH's SERVCONF_MAX_DEPTH */

/* ---- the keywords that name algorithms ---- */

static const struct {
    const char *name;
    const char *alias; /* an older name sshd still accepts, or NULL */
} keywords[FL_SSHD_N_KEYWORDS] = {
    [FL_SSHD_CIPHERS] = {"Ciphers", NULL},
    [FL_SSHD_MACS] = {"MACs", NULL},
    [FL_SSHD_KEX] = {"KexAlgorithms", NULL},
    [FL_SSHD_HOSTKEY] = {"HostKeyAlgorithms", NULL},
    [FL_SSHD_PUBKEY] = {"PubkeyAcceptedAlgorithms", "PubkeyAcceptedKeyTypes"},
};

const char *fl_sshd_keyword_name(enum fl_sshd_keyword k)
{
    return k < FL_SSHD_N_KEYWORDS ? keywords[k].name : "?";
}

/* ---- reading ---- */

static int push_string(char ***items, size_t *n, size_t *allocated, char *s)
{
    if (!s)
        return -ENOMEM;
    if (fl_array_grow(items, allocated, *n + 1, sizeof(**items)) < 0) {
        free(s);
        return -ENOMEM;
    }
    (*items)[(*n)++] = s;
    return 0;
}

static int note(struct fl_sshd_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int note(struct fl_sshd_config *cfg, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return push_string(&cfg->notes, &cfg->n_notes, &cfg->allocated_notes, s);
}

static int add_setting(struct fl_sshd_config *cfg, enum fl_sshd_keyword k, const char *file, unsigned line,
                       const char *value, size_t scope)
{
    struct fl_sshd_setting *s;

    if (fl_array_grow(&cfg->settings, &cfg->allocated_settings, cfg->n_settings + 1, sizeof(*cfg->settings)) <
        0)
        return -ENOMEM;
    s = &cfg->settings[cfg->n_settings];
    *s = (struct fl_sshd_setting){
        .keyword = k,
        .file = file,
        .line = line,
        .value = strdup(value),
        .match = scope ? cfg->scopes[scope - 1] : NULL,
        .scope = scope,
    };
    if (!s->value)
        return -ENOMEM;
    cfg->n_settings++;
    return 0;
}

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f';
}

/*
 * Split @p line into at most @p max tokens in place, like OpenSSH's argv_split(): white space
 * separates, double quotes group, a token starting with # ends the line, and the keyword may be
 * followed by '=' ("Ciphers=aes128-ctr", "Ciphers = aes128-ctr"). @return the number of tokens.
 */
static size_t split(char *line, char **tokens, size_t max)
{
    size_t n = 0;
    char *p = line;

    while (n < max) {
        char *out, stop;

        while (blank(*p))
            p++;
        if (n == 1 && *p == '=') {
            p++;
            while (blank(*p))
                p++;
        }
        if (!*p || *p == '#')
            break;
        tokens[n] = out = p;
        while (*p && !blank(*p) && !(n == 0 && *p == '=')) {
            if (*p == '"') {
                p++;
                while (*p && *p != '"')
                    *out++ = *p++;
                if (*p)
                    p++;
            } else {
                *out++ = *p++;
            }
        }
        stop = *p;
        if (*p)
            p++;
        *out = '\0';
        n++;
        if (!stop)
            break;
    }
    return n;
}

/* One configuration being read: the files read so far (by identity) and where the results go. */
struct reader {
    const char *root;
    struct fl_conf_reader files;
    struct fl_sshd_config *cfg;
    unsigned over; /* Include files not read: the file cap was reached */
};

static int parse_text(struct reader *rd, const char *name, const char *text, size_t scope_in, int depth);

/* @p s with glob's special characters escaped, a new string. */
static char *glob_escape(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 1), *q = out;

    if (!out)
        return NULL;
    for (; *s; s++) {
        if (strchr("*?[]\\", *s))
            *q++ = '\\';
        *q++ = *s;
    }
    *q = '\0';
    return out;
}

/* Read @p path in place; @p from and @p line name the Include line (NULL for the main file). */
static int read_file(struct reader *rd, const char *from, unsigned line, const char *path, size_t scope,
                     int depth)
{
    struct fl_sshd_config *cfg = rd->cfg;
    enum fl_conf_seen seen;
    char *text = NULL;
    mode_t type = 0;
    int r, id;

    id = fl_conf_read(&rd->files, path, &text, &type, &seen);
    if (id >= 0 && seen != FL_CONF_NEW) {
        const char *why = fl_conf_seen_text(seen);

        return from ? note(cfg, "%s:%u: Include %s: %s", from, line, path, why)
                    : note(cfg, "%s: %s", path, why);
    }
    if (id < 0) {
        const char *why = fl_read_strerror(id, type);

        if (id == -FL_ENOTREG || id == -EISDIR || id == -EFBIG || id == -E2BIG || id == -EMLINK)
            cfg->incomplete = 1;
        if (id == -ENOMEM)
            return id;
        r = from ? note(cfg, "%s:%u: Include %s: %s", from, line, path, why) : note(cfg, "%s: %s", path, why);
        return r < 0 ? r : id;
    }
    r = push_string(&cfg->files, &cfg->n_files, &cfg->allocated_files, strdup(path));
    if (r >= 0)
        r = parse_text(rd, cfg->files[cfg->n_files - 1], text, scope, depth);
    fl_conf_read_end(&rd->files, id);
    free(text);
    return r;
}

/* Include PATTERN (relative to /etc/ssh): every match in order, read in place. */
static int include(struct reader *rd, const char *from, unsigned line, const char *arg, size_t scope,
                   int depth)
{
    const char *root = rd->root;
    struct fl_sshd_config *cfg = rd->cfg;
    _cleanup_free_ char *host = NULL, *dir = NULL, *resolved = NULL, *escaped = NULL, *pattern = NULL;
    _cleanup_(globfree) glob_t g = {0};
    const char *base;
    int r, gr;

    /* every Include pattern counts against the cap: each one reads a directory */
    if (rd->files.attempts >= FL_CONF_MAX_FILES) {
        cfg->incomplete = 1;
        if (rd->over++)
            return 0;
        return note(cfg,
                    "%s:%u: Include %s: not read: " FL_CONF_MAX_FILES_TEXT
                    " files were already read (the limit for one configuration)",
                    from, line, arg);
    }
    rd->files.attempts++;
    host = fl_asprintf("%s%s", arg[0] == '/' ? "" : "/etc/ssh/", arg);
    if (!host)
        return -ENOMEM;
    base = strrchr(host, '/') + 1;
    dir = strndup(host, (size_t)(base - host - 1));
    if (!dir)
        return -ENOMEM;
    /* The directory part is resolved inside the root (links and all); globs in it are kept as they are. */
    if (strpbrk(dir, "*?[")) {
        resolved = fl_asprintf("%s%s", fl_root_set(root) ? root : "", dir);
        r = resolved ? 0 : -ENOMEM;
        if (r >= 0 && !(escaped = strdup(resolved)))
            r = -ENOMEM;
    } else {
        r = fl_root_path(root, *dir ? dir : "/", &resolved);
        if (r >= 0 && !(escaped = glob_escape(resolved)))
            r = -ENOMEM;
    }
    if (r < 0)
        return r;
    pattern = fl_asprintf("%s/%s", escaped, base);
    if (!pattern)
        return -ENOMEM;
    gr = glob(pattern, 0, NULL, &g);
    if (gr == GLOB_NOMATCH)
        return note(cfg, "%s:%u: Include %s: matched no files", from, line, arg);
    if (gr != 0)
        return gr == GLOB_NOSPACE ? -ENOMEM : note(cfg, "%s:%u: Include %s: cannot be read", from, line, arg);
    for (size_t i = 0; i < g.gl_pathc && r >= 0; i++) {
        const char *found = g.gl_pathv[i], *slash = strrchr(found, '/');
        _cleanup_free_ char *child = NULL;

        if (rd->files.attempts >= FL_CONF_MAX_FILES) {
            /* one note says it; the rest are counted */
            if (rd->over++ == 0)
                r = note(cfg,
                         "%s:%u: Include %s: not read: " FL_CONF_MAX_FILES_TEXT
                         " files were already read (the limit for one configuration)",
                         from, line, arg);
            cfg->incomplete = 1;
            continue;
        }
        /* as a host path: the unresolved directory and the matched name */
        if (strpbrk(dir, "*?["))
            child = strdup(found + (fl_root_set(root) ? strlen(root) : 0));
        else
            child = fl_asprintf("%s/%s", dir, slash ? slash + 1 : found);
        if (!child)
            return -ENOMEM;
        if (depth >= FL_SSHD_MAX_DEPTH) {
            r = note(cfg, "%s:%u: Include %s: nested too deeply", from, line, child);
        } else {
            r = read_file(rd, from, line, child, scope, depth + 1);
            if (r < 0 && r != -ENOMEM)
                r = 0; /* read_file() noted why */
        }
    }
    return r;
}

static int keyword_of(const char *word)
{
    for (int k = 0; k < FL_SSHD_N_KEYWORDS; k++)
        if (!strcasecmp(word, keywords[k].name) ||
            (keywords[k].alias && !strcasecmp(word, keywords[k].alias)))
            return k;
    return -1;
}

/* A new Match block "NAME:LINE: TEXT" in cfg->scopes. @return its scope (index + 1) or -ENOMEM. */
static int add_scope(struct fl_sshd_config *cfg, const char *name, unsigned line, const char *text)
{
    char *s = NULL;
    int r;

    if (asprintf(&s, "%s:%u: %s", name, line, text) < 0)
        return -ENOMEM;
    r = push_string(&cfg->scopes, &cfg->n_scopes, &cfg->allocated_scopes, s);
    if (r < 0)
        return r;
    return cfg->n_scopes > INT_MAX ? -ENOMEM : (int)cfg->n_scopes;
}

/* Every line of @p text, each copied once (@p name must outlive @p rd->cfg: one of its files[]). */
static int parse_text(struct reader *rd, const char *name, const char *text, size_t scope_in, int depth)
{
    struct fl_sshd_config *cfg = rd->cfg;
    char *copy = strdup(text), *line, *next;
    size_t scope = scope_in;
    unsigned lineno = 0;
    int r = 0;

    if (!copy)
        return -ENOMEM;
    for (line = copy; line && r >= 0; line = next) {
        char *raw, *saved, *tokens[64];
        size_t n;
        int k;

        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        raw = line;
        while (blank(*raw))
            raw++;
        /* split() rewrites the line: keep it as written when it may be a Match line (copied once at most) */
        saved = NULL;
        if ((*raw == 'M' || *raw == 'm' || *raw == 'H' || *raw == 'h' || *raw == '"') &&
            !(saved = strdup(raw))) {
            r = -ENOMEM;
            break;
        }
        n = split(line, tokens, sizeof(tokens) / sizeof(tokens[0]));
        if (n > 0 && (!strcasecmp(tokens[0], "Match") || (cfg->client && !strcasecmp(tokens[0], "Host")))) {
            int sc = add_scope(cfg, name, lineno, saved);
            if (sc < 0)
                r = sc;
            else
                scope = (size_t)sc;
        } else if (n > 0 && !strcasecmp(tokens[0], "Include")) {
            for (size_t i = 1; i < n && r >= 0; i++)
                r = include(rd, name, lineno, tokens[i], scope, depth);
        } else if (n > 0 && (k = keyword_of(tokens[0])) >= 0 && n >= 2) {
            r = add_setting(cfg, (enum fl_sshd_keyword)k, name, lineno, tokens[1], scope);
        }
        free(saved);
    }
    free(copy);
    return r;
}

int fl_sshd_config_load(const char *root, const char *path, struct fl_sshd_config *cfg)
{
    struct reader rd = {.root = root, .cfg = cfg};
    int r;

    fl_conf_reader_init(&rd.files, root);
    r = read_file(&rd, NULL, 0, path, 0, 0);
    if (r >= 0 && rd.over > 1)
        r = note(cfg,
                 "%u more Include files or patterns not read: the limit of " FL_CONF_MAX_FILES_TEXT
                 " files is reached",
                 rd.over - 1);
    fl_conf_reader_done(&rd.files);
    return r;
}

int fl_sshd_config_parse(const char *root, const char *name, const char *text, struct fl_sshd_config *cfg)
{
    struct reader rd = {.root = root, .cfg = cfg};
    int r = push_string(&cfg->files, &cfg->n_files, &cfg->allocated_files, strdup(name));

    fl_conf_reader_init(&rd.files, root);
    if (r >= 0)
        r = parse_text(&rd, cfg->files[cfg->n_files - 1], text, 0, 0);
    fl_conf_reader_done(&rd.files);
    return r;
}

void fl_sshd_config_clear(struct fl_sshd_config *cfg)
{
    for (size_t i = 0; i < cfg->n_settings; i++)
        free(cfg->settings[i].value);
    for (size_t i = 0; i < cfg->n_files; i++)
        free(cfg->files[i]);
    for (size_t i = 0; i < cfg->n_notes; i++)
        free(cfg->notes[i]);
    for (size_t i = 0; i < cfg->n_scopes; i++)
        free(cfg->scopes[i]);
    free(cfg->settings);
    free(cfg->files);
    free(cfg->notes);
    free(cfg->scopes);
    *cfg = (struct fl_sshd_config){0};
}
