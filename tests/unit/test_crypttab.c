/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/crypttab.c: the crypttab syntax as systemd-cryptsetup-generator reads it (fields,
 * key specs, options), hostile files (long lines, too many entries, a FIFO, links out of the root), matching
 * entries to volumes, and key files read below a root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture-root.h"
#include "fipsluks/crypttab.h"

/* root/@p rel, in a static buffer (one at a time). */
static const char *path_in_root(const char *rel)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    return path;
}

static void test_fields(void **state)
{
    struct fl_crypttab ct = {0};
    const struct fl_crypttab_entry *e;

    assert_int_equal(
        fl_crypttab_parse("# a comment\n"
                          "\n"
                          "   \t  # an indented comment\n"
                          "root UUID=0a1b2c3d-0000-4000-8000-000000000001 /etc/luks/root luks,discard\n"
                          "  data\t/dev/vdb   none   noauto,nofail,key-slot=3  trailing fields\n"
                          "swap /dev/vdc\n"
                          "onlyname\n"
                          "keyed PARTUUID=abc /key.bin:LABEL=usbkey tpm2-device=auto,keyfile-offset=16,"
                          "keyfile-size=32\n"
                          "colon /dev/vdd /etc/luks/a:b header=/boot/hdr,token-timeout=30,fido2-device=auto,"
                          "pkcs11-uri=auto\n"
                          "dash /dev/vde - plain\n"
                          "bad /dev/vdf /k key-slot=x,tcrypt\n"
                          "esc /dev/vdg /k header=/a\\,b,bitlk\r\n"
                          "last /dev/vdh /k",
                          &ct),
        0);
    assert_int_equal(ct.n, 9);
    assert_int_equal(ct.ignored, 1); /* onlyname */

    e = &ct.entries[0];
    assert_int_equal(e->line, 4);
    assert_string_equal(e->name, "root");
    assert_string_equal(e->device, "UUID=0a1b2c3d-0000-4000-8000-000000000001");
    assert_string_equal(e->key_file, "/etc/luks/root");
    assert_null(e->key_device);
    assert_string_equal(e->options, "luks,discard");
    assert_true(e->discard);
    assert_int_equal(e->key_slot, -1);
    assert_int_equal(e->type, FL_CRYPTTAB_LUKS);
    assert_false(e->noauto);

    e = &ct.entries[1];
    assert_string_equal(e->name, "data");
    assert_string_equal(e->key_spec, "none");
    assert_null(e->key_file);
    assert_true(e->noauto);
    assert_true(e->nofail);
    assert_int_equal(e->key_slot, 3);
    assert_string_equal(e->options, "noauto,nofail,key-slot=3");

    e = &ct.entries[2];
    assert_string_equal(e->name, "swap");
    assert_null(e->key_spec);
    assert_null(e->key_file);
    assert_null(e->options);

    e = &ct.entries[3];
    assert_string_equal(e->key_file, "/key.bin");
    assert_string_equal(e->key_device, "LABEL=usbkey");
    assert_int_equal(e->tokens, FL_CRYPTTAB_TPM2);
    assert_int_equal(e->keyfile_offset, 16);
    assert_int_equal(e->keyfile_size, 32);

    e = &ct.entries[4]; /* "a:b": b is no device, the colon is part of the file name */
    assert_string_equal(e->key_file, "/etc/luks/a:b");
    assert_null(e->key_device);
    assert_string_equal(e->header, "/boot/hdr");
    assert_int_equal(e->tokens, FL_CRYPTTAB_FIDO2 | FL_CRYPTTAB_PKCS11);

    e = &ct.entries[5];
    assert_null(e->key_file);
    assert_int_equal(e->type, FL_CRYPTTAB_PLAIN);

    e = &ct.entries[6];
    assert_string_equal(e->bad_option, "key-slot=x");
    assert_int_equal(e->key_slot, -1);
    assert_int_equal(e->type, FL_CRYPTTAB_TCRYPT);

    e = &ct.entries[7]; /* "\," is a comma in a value; the CR of a CRLF line is white space */
    assert_string_equal(e->header, "/a,b");
    assert_int_equal(e->type, FL_CRYPTTAB_BITLK);
    assert_string_equal(e->options, "header=/a\\,b,bitlk");

    e = &ct.entries[8]; /* no newline at the end */
    assert_string_equal(e->key_file, "/k");
    fl_crypttab_clear(&ct);
    assert_int_equal(ct.n, 0);
}

/* Lines and files an attacker controls: nothing read past the caps, nothing unbounded. */
static void test_hostile(void **state)
{
    struct fl_crypttab ct = {0};
    size_t big = FL_CRYPTTAB_MAX_LINE + 10, entries = FL_CRYPTTAB_MAX_ENTRIES + 5;
    char *text = malloc(big + 64), *many = malloc(entries * 16 + 1), *p;

    assert_non_null(text);
    assert_non_null(many);
    memset(text, 'a', big);
    strcpy(text + big, " /dev/x\nok /dev/y\n");
    text[1] = ' ';
    assert_int_equal(fl_crypttab_parse(text, &ct), 0);
    assert_int_equal(ct.n, 1);
    assert_string_equal(ct.entries[0].name, "ok");
    assert_int_equal(ct.ignored, 1);
    fl_crypttab_clear(&ct);

    p = many;
    for (size_t i = 0; i < entries; i++)
        p += sprintf(p, "n%zu /dev/v\n", i % 1000);
    assert_int_equal(fl_crypttab_parse(many, &ct), 0);
    assert_int_equal(ct.n, FL_CRYPTTAB_MAX_ENTRIES);
    assert_int_equal(ct.ignored, 5);
    fl_crypttab_clear(&ct);

    /* escapes and quotes are bytes like any other in a field; a lone backslash at the end of the options */
    assert_int_equal(fl_crypttab_parse("\"my disk\" '/dev/a b' more\n", &ct), 0);
    assert_int_equal(ct.n, 1);
    assert_string_equal(ct.entries[0].name, "\"my");
    assert_string_equal(ct.entries[0].device, "disk\"");
    assert_string_equal(ct.entries[0].key_file, "'/dev/a");
    assert_string_equal(ct.entries[0].options, "b'");
    fl_crypttab_clear(&ct);
    assert_int_equal(fl_crypttab_parse("x /dev/x \\x2fkey opt\\", &ct), 0);
    assert_string_equal(ct.entries[0].key_file, "\\x2fkey");
    assert_string_equal(ct.entries[0].options, "opt\\");
    fl_crypttab_clear(&ct);

    /* numbers out of range are malformed, not wrapped */
    assert_int_equal(fl_crypttab_parse("a /dev/a /k key-slot=99999999999,keyfile-size=999999999999\n", &ct),
                     0);
    assert_int_equal(ct.entries[0].key_slot, -1);
    assert_string_equal(ct.entries[0].bad_option, "key-slot=99999999999");
    assert_int_equal(ct.entries[0].keyfile_size, 0);
    fl_crypttab_clear(&ct);
    free(text);
    free(many);
}

static void test_node(void **state)
{
    char *n = NULL;

    assert_int_equal(fl_crypttab_node("UUID=abc-def", &n), 0);
    assert_string_equal(n, "/dev/disk/by-uuid/abc-def");
    free(n);
    assert_int_equal(fl_crypttab_node("LABEL=\"my disk/x\"", &n), 0);
    assert_string_equal(n, "/dev/disk/by-label/my\\x20disk\\x2fx");
    free(n);
    assert_int_equal(fl_crypttab_node("PARTLABEL=d\xc3\xa9j\xff", &n), 0);
    assert_string_equal(n, "/dev/disk/by-partlabel/d\xc3\xa9j\\xff");
    free(n);
    assert_int_equal(fl_crypttab_node("PARTUUID=1-2", &n), 0);
    assert_string_equal(n, "/dev/disk/by-partuuid/1-2");
    free(n);
    assert_int_equal(fl_crypttab_node("/dev/vda", &n), 0);
    assert_string_equal(n, "/dev/vda");
    free(n);
}

static void test_read_and_find(void **state)
{
    struct fl_crypttab ct = {0};
    char path[1024], other[1024];

    /* missing: empty */
    assert_int_equal(fl_crypttab_read(root, &ct), 0);
    assert_int_equal(ct.n, 0);
    write_file("/dev/vda", "image a");
    write_file("/dev/vdb", "image b");
    write_file("/img/c", "image c");
    assert_int_equal(mkdir(path_in_root("/dev/disk"), 0755), 0);
    assert_int_equal(mkdir(path_in_root("/dev/disk/by-partuuid"), 0755), 0);
    make_link("/dev/disk/by-partuuid/p-1", "../../vdb");
    write_file("/etc/crypttab", "byuuid UUID=AAAA-1 /k\n"
                                "bylink /dev/disk/by-uuid/bbbb-2 /k\n"
                                "bypart PARTUUID=p-1 /k\n"
                                "byfile /img/c /k\n"
                                "bylabel LABEL=lab /k\n");
    assert_int_equal(fl_crypttab_read(root, &ct), 0);
    assert_int_equal(ct.n, 5);
    snprintf(path, sizeof(path), "%s/dev/vda", root);
    assert_string_equal(fl_crypttab_find(&ct, root, path, "aaaa-1", NULL)->name, "byuuid");
    assert_string_equal(fl_crypttab_find(&ct, root, path, "BBBB-2", NULL)->name, "bylink");
    assert_null(fl_crypttab_find(&ct, root, path, "cccc", NULL));
    assert_string_equal(fl_crypttab_find(&ct, root, path, "cccc", "lab")->name, "bylabel");
    snprintf(other, sizeof(other), "%s/dev/vdb", root);
    assert_string_equal(fl_crypttab_find(&ct, root, other, "cccc", NULL)->name, "bypart");
    snprintf(other, sizeof(other), "%s/img/c", root);
    assert_string_equal(fl_crypttab_find(&ct, root, other, NULL, NULL)->name, "byfile");
    fl_crypttab_clear(&ct);

    /* a FIFO is refused, never waited on */
    assert_int_equal(unlink(path_in_root("/etc/crypttab")), 0);
    assert_int_equal(mkfifo(path_in_root("/etc/crypttab"), 0644), 0);
    assert_int_equal(fl_crypttab_read(root, &ct), -ENXIO);
    assert_int_equal(ct.n, 0);
}

static void test_read_key(void **state)
{
    struct fl_crypttab ct = {0};
    struct fl_secret *s = NULL;
    char outside[1024];

    write_file("/etc/luks/root", "0123456789abcdef-secret");
    write_file("/etc/luks/rel", "relative");
    assert_int_equal(mkfifo(path_in_root("/etc/luks/fifo"), 0600), 0);
    /* a file outside the root that a link points at by its host path: resolved inside the root instead */
    snprintf(outside, sizeof(outside), "%s-outside", root);
    {
        FILE *f = fopen(outside, "w");
        assert_non_null(f);
        fputs("outside-secret", f);
        fclose(f);
    }
    make_link("/etc/luks/out", outside);
    make_link("/etc/luks/up", "../../../../../../../../etc/luks/root");
    assert_int_equal(fl_crypttab_parse("a /dev/a /etc/luks/root keyfile-offset=4,keyfile-size=6\n"
                                       "b /dev/b none\n"
                                       "c /dev/c /etc/luks/fifo\n"
                                       "d /dev/d /etc/luks/out\n"
                                       "e /dev/e /etc/luks/up\n"
                                       "f /dev/f etc/luks/rel\n"
                                       "g /dev/g /etc/luks/root:/dev/sdz1\n"
                                       "h /dev/h /etc/luks\n"
                                       "i /dev/i /etc/luks/missing\n",
                                       &ct),
                     0);
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[0], &s), 0);
    assert_int_equal(s->len, 6);
    assert_memory_equal(s->data, "456789", 6);
    fl_secret_free(s);
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[1], &s), -ENOKEY);
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[2], &s), -ENXIO);
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[3], &s), -ENOENT); /* not the file outside */
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[4], &s), 0);       /* ".." stops at the root */
    assert_int_equal(s->len, strlen("0123456789abcdef-secret"));
    fl_secret_free(s);
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[5], &s), 0);
    assert_memory_equal(s->data, "relative", 8);
    fl_secret_free(s);
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[6], &s), -EREMOTE);
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[7], &s), -EISDIR);
    assert_int_equal(fl_crypttab_read_key(root, &ct.entries[8], &s), -ENOENT);
    fl_crypttab_clear(&ct);
    unlink(outside);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_node),
        cmocka_unit_test_setup(test_read_and_find, fixture_fresh_root),
        cmocka_unit_test_setup(test_read_key, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
