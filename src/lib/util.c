/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int fl_parse_u64(const char *s, uint64_t *ret)
{
    uint64_t v = 0;

    if (!s || !*s)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        unsigned d;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

ssize_t fl_read_eintr(int fd, void *buf, size_t len)
{
    ssize_t n;

    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

ssize_t fl_pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

bool fl_all_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    /* the first byte is zero and every byte equals the next: memcmp's speed, not a byte loop's
     * (a damaged header makes scan check up to 8 MiB) */
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

void fl_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

int fl_hex_decode(const char *hex, unsigned char *out, size_t n)
{
    if (!hex || strlen(hex) != 2 * n)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

ssize_t fl_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

int fl_create_new(const char *path, mode_t mode)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);

    if (fd < 0)
        return -errno;
    if (fchmod(fd, mode) < 0) {
        int r = -errno;
        fl_unlink_own(path, fd);
        close(fd);
        return r;
    }
    return fd;
}

int fl_fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int fd, r = 0;

    if (!dir)
        return -ENOMEM;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        r = -errno;
    if (fd >= 0)
        close(fd);
    free(dir);
    return r;
}

void fl_unlink_own(const char *path, int fd)
{
    struct stat a, b;

    if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        (void)unlink(path);
}

size_t fl_utf8_char(const char *s, uint32_t *ret_cp)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    size_t n;

    if (p[0] < 0x80) {
        *ret_cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL: it is not a continuation byte */
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    /* reject overlong forms, surrogates and values past U+10FFFF */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret_cp = cp;
    return n;
}

bool fl_char_unsafe(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
           cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || cp == 0x2060 ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

bool fl_shell_safe(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("_@%+=:,./-", c) != NULL);
}

/* ---- the string builder --------------------------------------------------------------------------- */

/* Room for @p more bytes and a NUL. @return false (and the builder failed) when it cannot be had. */
static bool sb_reserve(struct fl_sb *b, size_t more)
{
    size_t want, size;
    char *s;

    if (b->failed)
        return false;
    if (more > SIZE_MAX / 2 - b->len) {
        free(b->s);
        *b = (struct fl_sb){.failed = true};
        return false;
    }
    want = b->len + more + 1;
    if (want <= b->size)
        return true;
    for (size = b->size ? b->size : 64; size < want; size *= 2)
        ;
    s = reallocarray(b->s, size, 1);
    if (!s) {
        free(b->s);
        *b = (struct fl_sb){.failed = true};
        return false;
    }
    if (!b->s)
        s[0] = '\0';
    b->s = s;
    b->size = size;
    return true;
}

static void sb_add(struct fl_sb *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void fl_sb_append(struct fl_sb *b, const char *s)
{
    if (s)
        sb_add(b, s, strlen(s));
}

void fl_sb_append_n(struct fl_sb *b, const char *s, size_t n)
{
    sb_add(b, s, n);
}

void fl_sb_clear(struct fl_sb *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

void fl_sb_appendf(struct fl_sb *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { /* a format error is a failure too: the text would be wrong */
        free(b->s);
        *b = (struct fl_sb){.failed = true};
        return;
    }
    if (!sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void fl_sb_append_quoted(struct fl_sb *b, const char *s)
{
    bool safe = s && *s;

    for (const char *c = s; safe && *c; c++)
        safe = fl_shell_safe(*c);
    if (safe) {
        fl_sb_append(b, s);
        return;
    }
    sb_add(b, "'", 1);
    for (const char *c = s ? s : ""; *c; c++)
        if (*c == '\'')
            sb_add(b, "'\\''", 4);
        else
            sb_add(b, c, 1);
    sb_add(b, "'", 1);
}

char *fl_sb_take(struct fl_sb *b)
{
    char *s;

    sb_reserve(b, 0);
    s = b->failed ? NULL : b->s;
    *b = (struct fl_sb){0};
    return s;
}

char *fl_shell_quote(const char *s)
{
    struct fl_sb b = {0};

    fl_sb_append_quoted(&b, s);
    return fl_sb_take(&b);
}

char *fl_asprintf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    return r < 0 ? NULL : s;
}

int fl_strdup_opt(char **dst, const char *s)
{
    free(*dst);
    *dst = NULL;
    if (!s || !*s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -ENOMEM;
}
