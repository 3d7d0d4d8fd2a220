/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sshd: which algorithms sshd_config (and its Include files) makes sshd offer, and which of them a
 * FIPS host refuses. sshd semantics: keywords are case-insensitive, the first value of a keyword
 * wins (per Match block), Include is processed in place, a Match block lasts until the next Match
 * or the end of its file.
 */
#include <errno.h>
#include <limits.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <glob.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fipsluks/sshd.h"
#include "host-internal.h"

#define FL_SSHD_MAX_DEPTH 16 /* OpenSSH's SERVCONF_MAX_DEPTH */

/* ---- what a FIPS host refuses ---- */

static const struct {
    const char *pattern;
    const char *why;
} refused[] = {
    {"chacha20-poly1305@openssh.com",
     "ChaCha20-Poly1305 is not FIPS-approved; a FIPS OpenSSL has no ChaCha20"},
    {"umac-*", "UMAC is not FIPS-approved"},
    {"hmac-md5*", "MD5 is not FIPS-approved; a FIPS OpenSSL refuses it"},
    {"hmac-ripemd160*", "RIPEMD-160 is not FIPS-approved; a FIPS OpenSSL refuses it"},
    {"curve25519-sha256*",
     "X25519 key exchange is not FIPS-approved (OpenSSH computes it itself, outside the FIPS module)"},
    {"sntrup761x25519-sha512*", "sntrup761 and X25519 are not FIPS-approved"},
    {"mlkem768x25519-sha256", "the X25519 half of this hybrid key exchange is not FIPS-approved"},
    {"ssh-ed25519*",
     "Ed25519 in OpenSSH is computed outside the FIPS module; FIPS-mode OpenSSH builds refuse it"},
    {"sk-ssh-ed25519*",
     "Ed25519 in OpenSSH is computed outside the FIPS module; FIPS-mode OpenSSH builds refuse it"},
    {"ssh-dss*", "DSA signatures are no longer FIPS-approved (FIPS 186-5)"},
    {"diffie-hellman-group1-sha1", "1024-bit Diffie-Hellman is below the FIPS minimum of 2048 bits"},
    {"3des-cbc", "Triple-DES encryption is no longer FIPS-approved (SP 800-131A)"},
    {"arcfour*", "RC4 is not FIPS-approved; a FIPS OpenSSL refuses it"},
    {"blowfish-cbc", "Blowfish is not FIPS-approved; a FIPS OpenSSL refuses it"},
    {"cast128-cbc", "CAST5 is not FIPS-approved; a FIPS OpenSSL refuses it"},
};

const char *fl_sshd_refused(const char *name)
{
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const char *pattern = refused[i].pattern;
        /* the literal prefix first: fnmatch() converts both to wide characters in a UTF-8 locale */
        if (!strncmp(pattern, name, strcspn(pattern, "*?[")) && !fnmatch(pattern, name, 0))
            return refused[i].why;
    }
    return NULL;
}


/* OpenSSH's default host key and public key algorithm lists are the same, and so are their FIPS forms. */
#define KEY_ALGORITHMS_DEFAULT                                                                                 \
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"                             \
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,"                     \
    "sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"                       \
    "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,"                       \
    "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"                \
    "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
#define KEY_ALGORITHMS_FIPS "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256"

static const struct {
    const char *name;
    const char *alias;    /* an older name sshd still accepts, or NULL */
    const char *defaults; /* upstream OpenSSH 9.x/10.x compiled-in default */
    const char *fips;     /* a FIPS list for remedies */
} keywords[FL_SSHD_N_KEYWORDS] = {
    [FL_SSHD_CIPHERS] =
        {"Ciphers", NULL,
         "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
         "aes256-gcm@openssh.com",
         "aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"},
    [FL_SSHD_MACS] =
        {"MACs", NULL,
         "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
         "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
         "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
         "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512"},
    [FL_SSHD_KEX] =
        {"KexAlgorithms", NULL,
         "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"
         "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
         "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
         "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
         "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
         "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"},
    [FL_SSHD_HOSTKEY] =
        {"HostKeyAlgorithms", NULL,
         KEY_ALGORITHMS_DEFAULT, KEY_ALGORITHMS_FIPS},
    [FL_SSHD_PUBKEY] =
        {"PubkeyAcceptedAlgorithms", "PubkeyAcceptedKeyTypes",
         KEY_ALGORITHMS_DEFAULT, KEY_ALGORITHMS_FIPS},
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
    if (*n == *allocated) {
        size_t want = *allocated ? *allocated * 2 : 8;
        char **grown = realloc(*items, want * sizeof(*grown));
        if (!grown) {
            free(s);
            return -ENOMEM;
        }
        *items = grown;
        *allocated = want;
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

    if (cfg->n_settings == cfg->allocated_settings) {
        size_t want = cfg->allocated_settings ? cfg->allocated_settings * 2 : 16;
        struct fl_sshd_setting *grown = realloc(cfg->settings, want * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        cfg->settings = grown;
        cfg->allocated_settings = want;
    }
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
    char *text = NULL;
    mode_t type = 0;
    int r, id;

    id = fl_conf_read(&rd->files, path, &text, &type);
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
    char *host = NULL, *dir = NULL, *resolved = NULL, *escaped = NULL, *pattern = NULL;
    const char *base;
    glob_t g = {0};
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
    if (asprintf(&host, "%s%s", arg[0] == '/' ? "" : "/etc/ssh/", arg) < 0)
        return -ENOMEM;
    base = strrchr(host, '/') + 1;
    dir = strndup(host, (size_t)(base - host - 1));
    if (!dir) {
        r = -ENOMEM;
        goto out;
    }
    /* The directory part is resolved inside the root (links and all); globs in it are kept as they are. */
    if (strpbrk(dir, "*?[")) {
        r = asprintf(&resolved, "%s%s", fl_root_set(root) ? root : "", dir) < 0 ? -ENOMEM : 0;
        if (r >= 0 && !(escaped = strdup(resolved)))
            r = -ENOMEM;
    } else {
        r = fl_root_path(root, *dir ? dir : "/", &resolved);
        if (r >= 0 && !(escaped = glob_escape(resolved)))
            r = -ENOMEM;
    }
    if (r < 0)
        goto out;
    if (asprintf(&pattern, "%s/%s", escaped, base) < 0) {
        r = -ENOMEM;
        goto out;
    }
    gr = glob(pattern, 0, NULL, &g);
    if (gr == GLOB_NOMATCH) {
        r = note(cfg, "%s:%u: Include %s: matched no files", from, line, arg);
        goto out;
    }
    if (gr != 0) {
        r = gr == GLOB_NOSPACE ? -ENOMEM : note(cfg, "%s:%u: Include %s: cannot be read", from, line, arg);
        goto out;
    }
    for (size_t i = 0; i < g.gl_pathc && r >= 0; i++) {
        const char *found = g.gl_pathv[i], *slash = strrchr(found, '/');
        char *child = NULL;
        int e;

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
            e = asprintf(&child, "%s", found + (fl_root_set(root) ? strlen(root) : 0));
        else
            e = asprintf(&child, "%s/%s", dir, slash ? slash + 1 : found);
        if (e < 0) {
            r = -ENOMEM;
            break;
        }
        if (depth >= FL_SSHD_MAX_DEPTH) {
            r = note(cfg, "%s:%u: Include %s: nested too deeply", from, line, child);
        } else {
            r = read_file(rd, from, line, child, scope, depth + 1);
            if (r < 0 && r != -ENOMEM)
                r = 0; /* read_file() noted why */
        }
        free(child);
    }
out:
    globfree(&g);
    free(host);
    free(dir);
    free(resolved);
    free(escaped);
    free(pattern);
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
        if ((*raw == 'M' || *raw == 'm' || *raw == '"') && !(saved = strdup(raw))) {
            r = -ENOMEM;
            break;
        }
        n = split(line, tokens, sizeof(tokens) / sizeof(tokens[0]));
        if (n > 0 && !strcasecmp(tokens[0], "Match")) {
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

/* ---- judging ---- */

/* Whether the comma-separated @p patterns match @p name (fnmatch, as sshd's -list removal does). */
static bool list_matches(const char *patterns, const char *name)
{
    char *copy = strdup(patterns), *save = NULL;
    bool hit = false;

    if (!copy)
        return false;
    for (char *p = strtok_r(copy, ",", &save); p && !hit; p = strtok_r(NULL, ",", &save))
        hit = !fnmatch(p, name, 0);
    free(copy);
    return hit;
}

struct verdict {
    bool failed; /* an explicitly named algorithm is refused */
    bool warned; /* the defaults are in effect and include refused algorithms */
    char failed_keywords[160];
    char warned_keywords[160];
};

static void add_keyword(char *list, size_t size, const char *name)
{
    if (strstr(list, name))
        return;
    if (strlen(list) + strlen(name) + 3 < size) {
        if (*list)
            strcat(list, ", ");
        strcat(list, name);
    }
}

/*
 * The refused algorithms among OpenSSH's defaults for @p k, minus those @p removed matches.
 * @return 1 when there are some (evidence added), 0 when not, -ENOMEM.
 */
static int judge_defaults(struct fl_check *c, enum fl_sshd_keyword k, const char *where, const char *removed,
                          struct verdict *v)
{
    char *copy = strdup(keywords[k].defaults), *save = NULL, list[512] = "";

    if (!copy)
        return -ENOMEM;
    for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save))
        if (fl_sshd_refused(a) && !(removed && list_matches(removed, a)) &&
            strlen(list) + strlen(a) + 2 < sizeof(list)) {
            if (*list)
                strcat(list, ",");
            strcat(list, a);
        }
    free(copy);
    if (!*list)
        return 0;
    v->warned = true;
    add_keyword(v->warned_keywords, sizeof(v->warned_keywords), keywords[k].name);
    return fl_check_evidence(c, "%s: %s: OpenSSH's compiled-in default includes %s", where, keywords[k].name,
                             list) < 0
               ? -ENOMEM
               : 1;
}

/* Whether the algorithm list @p value (after any +, - or ^) names a refused algorithm. */
static int names_refused(const char *value)
{
    char *copy = strdup(value + (*value == '+' || *value == '-' || *value == '^')), *save = NULL;
    int any = 0;

    if (!copy)
        return -ENOMEM;
    for (char *a = strtok_r(copy, ",", &save); a && !any; a = strtok_r(NULL, ",", &save))
        any = fl_sshd_refused(a) != NULL;
    free(copy);
    return any;
}

/* Judge the line in effect for its keyword in one scope (global, or one Match block). */
static int judge_setting(struct fl_check *c, const struct fl_sshd_setting *s, struct verdict *v)
{
    const char *kw = keywords[s->keyword].name;
    char where[512], *copy, *save = NULL;
    bool bad = false;
    int r, defaults = 0;

    snprintf(where, sizeof(where), "%s:%u", s->file, s->line);
    r = fl_check_evidence(c, "%s: %s %s%s%s%s", where, kw, s->value, s->match ? " (in the Match block " : "",
                          s->match ? s->match : "", s->match ? ")" : "");
    if (r < 0)
        return r;
    if (*s->value == '-' || *s->value == '+' || *s->value == '^') {
        /* -list: the defaults without what it names; +list and ^list: the defaults and more */
        defaults = judge_defaults(c, s->keyword, where, *s->value == '-' ? s->value + 1 : NULL, v);
        if (defaults < 0)
            return defaults;
    }
    if (*s->value != '-') {
        copy = strdup(s->value + (*s->value == '+' || *s->value == '^'));
        if (!copy)
            return -ENOMEM;
        for (char *a = strtok_r(copy, ",", &save); a && r >= 0; a = strtok_r(NULL, ",", &save)) {
            const char *why = fl_sshd_refused(a);
            if (!why)
                continue;
            bad = true;
            r = fl_check_evidence(c, "%s: %s: %s is refused: %s", where, kw, a, why);
        }
        free(copy);
        if (r < 0)
            return r;
    }
    if (bad) {
        v->failed = true;
        add_keyword(v->failed_keywords, sizeof(v->failed_keywords), kw);
    }
    if (bad || defaults)
        r = fl_check_remedy(c, "%s line %u: replace with \"%s %s\"", s->file, s->line, kw,
                            keywords[s->keyword].fips);
    return r < 0 ? r : 0;
}

int fl_sshd_evaluate(const struct fl_sshd_config *cfg, struct fl_check *c)
{
    const char *main_path = cfg->n_files ? cfg->files[0] : "/etc/ssh/sshd_config";
    struct verdict v = {0};
    size_t *first;
    int r = 0;

    fl_check_init(c, FL_CHECK_SSHD);
    for (size_t i = 0; i < cfg->n_files && r >= 0; i++)
        r = fl_check_evidence(c, "read %s", cfg->files[i]);
    for (size_t i = 0; i < cfg->n_notes && r >= 0; i++)
        r = fl_check_evidence(c, "%s", cfg->notes[i]);
    /* the first line of a keyword in each scope (global, or one Match block) wins: one pass per keyword */
    first = malloc((cfg->n_scopes + 1) * sizeof(*first));
    if (!first)
        return -ENOMEM;
    for (int k = 0; k < FL_SSHD_N_KEYWORDS && r >= 0; k++) {
        bool global_seen = false;

        for (size_t i = 0; i <= cfg->n_scopes; i++)
            first[i] = SIZE_MAX;
        for (size_t i = 0; i < cfg->n_settings && r >= 0; i++) {
            const struct fl_sshd_setting *s = &cfg->settings[i];

            if (s->keyword != (enum fl_sshd_keyword)k)
                continue;
            if (!s->scope)
                global_seen = true;
            if (first[s->scope] != SIZE_MAX) {
                /* sshd ignores it; worth a line only when it would have mattered */
                const struct fl_sshd_setting *won = &cfg->settings[first[s->scope]];
                int any = names_refused(s->value);
                if (any < 0) {
                    r = any;
                    break;
                }
                if (any)
                    r = fl_check_evidence(c, "%s:%u: %s %s: ignored, %s:%u came first", s->file, s->line,
                                          keywords[k].name, s->value, won->file, won->line);
                continue;
            }
            first[s->scope] = i;
            r = judge_setting(c, s, &v);
        }
        if (r >= 0 && !global_seen) {
            r = judge_defaults(c, (enum fl_sshd_keyword)k, "no line", NULL, &v);
            if (r > 0)
                r = fl_check_remedy(c, "add to %s, before any Match block: %s %s", main_path,
                                    keywords[k].name, keywords[k].fips);
        }
    }
    free(first);
    if (r < 0)
        return r;
    if (v.failed)
        r = fl_check_set(
            c, FL_CHECK_FAIL,
            "sshd offers algorithms a FIPS host refuses (%s): logins that negotiate them fail with "
            "\"ssh_dispatch_run_fatal: … invalid argument\"",
            v.failed_keywords);
    else if (v.warned)
        r = fl_check_set(
            c, FL_CHECK_WARN,
            "sshd uses OpenSSH's defaults for %s, which include algorithms a FIPS host refuses (unless "
            "this OpenSSH drops them in FIPS mode, as RHEL's does)",
            v.warned_keywords);
    else if (cfg->incomplete)
        r = fl_check_set(c, FL_CHECK_WARN,
                         "the lines read offer only algorithms a FIPS host accepts, but not every file was "
                         "read (see above)");
    else
        r = fl_check_set(c, FL_CHECK_PASS, "sshd offers only algorithms a FIPS host accepts");
    if (r >= 0 && cfg->incomplete)
        r = fl_check_remedy(c,
                            "the files noted as not read (above) must be regular files, within the limits; "
                            "check them by hand");
    if (r >= 0 && (v.failed || v.warned))
        r = fl_check_remedy(c, "then restart sshd; sshd -T shows the algorithms in effect");
    return r < 0 ? r : 0;
}

int fl_check_sshd(const char *root, struct fl_check *c)
{
    static const char path[] = "/etc/ssh/sshd_config";
    struct fl_sshd_config cfg = {0};
    int r;

    r = fl_sshd_config_load(root, path, &cfg);
    if (r == -ENOMEM)
        goto out;
    if (r < 0) {
        int err = r;

        /* read_file() noted "PATH: why" */
        fl_check_init(c, FL_CHECK_SSHD);
        r = fl_check_evidence(c, "%s", cfg.n_notes ? cfg.notes[cfg.n_notes - 1] : strerror(-err));
        if (r >= 0 && (err == -FL_ENOTREG || err == -EISDIR || err == -EFBIG)) {
            r = fl_check_set(c, FL_CHECK_FAIL, "%s %s: not read", path,
                             err == -EFBIG ? "is too large" : "is not a regular file");
            if (r >= 0)
                r = fl_check_remedy(c, "make %s a regular file holding sshd's configuration", path);
        } else if (r >= 0) {
            r = fl_check_set(c, FL_CHECK_SKIP, "no sshd configuration (%s cannot be read)", path);
        }
        goto out;
    }
    r = fl_sshd_evaluate(&cfg, c);
out:
    fl_sshd_config_clear(&cfg);
    return r < 0 ? r : 0;
}
