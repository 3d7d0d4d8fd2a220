/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/sectors.c: sectors of a LUKS2 image made by libcryptsetup, written by
 * fl_sector_encrypt() and read back by an independent AES-XTS (OpenSSL called here) and through
 * cryptsetup's own view of the volume (its cipher, sector size, data offset and volume key); files
 * encrypted by `cryptsetup reencrypt --encrypt` (libcryptsetup's own copy of dm-crypt's IV modes)
 * in ten cipher, key and sector sizes, decrypted here; the
 * OpenSSL and kernel (AF_ALG) backends against each other; each IV mode against a computation by
 * hand; the refusals; samples taken and checked on an image file, with one sampled sector and one
 * sector outside the sample changed on disk; the samples' JSON and malformed JSON; the digest of
 * the whole data area.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_alg.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/reencrypt.h"
#include "fixture.h"
#include "sectors.h"

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef SOL_ALG
#define SOL_ALG 279
#endif

#define MIB        (1024u * 1024u)
#define IMAGE_SIZE (20 * MIB) /* LUKS2's default 16 MiB data offset, then 4 MiB of data */

static char dir[] = "/tmp/fl-test-sectors.XXXXXX";
static char img[sizeof(dir) + 32];

static void quiet(int level, const char *msg, void *usrptr)
{
}

/* The plaintext of the sector at byte @p off of the data. */
static void plaintext(uint64_t off, unsigned char *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(((off / 512) * 131 + i * 7) ^ (i >> 8) ^ (off >> 20));
}

static void pattern(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seed * 37 + i * 11 + (i >> 5));
}

/* One OpenSSL cipher call on @p len bytes in place, no padding (the test's own, independent code). */
static void ossl(const char *name, const unsigned char *key, const unsigned char *iv, unsigned char *buf,
                 size_t len, int enc)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out = 0, fin = 0;

    assert_non_null(c);
    assert_non_null(ctx);
    assert_int_equal(EVP_CipherInit_ex2(ctx, c, key, iv, enc, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_set_padding(ctx, 0), 1);
    assert_int_equal(EVP_CipherUpdate(ctx, buf, &out, buf, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(ctx, buf + out, &fin), 1);
    assert_int_equal(out + fin, (int)len);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
}

/* AES-XTS (key_len 32 or 64) with the plain64 IV of 512-byte sector number @p tweak. */
static void xts(const unsigned char *key, size_t key_len, uint64_t tweak, unsigned char *buf, size_t len,
                int enc)
{
    unsigned char iv[16] = {0};

    for (int i = 0; i < 8; i++)
        iv[i] = (unsigned char)(tweak >> (8 * i));
    ossl(key_len == 32 ? "aes-128-xts" : "aes-256-xts", key, iv, buf, len, enc);
}

static void sha256(const void *buf, size_t len, unsigned char out[32])
{
    assert_int_equal(EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL), 1);
}

static struct fl_sector_cipher *cipher(const char *spec, const unsigned char *key, size_t key_len,
                                       uint32_t sector_size, enum fl_sector_backend backend)
{
    struct fl_sector_cipher *c = NULL;

    assert_int_equal(fl_sector_cipher_new_backend(spec, key, key_len, sector_size, backend, &c), 0);
    assert_non_null(c);
    return c;
}

/* ---- a simulated AF_ALG ---------------------------------------------------------------------------
 * This machine's kernel may have no AF_ALG (socket() fails with EAFNOSUPPORT). So that the kernel
 * backend's protocol (bind, ALG_SET_KEY, accept, sendmsg with ALG_SET_OP and ALG_SET_IV control
 * messages, read) is exercised anyway, the socket calls of this test binary are wrapped
 * (-Wl,--wrap=, tests/CMakeLists.txt): while `fake_alg` is set and the real socket() has no
 * AF_ALG, a table of fake descriptors answers as the kernel's algif_skcipher does (unknown
 * algorithm: ENOENT at bind; an IV of another size than the algorithm's, or none: EINVAL at
 * sendmsg), computing AES xts/cbc/ecb with OpenSSL. It checks the protocol and the IVs sent, not
 * the kernel's ciphers: the real kernel is used whenever it has AF_ALG.
 */
int __real_socket(int domain, int type, int protocol);
int __real_bind(int fd, const struct sockaddr *addr, socklen_t len);
int __real_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int __real_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
ssize_t __real_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t __real_read(int fd, void *buf, size_t len);
int __real_close(int fd);
int __wrap_socket(int domain, int type, int protocol);
int __wrap_bind(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
ssize_t __wrap_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t __wrap_read(int fd, void *buf, size_t len);
int __wrap_close(int fd);

static bool fake_alg;    /* simulate AF_ALG when the kernel has none */
static int fake_alg_ops; /* sendmsg() calls the simulation answered */

#define FAKE_MAX 16
static struct fake {
    bool used, op;
    char chain[8];
    size_t iv_len;
    unsigned char key[64];
    size_t key_len;
    unsigned char out[4096];
    size_t out_len, out_pos;
} fakes[FAKE_MAX];
static int fake_fd[FAKE_MAX];

static struct fake *fake_of(int fd)
{
    for (int i = 0; i < FAKE_MAX; i++)
        if (fakes[i].used && fake_fd[i] == fd)
            return &fakes[i];
    return NULL;
}

static int fake_new(void)
{
    for (int i = 0; i < FAKE_MAX; i++)
        if (!fakes[i].used) {
            int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

            if (fd < 0)
                return -1;
            memset(&fakes[i], 0, sizeof(fakes[i]));
            fakes[i].used = true;
            fake_fd[i] = fd;
            return fd;
        }
    errno = EMFILE;
    return -1;
}

int __wrap_socket(int domain, int type, int protocol)
{
    int fd = __real_socket(domain, type, protocol);

    if (fd < 0 && errno == EAFNOSUPPORT && domain == AF_ALG && fake_alg)
        return fake_new();
    return fd;
}

int __wrap_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct fake *f = fake_of(fd);
    const struct sockaddr_alg *sa = (const struct sockaddr_alg *)(const void *)addr;

    if (!f)
        return __real_bind(fd, addr, len);
    assert_int_equal(len, sizeof(*sa));
    assert_int_equal(sa->salg_family, AF_ALG);
    assert_string_equal((const char *)sa->salg_type, "skcipher");
    if (strcmp((const char *)sa->salg_name, "xts(aes)") && strcmp((const char *)sa->salg_name, "cbc(aes)") &&
        strcmp((const char *)sa->salg_name, "ecb(aes)")) {
        errno = ENOENT;
        return -1;
    }
    memcpy(f->chain, sa->salg_name, 3);
    f->iv_len = strcmp(f->chain, "ecb") ? 16 : 0;
    return 0;
}

int __wrap_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    struct fake *f = fake_of(fd);

    if (!f)
        return __real_setsockopt(fd, level, name, val, len);
    assert_int_equal(level, SOL_ALG);
    assert_int_equal(name, ALG_SET_KEY);
    if (strcmp(f->chain, "xts") ? len != 16 && len != 24 && len != 32 : len != 32 && len != 64) {
        errno = EINVAL;
        return -1;
    }
    memcpy(f->key, val, len);
    f->key_len = len;
    return 0;
}

int __wrap_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    struct fake *f = fake_of(fd), *op;
    int ofd;

    if (!f)
        return __real_accept4(fd, addr, len, flags);
    if (!f->key_len) {
        errno = ENOKEY;
        return -1;
    }
    ofd = fake_new();
    if (ofd < 0)
        return -1;
    op = fake_of(ofd);
    if (!op) {
        errno = EMFILE;
        return -1;
    }
    memcpy(op->chain, f->chain, sizeof(op->chain));
    memcpy(op->key, f->key, f->key_len);
    op->key_len = f->key_len;
    op->iv_len = f->iv_len;
    op->op = true;
    return ofd;
}

ssize_t __wrap_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct fake *f = fake_of(fd);
    struct msghdr m;
    char name[32];
    const unsigned char *iv = NULL;
    int op = -1;
    size_t len;

    if (!f)
        return __real_sendmsg(fd, msg, flags);
    assert_true(f->op);
    assert_int_equal(flags, 0);
    m = *msg;
    /* as af_alg_cmsg_send(): SOL_ALG messages only, each of its exact length */
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
        uint32_t u;

        assert_int_equal(cm->cmsg_level, SOL_ALG);
        if (cm->cmsg_type == ALG_SET_OP) {
            assert_int_equal(cm->cmsg_len, CMSG_LEN(sizeof(uint32_t)));
            memcpy(&u, CMSG_DATA(cm), sizeof(u));
            op = (int)u;
        } else if (cm->cmsg_type == ALG_SET_IV) {
            memcpy(&u, CMSG_DATA(cm), sizeof(u));
            assert_true(cm->cmsg_len >= CMSG_LEN(sizeof(u) + u));
            if (u != f->iv_len) {
                errno = EINVAL;
                return -1;
            }
            iv = CMSG_DATA(cm) + sizeof(u);
        } else
            fail_msg("control message %d", cm->cmsg_type);
    }
    assert_true(op == ALG_OP_ENCRYPT || op == ALG_OP_DECRYPT);
    if (f->iv_len && !iv) {
        errno = EINVAL;
        return -1;
    }
    assert_int_equal(msg->msg_iovlen, 1);
    len = msg->msg_iov[0].iov_len;
    assert_true(len <= sizeof(f->out));
    if (len % 16) {
        errno = EINVAL;
        return -1;
    }
    memcpy(f->out, msg->msg_iov[0].iov_base, len);
    snprintf(name, sizeof(name), "aes-%zu-%s", f->key_len * 8 / (strcmp(f->chain, "xts") ? 1 : 2), f->chain);
    ossl(name, f->key, iv, f->out, len, op == ALG_OP_ENCRYPT);
    f->out_len = len;
    f->out_pos = 0;
    fake_alg_ops++;
    return (ssize_t)len;
}

ssize_t __wrap_read(int fd, void *buf, size_t len)
{
    struct fake *f = fake_of(fd);
    size_t n;

    if (!f)
        return __real_read(fd, buf, len);
    /* in two parts when it can, as a socket may */
    n = f->out_len - f->out_pos;
    if (n > 16 && f->out_pos == 0)
        n /= 2;
    if (n > len)
        n = len;
    memcpy(buf, f->out + f->out_pos, n);
    f->out_pos += n;
    return (ssize_t)n;
}

int __wrap_close(int fd)
{
    struct fake *f = fake_of(fd);

    if (f)
        memset(f, 0, sizeof(*f));
    return __real_close(fd);
}

static bool af_alg_available(void)
{
    int fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(dir));
    snprintf(img, sizeof(img), "%s/img", dir);
    crypt_set_log_callback(NULL, quiet, NULL);
    return 0;
}

/* the simulation ends with the test, failed or not */
static int fake_alg_off(void **state)
{
    fake_alg = false;
    return 0;
}

static int teardown(void **state)
{
    fixture_rmtree(dir);
    return 0;
}

/* ---- per-sector crypto --------------------------------------------------------------------------- */

/* A LUKS2 image (aes-xts-plain64, 4096-byte sectors, our volume key), its data written sector by
   sector with fl_sector_encrypt(). Returns the data offset and size. */
static void make_volume(const unsigned char *vk, size_t vk_len, uint64_t *ret_offset, uint64_t *ret_size)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 p2 = {.pbkdf = &pbkdf, .sector_size = 4096};
    struct crypt_device *cd;
    struct fl_sector_cipher *c;
    unsigned char buf[4096];
    uint64_t off, size;
    int fd;

    fixture_image(img, IMAGE_SIZE);
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, (const char *)vk, vk_len, &p2),
                     0);
    assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 0, (const char *)vk, vk_len, "pw", 2), 0);
    off = crypt_get_data_offset(cd) * 512;
    crypt_free(cd);
    size = IMAGE_SIZE - off;
    assert_true(size >= MIB);

    c = cipher("aes-xts-plain64", vk, vk_len, 4096, FL_SECTOR_ANY);
    fd = open(img, O_WRONLY);
    assert_true(fd >= 0);
    for (uint64_t o = 0; o < size; o += sizeof(buf)) {
        plaintext(o, buf, sizeof(buf));
        assert_int_equal(fl_sector_encrypt(c, fl_sector_iv(o, 0), buf), 0);
        assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)(off + o)), (ssize_t)sizeof(buf));
    }
    close(fd);
    fl_sector_cipher_free(c);
    *ret_offset = off;
    *ret_size = size;
}

static void test_known_answer_luks2(void **state)
{
    unsigned char vk[64], want[4096], buf[4096], key[64], digest[32], whole[32];
    char spec[64];
    size_t key_len = sizeof(key);
    uint64_t off, size;
    struct crypt_device *cd;
    struct fl_sector_cipher *c;
    unsigned char *all;
    int fd;

    pattern(vk, sizeof(vk), 1);
    make_volume(vk, sizeof(vk), &off, &size);
    fd = open(img, O_RDONLY);
    assert_true(fd >= 0);

    /* the independent AES-XTS: the IV of a 4096-byte sector is its offset / 512 */
    for (uint64_t o = 0; o < size; o += 4096) {
        assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)(off + o)), (ssize_t)sizeof(buf));
        plaintext(o, want, sizeof(want));
        assert_memory_not_equal(buf, want, sizeof(buf));
        xts(vk, sizeof(vk), o / 512, buf, sizeof(buf), 0);
        assert_memory_equal(buf, want, sizeof(buf));
    }
    /* not the 4096-byte sector number (only sector 0 has the same IV either way) */
    assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)(off + 4096)), (ssize_t)sizeof(buf));
    xts(vk, sizeof(vk), 1, buf, sizeof(buf), 0);
    plaintext(4096, want, sizeof(want));
    assert_memory_not_equal(buf, want, sizeof(buf));

    /* cryptsetup's own view: its cipher spec, sector size, data offset and volume key */
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    assert_int_equal(crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)key, &key_len, "pw", 2), 0);
    assert_int_equal(key_len, sizeof(vk));
    assert_memory_equal(key, vk, sizeof(vk));
    snprintf(spec, sizeof(spec), "%s-%s", crypt_get_cipher(cd), crypt_get_cipher_mode(cd));
    assert_string_equal(spec, "aes-xts-plain64");
    assert_int_equal(crypt_get_sector_size(cd), 4096);
    assert_int_equal(crypt_get_data_offset(cd) * 512, off);
    assert_int_equal(crypt_get_iv_offset(cd), 0);
    c = cipher(spec, key, key_len, (uint32_t)crypt_get_sector_size(cd), FL_SECTOR_ANY);
    crypt_free(cd);
    for (uint64_t o = 0; o < size; o += 37 * 4096) {
        assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)(off + o)), (ssize_t)sizeof(buf));
        assert_int_equal(fl_sector_decrypt(c, fl_sector_iv(o, 0), buf), 0);
        plaintext(o, want, sizeof(want));
        assert_memory_equal(buf, want, sizeof(buf));
    }

    /* the whole data area's digest is SHA-256 of the plaintext written; another IV tweak is not */
    all = malloc(size);
    assert_non_null(all);
    for (uint64_t o = 0; o < size; o += 4096)
        plaintext(o, all + o, 4096);
    sha256(all, size, whole);
    free(all);
    assert_int_equal(fl_data_digest(fd, off, size, 0, 4096, c, digest), 0);
    assert_memory_equal(digest, whole, 32);
    assert_int_equal(fl_data_digest(fd, off, size, 8, 4096, c, digest), 0);
    assert_memory_not_equal(digest, whole, 32);
    /* beyond the end of the image: a short read */
    assert_int_equal(fl_data_digest(fd, off, size + 4096, 0, 4096, c, digest), -EIO);
    assert_int_equal(fl_data_digest(fd, off, size - 512, 0, 4096, c, digest), -EINVAL);
    assert_int_equal(fl_data_digest(fd, off, size, 0, 512, c, digest), -EINVAL);
    fl_sector_cipher_free(c);
    close(fd);
}

/* Run @p argv (no shell), its output to /dev/null: its exit status, or 127 when it cannot run. */
static int run(const char *const argv[])
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status, r;

    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        return 127;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* libcryptsetup's own sector crypto (lib/crypto_backend/crypto_storage.c, its userspace copy of
   dm-crypt's IV generators) encrypts a file in place: `cryptsetup reencrypt --encrypt` with a
   detached header, offline. fl_sector_decrypt() with the volume key and spec read back from that
   header must give the plaintext, and fl_sector_encrypt() of the plaintext the bytes on disk. */
static void test_cryptsetup_encrypts(void **state)
{
    static const struct {
        const char *spec, *key_bits, *sector_size;
    } specs[] = {
        {"aes-xts-plain64", "512", "4096"},      {"aes-xts-plain64", "256", "512"},
        {"aes-cbc-essiv:sha256", "256", "4096"}, {"aes-cbc-essiv:sha256", "128", "512"},
        {"aes-xts-essiv:sha256", "256", "512"},  {"aes-xts-plain64be", "512", "512"},
        {"aes-cbc-plain", "128", "4096"},        {"aes-cbc-plain64", "256", "1024"},
        {"aes-cbc-null", "256", "1024"},         {"aes-ecb", "256", "2048"},
    };
    const size_t size = MIB;
    char data[sizeof(dir) + 16], hdr[sizeof(dir) + 16], pw[sizeof(dir) + 16], spec[64];
    unsigned char *plain = malloc(size), *disk = malloc(size), vk[64], digest[32], want[32];
    size_t vk_len;
    int fd;

    assert_non_null(plain);
    assert_non_null(disk);
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(hdr, sizeof(hdr), "%s/hdr", dir);
    snprintf(pw, sizeof(pw), "%s/pw", dir);
    fixture_image(pw, 0);
    fixture_pwrite(pw, "pw", 2, 0);
    for (size_t o = 0; o < size; o += 512)
        plaintext(o, plain + o, 512);
    sha256(plain, size, want);

    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const char *const argv[] = {"cryptsetup",
                                    "reencrypt",
                                    "--encrypt",
                                    "--type",
                                    "luks2",
                                    "--cipher",
                                    specs[i].spec,
                                    "--key-size",
                                    specs[i].key_bits,
                                    "--sector-size",
                                    specs[i].sector_size,
                                    "--header",
                                    hdr,
                                    "--force-offline-reencrypt",
                                    "--pbkdf",
                                    "pbkdf2",
                                    "--pbkdf-force-iterations",
                                    "1000",
                                    "--batch-mode",
                                    "--key-file",
                                    pw,
                                    data,
                                    NULL};
        struct crypt_device *cd;
        struct fl_sector_cipher *c;
        struct fl_samples s;
        uint32_t ss;
        int r;

        print_message("%s, %s-bit key, %s-byte sectors\n", specs[i].spec, specs[i].key_bits,
                      specs[i].sector_size);
        fixture_image(data, size);
        fixture_pwrite(data, plain, size, 0);
        fixture_image(hdr, 16 * MIB);
        r = run(argv);
        if (r == 127) {
            free(plain);
            free(disk);
            skip(); /* no cryptsetup binary */
        }
        assert_int_equal(r, 0);

        /* the volume as libcryptsetup sees it */
        assert_int_equal(crypt_init_data_device(&cd, hdr, data), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        vk_len = sizeof(vk);
        assert_int_equal(crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)vk, &vk_len, "pw", 2), 0);
        snprintf(spec, sizeof(spec), "%s-%s", crypt_get_cipher(cd), crypt_get_cipher_mode(cd));
        assert_string_equal(spec, specs[i].spec);
        assert_int_equal(crypt_get_data_offset(cd), 0);
        assert_int_equal(crypt_get_iv_offset(cd), 0);
        ss = (uint32_t)crypt_get_sector_size(cd);
        assert_int_equal(ss, (uint32_t)atoi(specs[i].sector_size));
        crypt_free(cd);

        fd = open(data, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, disk, size, 0), (ssize_t)size);
        assert_memory_not_equal(disk, plain, 4096);
        c = cipher(spec, vk, vk_len, ss, FL_SECTOR_ANY);
        assert_int_equal(fl_data_digest(fd, 0, size, 0, ss, c, digest), 0);
        assert_memory_equal(digest, want, sizeof(digest));
        for (size_t o = 0; o < size; o += ss) {
            unsigned char buf[4096];

            memcpy(buf, plain + o, ss);
            assert_int_equal(fl_sector_encrypt(c, fl_sector_iv(o, 0), buf), 0);
            assert_memory_equal(buf, disk + o, ss);
        }
        assert_int_equal(fl_samples_take(fd, 0, size, 0, ss, c, 32, &s), 0);
        for (size_t k = 0; k < s.n; k++) {
            sha256(plain + s.offset[k], ss, digest);
            assert_memory_equal(s.digest[k], digest, 16);
        }
        fl_sector_cipher_free(c);
        close(fd);
    }
    free(plain);
    free(disk);
}

/* The same bytes from OpenSSL and from the kernel, for ciphers both have. */
static void test_backends_agree(void **state)
{
    static const struct {
        const char *spec;
        size_t key_len;
    } specs[] = {
        {"aes-xts-plain64", 64}, {"aes-xts-plain64", 32},   {"aes-cbc-essiv:sha256", 32},
        {"aes-cbc-plain64", 16}, {"aes-xts-plain64be", 64}, {"aes-cbc-plain", 24},
        {"aes-cbc-null", 32},    {"aes-ecb", 32},           {"aes-xts-essiv:sha256", 64},
    };
    static const uint64_t sectors[] = {0, 1, 8, 0xffffffffu, 0x100000007ull, UINT64_MAX};
    unsigned char key[64], plain[4096], a[4096], b[4096];
    struct fl_sector_cipher *c = NULL;
    bool simulated = !af_alg_available();

    if (simulated) {
        print_message("this kernel has no AF_ALG: the kernel backend talks to a simulation\n");
        fake_alg = true;
        fake_alg_ops = 0;
    }
    /* the kernel backend alone: a cipher it does not have is not computable; no OpenSSL fallback */
    pattern(key, sizeof(key), 2);
    if (simulated)
        assert_int_equal(
            fl_sector_cipher_new_backend("serpent-xts-plain64", key, 64, 512, FL_SECTOR_KERNEL, &c),
            -ENOTSUP);
    assert_int_equal(
        fl_sector_cipher_new_backend("nosuchcipher-xts-plain64", key, 64, 512, FL_SECTOR_KERNEL, &c),
        -ENOTSUP);
    assert_null(c);
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct fl_sector_cipher *o, *k;

        pattern(key, sizeof(key), (unsigned)i + 7);
        o = cipher(specs[i].spec, key, specs[i].key_len, 4096, FL_SECTOR_OPENSSL);
        k = cipher(specs[i].spec, key, specs[i].key_len, 4096, FL_SECTOR_KERNEL);
        for (size_t s = 0; s < sizeof(sectors) / sizeof(sectors[0]); s++) {
            pattern(plain, sizeof(plain), (unsigned)s);
            memcpy(a, plain, sizeof(a));
            memcpy(b, plain, sizeof(b));
            assert_int_equal(fl_sector_encrypt(o, sectors[s], a), 0);
            assert_int_equal(fl_sector_encrypt(k, sectors[s], b), 0);
            assert_memory_not_equal(a, plain, sizeof(a));
            assert_memory_equal(a, b, sizeof(a));
            assert_int_equal(fl_sector_decrypt(k, sectors[s], a), 0);
            assert_int_equal(fl_sector_decrypt(o, sectors[s], b), 0);
            assert_memory_equal(a, plain, sizeof(a));
            assert_memory_equal(b, plain, sizeof(b));
        }
        fl_sector_cipher_free(o);
        fl_sector_cipher_free(k);
    }
    if (simulated) {
        /* every sector of the kernel ciphers went through the simulation: 2 per sector and spec, plus
           the IV-size probes, plus ESSIV's one-block encryptions */
        assert_true(fake_alg_ops >=
                    (int)(2 * sizeof(specs) / sizeof(specs[0]) * sizeof(sectors) / sizeof(sectors[0])));
        fake_alg = false;
    }
}

/* Ciphers OpenSSL does not have come from the kernel: a round trip, and distinct from each other. */
static void test_kernel_only_ciphers(void **state)
{
    static const char *const specs[] = {"serpent-xts-plain64", "twofish-cbc-plain64",
                                        "serpent-cbc-essiv:sha256"};
    unsigned char key[64], plain[512], buf[512], first[512];
    struct fl_sector_cipher *c = NULL;

    if (!af_alg_available())
        skip();
    pattern(key, sizeof(key), 3);
    pattern(plain, sizeof(plain), 4);
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        size_t key_len = strstr(specs[i], "xts") ? 64 : 32;

        assert_int_equal(fl_sector_cipher_new_backend(specs[i], key, key_len, 512, FL_SECTOR_OPENSSL, &c),
                         -ENOTSUP);
        assert_int_equal(fl_cipher_computable(specs[i], (uint32_t)key_len * 8), 1);
        c = cipher(specs[i], key, key_len, 512, FL_SECTOR_ANY);
        memcpy(buf, plain, sizeof(buf));
        assert_int_equal(fl_sector_encrypt(c, 42, buf), 0);
        assert_memory_not_equal(buf, plain, sizeof(buf));
        if (i == 0)
            memcpy(first, buf, sizeof(first));
        else
            assert_memory_not_equal(buf, first, sizeof(buf));
        assert_int_equal(fl_sector_decrypt(c, 42, buf), 0);
        assert_memory_equal(buf, plain, sizeof(buf));
        memcpy(buf, plain, sizeof(buf)); /* another sector, another ciphertext */
        assert_int_equal(fl_sector_encrypt(c, 43, buf), 0);
        if (i == 0)
            assert_memory_not_equal(buf, first, sizeof(buf));
        fl_sector_cipher_free(c);
    }
}

/* Each IV mode against the IV made by hand, data enciphered by the test's own OpenSSL call. */
static void test_iv_modes(void **state)
{
    unsigned char key[32], salt[32], iv[16], plain[512], want[512], buf[512], low[512];
    const uint64_t sector = 12345, high = (1ull << 32) + 7;
    struct fl_sector_cipher *c;

    pattern(key, sizeof(key), 9);
    pattern(plain, sizeof(plain), 10);

    /* essiv:sha256: IV = AES-256-ECB under SHA-256(key) of the little-endian sector number */
    sha256(key, sizeof(key), salt);
    memset(iv, 0, sizeof(iv));
    for (int i = 0; i < 8; i++)
        iv[i] = (unsigned char)(sector >> (8 * i));
    ossl("aes-256-ecb", salt, NULL, iv, sizeof(iv), 1);
    memcpy(want, plain, sizeof(want));
    ossl("aes-256-cbc", key, iv, want, sizeof(want), 1);
    c = cipher("aes-cbc-essiv:sha256", key, sizeof(key), 512, FL_SECTOR_ANY);
    memcpy(buf, plain, sizeof(buf));
    assert_int_equal(fl_sector_encrypt(c, sector, buf), 0);
    assert_memory_equal(buf, want, sizeof(buf));
    fl_sector_cipher_free(c);

    /* plain64: the sector number little-endian in 8 bytes */
    memset(iv, 0, sizeof(iv));
    for (int i = 0; i < 8; i++)
        iv[i] = (unsigned char)(high >> (8 * i));
    memcpy(want, plain, sizeof(want));
    ossl("aes-256-cbc", key, iv, want, sizeof(want), 1);
    c = cipher("aes-cbc-plain64", key, sizeof(key), 512, FL_SECTOR_ANY);
    memcpy(buf, plain, sizeof(buf));
    assert_int_equal(fl_sector_encrypt(c, high, buf), 0);
    assert_memory_equal(buf, want, sizeof(buf));
    memcpy(low, plain, sizeof(low));
    assert_int_equal(fl_sector_encrypt(c, 7, low), 0);
    assert_memory_not_equal(low, buf, sizeof(low));
    fl_sector_cipher_free(c);

    /* plain: only the low 32 bits, so sector 2^32 + 7 has sector 7's IV (and differs from plain64) */
    c = cipher("aes-cbc-plain", key, sizeof(key), 512, FL_SECTOR_ANY);
    memcpy(buf, plain, sizeof(buf));
    assert_int_equal(fl_sector_encrypt(c, high, buf), 0);
    assert_memory_equal(buf, low, sizeof(buf));
    memcpy(buf, plain, sizeof(buf));
    assert_int_equal(fl_sector_encrypt(c, high, buf), 0);
    assert_memory_not_equal(buf, want, sizeof(buf));
    fl_sector_cipher_free(c);

    /* plain64be: big-endian, in the last 8 bytes of the IV */
    memset(iv, 0, sizeof(iv));
    for (int i = 0; i < 8; i++)
        iv[15 - i] = (unsigned char)(high >> (8 * i));
    memcpy(want, plain, sizeof(want));
    ossl("aes-128-xts", key, iv, want, sizeof(want), 1);
    c = cipher("aes-xts-plain64be", key, sizeof(key), 512, FL_SECTOR_ANY);
    memcpy(buf, plain, sizeof(buf));
    assert_int_equal(fl_sector_encrypt(c, high, buf), 0);
    assert_memory_equal(buf, want, sizeof(buf));
    fl_sector_cipher_free(c);

    /* null: a zero IV, the same for every sector; ecb: no IV */
    memset(iv, 0, sizeof(iv));
    memcpy(want, plain, sizeof(want));
    ossl("aes-256-cbc", key, iv, want, sizeof(want), 1);
    c = cipher("aes-cbc-null", key, sizeof(key), 512, FL_SECTOR_ANY);
    memcpy(buf, plain, sizeof(buf));
    assert_int_equal(fl_sector_encrypt(c, high, buf), 0);
    assert_memory_equal(buf, want, sizeof(buf));
    fl_sector_cipher_free(c);
    memcpy(want, plain, sizeof(want));
    ossl("aes-256-ecb", key, NULL, want, sizeof(want), 1);
    c = cipher("aes-ecb", key, sizeof(key), 512, FL_SECTOR_ANY);
    memcpy(buf, plain, sizeof(buf));
    assert_int_equal(fl_sector_encrypt(c, high, buf), 0);
    assert_memory_equal(buf, want, sizeof(buf));
    fl_sector_cipher_free(c);

    assert_int_equal(fl_sector_iv(0, 0), 0);
    assert_int_equal(fl_sector_iv(4096, 0), 8);
    assert_int_equal(fl_sector_iv(3 * 4096, 100), 124);
}

static void test_refused(void **state)
{
    static const char *const unsupported[] = {
        "aes-cbc-lmk",
        "aes-xts-tcw",
        "aes-cbc-benbi",
        "aes-cbc-random",
        "aes-cbc-eboiv",
        "aes-xts-elephant:sha256",
        "AES-xts-plain64",
        "aes-xts-plain64;x",
        "aes xts-plain64",
        "aes-xts-pl\xc3\xa4in64",
        "cipher_null-ecb",
        "capi:xts(aes)-plain64",
        "aes:64-cbc-lmk",
        "aes-cbc",
        "aes-xts-",
        "-xts-plain64",
        "nosuchcipher-xts-plain64",
        "aes-cbc-essiv:nosuchhash",
        "aes-cbc-essiv:",
        "aes-cbc-plain64:x",
        "aes-xts-plain64:",
        "aes-xts-essiv",
        /* short forms libcryptsetup expands: not the spec a LUKS header of fipsluks' would hold */
        "aes",
        "aes-plain",
        "null",
        "aes--plain64",
        "aes-cbc-essiv:sha256:x",
        "aes-cbc-essiv:sha1", /* a 160-bit key: no such AES */
        "aes-xts-plain64-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    unsigned char key[64];
    struct fl_sector_cipher *c = NULL;

    pattern(key, sizeof(key), 5);
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        print_message("%s\n", unsupported[i]);
        assert_int_equal(fl_sector_cipher_new(unsupported[i], key, 32, 512, &c), -ENOTSUP);
    }
    assert_null(c);
    assert_int_equal(fl_sector_cipher_new(NULL, key, 32, 512, &c), -EINVAL);
    assert_int_equal(fl_sector_cipher_new("aes-xts-plain64", key, 0, 512, &c), -EINVAL);
    assert_int_equal(fl_sector_cipher_new("aes-xts-plain64", key, 63, 512, &c), -EINVAL);
    assert_int_equal(fl_sector_cipher_new("aes-xts-plain64", key, 64, 3000, &c), -EINVAL);
    assert_int_equal(fl_sector_cipher_new("aes-xts-plain64", key, 64, 256, &c), -EINVAL);
    assert_int_equal(fl_sector_cipher_new("aes-xts-plain64", key, 64, 8192, &c), -EINVAL);
    assert_null(c);
    for (uint32_t s = 512; s <= 4096; s *= 2) {
        assert_int_equal(fl_sector_cipher_new("aes-xts-plain64", key, 64, s, &c), 0);
        assert_int_equal(fl_sector_cipher_sector_size(c), s);
        fl_sector_cipher_free(c);
        c = NULL;
    }
    fl_sector_cipher_free(NULL);
}

/* fl_sector_cipher_new() succeeds exactly where fl_cipher_computable() says the host computes it. */
static void test_agrees_with_computable(void **state)
{
    static const struct {
        const char *spec;
        uint32_t key_bits;
    } specs[] = {
        {"aes-xts-plain64", 512},
        {"aes-xts-plain64", 256},
        {"aes-cbc-essiv:sha256", 256},
        {"aes-cbc-essiv:sha256", 128},
        {"aes-xts-plain", 512},
        {"aes-cbc-plain64be", 128},
        {"aes-ecb", 256},
        {"serpent-xts-plain64", 512},
        {"twofish-cbc-plain64", 256},
        {"camellia-xts-plain64", 512},
        {"camellia-cbc-plain64", 256},
        {"aes-xts-plain64", 384},
        {"nosuchcipher-xts-plain64", 512},
        {"aes-ctr-plain64", 256},
    };
    unsigned char key[64];

    pattern(key, sizeof(key), 6);
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct fl_sector_cipher *c = NULL;
        int r = fl_sector_cipher_new(specs[i].spec, key, specs[i].key_bits / 8, 4096, &c);

        print_message("%s %u: %d\n", specs[i].spec, specs[i].key_bits, r);
        assert_int_equal(r == 0, fl_cipher_computable(specs[i].spec, specs[i].key_bits));
        fl_sector_cipher_free(c);
    }
}

/* ---- samples ------------------------------------------------------------------------------------- */

/* A plain file: 64 KiB of something else, then @p sectors sectors of data under @p c. */
#define DATA_OFFSET 65536u
static int data_file(struct fl_sector_cipher *c, uint32_t sector_size, uint64_t sectors, uint64_t iv_tweak)
{
    unsigned char *buf = malloc(sector_size);
    int fd;

    assert_non_null(buf);
    fixture_image(img, DATA_OFFSET + sectors * sector_size);
    fd = open(img, O_RDWR);
    assert_true(fd >= 0);
    for (uint64_t o = 0; o < sectors * sector_size; o += sector_size) {
        plaintext(o, buf, sector_size);
        assert_int_equal(fl_sector_encrypt(c, fl_sector_iv(o, iv_tweak), buf), 0);
        assert_int_equal(pwrite(fd, buf, sector_size, (off_t)(DATA_OFFSET + o)), (ssize_t)sector_size);
    }
    free(buf);
    return fd;
}

static void flip(int fd, uint64_t off)
{
    unsigned char b;

    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x20;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
}

static void test_samples_spread(void **state)
{
    unsigned char key[32], digest[32], plain[512];
    struct fl_sector_cipher *c;
    struct fl_samples s;
    int fd;

    pattern(key, sizeof(key), 11);
    c = cipher("aes-xts-plain64", key, sizeof(key), 512, FL_SECTOR_ANY);
    fd = data_file(c, 512, 1000, 0);

    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 1000 * 512, 0, 512, c, 32, &s), 0);
    assert_int_equal(s.n, 32);
    assert_int_equal(s.sector_size, 512);
    assert_int_equal(s.offset[0], 0);
    assert_int_equal(s.offset[31], 999 * 512);
    for (size_t i = 1; i < s.n; i++) {
        assert_true(s.offset[i] > s.offset[i - 1]);
        assert_int_equal(s.offset[i] % 512, 0);
        /* evenly: gaps of 32 or 33 sectors (999 / 31 = 32.2) */
        assert_in_range((s.offset[i] - s.offset[i - 1]) / 512, 32, 33);
    }
    /* each digest is the first half of SHA-256 of that sector's plaintext */
    for (size_t i = 0; i < s.n; i++) {
        plaintext(s.offset[i], plain, sizeof(plain));
        sha256(plain, sizeof(plain), digest);
        assert_memory_equal(s.digest[i], digest, 16);
    }

    /* more than FL_SAMPLES_MAX asked: FL_SAMPLES_MAX; one: the first sector */
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 1000 * 512, 0, 512, c, 100, &s), 0);
    assert_int_equal(s.n, FL_SAMPLES_MAX);
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 1000 * 512, 0, 512, c, 1, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.offset[0], 0);
    /* a small device: every sector */
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 5 * 512, 0, 512, c, 32, &s), 0);
    assert_int_equal(s.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(s.offset[i], i * 512);
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 33 * 512, 0, 512, c, 32, &s), 0);
    assert_int_equal(s.n, 32);
    assert_int_equal(s.offset[31], 32 * 512);

    /* refusals */
    memset(&s, 0x5a, sizeof(s));
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 1000 * 512, 0, 512, c, 0, &s), -EINVAL);
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 0, 0, 512, c, 32, &s), -EINVAL);
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 1000 * 512 + 1, 0, 512, c, 32, &s), -EINVAL);
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 1000 * 4096, 0, 4096, c, 32, &s), -EINVAL);
    assert_int_equal(fl_samples_take(fd, UINT64_MAX - 511, 512, 0, 512, c, 32, &s), -EINVAL);
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, 1001 * 512, 0, 512, c, 32, &s), -EIO); /* short read */
    assert_int_equal(s.n, 0x5a5a5a5a5a5a5a5aull);                                            /* untouched */
    close(fd);
    fl_sector_cipher_free(c);
}

static void test_samples_check(void **state)
{
    unsigned char key[64], new_key[64], buf[4096];
    struct fl_sector_cipher *old, *new;
    struct fl_samples s;
    const uint64_t sectors = 300, tweak = 1000;
    uint64_t saved;
    size_t bad = 99;
    int fd;

    pattern(key, sizeof(key), 12);
    pattern(new_key, sizeof(new_key), 13);
    old = cipher("aes-cbc-essiv:sha256", key, 32, 4096, FL_SECTOR_ANY);
    new = cipher("aes-xts-plain64", new_key, 64, 4096, FL_SECTOR_ANY);
    fd = data_file(old, 4096, sectors, tweak);
    assert_int_equal(fl_samples_take(fd, DATA_OFFSET, sectors * 4096, tweak, 4096, old, 32, &s), 0);
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, old, &s, &bad), 0);
    assert_int_equal(bad, 99);
    /* another IV tweak reads other plaintext */
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, 0, old, &s, &bad), -EPROTO);
    assert_int_equal(bad, 0);

    /* re-encrypt every sector with the new key: the samples hold with it, not with the old one */
    for (uint64_t o = 0; o < sectors * 4096; o += 4096) {
        assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)(DATA_OFFSET + o)), (ssize_t)sizeof(buf));
        assert_int_equal(fl_sector_decrypt(old, fl_sector_iv(o, tweak), buf), 0);
        assert_int_equal(fl_sector_encrypt(new, fl_sector_iv(o, tweak), buf), 0);
        assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)(DATA_OFFSET + o)), (ssize_t)sizeof(buf));
    }
    bad = 99;
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), 0);
    assert_int_equal(bad, 99);
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, old, &s, &bad), -EPROTO);
    assert_int_equal(bad, 0);

    /* re-encrypted twice (what libcryptsetup's resume was seen to do): caught */
    for (size_t i = 0; i < s.n; i++) {
        uint64_t o = s.offset[i];

        assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)(DATA_OFFSET + o)), (ssize_t)sizeof(buf));
        assert_int_equal(fl_sector_encrypt(new, fl_sector_iv(o, tweak), buf), 0);
        assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)(DATA_OFFSET + o)), (ssize_t)sizeof(buf));
        assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), -EPROTO);
        assert_int_equal(bad, i);
        assert_int_equal(fl_sector_decrypt(new, fl_sector_iv(o, tweak), buf), 0);
        assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)(DATA_OFFSET + o)), (ssize_t)sizeof(buf));
    }
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), 0);

    /* one byte of sampled sector 5 changed on disk: -EPROTO, index 5 */
    flip(fd, DATA_OFFSET + s.offset[5] + 100);
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), -EPROTO);
    assert_int_equal(bad, 5);
    flip(fd, DATA_OFFSET + s.offset[5] + 100);
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), 0);
    /* a sector outside the sample changed: not seen (a sample is a sample) */
    assert_true(s.offset[1] - s.offset[0] > 4096);
    flip(fd, DATA_OFFSET + s.offset[0] + 4096 + 7);
    bad = 99;
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), 0);
    assert_int_equal(bad, 99);

    /* malformed samples, a sector size not the cipher's, the file cut short */
    saved = s.offset[3];
    s.offset[3] = s.offset[2];
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), -EINVAL);
    s.offset[3] = saved;
    s.n = 0;
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), -EINVAL);
    s.n = 32;
    s.sector_size = 512;
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), -EINVAL);
    s.sector_size = 4096;
    assert_int_equal(ftruncate(fd, (off_t)(DATA_OFFSET + (sectors - 1) * 4096 + 100)), 0);
    bad = 99; /* a short read is an I/O error, not a mismatch: no index */
    assert_int_equal(fl_samples_check(fd, DATA_OFFSET, tweak, new, &s, &bad), -EIO);
    assert_int_equal(bad, 99);
    close(fd);
    fl_sector_cipher_free(old);
    fl_sector_cipher_free(new);
}

/* ---- JSON ---------------------------------------------------------------------------------------- */

static struct fl_samples some_samples(size_t n, uint64_t step)
{
    struct fl_samples s = {.sector_size = 4096, .n = n};

    for (size_t i = 0; i < n; i++) {
        s.offset[i] = i * step * 4096;
        pattern(s.digest[i], 16, (unsigned)i);
    }
    return s;
}

static void test_json(void **state)
{
    struct fl_samples s = some_samples(2, 3), t;
    json_object *o;
    const char *text;

    o = fl_samples_to_json(&s);
    assert_non_null(o);
    assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                        "{\"sector_size\":\"4096\",\"offsets\":[\"0\",\"12288\"],"
                        "\"sha256_16\":[\"000b16212c37424d58636e79848f9aa5\","
                        "\"25303b46515c67727d88939ea9b4bfca\"]}");
    memset(&t, 0, sizeof(t));
    assert_int_equal(fl_samples_from_json(o, &t), 0);
    assert_memory_equal(&t, &s, sizeof(s));
    json_object_put(o);

    /* 32 samples over 4 TiB: about 1.6 KiB; offsets as large as they can be: under 1.9 KiB */
    s = some_samples(32, (4ull << 40) / 4096 / 31);
    o = fl_samples_to_json(&s);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    print_message("32 samples over 4 TiB: %zu bytes\n", strlen(text));
    assert_true(strlen(text) <= 1700);
    assert_int_equal(fl_samples_from_json(o, &t), 0);
    assert_memory_equal(&t, &s, sizeof(s));
    json_object_put(o);
    for (size_t i = 0; i < 32; i++)
        s.offset[i] = (uint64_t)INT64_MAX / 4096 * 4096 - (32 - i) * 4096;
    o = fl_samples_to_json(&s);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    print_message("32 samples near 2^63: %zu bytes\n", strlen(text));
    assert_true(strlen(text) <= 1900);
    assert_int_equal(fl_samples_from_json(o, &t), 0);
    assert_memory_equal(&t, &s, sizeof(s));
    json_object_put(o);

    /* nothing malformed is written */
    s = some_samples(3, 1);
    s.offset[1] = 100;
    assert_null(fl_samples_to_json(&s));
    s.n = 0;
    assert_null(fl_samples_to_json(&s));
    assert_null(fl_samples_to_json(NULL));
}

static int parse(const char *text)
{
    struct fl_samples s;
    json_object *o = json_tokener_parse(text);
    int r;

    memset(&s, 0x5a, sizeof(s));
    r = fl_samples_from_json(o, &s);
    if (r < 0)
        assert_int_equal(s.n, 0x5a5a5a5a5a5a5a5aull); /* untouched */
    json_object_put(o);
    return r;
}

#define D "\"000102030405060708090a0b0c0d0e0f\""

static void test_json_malformed(void **state)
{
    static const char *const bad[] = {
        "[]",
        "\"x\"",
        "{}",
        "{\"offsets\":[\"0\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"3000\",\"offsets\":[\"0\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"8192\",\"offsets\":[\"0\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"256\",\"offsets\":[\"0\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"4294971392\",\"offsets\":[\"0\"],\"sha256_16\":[" D "]}", /* 2^32 + 4096 */
        "{\"sector_size\":4096,\"offsets\":[\"0\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"+4096\",\"offsets\":[\"0\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\" 4096\",\"offsets\":[\"0\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[0],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":\"0\",\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"],\"sha256_16\":" D "}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"]}",
        "{\"sector_size\":\"4096\",\"offsets\":[],\"sha256_16\":[]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\",\"4096\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"],\"sha256_16\":[" D "," D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"],\"sha256_16\":[\"000102030405060708090a0b0c0d0e0g\"]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"],\"sha256_16\":[\"000102030405060708090A0B0C0D0E0F\"]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"],\"sha256_16\":[\"000102030405060708090a0b0c0d0e\"]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"],\"sha256_16\":[\"000102030405060708090a0b0c0d0e0f00\"]"
        "}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"],\"sha256_16\":["
        "\"000102030405060708090a0b0c0d0e\\u0000f\"]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"0\"],\"sha256_16\":[16]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"100\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"-4096\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"4096\",\"0\"],\"sha256_16\":[" D "," D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"4096\",\"4096\"],\"sha256_16\":[" D "," D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"9223372036854775808\"],\"sha256_16\":[" D "]}", /* 2^63 */
        "{\"sector_size\":\"4096\",\"offsets\":[\"9223372036854771712\"],\"sha256_16\":[" D
        "]}", /* ends at 2^63 */
        "{\"sector_size\":\"4096\",\"offsets\":[\"18446744073709547520\"],\"sha256_16\":[" D "]}",
        "{\"sector_size\":\"4096\",\"offsets\":[\"18446744073709551616\"],\"sha256_16\":[" D "]}", /* 2^64 */
        "{\"sector_size\":\"4096\",\"offsets\":[\"4096\\u0000\"],\"sha256_16\":[" D "]}",
    };
    char many[8192];
    size_t len;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("%s\n", bad[i]);
        assert_int_equal(parse(bad[i]), -EINVAL);
    }
    assert_int_equal(fl_samples_from_json(NULL, NULL), -EINVAL);

    /* the largest offset whose sector ends within off_t; other keys (a token's) are ignored */
    assert_int_equal(parse("{\"type\":\"fipsluks-samples\",\"keyslots\":[],\"sector_size\":\"4096\","
                           "\"offsets\":[\"9223372036854767616\"],\"sha256_16\":[" D "]}"),
                     0);

    /* 32 samples parse, 33 do not */
    for (size_t n = 32; n <= 33; n++) {
        len = (size_t)snprintf(many, sizeof(many), "{\"sector_size\":\"512\",\"offsets\":[");
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(many + len, sizeof(many) - len, "%s\"%zu\"", i ? "," : "", i * 512);
        len += (size_t)snprintf(many + len, sizeof(many) - len, "],\"sha256_16\":[");
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(many + len, sizeof(many) - len, "%s" D, i ? "," : "");
        snprintf(many + len, sizeof(many) - len, "]}");
        assert_int_equal(parse(many), n == 32 ? 0 : -EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_luks2),
        cmocka_unit_test(test_cryptsetup_encrypts),
        cmocka_unit_test_teardown(test_backends_agree, fake_alg_off),
        cmocka_unit_test(test_kernel_only_ciphers),
        cmocka_unit_test(test_iv_modes),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_agrees_with_computable),
        cmocka_unit_test(test_samples_spread),
        cmocka_unit_test(test_samples_check),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
