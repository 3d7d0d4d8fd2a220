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

/* ---- what a FIPS host does with each algorithm ---- */

/*
 * The verdict table, first match wins. "breaks": the handshake fails when it is negotiated, because
 * OpenSSH takes it from OpenSSL and the FIPS provider has none (or OpenSSH no longer has it at all).
 * "not approved": the handshake works (OpenSSH computes it itself, or the FIPS provider still has
 * it), but it is not a FIPS-approved algorithm, and RHEL-style FIPS crypto policies disable it.
 * Held to reality by tests/e2e/test-check-sshd-fips.sh (every algorithm `ssh -Q` lists, against
 * Debian's sshd in the FIPS test host); the observed table is docs/sshd-fips.md.
 */
#define X25519_WORKS "OpenSSH computes X25519 itself, so the handshake works"
static const struct {
    const char *pattern;
    enum fl_ssh_verdict verdict;
    const char *why;
} verdicts[] = {
    /* breaks (measured) */
    {"chacha20-poly1305@openssh.com", FL_SSH_BREAKS,
     "OpenSSH takes ChaCha20-Poly1305 from OpenSSL, whose FIPS provider has none: sshd drops the client "
     "with \"ssh_dispatch_run_fatal: … invalid argument\""},
    {"hmac-md5*", FL_SSH_BREAKS, "OpenSSH takes HMAC-MD5 from OpenSSL, whose FIPS provider has no MD5"},
    /* breaks: OpenSSH 7.6+ no longer knows these, a FIPS OpenSSL has none of them */
    {"hmac-ripemd160*", FL_SSH_BREAKS,
     "RIPEMD-160 is not in the FIPS provider, and OpenSSH 7.6+ no longer knows it (sshd rejects the line)"},
    {"arcfour*", FL_SSH_BREAKS,
     "RC4 is not in the FIPS provider, and OpenSSH 7.6+ no longer knows it (sshd rejects the line)"},
    {"blowfish-cbc", FL_SSH_BREAKS,
     "Blowfish is not in the FIPS provider, and OpenSSH 7.6+ no longer knows it (sshd rejects the line)"},
    {"cast128-cbc", FL_SSH_BREAKS,
     "CAST5 is not in the FIPS provider, and OpenSSH 7.6+ no longer knows it (sshd rejects the line)"},
    /* works, not approved */
    {"umac-*", FL_SSH_NOT_APPROVED, "UMAC is not FIPS-approved; OpenSSH computes it itself, so it works"},
    {"hmac-sha1-96*", FL_SSH_NOT_APPROVED,
     "a truncated HMAC-SHA-1 that FIPS crypto policies do not offer; the FIPS provider computes it, so it "
     "works"},
    {"curve25519-sha256*", FL_SSH_NOT_APPROVED, "X25519 is not FIPS-approved; " X25519_WORKS},
    {"sntrup761x25519-sha512*", FL_SSH_NOT_APPROVED,
     "sntrup761 and X25519 are not FIPS-approved; OpenSSH computes both itself, so it works"},
    {"mlkem768x25519-sha256", FL_SSH_NOT_APPROVED,
     "the X25519 half of this hybrid is not FIPS-approved; OpenSSH computes it itself"},
    {"ssh-ed25519*", FL_SSH_NOT_APPROVED,
     "Ed25519 in OpenSSH is computed by OpenSSH itself, outside the FIPS module, so it works; not "
     "approved for SSH by FIPS crypto policies"},
    {"sk-ssh-ed25519*", FL_SSH_NOT_APPROVED,
     "Ed25519 in OpenSSH is computed by OpenSSH itself, outside the FIPS module, so it works; not "
     "approved for SSH by FIPS crypto policies"},
    {"ssh-dss*", FL_SSH_NOT_APPROVED,
     "DSA signatures are no longer FIPS-approved (FIPS 186-5); the FIPS provider still verifies them"},
    {"ssh-rsa", FL_SSH_NOT_APPROVED, "RSA signatures with SHA-1 are not approved for signing (SP 800-131A)"},
    {"ssh-rsa-cert-v01@openssh.com", FL_SSH_NOT_APPROVED,
     "RSA signatures with SHA-1 are not approved for signing (SP 800-131A)"},
    {"diffie-hellman-group1-sha1", FL_SSH_NOT_APPROVED,
     "1024-bit Diffie-Hellman is below the FIPS minimum of 2048 bits; the FIPS provider still computes it"},
    {"diffie-hellman-group14-sha1", FL_SSH_NOT_APPROVED,
     "SHA-1 key exchange: FIPS crypto policies disable it"},
    {"diffie-hellman-group-exchange-sha1", FL_SSH_NOT_APPROVED,
     "SHA-1 key exchange: FIPS crypto policies disable it"},
    {"3des-cbc", FL_SSH_NOT_APPROVED,
     "Triple-DES encryption is no longer FIPS-approved (SP 800-131A); the FIPS provider still has it"},
    /* approved */
    {"aes*", FL_SSH_APPROVED, NULL},
    {"hmac-sha1", FL_SSH_APPROVED, NULL},
    {"hmac-sha1-etm@openssh.com", FL_SSH_APPROVED, NULL},
    {"hmac-sha2-*", FL_SSH_APPROVED, NULL},
    {"diffie-hellman-group14-sha256", FL_SSH_APPROVED, NULL},
    {"diffie-hellman-group16-sha512", FL_SSH_APPROVED, NULL},
    {"diffie-hellman-group18-sha512", FL_SSH_APPROVED, NULL},
    {"diffie-hellman-group-exchange-sha256", FL_SSH_APPROVED, NULL},
    {"ecdh-sha2-nistp*", FL_SSH_APPROVED, NULL},
    {"ecdsa-sha2-nistp*", FL_SSH_APPROVED, NULL},
    {"sk-ecdsa-sha2-nistp256*", FL_SSH_APPROVED, NULL},
    {"webauthn-sk-ecdsa-sha2-nistp256@openssh.com", FL_SSH_APPROVED, NULL},
    {"rsa-sha2-256*", FL_SSH_APPROVED, NULL},
    {"rsa-sha2-512*", FL_SSH_APPROVED, NULL},
};

enum fl_ssh_verdict fl_ssh_judge(const char *name, const char **ret_why)
{
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        const char *pattern = verdicts[i].pattern;
        /* the literal prefix first: fnmatch() converts both to wide characters in a UTF-8 locale */
        if (!strncmp(pattern, name, strcspn(pattern, "*?[")) && !fnmatch(pattern, name, 0)) {
            if (ret_why)
                *ret_why = verdicts[i].why;
            return verdicts[i].verdict;
        }
    }
    if (ret_why)
        *ret_why = "not an algorithm fipsluks knows: check it by hand";
    return FL_SSH_NOT_APPROVED;
}

const char *fl_ssh_verdict_name(enum fl_ssh_verdict v)
{
    switch (v) {
    case FL_SSH_APPROVED:
        return "approved";
    case FL_SSH_NOT_APPROVED:
        return "not approved";
    case FL_SSH_BREAKS:
        return "breaks";
    }
    return "?";
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

/* ---- judging ---- */

/* The side judged: the server (sshd_config) or the client (ssh_config). */
struct side {
    const char *id;      /* check id */
    const char *program; /* "sshd", "ssh" */
    const char *path;    /* main configuration file */
    const char *symptom; /* what breaks */
    const char *apply;   /* the last remedy */
};

static const struct side server = {
    FL_CHECK_SSHD,
    "sshd",
    "/etc/ssh/sshd_config",
    "logins that negotiate them fail with \"ssh_dispatch_run_fatal: … invalid argument\"",
    "then restart sshd; sshd -T shows the algorithms in effect",
};

static const struct side client = {
    FL_CHECK_SSH_CLIENT,
    "ssh",
    "/etc/ssh/ssh_config",
    "outgoing connections that negotiate them fail the same way",
    "ssh -G HOST shows the algorithms in effect for a host",
};

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
    bool breaks;       /* a line in effect names an algorithm that breaks */
    bool not_approved; /* a line in effect names an algorithm that works but is not approved */
    bool defaults;     /* the defaults are in effect and include algorithms that are not approved or break */
    bool defaults_break; /* ... and some of them break */
    char breaks_keywords[160];
    char not_approved_keywords[160];
    char defaults_keywords[160];
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

/* Append ",@p item" (or "@p item" to an empty string) to the growing string @p *s. @return 0 or -ENOMEM. */
static int append(char **s, const char *sep, const char *item)
{
    char *joined = NULL;

    if (asprintf(&joined, "%s%s%s", *s ? *s : "", *s ? sep : "", item) < 0)
        return -ENOMEM;
    free(*s);
    *s = joined;
    return 0;
}

/*
 * The algorithms among OpenSSH's defaults for @p k, minus those @p removed matches, that are not
 * approved or break, each with its verdict. @return 2 when some break, 1 when some are not approved
 * (evidence added either way), 0 when all are approved, -ENOMEM.
 */
static int judge_defaults(struct fl_check *c, enum fl_sshd_keyword k, const char *where, const char *removed,
                          struct verdict *v)
{
    char *copy = strdup(keywords[k].defaults), *save = NULL, *list = NULL;
    bool breaks = false;
    int r = 0;

    if (!copy)
        return -ENOMEM;
    for (char *a = strtok_r(copy, ",", &save); a && r >= 0; a = strtok_r(NULL, ",", &save)) {
        enum fl_ssh_verdict verdict = fl_ssh_judge(a, NULL);
        char item[160];

        if (verdict == FL_SSH_APPROVED || (removed && list_matches(removed, a)))
            continue;
        breaks |= verdict == FL_SSH_BREAKS;
        snprintf(item, sizeof(item), "%s (%s)", a, fl_ssh_verdict_name(verdict));
        r = append(&list, ", ", item);
    }
    free(copy);
    if (r < 0 || !list) {
        free(list);
        return r;
    }
    v->defaults = true;
    v->defaults_break |= breaks;
    add_keyword(v->defaults_keywords, sizeof(v->defaults_keywords), keywords[k].name);
    r = fl_check_evidence(c, "%s: %s: OpenSSH's compiled-in default includes %s", where, keywords[k].name,
                          list);
    free(list);
    return r < 0 ? -ENOMEM : breaks ? 2 : 1;
}

/* Whether the algorithm list @p value (after any +, - or ^) names an algorithm that breaks or is not
 * approved. */
static int names_bad(const char *value)
{
    char *copy = strdup(value + (*value == '+' || *value == '-' || *value == '^')), *save = NULL;
    int any = 0;

    if (!copy)
        return -ENOMEM;
    for (char *a = strtok_r(copy, ",", &save); a && !any; a = strtok_r(NULL, ",", &save))
        any = fl_ssh_judge(a, NULL) != FL_SSH_APPROVED;
    free(copy);
    return any;
}

/*
 * The algorithms of @p value (no prefix) whose verdict is below @p worst, comma-separated, a new
 * string; NULL when none remain. @return 0 or -ENOMEM.
 */
static int keep_below(const char *value, enum fl_ssh_verdict worst, char **ret)
{
    char *copy = strdup(value), *save = NULL, *list = NULL;
    int r = 0;

    if (!copy)
        return -ENOMEM;
    for (char *a = strtok_r(copy, ",", &save); a && r >= 0; a = strtok_r(NULL, ",", &save))
        if (fl_ssh_judge(a, NULL) < worst)
            r = append(&list, ",", a);
    free(copy);
    if (r < 0) {
        free(list);
        return r;
    }
    *ret = list;
    return 0;
}

/* Judge the line in effect for its keyword in one scope (global, or one Match or Host block). */
static int judge_setting(struct fl_check *c, const struct fl_sshd_setting *s, struct verdict *v)
{
    const char *kw = keywords[s->keyword].name;
    const char *value = s->value + (*s->value == '+' || *s->value == '^');
    char where[512], *copy, *save = NULL, *kept = NULL;
    bool breaks = false, not_approved = false;
    int r, defaults = 0;

    snprintf(where, sizeof(where), "%s:%u", s->file, s->line);
    r = fl_check_evidence(c, "%s: %s %s%s%s%s", where, kw, s->value,
                          !s->match                     ? ""
                          : strstr(s->match, ": Host ") ? " (in the Host block "
                                                        : " (in the Match block ",
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
        copy = strdup(value);
        if (!copy)
            return -ENOMEM;
        /* every algorithm named, with its verdict */
        for (char *a = strtok_r(copy, ",", &save); a && r >= 0; a = strtok_r(NULL, ",", &save)) {
            const char *why = NULL;
            enum fl_ssh_verdict verdict = fl_ssh_judge(a, &why);

            breaks |= verdict == FL_SSH_BREAKS;
            not_approved |= verdict == FL_SSH_NOT_APPROVED;
            r = fl_check_evidence(c, "%s: %s %s: %s%s%s", where, kw, a, fl_ssh_verdict_name(verdict),
                                  why ? ": " : "", why ? why : "");
        }
        free(copy);
        if (r < 0)
            return r;
    }
    if (breaks || defaults == 2) {
        if (breaks) {
            v->breaks = true;
            add_keyword(v->breaks_keywords, sizeof(v->breaks_keywords), kw);
        }
        /* drop what breaks, keep what works: replacing working algorithms can lock clients out */
        r = keep_below(value, FL_SSH_BREAKS, &kept);
        if (r >= 0)
            r = fl_check_remedy(c, "%s line %u: replace with \"%s %s\" (without what breaks)", s->file,
                                s->line, kw, kept && !defaults ? kept : keywords[s->keyword].fips);
    } else if (not_approved || defaults) {
        if (not_approved) {
            v->not_approved = true;
            add_keyword(v->not_approved_keywords, sizeof(v->not_approved_keywords), kw);
        }
        r = keep_below(value, FL_SSH_NOT_APPROVED, &kept);
        if (r >= 0)
            r = fl_check_remedy(
                c,
                "%s line %u (optional: these work, but are not FIPS-approved; first make sure "
                "every client and host key has an approved algorithm): replace with \"%s %s\"",
                s->file, s->line, kw, kept && !defaults ? kept : keywords[s->keyword].fips);
    }
    free(kept);
    return r < 0 ? r : 0;
}

static int evaluate(const struct fl_sshd_config *cfg, const struct side *side, struct fl_check *c)
{
    const char *main_path = cfg->n_files ? cfg->files[0] : side->path;
    struct verdict v = {0};
    size_t *first;
    int r = 0;

    fl_check_init(c, side->id);
    for (size_t i = 0; i < cfg->n_files && r >= 0; i++)
        r = fl_check_evidence(c, "read %s", cfg->files[i]);
    for (size_t i = 0; i < cfg->n_notes && r >= 0; i++)
        r = fl_check_evidence(c, "%s", cfg->notes[i]);
    /* the first line of a keyword in each scope (global, or one block) wins: one pass per keyword */
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
                /* ignored; worth a line only when it would have mattered */
                const struct fl_sshd_setting *won = &cfg->settings[first[s->scope]];
                int any = names_bad(s->value);
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
            /* only what breaks makes it necessary: a list of approved host keys alone can lock out */
            if (r > 0)
                r = fl_check_remedy(c, "%sadd to %s, before any %s block: %s %s",
                                    r == 2 ? ""
                                           : "(optional: the defaults work, but are not all FIPS-approved; first "
                                             "make sure every client and host key has an approved algorithm) ",
                                    main_path, cfg->client ? "Host or Match" : "Match", keywords[k].name,
                                    keywords[k].fips);
        }
    }
    free(first);
    if (r < 0)
        return r;
    if (v.breaks)
        r = fl_check_set(c, FL_CHECK_FAIL, "%s offers algorithms that break on a FIPS host (%s): %s",
                         side->program, v.breaks_keywords, side->symptom);
    else if (v.defaults && v.defaults_break)
        r = fl_check_set(
            c, FL_CHECK_WARN,
            "%s uses OpenSSH's defaults for %s, which include chacha20-poly1305, which breaks on a FIPS "
            "host, "
            "and algorithms that are not FIPS-approved (unless this OpenSSH drops them in FIPS mode, as "
            "RHEL's does)",
            side->program, v.defaults_keywords);
    else if (v.defaults)
        r = fl_check_set(
            c, FL_CHECK_WARN,
            "%s uses OpenSSH's defaults for %s, which include algorithms that work on a FIPS host "
            "but are not FIPS-approved (unless this OpenSSH drops them in FIPS mode, as RHEL's does)",
            side->program, v.defaults_keywords);
    else if (v.not_approved)
        r = fl_check_set(c, FL_CHECK_WARN,
                         "%s offers algorithms that work on a FIPS host but are not FIPS-approved (%s): "
                         "RHEL-style FIPS crypto policies disable them",
                         side->program, v.not_approved_keywords);
    else if (cfg->incomplete)
        r = fl_check_set(c, FL_CHECK_WARN,
                         "the lines read offer only FIPS-approved algorithms, but not every file was "
                         "read (see above)");
    else
        r = fl_check_set(c, FL_CHECK_PASS, "%s offers only FIPS-approved algorithms", side->program);
    if (r >= 0 && cfg->incomplete)
        r = fl_check_remedy(c,
                            "the files noted as not read (above) must be regular files, within the limits; "
                            "check them by hand");
    if (r >= 0 && (v.breaks || v.defaults || v.not_approved))
        r = fl_check_remedy(c, "%s", side->apply);
    return r < 0 ? r : 0;
}

int fl_sshd_evaluate(const struct fl_sshd_config *cfg, struct fl_check *c)
{
    return evaluate(cfg, cfg->client ? &client : &server, c);
}

static int check_side(const char *root, const struct side *side, struct fl_check *c)
{
    struct fl_sshd_config cfg = {.client = side == &client};
    int r;

    r = fl_sshd_config_load(root, side->path, &cfg);
    if (r == -ENOMEM)
        goto out;
    if (r < 0) {
        int err = r;

        /* read_file() noted "PATH: why" */
        fl_check_init(c, side->id);
        r = fl_check_evidence(c, "%s", cfg.n_notes ? cfg.notes[cfg.n_notes - 1] : strerror(-err));
        if (r >= 0 && (err == -FL_ENOTREG || err == -EISDIR || err == -EFBIG)) {
            r = fl_check_set(c, FL_CHECK_FAIL, "%s %s: not read", side->path,
                             err == -EFBIG ? "is too large" : "is not a regular file");
            if (r >= 0)
                r = fl_check_remedy(c, "make %s a regular file holding %s's configuration", side->path,
                                    side->program);
        } else if (r >= 0) {
            r = fl_check_set(c, FL_CHECK_SKIP, "no %s configuration (%s cannot be read)", side->program,
                             side->path);
        }
        goto out;
    }
    r = evaluate(&cfg, side, c);
out:
    fl_sshd_config_clear(&cfg);
    return r < 0 ? r : 0;
}

int fl_check_sshd(const char *root, struct fl_check *c)
{
    return check_side(root, &server, c);
}

int fl_check_ssh_client(const char *root, struct fl_check *c)
{
    return check_side(root, &client, c);
}
