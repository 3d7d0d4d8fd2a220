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
    int error;           /**< 0, or the negative errno met reading this path (e.g. an unreadable directory) */
    const char *skipped; /**< static text: why this path was deliberately not read (a pseudo file
                              system, another file system with FL_WALK_ONE_FILE_SYSTEM), or NULL */
};

struct fl_found_list {
    struct fl_found *items;
    size_t n;
    size_t allocated;
};

/** fl_walk_directory() flags */
enum fl_walk_flags {
    FL_WALK_ONE_FILE_SYSTEM = 1 << 0, /**< do not descend into directories on other file systems (du -x) */
};

/**
 * Every block device (whole disks, partitions, loop and dm devices) that libblkid identifies as
 * crypto_LUKS, in the order /sys/class/block lists them, sorted by name.
 *
 * Below a @p sysroot, /sys/class/block and every /dev/NAME are resolved inside the root (symbolic
 * links included, as a chroot would), and only block devices and regular files are probed: a
 * character device or FIFO placed there is never opened.
 *
 * @param sysroot  read /sys and /dev below this directory ("" or NULL for the live system)
 * @return number of devices appended to @p out, or a negative errno.
 */
int fl_discover_luks_devices(const char *sysroot, struct fl_found_list *out);

/**
 * Every regular file and block device below @p dir, recursively, sorted by name, without following
 * symbolic links or crossing into unreadable directories (those are appended with their error).
 * Nothing is opened but directories: character devices, FIFOs and sockets are left alone.
 * Directories on pseudo file systems (proc, sysfs, debugfs, cgroup, …), @p dir included, are not
 * read: they are appended with fl_found.skipped set, as are, with FL_WALK_ONE_FILE_SYSTEM,
 * directories on another file system than @p dir.
 * @param flags  0 or FL_WALK_ONE_FILE_SYSTEM
 * @return number of entries appended to @p out, or a negative errno.
 */
int fl_walk_directory(const char *dir, unsigned flags, struct fl_found_list *out);

/**
 * Whether the file system holding the open file @p fd is a pseudo file system whose files must not
 * be read by a scan (reading them has side effects or never ends: proc, sysfs, debugfs, tracefs,
 * securityfs, cgroup, bpf, pstore, configfs, efivarfs, devpts, mqueue, hugetlbfs, fusectl, binfmt_misc, …).
 * @return 1 and its name in @p ret_name (static), 0, or a negative errno.
 */
int fl_fd_on_pseudo_fs(int fd, const char **ret_name);

/**
 * fl_fd_on_pseudo_fs() for a path (symbolic links followed, as the read that would follow does);
 * nothing is opened for reading (O_PATH).
 */
int fl_path_on_pseudo_fs(const char *path, const char **ret_name);

/** Append a copy of @p path with @p error to @p list. @return 0 or -ENOMEM. */
int fl_found_add(struct fl_found_list *list, const char *path, int error);

/** Release the contents of @p list (not the list itself). */
void fl_found_clear(struct fl_found_list *list);

#endif
