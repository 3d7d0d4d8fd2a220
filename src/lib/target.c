/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The volume about to be written: can it be written, is anyone else of ours writing it, will it fit.
 * Asked before anything is written, the header backup included: a refusal after the backup leaves a
 * backup per retry, and a refusal after the first header write leaves a volume half changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "target.h"

int fl_target_writable(int fd)
{
    struct statvfs sv;
    struct stat st;
    int ro = 0, flags = 0;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKROGET, &ro) < 0)
            return -errno;
        return ro ? -EROFS : 0;
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    /* Not every file system has these flags (tmpfs before Linux 6.0): then nothing is immutable there. */
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL)))
        return -EROFS;
    if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
        return -EROFS;
    return 0;
}

int fl_target_lock(const char *dev, enum fl_target_mode mode)
{
    bool write = mode == FL_TARGET_WRITE;
    struct flock lk = {.l_type = write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET};
    int fd, r;

    fd = open(dev, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno == EROFS || (write && errno == EPERM) ? -EROFS : -errno; /* EPERM: immutable */
    r = mode == FL_TARGET_READ ? 0 : fl_target_writable(fd);
    /* An OFD lock: libcryptsetup's own flock() on the same file does not conflict with it. */
    if (r == 0 && fcntl(fd, F_OFD_SETLK, &lk) < 0)
        r = errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

int fl_target_room(const char *path, uint64_t *ret_need, uint64_t *ret_free)
{
    struct statvfs sv;
    struct stat st;
    uint64_t allocated, need, avail;

    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return 0;
    allocated = (uint64_t)st.st_blocks * 512;
    if (allocated >= (uint64_t)st.st_size)
        return 0; /* every byte has its block: rewriting them needs none more */
    if (statvfs(path, &sv) < 0)
        return -errno;
    need = (uint64_t)st.st_size - allocated;
    avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (avail >= need)
        return 0;
    if (ret_need)
        *ret_need = need;
    if (ret_free)
        *ret_free = avail;
    return -ENOSPC;
}

bool fl_target_fs_full(const char *path)
{
    struct statvfs sv;
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && statvfs(path, &sv) == 0 && sv.f_bavail == 0;
}
