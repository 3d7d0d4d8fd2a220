/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration journal: a LUKS2 token of type "fipsluks-migration" that records, before a
 * conversion writes anything, what it is about to write and how to recognise it afterwards.
 * Parsing and checking it against a header are pure functions (tests/unit/test_journal.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libcryptsetup.h>

#include "cleanup.h"
#include "fipsluks/migrate.h"
#include "journal.h"
#include "util.h"

/* A keyslot or token id as LUKS2 JSON stores it: a decimal string. -1 if absent or malformed. */
static int parse_id(json_object *o, int max)
{
    uint64_t id;
    if (!o || !json_object_is_type(o, json_type_string) || fl_parse_u64(json_object_get_string(o), &id) < 0 ||
        id >= (uint64_t)max)
        return -1;
    return (int)id;
}

static const char *jstring(json_object *root, const char *key)
{
    json_object *o;
    if (!json_object_object_get_ex(root, key, &o) || !json_object_is_type(o, json_type_string))
        return NULL;
    return json_object_get_string(o);
}

static int parse_priority(const char *s, enum fl_priority *ret)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "prefer"))
        *ret = FL_PRIORITY_PREFER;
    else if (!strcmp(s, "ignore"))
        *ret = FL_PRIORITY_IGNORE;
    else if (!strcmp(s, "normal"))
        *ret = FL_PRIORITY_NORMAL;
    else
        return -EINVAL;
    return 0;
}

#define PROBLEM(j, ...) fl_why_set(&(j)->why, 0, __VA_ARGS__)

int fl_journal_parse(const char *json, int token, struct fl_journal *j)
{
    _cleanup_json_ json_object *root = NULL;
    json_object *o, *tokens;
    const char *s, *version;
    uint64_t n;

    memset(j, 0, sizeof(*j));
    j->token = token;
    j->keyslot = j->temp = -1;
    j->priority = FL_PRIORITY_NORMAL;
    root = json ? json_tokener_parse(json) : NULL;
    if (!root || !json_object_is_type(root, json_type_object)) {
        PROBLEM(j, "its JSON cannot be parsed");
        return 0;
    }
    version = jstring(root, "version");
    if (!version || fl_parse_u64(version, &n) < 0 || n != FL_JOURNAL_VERSION) {
        PROBLEM(j, "it is not a version %d journal (written by another fipsluks version)",
                FL_JOURNAL_VERSION);
        return 0;
    }
    j->keyslot = parse_id(json_object_object_get_ex(root, "keyslot", &o) ? o : NULL, FL_MAX_KEYSLOTS);
    if (j->keyslot < 0) {
        PROBLEM(j, "it names no valid keyslot (0-%d)", FL_MAX_KEYSLOTS - 1);
        return 0;
    }
    s = jstring(root, "temp");
    if (s && strcmp(s, "none")) {
        j->temp = parse_id(json_object_object_get_ex(root, "temp", &o) ? o : NULL, FL_MAX_KEYSLOTS);
        if (j->temp < 0) {
            PROBLEM(j, "its temporary keyslot is not a valid keyslot number");
            return 0;
        }
        s = jstring(root, "temp_hash");
        if (!s || !*s || strlen(s) >= sizeof(j->temp_hash)) {
            PROBLEM(j, "it records no hash for its temporary keyslot");
            return 0;
        }
        strcpy(j->temp_hash, s);
        s = jstring(root, "temp_iterations");
        if (!s || fl_parse_u64(s, &n) < 0 || n == 0 || n > UINT32_MAX) {
            PROBLEM(j, "it records no iteration count for its temporary keyslot");
            return 0;
        }
        j->temp_iterations = (uint32_t)n;
        s = jstring(root, "temp_salt");
        if (s && (!*s || strlen(s) >= sizeof(j->temp_salt))) {
            PROBLEM(j, "the salt it records for its temporary keyslot is malformed");
            return 0;
        }
        if (s)
            strcpy(j->temp_salt, s);
    } else if (!s) {
        PROBLEM(j, "it records no temporary keyslot");
        return 0;
    }
    s = jstring(root, "salt");
    if (!s || !*s || strlen(s) >= sizeof(j->salt)) {
        PROBLEM(j, "it records no salt for keyslot %d", j->keyslot);
        return 0;
    }
    strcpy(j->salt, s);
    if (parse_priority(jstring(root, "priority"), &j->priority) < 0) {
        PROBLEM(j, "its priority is not ignore, normal or prefer");
        return 0;
    }
    if (json_object_object_get_ex(root, "tokens", &tokens)) {
        if (!json_object_is_type(tokens, json_type_array) ||
            json_object_array_length(tokens) > FL_MAX_TOKENS) {
            PROBLEM(j, "its token list is malformed");
            return 0;
        }
        for (size_t i = 0; i < json_object_array_length(tokens); i++) {
            int id = parse_id(json_object_array_get_idx(tokens, i), FL_MAX_TOKENS);
            if (id < 0) {
                PROBLEM(j, "its token list is malformed");
                return 0;
            }
            j->tokens[j->n_tokens++] = id;
        }
    }
    if (j->temp == j->keyslot)
        PROBLEM(j, "its temporary keyslot is keyslot %d itself", j->keyslot);
    return 0;
}

bool fl_journal_claims(const struct fl_journal *j, int slot)
{
    return slot >= 0 && (j->keyslot == slot || j->temp == slot);
}

size_t fl_journal_validate(struct fl_journal *j, size_t n, const struct fl_volume *v)
{
    size_t bad = 0;

    for (size_t i = 0; i < n; i++) {
        if (j[i].why.text[0])
            continue;
        for (size_t k = 0; k < n; k++) {
            if (k == i || j[k].keyslot < 0)
                continue;
            if (fl_journal_claims(&j[k], j[i].keyslot) || fl_journal_claims(&j[k], j[i].temp)) {
                PROBLEM(&j[i], "journal token %d names the same keyslots", j[k].token);
                break;
            }
        }
        if (j[i].why.text[0])
            continue;
        if (j[i].temp < 0 && !fl_volume_keyslot(v, j[i].keyslot))
            PROBLEM(&j[i], "keyslot %d was being overwritten in place (--allow-in-place) and is gone",
                    j[i].keyslot);
        else if (j[i].temp >= 0 && !fl_volume_keyslot(v, j[i].keyslot) && !fl_volume_keyslot(v, j[i].temp))
            PROBLEM(&j[i], "neither keyslot %d nor its temporary copy %d exists", j[i].keyslot, j[i].temp);
    }
    for (size_t i = 0; i < n; i++)
        bad += j[i].why.text[0] != '\0';
    return bad;
}

static json_object *json_id(int id)
{
    char buf[16];
    snprintf(buf, sizeof(buf), "%d", id);
    return json_object_new_string(buf);
}

int fl_journal_write(struct crypt_device *cd, int token, const struct fl_journal *j, const char *backup)
{
    _cleanup_json_ json_object *root = json_object_new_object(), *tokens = json_object_new_array();
    char buf[16];

    if (!root || !tokens)
        return -ENOMEM;
    json_object_object_add(root, "type", json_object_new_string(FL_MIGRATION_TOKEN));
    json_object_object_add(root, "keyslots", json_object_new_array());
    snprintf(buf, sizeof(buf), "%d", FL_JOURNAL_VERSION);
    json_object_object_add(root, "version", json_object_new_string(buf));
    json_object_object_add(root, "keyslot", json_id(j->keyslot));
    json_object_object_add(root, "salt", json_object_new_string(j->salt));
    if (j->temp >= 0) {
        json_object_object_add(root, "temp", json_id(j->temp));
        json_object_object_add(root, "temp_hash", json_object_new_string(j->temp_hash));
        snprintf(buf, sizeof(buf), "%u", j->temp_iterations);
        json_object_object_add(root, "temp_iterations", json_object_new_string(buf));
        if (j->temp_salt[0])
            json_object_object_add(root, "temp_salt", json_object_new_string(j->temp_salt));
    } else {
        json_object_object_add(root, "temp", json_object_new_string("none"));
    }
    json_object_object_add(root, "priority", json_object_new_string(fl_priority_name(j->priority)));
    for (size_t i = 0; i < j->n_tokens; i++)
        json_object_array_add(tokens, json_id(j->tokens[i]));
    json_object_object_add(root, "tokens", TAKE_PTR(tokens));
    /* for the operator only: never read back as a path */
    if (backup && *backup)
        json_object_object_add(root, "backup", json_object_new_string(backup));
    return crypt_token_json_set(cd, token, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
}
