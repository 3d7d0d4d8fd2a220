/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fipsluks/why.h"

/* The length of a UTF-8 sequence its lead byte announces (1 for anything that is not a lead byte). */
static size_t lead_length(unsigned char c)
{
    if ((c & 0xe0) == 0xc0)
        return 2;
    if ((c & 0xf0) == 0xe0)
        return 3;
    if ((c & 0xf8) == 0xf0)
        return 4;
    return 1;
}

/* @p s was cut to @p len bytes: drop the last character if the cut went through it. */
static void cut_on_boundary(char *s, size_t len)
{
    size_t lead = len;

    /* back over the continuation bytes (at most three) to the byte that starts the last character */
    while (lead > 0 && len - lead < 3 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    lead--;
    if (lead + lead_length((unsigned char)s[lead]) > len)
        s[lead] = '\0';
}

int fl_why_setv(struct fl_why *why, int r, const char *fmt, va_list ap)
{
    char text[FL_WHY_SIZE];
    int n;

    if (!why)
        return r;
    n = vsnprintf(text, sizeof(text), fmt, ap);
    if (n < 0)
        text[0] = '\0';
    else if ((size_t)n >= sizeof(text))
        cut_on_boundary(text, sizeof(text) - 1);
    memcpy(why->text, text, strlen(text) + 1);
    return r;
}

int fl_why_set(struct fl_why *why, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    r = fl_why_setv(why, r, fmt, ap);
    va_end(ap);
    return r;
}

void fl_why_clear(struct fl_why *why)
{
    if (why)
        why->text[0] = '\0';
}

bool fl_why_empty(const struct fl_why *why)
{
    return !why || !why->text[0];
}
