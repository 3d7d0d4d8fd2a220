/*
 * fl-data-check: after a crash test's rerun, check a volume the way an operator would, in one process.
 *
 *   fl-data-check [--header FILE] --length BYTES [--seed S] IMAGE KEY-FILE...
 *
 * Every KEY-FILE (the secret is the file's exact bytes) must open the volume through libcryptsetup, which
 * must load it as not in reencryption; then the first LENGTH bytes of its data area must decrypt, under
 * the volume key the first KEY-FILE unlocks, to the pattern tests/tools/fl-xts-pattern writes (SHAKE-256
 * of the seed, "fipsluks" by default). Only aes-xts-plain64 is decrypted (the cipher fipsluks reencrypt
 * writes); each sector is one XTS data unit whose tweak is its offset in the data area in 512-byte units.
 *
 * It is fl-xts-pattern check + cryptsetup open --test-passphrase + luksDump --dump-volume-key in one
 * process, so that a crash sweep can check every one of its hundreds of crash points in time.
 * Exit status: 0 all good, 1 a check failed (one line on stderr says which), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/evp.h>

static void quiet(int level, const char *msg, void *usrptr)
{
}

static int fail(const char *image, const char *what)
{
    fprintf(stderr, "fl-data-check: %s: %s\n", image, what);
    return 1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(4096);

    *len = 0;
    if (!f || !buf) {
        if (f)
            fclose(f);
        free(buf);
        return NULL;
    }
    *len = fread(buf, 1, 4096, f);
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    const char *header = NULL, *seed = "fipsluks", *image;
    unsigned long long length = 0;
    struct crypt_device *cd = NULL;
    unsigned char key[64], iv[16];
    size_t key_len = sizeof(key), sector;
    unsigned char *plain, *data;
    uint64_t offset;
    int i, fd, rc = 0;

    for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc)
            return 2;
        if (!strcmp(argv[i], "--header"))
            header = argv[i + 1];
        else if (!strcmp(argv[i], "--length"))
            length = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--seed"))
            seed = argv[i + 1];
        else
            return 2;
    }
    if (argc - i < 2 || !length) {
        fprintf(stderr, "usage: fl-data-check [--header FILE] --length BYTES [--seed S] IMAGE KEY-FILE...\n");
        return 2;
    }
    image = argv[i++];
    crypt_set_log_callback(NULL, quiet, NULL);
    if ((header ? crypt_init_data_device(&cd, header, image) : crypt_init(&cd, image)) < 0 ||
        crypt_load(cd, CRYPT_LUKS, NULL) < 0)
        return fail(image, "libcryptsetup cannot load the header");
    if (!strcmp(crypt_get_type(cd), CRYPT_LUKS2) && crypt_reencrypt_status(cd, NULL) != CRYPT_REENCRYPT_NONE)
        return fail(image, "still in reencryption");
    for (int k = i; k < argc; k++) {
        size_t len;
        char *secret = slurp(argv[k], &len);

        if (!secret || crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, secret, len, 0) < 0) {
            fprintf(stderr, "fl-data-check: %s: key file %s does not open it\n", image, argv[k]);
            free(secret);
            return 1;
        }
        if (k == i && crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)key, &key_len, secret, len) < 0) {
            free(secret);
            return fail(image, "no volume key");
        }
        free(secret);
    }
    if (strcmp(crypt_get_cipher(cd), "aes") || strcmp(crypt_get_cipher_mode(cd), "xts-plain64") ||
        key_len != 64)
        return fail(image, "not aes-xts-plain64 with a 512-bit key");
    sector = (size_t)crypt_get_sector_size(cd);
    offset = crypt_get_data_offset(cd) * 512;
    crypt_free(cd);
    if (length % sector)
        return fail(image, "length is not a multiple of the sector size");
    plain = malloc(length);
    data = malloc(length);
    fd = open(image, O_RDONLY);
    if (!plain || !data || fd < 0 || pread(fd, data, length, (off_t)offset) != (ssize_t)length)
        rc = fail(image, "cannot read the data area");
    if (fd >= 0)
        close(fd);
    if (rc == 0) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();

        if (!m || EVP_DigestInit_ex(m, EVP_shake256(), NULL) != 1 ||
            EVP_DigestUpdate(m, seed, strlen(seed)) != 1 || EVP_DigestFinalXOF(m, plain, length) != 1)
            rc = fail(image, "SHAKE-256 failed");
        EVP_MD_CTX_free(m);
    }
    for (uint64_t off = 0; rc == 0 && off < length; off += sector) {
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int out = 0, fin = 0;
        uint64_t tweak = off / 512;

        memset(iv, 0, sizeof(iv));
        for (int b = 0; b < 8; b++)
            iv[b] = (unsigned char)(tweak >> (8 * b));
        if (!c || EVP_DecryptInit_ex(c, EVP_aes_256_xts(), NULL, key, iv) != 1 ||
            EVP_DecryptUpdate(c, data + off, &out, data + off, (int)sector) != 1 ||
            EVP_DecryptFinal_ex(c, data + off + out, &fin) != 1)
            rc = fail(image, "AES-XTS failed");
        EVP_CIPHER_CTX_free(c);
        if (rc == 0 && memcmp(data + off, plain + off, sector)) {
            fprintf(stderr,
                    "fl-data-check: %s: the sector at data offset %llu does not decrypt to the pattern\n",
                    image, (unsigned long long)off);
            rc = 1;
        }
    }
    free(plain);
    free(data);
    return rc;
}
