/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sshd and ssh-client checks: which of the algorithms sshd (ssh) offers a FIPS host refuses, or
 * does not approve. The configuration is read with sshd-config.c.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fipsluks/sshd.h"
#include "host-internal.h"

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

enum fl_ssh_verdict fl_ssh_judge(const char *name, struct fl_why *why)
{
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        const char *pattern = verdicts[i].pattern;
        /* the literal prefix first: fnmatch() converts both to wide characters in a UTF-8 locale */
        if (!strncmp(pattern, name, strcspn(pattern, "*?[")) && !fnmatch(pattern, name, 0)) {
            if (verdicts[i].why)
                fl_why_set(why, 0, "%s", verdicts[i].why);
            else
                fl_why_clear(why);
            return verdicts[i].verdict;
        }
    }
    return fl_why_set(why, FL_SSH_NOT_APPROVED, "not an algorithm fipsluks knows: check it by hand");
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
#define KEY_ALGORITHMS_DEFAULT                                                                               \
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"                             \
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,"                     \
    "sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"                       \
    "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,"                       \
    "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"                \
    "sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
#define KEY_ALGORITHMS_FIPS                                                                                  \
    "ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256"

/* Per keyword (its names are in sshd-config.c): OpenSSH's compiled-in default and a FIPS list. */
static const struct {
    const char *defaults; /* upstream OpenSSH 9.x/10.x compiled-in default */
    const char *fips;     /* a FIPS list for remedies */
} lists[FL_SSHD_N_KEYWORDS] = {
    [FL_SSHD_CIPHERS] =
        {"chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
         "aes256-gcm@openssh.com",
         "aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"},
    [FL_SSHD_MACS] =
        {"umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
         "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
         "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
         "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512"},
    [FL_SSHD_KEX] =
        {"mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,"
         "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
         "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
         "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
         "ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
         "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"},
    [FL_SSHD_HOSTKEY] = {KEY_ALGORITHMS_DEFAULT, KEY_ALGORITHMS_FIPS},
    [FL_SSHD_PUBKEY] = {KEY_ALGORITHMS_DEFAULT, KEY_ALGORITHMS_FIPS},
};

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
    char *copy = strdup(lists[k].defaults), *save = NULL, *list = NULL;
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
    add_keyword(v->defaults_keywords, sizeof(v->defaults_keywords),
                fl_sshd_keyword_name((enum fl_sshd_keyword)k));
    r = fl_check_evidence(c, "%s: %s: OpenSSH's compiled-in default includes %s", where,
                          fl_sshd_keyword_name((enum fl_sshd_keyword)k), list);
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
    const char *kw = fl_sshd_keyword_name(s->keyword);
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
            struct fl_why why;
            enum fl_ssh_verdict verdict = fl_ssh_judge(a, &why);

            breaks |= verdict == FL_SSH_BREAKS;
            not_approved |= verdict == FL_SSH_NOT_APPROVED;
            r = fl_check_evidence(c, "%s: %s %s: %s%s%s", where, kw, a, fl_ssh_verdict_name(verdict),
                                  fl_why_empty(&why) ? "" : ": ", why.text);
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
                                s->line, kw, kept && !defaults ? kept : lists[s->keyword].fips);
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
                s->file, s->line, kw, kept && !defaults ? kept : lists[s->keyword].fips);
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
                                          fl_sshd_keyword_name((enum fl_sshd_keyword)k), s->value, won->file,
                                          won->line);
                continue;
            }
            first[s->scope] = i;
            r = judge_setting(c, s, &v);
        }
        if (r >= 0 && !global_seen) {
            r = judge_defaults(c, (enum fl_sshd_keyword)k, "no line", NULL, &v);
            /* only what breaks makes it necessary: a list of approved host keys alone can lock out */
            if (r > 0)
                r = fl_check_remedy(
                    c, "%sadd to %s, before any %s block: %s %s",
                    r == 2 ? ""
                           : "(optional: the defaults work, but are not all FIPS-approved; first "
                             "make sure every client and host key has an approved algorithm) ",
                    main_path, cfg->client ? "Host or Match" : "Match",
                    fl_sshd_keyword_name((enum fl_sshd_keyword)k), lists[k].fips);
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
    _cleanup_(fl_sshd_config_clear) struct fl_sshd_config cfg = {.client = side == &client};
    int r;

    r = fl_sshd_config_load(root, side->path, &cfg);
    if (r == -ENOMEM)
        return r;
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
        return r < 0 ? r : 0;
    }
    r = evaluate(&cfg, side, c);
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
