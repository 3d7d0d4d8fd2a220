/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of migrate's pure parts (src/lib/migrate.c, src/lib/backup.c): the plan, the room
 * check, journal parsing and validation, backup names, and the block-device stack walk. No disk.
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
#include "fixture.h"

#define MiB (1024u * 1024u)
/* The model's strings are not const; these tests never free or change them. */
#define STR(s) ((char *)(uintptr_t)(s))

/* A LUKS2 volume with an approved data segment and no keyslots. */
static void volume_init(struct fl_volume *v)
{
    memset(v, 0, sizeof(*v));
    v->luks_version = 2;
    v->metadata_size = 16384;
    v->keyslots_size = 16 * MiB - 2 * 16384;
    v->segments[0].type = STR("crypt");
    v->segments[0].cipher = STR("aes-xts-plain64");
    v->segments[0].key_bits = 512;
    v->segments[0].sector_size = 4096;
    v->n_segments = 1;
    v->digests[0].type = STR("pbkdf2");
    v->digests[0].hash = STR("sha256");
    v->digests[0].iterations = 100000;
    v->n_digests = 1;
}

static struct fl_keyslot *add_keyslot(struct fl_volume *v, int id, const char *kdf, const char *hash,
                                      uint32_t iterations, uint64_t area_offset)
{
    struct fl_keyslot *ks = &v->keyslots[v->n_keyslots++];

    memset(ks, 0, sizeof(*ks));
    ks->id = id;
    ks->type = STR("luks2");
    ks->kdf = STR(kdf);
    ks->hash = STR(hash);
    ks->iterations = iterations;
    ks->memory_kib = hash ? 0 : 32768;
    ks->threads = hash ? 0 : 1;
    ks->cipher = STR("aes-xts-plain64");
    ks->key_bits = 512;
    ks->af_hash = STR("sha256");
    ks->area_offset = area_offset;
    ks->area_size = 258048;
    ks->priority = FL_PRIORITY_NORMAL;
    return ks;
}

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

#define J(body) "{\"type\":\"fipsluks-migration\",\"keyslots\":[]," body "}"
#define GOOD "\"version\":\"2\",\"keyslot\":\"1\",\"salt\":\"c2FsdA==\",\"temp\":\"3\",\"temp_hash\":\"sha256\"," \
             "\"temp_iterations\":\"251234\",\"priority\":\"prefer\",\"tokens\":[\"0\",\"2\"]"

static void test_journal_parse(void **state)
{
    struct fl_journal j;

    assert_int_equal(fl_journal_parse(J(GOOD), 5, &j), 0);
    assert_string_equal(j.problem, "");
    assert_int_equal(j.token, 5);
    assert_int_equal(j.keyslot, 1);
    assert_int_equal(j.temp, 3);
    assert_string_equal(j.salt, "c2FsdA==");
    assert_string_equal(j.temp_hash, "sha256");
    assert_int_equal(j.temp_iterations, 251234);
    assert_string_equal(j.temp_salt, "");
    assert_int_equal(j.priority, FL_PRIORITY_PREFER);
    assert_int_equal(j.n_tokens, 2);
    assert_int_equal(j.tokens[1], 2);

    assert_int_equal(fl_journal_parse(J(GOOD ",\"temp_salt\":\"dA==\""), 5, &j), 0);
    assert_string_equal(j.problem, "");
    assert_string_equal(j.temp_salt, "dA==");
    /* in place: no temporary copy */
    assert_int_equal(fl_journal_parse(J("\"version\":\"2\",\"keyslot\":\"0\",\"salt\":\"s\",\"temp\":\"none\","
                                        "\"priority\":\"normal\""), 1, &j), 0);
    assert_string_equal(j.problem, "");
    assert_int_equal(j.temp, -1);
}

static void test_journal_parse_bad(void **state)
{
    static const struct {
        const char *json, *problem;
    } bad[] = {
        {"not json", "cannot be parsed"},
        {"[1,2]", "cannot be parsed"},
        {J("\"keyslot\":\"0\",\"existing\":[\"5\"]"), "not a version 2 journal"},
        {J("\"version\":\"3\",\"keyslot\":\"0\""), "not a version 2 journal"},
        {J("\"version\":\"2\",\"keyslot\":\"40\",\"salt\":\"s\",\"temp\":\"2\""), "no valid keyslot"},
        {J("\"version\":\"2\",\"keyslot\":\"-1\""), "no valid keyslot"},
        {J("\"version\":\"2\",\"keyslot\":\"1x\""), "no valid keyslot"},
        {J("\"version\":\"2\",\"keyslot\":1"), "no valid keyslot"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"salt\":\"s\""), "no temporary keyslot"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"salt\":\"s\",\"temp\":\"99\""), "not a valid keyslot number"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_iterations\":\"5\""), "no hash"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":\"0\""),
         "no iteration count"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\","
           "\"temp_iterations\":\"4294967296\""), "no iteration count"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":\"9\","
           "\"temp_salt\":\"\""), "malformed"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":\"9\""),
         "no salt"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":\"9\","
           "\"salt\":\"s\",\"priority\":\"high\""), "priority"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":\"9\","
           "\"salt\":\"s\",\"priority\":\"normal\",\"tokens\":[\"40\"]"), "token list"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":\"9\","
           "\"salt\":\"s\",\"priority\":\"normal\",\"tokens\":\"0\""), "token list"},
        {J("\"version\":\"2\",\"keyslot\":\"2\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":\"9\","
           "\"salt\":\"s\",\"priority\":\"normal\""), "keyslot 2 itself"},
    };
    struct fl_journal j;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fl_journal_parse(bad[i].json, 7, &j), 0);
        if (!strstr(j.problem, bad[i].problem))
            fail_msg("journal %zu (%s): problem '%s', expected '%s'", i, bad[i].json, j.problem, bad[i].problem);
        assert_int_equal(j.token, 7);
    }
    assert_int_equal(fl_journal_parse(NULL, 7, &j), 0);
    assert_non_null(strstr(j.problem, "cannot be parsed"));
}

static void test_journal_validate(void **state)
{
    struct fl_volume v;
    struct fl_journal j[3];

    volume_init(&v);
    add_keyslot(&v, 1, "argon2id", NULL, 4, 32768);
    assert_int_equal(fl_journal_parse(J(GOOD), 0, &j[0]), 0);
    assert_int_equal(fl_journal_validate(j, 1, &v), 0);
    /* S gone, T there: a valid state (between destroying S and writing it again) */
    v.keyslots[0].id = 3;
    assert_int_equal(fl_journal_validate(j, 1, &v), 0);
    /* neither S nor T */
    v.keyslots[0].id = 7;
    assert_int_equal(fl_journal_validate(j, 1, &v), 1);
    assert_non_null(strstr(j[0].problem, "neither keyslot 1 nor its temporary copy 3 exists"));
    /* two journals claiming one keyslot (as S in one, as T in the other): both refused */
    v.keyslots[0].id = 1;
    assert_int_equal(fl_journal_parse(J(GOOD), 0, &j[0]), 0);
    assert_int_equal(fl_journal_parse(J("\"version\":\"2\",\"keyslot\":\"3\",\"salt\":\"x\",\"temp\":\"4\","
                                        "\"temp_hash\":\"sha256\",\"temp_iterations\":\"9\",\"priority\":\"normal\""),
                                      1, &j[1]), 0);
    add_keyslot(&v, 3, "argon2id", NULL, 4, 32768 + 258048);
    assert_int_equal(fl_journal_validate(j, 2, &v), 2);
    assert_non_null(strstr(j[0].problem, "journal token 1 names the same keyslots"));
    assert_non_null(strstr(j[1].problem, "journal token 0 names the same keyslots"));
    /* an in-place journal whose keyslot is gone cannot be finished */
    assert_int_equal(fl_journal_parse(J("\"version\":\"2\",\"keyslot\":\"9\",\"salt\":\"s\",\"temp\":\"none\","
                                        "\"priority\":\"normal\""), 2, &j[2]), 0);
    assert_int_equal(fl_journal_validate(&j[2], 1, &v), 1);
    assert_non_null(strstr(j[2].problem, "overwritten in place"));
    /* a journal with a parse problem keeps it */
    assert_int_equal(fl_journal_parse("{}", 4, &j[0]), 0);
    assert_int_equal(fl_journal_validate(j, 1, &v), 1);
}

static void test_uuid_and_backup_path(void **state)
{
    char buf[128];

    assert_true(fl_uuid_valid("0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e"));
    assert_true(fl_uuid_valid("0B7F1C2E-3D4A-4B5C-8D9E-0F1A2B3C4D5E"));
    assert_false(fl_uuid_valid(NULL));
    assert_false(fl_uuid_valid(""));
    assert_false(fl_uuid_valid("../../../../tmp/x"));
    assert_false(fl_uuid_valid("0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5"));
    assert_false(fl_uuid_valid("0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e/"));
    assert_false(fl_uuid_valid("0b7f1c2e/3d4a-4b5c-8d9e-0f1a2b3c4d5e"));
    assert_false(fl_uuid_valid("0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d.."));

    assert_int_equal(fl_backup_path("/b", "0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e", 1795876440, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/b/0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e-20261128T143400Z.luksheader");
    assert_int_equal(fl_backup_path("/b", "../../../../tmp/x", 1795876440, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/b/volume-20261128T143400Z.luksheader");
    assert_int_equal(fl_backup_path("/b", NULL, 1795876440, 2, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/b/volume-20261128T143400Z-2.luksheader");
    assert_int_equal(fl_backup_path("/a/very/long/directory/name", "0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e", 0, 0, buf,
                                    40),
                     -ENAMETOOLONG);
}

/* A sysfs tree: dm-0 (254:0) on md0 (9:0) on loop3 (7:3); sda (8:0) alone. */
static void test_dev_stacked_on(void **state)
{
    char root[] = "/tmp/fl-test-sysfs.XXXXXX";

    assert_non_null(mkdtemp(root));
    fixture_write(root, "/sys/dev/block/254:0/slaves/md0/dev", "9:0\n");
    fixture_write(root, "/sys/dev/block/9:0/slaves/loop3/dev", "7:3\n");
    fixture_write(root, "/sys/dev/block/8:0/dev", "8:0\n");
    assert_int_equal(fl_dev_stacked_on(root, makedev(254, 0), makedev(7, 3)), 1);
    assert_int_equal(fl_dev_stacked_on(root, makedev(254, 0), makedev(9, 0)), 1);
    assert_int_equal(fl_dev_stacked_on(root, makedev(9, 0), makedev(9, 0)), 1);
    assert_int_equal(fl_dev_stacked_on(root, makedev(254, 0), makedev(8, 0)), 0);
    assert_int_equal(fl_dev_stacked_on(root, makedev(8, 0), makedev(7, 3)), 0);
    /* a cycle in a hostile tree ends */
    fixture_write(root, "/sys/dev/block/7:3/slaves/dm-0/dev", "254:0\n");
    assert_int_equal(fl_dev_stacked_on(root, makedev(254, 0), makedev(8, 0)), 0);
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_plan_area_cipher),
        cmocka_unit_test(test_room),
        cmocka_unit_test(test_journal_parse),
        cmocka_unit_test(test_journal_parse_bad),
        cmocka_unit_test(test_journal_validate),
        cmocka_unit_test(test_uuid_and_backup_path),
        cmocka_unit_test(test_dev_stacked_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
