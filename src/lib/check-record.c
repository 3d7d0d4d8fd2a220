/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The record of a check (struct fl_check): status, message, evidence and remedy lines, as every
 * check module fills it. A leaf: it includes none of the checks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fipsluks/array.h"
#include "check-record.h"

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

    if (fl_array_grow(&c->evidence, &c->allocated_evidence, c->n_evidence + 1, sizeof(*c->evidence)) < 0)
        return -ENOMEM;
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
