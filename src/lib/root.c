/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading files below a root directory (fipsluks check --root), links resolved inside the root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fipsluks/array.h"
#include "root.h"
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
    _cleanup_free_ char *todo = NULL, *done = NULL;
    char *result = NULL;
    size_t rootlen;
    int links = 0;

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
    if (!todo || !done)
        return -ENOMEM;
    for (char *p = todo; *p;) {
        _cleanup_free_ char *candidate = NULL, *full = NULL;
        char *comp, target[PATH_MAX];
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
        candidate = fl_asprintf("%s/%s", done, comp);
        full = candidate ? fl_asprintf("%.*s%s", (int)rootlen, root, candidate) : NULL;
        if (!full)
            return -ENOMEM;
        lr = lstat(full, &st);
        if (lr < 0 && (errno == ENOENT || errno == ENOTDIR)) {
            /* the rest cannot resolve: keep it as it is, so that opening fails with ENOENT */
            char *rest = NULL;

            if (asprintf(&rest, "%s%s%s", candidate, *p ? "/" : "", p) < 0)
                return -ENOMEM;
            free(done);
            done = rest;
            break;
        }
        if (lr < 0 || !S_ISLNK(st.st_mode)) {
            free(done);
            done = TAKE_PTR(candidate);
            continue;
        }
        n = readlink(full, target, sizeof(target) - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        if (++links > FL_ROOT_MAX_LINKS)
            return -ELOOP;
        {
            char *next = NULL;
            if (asprintf(&next, "%s/%s", target, p) < 0)
                return -ENOMEM;
            if (target[0] == '/')
                done[0] = '\0';
            free(todo);
            todo = next;
            p = todo;
        }
    }
    if (asprintf(&result, "%.*s%s", (int)rootlen, root, *done ? done : "/") < 0)
        return -ENOMEM;
    *ret = result;
    return 0;
}

/* What a file that is not a regular file is, for messages. */
static const char *type_name(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFIFO:
        return "is a FIFO";
    case S_IFSOCK:
        return "is a socket";
    case S_IFCHR:
        return "is a character device";
    case S_IFBLK:
        return "is a block device";
    case S_IFDIR:
        return "is a directory";
    case S_IFLNK:
        return "is a symbolic link";
    default:
        return "is not a regular file";
    }
}

const char *fl_read_strerror(int err, mode_t type)
{
    switch (err) {
    case -FL_ENOTREG:
        return type ? type_name(type) : "is not a regular file";
    case -EISDIR:
        return "is a directory";
    case -EFBIG:
        return "larger than " FL_CONF_MAX_FILE_TEXT ": not read";
    case -E2BIG:
        return "not read: the files read before it already hold " FL_CONF_MAX_BYTES_TEXT
               " (the limit for one configuration)";
    case -EMLINK:
        return "not read: " FL_CONF_MAX_FILES_TEXT
               " files were already read (the limit for one configuration)";
    default:
        return strerror(-err);
    }
}

const char *fl_conf_seen_text(enum fl_conf_seen seen)
{
    switch (seen) {
    case FL_CONF_CYCLE:
        return "an include cycle: this file (same device and inode) is already being read; not read again";
    case FL_CONF_REPEAT:
        return "already read (same device and inode); not read again";
    case FL_CONF_NEW:
        break;
    }
    return "";
}

/*
 * Open @p path for reading: never blocks (O_NONBLOCK: a FIFO without a writer would block open()
 * and read() forever) and refuses anything but a regular file, before opening when stat() can tell
 * (so a device is never opened) and again on the open descriptor (the file may have been swapped).
 * @p nofollow: refuse a symbolic link in the last component. @return the descriptor or -errno
 * (-FL_ENOTREG, -EISDIR with @p st telling what it is).
 */
static int open_regular(const char *path, bool nofollow, struct stat *st)
{
    _cleanup_close_ int fd = -1;

    if ((nofollow ? lstat(path, st) : stat(path, st)) < 0)
        return -errno;
    if (!S_ISREG(st->st_mode))
        return S_ISDIR(st->st_mode) ? -EISDIR : -FL_ENOTREG;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0)
        return -errno;
    if (fstat(fd, st) < 0)
        return -errno;
    if (!S_ISREG(st->st_mode))
        return S_ISDIR(st->st_mode) ? -EISDIR : -FL_ENOTREG;
    return TAKE_FD(fd);
}

/* Read all of @p fd (at most @p max bytes; more is -EFBIG) into a NUL-terminated buffer. */
static int read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, allocated = 0;

    for (;;) {
        ssize_t n;

        if (allocated - len < 4097 && fl_array_grow(&buf, &allocated, len + 8192, 1) < 0)
            return -ENOMEM;
        n = fl_read_eintr(fd, buf + len, allocated - len - 1);
        if (n <= 0) {
            if (n < 0)
                return (int)n;
            break;
        }
        len += (size_t)n;
        if (len > max)
            return -EFBIG;
    }
    buf[len] = '\0';
    *ret = TAKE_PTR(buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

static int read_text(const char *path, bool nofollow, size_t max, char **ret, size_t *ret_len,
                     struct stat *st)
{
    _cleanup_close_ int fd = open_regular(path, nofollow, st);

    if (fd < 0)
        return fd;
    return read_all(fd, max, ret, ret_len);
}

int fl_read_text(const char *path, size_t max, char **ret)
{
    struct stat st;
    return read_text(path, false, max, ret, NULL, &st);
}

int fl_root_read_text(const char *root, const char *path, size_t max, char **ret)
{
    struct stat st;
    _cleanup_free_ char *full = NULL;
    int r;

    r = fl_root_path(root, path, &full);
    if (r < 0)
        return r;
    /* below a root every link is resolved already: one left in the last component is a race */
    return read_text(full, fl_root_set(root), max, ret, NULL, &st);
}

/* ---- configuration trees ---- */

void fl_conf_reader_init(struct fl_conf_reader *cr, const char *root)
{
    *cr = (struct fl_conf_reader){.root = root};
}

void fl_conf_reader_done(struct fl_conf_reader *cr)
{
    free(cr->ids);
    *cr = (struct fl_conf_reader){0};
}

int fl_conf_read(struct fl_conf_reader *cr, const char *path, char **ret, mode_t *ret_type,
                 enum fl_conf_seen *ret_seen)
{
    struct stat st = {0};
    _cleanup_free_ char *full = NULL, *text = NULL;
    _cleanup_close_ int fd = -1;
    size_t len = 0, left = FL_CONF_MAX_BYTES - cr->bytes;
    int r;

    *ret_type = 0;
    *ret_seen = FL_CONF_NEW;
    if (cr->attempts >= FL_CONF_MAX_FILES)
        return -EMLINK;
    cr->attempts++;
    r = fl_root_path(cr->root, path, &full);
    if (r < 0)
        return r;
    fd = open_regular(full, fl_root_set(cr->root), &st);
    if (fd == -FL_ENOTREG || fd == -EISDIR)
        *ret_type = st.st_mode & S_IFMT;
    if (fd < 0)
        return fd;
    /* known by identity before a byte is read: a repeated include costs nothing */
    for (size_t i = 0; i < cr->n_ids; i++)
        if (cr->ids[i].dev == st.st_dev && cr->ids[i].ino == st.st_ino) {
            *ret = NULL;
            *ret_seen = cr->ids[i].reading ? FL_CONF_CYCLE : FL_CONF_REPEAT;
            return 0;
        }
    r = read_all(fd, left < FL_CONF_MAX_FILE ? left : FL_CONF_MAX_FILE, &text, &len);
    if (r == -EFBIG && left < FL_CONF_MAX_FILE)
        return -E2BIG;
    if (r < 0)
        return r;
    if (fl_array_grow(&cr->ids, &cr->allocated_ids, cr->n_ids + 1, sizeof(*cr->ids)) < 0)
        return -ENOMEM;
    cr->ids[cr->n_ids] = (struct fl_conf_id){.dev = st.st_dev, .ino = st.st_ino, .reading = true};
    cr->bytes += len;
    *ret = TAKE_PTR(text);
    return (int)cr->n_ids++;
}

void fl_conf_read_end(struct fl_conf_reader *cr, int index)
{
    if (index >= 0 && (size_t)index < cr->n_ids)
        cr->ids[index].reading = false;
}

int fl_root_exists(const char *root, const char *path)
{
    _cleanup_free_ char *full = NULL;
    int r;

    r = fl_root_path(root, path, &full);
    if (r < 0)
        return r;
    /* fl_root_path() sets full whenever it returns 0; clang's analyzer assumes that a failed readlink()
     * may leave errno 0, which would make it return 0 without a path. */
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
    return access(full, F_OK) == 0 ? 1 : (errno == ENOENT || errno == ENOTDIR) ? 0 : -errno;
}
