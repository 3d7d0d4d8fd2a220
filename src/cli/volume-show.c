/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A scanned volume for people (text) and machines (JSON), shared by every verb that shows volumes (scan,
 * check, migrate, format, reencrypt): this file shows, the verbs decide. */
#include <errno.h>
#include <string.h>

#include "cli.h"

static void add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
}

static json_object *json_keyslot(const struct fl_volume *v, const struct fl_keyslot *ks)
{
    json_object *o = json_object_new_object(), *tokens = json_object_new_array();
    bool argon = ks->kdf && !strncmp(ks->kdf, "argon2", 6);

    add(o, "id", json_object_new_int(ks->id));
    add(o, "type", fl_json_string(ks->type));
    add(o, "kdf", fl_json_string(ks->kdf));
    add(o, "hash", fl_json_string(ks->hash));
    add(o, "iterations", fl_json_u64(ks->iterations, ks->kdf != NULL));
    add(o, "memory_kib", fl_json_u64(ks->memory_kib, argon));
    add(o, "threads", fl_json_u64(ks->threads, argon));
    add(o, "cipher", fl_json_string(ks->cipher));
    add(o, "key_bits", fl_json_u64(ks->key_bits, ks->key_bits > 0));
    add(o, "af_hash", fl_json_string(ks->af_hash));
    add(o, "priority", json_object_new_string(fl_priority_name(ks->priority)));
    for (size_t i = 0; i < ks->n_tokens; i++) {
        const struct fl_token *t = fl_volume_token(v, ks->tokens[i]);
        json_object *jt = json_object_new_object();
        add(jt, "id", json_object_new_int(ks->tokens[i]));
        add(jt, "type", fl_json_string(t ? t->type : NULL));
        json_object_array_add(tokens, jt);
    }
    add(o, "tokens", tokens);
    return o;
}

static json_object *json_findings(const struct fl_findings *f)
{
    json_object *arr = json_object_new_array();

    for (size_t i = 0; i < f->n; i++) {
        const struct fl_finding *x = &f->items[i];
        json_object *o = json_object_new_object();
        char object[32];
        add(o, "rule", json_object_new_string(x->rule->id));
        add(o, "severity", json_object_new_string(fl_severity_name(x->severity)));
        add(o, "object", fl_json_string(fl_finding_object(x, object, sizeof(object))));
        add(o, "message", fl_json_string(x->message));
        add(o, "remedy", fl_json_string(x->remedy));
        json_object_array_add(arr, o);
    }
    return arr;
}

json_object *fl_json_volume(const struct fl_volume *v, const struct fl_findings *f)
{
    json_object *o = json_object_new_object();
    json_object *segments = json_object_new_array(), *keyslots = json_object_new_array();
    json_object *digests = json_object_new_array();

    add(o, "path", fl_json_string(v->path));
    add(o, "header", fl_json_string(v->header_path));
    add(o, "status", json_object_new_string("ok"));
    add(o, "error", NULL);
    add(o, "luks_version", json_object_new_int(v->luks_version));
    add(o, "uuid", fl_json_string(v->uuid));
    add(o, "label", fl_json_string(v->label));
    add(o, "subsystem", fl_json_string(v->subsystem));
    add(o, "fips_compatible", json_object_new_boolean(fl_findings_compatible(f)));
    for (size_t i = 0; i < v->n_segments; i++) {
        const struct fl_segment *s = &v->segments[i];
        json_object *js = json_object_new_object();
        add(js, "id", json_object_new_int(s->id));
        add(js, "type", fl_json_string(s->type));
        add(js, "cipher", fl_json_string(s->cipher));
        add(js, "key_bits", fl_json_u64(s->key_bits, s->key_bits > 0));
        add(js, "sector_size", fl_json_u64(s->sector_size, s->sector_size > 0));
        add(js, "integrity", fl_json_string(s->integrity));
        add(js, "offset", fl_json_u64(s->offset, true));
        json_object_array_add(segments, js);
    }
    add(o, "segments", segments);
    for (size_t i = 0; i < v->n_keyslots; i++)
        json_object_array_add(keyslots, json_keyslot(v, &v->keyslots[i]));
    add(o, "keyslots", keyslots);
    for (size_t i = 0; i < v->n_digests; i++) {
        const struct fl_digest *d = &v->digests[i];
        json_object *jd = json_object_new_object();
        add(jd, "id", json_object_new_int(d->id));
        add(jd, "type", fl_json_string(d->type));
        add(jd, "hash", fl_json_string(d->hash));
        add(jd, "iterations", fl_json_u64(d->iterations, d->iterations > 0));
        json_object_array_add(digests, jd);
    }
    add(o, "digests", digests);
    add(o, "findings", json_findings(f));
    return o;
}

json_object *fl_json_volume_error(const char *path, int err)
{
    json_object *o = json_object_new_object();

    add(o, "path", fl_json_string(path));
    add(o, "header", NULL);
    add(o, "status", json_object_new_string("error"));
    add(o, "error", json_object_new_string(fl_volume_strerror_at(err, path)));
    add(o, "luks_version", NULL);
    add(o, "uuid", NULL);
    add(o, "label", NULL);
    add(o, "subsystem", NULL);
    add(o, "fips_compatible", NULL);
    add(o, "segments", json_object_new_array());
    add(o, "keyslots", json_object_new_array());
    add(o, "digests", json_object_new_array());
    add(o, "findings", json_object_new_array());
    return o;
}

/* ---- text ---- */

/* A header-supplied string, escaped; "?" when absent. */
static void put(FILE *out, const char *s)
{
    fl_fputs_escaped(s ? s : "?", out);
}

static void print_kdf(FILE *out, const struct fl_keyslot *ks)
{
    if (!ks->kdf) {
        fprintf(out, "no kdf");
    } else if (!strcmp(ks->kdf, "pbkdf2")) {
        fprintf(out, "pbkdf2 ");
        put(out, ks->hash);
        fprintf(out, ", %u iterations", ks->iterations);
    } else {
        put(out, ks->kdf);
        fprintf(out, " (time %u, memory %u KiB, %u thread%s)", ks->iterations, ks->memory_kib, ks->threads,
                ks->threads == 1 ? "" : "s");
    }
}

void fl_print_volume(FILE *out, const struct fl_volume *v, const struct fl_findings *f)
{
    size_t errors = 0, warnings = 0;

    for (size_t i = 0; i < f->n; i++) {
        errors += f->items[i].severity == FL_SEVERITY_ERROR;
        warnings += f->items[i].severity == FL_SEVERITY_WARNING;
    }
    fl_fputs_escaped(v->path, out);
    fprintf(out, ": LUKS%d, ", v->luks_version);
    if (errors)
        fprintf(out, "%sNOT FIPS-compatible%s (%zu error%s", fl_color_on(out, FL_COLOR_RED),
                fl_color_off(out), errors, errors == 1 ? "" : "s");
    else
        fprintf(out, "%sFIPS-compatible%s (", fl_color_on(out, FL_COLOR_GREEN), fl_color_off(out));
    fprintf(out, "%s%zu warning%s)\n", errors ? ", " : "", warnings, warnings == 1 ? "" : "s");

    fprintf(out, "  uuid ");
    put(out, v->uuid);
    if (v->header_path) {
        fprintf(out, ", header ");
        fl_fputs_escaped(v->header_path, out);
    }
    if (v->label) {
        fprintf(out, ", label ");
        fl_fputs_escaped(v->label, out);
    }
    fputc('\n', out);
    for (size_t i = 0; i < v->n_segments; i++) {
        const struct fl_segment *s = &v->segments[i];
        fprintf(out, "  segment %-3d ", s->id);
        if (!s->cipher) {
            put(out, s->type);
            fputc('\n', out);
            continue;
        }
        put(out, s->cipher);
        fprintf(out, ", %u-bit key, %u-byte sectors", s->key_bits, s->sector_size);
        if (s->integrity) {
            fprintf(out, ", integrity ");
            fl_fputs_escaped(s->integrity, out);
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < v->n_digests; i++) {
        const struct fl_digest *d = &v->digests[i];
        fprintf(out, "  digest  %-3d ", d->id);
        put(out, d->type);
        fputc(' ', out);
        put(out, d->hash);
        fprintf(out, ", %u iterations\n", d->iterations);
    }
    for (size_t i = 0; i < v->n_keyslots; i++) {
        const struct fl_keyslot *ks = &v->keyslots[i];
        fprintf(out, "  keyslot %-3d ", ks->id);
        print_kdf(out, ks);
        fprintf(out, "; area ");
        put(out, ks->cipher);
        fprintf(out, " %u-bit; af ", ks->key_bits);
        put(out, ks->af_hash);
        fprintf(out, "; %s", fl_priority_name(ks->priority));
        for (size_t t = 0; t < ks->n_tokens; t++) {
            const struct fl_token *tok = fl_volume_token(v, ks->tokens[t]);
            fprintf(out, "; token %d (", ks->tokens[t]);
            put(out, tok ? tok->type : NULL);
            fputc(')', out);
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < f->n; i++) {
        const struct fl_finding *x = &f->items[i];
        char object[32];
        enum fl_color c = x->severity == FL_SEVERITY_ERROR     ? FL_COLOR_RED
                          : x->severity == FL_SEVERITY_WARNING ? FL_COLOR_YELLOW
                                                               : FL_COLOR_DIM;
        fprintf(out, "  %s%-7s%s %s %s: ", fl_color_on(out, c), fl_severity_name(x->severity),
                fl_color_off(out), x->rule->id, fl_finding_object(x, object, sizeof(object)));
        fl_fputs_escaped(x->message, out);
        fputc('\n', out);
        if (x->remedy) {
            fprintf(out, "          fix: ");
            fl_fputs_escaped(x->remedy, out);
            fputc('\n', out);
        }
    }
}

/* ---- the volume in /etc/crypttab (scan) ---- */

void fl_json_volume_crypttab(json_object *o, const struct fl_volume *v, const struct fl_crypttab_entry *e,
                             const enum fl_crypttab_key *keys)
{
    json_object *ct, *tokens, *keyslots = NULL;

    if (!e) {
        add(o, "crypttab", NULL);
        return;
    }
    ct = json_object_new_object();
    tokens = json_object_new_array();
    add(ct, "name", fl_json_string(e->name));
    add(ct, "line", json_object_new_int((int)e->line));
    add(ct, "device", fl_json_string(e->device));
    add(ct, "key_file", fl_json_string(e->key_file));
    add(ct, "key_device", fl_json_string(e->key_device));
    add(ct, "options", fl_json_string(e->options));
    add(ct, "key_slot", e->key_slot >= 0 ? json_object_new_int(e->key_slot) : NULL);
    if (e->tokens & FL_CRYPTTAB_TPM2)
        json_object_array_add(tokens, json_object_new_string("tpm2"));
    if (e->tokens & FL_CRYPTTAB_FIDO2)
        json_object_array_add(tokens, json_object_new_string("fido2"));
    if (e->tokens & FL_CRYPTTAB_PKCS11)
        json_object_array_add(tokens, json_object_new_string("pkcs11"));
    add(ct, "tokens", tokens);
    add(ct, "noauto", json_object_new_boolean(e->noauto));
    add(ct, "nofail", json_object_new_boolean(e->nofail));
    add(o, "crypttab", ct);
    /* each keyslot object gets whether the crypttab key file opens it */
    if (!v || !json_object_object_get_ex(o, "keyslots", &keyslots))
        return;
    for (size_t i = 0; i < v->n_keyslots && i < FL_MAX_KEYSLOTS && i < json_object_array_length(keyslots);
         i++) {
        const char *name = keys ? fl_crypttab_key_name(keys[i]) : NULL;
        add(json_object_array_get_idx(keyslots, i), "crypttab_key",
            name ? json_object_new_string(name) : NULL);
    }
}

void fl_print_crypttab(FILE *out, const struct fl_volume *v, const struct fl_crypttab_entry *e,
                       const enum fl_crypttab_key *keys)
{
    const char *sep = " (";

    fprintf(out, "  crypttab: ");
    fl_fputs_escaped(e->name, out);
    if (e->key_file) {
        fprintf(out, ", key file ");
        fl_fputs_escaped(e->key_file, out);
        if (e->key_device) {
            fprintf(out, " on ");
            fl_fputs_escaped(e->key_device, out);
        }
    } else {
        fprintf(out, ", no key file");
    }
    /* without a key file there is nothing to say per keyslot */
    for (size_t i = 0; e->key_file && i < v->n_keyslots && i < FL_MAX_KEYSLOTS; i++) {
        const char *name = fl_crypttab_key_name(keys[i]);
        if (!name)
            continue;
        if (keys[i] == FL_CRYPTTAB_KEY_NONE)
            fprintf(out, "%snot for keyslot %d", sep, v->keyslots[i].id);
        else
            fprintf(out, "%s%s keyslot %d", sep,
                    keys[i] == FL_CRYPTTAB_KEY_UNREADABLE ? "cannot be read for" : name, v->keyslots[i].id);
        sep = "; ";
    }
    if (sep[0] == ';')
        fputc(')', out);
    if (e->key_slot >= 0)
        fprintf(out, ", key-slot=%d", e->key_slot);
    if (e->tokens & FL_CRYPTTAB_TPM2)
        fprintf(out, ", tpm2-device");
    if (e->tokens & FL_CRYPTTAB_FIDO2)
        fprintf(out, ", fido2-device");
    if (e->tokens & FL_CRYPTTAB_PKCS11)
        fprintf(out, ", pkcs11-uri");
    if (e->noauto)
        fprintf(out, ", noauto (not opened at boot)");
    if (e->nofail)
        fprintf(out, ", nofail");
    fputc('\n', out);
}
