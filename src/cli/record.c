/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The envelope every JSON document and record of fipsluks begins with (schema_version, record, tool,
 * version), and the host identity (hostname, machine_id, os_id, os_version_id, kernel_fips) that
 * scan, check, migrate and format records carry and fipsluks report repeats per host. One place
 * for both, so every verb's JSON names them the same way.
 */
#include <errno.h>

#include "fipsluks/identity.h"
#include "cli.h"

void fl_json_envelope(json_object *doc, const char *record)
{
    json_object_object_add(doc, "schema_version", json_object_new_int(FL_SCHEMA_VERSION));
    json_object_object_add(doc, "record", json_object_new_string(record));
    json_object_object_add(doc, "tool", json_object_new_string("fipsluks"));
    json_object_object_add(doc, "version", json_object_new_string(FL_VERSION));
}

void fl_json_host_fields(json_object *o, const char *hostname, const char *machine_id, const char *os_id,
                         const char *os_version_id, int kernel_fips)
{
    json_object_object_add(o, "hostname", fl_json_string(hostname));
    json_object_object_add(o, "machine_id", fl_json_string(machine_id));
    json_object_object_add(o, "os_id", fl_json_string(os_id));
    json_object_object_add(o, "os_version_id", fl_json_string(os_version_id));
    json_object_object_add(o, "kernel_fips", kernel_fips < 0 ? NULL : json_object_new_boolean(kernel_fips));
}

int fl_json_record_add(json_object *doc, const char *record, const struct fl_identity *id,
                       const char *time_key)
{
    json_object *host = json_object_new_object();

    if (!host)
        return -ENOMEM;
    fl_json_envelope(doc, record);
    fl_json_host_fields(host, id->hostname, id->machine_id, id->os_id, id->os_version_id, id->kernel_fips);
    json_object_object_add(doc, "host", host);
    json_object_object_add(doc, time_key, id->timestamp[0] ? json_object_new_string(id->timestamp) : NULL);
    return 0;
}

json_object *fl_json_record(const char *record, const struct fl_identity *id, const char *time_key)
{
    json_object *o = json_object_new_object();

    if (o && fl_json_record_add(o, record, id, time_key) < 0) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

int fl_json_record_this_host(json_object *doc, const char *record, const char *time_key)
{
    struct fl_identity id;
    int r;

    /* a failure leaves it empty: host fields and time null, the document still written */
    (void)fl_identity_read(NULL, &id);
    r = fl_json_record_add(doc, record, &id, time_key);
    fl_identity_clear(&id);
    return r;
}
