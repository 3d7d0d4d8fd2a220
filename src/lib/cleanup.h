/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scope-bound cleanup, the systemd idiom (GCC and clang's __attribute__((cleanup))): a variable
 * declared with one of these is released when it goes out of scope, on every return path, so a
 * function returns where it fails instead of jumping to a ladder of frees and closes.
 *
 *     _cleanup_free_ char *path = NULL;      always initialized: the cleanup runs on every exit
 *     _cleanup_close_ int fd = -1;
 *     ...
 *     *ret = TAKE_PTR(path);                 hand ownership out: the cleanup then sees NULL / -1
 *     return TAKE_FD(fd);
 *
 * Where the order of the steps matters for safety, it stays explicit: a file written and synced
 * (fsync() and a checked close() or fclose() are part of the result), a buffer wiped before it is
 * freed. The cleanups here ignore errors; they keep errno, so a caller's `-errno` is the failure's.
 *
 * Internal, header-only, and the one library-internal header the CLI uses (src/cli includes it as
 * "../lib/cleanup.h"): it holds no library state, only the idiom, and the library and the CLI should
 * write it one way. Tests: tests/unit/test_cleanup.c.
 */
#ifndef FL_CLEANUP_H
#define FL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <json-c/json_object.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fipsluks/secret.h"

#define _cleanup_(fn) __attribute__((cleanup(fn)))

/* Each takes the address of the variable going out of scope. */
static inline void fl_freep(void *p)
{
    free(*(void **)p);
}

static inline void fl_closep(const int *fd)
{
    if (*fd >= 0) {
        int saved = errno;

        (void)close(*fd);
        errno = saved;
    }
}

static inline void fl_fclosep(FILE **f)
{
    if (*f) {
        int saved = errno;

        (void)fclose(*f);
        errno = saved;
    }
}

static inline void fl_closedirp(DIR **d)
{
    if (*d) {
        int saved = errno;

        (void)closedir(*d);
        errno = saved;
    }
}

static inline void fl_json_putp(json_object **o)
{
    (void)json_object_put(*o); /* NULL is allowed */
}

/* Wipes and releases (crypt_safe_free()): the secret's bytes never outlive its variable. */
static inline void fl_secret_freep(struct fl_secret **s)
{
    fl_secret_free(*s); /* NULL is allowed */
}

#define _cleanup_free_     _cleanup_(fl_freep)
#define _cleanup_close_    _cleanup_(fl_closep)
#define _cleanup_fclose_   _cleanup_(fl_fclosep)
#define _cleanup_closedir_ _cleanup_(fl_closedirp)
#define _cleanup_json_     _cleanup_(fl_json_putp)
#define _cleanup_secret_   _cleanup_(fl_secret_freep)

/* The value of pointer variable @p ptr, which is set to NULL: the cleanup no longer owns it. */
#define TAKE_PTR(ptr)                                                                                        \
    ({                                                                                                       \
        __typeof__(ptr) *fl_take_ptr_ = &(ptr);                                                              \
        __typeof__(ptr) fl_taken_ptr_ = *fl_take_ptr_;                                                       \
        *fl_take_ptr_ = NULL;                                                                                \
        fl_taken_ptr_;                                                                                       \
    })

/* The descriptor in int variable @p fd, which is set to -1: the cleanup no longer closes it. */
#define TAKE_FD(fd)                                                                                          \
    ({                                                                                                       \
        int *fl_take_fd_ = &(fd);                                                                            \
        int fl_taken_fd_ = *fl_take_fd_;                                                                     \
        *fl_take_fd_ = -1;                                                                                   \
        fl_taken_fd_;                                                                                        \
    })

#endif
