/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of migrate's protocol (src/lib/migrate.c, fl_migrate()) with the real libcryptsetup on
 * an image in memory (tmpfs): its decisions, not only its pure parts (test_migrate.c). The
 * libcryptsetup calls that write are wrapped (-Wl,--wrap, tests/CMakeLists.txt), so that a test can
 *  - make a new keyslot fail its verification: the temporary copy, then the final keyslot. A run
 *    that skipped either verification would report success; the protocol must stop, put the header
 *    back byte for byte and say so;
 *  - crash the process (a forked child, _exit()) before or after each write call in turn: the volume
 *    opens with its passphrase at every point, and a second run finishes the job, leaving one PBKDF2
 *    keyslot, no temporary copy, no journal, and the operator's other keyslot as it was;
 *  - put an operator's keyslot where the protocol's temporary copy would go, after a crash: recovery
 *    must not destroy what it did not make.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>

#include "fipsluks/migrate.h"
#include "fipsluks/secret.h"
#include "fixture.h"

#define MIB        (1024u * 1024u)
#define CRASHED    99
#define OTHER_SLOT 3

static const char pass[] = "protocol-test-passphrase";
static const char other_pass[] = "the operator's own keyslot";
static char dir[] = "/dev/shm/fl-migrate-protocol.XXXXXX";
static char img[256], backups[256];

/* ---- the wrapped libcryptsetup calls ---- */

static int write_calls;     /* write calls seen by this process */
static int crash_at;        /* _exit(CRASHED) at this write call (1-based); 0: never */
static bool crash_after;    /* after the call returned, rather than before it */
static bool fail_new_temp;  /* the temporary copy does not verify */
static bool fail_new_final; /* the final keyslot does not verify */

int __real_crypt_activate_by_passphrase(struct crypt_device *cd, const char *name, int keyslot,
                                        const char *passphrase, size_t passphrase_size, uint32_t flags);
int __wrap_crypt_activate_by_passphrase(struct crypt_device *cd, const char *name, int keyslot,
                                        const char *passphrase, size_t passphrase_size, uint32_t flags);
int __real_crypt_keyslot_add_by_volume_key(struct crypt_device *cd, int keyslot, const char *volume_key,
                                           size_t volume_key_size, const char *passphrase,
                                           size_t passphrase_size);
int __wrap_crypt_keyslot_add_by_volume_key(struct crypt_device *cd, int keyslot, const char *volume_key,
                                           size_t volume_key_size, const char *passphrase,
                                           size_t passphrase_size);
int __real_crypt_keyslot_destroy(struct crypt_device *cd, int keyslot);
int __wrap_crypt_keyslot_destroy(struct crypt_device *cd, int keyslot);
int __real_crypt_token_json_set(struct crypt_device *cd, int token, const char *json);
int __wrap_crypt_token_json_set(struct crypt_device *cd, int token, const char *json);
int __real_crypt_keyslot_set_priority(struct crypt_device *cd, int keyslot, crypt_keyslot_priority priority);
int __wrap_crypt_keyslot_set_priority(struct crypt_device *cd, int keyslot, crypt_keyslot_priority priority);
int __real_crypt_token_assign_keyslot(struct crypt_device *cd, int token, int keyslot);
int __wrap_crypt_token_assign_keyslot(struct crypt_device *cd, int token, int keyslot);

/* A PBKDF2 keyslot that is not the operator's: one migrate wrote (the original keyslot 0 is argon2). */
static bool new_keyslot(struct crypt_device *cd, int keyslot)
{
    struct crypt_pbkdf_type p;

    return keyslot >= 0 && keyslot != OTHER_SLOT && crypt_keyslot_get_pbkdf(cd, keyslot, &p) == 0 &&
           !strcmp(p.type, CRYPT_KDF_PBKDF2);
}

int __wrap_crypt_activate_by_passphrase(struct crypt_device *cd, const char *name, int keyslot,
                                        const char *passphrase, size_t passphrase_size, uint32_t flags)
{
    /* a check of a new keyslot (no activation): the temporary copy is not keyslot 0, the final one is */
    if (!name && new_keyslot(cd, keyslot) &&
        ((keyslot != 0 && fail_new_temp) || (keyslot == 0 && fail_new_final)))
        return -EPERM;
    return __real_crypt_activate_by_passphrase(cd, name, keyslot, passphrase, passphrase_size, flags);
}

static void write_call(bool after)
{
    if (!after)
        write_calls++;
    if (crash_at && write_calls == crash_at && after == crash_after)
        _exit(CRASHED);
}

/* A wrapped write call: a crash may come before it or after it returned. */
#define WRITE_CALL(real_call)                                                                                \
    do {                                                                                                     \
        int r_;                                                                                              \
        write_call(false);                                                                                   \
        r_ = real_call;                                                                                      \
        write_call(true);                                                                                    \
        return r_;                                                                                           \
    } while (0)

int __wrap_crypt_keyslot_add_by_volume_key(struct crypt_device *cd, int keyslot, const char *volume_key,
                                           size_t volume_key_size, const char *passphrase,
                                           size_t passphrase_size)
{
    WRITE_CALL(__real_crypt_keyslot_add_by_volume_key(cd, keyslot, volume_key, volume_key_size, passphrase,
                                                      passphrase_size));
}

int __wrap_crypt_keyslot_destroy(struct crypt_device *cd, int keyslot)
{
    WRITE_CALL(__real_crypt_keyslot_destroy(cd, keyslot));
}

int __wrap_crypt_token_json_set(struct crypt_device *cd, int token, const char *json)
{
    WRITE_CALL(__real_crypt_token_json_set(cd, token, json));
}

int __wrap_crypt_keyslot_set_priority(struct crypt_device *cd, int keyslot, crypt_keyslot_priority priority)
{
    WRITE_CALL(__real_crypt_keyslot_set_priority(cd, keyslot, priority));
}

int __wrap_crypt_token_assign_keyslot(struct crypt_device *cd, int token, int keyslot)
{
    WRITE_CALL(__real_crypt_token_assign_keyslot(cd, token, keyslot));
}

/* ---- the image ---- */

/* LUKS2, keyslot 0 argon2id (fast settings) with pass, keyslot OTHER_SLOT PBKDF2 with other_pass. */
static void make_image(void)
{
    struct crypt_pbkdf_type argon = {.type = CRYPT_KDF_ARGON2ID,
                                     .hash = "sha256",
                                     .iterations = 4,
                                     .max_memory_kb = 8192,
                                     .parallel_threads = 1,
                                     .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_pbkdf_type pbkdf2 = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 params = {.sector_size = 512};
    struct crypt_device *cd;

    fixture_image(img, 4 * MIB);
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_set_pbkdf_type(cd, &argon), 0);
    assert_int_equal(crypt_set_metadata_size(cd, 16384, 1024 * 1024), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &params), 0);
    assert_int_equal(__real_crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, pass, strlen(pass)), 0);
    assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf2), 0);
    assert_int_equal(
        crypt_keyslot_add_by_passphrase(cd, OTHER_SLOT, pass, strlen(pass), other_pass, strlen(other_pass)),
        OTHER_SLOT);
    crypt_free(cd);
}

/* The first @p len bytes of the image (its header region). */
static unsigned char *header_bytes(size_t len)
{
    unsigned char *buf = malloc(len);
    int fd = open(img, O_RDONLY);

    assert_non_null(buf);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, len, 0), (ssize_t)len);
    close(fd);
    return buf;
}

#define HEADER_REGION (16384u * 2 + MIB) /* both metadata copies and the keyslots area */

struct state {
    int active[8]; /* keyslot status, keyslots 0..7 */
    char kdf0[16]; /* keyslot 0's KDF */
    bool opens, other_opens, journal;
};

static struct state look(void)
{
    struct state s = {0};
    struct crypt_device *cd;
    struct crypt_pbkdf_type p;

    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    for (int k = 0; k < 8; k++)
        s.active[k] = crypt_keyslot_status(cd, k) >= CRYPT_SLOT_ACTIVE;
    if (crypt_keyslot_get_pbkdf(cd, 0, &p) == 0)
        snprintf(s.kdf0, sizeof(s.kdf0), "%s", p.type);
    s.opens = __real_crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, pass, strlen(pass), 0) >= 0;
    s.other_opens = __real_crypt_activate_by_passphrase(cd, NULL, OTHER_SLOT, other_pass, strlen(other_pass),
                                                        0) == OTHER_SLOT;
    for (int t = 0; t < 32; t++) {
        const char *type = NULL;
        if (crypt_token_status(cd, t, &type) != CRYPT_TOKEN_INACTIVE && type && strstr(type, "fipsluks"))
            s.journal = true;
    }
    crypt_free(cd);
    return s;
}

/* One run of fl_migrate() on the image with the passphrase: @return its result code. */
static int migrate(struct fl_migrate_result *res)
{
    struct fl_migrate_options o = {
        .hash = "sha256", .iterations = 1000, .keyslot = -1, .backup_dir = backups};
    struct fl_secret_offer sec = {.source = "the test"};
    struct fl_migration *m = NULL;
    struct fl_secret *s = NULL;
    int r;

    if (fl_secret_new(pass, strlen(pass), &s) < 0)
        return -ENOMEM;
    sec.secret = s;
    r = fl_migration_open(img, NULL, &m);
    if (r == 0)
        r = fl_migrate(m, &o, &sec, 1, NULL, res);
    fl_migration_free(m);
    fl_secret_free(s);
    return r;
}

/* The state a finished migration leaves: keyslot 0 PBKDF2, the operator's keyslot 3, nothing else. */
static void assert_finished(const char *what)
{
    struct state s = look();

    if (strcmp(s.kdf0, CRYPT_KDF_PBKDF2) || !s.opens || !s.other_opens || s.journal)
        fail_msg("%s: keyslot 0 %s, opens %d, the operator's keyslot opens %d, journal %d", what, s.kdf0,
                 s.opens, s.other_opens, s.journal);
    for (int k = 0; k < 8; k++)
        if (s.active[k] != (k == 0 || k == OTHER_SLOT))
            fail_msg("%s: keyslot %d is %s", what, k, s.active[k] ? "there" : "gone");
}

static void clear_backups(void)
{
    fixture_rmtree(backups);
    assert_int_equal(mkdir(backups, 0700), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(img, sizeof(img), "%s/volume.img", dir);
    snprintf(backups, sizeof(backups), "%s/backups", dir);
    return mkdir(backups, 0700);
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmtree(dir);
}

static void quiet(int level, const char *msg, void *usrptr)
{
    (void)level;
    (void)msg;
    (void)usrptr;
}

/* ---- the tests ---- */

/* The whole protocol, once: the reference for the others. */
static void test_migrates(void **state)
{
    struct fl_migrate_result res = {0};

    (void)state;
    make_image();
    clear_backups();
    write_calls = 0;
    assert_int_equal(migrate(&res), 0);
    assert_int_equal(res.n_jobs, 1);
    assert_int_equal(res.jobs[0].status, FL_JOB_CONVERTED);
    assert_true(res.wrote);
    assert_true(write_calls >= 5); /* journal, copy, journal, old keyslot, final keyslot, copy, journal */
    assert_finished("after one run");
    /* a second run has nothing to do, and writes nothing */
    write_calls = 0;
    assert_int_equal(migrate(&res), 0);
    assert_int_equal(write_calls, 0);
    assert_false(res.wrote);
}

/* A new keyslot that does not open stops the run, and the header is put back as it was. */
static void test_new_keyslot_must_open(void **state)
{
    for (int which = 0; which < 2; which++) {
        struct fl_migrate_result res = {0};
        unsigned char *before, *after;
        struct state s;

        (void)state;
        make_image();
        clear_backups();
        before = header_bytes(HEADER_REGION);
        fail_new_temp = which == 0;
        fail_new_final = which == 1;
        assert_int_equal(migrate(&res), -EPROTO); /* did not verify: not an I/O error */
        fail_new_temp = fail_new_final = false;
        assert_true(res.wrote);
        assert_true(res.restored);
        assert_int_equal(res.failed_keyslot, 0);
        after = header_bytes(HEADER_REGION);
        if (memcmp(before, after, HEADER_REGION))
            fail_msg("the %s keyslot did not verify: the header was not put back byte for byte",
                     which ? "final" : "temporary");
        s = look();
        assert_string_equal(s.kdf0, CRYPT_KDF_ARGON2ID);
        assert_true(s.opens);
        free(before);
        free(after);
    }
}

/* A crash before or after any write call: the volume opens, and the next run finishes the job. */
static void test_crash_anywhere(void **state)
{
    int points = 0;

    (void)state;
    for (int at = 1;; at++) {
        bool done = false;

        for (int after = 0; after < 2; after++) {
            struct fl_migrate_result res = {0};
            struct state s;
            char what[64];
            pid_t pid;
            int status = 0;

            make_image();
            clear_backups();
            pid = fork();
            assert_true(pid >= 0);
            if (pid == 0) {
                write_calls = 0;
                crash_at = at;
                crash_after = after;
                _exit(migrate(&res) == 0 ? 0 : 1);
            }
            assert_int_equal(waitpid(pid, &status, 0), pid);
            assert_true(WIFEXITED(status));
            if (WEXITSTATUS(status) == 0) { /* the run has fewer write calls than that: all done */
                done = true;
                break;
            }
            snprintf(what, sizeof(what), "crash %s write call %d", after ? "after" : "before", at);
            if (WEXITSTATUS(status) != CRASHED)
                fail_msg("%s: the run failed instead", what);
            points++;
            s = look();
            if (!s.opens || !s.other_opens)
                fail_msg("%s: the volume does not open (%d) or the operator's keyslot went (%d)", what,
                         s.opens, s.other_opens);
            if (migrate(&res) != 0)
                fail_msg("%s: the second run failed", what);
            assert_finished(what);
        }
        if (done)
            break;
    }
    print_message("%d crash points\n", points);
    assert_true(points >= 10);
}

/*
 * A crash after the journal named a temporary keyslot number and before the copy was written; then
 * an operator adds a keyslot of their own at that number. The next run must leave it alone.
 */
static void test_operator_keyslot_at_temp_number(void **state)
{
    struct crypt_pbkdf_type pbkdf2 = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    static const char mine[] = "an operator's new keyslot";
    struct fl_migrate_result res = {0};
    struct crypt_device *cd;
    int status = 0, temp = -1;
    pid_t pid;

    (void)state;
    make_image();
    clear_backups();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        write_calls = 0;
        crash_at = 2; /* the journal is written; the copy is not */
        crash_after = false;
        _exit(migrate(&res) == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == CRASHED);
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    for (int k = 1; k < 8 && temp < 0; k++) /* the number the copy would have taken */
        if (crypt_keyslot_status(cd, k) == CRYPT_SLOT_INACTIVE)
            temp = k;
    assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf2), 0);
    assert_int_equal(
        crypt_keyslot_add_by_passphrase(cd, temp, other_pass, strlen(other_pass), mine, strlen(mine)), temp);
    crypt_free(cd);

    assert_int_equal(migrate(&res), 0);
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    if (__real_crypt_activate_by_passphrase(cd, NULL, temp, mine, strlen(mine), 0) != temp)
        fail_msg("recovery destroyed the operator's keyslot %d", temp);
    assert_int_equal(__real_crypt_activate_by_passphrase(cd, NULL, 0, pass, strlen(pass), 0), 0);
    crypt_free(cd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrates),
        cmocka_unit_test(test_new_keyslot_must_open),
        cmocka_unit_test(test_crash_anywhere),
        cmocka_unit_test(test_operator_keyslot_at_temp_number),
    };

    crypt_set_log_callback(NULL, quiet, NULL); /* "keyslots area is very small": the test's choice */
    return cmocka_run_group_tests(tests, setup, teardown);
}
