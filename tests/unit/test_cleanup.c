/*
 * Unit tests: src/lib/cleanup.h. Each cleanup releases its variable's resource when the scope ends
 * (seen from outside: the descriptor is gone, free() and fl_secret_free() were called with the
 * pointer, json-c's reference was dropped), does nothing for NULL / -1, keeps errno, and TAKE_PTR() /
 * TAKE_FD() hand the resource out instead. free() and fl_secret_free() are wrapped
 * (-Wl,--wrap=, tests/CMakeLists.txt) to record what they were given, then do their work.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"

void __real_free(void *p);
void __wrap_free(void *p);
void __real_fl_secret_free(struct fl_secret *s);
void __wrap_fl_secret_free(struct fl_secret *s);

static const void *watched; /* the pointer whose release is counted */
static int freed;           /* free(watched) calls */
static int secrets_freed;   /* fl_secret_free(watched) calls */

void __wrap_free(void *p)
{
    if (p && p == watched)
        freed++;
    __real_free(p);
}

void __wrap_fl_secret_free(struct fl_secret *s)
{
    if (s && s == watched)
        secrets_freed++;
    __real_fl_secret_free(s);
}

static int watch(const void *p)
{
    watched = p;
    freed = secrets_freed = 0;
    return 0;
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static int open_null(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    assert_true(fd >= 0);
    return fd;
}

static int custom_calls;
static void count_call(const int *v)
{
    assert_int_equal(*v, 42);
    custom_calls++;
}

/* _cleanup_(fn) runs fn with the variable's address once, when its scope ends. */
static void test_custom(void **state)
{
    custom_calls = 0;
    {
        _cleanup_(count_call) int v = 42;

        assert_int_equal(custom_calls, 0);
        (void)v;
    }
    assert_int_equal(custom_calls, 1);
}

static char *take_or_drop(bool take)
{
    _cleanup_free_ char *s = strdup("kept");

    assert_non_null(s);
    watch(s);
    if (!take)
        return NULL; /* the early return a goto ladder would need a label for */
    return TAKE_PTR(s);
}

static void test_freed(void **state)
{
    char *s;

    assert_null(take_or_drop(false));
    assert_int_equal(freed, 1);

    s = take_or_drop(true);
    assert_non_null(s);
    assert_int_equal(freed, 0); /* TAKE_PTR(): handed out, not freed */
    assert_string_equal(s, "kept");
    free(s);
    assert_int_equal(freed, 1);

    {
        _cleanup_free_ char *none = NULL; /* NULL is fine */

        watch(NULL);
        (void)none;
    }
    assert_int_equal(freed, 0);
}

static int take_fd(bool take, int *seen)
{
    _cleanup_close_ int fd = open_null();

    *seen = fd;
    if (!take)
        return -ENOENT;
    return TAKE_FD(fd);
}

static void test_close(void **state)
{
    int seen = -1, fd;

    assert_int_equal(take_fd(false, &seen), -ENOENT);
    assert_true(seen >= 0);
    assert_false(fd_open(seen));

    fd = take_fd(true, &seen);
    assert_int_equal(fd, seen);
    assert_true(fd_open(fd)); /* TAKE_FD(): handed out, still open */
    assert_int_equal(close(fd), 0);

    {
        _cleanup_close_ int none = -1; /* -1 is fine: nothing is closed */

        errno = 0;
        (void)none;
    }
    assert_int_equal(errno, 0);
}

/* A failing close() (here: EBADF) leaves errno as the function that failed set it. */
static void test_close_keeps_errno(void **state)
{
    int fd = open_null();

    {
        _cleanup_close_ int dup_fd = fd;

        assert_int_equal(close(fd), 0); /* the cleanup's close() will fail with EBADF */
        errno = ENOSPC;
        (void)dup_fd;
    }
    assert_int_equal(errno, ENOSPC);

    {
        _cleanup_close_ int ok = open_null();

        fd = ok;
        errno = EROFS;
    }
    assert_int_equal(errno, EROFS);
    assert_false(fd_open(fd));
}

/* FILE and DIR: the descriptor under each is closed when the scope ends, errno kept; NULL is fine. */
static void test_fclose_closedir(void **state)
{
    int file_fd, dir_fd;

    {
        _cleanup_fclose_ FILE *f = fopen("/dev/null", "re"), *no_file = NULL;
        _cleanup_closedir_ DIR *d = opendir("/"), *no_dir = NULL;

        assert_non_null(f);
        assert_non_null(d);
        file_fd = fileno(f);
        dir_fd = dirfd(d);
        assert_true(fd_open(file_fd));
        assert_true(fd_open(dir_fd));
        (void)no_file;
        (void)no_dir;
        errno = EACCES;
    }
    assert_int_equal(errno, EACCES);
    assert_false(fd_open(file_fd));
    assert_false(fd_open(dir_fd));
}

static json_object *json_take(json_object *held, bool take)
{
    _cleanup_json_ json_object *o = json_object_get(held);

    return take ? TAKE_PTR(o) : NULL;
}

static void test_json(void **state)
{
    json_object *o = json_object_new_string("x"), *taken;

    assert_non_null(o);
    /* the cleanup dropped the reference json_take() took: ours is the last one */
    assert_null(json_take(o, false));
    taken = json_take(o, true);
    assert_ptr_equal(taken, o);
    assert_int_equal(json_object_put(taken), 0); /* TAKE_PTR(): its reference is the caller's */
    assert_int_equal(json_object_put(o), 1);     /* 1: this put freed it */

    {
        _cleanup_json_ json_object *none = NULL;

        (void)none;
    }
}

static struct fl_secret *secret_take(bool take)
{
    _cleanup_secret_ struct fl_secret *s = NULL;

    assert_int_equal(fl_secret_new("passphrase", 10, &s), 0);
    watch(s);
    return take ? TAKE_PTR(s) : NULL;
}

static void test_secret(void **state)
{
    struct fl_secret *s;

    assert_null(secret_take(false));
    assert_int_equal(secrets_freed, 1);

    s = secret_take(true);
    assert_non_null(s);
    assert_int_equal(secrets_freed, 0);
    assert_int_equal(s->len, 10);
    assert_memory_equal(s->data, "passphrase", 10);
    fl_secret_free(s);
    assert_int_equal(secrets_freed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_custom),          cmocka_unit_test(test_freed),
        cmocka_unit_test(test_close),           cmocka_unit_test(test_close_keeps_errno),
        cmocka_unit_test(test_fclose_closedir), cmocka_unit_test(test_json),
        cmocka_unit_test(test_secret),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
