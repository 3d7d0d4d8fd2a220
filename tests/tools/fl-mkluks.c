/*
 * fl-mkluks: create a LUKS1 or LUKS2 test image with libcryptsetup, with cheap KDF settings.
 *
 *   fl-mkluks [--type luks1|luks2] [--cipher SPEC] [--key-size BITS] [--sector-size N] [--label L]
 *             [--subsystem S] [--hash H] [--size MIB] [--uuid U] --slot SPEC [--slot SPEC ...] IMAGE
 *
 * SPEC is comma-separated key=value: key-file=PATH (required; the secret is the file's exact bytes),
 * kdf=pbkdf2|argon2i|argon2id, hash=H, iter=N, mem=KiB, par=N, id=N, priority=ignore|normal|prefer,
 * token=TYPE (import a token of that type, with plausible fields for systemd-tpm2, systemd-fido2, clevis and
 * luks2-keyring, and bind it to the keyslot). The volume is formatted with a generated volume key, then each
 * --slot is added in order with that key and its own PBKDF. Defaults are fast, not safe: PBKDF2 1000
 * iterations; Argon2 time 4, 32 MiB (or FL_MKLUKS_ARGON2_MEMORY_KIB from the environment), 1 thread;
 * never benchmarked. --size 0 leaves IMAGE as it is (an existing file or block device); otherwise IMAGE
 * is created or truncated to that many MiB of zeros.
 *
 * --hash is the LUKS1 header hash (every keyslot and the digest use it) or the LUKS2 volume-key digest hash
 * (crypt_format() creates the digest with the hash of the PBKDF set at that moment; the digest gets the
 * minimum 1000 iterations); a LUKS2 keyslot's PBKDF2 hash (and AF hash) is its own hash=, default sha256.
 *
 * libcryptsetup refuses PBKDF2 below 1000 iterations ("Forced iteration count is too low"). For a LUKS2
 * keyslot with iter < 1000 this tool sets 1000 through the API, then lowers the count in the library's own
 * PBKDF setting (crypt_get_pbkdf_type() points at it) before the keyslot is written: with
 * CRYPT_PBKDF_NO_BENCHMARK libcryptsetup 2.6 uses that count as-is, so the keyslot really has it and opens.
 * Test-only; LUKS1 clamps keyslots to 1000 internally, so iter < 1000 is refused there.
 *
 * Exit status 0 on success, 1 on any error (message on stderr naming the image). Prints nothing on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <popt.h>

#define PROG            "fl-mkluks"
#define MAX_SLOTS       32
#define MAX_SECRET_SIZE (8 * 1024 * 1024)
#define MIN_PBKDF2_ITER 1000

enum { OPT_SLOT = 1 };

struct slot_spec {
    char *text;   /* the --slot argument as given, for messages */
    char *fields; /* a copy of text split into key=value fields; the pointers below point into it */
    const char *key_file;
    const char *kdf;     /* CRYPT_KDF_* */
    const char *hash;    /* PBKDF2 hash (LUKS2: also the AF hash); NULL: default */
    uint32_t iterations; /* 0: default */
    uint32_t memory_kb;  /* 0: default */
    uint32_t parallel;   /* 0: default */
    int id;              /* CRYPT_ANY_SLOT: first free */
    int priority;        /* CRYPT_SLOT_PRIORITY_INVALID: leave as created */
    const char *token;   /* token type to import and bind, or NULL */
    char *secret;        /* crypt_safe_alloc()ed */
    size_t secret_len;
};

struct options {
    const char *type;
    const char *cipher;
    char cipher_name[32]; /* cipher split at the first '-': "aes" */
    char cipher_mode[64]; /* "xts-plain64" */
    uint32_t key_bits;
    uint32_t sector_size;
    const char *label;
    const char *subsystem;
    const char *hash;
    uint64_t size_mib;
    const char *uuid;
    const char *image;
    struct slot_spec slots[MAX_SLOTS];
    int nslots;
};

static void log_cb(int level, const char *msg, void *usrptr)
{
    const char *image = usrptr;

    if (level != CRYPT_LOG_ERROR)
        return;
    fprintf(stderr, PROG ": '%s': libcryptsetup: %s%s", image ? image : "?", msg,
            msg[0] && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s == '-' || *s == '+')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

static int parse_u32(const char *s, uint32_t *ret)
{
    uint64_t v;
    int r = parse_u64(s, UINT32_MAX, &v);

    if (r == 0)
        *ret = (uint32_t)v;
    return r;
}

/* Each --slot gets its own, still empty, slots[] entry, and main() frees every entry's text and fields.
 * clang's analyzer loses o.nslots across poptGetNextOpt(), takes @p s for the previous entry and
 * reports that entry's strings leaked when they are overwritten here. */
/* NOLINTBEGIN(clang-analyzer-unix.Malloc) */
static int slot_spec_parse(struct slot_spec *s, char *arg)
{
    char *save = NULL, *item, *val;
    uint64_t n;

    memset(s, 0, sizeof(*s));
    s->text = arg;
    s->kdf = CRYPT_KDF_PBKDF2;
    s->id = CRYPT_ANY_SLOT;
    s->priority = CRYPT_SLOT_PRIORITY_INVALID;

    s->fields = strdup(arg);
    if (!s->fields)
        return -ENOMEM;
    for (item = strtok_r(s->fields, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        val = strchr(item, '=');
        if (!val || val == item || !val[1]) {
            fprintf(stderr, PROG ": --slot '%s': '%s' is not key=value\n", arg, item);
            return -EINVAL;
        }
        *val++ = '\0';
        if (!strcmp(item, "key-file")) {
            s->key_file = val;
        } else if (!strcmp(item, "kdf")) {
            if (!strcmp(val, "pbkdf2"))
                s->kdf = CRYPT_KDF_PBKDF2;
            else if (!strcmp(val, "argon2i"))
                s->kdf = CRYPT_KDF_ARGON2I;
            else if (!strcmp(val, "argon2id"))
                s->kdf = CRYPT_KDF_ARGON2ID;
            else
                goto bad_value;
        } else if (!strcmp(item, "hash")) {
            s->hash = val;
        } else if (!strcmp(item, "iter")) {
            if (parse_u32(val, &s->iterations) || !s->iterations)
                goto bad_value;
        } else if (!strcmp(item, "mem")) {
            if (parse_u32(val, &s->memory_kb) || !s->memory_kb)
                goto bad_value;
        } else if (!strcmp(item, "par")) {
            if (parse_u32(val, &s->parallel) || !s->parallel)
                goto bad_value;
        } else if (!strcmp(item, "id")) {
            if (parse_u64(val, MAX_SLOTS - 1, &n))
                goto bad_value;
            s->id = (int)n;
        } else if (!strcmp(item, "priority")) {
            if (!strcmp(val, "ignore"))
                s->priority = CRYPT_SLOT_PRIORITY_IGNORE;
            else if (!strcmp(val, "normal"))
                s->priority = CRYPT_SLOT_PRIORITY_NORMAL;
            else if (!strcmp(val, "prefer"))
                s->priority = CRYPT_SLOT_PRIORITY_PREFER;
            else
                goto bad_value;
        } else if (!strcmp(item, "token")) {
            s->token = val;
        } else {
            fprintf(stderr, PROG ": --slot '%s': unknown key '%s'\n", arg, item);
            return -EINVAL;
        }
        continue;
    bad_value:
        fprintf(stderr, PROG ": --slot '%s': invalid %s '%s'\n", arg, item, val);
        return -EINVAL;
    }
    if (!s->key_file) {
        fprintf(stderr, PROG ": --slot '%s': key-file=PATH is required\n", arg);
        return -EINVAL;
    }
    if (!strcmp(s->kdf, CRYPT_KDF_PBKDF2) && (s->memory_kb || s->parallel)) {
        fprintf(stderr, PROG ": --slot '%s': mem= and par= apply to Argon2 only\n", arg);
        return -EINVAL;
    }
    return 0;
}
/* NOLINTEND(clang-analyzer-unix.Malloc) */

/* Argon2 memory (KiB) when a --slot gives no mem=: 32 MiB, or FL_MKLUKS_ARGON2_MEMORY_KIB (tests under
 * valgrind, where every Argon2 unlock of a 32 MiB keyslot costs seconds, set it lower). */
static uint32_t default_argon2_memory_kb(void)
{
    const char *env = getenv("FL_MKLUKS_ARGON2_MEMORY_KIB");
    uint32_t v;

    if (env && *env && parse_u32(env, &v) == 0 && v >= 32)
        return v;
    return 32 * 1024;
}

/* Read KEY_FILE's exact bytes into crypt_safe_alloc() memory. */
static int read_secret(struct slot_spec *s)
{
    struct stat st;
    ssize_t n;
    size_t got = 0;
    int fd, r = 0;

    fd = open(s->key_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        fprintf(stderr, PROG ": cannot open key file '%s': %s\n", s->key_file, strerror(-r));
        return r;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > MAX_SECRET_SIZE) {
        fprintf(stderr, PROG ": key file '%s' must be a regular file of 1 byte to 8 MiB\n", s->key_file);
        close(fd);
        return -EINVAL;
    }
    s->secret = crypt_safe_alloc((size_t)st.st_size);
    if (!s->secret) {
        close(fd);
        return -ENOMEM;
    }
    while (got < (size_t)st.st_size) {
        n = read(fd, s->secret + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            fprintf(stderr, PROG ": cannot read key file '%s': %s\n", s->key_file, strerror(-r));
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    s->secret_len = got;
    return r;
}

static int check_options(struct options *o)
{
    bool luks1 = !strcmp(o->type, CRYPT_LUKS1);
    const char *dash = strchr(o->cipher, '-');
    size_t len;
    int i;

    if (!dash || dash == o->cipher || !dash[1] ||
        (len = (size_t)(dash - o->cipher)) >= sizeof(o->cipher_name) ||
        strlen(dash + 1) >= sizeof(o->cipher_mode)) {
        fprintf(stderr, PROG ": --cipher '%s' is not CIPHER-MODE (e.g. aes-xts-plain64)\n", o->cipher);
        return -EINVAL;
    }
    memcpy(o->cipher_name, o->cipher, len);
    o->cipher_name[len] = '\0';
    strcpy(o->cipher_mode, dash + 1);

    if (strcmp(o->type, CRYPT_LUKS1) && strcmp(o->type, CRYPT_LUKS2)) {
        fprintf(stderr, PROG ": --type must be luks1 or luks2, not '%s'\n", o->type);
        return -EINVAL;
    }
    if (!o->key_bits || o->key_bits % 8) {
        fprintf(stderr, PROG ": --key-size must be a positive multiple of 8\n");
        return -EINVAL;
    }
    if (luks1 && (o->sector_size || o->label || o->subsystem)) {
        fprintf(stderr, PROG ": --sector-size, --label and --subsystem need LUKS2\n");
        return -EINVAL;
    }
    for (i = 0; i < o->nslots; i++) {
        const struct slot_spec *s = &o->slots[i];

        if (luks1 &&
            (strcmp(s->kdf, CRYPT_KDF_PBKDF2) || s->token || s->priority != CRYPT_SLOT_PRIORITY_INVALID ||
             (s->id != CRYPT_ANY_SLOT && s->id >= 8))) {
            fprintf(stderr,
                    PROG ": --slot '%s': LUKS1 has only PBKDF2 keyslots 0-7, no tokens or priorities\n",
                    s->text);
            return -EINVAL;
        }
        if (luks1 && s->hash && strcmp(s->hash, o->hash)) {
            fprintf(stderr, PROG ": --slot '%s': LUKS1 keyslots all use the header hash '%s' (--hash)\n",
                    s->text, o->hash);
            return -EINVAL;
        }
        if (luks1 && s->iterations && s->iterations < MIN_PBKDF2_ITER) {
            fprintf(stderr, PROG ": --slot '%s': LUKS1 keyslots need at least %d iterations\n", s->text,
                    MIN_PBKDF2_ITER);
            return -EINVAL;
        }
    }
    return 0;
}

/* The slot's PBKDF, never benchmarked. */
static struct crypt_pbkdf_type slot_pbkdf(const struct slot_spec *s, const char *default_hash)
{
    struct crypt_pbkdf_type p = {
        .type = s->kdf,
        .hash = s->hash ? s->hash : default_hash,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };

    if (!strcmp(s->kdf, CRYPT_KDF_PBKDF2)) {
        p.iterations = s->iterations ? s->iterations : MIN_PBKDF2_ITER;
        if (p.iterations < MIN_PBKDF2_ITER)
            p.iterations = MIN_PBKDF2_ITER; /* lowered later, see force_iterations() */
    } else {
        p.iterations = s->iterations ? s->iterations : 4;
        p.max_memory_kb = s->memory_kb ? s->memory_kb : default_argon2_memory_kb();
        p.parallel_threads = s->parallel ? s->parallel : 1;
    }
    return p;
}

/*
 * libcryptsetup refuses PBKDF2 < 1000 iterations through crypt_set_pbkdf_type(). The library keeps its
 * current PBKDF in the crypt_device and writes keyslots with that struct's iteration count (no benchmark
 * flag): lower it in place. Test fixture only.
 */
static void force_iterations(struct crypt_device *cd, uint32_t iterations)
{
    struct crypt_pbkdf_type *p = (struct crypt_pbkdf_type *)(uintptr_t)crypt_get_pbkdf_type(cd);

    if (p)
        p->iterations = iterations;
}

static int set_slot_pbkdf(struct crypt_device *cd, const struct options *o, const struct slot_spec *s)
{
    struct crypt_pbkdf_type p = slot_pbkdf(s, !strcmp(o->type, CRYPT_LUKS1) ? o->hash : "sha256");
    int r = crypt_set_pbkdf_type(cd, &p);

    if (r < 0)
        return r;
    if (!strcmp(s->kdf, CRYPT_KDF_PBKDF2) && s->iterations && s->iterations < MIN_PBKDF2_ITER)
        force_iterations(cd, s->iterations);
    return 0;
}

/* One token member: a string, true, false, or (for "jwe") the nested clevis JWE. */
enum field_kind { F_STR, F_TRUE, F_FALSE, F_PCR7, F_JWE };
struct token_field {
    const char *key;
    enum field_kind kind;
    const char *str;
};

/* Members in the shape systemd 252-255 and clevis write; the values are plausible, not usable. */
static const struct token_field tpm2_fields[] = {
    {"tpm2-blob", F_STR,
     "AJ4AIDnBsnMlkkWhJJSqk4Vk+TNdP5xNNDcGf1FoyuAJtbN8ABBHwh1x0SeEmaOM6ZCf3XWqlm9BQ3NjRUrmBOXJ"},
    {"tpm2-pcrs", F_PCR7, NULL},
    {"tpm2-pcr-bank", F_STR, "sha256"},
    {"tpm2-primary-alg", F_STR, "ecc"},
    {"tpm2-policy-hash", F_STR, "6ccc84d1b1ee4d0e84b4f1aa4e7c8cd1c4d6d3d1b5d5b1e4a38a0f1fd6a5b7c2"},
    {"tpm2-pin", F_FALSE, NULL},
    {NULL, F_STR, NULL},
};
static const struct token_field fido2_fields[] = {
    {"fido2-credential", F_STR,
     "q1RhfbsdYJ03oIw+OZgdlG7f9W3Pnl0H0MTt0sD1l9xHkK1R0ZK3Q1tP1xWfvXyPqCDDoqZrGdI8X0dAgBgs2A=="},
    {"fido2-salt", F_STR, "Hl5D0gW8eWUqj7t0VZa6V1RZr1I6RmKMlWc2rXeu+HY="},
    {"fido2-rp", F_STR, "io.systemd.cryptsetup"},
    {"fido2-clientPin-required", F_FALSE, NULL},
    {"fido2-up-required", F_TRUE, NULL},
    {"fido2-uv-required", F_FALSE, NULL},
    {NULL, F_STR, NULL},
};
static const struct token_field clevis_fields[] = {
    {"jwe", F_JWE, NULL},
    {NULL, F_STR, NULL},
};
static const struct token_field jwe_fields[] = {
    {"ciphertext", F_STR, ""},
    {"encrypted_key", F_STR, ""},
    {"iv", F_STR, ""},
    /* base64url of {"alg":"dir","clevis":{"pin":"tpm2","tpm2":{"hash":"sha256","key":"ecc",
     * "pcr_bank":"sha256","pcr_ids":"7"}},"enc":"A256GCM"} */
    {"protected", F_STR,
     "eyJhbGciOiJkaXIiLCJjbGV2aXMiOnsicGluIjoidHBtMiIsInRwbTIiOnsiaGFzaCI6InNoYTI1NiIsImtleSI6ImVjYyIsInBjcl9"
     "i"
     "YW5rIjoic2hhMjU2IiwicGNyX2lkcyI6IjcifX0sImVuYyI6IkEyNTZHQ00ifQ"},
    {"tag", F_STR, ""},
    {NULL, F_STR, NULL},
};
static const struct token_field keyring_fields[] = {
    {"key_description", F_STR, "fl-mkluks:test"},
    {NULL, F_STR, NULL},
};

static int add_fields(json_object *obj, const struct token_field *f)
{
    json_object *v;
    int r;

    for (; f && f->key; f++) {
        switch (f->kind) {
        case F_STR:
            v = json_object_new_string(f->str);
            break;
        case F_TRUE:
        case F_FALSE:
            v = json_object_new_boolean(f->kind == F_TRUE);
            break;
        case F_PCR7:
            v = json_object_new_array();
            if (v && json_object_array_add(v, json_object_new_int(7))) {
                json_object_put(v);
                v = NULL;
            }
            break;
        case F_JWE:
            v = json_object_new_object();
            if (v && add_fields(v, jwe_fields) < 0) {
                json_object_put(v);
                v = NULL;
            }
            break;
        default:
            v = NULL;
        }
        if (!v)
            return -ENOMEM;
        r = json_object_object_add(obj, f->key, v);
        if (r)
            return -ENOMEM;
    }
    return 0;
}

static const struct token_field *token_fields(const char *type)
{
    if (!strcmp(type, "systemd-tpm2"))
        return tpm2_fields;
    if (!strcmp(type, "systemd-fido2"))
        return fido2_fields;
    if (!strcmp(type, "clevis"))
        return clevis_fields;
    if (!strcmp(type, "luks2-keyring"))
        return keyring_fields;
    return NULL; /* any other type: just "type" and "keyslots" */
}

/* Import a TYPE token with no keyslots, then bind it to KEYSLOT. Returns the token id or -errno. */
static int add_token(struct crypt_device *cd, const char *type, int keyslot)
{
    const struct token_field head[] = {{"type", F_STR, type}, {NULL, F_STR, NULL}};
    json_object *tok, *ks;
    int r, token;

    tok = json_object_new_object();
    if (!tok)
        return -ENOMEM;
    r = add_fields(tok, head);
    if (r == 0) {
        ks = json_object_new_array();
        if (!ks || json_object_object_add(tok, "keyslots", ks)) {
            json_object_put(ks);
            r = -ENOMEM;
        }
    }
    if (r == 0)
        r = add_fields(tok, token_fields(type));
    if (r == 0) {
        token = crypt_token_json_set(cd, CRYPT_ANY_TOKEN,
                                     json_object_to_json_string_ext(tok, JSON_C_TO_STRING_PLAIN));
        r = token < 0 ? token : crypt_token_assign_keyslot(cd, token, keyslot);
        if (r >= 0)
            r = token;
    }
    json_object_put(tok);
    return r;
}

static int create_image_file(const struct options *o)
{
    int fd, r = 0;

    if (!o->size_mib)
        return 0; /* use IMAGE as it is */
    fd = open(o->image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)(o->size_mib * 1024 * 1024)) < 0)
        r = -errno;
    if (fd >= 0 && close(fd) < 0 && !r)
        r = -errno;
    if (r) {
        fprintf(stderr, PROG ": cannot create '%s': %s\n", o->image, strerror(-r));
        if (fd >= 0)
            unlink(o->image);
    }
    return r;
}

static int format_volume(struct crypt_device *cd, const struct options *o)
{
    /* The digest's PBKDF: its hash is --hash; no benchmark gives it the minimum iterations. For LUKS1
     * time_ms 0 selects that minimum. Keyslots get their own PBKDF later. */
    const struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2,
        .hash = o->hash,
        .iterations = MIN_PBKDF2_ITER,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    struct crypt_params_luks1 p1 = {.hash = o->hash};
    struct crypt_params_luks2 p2 = {
        .sector_size = o->sector_size,
        .label = o->label,
        .subsystem = o->subsystem,
    };
    bool luks1 = !strcmp(o->type, CRYPT_LUKS1);
    int r;

    if (luks1) {
        r = crypt_set_pbkdf_type(cd, &pbkdf);
        if (r == 0)
            r = crypt_format(cd, CRYPT_LUKS1, o->cipher_name, o->cipher_mode, o->uuid, NULL, o->key_bits / 8,
                             &p1);
    } else {
        p2.pbkdf = &pbkdf;
        r = crypt_format(cd, CRYPT_LUKS2, o->cipher_name, o->cipher_mode, o->uuid, NULL, o->key_bits / 8,
                         &p2);
    }
    return r;
}

static int make_image(const struct options *o)
{
    struct crypt_device *cd = NULL;
    int i, r, slot;

    r = create_image_file(o);
    if (r)
        return r;
    r = crypt_init(&cd, o->image);
    if (r < 0) {
        fprintf(stderr, PROG ": '%s': cannot open: %s\n", o->image, strerror(-r));
        goto out;
    }

    r = format_volume(cd, o);
    if (r < 0) {
        fprintf(stderr, PROG ": '%s': cannot format %s with %s, %" PRIu32 "-bit key: %s\n", o->image, o->type,
                o->cipher, o->key_bits, strerror(-r));
        goto out;
    }

    for (i = 0; i < o->nslots; i++) {
        const struct slot_spec *s = &o->slots[i];

        r = set_slot_pbkdf(cd, o, s);
        if (r < 0) {
            fprintf(stderr, PROG ": '%s': --slot '%s': PBKDF refused: %s\n", o->image, s->text, strerror(-r));
            goto out;
        }
        slot = crypt_keyslot_add_by_volume_key(cd, s->id, NULL, 0, s->secret, s->secret_len);
        if (slot < 0) {
            r = slot;
            fprintf(stderr, PROG ": '%s': --slot '%s': cannot add keyslot: %s\n", o->image, s->text,
                    strerror(-r));
            goto out;
        }
        if (s->priority != CRYPT_SLOT_PRIORITY_INVALID) {
            r = crypt_keyslot_set_priority(cd, slot, s->priority);
            if (r < 0) {
                fprintf(stderr, PROG ": '%s': keyslot %d: cannot set priority: %s\n", o->image, slot,
                        strerror(-r));
                goto out;
            }
        }
        if (s->token) {
            r = add_token(cd, s->token, slot);
            if (r < 0) {
                fprintf(stderr, PROG ": '%s': keyslot %d: cannot add a '%s' token: %s\n", o->image, slot,
                        s->token, strerror(-r));
                goto out;
            }
        }
    }
    r = 0;
out:
    crypt_free(cd);
    if (r < 0 && o->size_mib)
        unlink(o->image); /* we created it: leave no half-made image behind */
    return r;
}

int main(int argc, const char **argv)
{
    struct options o = {
        .type = CRYPT_LUKS2,
        .cipher = "aes-xts-plain64",
        .key_bits = 512,
        .hash = "sha256",
        .size_mib = 20,
    };
    char *type = NULL, *cipher = NULL, *label = NULL, *subsystem = NULL, *hash = NULL, *uuid = NULL;
    char *key_size = NULL, *sector_size = NULL, *size = NULL;
    struct poptOption popt_opts[] = {
        {"type", 0, POPT_ARG_STRING, &type, 0, "luks1 or luks2 (default luks2)", "TYPE"},
        {"cipher", 0, POPT_ARG_STRING, &cipher, 0, "cipher spec (default aes-xts-plain64)", "SPEC"},
        {"key-size", 0, POPT_ARG_STRING, &key_size, 0, "volume key size (default 512)", "BITS"},
        {"sector-size", 0, POPT_ARG_STRING, &sector_size, 0, "LUKS2 encryption sector size", "N"},
        {"label", 0, POPT_ARG_STRING, &label, 0, "LUKS2 label", "L"},
        {"subsystem", 0, POPT_ARG_STRING, &subsystem, 0, "LUKS2 subsystem", "S"},
        {"hash", 0, POPT_ARG_STRING, &hash, 0, "LUKS1 header hash / LUKS2 digest hash (default sha256)", "H"},
        {"size", 0, POPT_ARG_STRING, &size, 0, "create/truncate IMAGE to MIB (default 20; 0: use as is)",
         "MIB"},
        {"uuid", 0, POPT_ARG_STRING, &uuid, 0, "volume UUID", "U"},
        {"slot", 0, POPT_ARG_STRING, NULL, OPT_SLOT,
         "keyslot: key-file=PATH[,kdf=pbkdf2|argon2i|argon2id][,hash=H][,iter=N][,mem=KiB][,par=N][,id=N]"
         "[,priority=ignore|normal|prefer][,token=TYPE]",
         "SPEC"},
        POPT_AUTOHELP POPT_TABLEEND,
    };
    poptContext pc;
    const char *rest;
    uint64_t v;
    int c, i, r = 0;

    pc = poptGetContext(PROG, argc, argv, popt_opts, 0);
    poptSetOtherOptionHelp(pc, "[OPTION...] --slot SPEC [--slot SPEC...] IMAGE");
    while ((c = poptGetNextOpt(pc)) >= 0) {
        if (c == OPT_SLOT) {
            char *arg = poptGetOptArg(pc);

            if (o.nslots == MAX_SLOTS) {
                fprintf(stderr, PROG ": at most %d --slot options\n", MAX_SLOTS);
                free(arg);
                r = -EINVAL;
                goto out;
            }
            r = slot_spec_parse(&o.slots[o.nslots++], arg);
            if (r)
                goto out;
        }
    }
    if (c < -1) {
        fprintf(stderr, PROG ": %s: %s\n", poptBadOption(pc, POPT_BADOPTION_NOALIAS), poptStrerror(c));
        r = -EINVAL;
        goto out;
    }
    o.image = poptGetArg(pc);
    rest = poptGetArg(pc);
    if (!o.image || rest || !o.nslots) {
        poptPrintUsage(pc, stderr, 0);
        r = -EINVAL;
        goto out;
    }
    if (type && !strcasecmp(type, "luks1"))
        o.type = CRYPT_LUKS1;
    else if (type && strcasecmp(type, "luks2"))
        o.type = type; /* refused by check_options() */
    o.cipher = cipher ? cipher : o.cipher;
    o.hash = hash ? hash : o.hash;
    o.label = label;
    o.subsystem = subsystem;
    o.uuid = uuid;
    if (key_size && parse_u32(key_size, &o.key_bits)) {
        fprintf(stderr, PROG ": invalid --key-size '%s'\n", key_size);
        r = -EINVAL;
    }
    if (sector_size && (parse_u32(sector_size, &o.sector_size) || !o.sector_size)) {
        fprintf(stderr, PROG ": invalid --sector-size '%s'\n", sector_size);
        r = -EINVAL;
    }
    if (size && parse_u64(size, UINT64_MAX / (1024 * 1024), &v) == 0)
        o.size_mib = v;
    else if (size) {
        fprintf(stderr, PROG ": invalid --size '%s'\n", size);
        r = -EINVAL;
    }
    r = r ?: check_options(&o);
    for (i = 0; i < o.nslots && !r; i++)
        r = read_secret(&o.slots[i]);
    if (r) {
        fprintf(stderr, PROG ": '%s': not created\n", o.image);
        goto out;
    }
    crypt_set_log_callback(NULL, log_cb, (void *)(uintptr_t)o.image);
    r = make_image(&o);
out:
    for (i = 0; i < o.nslots; i++) {
        crypt_safe_free(o.slots[i].secret);
        free(o.slots[i].fields);
        free(o.slots[i].text);
    }
    free(type);
    free(cipher);
    free(label);
    free(subsystem);
    free(hash);
    free(uuid);
    free(key_size);
    free(sector_size);
    free(size);
    poptFreeContext(pc);
    return r ? 1 : 0;
}
