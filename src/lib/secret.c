/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "fipsluks/secret.h"

int fl_secret_new(const void *buf, size_t len, struct fl_secret **ret)
{
    struct fl_secret *s = crypt_safe_alloc(sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->data = crypt_safe_alloc(len + 1);
    if (!s->data) {
        crypt_safe_free(s);
        return -ENOMEM;
    }
    if (buf && len)
        memcpy(s->data, buf, len);
    s->data[len] = '\0';
    s->len = len;
    *ret = s;
    return 0;
}

void fl_secret_free(struct fl_secret *s)
{
    if (!s)
        return;
    crypt_safe_free(s->data); /* wipes */
    crypt_safe_free(s);
}

int fl_secret_equal(const struct fl_secret *a, const struct fl_secret *b)
{
    unsigned char diff = 0;

    if (a->len != b->len)
        return 0;
    for (size_t i = 0; i < a->len; i++)
        diff |= (unsigned char)(a->data[i] ^ b->data[i]);
    return diff == 0;
}

/* Skip @p offset bytes of a stream that may not be seekable (a pipe). */
static int skip(int fd, uint64_t offset)
{
    char buf[4096];

    if (offset == 0 || lseek(fd, (off_t)offset, SEEK_CUR) >= 0)
        return 0;
    while (offset > 0) {
        ssize_t n = read(fd, buf, offset < sizeof(buf) ? (size_t)offset : sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EINVAL; /* offset past the end */
        offset -= (uint64_t)n;
    }
    explicit_bzero(buf, sizeof(buf));
    return 0;
}

int fl_secret_read_file(const char *path, uint64_t offset, uint64_t size, struct fl_secret **ret)
{
    unsigned notes;

    return fl_secret_read_key_file(path, offset, size, ret, &notes);
}

int fl_secret_short(const struct fl_secret *s)
{
    return s->len < FL_SECRET_MIN_PASSPHRASE;
}

/*
 * The buffer a key file is read into starts small and doubles as the file proves longer: every byte
 * of it is locked and wiped memory (crypt_safe_alloc()), and the limit is 8 MiB, which a buffer of
 * the limit's size made resident for every key file (8 MiB per --key-file of a migrate).
 */
#define KEY_FILE_BUF_START 4096u

int fl_secret_read_key_file(const char *path, uint64_t offset, uint64_t size, struct fl_secret **ret,
                            unsigned *ret_notes)
{
    size_t limit = size ? (size_t)size : FL_SECRET_MAX_SIZE, len = 0, allocated;
    struct stat st;
    char *buf = NULL;
    int fd, r;

    if (size > FL_SECRET_MAX_SIZE)
        return -EFBIG;
    fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : STDIN_FILENO;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        r = -EISDIR;
        goto out;
    }
    r = skip(fd, offset);
    if (r < 0)
        goto out;
    /* One byte more than the limit tells a too-large file from one that fits exactly. */
    allocated = limit + 1 < KEY_FILE_BUF_START ? limit + 1 : KEY_FILE_BUF_START;
    buf = crypt_safe_alloc(allocated);
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    while (len <= limit) {
        ssize_t n;

        if (len == allocated) {
            size_t grown = allocated > (limit + 1) / 2 ? limit + 1 : allocated * 2;
            char *bigger = crypt_safe_realloc(buf, grown); /* copies, then wipes the old buffer */
            if (!bigger) {
                r = -ENOMEM;
                goto out;
            }
            buf = bigger;
            allocated = grown;
        }
        n = read(fd, buf + len, allocated - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > limit && !size) {
        r = -EFBIG;
        goto out;
    }
    if (size)
        len = len > limit ? limit : len;
    if (len == 0 || (size && len < size)) {
        r = -EINVAL;
        goto out;
    }
    r = fl_secret_new(buf, len, ret);
    if (r < 0)
        goto out;
    *ret_notes = (S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH)) ? FL_KEY_FILE_EXPOSED : 0) |
                 (fl_secret_short(*ret) ? FL_KEY_FILE_SHORT : 0);
out:
    crypt_safe_free(buf); /* wipes */
    if (fd != STDIN_FILENO)
        close(fd);
    return r;
}
