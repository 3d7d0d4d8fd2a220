/* A LUKS2 volume model built in memory, for the pure functions over struct fl_volume (not a test
 * itself: no test_ prefix). Used by test_migrate.c and test_journal.c. */
#ifndef FL_TEST_FAKE_VOLUME_H
#define FL_TEST_FAKE_VOLUME_H

#include <stdint.h>
#include <string.h>

#include "fipsluks/volume.h"

#define MiB (1024u * 1024u)
/* The model's strings are not const; these tests never free or change them. */
#define STR(s) ((char *)(uintptr_t)(s))

/* A LUKS2 volume with an approved data segment and no keyslots. */
static inline void volume_init(struct fl_volume *v)
{
    memset(v, 0, sizeof(*v));
    v->luks_version = 2;
    v->metadata_size = 16384;
    v->keyslots_size = 16 * MiB - 2 * 16384;
    v->segments[0].type = STR("crypt");
    v->segments[0].cipher = STR("aes-xts-plain64");
    v->segments[0].key_bits = 512;
    v->segments[0].sector_size = 4096;
    v->n_segments = 1;
    v->digests[0].type = STR("pbkdf2");
    v->digests[0].hash = STR("sha256");
    v->digests[0].iterations = 100000;
    v->n_digests = 1;
}

static inline struct fl_keyslot *add_keyslot(struct fl_volume *v, int id, const char *kdf, const char *hash,
                                             uint32_t iterations, uint64_t area_offset)
{
    struct fl_keyslot *ks = &v->keyslots[v->n_keyslots++];

    memset(ks, 0, sizeof(*ks));
    ks->id = id;
    ks->type = STR("luks2");
    ks->kdf = STR(kdf);
    ks->hash = STR(hash);
    ks->iterations = iterations;
    ks->memory_kib = hash ? 0 : 32768;
    ks->threads = hash ? 0 : 1;
    ks->cipher = STR("aes-xts-plain64");
    ks->key_bits = 512;
    ks->af_hash = STR("sha256");
    ks->area_offset = area_offset;
    ks->area_size = 258048;
    ks->priority = FL_PRIORITY_NORMAL;
    return ks;
}

#endif
