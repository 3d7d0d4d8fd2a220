/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/journal.c: the migration journal token (version 2). Parsing, every kind of
 * journal that cannot be used (each with its problem), validation against a header, and the round
 * trip through a real LUKS2 header: fl_journal_write() into a token on an image file made with
 * libcryptsetup, read back with crypt_token_json_get() and parsed to the same journal.
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
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <libcryptsetup.h>

#include "fake-volume.h"
#include "fipsluks/migrate.h"
#include "journal.h"
#include "fixture.h"

static char dir[] = "/tmp/fl-test-journal.XXXXXX";
static char image[300];

#define J(body) "{\"type\":\"fipsluks-migration\",\"keyslots\":[]," body "}"
#define GOOD                                                                                                 \
    "\"version\":\"2\",\"keyslot\":\"1\",\"salt\":\"c2FsdA==\",\"temp\":\"3\",\"temp_hash\":\"sha256\","     \
    "\"temp_iterations\":\"251234\",\"priority\":\"prefer\",\"tokens\":[\"0\",\"2\"]"

static void test_journal_parse(void **state)
{
    struct fl_journal j;

    assert_int_equal(fl_journal_parse(J(GOOD), 5, &j), 0);
    assert_string_equal(j.why.text, "");
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
    assert_string_equal(j.why.text, "");
    assert_string_equal(j.temp_salt, "dA==");
    /* in place: no temporary copy */
    assert_int_equal(
        fl_journal_parse(J("\"version\":\"2\",\"keyslot\":\"0\",\"salt\":\"s\",\"temp\":\"none\","
                           "\"priority\":\"normal\""),
                         1, &j),
        0);
    assert_string_equal(j.why.text, "");
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
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"salt\":\"s\",\"temp\":\"99\""),
         "not a valid keyslot number"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_iterations\":\"5\""), "no hash"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "\"0\""),
         "no iteration count"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\","
           "\"temp_iterations\":\"4294967296\""),
         "no iteration count"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "\"9\","
           "\"temp_salt\":\"\""),
         "malformed"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "\"9\""),
         "no salt"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "\"9\","
           "\"salt\":\"s\",\"priority\":\"high\""),
         "priority"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "\"9\","
           "\"salt\":\"s\",\"priority\":\"normal\",\"tokens\":[\"40\"]"),
         "token list"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "\"9\","
           "\"salt\":\"s\",\"priority\":\"normal\",\"tokens\":\"0\""),
         "token list"},
        {J("\"version\":\"2\",\"keyslot\":\"2\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "\"9\","
           "\"salt\":\"s\",\"priority\":\"normal\""),
         "keyslot 2 itself"},
    };
    struct fl_journal j;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fl_journal_parse(bad[i].json, 7, &j), 0);
        if (!strstr(j.why.text, bad[i].problem))
            fail_msg("journal %zu (%s): problem '%s', expected '%s'", i, bad[i].json, j.why.text,
                     bad[i].problem);
        assert_int_equal(j.token, 7);
    }
    assert_int_equal(fl_journal_parse(NULL, 7, &j), 0);
    assert_non_null(strstr(j.why.text, "cannot be parsed"));
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
    assert_non_null(strstr(j[0].why.text, "neither keyslot 1 nor its temporary copy 3 exists"));
    /* two journals claiming one keyslot (as S in one, as T in the other): both refused */
    v.keyslots[0].id = 1;
    assert_int_equal(fl_journal_parse(J(GOOD), 0, &j[0]), 0);
    assert_int_equal(
        fl_journal_parse(J("\"version\":\"2\",\"keyslot\":\"3\",\"salt\":\"x\",\"temp\":\"4\","
                           "\"temp_hash\":\"sha256\",\"temp_iterations\":\"9\",\"priority\":\"normal\""),
                         1, &j[1]),
        0);
    add_keyslot(&v, 3, "argon2id", NULL, 4, 32768 + 258048);
    assert_int_equal(fl_journal_validate(j, 2, &v), 2);
    assert_non_null(strstr(j[0].why.text, "journal token 1 names the same keyslots"));
    assert_non_null(strstr(j[1].why.text, "journal token 0 names the same keyslots"));
    /* an in-place journal whose keyslot is gone cannot be finished */
    assert_int_equal(
        fl_journal_parse(J("\"version\":\"2\",\"keyslot\":\"9\",\"salt\":\"s\",\"temp\":\"none\","
                           "\"priority\":\"normal\""),
                         2, &j[2]),
        0);
    assert_int_equal(fl_journal_validate(&j[2], 1, &v), 1);
    assert_non_null(strstr(j[2].why.text, "overwritten in place"));
    /* a journal with a parse problem keeps it */
    assert_int_equal(fl_journal_parse("{}", 4, &j[0]), 0);
    assert_int_equal(fl_journal_validate(j, 1, &v), 1);
}

/* More kinds of journal that cannot be used: wrong JSON types, fields too long for the record. */
static void test_journal_parse_malformed(void **state)
{
    static const struct {
        const char *json, *problem;
    } bad[] = {
        {"", "cannot be parsed"},
        {"\"a string\"", "cannot be parsed"},
        {J("\"version\":2,\"keyslot\":\"0\""), "not a version 2 journal"},
        {J("\"version\":\"02x\",\"keyslot\":\"0\""), "not a version 2 journal"},
        {J("\"version\":\"2\""), "no valid keyslot"},
        {J("\"version\":\"2\",\"keyslot\":\"32\""), "no valid keyslot"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"salt\":\"s\",\"temp\":2"), "no temporary keyslot"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"\",\"temp_iterations\":\"9\""),
         "no hash"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":"
           "\"sha256sha256sha256sha256sha256sha256\",\"temp_iterations\":\"9\""),
         "no hash"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "\"x\""),
         "no iteration count"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\",\"temp_iterations\":"
           "9"),
         "no iteration count"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"none\",\"salt\":\"\""), "no salt for keyslot 1"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"none\",\"salt\":[\"s\"]"),
         "no salt for keyslot 1"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"none\",\"salt\":\"s\""), "priority"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"none\",\"salt\":\"s\",\"priority\":\"Normal\""),
         "priority"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"none\",\"salt\":\"s\",\"priority\":\"normal\","
           "\"tokens\":[0]"),
         "token list"},
        {J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"none\",\"salt\":\"s\",\"priority\":\"normal\","
           "\"tokens\":[\"0\",\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\","
           "\"13\","
           "\"14\",\"15\",\"16\",\"17\",\"18\",\"19\",\"20\",\"21\",\"22\",\"23\",\"24\",\"25\",\"26\","
           "\"27\","
           "\"28\",\"29\",\"30\",\"31\",\"0\"]"),
         "token list"},
    };
    struct fl_journal j;
    char salt[300];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fl_journal_parse(bad[i].json, 3, &j), 0);
        if (!strstr(j.why.text, bad[i].problem))
            fail_msg("journal %zu (%s): problem '%s', expected '%s'", i, bad[i].json, j.why.text,
                     bad[i].problem);
    }
    /* a salt longer than the record holds */
    memset(salt, 'A', 200);
    salt[200] = '\0';
    {
        char json[600];
        snprintf(json, sizeof(json),
                 J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"none\",\"salt\":\"%s\",\"priority\":"
                   "\"normal\""),
                 salt);
        assert_int_equal(fl_journal_parse(json, 3, &j), 0);
        assert_non_null(strstr(j.why.text, "no salt for keyslot 1"));
        snprintf(json, sizeof(json),
                 J("\"version\":\"2\",\"keyslot\":\"1\",\"temp\":\"2\",\"temp_hash\":\"sha256\","
                   "\"temp_iterations\":\"9\",\"temp_salt\":\"%s\",\"salt\":\"s\",\"priority\":\"normal\""),
                 salt);
        assert_int_equal(fl_journal_parse(json, 3, &j), 0);
        assert_non_null(strstr(j.why.text, "salt it records for its temporary keyslot is malformed"));
    }
}

static void test_journal_claims(void **state)
{
    struct fl_journal j;

    assert_int_equal(fl_journal_parse(J(GOOD), 0, &j), 0);
    assert_true(fl_journal_claims(&j, 1));
    assert_true(fl_journal_claims(&j, 3));
    assert_false(fl_journal_claims(&j, 0));
    assert_false(fl_journal_claims(&j, 2));
    assert_false(fl_journal_claims(&j, -1));
    /* in place: only the keyslot itself; -1 (no temporary copy) is claimed by nobody */
    assert_int_equal(
        fl_journal_parse(J("\"version\":\"2\",\"keyslot\":\"0\",\"salt\":\"s\",\"temp\":\"none\","
                           "\"priority\":\"ignore\""),
                         0, &j),
        0);
    assert_true(fl_journal_claims(&j, 0));
    assert_false(fl_journal_claims(&j, -1));
    assert_int_equal(j.priority, FL_PRIORITY_IGNORE);
}

/* Write @p in as a token of the image's header, read the token back and parse it. */
static int round_trip(const struct fl_journal *in, const char *backup, struct fl_journal *out,
                      json_object **ret_doc)
{
    struct crypt_device *cd;
    const char *json = NULL, *type = NULL;
    int id;

    assert_int_equal(crypt_init(&cd, image), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    id = fl_journal_write(cd, CRYPT_ANY_TOKEN, in, backup);
    assert_true(id >= 0);
    assert_int_equal(crypt_token_status(cd, id, &type), CRYPT_TOKEN_EXTERNAL_UNKNOWN);
    assert_string_equal(type, FL_MIGRATION_TOKEN);
    assert_int_equal(crypt_token_json_get(cd, id, &json), id);
    assert_int_equal(fl_journal_parse(json, id, out), 0);
    *ret_doc = json_tokener_parse(json);
    assert_non_null(*ret_doc);
    crypt_free(cd);
    return id;
}

static void test_journal_round_trip(void **state)
{
    struct fl_journal in = {.keyslot = 3,
                            .temp = 5,
                            .temp_iterations = 251234,
                            .priority = FL_PRIORITY_PREFER,
                            .tokens = {0, 7},
                            .n_tokens = 2},
                      out;
    json_object *doc, *o;
    int id, id2;

    strcpy(in.salt, "c2FsdCBvZiBrZXlzbG90IDM=");
    strcpy(in.temp_hash, "sha512");
    strcpy(in.temp_salt, "dGVtcCBzYWx0");
    id = round_trip(&in, "/var/lib/fipsluks/backup/x.luksheader", &out, &doc);
    assert_string_equal(out.why.text, "");
    assert_int_equal(out.token, id);
    assert_int_equal(out.keyslot, 3);
    assert_int_equal(out.temp, 5);
    assert_string_equal(out.salt, in.salt);
    assert_string_equal(out.temp_hash, "sha512");
    assert_int_equal(out.temp_iterations, 251234);
    assert_string_equal(out.temp_salt, in.temp_salt);
    assert_int_equal(out.priority, FL_PRIORITY_PREFER);
    assert_int_equal(out.n_tokens, 2);
    assert_int_equal(out.tokens[0], 0);
    assert_int_equal(out.tokens[1], 7);
    /* the token as stored: version 2, ids as decimal strings, the backup for the operator */
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "version")), "2");
    assert_true(json_object_is_type(json_object_object_get(doc, "keyslot"), json_type_string));
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "temp_iterations")), "251234");
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "backup")),
                        "/var/lib/fipsluks/backup/x.luksheader");
    assert_true(json_object_object_get_ex(doc, "keyslots", &o));
    assert_int_equal(json_object_array_length(o), 0);
    json_object_put(doc);

    /* before T's salt is known, in place, no tokens, no backup */
    memset(&in, 0, sizeof(in));
    in.keyslot = 0;
    in.temp = -1;
    in.priority = FL_PRIORITY_NORMAL;
    strcpy(in.salt, "cw==");
    id2 = round_trip(&in, NULL, &out, &doc);
    assert_int_not_equal(id2, id);
    assert_string_equal(out.why.text, "");
    assert_int_equal(out.keyslot, 0);
    assert_int_equal(out.temp, -1);
    assert_string_equal(out.temp_hash, "");
    assert_string_equal(out.temp_salt, "");
    assert_int_equal(out.n_tokens, 0);
    assert_int_equal(out.priority, FL_PRIORITY_NORMAL);
    assert_string_equal(json_object_get_string(json_object_object_get(doc, "temp")), "none");
    assert_false(json_object_object_get_ex(doc, "backup", NULL));
    assert_false(json_object_object_get_ex(doc, "temp_salt", NULL));
    json_object_put(doc);

    /* T written, its salt not yet recorded */
    in.temp = 1;
    in.priority = FL_PRIORITY_IGNORE;
    strcpy(in.temp_hash, "sha256");
    in.temp_iterations = 1000;
    round_trip(&in, "", &out, &doc);
    assert_string_equal(out.why.text, "");
    assert_int_equal(out.temp, 1);
    assert_string_equal(out.temp_salt, "");
    assert_int_equal(out.priority, FL_PRIORITY_IGNORE);
    assert_false(json_object_object_get_ex(doc, "backup", NULL));
    json_object_put(doc);
}

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(image, sizeof(image), "%s/v.img", dir);
    return fixture_luks2(image, "unit-secret", NULL);
}

static int teardown(void **state)
{
    return fixture_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal_parse),           cmocka_unit_test(test_journal_parse_bad),
        cmocka_unit_test(test_journal_parse_malformed), cmocka_unit_test(test_journal_validate),
        cmocka_unit_test(test_journal_claims),          cmocka_unit_test(test_journal_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
