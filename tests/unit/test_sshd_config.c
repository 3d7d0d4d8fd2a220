/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/sshd-config.c: sshd_config syntax (case, '=', quotes, comments, aliases),
 * Include with globs below a root, include cycles and links, Match blocks as scopes.
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
#include "fipsluks/sshd.h"

static void test_syntax(void **state)
{
    struct fl_sshd_config cfg = {0};
    const char *text = "# comment\n"
                       "  ciphers aes128-ctr   # trailing comment\n"
                       "MACS=hmac-sha2-256\n"
                       "KexAlgorithms = ecdh-sha2-nistp256\n"
                       "HostKeyAlgorithms \"rsa-sha2-512,rsa-sha2-256\"\n"
                       "PubkeyAcceptedKeyTypes\trsa-sha2-512\n"
                       "Ciphers\n" /* no value: not a setting */
                       "PermitRootLogin no\n";

    assert_int_equal(fl_sshd_config_parse(root, "/etc/ssh/sshd_config", text, &cfg), 0);
    assert_int_equal(cfg.n_settings, 5);
    assert_int_equal(cfg.settings[0].keyword, FL_SSHD_CIPHERS);
    assert_string_equal(cfg.settings[0].value, "aes128-ctr");
    assert_int_equal(cfg.settings[0].line, 2);
    assert_int_equal(cfg.settings[1].keyword, FL_SSHD_MACS);
    assert_string_equal(cfg.settings[1].value, "hmac-sha2-256");
    assert_int_equal(cfg.settings[2].keyword, FL_SSHD_KEX);
    assert_string_equal(cfg.settings[2].value, "ecdh-sha2-nistp256");
    assert_int_equal(cfg.settings[3].keyword, FL_SSHD_HOSTKEY);
    assert_string_equal(cfg.settings[3].value, "rsa-sha2-512,rsa-sha2-256");
    assert_int_equal(cfg.settings[4].keyword, FL_SSHD_PUBKEY);
    assert_int_equal(cfg.settings[4].line, 6);
    assert_null(cfg.settings[4].match);
    fl_sshd_config_clear(&cfg);
}

static void test_include(void **state)
{
    struct fl_sshd_config cfg = {0};
    struct fl_check c;

    write_file("/etc/ssh/conf.d/20-late.conf", "\n\nMACs umac-128@openssh.com\n");
    write_file("/etc/ssh/conf.d/10-early.conf", "Ciphers aes128-ctr\nMatch User x\n  Ciphers arcfour\n");
    write_file("/etc/ssh/conf.d/notes.txt", "Ciphers 3des-cbc\n");
    /* relative to /etc/ssh, globbed and sorted; a Match block ends with its file */
    assert_int_equal(fl_sshd_config_parse(
                         root, "/etc/ssh/sshd_config",
                         "Include conf.d/*.conf /etc/ssh/none.d/*\nHostKeyAlgorithms rsa-sha2-512\n", &cfg),
                     0);
    assert_int_equal(cfg.n_files, 3);
    assert_string_equal(cfg.files[1], "/etc/ssh/conf.d/10-early.conf");
    assert_string_equal(cfg.files[2], "/etc/ssh/conf.d/20-late.conf");
    assert_int_equal(cfg.n_settings, 4);
    assert_string_equal(cfg.settings[1].value, "arcfour");
    assert_non_null(cfg.settings[1].match);
    assert_string_equal(cfg.settings[2].file, "/etc/ssh/conf.d/20-late.conf");
    assert_int_equal(cfg.settings[2].line, 3);
    assert_null(cfg.settings[2].match);
    assert_null(cfg.settings[3].match); /* after the include: global again */
    assert_int_equal(cfg.n_notes, 1);
    assert_non_null(
        strstr(cfg.notes[0], "/etc/ssh/sshd_config:1: Include /etc/ssh/none.d/*: matched no files"));
    assert_int_equal(fl_sshd_evaluate(&cfg, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "/etc/ssh/conf.d/20-late.conf:3: MACs umac-128@openssh.com: not approved");
    assert_evidence(&c, "/etc/ssh/conf.d/10-early.conf:3: Ciphers arcfour: breaks");
    fl_check_clear(&c);
    fl_sshd_config_clear(&cfg);
}

static void test_include_loop_and_link(void **state)
{
    struct fl_sshd_config cfg = {0};
    char link[600];

    /* an absolute link inside the root resolves inside the root */
    write_file("/usr/share/ssh/fips.conf", "Ciphers aes256-ctr\n");
    write_file("/etc/ssh/self.conf", "Include /etc/ssh/self.conf\n");
    snprintf(link, sizeof(link), "%s/etc/ssh/linked.conf", root);
    unlink(link);
    assert_int_equal(symlink("/usr/share/ssh/fips.conf", link), 0);
    assert_int_equal(
        fl_sshd_config_parse(root, "/etc/ssh/sshd_config", "Include linked.conf self.conf\n", &cfg), 0);
    assert_int_equal(cfg.n_settings, 1);
    assert_string_equal(cfg.settings[0].file, "/etc/ssh/linked.conf");
    assert_string_equal(cfg.settings[0].value, "aes256-ctr");
    /* the loop is found by identity at once (it used to be read 16 times, to the depth limit) */
    assert_int_equal(cfg.n_files, 3);
    assert_int_equal(cfg.n_notes, 1);
    assert_string_equal(cfg.notes[0],
                        "/etc/ssh/self.conf:1: Include /etc/ssh/self.conf: an include cycle: this file (same "
                        "device and inode) "
                        "is already being read; not read again");
    fl_sshd_config_clear(&cfg);
}

/* The first line per Match block wins, found in one pass; each Match block is its own scope. */
static void test_scopes(void **state)
{
    struct fl_sshd_config cfg = {0};

    assert_int_equal(
        fl_sshd_config_parse(root, "/etc/ssh/sshd_config",
                             "Ciphers aes128-ctr\nMatch User a\nCiphers arcfour\nCiphers aes256-ctr\n"
                             "  match User b\nCiphers aes256-ctr\n",
                             &cfg),
        0);
    assert_int_equal(cfg.n_scopes, 2);
    assert_string_equal(cfg.scopes[1], "/etc/ssh/sshd_config:5: match User b");
    assert_int_equal(cfg.settings[0].scope, 0);
    assert_int_equal(cfg.settings[1].scope, 1);
    assert_int_equal(cfg.settings[2].scope, 1);
    assert_int_equal(cfg.settings[3].scope, 2);
    assert_ptr_equal(cfg.settings[3].match, cfg.scopes[1]);
    fl_sshd_config_clear(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_include_loop_and_link),
        cmocka_unit_test(test_scopes),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
