/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/check-sshd.c: the verdict table (breaks / not approved), the sshd and ssh-client
 * checks: first-value-wins, Match blocks, +/-/^ lists and the defaults, files that are not regular.
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
#include "host-internal.h"
#include "fipsluks/host.h"
#include "fipsluks/sshd.h"

/* All five keywords with FIPS lists, so that only what a test adds decides. */
#define FIPS_ALL                                                                                             \
    "Ciphers aes256-gcm@openssh.com,aes128-ctr\n"                                                            \
    "MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512\n"                                                     \
    "KexAlgorithms ecdh-sha2-nistp256,diffie-hellman-group14-sha256\n"                                       \
    "HostKeyAlgorithms ecdsa-sha2-nistp256,rsa-sha2-512\n"                                                   \
    "PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256,rsa-sha2-256\n"

/* Parse @p text as /etc/ssh/sshd_config below the test root and judge it into @p c. */
static void judge(const char *text, struct fl_check *c)
{
    struct fl_sshd_config cfg = {0};

    assert_int_equal(fl_sshd_config_parse(root, "/etc/ssh/sshd_config", text, &cfg), 0);
    assert_int_equal(fl_sshd_evaluate(&cfg, c), 0);
    fl_sshd_config_clear(&cfg);
}

/* Every algorithm Debian's OpenSSH 9.2 lists (ssh -Q), with the verdict measured in the FIPS test host
 * (docs/sshd-fips.md), and the few older or newer names. */
static void test_verdict_table(void **state)
{
    static const struct {
        const char *name;
        enum fl_ssh_verdict want;
    } table[] = {
        /* measured: the handshake fails */
        {"chacha20-poly1305@openssh.com", FL_SSH_BREAKS},
        {"hmac-md5", FL_SSH_BREAKS},
        {"hmac-md5-96", FL_SSH_BREAKS},
        {"hmac-md5-etm@openssh.com", FL_SSH_BREAKS},
        {"hmac-md5-96-etm@openssh.com", FL_SSH_BREAKS},
        /* gone from OpenSSH: sshd rejects the line */
        {"hmac-ripemd160", FL_SSH_BREAKS},
        {"arcfour256", FL_SSH_BREAKS},
        {"blowfish-cbc", FL_SSH_BREAKS},
        {"cast128-cbc", FL_SSH_BREAKS},
        /* measured: works, not approved */
        {"3des-cbc", FL_SSH_NOT_APPROVED},
        {"umac-64@openssh.com", FL_SSH_NOT_APPROVED},
        {"umac-128@openssh.com", FL_SSH_NOT_APPROVED},
        {"umac-64-etm@openssh.com", FL_SSH_NOT_APPROVED},
        {"umac-128-etm@openssh.com", FL_SSH_NOT_APPROVED},
        {"hmac-sha1-96", FL_SSH_NOT_APPROVED},
        {"hmac-sha1-96-etm@openssh.com", FL_SSH_NOT_APPROVED},
        {"diffie-hellman-group1-sha1", FL_SSH_NOT_APPROVED},
        {"diffie-hellman-group14-sha1", FL_SSH_NOT_APPROVED},
        {"diffie-hellman-group-exchange-sha1", FL_SSH_NOT_APPROVED},
        {"curve25519-sha256", FL_SSH_NOT_APPROVED},
        {"curve25519-sha256@libssh.org", FL_SSH_NOT_APPROVED},
        {"sntrup761x25519-sha512", FL_SSH_NOT_APPROVED},
        {"sntrup761x25519-sha512@openssh.com", FL_SSH_NOT_APPROVED},
        {"mlkem768x25519-sha256", FL_SSH_NOT_APPROVED},
        {"ssh-ed25519", FL_SSH_NOT_APPROVED},
        {"ssh-ed25519-cert-v01@openssh.com", FL_SSH_NOT_APPROVED},
        {"sk-ssh-ed25519@openssh.com", FL_SSH_NOT_APPROVED},
        {"sk-ssh-ed25519-cert-v01@openssh.com", FL_SSH_NOT_APPROVED},
        {"ssh-dss", FL_SSH_NOT_APPROVED},
        {"ssh-dss-cert-v01@openssh.com", FL_SSH_NOT_APPROVED},
        {"ssh-rsa", FL_SSH_NOT_APPROVED},
        {"ssh-rsa-cert-v01@openssh.com", FL_SSH_NOT_APPROVED},
        {"no-such-algorithm", FL_SSH_NOT_APPROVED},
        /* measured: works, approved */
        {"aes128-cbc", FL_SSH_APPROVED},
        {"aes192-cbc", FL_SSH_APPROVED},
        {"aes256-cbc", FL_SSH_APPROVED},
        {"aes128-ctr", FL_SSH_APPROVED},
        {"aes192-ctr", FL_SSH_APPROVED},
        {"aes256-ctr", FL_SSH_APPROVED},
        {"aes128-gcm@openssh.com", FL_SSH_APPROVED},
        {"aes256-gcm@openssh.com", FL_SSH_APPROVED},
        {"hmac-sha1", FL_SSH_APPROVED},
        {"hmac-sha1-etm@openssh.com", FL_SSH_APPROVED},
        {"hmac-sha2-256", FL_SSH_APPROVED},
        {"hmac-sha2-512", FL_SSH_APPROVED},
        {"hmac-sha2-256-etm@openssh.com", FL_SSH_APPROVED},
        {"hmac-sha2-512-etm@openssh.com", FL_SSH_APPROVED},
        {"diffie-hellman-group14-sha256", FL_SSH_APPROVED},
        {"diffie-hellman-group16-sha512", FL_SSH_APPROVED},
        {"diffie-hellman-group18-sha512", FL_SSH_APPROVED},
        {"diffie-hellman-group-exchange-sha256", FL_SSH_APPROVED},
        {"ecdh-sha2-nistp256", FL_SSH_APPROVED},
        {"ecdh-sha2-nistp384", FL_SSH_APPROVED},
        {"ecdh-sha2-nistp521", FL_SSH_APPROVED},
        {"ecdsa-sha2-nistp256", FL_SSH_APPROVED},
        {"ecdsa-sha2-nistp384-cert-v01@openssh.com", FL_SSH_APPROVED},
        {"ecdsa-sha2-nistp521", FL_SSH_APPROVED},
        {"sk-ecdsa-sha2-nistp256@openssh.com", FL_SSH_APPROVED},
        {"webauthn-sk-ecdsa-sha2-nistp256@openssh.com", FL_SSH_APPROVED},
        {"rsa-sha2-256", FL_SSH_APPROVED},
        {"rsa-sha2-512", FL_SSH_APPROVED},
        {"rsa-sha2-256-cert-v01@openssh.com", FL_SSH_APPROVED},
        {"rsa-sha2-512-cert-v01@openssh.com", FL_SSH_APPROVED},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        struct fl_why why = {"unset"};
        enum fl_ssh_verdict got = fl_ssh_judge(table[i].name, &why);

        if (got != table[i].want)
            fail_msg("%s: %s, expected %s", table[i].name, fl_ssh_verdict_name(got),
                     fl_ssh_verdict_name(table[i].want));
        /* every verdict but "approved" says why */
        if ((got == FL_SSH_APPROVED) != fl_why_empty(&why))
            fail_msg("%s: why is %s", table[i].name, fl_why_empty(&why) ? "(none)" : why.text);
    }
    assert_string_equal(fl_ssh_verdict_name(FL_SSH_BREAKS), "breaks");
    assert_string_equal(fl_ssh_verdict_name(FL_SSH_NOT_APPROVED), "not approved");
    assert_string_equal(fl_ssh_verdict_name(FL_SSH_APPROVED), "approved");
}

static void test_all_fips_passes(void **state)
{
    struct fl_check c;

    judge(FIPS_ALL, &c);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_null(c.remedy);
    assert_string_equal(c.id, "sshd");
    fl_check_clear(&c);
}

static void test_breaks_fails(void **state)
{
    struct fl_check c;

    judge("Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,3des-cbc\n" FIPS_ALL, &c);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    /* each algorithm named, with its verdict */
    assert_evidence(&c,
                    "/etc/ssh/sshd_config:1: Ciphers chacha20-poly1305@openssh.com: breaks: OpenSSH takes "
                    "ChaCha20-Poly1305 from OpenSSL");
    assert_evidence(&c, "/etc/ssh/sshd_config:1: Ciphers aes256-gcm@openssh.com: approved");
    assert_evidence(&c, "/etc/ssh/sshd_config:1: Ciphers 3des-cbc: not approved: Triple-DES");
    assert_non_null(strstr(c.message, "Ciphers"));
    assert_non_null(strstr(c.message, "ssh_dispatch_run_fatal"));
    /* the remedy drops what breaks and keeps what works */
    assert_non_null(strstr(c.remedy, "/etc/ssh/sshd_config line 1: replace with \"Ciphers "
                                     "aes256-gcm@openssh.com,3des-cbc\" (without what breaks)"));
    fl_check_clear(&c);
}

/* What works but is not approved warns, with the reason; the guide's lock-out case (ed25519 host keys,
 * curve25519) no longer fails. */
static void test_not_approved_warns(void **state)
{
    struct fl_check c;

    judge("KexAlgorithms curve25519-sha256,ecdh-sha2-nistp256\nHostKeyAlgorithms ssh-ed25519,rsa-sha2-512\n"
          "Ciphers aes256-ctr\nMACs umac-128-etm@openssh.com,hmac-sha2-256\nPubkeyAcceptedAlgorithms "
          "rsa-sha2-512\n",
          &c);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_evidence(&c, "sshd_config:1: KexAlgorithms curve25519-sha256: not approved: X25519 is not "
                        "FIPS-approved; OpenSSH computes X25519 itself, so the handshake works");
    assert_evidence(&c, "sshd_config:2: HostKeyAlgorithms ssh-ed25519: not approved: Ed25519");
    assert_evidence(&c, "sshd_config:4: MACs umac-128-etm@openssh.com: not approved: UMAC");
    assert_non_null(strstr(c.message, "work on a FIPS host but are not FIPS-approved"));
    assert_non_null(strstr(c.message, "(MACs, KexAlgorithms, HostKeyAlgorithms)"));
    assert_non_null(strstr(c.remedy, "line 2 (optional: these work, but are not FIPS-approved"));
    assert_non_null(strstr(c.remedy, "replace with \"HostKeyAlgorithms rsa-sha2-512\""));
    fl_check_clear(&c);
}

static void test_first_value_wins(void **state)
{
    struct fl_check c;

    /* the later breaking line is ignored by sshd: pass, with a note */
    judge(FIPS_ALL "Ciphers chacha20-poly1305@openssh.com\n", &c);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_evidence(
        &c,
        "sshd_config:6: Ciphers chacha20-poly1305@openssh.com: ignored, /etc/ssh/sshd_config:1 came first");
    fl_check_clear(&c);

    /* the earlier breaking line wins over a later good one */
    judge("MACs hmac-md5\n" FIPS_ALL, &c);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "sshd_config:1: MACs hmac-md5: breaks");
    fl_check_clear(&c);
}

static void test_match_blocks(void **state)
{
    struct fl_check c;

    judge(FIPS_ALL "Match User legacy\n    PubkeyAcceptedAlgorithms ssh-ed25519,rsa-sha2-512\n"
                   "Match Address 10.0.0.0/8\n    PubkeyAcceptedAlgorithms rsa-sha2-512\n",
          &c);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_evidence(&c,
                    "sshd_config:7: PubkeyAcceptedAlgorithms ssh-ed25519,rsa-sha2-512 (in the Match block "
                    "/etc/ssh/sshd_config:6: Match User legacy)");
    assert_evidence(&c, "sshd_config:7: PubkeyAcceptedAlgorithms ssh-ed25519: not approved");
    assert_evidence(&c, "(in the Match block /etc/ssh/sshd_config:8: Match Address 10.0.0.0/8)");
    fl_check_clear(&c);

    /* a Match block's own first line counts, not the global one */
    judge(FIPS_ALL "Match User a\n  Ciphers aes128-ctr\n  Ciphers chacha20-poly1305@openssh.com\n", &c);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_evidence(&c, "Ciphers chacha20-poly1305@openssh.com: ignored, /etc/ssh/sshd_config:7 came first");
    fl_check_clear(&c);
}

static void test_defaults(void **state)
{
    struct fl_check c;

    /* no line at all: OpenSSH's defaults, a warning each */
    judge("PermitRootLogin no\n", &c);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_evidence(
        &c,
        "no line: Ciphers: OpenSSH's compiled-in default includes chacha20-poly1305@openssh.com (breaks)");
    assert_evidence(
        &c, "no line: MACs: OpenSSH's compiled-in default includes umac-64-etm@openssh.com (not approved), "
            "umac-128-etm@openssh.com (not approved), umac-64@openssh.com");
    assert_evidence(&c, "no line: KexAlgorithms:");
    assert_evidence(&c, "no line: HostKeyAlgorithms:");
    assert_evidence(&c, "no line: PubkeyAcceptedAlgorithms:");
    assert_non_null(
        strstr(c.remedy, "add to /etc/ssh/sshd_config, before any Match block: Ciphers aes256-gcm"));
    assert_non_null(strstr(c.message, "which include chacha20-poly1305, which breaks on a FIPS host"));
    /* only the defaults that break make the remedy necessary; replacing host key algorithms is optional */
    assert_true(!strncmp(c.remedy, "add to /etc/ssh/sshd_config, before any Match block: Ciphers ", 61));
    assert_non_null(strstr(c.remedy,
                           "\n(optional: the defaults work, but are not all FIPS-approved; first make "
                           "sure every client and host key has an approved algorithm) add to "
                           "/etc/ssh/sshd_config, before any Match block: HostKeyAlgorithms "));
    fl_check_clear(&c);

    /* defaults without chacha20 (only MACs left to them): not approved, no claim that anything breaks */
    judge("Ciphers aes128-ctr\nKexAlgorithms ecdh-sha2-nistp256\nHostKeyAlgorithms rsa-sha2-512\n"
          "PubkeyAcceptedAlgorithms rsa-sha2-512\n",
          &c);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_string_equal(c.message,
                        "sshd uses OpenSSH's defaults for MACs, which include algorithms that work on a "
                        "FIPS host but are not FIPS-approved (unless this OpenSSH drops them in FIPS "
                        "mode, as RHEL's does)");
    fl_check_clear(&c);

    /* a Match line alone does not replace the global one */
    judge("Ciphers aes128-ctr\nMACs hmac-sha2-256\nKexAlgorithms ecdh-sha2-nistp256\nHostKeyAlgorithms "
          "rsa-sha2-512\n"
          "Match User x\n PubkeyAcceptedAlgorithms rsa-sha2-512\n",
          &c);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_evidence(&c, "no line: PubkeyAcceptedAlgorithms:");
    fl_check_clear(&c);
}

static void test_prefixes(void **state)
{
    struct fl_check c;

    /* +: the defaults and more; a refused addition fails, the defaults warn */
    judge("Ciphers +aes256-cbc\n" FIPS_ALL, &c);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_evidence(
        &c, "sshd_config:1: Ciphers: OpenSSH's compiled-in default includes chacha20-poly1305@openssh.com");
    fl_check_clear(&c);
    judge("Ciphers +arcfour\n" FIPS_ALL, &c);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "Ciphers arcfour: breaks");
    fl_check_clear(&c);
    /* ^: at the head of the defaults, same judgement */
    judge("KexAlgorithms ^ecdh-sha2-nistp256\n" FIPS_ALL, &c);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_evidence(
        &c, "KexAlgorithms: OpenSSH's compiled-in default includes mlkem768x25519-sha256 (not approved)");
    fl_check_clear(&c);
    /* -: the defaults without what it names (wildcards allowed) */
    judge("Ciphers -chacha20-poly1305@openssh.com\nMACs -umac-*\n" FIPS_ALL, &c);
    assert_int_equal(c.status, FL_CHECK_PASS);
    fl_check_clear(&c);
    judge("KexAlgorithms -curve25519-sha256*\n" FIPS_ALL, &c);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_evidence(
        &c, "KexAlgorithms: OpenSSH's compiled-in default includes mlkem768x25519-sha256 (not "
            "approved), sntrup761x25519-sha512 (not approved), sntrup761x25519-sha512@openssh.com (not "
            "approved)");
    assert_false(has_evidence(&c, "curve25519-sha256@libssh.org"));
    fl_check_clear(&c);
}

/* Not a regular file: noted with what it is, never opened blocking; the main file too. */
static void test_not_regular(void **state)
{
    struct fl_sshd_config cfg = {0};
    struct fl_check c;
    char fifo[600];

    write_file("/etc/ssh/fifo/etc/ssh/sshd_config.d/10.conf", "Ciphers aes256-ctr\n");
    snprintf(fifo, sizeof(fifo), "%s/etc/ssh/fifo/etc/ssh/sshd_config.d/05.conf", root);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    snprintf(fifo, sizeof(fifo), "%s/etc/ssh/fifo/etc/ssh/sshd_config", root);
    assert_int_equal(mkfifo(fifo, 0644), 0);
    snprintf(fifo, sizeof(fifo), "%s/etc/ssh/fifo", root);
    assert_int_equal(
        fl_sshd_config_parse(fifo, "/etc/ssh/sshd_config", "Include sshd_config.d/*.conf\n", &cfg), 0);
    assert_int_equal(cfg.n_notes, 1);
    assert_string_equal(cfg.notes[0],
                        "/etc/ssh/sshd_config:1: Include /etc/ssh/sshd_config.d/05.conf: is a FIFO");
    assert_true(cfg.incomplete);
    assert_int_equal(cfg.n_settings, 1);
    assert_int_equal(fl_sshd_evaluate(&cfg, &c), 0);
    assert_int_equal(c.status, FL_CHECK_WARN);
    fl_check_clear(&c);
    fl_sshd_config_clear(&cfg);

    assert_int_equal(fl_check_sshd(fifo, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "/etc/ssh/sshd_config: is a FIFO");
    fl_check_clear(&c);
}

static void test_check_sshd_missing(void **state)
{
    struct fl_check c;
    char empty[600];

    snprintf(empty, sizeof(empty), "%s/empty", root);
    mkdir(empty, 0755);
    assert_int_equal(fl_check_sshd(empty, &c), 0);
    assert_int_equal(c.status, FL_CHECK_SKIP);
    assert_evidence(&c, "/etc/ssh/sshd_config: No such file or directory");
    fl_check_clear(&c);
}

/* The client side: /etc/ssh/ssh_config and its Includes, Host blocks as scopes, its own check row. */
static void test_ssh_client(void **state)
{
    struct fl_check c;
    char dir[600];

    snprintf(dir, sizeof(dir), "%s/client", root);
    mkdir(dir, 0755);
    fixture_write(dir, "/etc/ssh/ssh_config",
                  "Include /etc/ssh/ssh_config.d/*.conf\n"
                  "Host legacy.example\n    Ciphers chacha20-poly1305@openssh.com,aes128-ctr\n"
                  "Host *\n    Ciphers aes256-gcm@openssh.com\n");
    fixture_write(dir, "/etc/ssh/ssh_config.d/10-fips.conf",
                  "MACs hmac-sha2-256\nKexAlgorithms ecdh-sha2-nistp256\nHostKeyAlgorithms "
                  "ecdsa-sha2-nistp256\nPubkeyAcceptedAlgorithms rsa-sha2-512\nCiphers aes128-ctr\n");
    assert_int_equal(fl_check_ssh_client(dir, &c), 0);
    assert_string_equal(c.id, "ssh-client");
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "read /etc/ssh/ssh_config.d/10-fips.conf");
    assert_evidence(&c,
                    "/etc/ssh/ssh_config:3: Ciphers chacha20-poly1305@openssh.com,aes128-ctr (in the Host "
                    "block /etc/ssh/ssh_config:2: Host legacy.example)");
    assert_evidence(&c, "/etc/ssh/ssh_config:3: Ciphers chacha20-poly1305@openssh.com: breaks");
    assert_non_null(strstr(c.message, "ssh offers algorithms that break on a FIPS host (Ciphers)"));
    assert_non_null(strstr(c.message, "outgoing connections"));
    assert_non_null(strstr(c.remedy, "/etc/ssh/ssh_config line 3: replace with \"Ciphers aes128-ctr\""));
    fl_check_clear(&c);

    /* sshd_config's reader does not take Host as a block: there it is no keyword at all */
    fixture_write(dir, "/etc/ssh/sshd_config",
                  "Ciphers aes128-ctr\nHost x\nCiphers chacha20-poly1305@openssh.com\n");
    assert_int_equal(fl_check_sshd(dir, &c), 0);
    assert_false(has_evidence(&c, "Ciphers chacha20-poly1305@openssh.com: breaks"));
    fl_check_clear(&c);

    /* no ssh_config: skipped */
    snprintf(dir, sizeof(dir), "%s/empty-client", root);
    mkdir(dir, 0755);
    assert_int_equal(fl_check_ssh_client(dir, &c), 0);
    assert_int_equal(c.status, FL_CHECK_SKIP);
    assert_string_equal(c.message, "no ssh configuration (/etc/ssh/ssh_config cannot be read)");
    fl_check_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_table),      cmocka_unit_test(test_all_fips_passes),
        cmocka_unit_test(test_breaks_fails),       cmocka_unit_test(test_not_approved_warns),
        cmocka_unit_test(test_first_value_wins),   cmocka_unit_test(test_match_blocks),
        cmocka_unit_test(test_defaults),           cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_check_sshd_missing), cmocka_unit_test(test_not_regular),
        cmocka_unit_test(test_ssh_client),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
