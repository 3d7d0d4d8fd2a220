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
 * terminal (a pager, a test), which libsmartcols' own detection ignores there; 0: nothing to fit.
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
 * shows (fl_report_columns_help[]), how libsmartcols lays it out (col_flags[]). Text columns are cut to
 * fit the terminal (SCOLS_FL_TRUNC: never below the width of their name, without a mark, as lsblk
 * cuts); the host name only when cutting the others is not enough.
 */
static const int col_flags[FL_COL_COUNT] = {
    [FL_COL_HOST] = 0,
    [FL_COL_OS] = SCOLS_FL_TRUNC,
    [FL_COL_SCANNED] = SCOLS_FL_TRUNC,
    [FL_COL_VOLUMES] = SCOLS_FL_RIGHT,
    [FL_COL_OK] = SCOLS_FL_RIGHT,
    [FL_COL_NOT_OK] = SCOLS_FL_RIGHT,
    [FL_COL_UNREADABLE] = SCOLS_FL_RIGHT,
    [FL_COL_STATE] = SCOLS_FL_TRUNC,
};
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
 * The width of @p tb as libsmartcols lays it out for its terminal width, in *@p ret: a dry run of the
 * header and first row into memory (the layout comes from every row either way). @return 0 or -errno.
 */
static int table_width(struct libscols_table *tb, size_t *ret)
{
    char *buf = NULL;
    size_t len = 0, width = 0, n = scols_table_get_ncols(tb);
    FILE *f = open_memstream(&buf, &len);
    struct libscols_line *first = scols_table_get_line(tb, 0);
    int r;

    if (!f)
        return -ENOMEM;
    scols_table_set_stream(tb, f);
    r = scols_table_print_range(tb, first, first);
    scols_table_set_stream(tb, stdout);
    if (fclose(f) == EOF && r >= 0)
        r = -ENOMEM;
    free(buf);
    for (size_t c = 0; c < n; c++)
        width += scols_column_get_width(scols_table_get_column(tb, c)) + (c + 1 < n ? 1 : 0);
    *ret = width;
    return r < 0 ? r : 0;
}

/* The host table, with columns @p cols (@p n_cols of them). @return 0 or -errno. */
static int print_hosts(const struct fl_fleet *fleet, const int *cols, size_t n_cols)
{
    size_t n = fl_fleet_n_hosts(fleet), avail = terminal_width(), width = 0;
    const char *codeset = nl_langinfo(CODESET);
    bool ascii = !codeset || strcmp(codeset, "UTF-8") != 0;
    struct libscols_table *tb = scols_new_table();
    struct libscols_column *host = NULL;
    int r = tb ? 0 : -ENOMEM;

    if (r >= 0)
        r = scols_table_enable_noencoding(tb, 1);
    if (r >= 0 && avail) {
        r = scols_table_set_termforce(tb, SCOLS_TERMFORCE_ALWAYS);
        if (r >= 0)
            r = scols_table_set_termwidth(tb, avail);
    } else if (r >= 0)
        r = scols_table_set_termforce(tb, SCOLS_TERMFORCE_NEVER);
    for (size_t c = 0; c < n_cols && r >= 0; c++) {
        struct libscols_column *cl =
            scols_table_new_column(tb, fl_report_columns[cols[c]], 0, col_flags[cols[c]]);
        if (!cl)
            r = -ENOMEM;
        else if (cols[c] == FL_COL_HOST && !host)
            host = cl;
    }
    for (size_t i = 0; i < n && r >= 0; i++) {
        const struct fl_fleet_host *h = fl_fleet_host(fleet, i);
        struct libscols_line *ln = scols_table_new_line(tb, NULL);

        if (!ln)
            r = -ENOMEM;
        for (size_t c = 0; c < n_cols && r >= 0; c++) {
            char *cell = host_cell(h, (enum fl_report_column)cols[c], ascii);

            r = cell ? scols_line_set_data(ln, c, cell) : -ENOMEM;
            free(cell);
        }
    }
    /* Too wide even with the other text columns cut: the host name is cut too. */
    if (r >= 0 && avail && host && n) {
        r = table_width(tb, &width);
        if (r >= 0 && width > avail)
            r = scols_column_set_flags(host, scols_column_get_flags(host) | SCOLS_FL_TRUNC);
    }
    if (r >= 0 && n)
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
