/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What must be known before a target may be formatted: which signatures libblkid finds on it
 * (as `wipefs --all` finds them), and whether anything uses it (mounts, swap, holders, loop
 * devices). And the target itself, opened once (struct fl_format_target): a check made on one file
 * and a write made on another, re-opened by name, is how the wrong disk gets formatted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "fipsluks/array.h"
#include "format-target.h"

/* ---- signatures ------------------------------------------------------------------------------- */

static char *value_dup(blkid_probe pr, const char *name)
{
    const char *v = NULL;

    if (blkid_probe_lookup_value(pr, name, &v, NULL) < 0 || !v || !*v)
        return NULL;
    return strdup(v);
}

static void signature_clear(struct fl_signature *sig)
{
    free(sig->type);
    free(sig->usage);
    free(sig->label);
    free(sig->uuid);
    memset(sig, 0, sizeof(*sig));
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
    if (fl_array_grow(&s->items, &s->allocated, s->n + 1, sizeof(*s->items)) < 0)
        return -ENOMEM;
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

/* Signatures a prober may report again after its magic is hidden (GPT: the backup header, then the
 * protective MBR; filesystems with several superblocks). Bounds a prober that never stops. */
#define MAX_SIGNATURES 64

static bool seen(const struct fl_signatures *s, size_t from, const struct fl_signature *sig)
{
    for (size_t i = from; i < s->n; i++)
        if (&s->items[i] != sig && s->items[i].offset == sig->offset && !strcmp(s->items[i].type, sig->type))
            return true;
    return false;
}

static int probe_fd(int fd, struct fl_signatures *out)
{
    blkid_probe pr = NULL;
    size_t first = out->n;
    int r, n = 0;

    pr = blkid_new_probe();
    if (!pr)
        return -ENOMEM;
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
    while (n < MAX_SIGNATURES && (r = blkid_do_probe(pr)) == 0) {
        const struct fl_signature *sig;
        r = signature_add(out, pr);
        if (r < 0)
            goto out;
        if (r == 0)
            continue;
        sig = &out->items[out->n - 1];
        if (seen(out, first, sig)) {
            /* the same magic again: it could not be hidden; list it once and go on */
            signature_clear(&out->items[--out->n]);
            continue;
        }
        n++;
        /* What `wipefs --all` does after erasing a magic, without writing: hide it from the next
         * probe and run the same prober again, which finds the next copy (a GPT's backup header). */
        if (sig->magic_len > 0 && blkid_probe_hide_range(pr, sig->offset, sig->magic_len) == 0)
            blkid_probe_step_back(pr);
    }
    r = r < 0 ? -EIO : n; /* 1: no more signatures (or MAX_SIGNATURES listed) */
out:
    blkid_free_probe(pr);
    return r;
}

int fl_format_probe_signatures(const char *path, struct fl_signatures *out)
{
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    r = probe_fd(fd, out);
    close(fd);
    return r;
}

int fl_format_signatures(const struct fl_format_target *t, struct fl_signatures *out)
{
    return probe_fd(t->fd, out);
}

void fl_signatures_clear(struct fl_signatures *s)
{
    for (size_t i = 0; i < s->n; i++)
        signature_clear(&s->items[i]);
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

#define EXCL_WHY                                                                                             \
    "opened exclusively by another program (a mount, swap, device-mapper, RAID, LVM, or a mounted "          \
    "partition)"

/* Block device @p st: mounted, swap, or held (what the kernel says in /proc and /sys). */
static int block_used(const struct stat *st, struct fl_why *why)
{
    char *what;
    int r;

    what = mounted_on(st->st_rdev);
    if (what) {
        r = fl_why_set(why, -EBUSY, "mounted on %s", what);
        free(what);
        return r;
    }
    if (swap_active(st))
        return fl_why_set(why, -EBUSY, "in use as swap");
    what = held_by(st->st_rdev);
    if (what) {
        r = fl_why_set(why, -EBUSY, "held by %s (device-mapper, RAID or LVM)", what);
        free(what);
        return r;
    }
    return 0;
}

/*
 * The first other process that has block device @p dev open (its /proc/PID/fd), as fuser(1) finds it:
 * an open without O_EXCL (a program reading the loop device an image backs, `exec 9<>/dev/loop0`) is
 * invisible to the O_EXCL test. @return its pid, its name (printable) in @p comm; 0 if none (or no /proc).
 */
static pid_t opened_by(dev_t dev, char *comm, size_t size)
{
    DIR *proc = opendir("/proc");
    pid_t self = getpid(), found = 0;
    struct dirent *p;

    if (!proc)
        return 0;
    while (!found && (p = readdir(proc))) {
        char path[300];
        struct dirent *f;
        DIR *fds;
        char *end;
        long pid = strtol(p->d_name, &end, 10);

        if (*end || pid <= 0 || pid == self)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
        fds = opendir(path);
        if (!fds)
            continue; /* gone, or not ours to look at */
        while (!found && (f = readdir(fds))) {
            struct stat st;

            if (f->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "/proc/%ld/fd/%s", pid, f->d_name);
            if (stat(path, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev)
                found = (pid_t)pid;
        }
        closedir(fds);
    }
    closedir(proc);
    if (found) {
        char path[64];
        FILE *c;

        snprintf(comm, size, "?");
        snprintf(path, sizeof(path), "/proc/%ld/comm", (long)found);
        c = fopen(path, "re");
        if (c) {
            if (fgets(comm, (int)size, c))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(c);
            for (char *q = comm; *q; q++)
                if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
                    *q = '?'; /* anyone names their process */
        }
    }
    return found;
}

/* Block device node @p node (@p st): mounted, swap, held, or opened exclusively by someone. */
static int block_busy(const char *node, const struct stat *st, struct fl_why *why)
{
    char comm[64];
    pid_t pid;
    int fd, r;

    r = block_used(st, why);
    if (r < 0)
        return r;
    /* The kernel's own answer, which also covers mounted or held partitions of a whole disk. */
    fd = open(node, O_RDONLY | O_EXCL | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == EBUSY)
        return fl_why_set(why, -EBUSY, EXCL_WHY);
    if (fd < 0)
        return -errno;
    close(fd);
    pid = opened_by(st->st_rdev, comm, sizeof(comm));
    if (pid > 0)
        return fl_why_set(why, -EBUSY, "open in process %ld (%s)", (long)pid, comm);
    return 0;
}

/* For an image file: a loop device it backs that is in use. */
static int loop_busy(const struct stat *st, struct fl_why *why)
{
    DIR *d = opendir("/sys/block");
    struct dirent *e;
    int r = 0;

    if (!d)
        return 0; /* no sysfs: nothing to find */
    while (r == 0 && (e = readdir(d))) {
        char path[PATH_MAX], backing[PATH_MAX], node[300], *nl;
        struct fl_why used = {""};
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
        r = block_busy(node, &ls, &used);
        if (r == -EBUSY) {
            r = fl_why_set(why, -EBUSY, "backs loop device %s, which is %s", node,
                           fl_why_empty(&used) ? "in use" : used.text);
        } else if (r < 0) {
            r = 0; /* cannot open the loop device to ask: the sysfs checks above found nothing */
        }
    }
    closedir(d);
    return r;
}

/* A regular file: a swap file, or backing a loop device in use. */
static int file_busy(const struct stat *st, struct fl_why *why)
{
    if (swap_active(st))
        return fl_why_set(why, -EBUSY, "in use as a swap file");
    return loop_busy(st, why);
}

int fl_format_check_busy(const char *path, struct fl_why *why)
{
    struct stat st;

    fl_why_clear(why);
    if (stat(path, &st) < 0)
        return -errno;
    if (S_ISBLK(st.st_mode))
        return block_busy(path, &st, why);
    if (!S_ISREG(st.st_mode))
        return -ENOTBLK;
    return file_busy(&st, why);
}

/* ---- the target, opened once -------------------------------------------------------------------- */

int fl_format_target_busy(const struct fl_format_target *t, struct fl_why *why)
{
    fl_why_clear(why);
    /* A block device is held with O_EXCL: nothing new can claim it, but say what the kernel says. */
    if (S_ISBLK(t->st.st_mode))
        return block_used(&t->st, why);
    return file_busy(&t->st, why);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT) && a->st_rdev == b->st_rdev;
}

int fl_format_open(const char *path, struct fl_format_target **ret, struct fl_why *why)
{
    struct fl_format_target *t = NULL;
    char proc[64];
    struct stat st;
    int pfd, fd = -1, r;

    fl_why_clear(why);
    /* A handle on the object itself, opening nothing yet (no device open, no FIFO blocking). */
    pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (pfd < 0)
        return -errno;
    if (fstat(pfd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (S_ISLNK(st.st_mode)) {
        /* /dev/disk/by-id/… and /dev/mapper/… are links to block devices: follow those only. */
        close(pfd);
        pfd = open(path, O_PATH | O_CLOEXEC);
        if (pfd < 0)
            return -errno;
        if (fstat(pfd, &st) < 0) {
            r = -errno;
            goto out;
        }
        if (S_ISREG(st.st_mode)) {
            r = fl_why_set(why, -ELOOP,
                           "a symbolic link to a regular file; give the file's own path (a link can be "
                           "changed between the checks and the formatting)");
            goto out;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        r = -EISDIR;
        goto out;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        r = -ENOTBLK;
        goto out;
    }
    /* Open that very object, through the handle. A block device exclusively: while this process
     * holds it, nothing can mount it, swap on it or stack device-mapper or RAID on it. */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
    fd = open(proc, O_RDWR | O_CLOEXEC | O_NOCTTY | (S_ISBLK(st.st_mode) ? O_EXCL : 0));
    if (fd < 0 && errno == EBUSY && S_ISBLK(st.st_mode)) {
        r = block_used(&st, why);
        if (r == 0)
            r = fl_why_set(why, -EBUSY, EXCL_WHY);
        goto out;
    }
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    t = calloc(1, sizeof(*t));
    if (!t || !(t->path = strdup(path))) {
        r = -ENOMEM;
        goto out;
    }
    if (fstat(fd, &t->st) < 0) {
        r = -errno;
        goto out;
    }
    if (!same_file(&st, &t->st)) {
        r = -EIO; /* cannot happen: /proc/self/fd/N is the object itself */
        goto out;
    }
    t->fd = fd;
    fd = -1;
    *ret = t;
    t = NULL;
    r = 0;
out:
    if (t)
        free(t->path);
    free(t);
    if (fd >= 0)
        close(fd);
    close(pfd);
    return r;
}

void fl_format_close(struct fl_format_target *t)
{
    if (!t)
        return;
    close(t->fd);
    free(t->path);
    free(t);
}

const char *fl_format_target_path(const struct fl_format_target *t)
{
    return t->path;
}
