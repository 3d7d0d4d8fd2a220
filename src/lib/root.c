/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading files below a root directory (fipsluks check --root), links resolved inside the root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host-internal.h"
#include "util.h"

/* Like the kernel's limit on nested symbolic links. */
#define FL_ROOT_MAX_LINKS 40

int fl_root_set(const char *root)
{
    return root && *root && strcmp(root, "/") != 0;
}

/* Drop the last component of @p done ("/a/b" → "/a"; "" stays ""). */
static void drop_last(char *done)
{
    char *slash = strrchr(done, '/');
    if (slash)
        *slash = '\0';
}

int fl_root_path(const char *root, const char *path, char **ret)
{
    char *todo = NULL, *done = NULL, *result = NULL;
    size_t rootlen;
    int links = 0, r = 0;

    if (!fl_root_set(root)) {
        result = strdup(path);
        if (!result)
            return -ENOMEM;
        *ret = result;
        return 0;
    }
    rootlen = strlen(root);
    while (rootlen > 1 && root[rootlen - 1] == '/')
        rootlen--;
    /* done: the resolved part below the root, "/a/b" ("" is the root itself); todo: what is left */
    done = strdup("");
    todo = strdup(path);
    if (!todo || !done) {
        r = -ENOMEM;
        goto out;
    }
    for (char *p = todo; *p;) {
        char *comp, *candidate = NULL, *full = NULL, target[PATH_MAX];
        struct stat st;
        ssize_t n;
        int lr;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        comp = p;
        while (*p && *p != '/')
            p++;
        if (*p)
            *p++ = '\0';
        if (!strcmp(comp, "."))
            continue;
        if (!strcmp(comp, "..")) {
            drop_last(done);
            continue;
        }
        if (asprintf(&candidate, "%s/%s", done, comp) < 0) {
            r = -ENOMEM;
            goto out;
        }
        if (asprintf(&full, "%.*s%s", (int)rootlen, root, candidate) < 0) {
            free(candidate);
            r = -ENOMEM;
            goto out;
        }
        lr = lstat(full, &st);
        if (lr < 0 && (errno == ENOENT || errno == ENOTDIR)) {
            /* the rest cannot resolve: keep it as it is, so that opening fails with ENOENT */
            free(full);
            free(done);
            done = NULL;
            if (asprintf(&done, "%s%s%s", candidate, *p ? "/" : "", p) < 0)
                done = NULL;
            free(candidate);
            if (!done)
                r = -ENOMEM;
            goto finish;
        }
        if (lr < 0 || !S_ISLNK(st.st_mode)) {
            free(full);
            free(done);
            done = candidate;
            continue;
        }
        n = readlink(full, target, sizeof(target) - 1);
        free(full);
        free(candidate);
        if (n < 0) {
            r = -errno;
            goto out;
        }
        target[n] = '\0';
        if (++links > FL_ROOT_MAX_LINKS) {
            r = -ELOOP;
            goto out;
        }
        {
            char *next = NULL;
            if (asprintf(&next, "%s/%s", target, p) < 0) {
                r = -ENOMEM;
                goto out;
            }
            if (target[0] == '/')
                done[0] = '\0';
            free(todo);
            todo = next;
            p = todo;
        }
    }
finish:
    if (r == 0) {
        if (asprintf(&result, "%.*s%s", (int)rootlen, root, *done ? done : "/") < 0)
            r = -ENOMEM;
        else
            *ret = result;
    }
out:
    free(todo);
    free(done);
    return r;
}

int fl_read_text(const char *path, size_t max, char **ret)
{
    char *buf = NULL;
    size_t len = 0, allocated = 0;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n;

        if (allocated - len < 4097) {
            size_t want = allocated ? allocated * 2 : 8192;
            char *grown = realloc(buf, want);
            if (!grown) {
                r = -ENOMEM;
                goto out;
            }
            buf = grown;
            allocated = want;
        }
        n = read(fd, buf + len, allocated - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            r = -EFBIG;
            goto out;
        }
    }
    buf[len] = '\0';
    *ret = buf;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return r;
}

int fl_root_read_text(const char *root, const char *path, size_t max, char **ret)
{
    char *full = NULL;
    int r;

    r = fl_root_path(root, path, &full);
    if (r < 0)
        return r;
    r = fl_read_text(full, max, ret);
    free(full);
    return r;
}

int fl_root_exists(const char *root, const char *path)
{
    char *full = NULL;
    int r;

    r = fl_root_path(root, path, &full);
    if (r < 0)
        return r;
    /* fl_root_path() sets full whenever it returns 0; clang's analyzer assumes that a failed readlink()
     * may leave errno 0, which would make it return 0 without a path. */
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
    r = access(full, F_OK) == 0 ? 1 : (errno == ENOENT || errno == ENOTDIR) ? 0 : -errno;
    free(full);
    return r;
}
