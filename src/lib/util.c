/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int fl_parse_u64(const char *s, uint64_t *ret)
{
    uint64_t v = 0;

    if (!s || !*s)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        unsigned d;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

ssize_t fl_pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

bool fl_all_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    /* the first byte is zero and every byte equals the next: memcmp's speed, not a byte loop's
     * (a damaged header makes scan check up to 8 MiB) */
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}
