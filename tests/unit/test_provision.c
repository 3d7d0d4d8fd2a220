/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/provision.c: the Butane and Ignition configs of `fipsluks check --emit`, and
 * --luks NAME:DEVICE[:KEYFILE[:LABEL]].
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
#include <json-c/json.h>

#include "fipsluks/provision.h"

/* Decode a data URL with percent-encoding. */
static char *data_url_decode(const char *url)
{
    char *out = malloc(strlen(url) + 1), *q = out;

    assert_non_null(out);
    assert_int_equal(strncmp(url, "data:,", 6), 0);
    for (const char *p = url + 6; *p; p++) {
        if (*p == '%') {
            unsigned v;
            assert_int_equal(sscanf(p + 1, "%2x", &v), 1);
            *q++ = (char)v;
            p += 2;
        } else {
            *q++ = *p;
        }
    }
    *q = '\0';
    return out;
}

static void test_provision(void **state)
{
    const struct fl_provision *p = fl_provision_fips();
    char *butane = NULL, *ignition = NULL;
    json_object *doc, *o, *files, *units;

    assert_int_equal(fl_provision_butane(p, &butane), 0);
    assert_non_null(strstr(butane, "\nvariant: flatcar\nversion: 1.0.0\n"));
    assert_non_null(strstr(butane, "kernel_arguments:\n  should_exist:\n    - fips=1\n"));
    assert_non_null(strstr(butane, "    - path: /etc/system-fips\n      mode: 0644\n"));
    assert_non_null(strstr(butane, "          default_properties = fips=yes\n"));
    assert_non_null(strstr(butane,
                           "        ExecStart=/usr/bin/openssl fipsinstall -out /etc/ssl/fipsmodule.cnf "
                           "-module /usr/lib64/ossl-modules/fips.so\n"));
    /* before sshd, socket-activated (Flatcar) or not, without the default dependencies' cycle */
    assert_non_null(strstr(butane, "        Before=sshd.socket sshd.service systemd-user-sessions.service "
                                   "shutdown.target\n"));
    assert_non_null(strstr(butane, "        DefaultDependencies=no\n"));

    assert_int_equal(fl_provision_ignition(p, &ignition), 0);
    doc = json_tokener_parse(ignition);
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "ignition", &o));
    assert_string_equal(json_object_get_string(json_object_object_get(o, "version")), "3.3.0");
    assert_true(json_object_object_get_ex(doc, "kernelArguments", &o));
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(json_object_object_get(o, "shouldExist"), 0)),
        "fips=1");
    files = json_object_object_get(json_object_object_get(doc, "storage"), "files");
    assert_int_equal(json_object_array_length(files), p->n_files);
    for (size_t i = 0; i < p->n_files; i++) {
        json_object *f = json_object_array_get_idx(files, i);
        char *decoded = data_url_decode(
            json_object_get_string(json_object_object_get(json_object_object_get(f, "contents"), "source")));
        assert_string_equal(json_object_get_string(json_object_object_get(f, "path")), p->files[i].path);
        assert_int_equal(json_object_get_int(json_object_object_get(f, "mode")), 420);
        assert_string_equal(decoded, p->files[i].contents);
        free(decoded);
    }
    units = json_object_object_get(json_object_object_get(doc, "systemd"), "units");
    assert_int_equal(json_object_array_length(units), 1);
    o = json_object_array_get_idx(units, 0);
    assert_true(json_object_get_boolean(json_object_object_get(o, "enabled")));
    assert_string_equal(json_object_get_string(json_object_object_get(o, "contents")), p->units[0].contents);
    json_object_put(doc);
    free(butane);
    free(ignition);
}

/* --luks NAME:DEVICE[:KEYFILE[:LABEL]], with \: for a colon inside a field */
static void test_provision_luks_parse(void **state)
{
    struct fl_provision_luks l = {0};

    assert_int_equal(fl_provision_luks_parse("data:/dev/vdb", &l), 0);
    assert_string_equal(l.name, "data");
    assert_string_equal(l.device, "/dev/vdb");
    assert_null(l.key_file);
    assert_null(l.label);
    fl_provision_luks_clear(&l);
    assert_int_equal(
        fl_provision_luks_parse("root:/dev/disk/by-path/pci-0000\\:00\\:1f.2:https\\://k.example/"
                                "key:my\\\\label",
                                &l),
        0);
    assert_string_equal(l.device, "/dev/disk/by-path/pci-0000:00:1f.2");
    assert_string_equal(l.key_file, "https://k.example/key");
    assert_string_equal(l.label, "my\\label");
    assert_true(fl_provision_is_url(l.key_file));
    fl_provision_luks_clear(&l);
    assert_int_equal(fl_provision_luks_parse("a:/dev/x:/etc/key", &l), 0);
    assert_false(fl_provision_is_url(l.key_file));
    assert_true(fl_provision_is_url("data:,secret"));
    assert_false(fl_provision_is_url("://x"));
    fl_provision_luks_clear(&l);
    /* refused: no device, relative device, empty name, a slash in the name, empty fields, a fifth field */
    static const char *const bad[] = {"data",        "data:dev/vdb", ":/dev/vdb",          "a/b:/dev/vdb",
                                      "a:/dev/vdb:", "a:/dev/x:k:",  "a:/dev/x:k:l:extra", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (fl_provision_luks_parse(bad[i], &l) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
}

/* storage.luks with the PBKDF2 options, in both renderings; without volumes Butane says how to add them */
static void test_provision_luks(void **state)
{
    struct fl_provision p = *fl_provision_fips();
    char name0[] = "data", dev0[] = "/dev/vdb", key0[] = "https://k.example/key", label0[] = "da\"ta";
    char name1[] = "swap", dev1[] = "/dev/vdc", key1[] = "/etc/luks/swap.key";
    struct fl_provision_luks luks[2] = {
        {.name = name0, .device = dev0, .key_file = key0, .label = label0},
        {.name = name1, .device = dev1},
    };
    char *butane = NULL, *ignition = NULL;
    json_object *doc, *arr, *v, *opts;

    assert_int_equal(fl_provision_butane(&p, &butane), 0);
    assert_non_null(
        strstr(butane, "  # LUKS volumes: Ignition formats them with cryptsetup's defaults (argon2id)"));
    assert_non_null(strstr(butane, "--luks NAME:DEVICE[:KEYFILE[:LABEL]]"));
    free(butane);

    p.luks = luks;
    p.n_luks = 2;
    assert_int_equal(fl_provision_butane(&p, &butane), 0);
    assert_null(strstr(butane, "# LUKS volumes"));
    assert_non_null(strstr(butane,
                           "  luks:\n    - name: \"data\"\n      device: \"/dev/vdb\"\n      label: "
                           "\"da\\\"ta\"\n      key_file:\n        source: \"https://k.example/key\"\n"
                           "      wipe_volume: false\n      options:\n        - \"--pbkdf\"\n        - "
                           "\"pbkdf2\"\n        - \"--hash\"\n        - \"sha256\"\n"));
    assert_non_null(
        strstr(butane, "    - name: \"swap\"\n      device: \"/dev/vdc\"\n      wipe_volume: false\n"));
    free(butane);

    assert_int_equal(fl_provision_ignition(&p, &ignition), 0);
    doc = json_tokener_parse(ignition);
    assert_non_null(doc);
    arr = json_object_object_get(json_object_object_get(doc, "storage"), "luks");
    assert_int_equal(json_object_array_length(arr), 2);
    v = json_object_array_get_idx(arr, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(v, "name")), "data");
    assert_string_equal(json_object_get_string(json_object_object_get(v, "label")), "da\"ta");
    assert_string_equal(
        json_object_get_string(json_object_object_get(json_object_object_get(v, "keyFile"), "source")),
        "https://k.example/key");
    opts = json_object_object_get(v, "options");
    assert_int_equal(json_object_array_length(opts), 8);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(opts, 0)), "--pbkdf");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(opts, 1)), "pbkdf2");
    v = json_object_array_get_idx(arr, 1);
    assert_null(json_object_object_get(v, "keyFile"));
    json_object_put(doc);
    free(ignition);

    /* Ignition cannot read a local key file */
    luks[1].key_file = key1; /* cppcheck-suppress unreadVariable ; p.luks points at luks[] */
    assert_int_equal(fl_provision_ignition(&p, &ignition), -EINVAL);
    assert_int_equal(fl_provision_butane(&p, &butane), 0);
    assert_non_null(strstr(butane, "      key_file:\n        local: \"/etc/luks/swap.key\"\n"));
    free(butane);
}

/* --sysext URL: the image downloaded to /opt/extensions/fipsluks/fipsluks-VERSION-x86-64.raw and linked
 * from /etc/extensions/fipsluks.raw, in both renderings; a local path is refused */
static void test_provision_sysext(void **state)
{
    struct fl_provision p = *fl_provision_fips();
    const char *path = "/opt/extensions/fipsluks/fipsluks-" FL_VERSION "-x86-64.raw";
    char expect[512];
    char *butane = NULL, *ignition = NULL;
    json_object *doc, *storage, *files, *f, *links, *l;
    size_t n;

    assert_string_equal(fl_provision_sysext_path(), path);
    assert_int_equal(fl_provision_butane(&p, &butane), 0);
    assert_null(strstr(butane, "/opt/extensions"));
    assert_null(strstr(butane, "links:"));
    free(butane);
    assert_int_equal(fl_provision_ignition(&p, &ignition), 0);
    assert_null(strstr(ignition, "/opt/extensions"));
    assert_null(strstr(ignition, "\"links\""));
    free(ignition);

    p.sysext_url = "https://example.com/fipsluks \"x\".raw";
    assert_int_equal(fl_provision_butane(&p, &butane), 0);
    snprintf(expect, sizeof(expect),
             "    - path: %s\n      mode: 0644\n      contents:\n        source: "
             "\"https://example.com/fipsluks \\\"x\\\".raw\"\n",
             path);
    assert_non_null(strstr(butane, expect));
    snprintf(expect, sizeof(expect),
             "  links:\n    - path: /etc/extensions/fipsluks.raw\n      target: %s\n      hard: false\n"
             "systemd:\n",
             path);
    assert_non_null(strstr(butane, expect));
    free(butane);

    assert_int_equal(fl_provision_ignition(&p, &ignition), 0);
    doc = json_tokener_parse(ignition);
    assert_non_null(doc);
    storage = json_object_object_get(doc, "storage");
    files = json_object_object_get(storage, "files");
    n = json_object_array_length(files);
    assert_int_equal(n, fl_provision_fips()->n_files + 1);
    f = json_object_array_get_idx(files, n - 1);
    assert_string_equal(json_object_get_string(json_object_object_get(f, "path")), path);
    assert_int_equal(json_object_get_int(json_object_object_get(f, "mode")), 0644);
    assert_string_equal(
        json_object_get_string(json_object_object_get(json_object_object_get(f, "contents"), "source")),
        p.sysext_url);
    links = json_object_object_get(storage, "links");
    assert_int_equal(json_object_array_length(links), 1);
    l = json_object_array_get_idx(links, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(l, "path")),
                        "/etc/extensions/fipsluks.raw");
    assert_string_equal(json_object_get_string(json_object_object_get(l, "target")), path);
    assert_false(json_object_get_boolean(json_object_object_get(l, "hard")));
    json_object_put(doc);
    free(ignition);

    /* Ignition downloads it: a path on the machine running fipsluks means nothing there */
    p.sysext_url = "/srv/fipsluks.raw";
    assert_int_equal(fl_provision_butane(&p, &butane), -EINVAL);
    assert_int_equal(fl_provision_ignition(&p, &ignition), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provision_sysext),
        cmocka_unit_test(test_provision),
        cmocka_unit_test(test_provision_luks_parse),
        cmocka_unit_test(test_provision_luks),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
