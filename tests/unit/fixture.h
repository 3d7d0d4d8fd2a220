/* Test helpers shared by unit tests that build fixture trees (not a test itself: no test_ prefix). */
#ifndef FL_TEST_FIXTURE_H
#define FL_TEST_FIXTURE_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

/* Write @p text to @p root/@p rel, creating the directories on the way. */
static inline void fixture_write(const char *root, const char *rel, const char *text)
{
    char path[1024], parent[1024], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s%s", root, rel);
    snprintf(parent, sizeof(parent), "%s", path);
    for (slash = strchr(parent + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(parent, 0755);
        *slash = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static inline int fixture_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove @p dir and everything below it, never following a symbolic link: 0, or -1. */
static inline int fixture_rmtree(const char *dir)
{
    return nftw(dir, fixture_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Make @p path a fresh file of @p size bytes, all zero. */
static inline void fixture_image(const char *path, uint64_t size)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

/* Write @p len bytes of @p buf at @p off into the file @p path. */
static inline void fixture_pwrite(const char *path, const void *buf, size_t len, off_t off)
{
    int fd = open(path, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

/*
 * Make @p path a new 20 MiB LUKS2 image (AES-XTS, 512-bit key, PBKDF2-SHA256 at 1000 iterations)
 * whose keyslot 0 opens with @p secret. @p ret (optional) gets the loaded device, for the caller to
 * read and crypt_free(). 0, or -1.
 */
static inline int fixture_luks2(const char *path, const char *secret, struct crypt_device **ret)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 p2 = {.pbkdf = &pbkdf, .sector_size = 512};
    struct crypt_device *cd;
    int fd;

    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, 20 << 20) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    if (crypt_init(&cd, path) < 0)
        return -1;
    if (crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &p2) < 0 ||
        crypt_keyslot_add_by_volume_key(cd, 0, NULL, 64, secret, strlen(secret)) != 0) {
        crypt_free(cd);
        return -1;
    }
    if (ret)
        *ret = cd;
    else
        crypt_free(cd);
    return 0;
}

#endif
