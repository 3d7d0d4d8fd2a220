/* Unit tests: key files (offset, size, limits, stdin) and PBKDF2 calibration. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fipsluks/kdf.h"
#include "fipsluks/secret.h"

static char path[] = "/tmp/fl-test-secret.XXXXXX";

static void write_key(const void *buf, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static int setup(void **state)
{
    int fd = mkstemp(path);
    return fd < 0 ? -1 : close(fd);
}

static int teardown(void **state)
{
    return unlink(path);
}

static void test_read_exact_bytes(void **state)
{
    struct fl_secret *s = NULL;

    write_key("pass\nword\0tail\n", 15, 0600);
    assert_int_equal(fl_secret_read_file(path, 0, 0, &s), 0);
    assert_int_equal(s->len, 15); /* newlines and NUL bytes are part of a key file */
    assert_memory_equal(s->data, "pass\nword\0tail\n", 15);
    fl_secret_free(s);

    assert_int_equal(fl_secret_read_file(path, 5, 4, &s), 0);
    assert_int_equal(s->len, 4);
    assert_memory_equal(s->data, "word", 4);
    fl_secret_free(s);

    assert_int_equal(fl_secret_read_file(path, 10, 0, &s), 0);
    assert_int_equal(s->len, 5);
    fl_secret_free(s);
}

static void test_read_errors(void **state)
{
    struct fl_secret *s = NULL;

    write_key("short", 5, 0600);
    assert_int_equal(fl_secret_read_file(path, 0, 6, &s), -EINVAL);  /* shorter than --keyfile-size */
    assert_int_equal(fl_secret_read_file(path, 5, 0, &s), -EINVAL);  /* nothing after the offset */
    assert_int_equal(fl_secret_read_file(path, 99, 0, &s), -EINVAL); /* offset past the end */
    assert_int_equal(fl_secret_read_file("/nonexistent/key", 0, 0, &s), -ENOENT);
    assert_int_equal(fl_secret_read_file("/tmp", 0, 0, &s), -EISDIR);
    assert_int_equal(fl_secret_read_file(path, 0, FL_SECRET_MAX_SIZE + 1ull, &s), -EFBIG);
    write_key("", 0, 0600);
    assert_int_equal(fl_secret_read_file(path, 0, 0, &s), -EINVAL);
    assert_null(s);
}

static void test_too_large(void **state)
{
    struct fl_secret *s = NULL;
    char *big = calloc(1, FL_SECRET_MAX_SIZE + 1);

    assert_non_null(big);
    write_key(big, FL_SECRET_MAX_SIZE + 1, 0600);
    assert_int_equal(fl_secret_read_file(path, 0, 0, &s), -EFBIG);
    write_key(big, FL_SECRET_MAX_SIZE, 0600);
    assert_int_equal(fl_secret_read_file(path, 0, 0, &s), 0);
    assert_int_equal(s->len, FL_SECRET_MAX_SIZE);
    fl_secret_free(s);
    free(big);
}

/* The buffer grows with the file: a short key file does not hold the 8 MiB limit (it did, per file). */
static void test_buffer_follows_the_file(void **state)
{
    struct fl_secret *s = NULL;
    struct mallinfo2 before, after;
    size_t n = 100000;
    char *text = malloc(n);

    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        text[i] = (char)('a' + i % 23);
    write_key(text, n, 0600); /* longer than the first buffer: it grows, every byte kept */
    assert_int_equal(fl_secret_read_file(path, 0, 0, &s), 0);
    assert_int_equal(s->len, n);
    assert_memory_equal(s->data, text, n);
    fl_secret_free(s);
    assert_int_equal(fl_secret_read_file(path, 5, 70000, &s), 0);
    assert_int_equal(s->len, 70000);
    assert_memory_equal(s->data, text + 5, 70000);
    fl_secret_free(s);

    write_key("a twenty-byte secret", 20, 0600);
    before = mallinfo2();
    assert_int_equal(fl_secret_read_file(path, 0, 0, &s), 0);
    after = mallinfo2();
    assert_int_equal(s->len, 20);
    /* what the secret holds while it lives (mmap'ed blocks included): bytes, not megabytes */
    assert_true(after.uordblks + after.hblkhd < before.uordblks + before.hblkhd + 64 * 1024);
    fl_secret_free(s);
    free(text);
}

static void test_stdin_pipe(void **state)
{
    struct fl_secret *s = NULL;
    int fds[2], saved = dup(STDIN_FILENO);
    unsigned notes = 0;

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "0123456789", 10), 10);
    close(fds[1]);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    /* a pipe cannot seek: the offset is read and dropped; a pipe is never "exposed" */
    assert_int_equal(fl_secret_read_key_file("-", 3, 4, &s, &notes), 0);
    dup2(saved, STDIN_FILENO);
    close(saved);
    assert_int_equal(notes, FL_KEY_FILE_SHORT);
    assert_int_equal(s->len, 4);
    assert_memory_equal(s->data, "3456", 4);
    fl_secret_free(s);
}

static void test_equal_and_exposed(void **state)
{
    struct fl_secret *a, *b, *c;

    assert_int_equal(fl_secret_new("abc", 3, &a), 0);
    assert_int_equal(fl_secret_new("abc", 3, &b), 0);
    assert_int_equal(fl_secret_new("abd", 3, &c), 0);
    assert_true(fl_secret_equal(a, b));
    assert_false(fl_secret_equal(a, c));
    fl_secret_free(a);
    fl_secret_free(b);
    fl_secret_free(c);

    /* what deserves a warning: read by group or others (the open file's mode), short */
    static const struct {
        const char *key;
        mode_t mode;
        unsigned notes;
    } cases[] = {
        {"k", 0600, FL_KEY_FILE_SHORT},
        {"k", 0644, FL_KEY_FILE_EXPOSED | FL_KEY_FILE_SHORT},
        {"k", 0640, FL_KEY_FILE_EXPOSED | FL_KEY_FILE_SHORT},
        {"1234567", 0400, FL_KEY_FILE_SHORT},
        {"12345678", 0400, 0},
        {"12345678", 0604, FL_KEY_FILE_EXPOSED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned notes = 99;

        write_key(cases[i].key, strlen(cases[i].key), cases[i].mode);
        assert_int_equal(fl_secret_read_key_file(path, 0, 0, &a, &notes), 0);
        assert_int_equal(notes, cases[i].notes);
        assert_int_equal(fl_secret_short(a), (cases[i].notes & FL_KEY_FILE_SHORT) != 0);
        fl_secret_free(a);
    }
    assert_int_equal(fl_secret_read_key_file("/nonexistent/key", 0, 0, &a, &(unsigned){0}), -ENOENT);
}

static void test_kdf(void **state)
{
    uint32_t it = 0, it512 = 0;

    assert_true(fl_kdf_hash_allowed("sha256"));
    assert_true(fl_kdf_hash_allowed("sha512"));
    assert_false(fl_kdf_hash_allowed("sha1"));
    assert_false(fl_kdf_hash_allowed("ripemd160"));
    assert_false(fl_kdf_hash_allowed(NULL));
    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha256", 64, 1000, &it), 0);
    /* any machine that runs this does far more than the FIPS minimum per second */
    assert_true(it > 10000);
    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha256", 64, 1, &it), 0);
    assert_true(it >= 1000); /* never below the FIPS minimum */
    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha512", 64, 1000, &it512), 0);
    assert_true(it512 > 1000);
    assert_int_equal(fl_kdf_calibrate_pbkdf2("no-such-hash", 64, 1000, &it), -EINVAL);
    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha256", 0, 1000, &it), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_exact_bytes),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_stdin_pipe),
        cmocka_unit_test(test_buffer_follows_the_file),
        cmocka_unit_test(test_equal_and_exposed),
        cmocka_unit_test(test_kdf),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
