/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: arbitrary bytes as `fipsluks report` input. The reader (fleet-record.c) must give
 * the same records and errors whether the input comes whole or in pieces of any size (the first
 * byte picks the size), and the merge (fleet.c) must take whatever it gives: a difference aborts, a
 * crash or a leak is the sanitizers' to find.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fipsluks/fleet.h"
#include "fleet-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fingerprint of what the reader gave: the record's types and strings, or the error. */
static int on_record(void *ctx, unsigned long line, const struct fl_rec *rec)
{
    FILE *out = ctx;

    fprintf(out, "%lu %d %d %d %lld %zu|%s|%s|%s|%s\n", line, (int)rec->type, (int)rec->host,
            (int)rec->volumes, (long long)rec->schema_version.v, rec->n_volumes,
            rec->tool.s ? rec->tool.s : "-", rec->hostname.s ? rec->hostname.s : "-",
            rec->self.path.s ? rec->self.path.s : "-", rec->scanned_at.s ? rec->scanned_at.s : "-");
    for (size_t i = 0; i < rec->n_volumes; i++) {
        const struct fl_rec_volume *v = &rec->volume[i];
        fprintf(out, "  %d %s %zu %zu %d\n", (int)v->type, v->path.s ? v->path.s : "-", v->n_findings,
                v->n_keyslots, v->integrity);
    }
    return 0;
}

static int on_error(void *ctx, unsigned long line, const char *message)
{
    fprintf(ctx, "%lu error %s\n", line, message);
    return 0;
}

static char *read_pieces(const char *text, size_t len, size_t piece)
{
    char *buf = NULL;
    size_t buf_size = 0;
    FILE *out = open_memstream(&buf, &buf_size);
    struct fl_rec_sink sink = {on_record, on_error, out};
    struct fl_rec_reader *rd = NULL;

    if (!out || fl_rec_reader_new(&sink, &rd) < 0)
        abort();
    for (size_t off = 0; off < len; off += piece)
        if (fl_rec_reader_feed(rd, text + off, len - off < piece ? len - off : piece) < 0)
            abort();
    if (fl_rec_reader_finish(rd) < 0)
        abort();
    fl_rec_reader_free(rd);
    fclose(out);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl_fleet *f = NULL;
    char *whole, *pieces;
    size_t piece;

    if (size < 1)
        return 0;
    piece = (size_t)data[0] % 64 + 1;
    data++;
    size--;
    whole = read_pieces((const char *)data, size, size ? size : 1);
    pieces = read_pieces((const char *)data, size, piece);
    if (strcmp(whole, pieces)) {
        fprintf(stderr, "pieces of %zu give:\n%s\nwhole:\n%s\n", piece, pieces, whole);
        abort();
    }
    free(whole);
    free(pieces);

    if (fl_fleet_new(&f) < 0)
        abort();
    fl_fleet_set_now(f, 1795953600);
    if (fl_fleet_add(f, "fuzz", (const char *)data, size) < 0 || fl_fleet_finish(f, 1795953600, 86400) < 0)
        abort();
    fl_fleet_free(f);
    return 0;
}
