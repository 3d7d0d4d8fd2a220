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

static void jw_keyslot(struct fl_jw *w, const struct fl_volume *v, const struct fl_keyslot *ks,
                       const struct fl_jw_crypttab *ct, size_t i)
{
    bool argon = ks->kdf && !strncmp(ks->kdf, "argon2", 6);

    fl_jw_begin(w, '{');
    fl_jw_key(w, "id");
    fl_jw_int(w, ks->id);
    fl_jw_key(w, "type");
    fl_jw_string(w, ks->type);
    fl_jw_key(w, "kdf");
    fl_jw_string(w, ks->kdf);
    fl_jw_key(w, "hash");
    fl_jw_string(w, ks->hash);
    fl_jw_key(w, "iterations");
    fl_jw_u64(w, ks->iterations, ks->kdf != NULL);
    fl_jw_key(w, "memory_kib");
    fl_jw_u64(w, ks->memory_kib, argon);
    fl_jw_key(w, "threads");
    fl_jw_u64(w, ks->threads, argon);
    fl_jw_key(w, "cipher");
    fl_jw_string(w, ks->cipher);
    fl_jw_key(w, "key_bits");
    fl_jw_u64(w, ks->key_bits, ks->key_bits > 0);
    fl_jw_key(w, "af_hash");
    fl_jw_string(w, ks->af_hash);
    fl_jw_key(w, "priority");
    fl_jw_string(w, fl_priority_name(ks->priority));
    fl_jw_key(w, "tokens");
    fl_jw_begin(w, '[');
    for (size_t t = 0; t < ks->n_tokens; t++) {
        const struct fl_token *tok = fl_volume_token(v, ks->tokens[t]);

        fl_jw_begin(w, '{');
        fl_jw_key(w, "id");
        fl_jw_int(w, ks->tokens[t]);
        fl_jw_key(w, "type");
        fl_jw_string(w, tok ? tok->type : NULL);
        fl_jw_end(w, '}');
    }
    fl_jw_end(w, ']');
    /* with a crypttab entry: whether its key file opens this keyslot */
    if (ct && ct->entry && i < FL_MAX_KEYSLOTS) {
        fl_jw_key(w, "crypttab_key");
        fl_jw_string(w, ct->keys ? fl_crypttab_key_name(ct->keys[i]) : NULL);
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
        fl_jw_key(w, "rule");
        fl_jw_string(w, x->rule->id);
        fl_jw_key(w, "severity");
        fl_jw_string(w, fl_severity_name(x->severity));
        fl_jw_key(w, "object");
        fl_jw_string(w, fl_finding_object(x, object, sizeof(object)));
        fl_jw_key(w, "message");
        fl_jw_string(w, x->message);
        fl_jw_key(w, "remedy");
        fl_jw_string(w, x->remedy);
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
    fl_jw_key(w, "name");
    fl_jw_string(w, e->name);
    fl_jw_key(w, "line");
    fl_jw_int(w, (int)e->line);
    fl_jw_key(w, "device");
    fl_jw_string(w, e->device);
    fl_jw_key(w, "key_file");
    fl_jw_string(w, e->key_file);
    fl_jw_key(w, "key_device");
    fl_jw_string(w, e->key_device);
    fl_jw_key(w, "options");
    fl_jw_string(w, e->options);
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
    fl_jw_key(w, "noauto");
    fl_jw_bool(w, e->noauto);
    fl_jw_key(w, "nofail");
    fl_jw_bool(w, e->nofail);
    fl_jw_end(w, '}');
}

void fl_jw_volume(struct fl_jw *w, const struct fl_volume *v, const struct fl_findings *f,
                  const struct fl_jw_crypttab *ct)
{
    fl_jw_begin(w, '{');
    fl_jw_key(w, "path");
    fl_jw_string(w, v->path);
    fl_jw_key(w, "header");
    fl_jw_string(w, v->header_path);
    fl_jw_key(w, "status");
    fl_jw_string(w, "ok");
    fl_jw_key(w, "error");
    fl_jw_null(w);
    fl_jw_key(w, "luks_version");
    fl_jw_int(w, v->luks_version);
    fl_jw_key(w, "uuid");
    fl_jw_string(w, v->uuid);
    fl_jw_key(w, "label");
    fl_jw_string(w, v->label);
    fl_jw_key(w, "subsystem");
    fl_jw_string(w, v->subsystem);
    fl_jw_key(w, "fips_compatible");
    fl_jw_bool(w, fl_findings_compatible(f));
    fl_jw_key(w, "segments");
    fl_jw_begin(w, '[');
    for (size_t i = 0; i < v->n_segments; i++) {
        const struct fl_segment *s = &v->segments[i];

        fl_jw_begin(w, '{');
        fl_jw_key(w, "id");
        fl_jw_int(w, s->id);
        fl_jw_key(w, "type");
        fl_jw_string(w, s->type);
        fl_jw_key(w, "cipher");
        fl_jw_string(w, s->cipher);
        fl_jw_key(w, "key_bits");
        fl_jw_u64(w, s->key_bits, s->key_bits > 0);
        fl_jw_key(w, "sector_size");
        fl_jw_u64(w, s->sector_size, s->sector_size > 0);
        fl_jw_key(w, "integrity");
        fl_jw_string(w, s->integrity);
        fl_jw_key(w, "offset");
        fl_jw_u64(w, s->offset, true);
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
        fl_jw_key(w, "id");
        fl_jw_int(w, d->id);
        fl_jw_key(w, "type");
        fl_jw_string(w, d->type);
        fl_jw_key(w, "hash");
        fl_jw_string(w, d->hash);
        fl_jw_key(w, "iterations");
        fl_jw_u64(w, d->iterations, d->iterations > 0);
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
    add(o, "error", json_object_new_string(fl_volume_strerror(err)));
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
