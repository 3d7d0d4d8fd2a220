/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/util.c: strict number parsing, full reads and writes, exclusive creation
 * (an existing file or any symbolic link refused, the mode whatever the umask), removing only one's
 * own file, fsync of a directory, the all-zero test, shell quoting and the string builder (with
 * its allocations failing one at a time).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"
#include "failalloc.h"
#include "fixture.h"

static char dir[] = "/tmp/fl-test-util.XXXXXX";

static const char *path_in(const char *name)
{
    static char buf[4][256];
    static int i;
    char *p = buf[i++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
    return p;
}

static void test_parse_u64(void **state)
{
    uint64_t v = 7;

    assert_int_equal(fl_parse_u64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(fl_parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(fl_parse_u64("18446744073709551616", &v), -ERANGE);
    assert_int_equal(fl_parse_u64("99999999999999999999", &v), -ERANGE);
    static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (fl_parse_u64(bad[i], &v) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(fl_parse_u64(NULL, &v), -EINVAL);
    assert_true(v == 7); /* written only on success */
}

/* Writes land at the offset, all of them; reads stop at the end of the file. */
static void test_pwrite_pread_full(void **state)
{
    char big[70000], back[70000];
    int fd = open(path_in("rw"), O_RDWR | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + 1);
    assert_int_equal(fl_pwrite_full(fd, big, sizeof(big), 4096), sizeof(big));
    assert_int_equal(fl_pwrite_full(fd, "abc", 0, 0), 0);
    assert_int_equal(fl_pread_full(fd, back, sizeof(back), 4096), sizeof(back));
    assert_memory_equal(back, big, sizeof(big));
    /* the hole before the offset reads as zeros */
    assert_int_equal(fl_pread_full(fd, back, 4096, 0), 4096);
    assert_true(fl_all_zero(back, 4096));
    /* past the end: a short count, then 0 */
    assert_int_equal(fl_pread_full(fd, back, 100, 4096 + sizeof(big) - 10), 10);
    assert_int_equal(fl_pread_full(fd, back, 100, 4096 + sizeof(big) + 10), 0);
    close(fd);
    /* a descriptor open for reading only: the errno, not a count */
    fd = open(path_in("rw"), O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fl_pwrite_full(fd, "x", 1, 0), -EBADF);
    close(fd);
    assert_int_equal(fl_pread_full(-1, back, 1, 0), -EBADF);
}

/* A signal that interrupts the read (no SA_RESTART) writes what the read then returns. */
static int eintr_pipe[2];
static volatile sig_atomic_t eintr_fired;

static void eintr_handler(int sig)
{
    (void)sig;
    eintr_fired = 1;
    (void)!write(eintr_pipe[1], "late", 4);
}

static void test_read_eintr(void **state)
{
    struct sigaction sa = {.sa_handler = eintr_handler}, old;
    struct itimerval t = {.it_value = {.tv_usec = 50000}};
    char buf[16];

    (void)state;
    assert_int_equal(pipe(eintr_pipe), 0);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0); /* sa_flags 0: read() fails with EINTR */
    assert_int_equal(setitimer(ITIMER_REAL, &t, NULL), 0);
    assert_int_equal(fl_read_eintr(eintr_pipe[0], buf, sizeof(buf)), 4);
    assert_true(eintr_fired);
    assert_memory_equal(buf, "late", 4);
    assert_int_equal(sigaction(SIGALRM, &old, NULL), 0);
    close(eintr_pipe[1]);
    assert_int_equal(fl_read_eintr(eintr_pipe[0], buf, sizeof(buf)), 0); /* end of file */
    close(eintr_pipe[0]);
    assert_int_equal(fl_read_eintr(eintr_pipe[0], buf, sizeof(buf)), -EBADF);
}

static void test_create_new(void **state)
{
    struct stat st;
    mode_t old = umask(0077);
    int fd;

    fd = fl_create_new(path_in("new"), 0640);
    umask(old);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640); /* the mode asked for, not masked by the umask */
    assert_int_equal(fl_pwrite_full(fd, "x", 1, 0), 1);
    close(fd);
    /* an existing file is refused and left alone */
    assert_int_equal(fl_create_new(path_in("new"), 0600), -EEXIST);
    assert_int_equal(stat(path_in("new"), &st), 0);
    assert_int_equal(st.st_size, 1);
    /* any symbolic link, to an existing file or dangling, is refused and not followed */
    assert_int_equal(symlink(path_in("new"), path_in("link")), 0);
    assert_int_equal(fl_create_new(path_in("link"), 0600), -EEXIST);
    assert_int_equal(symlink(path_in("nowhere"), path_in("dangling")), 0);
    assert_int_equal(fl_create_new(path_in("dangling"), 0600), -EEXIST);
    assert_int_equal(access(path_in("nowhere"), F_OK), -1);
    assert_int_equal(fl_create_new(path_in("no-dir/x"), 0600), -ENOENT);
}

static void test_unlink_own(void **state)
{
    int fd = fl_create_new(path_in("own"), 0600), other;

    assert_true(fd >= 0);
    /* another file put in its place since: not removed */
    assert_int_equal(rename(path_in("own"), path_in("moved")), 0);
    other = open(path_in("own"), O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(other >= 0);
    fl_unlink_own(path_in("own"), fd);
    assert_int_equal(access(path_in("own"), F_OK), 0);
    assert_int_equal(access(path_in("moved"), F_OK), 0);
    /* a symbolic link to its own file: the link is not the file */
    assert_int_equal(symlink(path_in("moved"), path_in("to-own")), 0);
    fl_unlink_own(path_in("to-own"), fd);
    assert_int_equal(access(path_in("moved"), F_OK), 0);
    /* its own file: removed */
    fl_unlink_own(path_in("moved"), fd);
    assert_int_equal(access(path_in("moved"), F_OK), -1);
    assert_int_equal(errno, ENOENT);
    fl_unlink_own(path_in("own"), other);
    assert_int_equal(access(path_in("own"), F_OK), -1);
    close(fd);
    close(other);
}

static void test_fsync_parent(void **state)
{
    assert_int_equal(fl_fsync_parent(path_in("anything")), 0);
    assert_int_equal(fl_fsync_parent("/"), 0);
    assert_int_equal(fl_fsync_parent("relative"), 0);
    assert_int_equal(fl_fsync_parent(path_in("no-dir/x")), -ENOENT);
}

static void test_hex(void **state)
{
    const unsigned char bytes[4] = {0x00, 0x9f, 0xa0, 0xff};
    unsigned char back[4] = {0};
    char text[9];

    fl_hex_encode(bytes, sizeof(bytes), text);
    assert_string_equal(text, "009fa0ff");
    assert_int_equal(fl_hex_decode(text, back, sizeof(back)), 0);
    assert_memory_equal(back, bytes, sizeof(bytes));
    assert_int_equal(fl_hex_decode("009FA0FF", back, 4), -EINVAL);  /* lowercase only */
    assert_int_equal(fl_hex_decode("009fa0f", back, 4), -EINVAL);   /* short */
    assert_int_equal(fl_hex_decode("009fa0ff0", back, 4), -EINVAL); /* long */
    assert_int_equal(fl_hex_decode("009fa0fg", back, 4), -EINVAL);
    assert_int_equal(fl_hex_decode(NULL, back, 4), -EINVAL);
}

static void test_all_zero(void **state)
{
    char buf[4096] = {0};

    assert_true(fl_all_zero(buf, 0));
    assert_true(fl_all_zero(buf, sizeof(buf)));
    buf[4095] = 1;
    assert_false(fl_all_zero(buf, sizeof(buf)));
    assert_true(fl_all_zero(buf, 4095));
    buf[0] = 1;
    assert_false(fl_all_zero(buf, 1));
    /* all bytes equal but not zero */
    memset(buf, 0x55, sizeof(buf));
    assert_false(fl_all_zero(buf, sizeof(buf)));
}

static void test_shell_quote(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"/dev/sda1", "/dev/sda1"},
        {"/dev/disk/by-uuid/0a1b-2c3d", "/dev/disk/by-uuid/0a1b-2c3d"},
        {"a_b@c%d+e=f:g,h.i/j-k", "a_b@c%d+e=f:g,h.i/j-k"},
        {"", "''"},
        {"my disk.img", "'my disk.img'"},
        {"it's", "'it'\\''s'"},
        {"'", "''\\'''"},
        {"''", "''\\'''\\'''"},
        {"$HOME", "'$HOME'"},
        {"~/x", "'~/x'"},
        {"a*b", "'a*b'"},
        {"a\"b", "'a\"b'"},
        {"a\\b", "'a\\b'"},
        {"a;rm -rf /", "'a;rm -rf /'"},
        {"line\nbreak", "'line\nbreak'"},
        {"caf\xc3\xa9", "'caf\xc3\xa9'"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *q = fl_shell_quote(cases[i].in);
        assert_non_null(q);
        assert_string_equal(q, cases[i].out);
        free(q);
    }
    char *q = fl_shell_quote(NULL);
    assert_string_equal(q, "''");
    free(q);
}

static void test_shell_safe(void **state)
{
    assert_true(fl_shell_safe('a'));
    assert_true(fl_shell_safe('Z'));
    assert_true(fl_shell_safe('0'));
    assert_true(fl_shell_safe('/'));
    assert_true(fl_shell_safe('-'));
    assert_false(fl_shell_safe(' '));
    assert_false(fl_shell_safe('\''));
    assert_false(fl_shell_safe('$'));
    assert_false(fl_shell_safe('\0'));
    assert_false(fl_shell_safe('\xc3'));
}

static void test_sb(void **state)
{
    struct fl_sb b = {0};
    char *s, long_text[1000];

    /* nothing appended is "", not NULL */
    s = fl_sb_take(&b);
    assert_string_equal(s, "");
    free(s);
    assert_null(b.s);

    fl_sb_append(&b, "fipsluks migrate");
    fl_sb_append(&b, NULL);
    fl_sb_appendf(&b, " --key-slot %d ", 3);
    fl_sb_append_quoted(&b, "my disk.img");
    fl_sb_append(&b, " ");
    fl_sb_append_quoted(&b, "/dev/sdb1");
    assert_int_equal(b.len, strlen(b.s));
    s = fl_sb_take(&b);
    assert_string_equal(s, "fipsluks migrate --key-slot 3 'my disk.img' /dev/sdb1");
    free(s);
    assert_null(b.s);
    assert_int_equal(b.len, 0);

    /* growth past the first allocation, several times */
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    for (int i = 0; i < 10; i++)
        fl_sb_appendf(&b, "%d:%s;", i, long_text);
    s = fl_sb_take(&b);
    assert_int_equal(strlen(s), 10 * (2 + 999 + 1));
    assert_memory_equal(s + 1002 * 9, "9:xxx", 5);
    assert_string_equal(s + strlen(s) - 2, "x;");
    free(s);
}

/*
 * Each allocation of the builder may fail: from then on every append is a no-op, and fl_sb_take()
 * says so once, with NULL (nothing leaks: ASan and valgrind see to it).
 */
static void test_sb_failure(void **state)
{
    char long_text[300];
    int failures = 0;

    memset(long_text, 'y', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    for (long n = 0;; n++) {
        struct fl_sb b = {0};
        char *s;

        alloc_calls = 0;
        fail_at = n;
        fl_sb_append(&b, "start ");
        for (int i = 0; i < 4; i++) {
            fl_sb_appendf(&b, "%s ", long_text);
            fl_sb_append_quoted(&b, "it's");
        }
        if (b.failed) {
            assert_null(b.s);
            assert_int_equal(b.len, 0);
            fl_sb_append(&b, "more"); /* sticky: still nothing */
            assert_null(b.s);
        }
        s = fl_sb_take(&b);
        fail_at = -1;
        if (alloc_calls <= n) { /* nothing left to fail */
            assert_non_null(s);
            assert_int_equal(strlen(s), 6 + 4 * (299 + 1 + 9));
            free(s);
            break;
        }
        assert_null(s);
        failures++;
    }
    assert_true(failures >= 3); /* 64 bytes, then doubled twice or more */

    /* and fl_shell_quote() reports its failure, quoting or not */
    alloc_calls = 0;
    fail_at = 0;
    assert_null(fl_shell_quote("/dev/sdb1"));
    alloc_calls = 0;
    assert_null(fl_shell_quote("my disk"));
    fail_at = -1;
}

static int setup(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    return fixture_rmtree(dir);
}

/* fl_strdup_opt() replaces what was there; NULL and "" leave nothing. fl_asprintf() formats. */
static void test_strdup_opt_asprintf(void **state)
{
    char *s = NULL, *f;

    (void)state;
    assert_int_equal(fl_strdup_opt(&s, "first"), 0);
    assert_string_equal(s, "first");
    assert_int_equal(fl_strdup_opt(&s, "second"), 0); /* the first freed: no leak under ASan */
    assert_string_equal(s, "second");
    assert_int_equal(fl_strdup_opt(&s, ""), 0);
    assert_null(s);
    assert_int_equal(fl_strdup_opt(&s, NULL), 0);
    assert_null(s);
    f = fl_asprintf("%s-%d", "keyslot", 7);
    assert_string_equal(f, "keyslot-7");
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_u64),    cmocka_unit_test(test_pwrite_pread_full),
        cmocka_unit_test(test_create_new),   cmocka_unit_test(test_unlink_own),
        cmocka_unit_test(test_fsync_parent), cmocka_unit_test(test_all_zero),
        cmocka_unit_test(test_hex),          cmocka_unit_test(test_shell_quote),
        cmocka_unit_test(test_shell_safe),   cmocka_unit_test(test_sb),
        cmocka_unit_test(test_sb_failure),   cmocka_unit_test(test_strdup_opt_asprintf),
        cmocka_unit_test(test_read_eintr),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
