/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file fleet.h Merge scan output from many hosts into one fleet summary (fipsluks report).
 *
 * Pure: the caller reads the inputs and supplies the time; nothing here touches files or prints.
 * Inputs are untrusted: a malformed or hostile record is recorded as an input error with its
 * source and line and skipped; it never stops the merge. Nothing a record says is ever passed on as
 * a command: the to-do list is built here from what this fipsluks understands of a record (the rule
 * ids it knows, a keyslot number, a path checked by fl_fleet_path_usable()), and whatever it does
 * not understand becomes a note that needs a look, without a command.
 */
#ifndef FIPSLUKS_FLEET_H
#define FIPSLUKS_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** At most this many input errors are kept (the rest are only counted). */
#define FL_FLEET_MAX_ERRORS 1000

/** A record whose scanned_at is later than the merge's "now" by more than this (seconds) is refused. */
#define FL_FLEET_CLOCK_SKEW 300

/** A record with a string longer than this many characters (a key or a value) is refused. */
#define FL_FLEET_STRING_MAX 4096

/** A JSON value (a record or a document) larger than this many bytes is refused. */
#define FL_FLEET_VALUE_MAX 268435456 /* 256 MiB */

/** A JSON value with more than this many members and elements (all levels) is refused. */
#define FL_FLEET_TOKENS_MAX 4194304

/** The command that makes a host scan again (the unit fipsluks installs; see fipsluks-report(8)). */
#define FL_FLEET_RESCAN_COMMAND "systemctl start fipsluks-scan.service"

/** What converts every unattended volume of a host: each with the key file its /etc/crypttab names. */
#define FL_FLEET_CRYPTTAB_COMMAND "fipsluks migrate --crypttab"

enum fl_fleet_state {
    FL_FLEET_COMPATIBLE = 0,
    FL_FLEET_INCOMPATIBLE = 1,
    FL_FLEET_UNREADABLE = 2,
};

/** Keyslots are counted by KDF under these names (fl_fleet_kdf_names): any other KDF counts as "other". */
enum { FL_FLEET_N_KDFS = 5, FL_FLEET_KDF_OTHER = 3 };
extern const char *const fl_fleet_kdf_names[FL_FLEET_N_KDFS]; /**< "argon2i" … "pbkdf2", sorted */

struct fl_fleet_volume {
    char *path; /**< as the record gave it (maybe relative to where the scan ran) */
    char *
        absolute_path; /**< the record's absolute_path, else its path, if fl_fleet_path_usable(); else NULL */
    char *uuid;        /**< NULL if unknown */
    char *label;       /**< NULL if none */
    enum fl_fleet_state state;
    char *error;  /**< why it is unreadable, or NULL */
    char **rules; /**< ids of the rules with error findings (NULL-terminated, sorted, unique) */
    char *
        *commands; /**< what fixes this volume, shell-ready, built by report (NULL-terminated, may be NULL) */
    char **notes;  /**< what a person must look at or do by hand, no command (NULL-terminated, may be NULL) */
    unsigned long keyslots_by_kdf[FL_FLEET_N_KDFS]; /**< its keyslots, by fl_fleet_kdf_names */
    /** Not compatible, and every fix is a keyslot conversion the host can do alone: each keyslot to
     *  convert opens with the key file its /etc/crypttab names (fipsluks migrate --crypttab) */
    bool unattended;
};

struct fl_fleet_host {
    char *hostname;   /**< NULL if the records did not say */
    char *machine_id; /**< NULL if the records did not say */
    char *os_id, *os_version_id, *fipsluks_version;
    int kernel_fips;   /**< 1, 0, or -1 unknown */
    char *scanned_at;  /**< the newest scan's timestamp, as the records gave it */
    time_t time;       /**< the same, parsed */
    bool complete;     /**< a whole document or a summary record was seen for the newest scan */
    bool stale;        /**< older than the maximum age (fl_fleet_finish()) */
    bool needs_action; /**< stale, incomplete, or a volume is not compatible or unreadable */
    struct fl_fleet_volume *volumes;
    size_t n_volumes;
    unsigned n_compatible, n_incompatible, n_unreadable;
    char **commands; /**< what fixes it, shell-ready (NULL-terminated, in volume order, unique) */
    char **notes;    /**< its volumes' notes, each prefixed with the volume's path (NULL-terminated) */
    /** 1: every volume that is not compatible is unattended (fipsluks migrate --crypttab fixes the host
     *  without an operator's secret); 0: a secret from an operator or a person's look is needed;
     *  -1: nothing to fix */
    int unattended;
};

struct fl_fleet_count {
    char *name;
    unsigned long count;
};

struct fl_fleet_summary {
    size_t hosts, volumes, compatible, incompatible, unreadable, stale, needing_action;
    size_t unattended; /**< hosts whose volumes fipsluks migrate --crypttab fixes alone (unattended 1) */
    struct fl_fleet_count *rules; /**< findings of severity error by rule id, sorted by id */
    size_t n_rules;
    struct fl_fleet_count *kdfs; /**< keyslots by KDF, sorted by name */
    size_t n_kdfs;
};

struct fl_fleet_error {
    char *source;
    unsigned long line;
    char *message;
};

struct fl_fleet;

/** A new, empty fleet whose "now" (for fl_fleet_set_now()) is time(NULL). @return 0 or -ENOMEM. */
int fl_fleet_new(struct fl_fleet **ret);
void fl_fleet_free(struct fl_fleet *f);

/**
 * The time records are judged against while they are merged: a scanned_at more than
 * FL_FLEET_CLOCK_SKEW seconds after @p now is an input error (a host cannot claim a scan from the
 * future, which would never go stale and would hide its real scans). Call before adding inputs.
 */
void fl_fleet_set_now(struct fl_fleet *f, time_t now);

/**
 * Merge the bytes of one input named @p source: fipsluks scan JSON documents and JSON lines, in
 * any mix and any number. Of each host (machine id, else host name) only the newest scan counts.
 * Two records of one volume (by absolute path) in the same scan that disagree: the worse verdict
 * wins (incompatible over unreadable over compatible), whatever the order of the inputs; with the
 * same verdict, their rules, commands and notes are merged.
 * @return 0, or -ENOMEM (the fleet stays usable but incomplete).
 */
int fl_fleet_add(struct fl_fleet *f, const char *source, const char *buf, size_t len);

/**
 * One input read in pieces, for inputs larger than memory should hold: fl_fleet_input_new(), then
 * fl_fleet_input_feed() with each piece as it is read (any sizes), fl_fleet_input_finish() at its
 * end, fl_fleet_input_free(). The result is that of fl_fleet_add() on the whole input, but only the
 * bytes of the JSON value being parsed are held (at most 1 GiB: a larger value is an input error,
 * and the rest of that input is not read). Feed and finish return 0 or -ENOMEM.
 */
struct fl_fleet_input;
int fl_fleet_input_new(struct fl_fleet *f, const char *source, struct fl_fleet_input **ret);
int fl_fleet_input_feed(struct fl_fleet_input *in, const char *buf, size_t len);
int fl_fleet_input_finish(struct fl_fleet_input *in);
void fl_fleet_input_free(struct fl_fleet_input *in);

/** Record an error about @p source that is not in its contents (e.g. it cannot be read). */
int fl_fleet_add_error(struct fl_fleet *f, const char *source, unsigned long line, const char *message);

/**
 * After the last input: sort the hosts (by host name, then machine id), mark those whose scan is
 * more than @p max_age seconds older than @p now as stale, derive the commands and the summary.
 * @return 0 or -ENOMEM.
 */
int fl_fleet_finish(struct fl_fleet *f, time_t now, uint64_t max_age);

const struct fl_fleet_summary *fl_fleet_summary(const struct fl_fleet *f);
size_t fl_fleet_n_hosts(const struct fl_fleet *f);
const struct fl_fleet_host *fl_fleet_host(const struct fl_fleet *f, size_t i);
/** Input errors kept (at most FL_FLEET_MAX_ERRORS); fl_fleet_n_errors_total() counts all. */
size_t fl_fleet_n_errors(const struct fl_fleet *f);
size_t fl_fleet_n_errors_total(const struct fl_fleet *f);
const struct fl_fleet_error *fl_fleet_error(const struct fl_fleet *f, size_t i);

/**
 * Whether @p path may be put into a command: absolute, at most PATH_MAX - 1 bytes, valid UTF-8
 * without controls or invisible characters (fl_char_unsafe()), and no "." or ".." component.
 */
bool fl_fleet_path_usable(const char *path);

/** Whether @p cmd is a plain command line: "fipsluks …" or "cryptsetup …" made only of plain words
 * and single-quoted strings (no expansion, redirection or command separator). The merge no longer
 * needs it (it shows no record's text as a command, plain or not); kept for callers and tests. */
bool fl_fleet_command_safe(const char *cmd);

const char *fl_fleet_state_name(enum fl_fleet_state s);

#endif
