/*
 * Unit tests: where libcryptsetup's messages go (-v/--verbose, --debug), the final status line, and
 * the shared options (-q/--batch/--batch-mode, -T/--tries) as popt parses them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>

#include "cli.h"

static FILE *capture_file;
static int saved_stderr = -1;

/* Send standard error to a temporary file until captured() returns what was written. */
static void capture(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(fileno(capture_file), STDERR_FILENO), STDERR_FILENO);
}

/* @return what went to standard error since capture() (static buffer). */
static const char *captured(void)
{
    static char buf[4096];
    size_t n;

    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rewind(capture_file);
    n = fread(buf, 1, sizeof(buf) - 1, capture_file);
    buf[n] = '\0';
    fclose(capture_file);
    return buf;
}

static int reset(void **state)
{
    fl_opts.verbose = fl_opts.debug = fl_opts.batch = 0;
    fl_opts.tries = FL_TRIES_DEFAULT;
    crypt_set_log_callback(NULL, fl_cryptsetup_log, NULL);
    crypt_set_debug_level(CRYPT_DEBUG_NONE);
    return 0;
}

/* Without -v nothing of libcryptsetup's is printed, but its last error is kept for the verb. */
static void test_quiet_keeps_last_error(void **state)
{
    capture();
    crypt_log(NULL, CRYPT_LOG_ERROR, "Device img is too small.\n");
    crypt_log(NULL, CRYPT_LOG_VERBOSE, "Key slot 0 created.\n");
    crypt_log(NULL, CRYPT_LOG_NORMAL, "normal\n");
    assert_string_equal(captured(), "");
    assert_string_equal(fl_cryptsetup_last_error(), "Device img is too small.");
}

/* -v: libcryptsetup's error, verbose and normal messages on stderr, as they are. */
static void test_verbose_shows_messages(void **state)
{
    fl_opts.verbose = 1;
    capture();
    crypt_log(NULL, CRYPT_LOG_ERROR, "No key available with this passphrase.\n");
    crypt_log(NULL, CRYPT_LOG_VERBOSE, "Key slot 0 unlocked.\n");
    crypt_log(NULL, CRYPT_LOG_NORMAL, "no newline");
    assert_string_equal(captured(),
                        "No key available with this passphrase.\nKey slot 0 unlocked.\nno newline\n");
    assert_string_equal(fl_cryptsetup_last_error(), "No key available with this passphrase.");
}

/* --debug: each line prefixed "# " as cryptsetup does; nothing without --debug even if the
 * library's debug level is on (another caller may have set it). */
static void test_debug_lines(void **state)
{
    crypt_set_debug_level(CRYPT_DEBUG_ALL);
    capture();
    crypt_log(NULL, CRYPT_LOG_DEBUG, "hidden\n");
    assert_string_equal(captured(), "");

    fl_opts.debug = 1;
    capture();
    crypt_log(NULL, CRYPT_LOG_DEBUG, "Allocating context for crypt device img.\n");
    crypt_log(NULL, CRYPT_LOG_DEBUG, "one\ntwo\n");
    assert_string_equal(captured(), "# Allocating context for crypt device img.\n# one\n# two\n");
    /* debug lines are not errors */
    crypt_log(NULL, CRYPT_LOG_ERROR, "err\n");
    capture();
    crypt_log(NULL, CRYPT_LOG_DEBUG, "later\n");
    assert_string_equal(captured(), "# later\n");
    assert_string_equal(fl_cryptsetup_last_error(), "err");
}

static void test_status_line(void **state)
{
    capture();
    fl_log_status(0);
    fl_log_status(2);
    assert_string_equal(captured(), "");

    fl_opts.verbose = 1;
    capture();
    fl_log_status(FL_EXIT_OK);
    fl_log_status(FL_EXIT_PERMISSION);
    fl_log_status(FL_EXIT_INCOMPLETE);
    assert_string_equal(captured(),
                        "Command successful.\n"
                        "Command failed with code 2 (no permission or bad passphrase).\n"
                        "Command failed with code 7 (incomplete: interrupted, or work is left to do).\n");
}

/* Every documented exit code has its own meaning. */
static void test_exit_meanings(void **state)
{
    for (int a = FL_EXIT_OK; a <= FL_EXIT_INCOMPLETE; a++) {
        assert_string_not_equal(fl_exit_meaning(a), fl_exit_meaning(-1));
        for (int b = a + 1; b <= FL_EXIT_INCOMPLETE; b++)
            assert_string_not_equal(fl_exit_meaning(a), fl_exit_meaning(b));
    }
    assert_string_equal(fl_exit_meaning(FL_EXIT_USAGE), "wrong or missing parameters");
}

/*
 * fl_log_error_errno(): one line "fipsluks: ..." with %m for the errno it is given, bytes from a
 * path or a header escaped (no terminal escape, no second line), and the error handed back.
 */
static void test_log_error_errno(void **state)
{
    const char *hostile = "key\033[2J\nfipsluks: forged line\x9b\xff";

    errno = EAGAIN;
    capture();
    assert_int_equal(fl_log_error_errno(-ENOENT, "cannot read key file '%s': %m", hostile), -ENOENT);
    assert_string_equal(captured(), "fipsluks: cannot read key file 'key\\x1b[2J\\x0afipsluks: forged "
                                    "line\\x9b\\xff': No such file or directory\n");
    assert_int_equal(errno, EAGAIN); /* errno as it was */

    capture();
    assert_int_equal(fl_log_error_errno(-ECANCELED, "not confirmed; nothing was written"), -ECANCELED);
    assert_string_equal(captured(), "fipsluks: not confirmed; nothing was written\n");

    /* with no error, a plain message; warnings escape too */
    capture();
    fl_log_error_errno(-EACCES, "cannot open '%s': %m", "a\nb");
    fl_log_error_errno(0, "plain '%s'", "\r");
    fl_log_warning("key file '%s' can be read by other users", "\033]0;x\a");
    assert_string_equal(captured(),
                        "fipsluks: cannot open 'a\\x0ab': Permission denied\n"
                        "fipsluks: plain '\\x0d'\n"
                        "fipsluks: warning: key file '\\x1b]0;x\\x07' can be read by other users\n");
}

/* Parse @p args (after "fipsluks migrate", a verb that takes the shared options) with
 * fl_options_parse(); @return its result. */
static int parse(const char *const *args, size_t n)
{
    const char *argv[8] = {"fipsluks migrate"};
    struct fl_args a;
    int r;

    assert_true(n < 7);
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    capture();
    r = fl_options_parse(FL_VERB_MIGRATE, (int)n + 1, argv, &a);
    captured();
    fl_args_free(&a);
    return r;
}

#define PARSE(...)                                                                                           \
    parse((const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void test_shared_options(void **state)
{
    assert_int_equal(PARSE("x"), 0);
    assert_int_equal(fl_opts.tries, FL_TRIES_DEFAULT);
    assert_int_equal(fl_opts.batch, 0);

    assert_int_equal(PARSE("--batch-mode"), 0);
    assert_int_equal(fl_opts.batch, 1);
    fl_opts.batch = 0;
    assert_int_equal(PARSE("-q"), 0);
    assert_int_equal(fl_opts.batch, 1);

    assert_int_equal(PARSE("-T", "7"), 0);
    assert_int_equal(fl_opts.tries, 7);
    assert_int_equal(PARSE("--tries=100"), 0);
    assert_int_equal(fl_opts.tries, 100);
    assert_int_equal(PARSE("--tries", "1"), 0);
    assert_int_equal(fl_opts.tries, 1);
    /* the last one counts, as for any option */
    assert_int_equal(PARSE("--tries=abc", "--tries=5"), 0);
    assert_int_equal(fl_opts.tries, 5);

    static const char *const bad[] = {"0", "101", "-1", "", " 2", "2 ", "0x2", "1e1", "18446744073709551617"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char opt[64];
        snprintf(opt, sizeof(opt), "--tries=%s", bad[i]);
        assert_int_equal(PARSE(opt), -EINVAL);
    }
    assert_int_equal(PARSE("--tries"), -EINVAL); /* missing argument */
    assert_int_equal(PARSE("--no-such"), -EINVAL);

    assert_int_equal(PARSE("-v"), 0);
    assert_int_equal(fl_opts.verbose, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_quiet_keeps_last_error, reset),
        cmocka_unit_test_setup(test_verbose_shows_messages, reset),
        cmocka_unit_test_setup(test_debug_lines, reset),
        cmocka_unit_test_setup(test_status_line, reset),
        cmocka_unit_test_setup(test_exit_meanings, reset),
        cmocka_unit_test_setup(test_log_error_errno, reset),
        cmocka_unit_test_setup(test_shared_options, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
