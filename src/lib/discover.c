/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding what to scan.
 *
 * A directory walk must never have side effects: on pseudo file systems, reading a file runs kernel
 * code (reading /sys/class/zram-control/hot_add creates a zram device, reading /proc/kmsg consumes
 * the kernel log, files under /sys/kernel/debug can block or poke hardware). So the walk opens only
 * directories, judges each by its file system type (fstatfs) before reading it, and lists regular
 * files and block devices by lstat without opening them. volume.c opens what is listed with O_PATH
 * first and checks the type again, so a file swapped for a FIFO or a device later is not opened.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <blkid/blkid.h>

#include "cleanup.h"
#include "fipsluks/array.h"
#include "fipsluks/discover.h"
#include "fipsluks/util.h"
#include "root.h"

/* Deep enough for any real tree; bounds the recursion (and the open directories) on hostile input. */
#define FL_WALK_MAX_DEPTH 64

/* Not every kernel header names these. */
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570
#endif
#ifndef FUSECTL_SUPER_MAGIC
#define FUSECTL_SUPER_MAGIC 0x65735543
#endif
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

/* File systems whose files are kernel interfaces, not data: never read by a scan. */
/* clang-format off */
#define PSEUDO(magic, name) {(magic), name, "on a " name " pseudo file system: not read"}
/* clang-format on */
static const struct {
    unsigned long magic;
    const char *name;
    const char *why; /* fl_found.skipped */
} pseudo_fs[] = {
    PSEUDO(PROC_SUPER_MAGIC, "proc"),
    PSEUDO(SYSFS_MAGIC, "sysfs"),
    PSEUDO(DEBUGFS_MAGIC, "debugfs"),
    PSEUDO(TRACEFS_MAGIC, "tracefs"),
    PSEUDO(SECURITYFS_MAGIC, "securityfs"),
    PSEUDO(CGROUP_SUPER_MAGIC, "cgroup"),
    PSEUDO(CGROUP2_SUPER_MAGIC, "cgroup2"),
    PSEUDO(BPF_FS_MAGIC, "bpf"),
    PSEUDO(PSTOREFS_MAGIC, "pstore"),
    PSEUDO(CONFIGFS_MAGIC, "configfs"),
    PSEUDO(EFIVARFS_MAGIC, "efivarfs"),
    PSEUDO(DEVPTS_SUPER_MAGIC, "devpts"),
    PSEUDO(MQUEUE_MAGIC, "mqueue"),
    PSEUDO(HUGETLBFS_MAGIC, "hugetlbfs"),
    PSEUDO(FUSECTL_SUPER_MAGIC, "fusectl"),
    PSEUDO(BINFMTFS_MAGIC, "binfmt_misc"),
    PSEUDO(SELINUX_MAGIC, "selinuxfs"),
    PSEUDO(SMACK_MAGIC, "smackfs"),
    PSEUDO(RDTGROUP_SUPER_MAGIC, "resctrl"),
    PSEUDO(NSFS_MAGIC, "nsfs"),
    PSEUDO(OPENPROM_SUPER_MAGIC, "openpromfs"),
    PSEUDO(USBDEVICE_SUPER_MAGIC, "usbdevfs"),
    PSEUDO(AAFS_MAGIC, "apparmorfs"),
    PSEUDO(BINDERFS_SUPER_MAGIC, "binderfs"),
};
#undef PSEUDO

static const char why_other_fs[] = "on another file system (--one-file-system): not descended into";

int fl_found_add(struct fl_found_list *list, const char *path, int error)
{
    char *copy;
    int r;

    r = fl_array_grow(&list->items, &list->allocated, list->n + 1, sizeof(*list->items));
    if (r < 0)
        return r;
    copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    list->items[list->n].path = copy;
    list->items[list->n].error = error;
    list->items[list->n].skipped = NULL;
    list->n++;
    return 0;
}

static int found_skip(struct fl_found_list *list, const char *path, const char *why)
{
    int r = fl_found_add(list, path, 0);

    if (r < 0)
        return r;
    list->items[list->n - 1].skipped = why;
    return 1;
}

void fl_found_clear(struct fl_found_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i].path);
    free(list->items);
    list->items = NULL;
    list->n = list->allocated = 0;
}

/* Whether @p fd is on a pseudo file system: 1 with its pseudo_fs[] index, 0, or -errno. */
static int pseudo_fs_index(int fd, int *ret_index)
{
    struct statfs sfs;

    *ret_index = -1;
    if (fstatfs(fd, &sfs) < 0)
        return -errno;
    for (size_t i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++)
        if ((unsigned long)sfs.f_type == pseudo_fs[i].magic) {
            *ret_index = (int)i;
            return 1;
        }
    return 0;
}

int fl_fd_on_pseudo_fs(int fd, const char **ret_name)
{
    int i, r = pseudo_fs_index(fd, &i);

    if (r > 0 && ret_name)
        *ret_name = pseudo_fs[i].name;
    return r;
}

int fl_path_on_pseudo_fs(const char *path, const char **ret_name)
{
    _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    return fl_fd_on_pseudo_fs(fd, ret_name);
}

/* libblkid's verdict on one device: 1 when it is crypto_LUKS. */
static int blkid_is_luks(const char *dev)
{
    blkid_probe pr;
    const char *type = NULL;
    struct stat st;
    int r = 0;

    /* Only block devices (and, below a test root, image files) are opened; never a FIFO or a
     * character device that a hostile root placed at /dev/NAME. */
    if (lstat(dev, &st) < 0 || !(S_ISBLK(st.st_mode) || S_ISREG(st.st_mode)))
        return 0;
    pr = blkid_new_probe_from_filename(dev);
    if (!pr)
        return 0; /* vanished, unreadable or empty (an unbound loop device) */
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
    blkid_probe_enable_partitions(pr, 0);
    if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0)
        r = type && !strcmp(type, "crypto_LUKS");
    blkid_free_probe(pr);
    return r;
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *d)
{
    return strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
}

int fl_discover_luks_devices(const char *sysroot, struct fl_found_list *out)
{
    struct dirent **names = NULL;
    char *sysdir = NULL;
    int n, found = 0, r = 0;

    /* Below a root, every path resolves inside it, as every other read of check --root does. */
    r = fl_root_path(sysroot, "/sys/class/block", &sysdir);
    if (r < 0)
        return r;
    n = scandir(sysdir, &names, skip_dots, cmp_names);
    free(sysdir);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        char *name = NULL, *dev = NULL;

        if (r == 0 && strchr(names[i]->d_name, '/') == NULL) {
            if (asprintf(&name, "/dev/%s", names[i]->d_name) < 0) {
                name = NULL;
                r = -ENOMEM;
            } else {
                r = fl_root_path(sysroot, name, &dev);
                if (r == -ELOOP || r == -ENAMETOOLONG)
                    r = 0; /* a hostile link loop below the root: not a device */
                else if (r == 0 && blkid_is_luks(dev)) {
                    r = fl_found_add(out, dev, 0);
                    found++;
                }
            }
        }
        free(name);
        free(dev);
        free(names[i]);
    }
    free(names);
    return r < 0 ? r : found;
}

/* A directory entry: its type from readdir() (DT_UNKNOWN where the file system does not say) and name. */
struct entry {
    unsigned char type;
    char *name;
};

static void free_names(struct entry *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i].name);
    free(names);
}

static int cmp_entries(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* The entries of directory @p d but "." and "..", sorted by name. @return count or -errno. */
static int read_names(DIR *d, struct entry **ret)
{
    struct entry *names = NULL;
    size_t n = 0, allocated = 0;
    struct dirent *e;

    for (;;) {
        errno = 0;
        e = readdir(d);
        if (!e) {
            if (errno) {
                int r = -errno;
                free_names(names, n);
                return r;
            }
            break;
        }
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (fl_array_grow(&names, &allocated, n + 1, sizeof(*names)) < 0) {
            free_names(names, n);
            return -ENOMEM;
        }
        names[n].type = e->d_type;
        names[n].name = strdup(e->d_name);
        if (!names[n].name) {
            free_names(names, n);
            return -ENOMEM;
        }
        n++;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_entries);
    *ret = names;
    return (int)n;
}

/*
 * The type of @p e: DT_DIR, DT_REG, DT_BLK, another DT_ value (never opened), or -errno. The type
 * readdir() gave spares a stat of each file, which on a cold cache is an inode read, one after
 * another on the walking thread; the workers' O_PATH open and fstat() check the type again anyway.
 */
static int entry_type(int dfd, const struct entry *e)
{
    struct stat st;

    if (e->type != DT_UNKNOWN)
        return e->type;
    if (fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    return S_ISDIR(st.st_mode)   ? DT_DIR
           : S_ISREG(st.st_mode) ? DT_REG
           : S_ISBLK(st.st_mode) ? DT_BLK
                                 : DT_UNKNOWN;
}

struct walk {
    unsigned flags;
    dev_t top_dev;
    struct fl_found_list *out;
};

/* Append @p path with @p err (0 or -errno). @return 1 or -ENOMEM. */
static int found_path(struct walk *w, const char *path, int err)
{
    return fl_found_add(w->out, path, err) < 0 ? -ENOMEM : 1;
}

/*
 * Walk the directory open as @p dfd (taken over), named @p dir for output. @return the number of
 * entries appended, or -ENOMEM (any other error is appended to the list with the path it concerns).
 */
static int walk_dir(struct walk *w, int dfd, const char *dir, int depth)
{
    _cleanup_close_ int owned = dfd; /* until fdopendir() takes it over */
    _cleanup_closedir_ DIR *d = NULL;
    struct entry *names = NULL;
    struct stat st;
    int n, idx, count = 0, r;

    if (fstat(dfd, &st) < 0)
        return found_path(w, dir, -errno);
    if (depth == 0)
        w->top_dev = st.st_dev;
    else if ((w->flags & FL_WALK_ONE_FILE_SYSTEM) && st.st_dev != w->top_dev)
        return found_skip(w->out, dir, why_other_fs);
    r = pseudo_fs_index(dfd, &idx);
    if (r != 0)
        return r < 0 ? found_path(w, dir, r) : found_skip(w->out, dir, pseudo_fs[idx].why);
    if (depth > FL_WALK_MAX_DEPTH)
        return found_path(w, dir, -ELOOP);
    d = fdopendir(dfd);
    if (!d)
        return found_path(w, dir, -errno);
    (void)TAKE_FD(owned); /* closed with d */
    n = read_names(d, &names);
    if (n < 0)
        return n == -ENOMEM ? n : found_path(w, dir, n);
    r = 0;
    for (int i = 0; i < n && r >= 0; i++) {
        _cleanup_free_ char *path = NULL;

        /* read_names() sets names whenever it returns a count; clang's analyzer assumes that a failed
         * readdir() may leave errno negative, which would make it return a count without names. */
        /* NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
        path = fl_asprintf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i].name);
        if (!path) {
            r = -ENOMEM;
            break;
        }
        r = entry_type(dirfd(d), &names[i]);
        if (r < 0) {
            r = found_path(w, path, r);
        } else if (r == DT_DIR) {
            int sub = openat(dirfd(d), names[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            r = sub < 0 ? found_path(w, path, -errno) : walk_dir(w, sub, path, depth + 1);
        } else if (r == DT_REG || r == DT_BLK) {
            r = found_path(w, path, 0);
        } else {
            r = 0; /* symbolic links, character devices, sockets, FIFOs: never opened */
        }
        if (r > 0)
            count += r;
    }
    free_names(names, (size_t)n);
    return r < 0 ? r : count;
}

int fl_walk_directory(const char *dir, unsigned flags, struct fl_found_list *out)
{
    struct walk w = {.flags = flags, .out = out};
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0)
        return found_path(&w, dir, -errno);
    return walk_dir(&w, dfd, dir, 0);
}
