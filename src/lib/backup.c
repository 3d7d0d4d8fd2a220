/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Header backups for migrate: where they go, how they are written, and whether they would end up
 * inside the very volume they protect.
 *
 * The backup is a byte copy of the header region, written by us rather than by
 * crypt_header_backup() so that the file is created with O_EXCL and its mode set on the open
 * descriptor, and so that it is fsynced (with its directory) before the first header write: a
 * backup still in the page cache when the power goes is no backup.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fipsluks/backup.h"
#include "util.h"

#define COPY_CHUNK (1024 * 1024)
/* device-mapper over MD over a partition is three levels; anything deeper is not a real stack */
#define MAX_STACK_DEPTH 16

bool fl_uuid_valid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

int fl_backup_path(const char *dir, const char *uuid, long long now, unsigned n, char *buf, size_t size)
{
    char stamp[32], suffix[16] = "";
    time_t t = (time_t)now;
    struct tm tm;
    int len;

    if (!gmtime_r(&t, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
        return -EINVAL;
    if (n > 0)
        snprintf(suffix, sizeof(suffix), "-%u", n);
    len = snprintf(buf, size, "%s/%s-%s%s.luksheader", dir, fl_uuid_valid(uuid) ? uuid : "volume", stamp,
                   suffix);
    return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}

int fl_backup_write(int src, uint64_t bytes, const char *path, int *ret_fd)
{
    char *buf = malloc(COPY_CHUNK);
    uint64_t done = 0;
    int fd, r = 0;

    if (!buf)
        return -ENOMEM;
    fd = fl_create_new(path, 0600);
    if (fd < 0) {
        free(buf);
        return fd;
    }
    while (r == 0 && done < bytes) {
        size_t want = bytes - done < COPY_CHUNK ? (size_t)(bytes - done) : COPY_CHUNK;
        ssize_t n = fl_pread_full(src, buf, want, (off_t)done);

        if (n < 0) {
            r = (int)n;
        } else if ((size_t)n != want) {
            r = -EIO; /* the header region is shorter than the header says */
        } else {
            n = fl_pwrite_full(fd, buf, want, (off_t)done);
            r = n < 0 ? (int)n : 0;
            done += want;
        }
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r == 0)
        r = fl_fsync_parent(path);
    free(buf);
    if (r < 0) {
        fl_unlink_own(path, fd);
        close(fd);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

/* Read "MAJ:MIN" from @p file. */
static int read_devno(const char *file, dev_t *ret)
{
    unsigned maj, min;
    FILE *f = fopen(file, "re");
    int n;

    if (!f)
        return -errno;
    n = fscanf(f, "%u:%u", &maj, &min);
    fclose(f);
    if (n != 2)
        return -EINVAL;
    *ret = makedev(maj, min);
    return 0;
}

static int stacked_on(const char *sysroot, dev_t outer, dev_t dev, int depth);

int fl_dev_stacked_on(const char *sysroot, dev_t outer, dev_t dev)
{
    return stacked_on(sysroot ? sysroot : "", outer, dev, 0);
}

/* Whether block device @p outer is @p dev or is built on it (its slaves, recursively). */
static int stacked_on(const char *sysroot, dev_t outer, dev_t dev, int depth)
{
    char dir[PATH_MAX];
    struct dirent *e;
    DIR *d;
    int r = 0;

    if (outer == dev)
        return 1;
    if (depth > MAX_STACK_DEPTH)
        return 0;
    snprintf(dir, sizeof(dir), "%s/sys/dev/block/%u:%u/slaves", sysroot, major(outer), minor(outer));
    d = opendir(dir);
    if (!d)
        return 0; /* not a block device, or no slaves */
    while (r == 0 && (e = readdir(d))) {
        char file[PATH_MAX + 300];
        dev_t slave = 0;

        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof(file), "%s/%s/dev", dir, e->d_name);
        if (read_devno(file, &slave) == 0)
            r = stacked_on(sysroot, slave, dev, depth + 1);
    }
    closedir(d);
    return r;
}

int fl_path_on_device(const char *sysroot, const char *path, dev_t dev)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -errno;
    return fl_dev_stacked_on(sysroot, st.st_dev, dev);
}

/* The backup directory: @p dir, else $FIPSLUKS_BACKUP_DIR, else FL_DEFAULT_BACKUP_DIR (created 0700). */
static int backup_dir(const char *dir, const char **ret)
{
    if (!dir || !*dir)
        dir = getenv("FIPSLUKS_BACKUP_DIR");
    if (!dir || !*dir) {
        dir = FL_DEFAULT_BACKUP_DIR;
        if (mkdir("/var/lib/fipsluks", 0700) < 0 && errno != EEXIST)
            return -errno;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    *ret = dir;
    return 0;
}

int fl_backup_header(int fd, uint64_t bytes, const char *uuid, const char *path, const char *dir,
                     char *ret_path, size_t size, int *ret_fd)
{
    int r;

    if (path) {
        if (strlen(path) >= size)
            return -ENAMETOOLONG;
        snprintf(ret_path, size, "%s", path);
        return fl_backup_write(fd, bytes, path, ret_fd);
    }
    r = backup_dir(dir, &dir);
    for (unsigned n = 0; r == 0; n++) {
        r = fl_backup_path(dir, uuid, (long long)time(NULL), n, ret_path, size);
        if (r == 0)
            r = fl_backup_write(fd, bytes, ret_path, ret_fd);
        if (r != -EEXIST || n == 99)
            break;
        r = 0;
    }
    return r;
}
