/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What must be known before a target may be formatted: which signatures libblkid finds on it
 * (as wipefs(8) lists them), and whether anything uses it (mounts, swap, holders, loop devices).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "fipsluks/format.h"

/* ---- signatures ------------------------------------------------------------------------------- */

static char *value_dup(blkid_probe pr, const char *name)
{
    const char *v = NULL;

    if (blkid_probe_lookup_value(pr, name, &v, NULL) < 0 || !v || !*v)
        return NULL;
    return strdup(v);
}

static int signature_add(struct fl_signatures *s, blkid_probe pr)
{
    const char *type = NULL, *off = NULL, *magic = NULL, *usage = NULL;
    size_t magic_len = 0;
    bool table = false;
    struct fl_signature *sig;

    if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0) {
        blkid_probe_lookup_value(pr, "SBMAGIC_OFFSET", &off, NULL);
        blkid_probe_lookup_value(pr, "SBMAGIC", &magic, &magic_len);
        blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
    } else if (blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL) == 0) {
        blkid_probe_lookup_value(pr, "PTMAGIC_OFFSET", &off, NULL);
        blkid_probe_lookup_value(pr, "PTMAGIC", &magic, &magic_len);
        table = true;
    } else {
        return 0; /* nothing identifiable */
    }
    if (s->n == s->allocated) {
        size_t n = s->allocated ? 2 * s->allocated : 4;
        struct fl_signature *items = reallocarray(s->items, n, sizeof(*items));
        if (!items)
            return -ENOMEM;
        s->items = items;
        s->allocated = n;
    }
    sig = &s->items[s->n];
    memset(sig, 0, sizeof(*sig));
    sig->type = strdup(type);
    sig->usage = strdup(table ? "partition table" : usage ? usage : "other");
    sig->label = table ? NULL : value_dup(pr, "LABEL");
    sig->uuid = value_dup(pr, table ? "PTUUID" : "UUID");
    sig->offset = off ? strtoull(off, NULL, 10) : 0;
    sig->magic_len = magic ? magic_len : 0;
    s->n++;
    return sig->type && sig->usage ? 1 : -ENOMEM;
}

int fl_format_probe_signatures(const char *path, struct fl_signatures *out)
{
    blkid_probe pr = NULL;
    int fd, r, n = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    pr = blkid_new_probe();
    if (!pr) {
        r = -ENOMEM;
        goto out;
    }
    /* The same set-up as wipefs(8): every superblock (even with a bad checksum) and every table. */
    if (blkid_probe_set_device(pr, fd, 0, 0) < 0 || blkid_probe_enable_superblocks(pr, 1) < 0 ||
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
                                                  BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
                                                  BLKID_SUBLKS_BADCSUM) < 0 ||
        blkid_probe_enable_partitions(pr, 1) < 0 ||
        blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC | BLKID_PARTS_FORCE_GPT) < 0) {
        r = -EIO;
        goto out;
    }
    while ((r = blkid_do_probe(pr)) == 0) {
        r = signature_add(out, pr);
        if (r < 0)
            goto out;
        n += r;
    }
    r = r == 1 ? n : -EIO; /* 1: no more signatures */
out:
    blkid_free_probe(pr);
    close(fd);
    return r;
}

void fl_signatures_clear(struct fl_signatures *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].type);
        free(s->items[i].usage);
        free(s->items[i].label);
        free(s->items[i].uuid);
    }
    free(s->items);
    memset(s, 0, sizeof(*s));
}

/* ---- is it in use? ---------------------------------------------------------------------------- */

/* The mount point of the first mount of block device @p dev in /proc/self/mountinfo, or NULL. */
static char *mounted_on(dev_t dev)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char *line = NULL, *where = NULL;
    size_t size = 0;

    if (!f)
        return NULL;
    while (!where && getline(&line, &size, f) > 0) {
        unsigned maj, min;
        char mnt[4096];
        /* ID PARENT MAJOR:MINOR ROOT MOUNT-POINT … (the mount point octal-escaped, no spaces) */
        if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) == 3 && maj == major(dev) &&
            min == minor(dev))
            where = strdup(mnt);
    }
    free(line);
    fclose(f);
    return where;
}

/* Whether the file or device @p st is an active swap area (/proc/swaps). */
static bool swap_active(const struct stat *st)
{
    FILE *f = fopen("/proc/swaps", "re");
    char *line = NULL;
    size_t size = 0;
    bool found = false;

    if (!f)
        return false;
    while (!found && getline(&line, &size, f) > 0) {
        char name[4096];
        struct stat s;
        if (sscanf(line, "%4095s", name) == 1 && name[0] == '/' && stat(name, &s) == 0)
            found = S_ISBLK(st->st_mode) ? S_ISBLK(s.st_mode) && s.st_rdev == st->st_rdev
                                         : s.st_dev == st->st_dev && s.st_ino == st->st_ino;
    }
    free(line);
    fclose(f);
    return found;
}

/* The first entry of /sys/dev/block/MAJ:MIN/holders (e.g. "dm-0"), or NULL. */
static char *held_by(dev_t dev)
{
    char path[64], *who = NULL;
    struct dirent *e;
    DIR *d;

    snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/holders", major(dev), minor(dev));
    d = opendir(path);
    if (!d)
        return NULL;
    while (!who && (e = readdir(d)))
        if (e->d_name[0] != '.')
            who = strdup(e->d_name);
    closedir(d);
    return who;
}

/* -EBUSY, with the reason in *ret_why (if wanted). */
__attribute__((format(printf, 2, 3))) static int busy(char **ret_why, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!ret_why)
        return -EBUSY;
    va_start(ap, fmt);
    n = vasprintf(ret_why, fmt, ap);
    va_end(ap);
    if (n < 0) {
        *ret_why = NULL;
        return -ENOMEM;
    }
    return -EBUSY;
}

/* Block device @p dev (node @p node): mounted, swap, held, or opened exclusively by someone. */
static int block_busy(const char *node, const struct stat *st, char **ret_why)
{
    char *what;
    int fd, r;

    what = mounted_on(st->st_rdev);
    if (what) {
        r = busy(ret_why, "mounted on %s", what);
        free(what);
        return r;
    }
    if (swap_active(st))
        return busy(ret_why, "in use as swap");
    what = held_by(st->st_rdev);
    if (what) {
        r = busy(ret_why, "held by %s (device-mapper, RAID or LVM)", what);
        free(what);
        return r;
    }
    /* The kernel's own answer, which also covers mounted or held partitions of a whole disk. */
    fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == EBUSY)
        return busy(ret_why, "opened exclusively by another program (a mount, swap, device-mapper, RAID, "
                             "LVM, or a mounted partition)");
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

/* For an image file: a loop device it backs that is in use. */
static int loop_busy(const struct stat *st, char **ret_why)
{
    DIR *d = opendir("/sys/block");
    struct dirent *e;
    int r = 0;

    if (!d)
        return 0; /* no sysfs: nothing to find */
    while (r == 0 && (e = readdir(d))) {
        char path[PATH_MAX], backing[PATH_MAX], node[300], *nl, *why = NULL;
        struct stat bs, ls;
        ssize_t n;
        int fd;

        if (strncmp(e->d_name, "loop", 4) != 0)
            continue;
        snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", e->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* not attached */
        n = read(fd, backing, sizeof(backing) - 1);
        close(fd);
        if (n <= 0)
            continue;
        backing[n] = '\0';
        nl = strchr(backing, '\n');
        if (nl)
            *nl = '\0';
        if (stat(backing, &bs) < 0 || bs.st_dev != st->st_dev || bs.st_ino != st->st_ino)
            continue;
        snprintf(node, sizeof(node), "/dev/%s", e->d_name);
        if (stat(node, &ls) < 0 || !S_ISBLK(ls.st_mode))
            continue;
        r = block_busy(node, &ls, &why);
        if (r == -EBUSY) {
            r = busy(ret_why, "backs loop device %s, which is %s", node, why ? why : "in use");
        } else if (r < 0) {
            r = 0; /* cannot open the loop device to ask: the sysfs checks above found nothing */
        }
        free(why);
    }
    closedir(d);
    return r;
}

int fl_format_check_busy(const char *path, char **ret_why)
{
    struct stat st;

    if (ret_why)
        *ret_why = NULL;
    if (stat(path, &st) < 0)
        return -errno;
    if (S_ISBLK(st.st_mode))
        return block_busy(path, &st, ret_why);
    if (!S_ISREG(st.st_mode))
        return -ENOTBLK;
    if (swap_active(&st))
        return busy(ret_why, "in use as a swap file");
    return loop_busy(&st, ret_why);
}
