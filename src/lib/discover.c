/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <blkid/blkid.h>

#include "fipsluks/discover.h"

/* Deep enough for any real tree; bounds the recursion on hostile input. */
#define FL_WALK_MAX_DEPTH 64

int fl_found_add(struct fl_found_list *list, const char *path, int error)
{
    char *copy;

    if (list->n == list->allocated) {
        size_t want = list->allocated ? list->allocated * 2 : 16;
        struct fl_found *items = realloc(list->items, want * sizeof(*items));
        if (!items)
            return -ENOMEM;
        list->items = items;
        list->allocated = want;
    }
    copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    list->items[list->n].path = copy;
    list->items[list->n].error = error;
    list->n++;
    return 0;
}

void fl_found_clear(struct fl_found_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i].path);
    free(list->items);
    list->items = NULL;
    list->n = list->allocated = 0;
}

/* libblkid's verdict on one device: 1 when it is crypto_LUKS. */
static int blkid_is_luks(const char *dev)
{
    blkid_probe pr = blkid_new_probe_from_filename(dev);
    const char *type = NULL;
    int r = 0;

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
    const char *root = sysroot ? sysroot : "";
    struct dirent **names = NULL;
    char *sysdir = NULL;
    int n, found = 0, r = 0;

    if (asprintf(&sysdir, "%s/sys/class/block", root) < 0)
        return -ENOMEM;
    n = scandir(sysdir, &names, skip_dots, cmp_names);
    free(sysdir);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        char *dev = NULL;

        if (r == 0) {
            if (asprintf(&dev, "%s/dev/%s", root, names[i]->d_name) < 0)
                r = -ENOMEM;
            else if (blkid_is_luks(dev)) {
                r = fl_found_add(out, dev, 0);
                found++;
            }
        }
        free(dev);
        free(names[i]);
    }
    free(names);
    return r < 0 ? r : found;
}

static int walk(const char *dir, int depth, struct fl_found_list *out)
{
    struct dirent **names = NULL;
    int n, count = 0, r = 0;

    if (depth > FL_WALK_MAX_DEPTH)
        return fl_found_add(out, dir, -ELOOP) < 0 ? -ENOMEM : 1;
    n = scandir(dir, &names, skip_dots, cmp_names);
    if (n < 0)
        return fl_found_add(out, dir, -errno) < 0 ? -ENOMEM : 1;
    for (int i = 0; i < n; i++) {
        char *path = NULL;
        struct stat st;

        if (r >= 0) {
            if (asprintf(&path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]->d_name) < 0)
                r = -ENOMEM;
            else if (lstat(path, &st) < 0)
                r = fl_found_add(out, path, -errno) < 0 ? -ENOMEM : 1;
            else if (S_ISDIR(st.st_mode))
                r = walk(path, depth + 1, out);
            else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
                r = fl_found_add(out, path, 0) < 0 ? -ENOMEM : 1;
            else
                r = 0; /* symbolic links, sockets, fifos: not followed, not scanned */
            if (r > 0)
                count += r;
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return r < 0 ? r : count;
}

int fl_walk_directory(const char *dir, struct fl_found_list *out)
{
    return walk(dir, 0, out);
}
