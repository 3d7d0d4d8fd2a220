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

#include "../lib/cleanup.h"
#include "cli.h"
#include "fipsluks/util.h"

int fl_atomic_open(const char *path, struct fl_atomic *ret)
{
    _cleanup_free_ char *copy = strdup(path), *tmp = NULL, *target = NULL;
    _cleanup_close_ int fd = -1;
    const char *base;
    FILE *file;

    memset(ret, 0, sizeof(*ret));
    if (!copy)
        return -ENOMEM;
    base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    /* A leading dot and a suffix after ".prom" keep the collector from reading it. */
    if (asprintf(&tmp, "%s/.%s.XXXXXX", dirname(copy), base) < 0) {
        tmp = NULL;
        return -ENOMEM;
    }
    target = strdup(path);
    if (!target)
        return -ENOMEM;
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* node_exporter runs as its own user: the report is world-readable, as the collector expects. */
    if (fchmod(fd, 0644) < 0 || !(file = fdopen(fd, "w"))) {
        int r = -errno;

        unlink(tmp);
        return r;
    }
    (void)TAKE_FD(fd); /* the FILE owns it now */
    *ret = (struct fl_atomic){.file = file, .tmp = TAKE_PTR(tmp), .path = TAKE_PTR(target)};
    return 0;
}

int fl_atomic_commit(struct fl_atomic *a)
{
    int r = 0;

    if (fflush(a->file) == EOF || ferror(a->file) || fsync(fileno(a->file)) < 0)
        r = errno ? -errno : -EIO;
    if (fclose(a->file) == EOF && r == 0)
        r = -errno;
    a->file = NULL;
    if (r == 0 && rename(a->tmp, a->path) < 0)
        r = -errno;
    if (r < 0)
        unlink(a->tmp);
    else
        (void)fl_fsync_parent(a->path); /* the rename is durable; the file is whole either way */
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
