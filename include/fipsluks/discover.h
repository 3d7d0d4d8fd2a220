/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file discover.h
 * Finding what to scan: LUKS block devices on this host, files below a directory.
 */
#ifndef FIPSLUKS_DISCOVER_H
#define FIPSLUKS_DISCOVER_H

#include <stddef.h>

/** A path found while discovering, or the error met on the way there. */
struct fl_found {
    char *path;
    int error; /**< 0, or the negative errno met reading this path (e.g. an unreadable directory) */
};

struct fl_found_list {
    struct fl_found *items;
    size_t n;
    size_t allocated;
};

/**
 * Every block device (whole disks, partitions, loop and dm devices) that libblkid identifies as
 * crypto_LUKS, in the order /sys/class/block lists them, sorted by name.
 *
 * @param sysroot  read /sys and /dev below this directory ("" or NULL for the live system)
 * @return number of devices appended to @p out, or a negative errno.
 */
int fl_discover_luks_devices(const char *sysroot, struct fl_found_list *out);

/**
 * Every regular file and block device below @p dir, recursively, sorted by name, without following
 * symbolic links or crossing into unreadable directories (those are appended with their error).
 * @return number of entries appended to @p out, or a negative errno.
 */
int fl_walk_directory(const char *dir, struct fl_found_list *out);

/** Append a copy of @p path with @p error to @p list. @return 0 or -ENOMEM. */
int fl_found_add(struct fl_found_list *list, const char *path, int error);

/** Release the contents of @p list (not the list itself). */
void fl_found_clear(struct fl_found_list *list);

#endif
