/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file check.h
 * The record of one host check: its id, verdict, message, the evidence it read and the remedy. The
 * checks themselves are in host.h; this header knows none of them.
 */
#ifndef FIPSLUKS_CHECK_H
#define FIPSLUKS_CHECK_H

#include <stddef.h>

enum fl_check_status {
    FL_CHECK_PASS = 0,
    FL_CHECK_WARN = 1,
    FL_CHECK_FAIL = 2,
    FL_CHECK_SKIP = 3,
};

/** The verdict of one check. */
struct fl_check {
    const char *id; /**< stable id: "kernel", "system-fips", "openssl-module", … (static) */
    enum fl_check_status status;
    char *message;   /**< one line: what was found */
    char **evidence; /**< what was read: "FILE: value", "FILE:LINE: text", probe results */
    size_t n_evidence;
    size_t allocated_evidence;
    char *remedy; /**< what to do, one action per line; NULL when nothing is to be done */
};

/** Every check, in the order fl_host_check_all() runs them. */
struct fl_checks {
    struct fl_check items[12];
    size_t n;
};

/** "pass", "warn", "fail", "skip". */
const char *fl_check_status_name(enum fl_check_status s);

/** Release one check's contents. */
void fl_check_clear(struct fl_check *c);

/** Release every check's contents. */
void fl_checks_clear(struct fl_checks *checks);

#endif
