/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: arbitrary bytes as the start of a device image, scanned end to end the way
 * `fipsluks scan --json` and the text report do: fl_volume_read() (header copy, libcryptsetup's
 * crypt_load(), the JSON metadata), fl_policy_evaluate(), the text report and the JSON document.
 *
 * The bytes go into a memfd padded with zeros to FUZZ_IMAGE_SIZE (sparse), so that a LUKS2 header
 * whose keyslot areas lie beyond the input still fits its device. Random mutations almost always
 * break the LUKS2 header checksum, which stops libcryptsetup before the JSON is parsed; so an input
 * that starts with a LUKS2 binary header is scanned a second time with the checksums of both copies
 * recomputed over the mutated bytes, which lets the mutations reach the JSON and fipsluks' reading of it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "fipsluks/policy.h"
#include "fipsluks/volume.h"

#define FUZZ_IMAGE_SIZE (20u << 20)
#define FUZZ_MAX_INPUT  (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Recompute the sha256 checksum of the LUKS2 header copy at @p off of @p buf, if it looks like one. */
static void fix_checksum(uint8_t *buf, size_t size, size_t off)
{
    static const size_t csum_off = 448, csum_len = 64, alg_off = 72;
    uint64_t hdr_size;
    unsigned int len = 0;

    if (off + 4096 > size || (memcmp(buf + off, "LUKS\xba\xbe", 6) && memcmp(buf + off, "SKUL\xba\xbe", 6)))
        return;
    hdr_size = be64(buf + off + 8);
    if (hdr_size < 4096 || hdr_size > size - off || strncmp((const char *)buf + off + alg_off, "sha256", 7))
        return;
    memset(buf + off + csum_off, 0, csum_len);
    {
        uint8_t md[EVP_MAX_MD_SIZE];
        uint8_t *tmp = malloc(hdr_size);
        if (!tmp)
            return;
        memcpy(tmp, buf + off, hdr_size);
        if (EVP_Digest(tmp, hdr_size, md, &len, EVP_sha256(), NULL) == 1)
            memcpy(buf + off + csum_off, md, len);
        free(tmp);
    }
}

static void scan_bytes(const uint8_t *data, size_t size)
{
    struct fl_findings findings = {0};
    struct fl_volume *v = NULL;
    json_object *j;
    char path[64];
    int fd, r;

    fd = memfd_create("fuzz-image", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    if (ftruncate(fd, size > FUZZ_IMAGE_SIZE ? (off_t)size : FUZZ_IMAGE_SIZE) < 0)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    /* both ways scan reads a target: by name, and through a source opened ahead */
    if (size & 1) {
        struct fl_volume_source src;
        r = fl_volume_source_open(path, FL_READ_NOFOLLOW, &src);
        if (r == 0)
            r = fl_volume_read_source(&src, path, &v);
    } else {
        r = fl_volume_read(path, NULL, &v);
    }
    if (r < 0) {
        j = fl_json_volume_error(path, r);
        (void)json_object_to_json_string(j);
        json_object_put(j);
        (void)fl_volume_strerror(r);
    } else {
        r = fl_policy_evaluate(v, &findings);
        if (r >= 0) {
            (void)fl_findings_compatible(&findings);
            fl_print_volume(devnull, v, &findings);
            j = fl_json_volume(v, &findings);
            (void)json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
            json_object_put(j);
        }
        fl_findings_clear(&findings);
        fl_volume_free(v);
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed;
    uint64_t hdr_size;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (!devnull) {
        devnull = fopen("/dev/null", "w");
        if (!devnull)
            abort();
    }
    scan_bytes(data, size);

    if (size < 4096 || memcmp(data, "LUKS\xba\xbe\x00\x02", 8) != 0)
        return 0;
    fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    hdr_size = be64(fixed + 8);
    fix_checksum(fixed, size, 0);
    if (hdr_size >= 4096 && hdr_size < size)
        fix_checksum(fixed, size, (size_t)hdr_size);
    scan_bytes(fixed, size);
    free(fixed);
    return 0;
}
