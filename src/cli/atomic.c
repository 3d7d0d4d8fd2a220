/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files that readers must never see half-written (node_exporter's textfile collector reads
 * whenever it is scraped): write a temporary file in the same directory, fsync it, rename it over
 * the target, fsync the directory. A reader sees the old file or the new one, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int fl_atomic_open(const char *path, struct fl_atomic *ret)
{
    char *copy = strdup(path), *dir;
    const char *base;
    int fd, r;

    memset(ret, 0, sizeof(*ret));
    if (!copy)
        return -ENOMEM;
    dir = dirname(copy);
    base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    /* A leading dot and a suffix after ".prom" keep the collector from reading it. */
    if (asprintf(&ret->tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
        ret->tmp = NULL;
        free(copy);
        return -ENOMEM;
    }
    free(copy);
    ret->path = strdup(path);
    if (!ret->path) {
        r = -ENOMEM;
        goto fail;
    }
    fd = mkostemp(ret->tmp, O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        goto fail;
    }
    /* node_exporter runs as its own user: the report is world-readable, as the collector expects. */
    if (fchmod(fd, 0644) < 0 || !(ret->file = fdopen(fd, "w"))) {
        r = -errno;
        close(fd);
        unlink(ret->tmp);
        goto fail;
    }
    return 0;
fail:
    free(ret->tmp);
    free(ret->path);
    memset(ret, 0, sizeof(*ret));
    return r;
}

int fl_atomic_commit(struct fl_atomic *a)
{
    char *copy = NULL;
    int r = 0, dfd;

    if (fflush(a->file) == EOF || ferror(a->file) || fsync(fileno(a->file)) < 0)
        r = errno ? -errno : -EIO;
    if (fclose(a->file) == EOF && r == 0)
        r = -errno;
    a->file = NULL;
    if (r == 0 && rename(a->tmp, a->path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(a->tmp);
    } else if ((copy = strdup(a->path))) {
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(copy);
    }
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    return r;
}

void fl_atomic_abort(struct fl_atomic *a)
{
    if (a->file) {
        fclose(a->file);
        unlink(a->tmp);
    }
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof(*a));
}
