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

/* ---- JSON as text (struct fl_jw) ---- */

static void jw_comma(struct fl_jw *w)
{
    if (w->more)
        fl_sb_append_n(&w->sb, ",", 1);
    w->more = true;
}

void fl_jw_begin(struct fl_jw *w, char open)
{
    jw_comma(w);
    fl_sb_append_n(&w->sb, &open, 1);
    w->more = false;
}

void fl_jw_end(struct fl_jw *w, char close)
{
    fl_sb_append_n(&w->sb, &close, 1);
    w->more = true;
}

/* The escape of the control character @p c in @p esc (as json-c writes it), its length. */
static size_t jw_control(unsigned char c, char esc[6])
{
    static const char hex[] = "0123456789abcdef", named[] = "\bb\nn\rr\tt\ff";
    const char *k = memchr(named, c, sizeof(named) - 1);

    esc[0] = '\\';
    if (k && (k - named) % 2 == 0) {
        esc[1] = k[1];
        return 2;
    }
    memcpy(esc + 1, "u00", 3);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 0xf];
    return 6;
}

/*
 * @p s as a JSON string, with json-c's escapes (json_escape_str()); with @p clean, invalid UTF-8 as
 * U+FFFD (fl_json_string()), else as it is (json-c's member names).
 */
static void jw_quoted(struct fl_jw *w, const char *s, bool clean)
{
    const unsigned char *p = (const unsigned char *)s, *run = p;

    fl_sb_append_n(&w->sb, "\"", 1);
    for (;;) {
        char esc[6];
        size_t n = 0, len = *p < 0x80 || !clean ? 1 : fl_utf8_len(p);

        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            n = 2;
        } else if (*p && *p < 0x20) {
            n = jw_control(*p, esc);
        } else if (*p && len) {
            p += len; /* written as it is, with the run */
            continue;
        }
        fl_sb_append_n(&w->sb, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        if (n)
            fl_sb_append_n(&w->sb, esc, n);
        else
            fl_sb_append_n(&w->sb, "\xef\xbf\xbd", 3); /* not UTF-8: U+FFFD */
        run = ++p;
    }
    fl_sb_append_n(&w->sb, "\"", 1);
}

void fl_jw_key(struct fl_jw *w, const char *key)
{
    jw_comma(w);
    jw_quoted(w, key, false);
    fl_sb_append_n(&w->sb, ":", 1);
    w->more = false;
}

void fl_jw_string(struct fl_jw *w, const char *s)
{
    if (!s) {
        fl_jw_null(w);
        return;
    }
    jw_comma(w);
    jw_quoted(w, s, true);
}

void fl_jw_int(struct fl_jw *w, int64_t v)
{
    char buf[24], *p = buf + sizeof(buf);
    /* the magnitude as unsigned: -INT64_MIN does not fit in an int64_t */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    /* as "%" PRId64 writes it, without printf's cost (a record has about 25 numbers) */
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    jw_comma(w);
    fl_sb_append_n(&w->sb, p, (size_t)(buf + sizeof(buf) - p));
}

void fl_jw_u64(struct fl_jw *w, unsigned long long v, bool present)
{
    if (present)
        fl_jw_int(w, v > INT64_MAX ? INT64_MAX : (int64_t)v);
    else
        fl_jw_null(w);
}

void fl_jw_bool(struct fl_jw *w, bool v)
{
    jw_comma(w);
    fl_sb_append(&w->sb, v ? "true" : "false");
}

void fl_jw_null(struct fl_jw *w)
{
    jw_comma(w);
    fl_sb_append_n(&w->sb, "null", 4);
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
