/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* On-disk LUKS constants that libcryptsetup does not export. Internal to the core library. */
#ifndef FL_LUKS_DISK_H
#define FL_LUKS_DISK_H

#include <stdint.h>

#define FL_LUKS_MAGIC_LEN 6
/* The primary header (LUKS1 and LUKS2) starts with this magic. */
#define FL_LUKS_MAGIC_PRIMARY "LUKS\xba\xbe"
/* A LUKS2 secondary header copy starts with this magic. */
#define FL_LUKS_MAGIC_SECONDARY "SKUL\xba\xbe"

/* LUKS1 binary header: field offsets (big-endian integers). */
#define FL_LUKS1_HEADER_SIZE           592
#define FL_LUKS1_OFF_HASH_SPEC         72
#define FL_LUKS1_HASH_SPEC_LEN         32
#define FL_LUKS1_OFF_DIGEST_ITERATIONS 164

/* LUKS2 binary header: size of one copy (binary header + JSON area) at offset 8. */
#define FL_LUKS2_OFF_HDR_SIZE       8
#define FL_LUKS2_BINARY_HEADER_SIZE 4096
/* A LUKS2 secondary header sits at one of these offsets: 16 KiB .. 4 MiB, powers of two. */
#define FL_LUKS2_MIN_HDR_SIZE (16u * 1024u)
#define FL_LUKS2_MAX_HDR_SIZE (4u * 1024u * 1024u)

static inline uint64_t fl_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline uint32_t fl_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint16_t fl_be16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

#endif
