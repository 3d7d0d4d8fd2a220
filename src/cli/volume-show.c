/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A scanned volume for people (text) and machines (JSON), shared by every verb that shows volumes (scan,
 * check, migrate, format, reencrypt): this file shows, the verbs decide. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void add(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
}

/*
 * The JSON objects are written as text (struct fl_jw): a scan writes one per volume, and building
 * json-c objects to print them was about 7 % of its CPU. fl_json_volume() parses that text for the
 * verbs that put a volume into a larger document.
 */

/* A member of the object being written: its name, then its value (struct fl_jw). */
static void member_string(struct fl_jw *w, const char *key, const char *v)
{
    fl_jw_key(w, key);
    fl_jw_string(w, v);
}

static void member_int(struct fl_jw *w, const char *key, int64_t v)
{
    fl_jw_key(w, key);
    fl_jw_int(w, v);
}

static void member_u64(struct fl_jw *w, const char *key, unsigned long long v, bool present)
{
    fl_jw_key(w, key);
    fl_jw_u64(w, v, present);
}

static void member_bool(struct fl_jw *w, const char *key, bool v)
{
    fl_jw_key(w, key);
    fl_jw_bool(w, v);
}

static void member_null(struct fl_jw *w, const char *key)
{
    fl_jw_key(w, key);
    fl_jw_null(w);
}

static void jw_keyslot(struct fl_jw *w, const struct fl_volume *v, const struct fl_keyslot *ks,
                       const struct fl_jw_crypttab *ct, size_t i)
{
    bool argon = ks->kdf && !strncmp(ks->kdf, "argon2", 6);

    fl_jw_begin(w, '{');
    member_int(w, "id", ks->id);
    member_string(w, "type", ks->type);
    member_string(w, "kdf", ks->kdf);
    member_string(w, "hash", ks->hash);
    member_u64(w, "iterations", ks->iterations, ks->kdf != NULL);
    member_u64(w, "memory_kib", ks->memory_kib, argon);
    member_u64(w, "threads", ks->threads, argon);
    member_string(w, "cipher", ks->cipher);
    member_u64(w, "key_bits", ks->key_bits, ks->key_bits > 0);
    member_string(w, "af_hash", ks->af_hash);
    member_string(w, "priority", fl_priority_name(ks->priority));
    fl_jw_key(w, "tokens");
    fl_jw_begin(w, '[');
    for (size_t t = 0; t < ks->n_tokens; t++) {
        const struct fl_token *tok = fl_volume_token(v, ks->tokens[t]);

        fl_jw_begin(w, '{');
        member_int(w, "id", ks->tokens[t]);
        member_string(w, "type", tok ? tok->type : NULL);
        fl_jw_end(w, '}');
    }
    fl_jw_end(w, ']');
    /* with a crypttab entry: whether its key file opens this keyslot */
    if (ct && ct->entry && i < FL_MAX_KEYSLOTS) {
        member_string(w, "crypttab_key", ct->keys ? fl_crypttab_key_name(ct->keys[i]) : NULL);
    }
    fl_jw_end(w, '}');
}

static void jw_findings(struct fl_jw *w, const struct fl_findings *f)
{
    fl_jw_begin(w, '[');
    for (size_t i = 0; i < f->n; i++) {
        const struct fl_finding *x = &f->items[i];
        char object[32];

        fl_jw_begin(w, '{');
        member_string(w, "rule", x->rule->id);
        member_string(w, "severity", fl_severity_name(x->severity));
        member_string(w, "object", fl_finding_object(x, object, sizeof(object)));
        member_string(w, "message", x->message);
        member_string(w, "remedy", x->remedy);
        fl_jw_end(w, '}');
    }
    fl_jw_end(w, ']');
}

static void jw_crypttab(struct fl_jw *w, const struct fl_crypttab_entry *e)
{
    fl_jw_key(w, "crypttab");
    if (!e) {
        fl_jw_null(w);
        return;
    }
    fl_jw_begin(w, '{');
    member_string(w, "name", e->name);
    member_int(w, "line", (int)e->line);
    member_string(w, "device", e->device);
    member_string(w, "key_file", e->key_file);
    member_string(w, "key_device", e->key_device);
    member_string(w, "options", e->options);
    fl_jw_key(w, "key_slot");
    if (e->key_slot >= 0)
        fl_jw_int(w, e->key_slot);
    else
        fl_jw_null(w);
    fl_jw_key(w, "tokens");
    fl_jw_begin(w, '[');
    if (e->tokens & FL_CRYPTTAB_TPM2)
        fl_jw_string(w, "tpm2");
    if (e->tokens & FL_CRYPTTAB_FIDO2)
        fl_jw_string(w, "fido2");
    if (e->tokens & FL_CRYPTTAB_PKCS11)
        fl_jw_string(w, "pkcs11");
    fl_jw_end(w, ']');
    member_bool(w, "noauto", e->noauto);
    member_bool(w, "nofail", e->nofail);
    fl_jw_end(w, '}');
}

void fl_jw_volume(struct fl_jw *w, const struct fl_volume *v, const struct fl_findings *f,
                  const struct fl_jw_crypttab *ct)
{
    fl_jw_begin(w, '{');
    member_string(w, "path", v->path);
    member_string(w, "header", v->header_path);
    member_string(w, "status", "ok");
    member_null(w, "error");
    member_int(w, "luks_version", v->luks_version);
    member_string(w, "uuid", v->uuid);
    member_string(w, "label", v->label);
    member_string(w, "subsystem", v->subsystem);
    member_bool(w, "fips_compatible", fl_findings_compatible(f));
    fl_jw_key(w, "segments");
    fl_jw_begin(w, '[');
    for (size_t i = 0; i < v->n_segments; i++) {
        const struct fl_segment *s = &v->segments[i];

        fl_jw_begin(w, '{');
        member_int(w, "id", s->id);
        member_string(w, "type", s->type);
        member_string(w, "cipher", s->cipher);
        member_u64(w, "key_bits", s->key_bits, s->key_bits > 0);
        member_u64(w, "sector_size", s->sector_size, s->sector_size > 0);
        member_string(w, "integrity", s->integrity);
        member_u64(w, "offset", s->offset, true);
        fl_jw_end(w, '}');
    }
    fl_jw_end(w, ']');
    fl_jw_key(w, "keyslots");
    fl_jw_begin(w, '[');
    for (size_t i = 0; i < v->n_keyslots; i++)
        jw_keyslot(w, v, &v->keyslots[i], ct, i);
    fl_jw_end(w, ']');
    fl_jw_key(w, "digests");
    fl_jw_begin(w, '[');
    for (size_t i = 0; i < v->n_digests; i++) {
        const struct fl_digest *d = &v->digests[i];

        fl_jw_begin(w, '{');
        member_int(w, "id", d->id);
        member_string(w, "type", d->type);
        member_string(w, "hash", d->hash);
        member_u64(w, "iterations", d->iterations, d->iterations > 0);
        fl_jw_end(w, '}');
    }
    fl_jw_end(w, ']');
    fl_jw_key(w, "findings");
    jw_findings(w, f);
    if (ct)
        jw_crypttab(w, ct->entry);
}

json_object *fl_json_volume(const struct fl_volume *v, const struct fl_findings *f)
{
    struct fl_jw w = {0};
    json_object *o;
    char *text;

    fl_jw_volume(&w, v, f, NULL);
    fl_jw_end(&w, '}');
    text = fl_sb_take(&w.sb);
    o = text ? json_tokener_parse(text) : NULL;
    free(text);
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
