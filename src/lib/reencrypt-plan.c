/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Before fl_reencrypt() writes anything (the header backup included): refuse what would fail part-way,
 * and work out the plan a dry run shows. Each refusal here was once a failure after a write: a
 * read-only loop device failed at the first keyslot after a 16 MiB backup, a crafted UUID failed at
 * libcryptsetup's reencryption lock after the reencryption was initialised, a sparse image on a file
 * system that filled up stopped in the middle with "Input/output error".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fipsluks/backup.h"
#include "reencrypt-plan.h"
#include "target.h"

#define SAMPLE_BYTES (8u << 20)
#define SECTOR       4096u

int fl_reencrypt_preflight(const char *path, const char *header, bool dry_run, struct fl_why *why)
{
    uint64_t need = 0, avail = 0;
    int fd, dfd, r;

    fd = fl_target_lock(header ? header : path, dry_run ? FL_TARGET_PLAN : FL_TARGET_WRITE);
    if (fd < 0) {
        if (fd == -EROFS)
            fl_why_set(why, fd, "'%s' is read-only", header ? header : path);
        return fd;
    }
    if (header) { /* the data device is rewritten too */
        dfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        r = dfd < 0 ? -errno : fl_target_writable(dfd);
        if (dfd >= 0)
            close(dfd);
        if (r == -EROFS)
            fl_why_set(why, r, "'%s' is read-only", path);
        if (r < 0) {
            close(fd);
            return r;
        }
    }
    r = fl_target_room(path, &need, &avail);
    if (r == -ENOSPC)
        fl_why_set(
            why, r,
            "no space left for it: '%s' is a sparse image, and rewriting every byte allocates %llu MiB "
            "more, but its file system has %llu MiB free",
            path, (unsigned long long)(need >> 20), (unsigned long long)(avail >> 20));
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

/* @p s with every byte that is not printable ASCII as \xNN, into @p buf. */
static void escape(const char *s, char *buf, size_t size)
{
    size_t n = 0;

    for (; *s && n + 5 < size; s++) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[n++] = (char)c;
        else
            n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
    }
    buf[n] = '\0';
}

int fl_reencrypt_check_uuid(const struct fl_volume *v, struct fl_why *why)
{
    char shown[160];

    if (fl_uuid_valid(v->uuid))
        return 0;
    escape(v->uuid ? v->uuid : "", shown, sizeof(shown));
    return fl_why_set(
        why, -ENOTSUP,
        "its header UUID '%s' is not a UUID (8-4-4-4-12 hex digits): libcryptsetup names its "
        "reencryption lock after it and would fail once the reencryption is started, leaving the "
        "volume stuck in it. Give it a proper UUID first: cryptsetup luksUUID --uuid \"$(uuidgen)\" "
        "DEVICE (and update what names the old one: crypttab, fstab)",
        shown);
}

int fl_reencrypt_predict_ids(const struct fl_volume *v, size_t n, int *ret_new)
{
    bool taken[FL_MAX_KEYSLOTS] = {false};
    int next = 0;

    for (size_t k = 0; k < v->n_keyslots; k++)
        if (v->keyslots[k].id >= 0 && v->keyslots[k].id < FL_MAX_KEYSLOTS)
            taken[v->keyslots[k].id] = true;
    for (size_t i = 0; i < n; i++) {
        while (next < FL_MAX_KEYSLOTS && taken[next])
            next++;
        if (next == FL_MAX_KEYSLOTS)
            return -EXFULL;
        taken[next] = true;
        ret_new[i] = next;
    }
    return 0;
}

static int device_size(int fd, uint64_t *ret)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode)) {
        *ret = (uint64_t)st.st_size;
        return 0;
    }
    if (S_ISBLK(st.st_mode))
        return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
    return -ENOTBLK;
}

uint64_t fl_reencrypt_data_size(const char *path, uint64_t offset)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    uint64_t size = 0;

    if (fd < 0)
        return 0;
    if (device_size(fd, &size) < 0)
        size = 0;
    close(fd);
    return size > offset ? size - offset : 0;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds AES-256-XTS takes over @p buf, sector by sector as dm-crypt does, or < 0. */
static double time_xts(unsigned char *buf, size_t len)
{
    unsigned char key[64], iv[16] = {0};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-256-XTS", NULL);
    double t0, t = -1;
    int outl;

    if (!ctx || !c || RAND_bytes(key, sizeof(key)) != 1 || EVP_EncryptInit_ex2(ctx, c, key, NULL, NULL) != 1)
        goto out;
    t0 = now();
    for (size_t off = 0; off + SECTOR <= len; off += SECTOR) {
        uint64_t sector = off / 512;

        memcpy(iv, &sector, sizeof(sector));
        if (EVP_EncryptInit_ex2(ctx, NULL, NULL, iv, NULL) != 1 ||
            EVP_EncryptUpdate(ctx, buf + off, &outl, buf + off, (int)SECTOR) != 1)
            goto out;
    }
    t = now() - t0;
out:
    OPENSSL_cleanse(key, sizeof(key));
    EVP_CIPHER_free(c);
    EVP_CIPHER_CTX_free(ctx);
    return t;
}

int fl_reencrypt_measure(const char *path, uint64_t offset, uint64_t *ret_rate)
{
    uint64_t size = 0, len;
    unsigned char *buf = NULL;
    double t0, t_read, t_xts, total;
    ssize_t n;
    int fd, r;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    r = device_size(fd, &size);
    if (r < 0)
        goto out;
    len = size > offset ? size - offset : 0;
    len = len > SAMPLE_BYTES ? SAMPLE_BYTES : len - len % SECTOR;
    if (len == 0) {
        r = -EINVAL; /* no data to sample */
        goto out;
    }
    buf = malloc(len);
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    (void)posix_fadvise(fd, (off_t)offset, (off_t)len, POSIX_FADV_DONTNEED); /* the device, not the cache */
    t0 = now();
    for (uint64_t done = 0; done < len; done += (uint64_t)n) {
        n = pread(fd, buf + done, len - done, (off_t)(offset + done));
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            goto out;
        }
    }
    t_read = now() - t0;
    t_xts = time_xts(buf, len);
    if (t_xts < 0) {
        r = -ENOTSUP;
        goto out;
    }
    total = 2 * t_read + 2 * t_xts; /* read + write, decrypt + encrypt */
    *ret_rate = total > 0 ? (uint64_t)((double)len / total) : UINT64_MAX;
    r = 0;
out:
    free(buf);
    close(fd);
    return r;
}
