/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LUKS1 to LUKS2, in place, after a header backup (see luks1.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "fipsluks/format.h"
#include "fipsluks/luks1.h"
#include "fipsluks/migrate.h"

/* -EBUSY when @p path is in use, with the reason in @p res->why. */
static int check_busy(const char *path, struct fl_luks1_result *res)
{
    char *why = NULL;
    int r = fl_format_check_busy(path, &why);

    if (r == -EBUSY)
        snprintf(res->why, sizeof(res->why), "'%s': %s", path, why ? why : "in use");
    free(why);
    return r;
}

/* Bytes of the LUKS1 header region: up to the data offset, or the whole detached header file. */
static int header_bytes(struct crypt_device *cd, int fd, uint64_t *ret)
{
    uint64_t off = crypt_get_data_offset(cd) * 512;
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode) && (off == 0 || (uint64_t)st.st_size < off))
        off = (uint64_t)st.st_size;
    if (off < 4096)
        return -EINVAL;
    *ret = off;
    return 0;
}

int fl_luks1_convert(const char *path, const char *header, const char *backup, const char *backup_dir,
                     struct fl_luks1_result *res)
{
    const char *hdev = header ? header : path;
    struct crypt_device *cd = NULL;
    uint64_t bytes = 0;
    int fd = -1, backup_fd = -1, r;

    memset(res, 0, sizeof(*res));
    r = check_busy(path, res);
    if (r == 0 && header)
        r = check_busy(header, res);
    if (r < 0)
        return r;
    r = header ? crypt_init_data_device(&cd, header, path) : crypt_init(&cd, path);
    if (r < 0)
        return r;
    r = crypt_load(cd, CRYPT_LUKS1, NULL);
    if (r < 0) {
        r = crypt_load(cd, CRYPT_LUKS2, NULL) == 0 ? -EALREADY : -EMEDIUMTYPE;
        goto out;
    }
    fd = open(hdev, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    r = header_bytes(cd, fd, &bytes);
    if (r < 0)
        goto out;
    r = fl_backup_header(fd, bytes, crypt_get_uuid(cd), backup, backup_dir, res->backup, sizeof(res->backup),
                         &backup_fd);
    if (r < 0) {
        res->backup[0] = '\0';
        goto out;
    }
    r = crypt_convert(cd, CRYPT_LUKS2, NULL);
    if (r < 0) {
        /* crypt_convert() checks before it writes; should it have written and failed, put LUKS1 back */
        struct crypt_device *check = NULL;
        bool intact =
            (header ? crypt_init_data_device(&check, header, path) : crypt_init(&check, path)) == 0 &&
            crypt_load(check, CRYPT_LUKS1, NULL) == 0;

        if (!intact && check)
            (void)crypt_header_restore(check, CRYPT_LUKS1, res->backup);
        crypt_free(check);
    }
out:
    if (backup_fd >= 0)
        close(backup_fd);
    if (fd >= 0)
        close(fd);
    crypt_free(cd);
    return r;
}
