/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The secrets migrate and reencrypt offer their protocol, as an operator reads about them. */
#include <stdio.h>

#include "fipsluks/secret.h"
#include "cli.h"

const char *fl_offer_source(const struct fl_secret_offer *offers, size_t n, int i)
{
    return i >= 0 && (size_t)i < n && offers[i].source ? offers[i].source : "the typed passphrase";
}

void fl_print_offer_keyslots(FILE *out, const struct fl_secret_offer *offers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (offers[i].keyslot >= 0)
            fprintf(out, "%s opens keyslot %d\n", fl_offer_source(offers, n, (int)i), offers[i].keyslot);
}
