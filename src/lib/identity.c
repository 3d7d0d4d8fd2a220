/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host identity and time for scan and check records. Everything read here is a small text file
 * that may be absent or malformed (containers, chroots, images): a missing item is NULL, never an
 * error, and nothing read is trusted beyond being a bounded string.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fipsluks/identity.h"
#include "fipsluks/util.h"

#define SMALL_FILE_MAX 65536

/* The first @p max bytes of @p dir/@p name (dir may be NULL), NUL-terminated; NULL if unreadable. */
static char *read_small(const char *dir, const char *name)
{
    _cleanup_free_ char *path = fl_asprintf("%s%s", dir ? dir : "", name), *buf = NULL;
    _cleanup_close_ int fd = -1;
    ssize_t n;
    size_t len = 0;

    if (!path)
        return NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    buf = malloc(SMALL_FILE_MAX + 1);
    if (!buf)
        return NULL;
    while (len < SMALL_FILE_MAX && (n = fl_read_eintr(fd, buf + len, SMALL_FILE_MAX - len)) != 0) {
        if (n < 0)
            return NULL;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return TAKE_PTR(buf);
}

/* The first line of @p s without surrounding blanks, or NULL when empty. */
static char *first_line(const char *s)
{
    size_t n;

    if (!s)
        return NULL;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strcspn(s, "\n");
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return n ? strndup(s, n) : NULL;
}

static char *machine_id(const char *root)
{
    _cleanup_free_ char *text = read_small(root, "/etc/machine-id"), *id = first_line(text);

    /* systemd's format: 32 lower-case hex digits; "uninitialized" and the like are not an id. */
    if (!id || strlen(id) != 32 || strspn(id, "0123456789abcdef") != 32)
        return NULL;
    return TAKE_PTR(id);
}

/* The value of @p key in os-release @p text (shell-like: optionally quoted, backslash escapes). */
static char *os_release_value(const char *text, const char *key)
{
    size_t klen = strlen(key);

    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *v = line + klen + 1;
        size_t n = strcspn(line, "\n");
        char quote = 0, *out, *o;

        if (n <= klen || strncmp(line, key, klen) || line[klen] != '=')
            continue;
        n -= klen + 1;
        out = malloc(n + 1);
        if (!out)
            return NULL;
        o = out;
        if (n && (*v == '"' || *v == '\'')) {
            quote = *v++;
            n--;
        }
        for (size_t i = 0; i < n; i++) {
            if (quote && v[i] == quote)
                break;
            if (v[i] == '\\' && quote != '\'' && i + 1 < n)
                i++;
            *o++ = v[i];
        }
        *o = '\0';
        if (!*out) {
            free(out);
            return NULL;
        }
        return out;
    }
    return NULL;
}

static int kernel_fips(const char *root)
{
    _cleanup_free_ char *text = read_small(root, "/proc/sys/crypto/fips_enabled");

    if (text && (text[0] == '0' || text[0] == '1') && (text[1] == '\n' || text[1] == '\0'))
        return text[0] - '0';
    return -1;
}

static char *hostname(const char *root)
{
    _cleanup_free_ char *text = NULL;
    char buf[256];

    if (!root) {
        if (gethostname(buf, sizeof(buf) - 1) < 0)
            return NULL;
        buf[sizeof(buf) - 1] = '\0';
        return buf[0] ? strdup(buf) : NULL;
    }
    text = read_small(root, "/etc/hostname");
    return first_line(text);
}

int fl_identity_read(const char *root, struct fl_identity *ret)
{
    struct fl_identity id = {.kernel_fips = -1};
    char *os = NULL;
    int r;

    memset(ret, 0, sizeof(*ret));
    ret->kernel_fips = -1;
    id.hostname = hostname(root);
    id.machine_id = machine_id(root);
    os = read_small(root, "/etc/os-release");
    if (!os)
        os = read_small(root, "/usr/lib/os-release");
    id.os_id = os_release_value(os, "ID");
    id.os_version_id = os_release_value(os, "VERSION_ID");
    free(os);
    id.kernel_fips = kernel_fips(root);
    id.time = time(NULL);
    r = fl_timestamp_format(id.time, id.timestamp);
    if (r < 0) {
        fl_identity_clear(&id);
        return r;
    }
    *ret = id;
    return 0;
}

void fl_identity_clear(struct fl_identity *id)
{
    if (!id)
        return;
    free(id->hostname);
    free(id->machine_id);
    free(id->os_id);
    free(id->os_version_id);
    memset(id, 0, sizeof(*id));
    id->kernel_fips = -1;
}

int fl_timestamp_format(time_t t, char buf[FL_TIMESTAMP_SIZE])
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        return -EOVERFLOW;
    if (strftime(buf, FL_TIMESTAMP_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) != FL_TIMESTAMP_SIZE - 1)
        return -EOVERFLOW;
    return 0;
}

/* @p n decimal digits at @p s into @p ret. */
static bool digits(const char *s, int n, int *ret)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return true;
}

int fl_timestamp_parse(const char *s, time_t *ret)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm = {0};
    int year, mon, day, hour, min, sec, oh = 0, om = 0;
    long offset = 0;
    time_t t;

    if (!s || strlen(s) < 20 || !digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) ||
        s[7] != '-' || !digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &hour) || s[13] != ':' || !digits(s + 14, 2, &min) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return -EINVAL;
    if (mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] || hour > 23 || min > 59 || sec > 60)
        return -EINVAL;
    s += 19;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -EINVAL;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if ((*s == 'Z' || *s == 'z') && s[1] == '\0') {
        offset = 0;
    } else if ((*s == '+' || *s == '-') && digits(s + 1, 2, &oh) && s[3] == ':' && digits(s + 4, 2, &om) &&
               s[6] == '\0' && oh < 24 && om < 60) {
        offset = (oh * 60L + om) * 60L * (*s == '-' ? -1 : 1);
    } else {
        return -EINVAL;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec == 60 ? 59 : sec;
    t = timegm(&tm);
    if (t == (time_t)-1 && !(year == 1969 && mon == 12 && day == 31))
        return -EINVAL;
    *ret = t - offset;
    return 0;
}
