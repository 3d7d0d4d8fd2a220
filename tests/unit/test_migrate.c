/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of migrate's pure parts (src/lib/migrate.c): the plan and the room check. No disk (the
 * protocol itself, on an image in memory: test_migrate_protocol.c). The
 * journal's are in test_journal.c, the header backups' in test_backup.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "fipsluks/migrate.h"
#include "fipsluks/policy.h"
#include "fake-volume.h"

static void test_plan(void **state)
{
    struct fl_volume v;
    struct fl_slot slots[FL_MAX_KEYSLOTS];
    struct fl_keyslot *ks;

    volume_init(&v);
    add_keyslot(&v, 0, "argon2id", NULL, 4, 32768);
    add_keyslot(&v, 1, "pbkdf2", "sha256", 2000000, 32768 + 258048);
    add_keyslot(&v, 2, "pbkdf2", "ripemd160", 2000000, 32768 + 2 * 258048);
    ks = add_keyslot(&v, 3, "argon2i", NULL, 4, 32768 + 3 * 258048);
    ks->tokens[0] = 0;
    ks->n_tokens = 1;
    add_keyslot(&v, 4, "pbkdf2", "sha256", 5000, 32768 + 4 * 258048); /* a warning: few iterations */
    assert_int_equal(fl_migration_plan(&v, false, slots), 5);
    assert_int_equal(slots[0].plan, FL_SLOT_CONVERT);
    assert_string_equal(slots[0].rules, "FL-KDF-ARGON2");
    assert_int_equal(slots[1].plan, FL_SLOT_COMPLIANT);
    assert_int_equal(slots[2].plan, FL_SLOT_CONVERT);
    assert_non_null(strstr(slots[2].rules, "FL-KDF-HASH"));
    assert_int_equal(slots[3].plan, FL_SLOT_TOKEN_BOUND);
    assert_int_equal(slots[4].plan, FL_SLOT_COMPLIANT);
    /* with warnings (--key-slot N), the weak keyslot is converted too */
    assert_int_equal(fl_migration_plan(&v, true, slots), 5);
    assert_int_equal(slots[4].plan, FL_SLOT_CONVERT);
    assert_non_null(strstr(slots[4].rules, "FL-KDF-ITER-LOW"));
    /* a reencrypt keyslot has no KDF to convert */
    v.keyslots[1].type = STR("reencrypt");
    assert_int_equal(fl_migration_plan(&v, false, slots), 5);
    assert_int_equal(slots[1].plan, FL_SLOT_NOT_KEYSLOT);
}

/*
 * A keyslot-area cipher is migrate's to fix when a new keyslot's area gets an approved cipher: the
 * plan follows the policy's finding (its fix, and the remedy scan prints), also for a segment with
 * integrity, whose volume key holds the HMAC key too (the old plan judged the cipher with that key
 * and left the keyslot alone while scan's remedy named fipsluks migrate).
 */
static void test_plan_area_cipher(void **state)
{
    struct fl_volume v;
    struct fl_slot slots[FL_MAX_KEYSLOTS];
    struct fl_findings f = {0};
    struct fl_keyslot *ks;

    (void)state;
    volume_init(&v);
    ks = add_keyslot(&v, 0, "pbkdf2", "sha256", 2000000, 32768);
    ks->cipher = STR("serpent-xts-plain64");
    assert_int_equal(fl_migration_plan(&v, false, slots), 1);
    assert_int_equal(slots[0].plan, FL_SLOT_CONVERT);
    assert_string_equal(slots[0].rules, "FL-AREA-CIPHER");

    /* dm-integrity: aes-xts-random with 512 + 256 (hmac(sha256)) bits of volume key */
    v.segments[0].cipher = STR("aes-xts-random");
    v.segments[0].key_bits = 768;
    v.segments[0].integrity = STR("hmac(sha256)");
    assert_int_equal(fl_migration_plan(&v, false, slots), 1);
    assert_int_equal(slots[0].plan, FL_SLOT_CONVERT);
    assert_string_equal(slots[0].rules, "FL-AREA-CIPHER");
    assert_int_equal(fl_policy_evaluate(&v, &f), 1);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.items[0].fix, FL_FIX_MIGRATE);
    assert_non_null(strstr(f.items[0].remedy, "fipsluks migrate --key-slot 0"));
    fl_findings_clear(&f);

    /* a data cipher that is not approved: only a new volume key helps, which reencrypt makes */
    v.segments[0].cipher = STR("serpent-xts-plain64");
    v.segments[0].key_bits = 512;
    v.segments[0].integrity = NULL;
    assert_int_equal(fl_migration_plan(&v, false, slots), 1);
    assert_int_equal(slots[0].plan, FL_SLOT_COMPLIANT);
    assert_string_equal(slots[0].rules, "");
}

static void test_room(void **state)
{
    struct fl_volume v;

    volume_init(&v);
    /* a 64-byte key needs 64 * 4000 bytes, rounded up to 4096: 258048 */
    assert_int_equal(fl_migration_has_room(&v, 64), 1);
    add_keyslot(&v, 0, "argon2id", NULL, 4, 32768);
    assert_int_equal(fl_migration_has_room(&v, 64), 1);
    /* a keyslots area that holds exactly one keyslot */
    v.keyslots_size = 258048;
    assert_int_equal(fl_migration_has_room(&v, 64), 0);
    v.keyslots_size = 2 * 258048;
    assert_int_equal(fl_migration_has_room(&v, 64), 1);
    /* a gap between two areas that is one byte too small */
    v.keyslots_size = 3 * 258048;
    add_keyslot(&v, 1, "argon2id", NULL, 4, 32768 + 2 * 258048);
    assert_int_equal(fl_migration_has_room(&v, 64), 1);
    v.keyslots[1].area_offset -= 1;
    assert_int_equal(fl_migration_has_room(&v, 64), 0);
    /* no free keyslot id */
    volume_init(&v);
    for (int i = 0; i < FL_MAX_KEYSLOTS; i++)
        add_keyslot(&v, i, "pbkdf2", "sha256", 1000, 32768 + (uint64_t)i * 258048)->area_size = 0;
    assert_int_equal(fl_migration_has_room(&v, 64), 0);
}

/*
 * A dry run's forecast: what the real run with the same secrets leaves. Its exit code follows it
 * (0: a real run makes the volume FIPS-compatible; 7: a keyslot or journal no secret opens; 6:
 * something only reencrypt fixes), so a pre-flight can be chained with && into the real run.
 */
static void test_forecast(void **state)
{
    struct fl_volume v;
    struct fl_migrate_result res;
    struct fl_migrate_forecast fc;
    struct fl_keyslot *ks;
    bool opens[FL_MAX_KEYSLOTS] = {false};

    (void)state;
    volume_init(&v);
    add_keyslot(&v, 0, "argon2id", NULL, 4, 32768);
    add_keyslot(&v, 1, "argon2i", NULL, 4, 32768 + 258048);
    add_keyslot(&v, 2, "pbkdf2", "sha256", 2000000, 32768 + 2 * 258048);
    memset(&res, 0, sizeof(res));
    res.n_jobs = 2;
    res.jobs[0] = (struct fl_migrate_job){.keyslot = 0, .secret = 0, .status = FL_JOB_PLANNED};
    res.jobs[1] = (struct fl_migrate_job){.keyslot = 1, .secret = -1, .status = FL_JOB_NO_SECRET};
    opens[0] = true;
    /* keyslot 1 has no secret: left, and the volume stays incompatible */
    assert_int_equal(fl_migration_forecast(&v, &res, opens, &fc), 0);
    assert_int_equal(fc.n_left, 1);
    assert_false(fc.left[0]);
    assert_true(fc.left[1]);
    assert_false(fc.left[2]);
    assert_false(fc.compatible);
    /* every secret given: nothing left, compatible afterwards */
    res.jobs[1].secret = 1;
    res.jobs[1].status = FL_JOB_PLANNED;
    opens[1] = true;
    assert_int_equal(fl_migration_forecast(&v, &res, opens, &fc), 0);
    assert_int_equal(fc.n_left, 0);
    assert_true(fc.compatible);
    /* a data cipher migrate cannot fix: nothing left, but still incompatible (the real run's exit 6) */
    v.segments[0].cipher = STR("serpent-xts-plain64");
    assert_int_equal(fl_migration_forecast(&v, &res, opens, &fc), 0);
    assert_int_equal(fc.n_left, 0);
    assert_false(fc.compatible);
    v.segments[0].cipher = STR("aes-xts-plain64");
    /* a token-bound keyslot is left (only its token's owner re-enrolls it) */
    ks = add_keyslot(&v, 3, "argon2id", NULL, 4, 32768 + 3 * 258048);
    ks->tokens[0] = 0;
    ks->n_tokens = 1;
    assert_int_equal(fl_migration_forecast(&v, &res, opens, &fc), 0);
    assert_int_equal(fc.n_left, 1);
    assert_true(fc.left[3]);
    assert_false(fc.compatible);
    v.n_keyslots--;
    /* an interrupted conversion: finished when a secret opens its keyslot or its copy, left otherwise */
    res.n_jobs = 1; /* keyslot 1 is the journal's, not a job */
    res.n_journals = 1;
    res.journals[0] = (struct fl_journal){.token = 0, .keyslot = 1, .temp = 4};
    opens[1] = false;
    assert_int_equal(fl_migration_forecast(&v, &res, opens, &fc), 0);
    assert_int_equal(fc.n_left, 2); /* the journal, and keyslot 1 itself */
    assert_false(fc.compatible);
    opens[4] = true;
    assert_int_equal(fl_migration_forecast(&v, &res, opens, &fc), 0);
    assert_int_equal(fc.n_left, 0);
    assert_true(fc.compatible);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_plan_area_cipher),
        cmocka_unit_test(test_room),
        cmocka_unit_test(test_forecast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
