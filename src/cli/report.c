/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fipsluks report: merge scan output from many hosts (JSON documents or JSON lines, any mix) into
 * a fleet summary, as a text table, JSON or CSV. The merge itself is src/lib/fleet.c; this file
 * reads the inputs and prints. Everything printed comes from untrusted input: text is escaped,
 * JSON strings are made valid UTF-8, CSV cells are quoted and kept from being read as formulas.
 */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include <libsmartcols.h>

#include "fipsluks/array.h"
#include "fipsluks/fleet.h"
#include "fipsluks/identity.h"
#include "fipsluks/util.h"
#include "cli.h"

#define REPORT_MAX_AGE_DEFAULT (2 * 86400) /* the timer scans daily: two missed days are stale */

/* ---- reading the inputs ---- */

#define REPORT_PIECE (64u * 1024) /* read and merged at a time: an input is never held whole */

/* Read @p fd to its end into @p in. @return 0, -errno of the read, or -ENOMEM (from the merge). */
static int read_input(int fd, struct fl_fleet_input *in)
{
    char *buf = malloc(REPORT_PIECE);
    int r = 0;

    if (!buf)
        return -ENOMEM;
    for (;;) {
        ssize_t n = fl_read_eintr(fd, buf, REPORT_PIECE);
        if (n <= 0) {
            r = (int)n;
            break;
        }
        r = fl_fleet_input_feed(in, buf, (size_t)n);
        if (r < 0)
            break;
    }
    free(buf);
    return r;
}

/*
 * Merge one input; @return 0, 1 when it cannot be read (recorded as an input error), or -ENOMEM.
 * What was merged before a read error stays merged.
 */
static int add_input(struct fl_fleet *fleet, const char *name)
{
    bool is_stdin = !strcmp(name, "-");
    const char *source = is_stdin ? "(standard input)" : name;
    int fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct fl_fleet_input *in = NULL;
    int r;

    r = fd < 0 ? -errno : fl_fleet_input_new(fleet, source, &in);
    if (r >= 0) {
        r = read_input(fd, in);
        if (r >= 0)
            r = fl_fleet_input_finish(in);
    }
    fl_fleet_input_free(in);
    if (fd >= 0 && !is_stdin)
        close(fd);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        r = fl_fleet_add_error(fleet, source, 0, strerror(-r));
        return r < 0 ? r : 1;
    }
    return 0;
}

/* ---- text ---- */

/*
 * Text cells come from other hosts' records: each is escaped with the one rule of every text output
 * (fl_fputs_escaped(): controls, bidi overrides, zero-width characters and bytes that are not UTF-8 as
 * \xNN) before libsmartcols sees it. What libsmartcols (2.38.1, Debian 12) does on its own was checked:
 * by default it writes C0 controls, DEL, C1 controls (in a UTF-8 locale), every byte the locale cannot
 * decode (invalid UTF-8; any byte >= 0x80 in the C locale) as \xNN; but it lets what iswprint() calls
 * printable through raw, U+202E (a bidi override) and U+200B (zero width) among them, and writes a
 * literal "\x" as "\x5cx", which would escape our escapes a second time. So its encoding is off
 * (scols_table_enable_noencoding()); and because with encoding off 2.38.1 loops forever on a byte the
 * locale cannot decode (seen: scols_print_table() spinning in mbrtowc()), a cell is made ASCII (every
 * byte >= 0x80 as \xNN, as libsmartcols itself would show it) where the locale is not UTF-8.
 */
static char *escaped(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return NULL;
    fl_fputs_escaped(s ? s : "-", f);
    if (fclose(f) == EOF) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* @p s escaped, and with @p ascii every byte >= 0x80 as \xNN too, in a new string (NULL → "-"). */
static char *escaped_for(const char *s, bool ascii)
{
    char *e = escaped(s), *buf;
    size_t n = 0;

    if (!e || !ascii)
        return e;
    for (const unsigned char *p = (const unsigned char *)e; *p; p++)
        n += *p < 0x80 ? 1 : 4;
    buf = malloc(n + 1);
    n = 0;
    for (const unsigned char *p = (const unsigned char *)e; buf && *p; p++)
        n += (size_t)(*p < 0x80 ? snprintf(buf + n, 2, "%c", *p) : snprintf(buf + n, 5, "\\x%02x", *p));
    if (buf)
        buf[n] = '\0';
    free(e);
    return buf;
}

/*
 * The width to fit the table to: the terminal's, or COLUMNS (20 to 10000) when standard output is not a
 * terminal (a pager, a test); 0: nothing to fit.
 */
static size_t terminal_width(void)
{
    struct winsize ws;
    const char *env = getenv("COLUMNS");
    uint64_t v;

    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (env && fl_parse_u64(env, &v) == 0 && v >= 20 && v <= 10000)
        return (size_t)v;
    return 0;
}

/*
 * The host table's columns, as lsblk's infos[]: the name --output takes (fl_report_columns[]), what it
 * shows (fl_report_columns_help[]), how libsmartcols aligns it and the narrowest it is cut to when the
 * terminal is narrow (col_info[]: 0, a count, is never cut; no minimum is narrower than the column's
 * name, so a header is never cut). cut_order[]: the text columns cut first, the host name last.
 */
static const struct {
    int flags;
    size_t min;
} col_info[FL_COL_COUNT] = {
    [FL_COL_HOST] = {0, 8},
    [FL_COL_OS] = {0, 2},
    [FL_COL_SCANNED] = {0, 7},
    [FL_COL_VOLUMES] = {SCOLS_FL_RIGHT, 0},
    [FL_COL_OK] = {SCOLS_FL_RIGHT, 0},
    [FL_COL_NOT_OK] = {SCOLS_FL_RIGHT, 0},
    [FL_COL_UNREADABLE] = {SCOLS_FL_RIGHT, 0},
    [FL_COL_STATE] = {0, 5},
};
static const enum fl_report_column cut_order[] = {FL_COL_STATE, FL_COL_OS, FL_COL_SCANNED, FL_COL_HOST};
const char *const fl_report_columns[FL_COL_COUNT + 1] = {
    [FL_COL_HOST] = "HOST",         [FL_COL_OS] = "OS",       [FL_COL_SCANNED] = "SCANNED",
    [FL_COL_VOLUMES] = "VOLS",      [FL_COL_OK] = "OK",       [FL_COL_NOT_OK] = "BAD",
    [FL_COL_UNREADABLE] = "UNREAD", [FL_COL_STATE] = "STATE", NULL,
};
const char *const fl_report_columns_help[FL_COL_COUNT + 1] = {
    [FL_COL_HOST] = "host name (its machine id when the scan has none)",
    [FL_COL_OS] = "operating system: os-release ID and VERSION_ID",
    [FL_COL_SCANNED] = "time of the host's newest scan",
    [FL_COL_VOLUMES] = "volumes scanned",
    [FL_COL_OK] = "FIPS-compatible volumes",
    [FL_COL_NOT_OK] = "volumes not FIPS-compatible",
    [FL_COL_UNREADABLE] = "volumes that could not be read",
    [FL_COL_STATE] = "ok, or what needs action: incompatible, unreadable, stale, incomplete",
    NULL,
};

static char *host_state(const struct fl_fleet_host *h)
{
    char *s = NULL;

    if (asprintf(&s, "%s%s%s%s%s", h->needs_action ? "" : "ok", h->n_incompatible ? "incompatible " : "",
                 h->n_unreadable ? "unreadable " : "", h->stale ? "stale " : "",
                 h->complete ? "" : "incomplete ") < 0)
        return NULL;
    if (*s && s[strlen(s) - 1] == ' ')
        s[strlen(s) - 1] = '\0';
    return s;
}

static char *number(unsigned long long n)
{
    char *s = NULL;

    return asprintf(&s, "%llu", n) < 0 ? NULL : s;
}

/* Host @p h's cell of column @p c (escaped, for an ASCII terminal with @p ascii), or NULL (no memory). */
static char *host_cell(const struct fl_fleet_host *h, enum fl_report_column c, bool ascii)
{
    char *os = NULL, *s;

    switch (c) {
    case FL_COL_HOST:
        return escaped_for(h->hostname ? h->hostname : h->machine_id, ascii);
    case FL_COL_OS:
        if (asprintf(&os, "%s %s", h->os_id ? h->os_id : "-", h->os_version_id ? h->os_version_id : "") < 0)
            return NULL;
        s = escaped_for(os, ascii);
        free(os);
        return s;
    case FL_COL_SCANNED:
        return escaped_for(h->scanned_at, ascii);
    case FL_COL_VOLUMES:
        return number(h->n_volumes);
    case FL_COL_OK:
        return number(h->n_compatible);
    case FL_COL_NOT_OK:
        return number(h->n_incompatible);
    case FL_COL_UNREADABLE:
        return number(h->n_unreadable);
    case FL_COL_STATE:
        return host_state(h);
    case FL_COL_COUNT:
        break;
    }
    return NULL;
}

/*
 * Of escaped text @p s (valid UTF-8 without controls, or ASCII), the longest start at most @p max
 * terminal columns wide: @return its length in bytes, its width in *@p ret_width. A character is as wide
 * as wcwidth() says (2 for East Asian wide ones, 0 for combining marks), 1 where it says nothing.
 */
static size_t fitting(const char *s, size_t max, size_t *ret_width)
{
    size_t len = 0, width = 0;

    while (s[len]) {
        uint32_t cp = 0;
        size_t n = fl_utf8_char(s + len, &cp);
        int w = n ? wcwidth((wchar_t)cp) : 1;

        if (w < 0)
            w = 1;
        if (width + (size_t)w > max)
            break;
        width += (size_t)w;
        len += n ? n : 1;
    }
    *ret_width = width;
    return len;
}

static size_t text_width(const char *s)
{
    size_t width;

    fitting(s, SIZE_MAX, &width);
    return width;
}

/* @p s cut to @p width (2 or more) columns, its last one @p mark (one column wide), in a new string. */
static char *cut_cell(const char *s, size_t width, const char *mark)
{
    size_t w, len = fitting(s, width - 1, &w);
    char *c = NULL;

    return asprintf(&c, "%.*s%s", (int)len, s, mark) < 0 ? NULL : c;
}

/*
 * Fit @p tb, whose @p n_cols columns @p cols are @p width[] wide (their widest cell or name), to @p avail
 * columns: the text columns of cut_order[] are narrowed in turn, each to its minimum at most (the same
 * column twice: the rightmost first), until the table fits or nothing more can be cut, and each cell
 * wider than its column is cut, ending with @p mark. Too narrow even then: the rows stay whole, wider
 * than @p avail. @return 0 or -errno.
 */
static int fit_table(struct libscols_table *tb, const int *cols, size_t n_cols, size_t *width, size_t avail,
                     const char *mark)
{
    size_t total = n_cols - 1, full[FL_COL_COUNT + FL_LIST_MAX];
    struct libscols_iter *it;
    struct libscols_line *ln;
    int r = 0;

    for (size_t c = 0; c < n_cols; c++) {
        total += width[c];
        full[c] = width[c];
    }
    for (size_t k = 0; k < sizeof(cut_order) / sizeof(cut_order[0]); k++)
        for (size_t c = n_cols; c-- > 0 && total > avail;) {
            size_t least = col_info[cols[c]].min, cut;

            if ((enum fl_report_column)cols[c] != cut_order[k] || width[c] <= least)
                continue;
            cut = width[c] - least < total - avail ? width[c] - least : total - avail;
            width[c] -= cut;
            total -= cut;
        }
    it = scols_new_iter(SCOLS_ITER_FORWARD);
    if (!it)
        return -ENOMEM;
    while (r >= 0 && scols_table_next_line(tb, it, &ln) == 0)
        for (size_t c = 0; c < n_cols && r >= 0; c++) {
            const char *data = scols_cell_get_data(scols_line_get_cell(ln, c));
            char *s;

            if (width[c] == full[c] || !data || text_width(data) <= width[c])
                continue;
            s = cut_cell(data, width[c], mark);
            r = s ? scols_line_refer_data(ln, c, s) : -ENOMEM;
            if (r < 0)
                free(s);
        }
    scols_free_iter(it);
    return r;
}

/*
 * The host table, with columns @p cols (@p n_cols of them). @return 0 or -errno.
 *
 * The layout is planned here, and libsmartcols only prints cells that already fit: it is never asked to
 * reduce a width. Its reduction loops are unsafe: in libsmartcols 2.39 to 2.40.x (Ubuntu 24.04 has
 * 2.39.3) __scols_calculate() loops forever once every column is at its minimum and the table is still
 * wider than the terminal (util-linux #3046: reduce_column() returns before its stage switch, so the
 * stage count grows past its last stage and never ends the loop; fixed in 2.41), and #3003 reduced a
 * column below zero (width SIZE_MAX). Seen: the table as libsmartcols cut it before this (termforce
 * ALWAYS, termwidth 20, every column, text columns SCOLS_FL_TRUNC) with a libsmartcols built from
 * util-linux's tag v2.39.3 hung in scols_print_table() until timeout(1) ended it; this plan printed at
 * once (COLUMNS=20, and terminals 1 and 5 columns wide). The path we use: termforce
 * SCOLS_TERMFORCE_NEVER makes __scols_initialize_printing() set is_term to 0, and __scols_calculate()
 * then returns right after giving each column the width of its widest cell or header ("if
 * (!tb->is_term) goto done"), before any reduction stage, reduce_to_68(), max-out or no-wrap step; no
 * column has SCOLS_FL_TRUNC or SCOLS_FL_WRAP. That is so in 2.38.1 (Debian 12), 2.39.3, 2.40.2 and
 * util-linux's master, read in their calculate.c and print.c.
 */
static int print_hosts(const struct fl_fleet *fleet, const int *cols, size_t n_cols)
{
    size_t n = fl_fleet_n_hosts(fleet), avail = terminal_width(), width[FL_COL_COUNT + FL_LIST_MAX];
    const char *codeset = nl_langinfo(CODESET);
    bool ascii = !codeset || strcmp(codeset, "UTF-8") != 0;
    struct libscols_table *tb;
    int r;

    if (n == 0 || n_cols == 0 || n_cols > FL_COL_COUNT + FL_LIST_MAX)
        return 0;
    tb = scols_new_table();
    r = tb ? scols_table_enable_noencoding(tb, 1) : -ENOMEM;
    if (r >= 0)
        r = scols_table_set_termforce(tb, SCOLS_TERMFORCE_NEVER);
    for (size_t c = 0; c < n_cols && r >= 0; c++) {
        width[c] = text_width(fl_report_columns[cols[c]]);
        if (!scols_table_new_column(tb, fl_report_columns[cols[c]], 0, col_info[cols[c]].flags))
            r = -ENOMEM;
    }
    for (size_t i = 0; i < n && r >= 0; i++) {
        const struct fl_fleet_host *h = fl_fleet_host(fleet, i);
        struct libscols_line *ln = scols_table_new_line(tb, NULL);

        if (!ln)
            r = -ENOMEM;
        for (size_t c = 0; c < n_cols && r >= 0; c++) {
            char *cell = host_cell(h, (enum fl_report_column)cols[c], ascii);
            size_t w = cell ? text_width(cell) : 0;

            if (w > width[c])
                width[c] = w;
            r = cell ? scols_line_refer_data(ln, c, cell) : -ENOMEM; /* the line owns it now */
            if (r < 0)
                free(cell);
        }
    }
    /* "…" is not text outside a UTF-8 locale (and libsmartcols 2.38 would spin on it): "+" there, as ps */
    if (r >= 0 && avail)
        r = fit_table(tb, cols, n_cols, width, avail, ascii ? "+" : "…");
    if (r >= 0)
        r = scols_print_table(tb);
    scols_unref_table(tb);
    return r < 0 ? r : 0;
}

static void print_counts(const char *title, const struct fl_fleet_count *c, size_t n)
{
    printf("%s:", title);
    if (n == 0)
        printf(" none");
    for (size_t i = 0; i < n; i++) {
        char *name = escaped(c[i].name);
        printf("%s %s %lu", i ? "," : "", name ? name : "?", c[i].count);
        free(name);
    }
    putchar('\n');
}

static void print_age(uint64_t s)
{
    if (s % 86400 == 0)
        printf("%llud", (unsigned long long)(s / 86400));
    else if (s % 3600 == 0)
        printf("%lluh", (unsigned long long)(s / 3600));
    else
        printf("%llus", (unsigned long long)s);
}

/* The text report; @p cols (@p n_cols) the host table's columns. */
static int print_text(const struct fl_fleet *fleet, uint64_t max_age, const int *cols, size_t n_cols)
{
    const struct fl_fleet_summary *s = fl_fleet_summary(fleet);
    size_t n = fl_fleet_n_hosts(fleet);
    int r;

    printf("%zu host%s, %zu volume%s: %zu FIPS-compatible, %zu not compatible, %zu unreadable\n", s->hosts,
           s->hosts == 1 ? "" : "s", s->volumes, s->volumes == 1 ? "" : "s", s->compatible, s->incompatible,
           s->unreadable);
    printf("%zu host%s need%s action; %zu with a scan older than ", s->needing_action,
           s->needing_action == 1 ? "" : "s", s->needing_action == 1 ? "s" : "", s->stale);
    print_age(max_age);
    putchar('\n');
    if (s->unattended)
        printf("%zu host%s can be fixed unattended: every keyslot to convert opens with a key file the host "
               "holds (%s)\n",
               s->unattended, s->unattended == 1 ? "" : "s", FL_FLEET_CRYPTTAB_COMMAND);
    print_counts("Errors by rule", s->rules, s->n_rules);
    print_counts("Keyslots by KDF", s->kdfs, s->n_kdfs);

    if (n)
        putchar('\n');
    if (fflush(stdout) == EOF) /* libsmartcols writes to the same stream, in order */
        return -EIO;
    r = print_hosts(fleet, cols, n_cols);
    if (r < 0)
        return r;
    /* Commands are never cut: they must be copied exactly. */
    if (s->needing_action)
        printf("\nTo do, on each host:\n");
    for (size_t i = 0; i < n; i++) {
        const struct fl_fleet_host *h = fl_fleet_host(fleet, i);

        if (!h->needs_action)
            continue;
        printf("  ");
        fl_fputs_escaped(h->hostname ? h->hostname : h->machine_id ? h->machine_id : "-", stdout);
        if (h->machine_id && h->hostname) {
            printf(" (machine-id ");
            fl_fputs_escaped(h->machine_id, stdout);
            putchar(')');
        }
        printf(":\n");
        if (h->unattended == 1)
            printf("    # unattended: every keyslot to convert opens with a key file in this host's "
                   "/etc/crypttab\n");
        else if (h->unattended == 0)
            printf("    # needs an operator: a secret no key file of this host holds, or a look (below)\n");
        /* built by report from what it understands (never a record's text); notes are shell comments */
        for (size_t k = 0; h->commands && h->commands[k]; k++) {
            printf("    ");
            fl_fputs_escaped(h->commands[k], stdout);
            putchar('\n');
        }
        for (size_t k = 0; h->notes && h->notes[k]; k++) {
            printf("    # ");
            fl_fputs_escaped(h->notes[k], stdout);
            putchar('\n');
        }
    }
    return fflush(stdout) == EOF || ferror(stdout) ? -EIO : 0;
}

/* ---- JSON ---- */

static json_object *json_counts(const struct fl_fleet_count *c, size_t n)
{
    json_object *o = json_object_new_object();

    for (size_t i = 0; i < n; i++) {
        json_object *name = fl_json_string(c[i].name);
        json_object_object_add(o, json_object_get_string(name), json_object_new_int64((int64_t)c[i].count));
        json_object_put(name);
    }
    return o;
}

static json_object *json_strv(char *const *v)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; v && v[i]; i++)
        json_object_array_add(a, fl_json_string(v[i]));
    return a;
}

static json_object *json_host(const struct fl_fleet_host *h)
{
    json_object *o = json_object_new_object(), *vols = json_object_new_array();

    fl_json_host_fields(o, h->hostname, h->machine_id, h->os_id, h->os_version_id, h->kernel_fips);
    json_object_object_add(o, "fipsluks_version", fl_json_string(h->fipsluks_version));
    json_object_object_add(o, "scanned_at", fl_json_string(h->scanned_at));
    json_object_object_add(o, "stale", json_object_new_boolean(h->stale));
    json_object_object_add(o, "complete", json_object_new_boolean(h->complete));
    json_object_object_add(o, "needs_action", json_object_new_boolean(h->needs_action));
    json_object_object_add(o, "unattended",
                           h->unattended < 0 ? NULL : json_object_new_boolean(h->unattended));
    json_object_object_add(o, "volume_count", json_object_new_int64((int64_t)h->n_volumes));
    json_object_object_add(o, "compatible", json_object_new_int64(h->n_compatible));
    json_object_object_add(o, "incompatible", json_object_new_int64(h->n_incompatible));
    json_object_object_add(o, "unreadable", json_object_new_int64(h->n_unreadable));
    for (size_t i = 0; i < h->n_volumes; i++) {
        const struct fl_fleet_volume *v = &h->volumes[i];
        json_object *jv = json_object_new_object();

        json_object_object_add(jv, "path", fl_json_string(v->path));
        json_object_object_add(jv, "absolute_path", fl_json_string(v->absolute_path));
        json_object_object_add(jv, "uuid", fl_json_string(v->uuid));
        json_object_object_add(jv, "label", fl_json_string(v->label));
        json_object_object_add(jv, "state", json_object_new_string(fl_fleet_state_name(v->state)));
        json_object_object_add(jv, "error", fl_json_string(v->error));
        json_object_object_add(jv, "rules", json_strv(v->rules));
        json_object_object_add(jv, "commands", json_strv(v->commands));
        json_object_object_add(jv, "notes", json_strv(v->notes));
        json_object_object_add(jv, "unattended", json_object_new_boolean(v->unattended));
        json_object_array_add(vols, jv);
    }
    json_object_object_add(o, "volumes", vols);
    json_object_object_add(o, "commands", json_strv(h->commands));
    json_object_object_add(o, "notes", json_strv(h->notes));
    return o;
}

/*
 * One document, streamed: the fields before "hosts" (the summary among them), then each host's
 * object written and freed in turn, then the input errors. Memory holds the merged fleet and one
 * host's JSON, not the document; the bytes are those of the document printed whole.
 */
static int print_json(const struct fl_fleet *fleet, uint64_t max_age, time_t now)
{
    const struct fl_fleet_summary *s = fl_fleet_summary(fleet);
    json_object *doc = json_object_new_object(), *sum = json_object_new_object(), *o;
    json_object *errors = json_object_new_array();
    char at[FL_TIMESTAMP_SIZE] = "";
    int r;

    fl_timestamp_format(now, at);
    fl_json_envelope(doc, "report");
    json_object_object_add(doc, "generated_at", json_object_new_string(at));
    json_object_object_add(doc, "max_age_seconds", json_object_new_int64((int64_t)max_age));
    json_object_object_add(sum, "hosts", json_object_new_int64((int64_t)s->hosts));
    json_object_object_add(sum, "volumes", json_object_new_int64((int64_t)s->volumes));
    json_object_object_add(sum, "compatible", json_object_new_int64((int64_t)s->compatible));
    json_object_object_add(sum, "incompatible", json_object_new_int64((int64_t)s->incompatible));
    json_object_object_add(sum, "unreadable", json_object_new_int64((int64_t)s->unreadable));
    json_object_object_add(sum, "stale_hosts", json_object_new_int64((int64_t)s->stale));
    json_object_object_add(sum, "hosts_needing_action", json_object_new_int64((int64_t)s->needing_action));
    json_object_object_add(sum, "hosts_unattended", json_object_new_int64((int64_t)s->unattended));
    json_object_object_add(sum, "errors_by_rule", json_counts(s->rules, s->n_rules));
    json_object_object_add(sum, "keyslots_by_kdf", json_counts(s->kdfs, s->n_kdfs));
    json_object_object_add(sum, "input_errors",
                           json_object_new_int64((int64_t)fl_fleet_n_errors_total(fleet)));
    json_object_object_add(doc, "summary", sum);
    r = fl_json_write(stdout, doc, true);
    json_object_put(doc);
    if (r >= 0 && fputs(",\"hosts\":[", stdout) == EOF)
        r = -EIO;
    for (size_t i = 0; i < fl_fleet_n_hosts(fleet) && r >= 0; i++) {
        if (i && putchar(',') == EOF) {
            r = -EIO;
            break;
        }
        o = json_host(fl_fleet_host(fleet, i));
        r = o ? fl_json_write(stdout, o, false) : -ENOMEM;
        json_object_put(o);
    }
    for (size_t i = 0; i < fl_fleet_n_errors(fleet) && r >= 0; i++) {
        const struct fl_fleet_error *e = fl_fleet_error(fleet, i);
        json_object *je = json_object_new_object();
        json_object_object_add(je, "file", fl_json_string(e->source));
        json_object_object_add(je, "line", json_object_new_int64((int64_t)e->line));
        json_object_object_add(je, "message", fl_json_string(e->message));
        json_object_array_add(errors, je);
    }
    if (r >= 0 && fputs("],\"input_errors\":", stdout) == EOF)
        r = -EIO;
    if (r >= 0)
        r = errors ? fl_json_write(stdout, errors, false) : -ENOMEM;
    json_object_put(errors);
    if (r >= 0 && (fputs("}\n", stdout) == EOF || fflush(stdout) == EOF || ferror(stdout)))
        r = -EIO;
    return r;
}

/* ---- CSV (RFC 4180) ---- */

/* One cell; @p lines: its newlines separate items (each escaped already) and stay. */
static void csv_cell_ex(const char *s, bool last, bool lines)
{
    char *clean = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&clean, &len);
    const char *c;

    /* Controls (an escape sequence in a host name; C1 too), bidi overrides and bytes that are not
     * UTF-8 shown as \xNN, not sent to a terminal or a spreadsheet; newlines separate the commands
     * of a cell. */
    if (m) {
        fl_fputs_escaped_keep(s ? s : "", m, lines ? "\n" : "");
        if (fclose(m) == EOF) {
            free(clean);
            clean = NULL;
        }
    }
    c = clean ? clean : "?";
    putchar('"');
    /* A cell starting with = + - @ is a formula to a spreadsheet: make it text. */
    if (*c && strchr("=+-@", *c))
        putchar('\'');
    for (; *c; c++) {
        if (*c == '"')
            putchar('"');
        putchar(*c);
    }
    putchar('"');
    putchar(last ? '\n' : ',');
    free(clean);
}

static void csv_cell(const char *s, bool last)
{
    csv_cell_ex(s, last, false);
}

static int print_csv(const struct fl_fleet *fleet)
{
    static const char *const header[] = {
        "hostname",    "machine_id", "os_id",     "os_version_id", "fipsluks_version",
        "kernel_fips", "scanned_at", "stale",     "needs_action",  "path",
        "uuid",        "label",      "state",     "error",         "rules",
        "commands",    "notes",      "unattended"};
    const size_t n_header = sizeof(header) / sizeof(header[0]);

    for (size_t i = 0; i < n_header; i++)
        printf("%s%s", header[i], i + 1 < n_header ? "," : "\n");
    for (size_t i = 0; i < fl_fleet_n_hosts(fleet); i++) {
        const struct fl_fleet_host *h = fl_fleet_host(fleet, i);
        for (size_t v = 0; v < h->n_volumes || (v == 0 && h->n_volumes == 0); v++) {
            const struct fl_fleet_volume *vol = h->n_volumes ? &h->volumes[v] : NULL;
            char *rules = NULL, *commands = NULL, *notes = NULL;
            size_t rlen = 0, clen = 0, nlen = 0;
            FILE *rf = open_memstream(&rules, &rlen), *cf = open_memstream(&commands, &clen);
            FILE *nf = open_memstream(&notes, &nlen);

            if (!rf || !cf || !nf) {
                if (rf)
                    fclose(rf);
                if (cf)
                    fclose(cf);
                if (nf)
                    fclose(nf);
                free(rules);
                free(commands);
                free(notes);
                return -ENOMEM;
            }
            for (size_t k = 0; vol && vol->rules && vol->rules[k]; k++)
                fprintf(rf, "%s%s", k ? " " : "", vol->rules[k]);
            /* This volume's fixes; a fresh scan first when the host's is stale or cut short. */
            if (h->stale || !h->complete)
                fputs(FL_FLEET_RESCAN_COMMAND, cf);
            for (size_t k = 0; vol && vol->commands && vol->commands[k]; k++) {
                fputs(ftell(cf) ? "\n" : "", cf);
                fl_fputs_escaped(vol->commands[k], cf);
            }
            for (size_t k = 0; vol && vol->notes && vol->notes[k]; k++) {
                fputs(k ? "\n" : "", nf);
                fl_fputs_escaped(vol->notes[k], nf);
            }
            fclose(rf);
            fclose(cf);
            fclose(nf);
            csv_cell(h->hostname, false);
            csv_cell(h->machine_id, false);
            csv_cell(h->os_id, false);
            csv_cell(h->os_version_id, false);
            csv_cell(h->fipsluks_version, false);
            csv_cell(h->kernel_fips < 0 ? "" : h->kernel_fips ? "true" : "false", false);
            csv_cell(h->scanned_at, false);
            csv_cell(h->stale ? "true" : "false", false);
            csv_cell(h->needs_action ? "true" : "false", false);
            csv_cell(vol ? vol->path : NULL, false);
            csv_cell(vol ? vol->uuid : NULL, false);
            csv_cell(vol ? vol->label : NULL, false);
            csv_cell(vol ? fl_fleet_state_name(vol->state) : NULL, false);
            csv_cell(vol ? vol->error : NULL, false);
            csv_cell(rules, false);
            csv_cell_ex(commands, false, true);
            csv_cell_ex(notes, false, true);
            csv_cell(vol && vol->state != FL_FLEET_COMPATIBLE ? vol->unattended ? "true" : "false" : NULL,
                     true);
            free(rules);
            free(commands);
            free(notes);
        }
    }
    return fflush(stdout) == EOF || ferror(stdout) ? -EIO : 0;
}

int verb_report(int argc, const char **argv)
{
    int r = 0, unreadable = 0;
    struct fl_args a;
    bool json, csv;
    struct fl_fleet *fleet = NULL;
    uint64_t max_age = REPORT_MAX_AGE_DEFAULT;
    const char **files;
    size_t n_files = 0, n_stdin = 0, n_cols = 0, n_listed;
    int cols[FL_COL_COUNT + FL_LIST_MAX], listed[FL_LIST_MAX];
    bool add;
    time_t now = time(NULL);

    r = fl_options_parse(FL_VERB_REPORT, argc, argv, &a);
    if (r < 0)
        goto out;
    json = fl_flag(&a, FL_OPT_JSON);
    csv = fl_flag(&a, FL_OPT_CSV);
    if (fl_flag(&a, FL_OPT_MAX_AGE)) /* seconds, checked by fl_options_parse() */
        max_age = a.num[FL_OPT_MAX_AGE];
    files = fl_args_rest(&a);
    while (files && files[n_files])
        n_stdin += !strcmp(files[n_files++], "-");
    if (n_files == 0) {
        r = fl_usage_error("report", "give the scan outputs to merge: FILE… (or - for standard input)");
        goto out;
    }
    if (n_stdin > 1) {
        r = fl_usage_error("report", "standard input (-) can be read only once");
        goto out;
    }
    if (json && csv) {
        r = fl_usage_error("report", "--json and --csv exclude each other");
        goto out;
    }
    /* the JSON and CSV fields are a documented schema: --output chooses the text table's columns only */
    if (fl_flag(&a, FL_OPT_OUTPUT) && (json || csv)) {
        r = fl_usage_error("report",
                           "--output chooses the text table's columns: not with --%s (its fields are "
                           "fixed, see fipsluks-report(8))",
                           json ? "json" : "csv");
        goto out;
    }
    /* lsblk's --output: the columns named, in that order; "+" in front: the default ones, then those */
    n_listed = fl_arg_choices(&a, FL_OPT_OUTPUT, listed, &add);
    for (int c = 0; c < FL_COL_COUNT && (add || n_listed == 0); c++)
        cols[n_cols++] = c;
    for (size_t i = 0; i < n_listed; i++)
        cols[n_cols++] = listed[i];

    r = fl_fleet_new(&fleet);
    if (r >= 0)
        fl_fleet_set_now(fleet, now);
    for (size_t i = 0; i < n_files && r >= 0; i++) {
        r = add_input(fleet, files[i]);
        unreadable += r == 1;
    }
    if (r >= 0)
        r = fl_fleet_finish(fleet, now, max_age);
    if (r < 0) {
        fl_log_error_errno(r, "report failed: %m");
        goto out;
    }
    /* input errors are warnings: the report goes on without what they are about */
    for (size_t i = 0; i < fl_fleet_n_errors(fleet); i++) {
        const struct fl_fleet_error *e = fl_fleet_error(fleet, i);
        if (e->line)
            fl_log_warning("%s:%lu: %s (skipped)", e->source, e->line, e->message);
        else
            fl_log_warning("%s: %s", e->source, e->message);
    }
    if (fl_fleet_n_errors_total(fleet) > fl_fleet_n_errors(fleet))
        fl_log_warning("%zu more input errors not shown",
                       fl_fleet_n_errors_total(fleet) - fl_fleet_n_errors(fleet));

    r = json  ? print_json(fleet, max_age, now)
        : csv ? print_csv(fleet)
              : print_text(fleet, max_age, cols, n_cols);
    if (r < 0)
        fl_log_error_errno(r, "cannot write the report: %m");
    else
        r = unreadable                                ? FL_EXIT_DEVICE
            : fl_fleet_summary(fleet)->needing_action ? FL_EXIT_INCOMPATIBLE
                                                      : FL_EXIT_OK;
out:
    fl_fleet_free(fleet);
    fl_args_free(&a);
    return r;
}
