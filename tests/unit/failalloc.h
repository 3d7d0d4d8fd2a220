/*
 * Allocation failure injection for unit tests (not a test itself: no test_ prefix). Include it in
 * exactly one file of a test program: it replaces strdup(), reallocarray(), vasprintf() and
 * asprintf(), the calls through which the library allocates (besides a few malloc()/calloc() and
 * json-c's own). When fail_at >= 0, call number fail_at (counting from 0) made by fipsluks' own code
 * fails; calls from json-c, which these replacements also serve, never fail (json-c does not survive
 * a failing strdup(), and it is not what is under test).
 */
#ifndef FL_TEST_FAILALLOC_H
#define FL_TEST_FAILALLOC_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long fail_at = -1;
static long alloc_calls;
/* calls of vasprintf() and asprintf(): zero when _FORTIFY_SOURCE routes the caller to the _chk variants */
static long vasprintf_calls;

static bool from_fipsluks(const void *caller)
{
    Dl_info info;

    return !dladdr(caller, &info) || !info.dli_fname || !strstr(info.dli_fname, "libjson-c");
}

static bool inject_failure_(void)
{
    return fail_at >= 0 && alloc_calls++ == fail_at;
}
#define inject_failure() (from_fipsluks(__builtin_return_address(0)) && inject_failure_())

static int format_alloc(char **strp, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static int format_alloc(char **strp, const char *fmt, va_list ap)
{
    va_list aq;
    char *s;
    int n;

    va_copy(aq, ap);
    n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0 || !(s = malloc((size_t)n + 1)))
        return -1;
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    *strp = s;
    return n;
}

char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d;

    if (inject_failure())
        return NULL;
    d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

void *reallocarray(void *p, size_t n, size_t size)
{
    if (inject_failure() || (size && n > SIZE_MAX / size))
        return NULL;
    return realloc(p, n * size);
}

int vasprintf(char **strp, const char *fmt, va_list ap)
{
    vasprintf_calls++;
    if (inject_failure())
        return -1;
    return format_alloc(strp, fmt, ap);
}

int asprintf(char **strp, const char *fmt, ...)
{
    va_list ap;
    int n;

    vasprintf_calls++;
    if (inject_failure())
        return -1;
    va_start(ap, fmt);
    n = format_alloc(strp, fmt, ap);
    va_end(ap);
    return n;
}

#endif
