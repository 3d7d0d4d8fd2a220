/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for report's reader (src/lib/fleet-record.c): typed fields, strict JSON, bounded cost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fipsluks/fleet.h"

#include "../../src/lib/fleet-record.h"

/* What the reader gave, as text: one line per record or error. */
struct seen {
    char *buf;
    size_t size;
    FILE *out;
};

static const char *type_name(enum fl_jtype t)
{
    static const char *const names[] = {"absent", "null",   "bool",  "int",
                                        "double", "string", "array", "object"};
    return names[t];
}

static void put_str(FILE *out, const char *name, struct fl_jstr s)
{
    if (s.type == FL_J_STRING)
        fprintf(out, " %s=\"%s\"", name, s.s);
    else if (s.type != FL_J_ABSENT)
        fprintf(out, " %s:%s", name, type_name(s.type));
}

static void put_volume(FILE *out, const struct fl_rec_volume *v)
{
    fprintf(out, " [vol %s", type_name(v->type));
    put_str(out, "path", v->path);
    put_str(out, "status", v->status);
    if (v->fips_compatible.type != FL_J_ABSENT)
        fprintf(out, " compatible:%s=%d", type_name(v->fips_compatible.type), v->fips_compatible.v);
    if (v->luks_version.type != FL_J_ABSENT)
        fprintf(out, " luks:%s=%lld", type_name(v->luks_version.type), (long long)v->luks_version.v);
    if (v->crypttab != FL_J_ABSENT)
        fprintf(out, " crypttab:%s", type_name(v->crypttab));
    fprintf(out, " integrity=%d findings:%s", v->integrity, type_name(v->findings));
    for (size_t i = 0; i < v->n_findings; i++) {
        fprintf(out, " {");
        put_str(out, "rule", v->finding[i].rule);
        put_str(out, "severity", v->finding[i].severity);
        put_str(out, "object", v->finding[i].object);
        fprintf(out, " }");
    }
    fprintf(out, " keyslots:%s", type_name(v->keyslots));
    for (size_t i = 0; i < v->n_keyslots; i++) {
        const struct fl_rec_keyslot *ks = &v->keyslot[i];
        fprintf(out, " {id:%s=%lld", type_name(ks->id.type), (long long)ks->id.v);
        put_str(out, "kdf", ks->kdf);
        put_str(out, "crypttab_key", ks->crypttab_key);
        fprintf(out, " tokens=%zu%s", ks->n_tokens, ks->token_malformed ? " malformed" : "");
        put_str(out, "first", ks->first_token);
        fprintf(out, " }");
    }
    fprintf(out, "]");
}

static int on_record(void *ctx, unsigned long line, const struct fl_rec *rec)
{
    struct seen *s = ctx;

    fprintf(s->out, "%lu: %s", line, type_name(rec->type));
    put_str(s->out, "tool", rec->tool);
    put_str(s->out, "record", rec->record);
    if (rec->schema_version.type != FL_J_ABSENT)
        fprintf(s->out, " schema:%s=%lld", type_name(rec->schema_version.type),
                (long long)rec->schema_version.v);
    if (rec->host != FL_J_ABSENT)
        fprintf(s->out, " host:%s", type_name(rec->host));
    put_str(s->out, "machine_id", rec->machine_id);
    put_str(s->out, "hostname", rec->hostname);
    if (rec->self.path.type != FL_J_ABSENT)
        put_volume(s->out, &rec->self);
    for (size_t i = 0; i < rec->n_volumes; i++)
        put_volume(s->out, &rec->volume[i]);
    fputc('\n', s->out);
    return 0;
}

static int on_error(void *ctx, unsigned long line, const char *message)
{
    struct seen *s = ctx;

    fprintf(s->out, "%lu: error: %s\n", line, message);
    return 0;
}

/* Read @p len bytes of @p text in pieces of @p piece bytes (0: all at once). @return what came out. */
static char *read_text(const char *text, size_t len, size_t piece)
{
    struct seen s = {0};
    struct fl_rec_sink sink = {on_record, on_error, &s};
    struct fl_rec_reader *rd = NULL;

    s.out = open_memstream(&s.buf, &s.size);
    assert_non_null(s.out);
    assert_int_equal(fl_rec_reader_new(&sink, &rd), 0);
    if (piece == 0)
        piece = len ? len : 1;
    for (size_t off = 0; off < len; off += piece)
        assert_int_equal(fl_rec_reader_feed(rd, text + off, len - off < piece ? len - off : piece), 0);
    assert_int_equal(fl_rec_reader_finish(rd), 0);
    fl_rec_reader_free(rd);
    fclose(s.out);
    return s.buf;
}

/* The same output whatever the pieces: @return it. */
static char *read_all_ways(const char *text, size_t len)
{
    char *ref = read_text(text, len, 0);

    for (size_t piece = 1; piece <= 64; piece = piece < 4 ? piece + 1 : piece * 2 + 1) {
        char *got = read_text(text, len, piece);
        if (strcmp(ref, got))
            fail_msg("pieces of %zu bytes:\n%s\nwhole:\n%s", piece, got, ref);
        free(got);
    }
    return ref;
}

static void expect(const char *text, const char *want)
{
    char *got = read_all_ways(text, strlen(text));

    if (strcmp(got, want))
        fail_msg("for %s\ngot:\n%s\nwanted:\n%s", text, got, want);
    free(got);
}

/* The fields report reads, typed; the rest skipped; the last of a repeated member counts. */
static void test_fields(void **state)
{
    (void)state;
    expect("{\"tool\":\"fipsluks\",\"schema_version\":1,\"record\":\"volume\",\"other\":{\"x\":[1,2,{\"y\":"
           "null}]},"
           "\"host\":{\"hostname\":\"a\",\"machine_id\":\"m\"},\"path\":\"/x\",\"status\":\"ok\","
           "\"fips_compatible\":false,\"luks_version\":2,\"segments\":[{\"integrity\":\"none\"},7],"
           "\"findings\":[{\"rule\":\"FL-KDF\",\"severity\":\"error\",\"object\":\"keyslot "
           "1\",\"remedy\":\"rm\"}],"
           "\"keyslots\":[{\"id\":1,\"kdf\":\"argon2id\",\"crypttab_key\":\"opens\",\"tokens\":[{\"type\":"
           "\"systemd-tpm2\"},{}]},3],"
           "\"crypttab\":{\"name\":\"root\"}}\n",
           "1: object tool=\"fipsluks\" record=\"volume\" schema:int=1 host:object machine_id=\"m\" "
           "hostname=\"a\" "
           "[vol object path=\"/x\" status=\"ok\" compatible:bool=0 luks:int=2 crypttab:object integrity=0 "
           "findings:array "
           "{ rule=\"FL-KDF\" severity=\"error\" object=\"keyslot 1\" } keyslots:array "
           "{id:int=1 kdf=\"argon2id\" crypttab_key=\"opens\" tokens=2 first=\"systemd-tpm2\" } {id:absent=0 "
           "tokens=0 }]\n");
    /* repeated members: the last one, whole */
    expect("{\"host\":{\"hostname\":\"a\",\"machine_id\":\"m\"},\"host\":{\"hostname\":\"b\"},\"path\":1,"
           "\"path\":\"/y\",\"findings\":[{\"rule\":\"A\"}],\"findings\":[],\"segments\":[{\"integrity\":"
           "\"aead\"}],\"segments\":[]}\n",
           "1: object host:object hostname=\"b\" [vol object path=\"/y\" integrity=0 findings:array "
           "keyslots:absent]\n");
    /* wrong types are kept as types */
    expect(
        "{\"tool\":7,\"schema_version\":1.0,\"host\":[],\"volumes\":[3,{\"path\":\"/a\",\"findings\":{},"
        "\"keyslots\":[{\"tokens\":[1]}],\"segments\":[{\"integrity\":\"hmac(sha256)\"}]}]}\n",
        "1: object tool:int schema:double=0 host:array [vol int integrity=0 findings:absent keyslots:absent] "
        "[vol object path=\"/a\" integrity=1 findings:object keyslots:array {id:absent=0 tokens=1 malformed "
        "}]\n");
    /* not objects */
    expect("[1,2]\n\"s\"\n12\ntrue null\n", "1: array\n2: string\n3: int\n4: bool\n4: null\n");
}

/* Escapes are decoded, a member name too; surrogate pairs make one character, lone ones U+FFFD. */
static void test_strings(void **state)
{
    (void)state;
    expect("{\"p\\u0061th\":\"/a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\\ud800x\\udc00\\n\"}\n",
           "1: object [vol object path=\"/a\"b\\c/d\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx\xef\xbf\xbd\n\" "
           "integrity=0 "
           "findings:absent keyslots:absent]\n");
}

/* Bad JSON: an error at the line the value starts on (and where it went wrong), then the next line
 * that starts with '{'. */
static void test_errors(void **state)
{
    (void)state;
    expect("{\"a\":1,}\n{\"tool\":\"t\"}\n", "1: error: invalid JSON: a member name is not a string\n"
                                             "2: object tool=\"t\"\n");
    expect("{\"a\":\n tru }\n x {\n{\"tool\":\"t\"}\n",
           "1: error: invalid JSON: unexpected character (line 2)\n4: object tool=\"t\"\n");
    expect("{\"a\":\"x\ty\"}\n", "1: error: invalid JSON: a control character in a string\n");
    expect("{\"a\":01}\n", "1: error: invalid JSON: no ',' or '}' after a member\n");
    expect("{\"a\":\"\\x\"}\n", "1: error: invalid JSON: a bad escape in a string\n");
    expect("{\"a\":1} garbage\n\n{\"tool\":\"t\"}",
           "1: object\n1: error: invalid JSON: unexpected character\n"
           "3: object tool=\"t\"\n");
    expect("{\"a\": [1, 2", "1: error: a JSON value is cut short at the end of the input\n");
    expect("{\"a\": 12", "1: error: a JSON value is cut short at the end of the input\n");
    expect("12", "1: int\n");
    expect("{\"a\":\"\\ud800", "1: error: a JSON value is cut short at the end of the input\n");
}

/* What one value may cost: strings, nesting, a NUL byte. */
static void test_limits(void **state)
{
    size_t n = FL_FLEET_STRING_MAX + 100, len;
    char *text = malloc(2 * n + 64), *got, deep[200];

    (void)state;
    assert_non_null(text);
    len = (size_t)sprintf(text, "{\"label\":\"");
    memset(text + len, 'a', n);
    len += n;
    len += (size_t)sprintf(text + len, "\"}\n{\"tool\":\"t\"}\n");
    got = read_text(text, len, 0);
    assert_string_equal(got,
                        "1: error: a string longer than 4096 characters: refused\n2: object tool=\"t\"\n");
    free(got);
    /* 4096 characters of 2 bytes each are 4096 characters */
    len = (size_t)sprintf(text, "{\"label\":\"");
    for (size_t i = 0; i < FL_FLEET_STRING_MAX; i++)
        len += (size_t)sprintf(text + len, "\xc3\xa9");
    len += (size_t)sprintf(text + len, "\"}\n");
    got = read_text(text, len, 0);
    assert_string_equal(got, "1: object\n");
    free(got);
    free(text);

    /* more members and elements than FL_FLEET_TOKENS_MAX: refused (the object, the array, each ',') */
    n = FL_FLEET_TOKENS_MAX;
    text = malloc(2 * n + 64);
    assert_non_null(text);
    len = (size_t)sprintf(text, "{\"a\":[");
    for (size_t i = 0; i < n; i++) {
        text[len++] = '0';
        text[len++] = ',';
    }
    len += (size_t)sprintf(text + len, "0]}\n{\"b\":1}\n");
    got = read_text(text, len, 1u << 16);
    assert_string_equal(
        got, "1: error: more members and elements than 4194304 in one value: refused\n2: object\n");
    free(got);
    len = (size_t)sprintf(text, "{\"a\":[");
    for (size_t i = 0; i + 4 < n; i++) {
        text[len++] = '0';
        text[len++] = ',';
    }
    len += (size_t)sprintf(text + len, "0]}\n");
    got = read_text(text, len, 1u << 16);
    assert_string_equal(got, "1: object\n");
    free(got);
    free(text);

    memset(deep, '[', sizeof(deep));
    got = read_text(deep, sizeof(deep), 7);
    assert_string_equal(got, "1: error: invalid JSON: nesting too deep\n");
    free(got);
    got = read_text("{\"a\":\0}\n{\"b\":1}\n", 16, 0);
    assert_string_equal(got, "1: error: invalid JSON: unexpected character\n2: object\n");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
