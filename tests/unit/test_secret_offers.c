/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests: how migrate and reencrypt name the secrets they offer (src/cli/secret-offers.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fipsluks/secret.h"
#include "cli.h"

static void test_source(void **state)
{
    struct fl_secret_offer offers[] = {
        {.source = "key file 'k0'", .keyslot = 0},
        {.source = "standard input", .keyslot = -1},
        {.source = NULL, .keyslot = -1},
    };

    (void)state;
    assert_string_equal(fl_offer_source(offers, 3, 0), "key file 'k0'");
    assert_string_equal(fl_offer_source(offers, 3, 1), "standard input");
    assert_string_equal(fl_offer_source(offers, 3, 2), "the typed passphrase");
    assert_string_equal(fl_offer_source(offers, 3, -1), "the typed passphrase");
    assert_string_equal(fl_offer_source(offers, 3, 3), "the typed passphrase");
    assert_string_equal(fl_offer_source(NULL, 0, 0), "the typed passphrase");
}

static void test_print_keyslots(void **state)
{
    struct fl_secret_offer offers[] = {
        {.source = "key file 'k1'", .keyslot = 1},
        {.source = "key file 'again'", .keyslot = -1}, /* opens nothing of its own: not listed */
        {.source = "standard input", .keyslot = 0},
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(out);
    fl_print_offer_keyslots(out, offers, 3);
    fl_print_offer_keyslots(out, offers, 0);
    fclose(out);
    assert_string_equal(buf, "key file 'k1' opens keyslot 1\nstandard input opens keyslot 0\n");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source),
        cmocka_unit_test(test_print_keyslots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
