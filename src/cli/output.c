/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Output helpers: colours, escaping for people, JSON for machines. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fipsluks/util.h"
#include "cli.h"

bool fl_use_color(FILE *f)
{
    const char *term = getenv("TERM"), *no_color = getenv("NO_COLOR");

    if (no_color && *no_color)
        return false;
    if (term && !strcmp(term, "dumb"))
        return false;
    return isatty(fileno(f));
}

const char *fl_color_on(FILE *f, enum fl_color c)
{
    static const char *const codes[] = {
        [FL_COLOR_RED] = "\033[31;1m", [FL_COLOR_YELLOW] = "\033[33;1m", [FL_COLOR_GREEN] = "\033[32m",
        [FL_COLOR_BOLD] = "\033[1m",   [FL_COLOR_DIM] = "\033[2m",
    };
    return fl_use_color(f) ? codes[c] : "";
}

const char *fl_color_off(FILE *f)
{
    return fl_use_color(f) ? "\033[0m" : "";
}

size_t fl_utf8_len(const unsigned char *s)
{
    uint32_t cp;

    return fl_utf8_char((const char *)s, &cp);
}

/*
 * Bytes of the character at @p p that must be shown escaped: 1 for a byte that is not valid UTF-8,
 * the character's length for a control (C0, DEL, C1: some terminals act on C1, e.g. c2 9b is CSI)
 * or an invisible character that changes how text reads (bidi overrides such as U+202E: see
 * fl_char_unsafe()); 0 when it is printable as it is, its length in @p ret_len.
 */
static size_t unsafe_len(const unsigned char *p, size_t *ret_len)
{
    uint32_t cp = 0;
    size_t n = fl_utf8_char((const char *)p, &cp);

    *ret_len = n;
    if (n == 0)
        return 1;
    return fl_char_unsafe(cp) ? n : 0;
}

void fl_fputs_escaped_keep(const char *s, FILE *f, const char *keep)
{
    const unsigned char *p = (const unsigned char *)s, *run = p;

    /* runs of printable text in one fwrite, each unsafe byte as \xNN */
    while (*p) {
        size_t n, bad = unsafe_len(p, &n);

        if (!bad || (*p && strchr(keep, *p))) {
            p += n ? n : 1;
            continue;
        }
        if (p > run)
            fwrite(run, 1, (size_t)(p - run), f);
        for (size_t i = 0; i < bad; i++)
            fprintf(f, "\\x%02x", p[i]);
        p += bad;
        run = p;
    }
    if (p > run)
        fwrite(run, 1, (size_t)(p - run), f);
}

void fl_fputs_escaped(const char *s, FILE *f)
{
    fl_fputs_escaped_keep(s, f, "");
}

int fl_vfprintf_escaped(FILE *f, const char *fmt, va_list ap)
{
    char *text = NULL;

    if (vasprintf(&text, fmt, ap) < 0)
        return -ENOMEM;
    fl_fputs_escaped(text, f);
    free(text);
    return 0;
}

int fl_fprintf_escaped(FILE *f, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = fl_vfprintf_escaped(f, fmt, ap);
    va_end(ap);
    return r;
}

json_object *fl_json_string(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    json_object *o;
    char *clean, *q;

    if (!s)
        return NULL;
    /* the usual case, valid UTF-8 already: no copy to make */
    while (*p) {
        size_t n = *p < 0x80 ? 1 : fl_utf8_len(p);
        if (n == 0)
            break;
        p += n;
    }
    if (!*p)
        return json_object_new_string(s);
    p = (const unsigned char *)s;
    /* Worst case each invalid byte becomes the 3-byte U+FFFD. */
    clean = malloc(strlen(s) * 3 + 1);
    if (!clean)
        return NULL;
    for (q = clean; *p;) {
        size_t n = fl_utf8_len(p);
        if (n == 0) {
            memcpy(q, "\xef\xbf\xbd", 3);
            q += 3;
            p++;
        } else {
            memcpy(q, p, n);
            q += n;
            p += n;
        }
    }
    *q = '\0';
    o = json_object_new_string(clean);
    free(clean);
    return o;
}

json_object *fl_json_u64(unsigned long long v, bool present)
{
    return present ? json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v) : NULL;
}

int fl_json_print(json_object *doc, bool pretty)
{
    int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN);
    const char *s = json_object_to_json_string_ext(doc, flags);

    if (!s)
        return -ENOMEM;
    if (puts(s) == EOF || fflush(stdout) == EOF)
        return errno ? -errno : -EIO;
    return 0;
}

int fl_json_write(FILE *f, json_object *o, bool open)
{
    size_t len = 0;
    const char *s =
        json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

    if (!s)
        return -ENOMEM;
    /* an object's compact form ends with its closing brace: leave it off */
    if (open && (json_object_get_type(o) != json_type_object || len < 2 || s[len - 1] != '}'))
        return -EINVAL;
    if (open)
        len--;
    return fwrite(s, 1, len, f) == len ? 0 : -EIO;
}
