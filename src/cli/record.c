/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fields every JSON document and record of scan and check begins with: schema, host, time. */
#include "fipsluks/identity.h"
#include "cli.h"

json_object *fl_json_record(const char *record, const struct fl_identity *id, const char *time_key)
{
    json_object *o = json_object_new_object(), *host = json_object_new_object();

    json_object_object_add(o, "schema_version", json_object_new_int(FL_SCHEMA_VERSION));
    json_object_object_add(o, "record", json_object_new_string(record));
    json_object_object_add(o, "tool", json_object_new_string("fipsluks"));
    json_object_object_add(o, "version", json_object_new_string(FL_VERSION));
    json_object_object_add(host, "hostname", fl_json_string(id->hostname));
    json_object_object_add(host, "machine_id", fl_json_string(id->machine_id));
    json_object_object_add(host, "os_id", fl_json_string(id->os_id));
    json_object_object_add(host, "os_version_id", fl_json_string(id->os_version_id));
    json_object_object_add(host, "kernel_fips",
                           id->kernel_fips < 0 ? NULL : json_object_new_boolean(id->kernel_fips));
    json_object_object_add(o, "host", host);
    json_object_object_add(o, time_key, json_object_new_string(id->timestamp));
    return o;
}
