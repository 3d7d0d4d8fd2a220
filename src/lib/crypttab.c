/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/crypttab, read as systemd-cryptsetup-generator reads it (see crypttab.h for the syntax), matched
 * to the LUKS volumes a scan finds, and its key files read below a root without leaving it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fipsluks/array.h"
#include "fipsluks/crypttab.h"
#include "root.h"
#include "util.h"

/* The white space sscanf("%ms") splits at. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static const char *prefix(const char *s, const char *p)
{
    size_t n = strlen(p);
    return strncmp(s, p, n) ? NULL : s + n;
}

void fl_crypttab_clear(struct fl_crypttab *ct)
{
    for (size_t i = 0; i < ct->n; i++) {
        struct fl_crypttab_entry *e = &ct->entries[i];
        free(e->name);
        free(e->device);
        free(e->key_spec);
        free(e->key_file);
        free(e->key_device);
        free(e->options);
        free(e->header);
        free(e->bad_option);
    }
    free(ct->entries);
    *ct = (struct fl_crypttab){0};
}

/* ---- the device syntax of fstab and crypttab ---- */

/* The tags udev makes /dev/disk/by-* links for. */
static const struct {
    const char *tag, *dir;
} tags[] = {
    {"UUID=", "/dev/disk/by-uuid/"},
    {"PARTUUID=", "/dev/disk/by-partuuid/"},
    {"LABEL=", "/dev/disk/by-label/"},
    {"PARTLABEL=", "/dev/disk/by-partlabel/"},
};

/* @p value without one pair of enclosing quotes ("x" or 'x'), @p len bytes from @p ret_start. */
static void unquote(const char *value, const char **ret_start, size_t *ret_len)
{
    size_t n = strlen(value);

    if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0]) {
        *ret_start = value + 1;
        *ret_len = n - 2;
        return;
    }
    *ret_start = value;
    *ret_len = n;
}

/* A byte udev keeps as it is in a link name (udev's encode_devnode_name(): alphanumerics, "#+-.:=@_"
 * and valid UTF-8 sequences; everything else becomes \xNN). */
static bool udev_keeps(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           strchr("#+-.:=@_", c);
}

int fl_crypttab_node(const char *spec, char **ret)
{
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        const char *value = prefix(spec, tags[t].tag), *start;
        size_t len, dirlen = strlen(tags[t].dir), o;
        char *node;

        if (!value)
            continue;
        unquote(value, &start, &len);
        node = malloc(dirlen + 4 * len + 1);
        if (!node)
            return -ENOMEM;
        memcpy(node, tags[t].dir, dirlen);
        o = dirlen;
        for (size_t i = 0; i < len;) {
            uint32_t cp;
            size_t u = (unsigned char)start[i] >= 0x80 ? fl_utf8_char(start + i, &cp) : 0;
            if (u > 1 && u <= len - i) {
                memcpy(node + o, start + i, u);
                o += u;
                i += u;
                continue;
            }
            if (udev_keeps(start[i]) && start[i]) {
                node[o++] = start[i++];
                continue;
            }
            o += (size_t)sprintf(node + o, "\\x%02x", (unsigned char)start[i++]);
        }
        node[o] = '\0';
        *ret = node;
        return 0;
    }
    *ret = strdup(spec);
    return *ret ? 0 : -ENOMEM;
}

/* ---- parsing ---- */

static int set_bad(struct fl_crypttab_entry *e, const char *opt)
{
    if (e->bad_option)
        return 0;
    e->bad_option = strdup(opt);
    return e->bad_option ? 0 : -ENOMEM;
}

static int number(struct fl_crypttab_entry *e, const char *opt, const char *value, uint64_t max,
                  uint64_t *ret)
{
    uint64_t n;

    if (fl_parse_u64(value, &n) < 0 || n > max)
        return set_bad(e, opt);
    *ret = n;
    return 0;
}

/* One option (unescaped) of @p e. */
static int parse_option(struct fl_crypttab_entry *e, const char *opt)
{
    const char *v;
    uint64_t n;
    int r;

    if ((v = prefix(opt, "key-slot="))) {
        n = 0;
        r = number(e, opt, v, INT32_MAX, &n);
        if (r >= 0 && !e->bad_option)
            e->key_slot = (int)n;
        return r;
    }
    if ((v = prefix(opt, "keyfile-offset=")))
        return number(e, opt, v, UINT64_MAX, &e->keyfile_offset);
    if ((v = prefix(opt, "keyfile-size=")))
        return number(e, opt, v, FL_SECRET_MAX_SIZE, &e->keyfile_size);
    if ((v = prefix(opt, "header="))) {
        free(e->header);
        e->header = strdup(v);
        return e->header ? 0 : -ENOMEM;
    }
    if (prefix(opt, "tpm2-device=") || !strcmp(opt, "tpm2-device"))
        e->tokens |= FL_CRYPTTAB_TPM2;
    else if (prefix(opt, "fido2-device=") || !strcmp(opt, "fido2-device"))
        e->tokens |= FL_CRYPTTAB_FIDO2;
    else if (prefix(opt, "pkcs11-uri=") || !strcmp(opt, "pkcs11-uri"))
        e->tokens |= FL_CRYPTTAB_PKCS11;
    else if (!strcmp(opt, "luks"))
        e->type = FL_CRYPTTAB_LUKS;
    else if (!strcmp(opt, "plain"))
        e->type = FL_CRYPTTAB_PLAIN;
    else if (!strcmp(opt, "tcrypt"))
        e->type = FL_CRYPTTAB_TCRYPT;
    else if (!strcmp(opt, "bitlk"))
        e->type = FL_CRYPTTAB_BITLK;
    else if (!strcmp(opt, "noauto") || !strcmp(opt, "auto"))
        e->noauto = opt[0] == 'n';
    else if (!strcmp(opt, "nofail") || !strcmp(opt, "fail"))
        e->nofail = opt[0] == 'n';
    else if (!strcmp(opt, "discard"))
        e->discard = true;
    /* anything else (token-timeout=, timeout=, tries=, …) is kept in ->options as written */
    return 0;
}

/* The options field: split at commas, "\x" is x (so "\," is a comma in a value). */
static int parse_options(struct fl_crypttab_entry *e, const char *s)
{
    char *opt = malloc(strlen(s) + 1);
    size_t n = 0;
    int r = 0;

    if (!opt)
        return -ENOMEM;
    for (const char *p = s;; p++) {
        if (*p == '\\' && p[1]) {
            opt[n++] = *++p;
            continue;
        }
        if (*p && *p != ',') {
            opt[n++] = *p;
            continue;
        }
        opt[n] = '\0';
        if (n)
            r = parse_option(e, opt);
        n = 0;
        if (r < 0 || !*p)
            break;
    }
    free(opt);
    return r;
}

/* Whether @p s looks like a device for a PATH:DEVICE key (an absolute path, or a tag udev resolves). */
static bool device_like(const char *s)
{
    if (s[0] == '/')
        return true;
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++)
        if (prefix(s, tags[t].tag))
            return true;
    return false;
}

/* The key field: none, a path, or PATH:DEVICE (the last colon, when what follows looks like a device). */
static int parse_key(struct fl_crypttab_entry *e, const char *spec)
{
    const char *colon;

    if (!spec || !strcmp(spec, "none") || !strcmp(spec, "-"))
        return 0;
    colon = strrchr(spec, ':');
    if (colon && device_like(colon + 1)) {
        e->key_file = strndup(spec, (size_t)(colon - spec));
        e->key_device = strdup(colon + 1);
        return e->key_file && e->key_device ? 0 : -ENOMEM;
    }
    e->key_file = strdup(spec);
    return e->key_file ? 0 : -ENOMEM;
}

/* One line (stripped, not a comment) with its fields: @return 1 when added, 0 when malformed, -ENOMEM. */
static int parse_line(struct fl_crypttab *ct, char *l, unsigned lineno)
{
    char *field[4] = {0};
    struct fl_crypttab_entry *e;
    size_t n = 0;
    int r;

    while (*l && n < 4) {
        while (is_space(*l))
            l++;
        if (!*l)
            break;
        field[n++] = l;
        while (*l && !is_space(*l))
            l++;
        if (*l)
            *l++ = '\0';
    }
    if (n < 2)
        return 0;
    if (fl_array_grow(&ct->entries, &ct->allocated, ct->n + 1, sizeof(*ct->entries)) < 0)
        return -ENOMEM;
    e = &ct->entries[ct->n++];
    *e = (struct fl_crypttab_entry){.line = lineno, .key_slot = -1};
    e->name = strdup(field[0]);
    e->device = strdup(field[1]);
    if (!e->name || !e->device)
        return -ENOMEM;
    if (field[2] && !(e->key_spec = strdup(field[2])))
        return -ENOMEM;
    if (field[3] && !(e->options = strdup(field[3])))
        return -ENOMEM;
    r = parse_key(e, field[2]);
    if (r >= 0 && field[3])
        r = parse_options(e, field[3]);
    return r < 0 ? r : 1;
}

int fl_crypttab_parse(const char *text, struct fl_crypttab *ret)
{
    char *line = malloc(FL_CRYPTTAB_MAX_LINE + 1);
    unsigned lineno = 0;
    int r = 0;

    if (!line)
        return -ENOMEM;
    for (const char *p = text; *p && r >= 0;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *l;

        lineno++;
        if (len > FL_CRYPTTAB_MAX_LINE) {
            ret->ignored++;
        } else {
            memcpy(line, p, len);
            line[len] = '\0';
            l = line;
            while (is_space(*l))
                l++;
            /* past the cap, or malformed: ignored (counted) */
            if (*l && *l != '#' &&
                (ret->n >= FL_CRYPTTAB_MAX_ENTRIES || (r = parse_line(ret, l, lineno)) == 0))
                ret->ignored++;
        }
        p = end ? end + 1 : p + len;
    }
    free(line);
    return r < 0 ? r : 0;
}

int fl_crypttab_read(const char *root, struct fl_crypttab *ret)
{
    char *text = NULL;
    int r;

    r = fl_root_read_text(root, FL_CRYPTTAB_PATH, FL_CRYPTTAB_MAX_FILE, &text);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0)
        return r;
    r = fl_crypttab_parse(text, ret);
    free(text);
    return r;
}

const char *fl_crypttab_strerror(int err)
{
    switch (err) {
    case -ENOKEY:
        return "no key file (none or -)";
    case -EREMOTE:
        return "the key file is on another device (PATH:DEVICE), which is not read";
    case -EINVAL:
        return "empty, or shorter than keyfile-offset= and keyfile-size= need";
    case -EFBIG:
        return "too large";
    default:
        return fl_read_strerror(err, 0);
    }
}

/* ---- matching ---- */

/* Whether @p a and @p b are the same block device or file. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
        return false;
    if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode))
        return sa.st_rdev == sb.st_rdev;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool same_value(const char *written, const char *actual, bool nocase)
{
    const char *start;
    size_t len;

    if (!actual)
        return false;
    unquote(written, &start, &len);
    return strlen(actual) == len && !(nocase ? strncasecmp(start, actual, len) : strncmp(start, actual, len));
}

const struct fl_crypttab_entry *fl_crypttab_find(const struct fl_crypttab *ct, const char *root,
                                                 const char *path, const char *uuid, const char *label)
{
    for (size_t i = 0; i < ct->n; i++) {
        const struct fl_crypttab_entry *e = &ct->entries[i];
        const char *v;
        char *node = NULL, *full = NULL;
        bool match;

        if ((v = prefix(e->device, "UUID=")) || (v = prefix(e->device, "/dev/disk/by-uuid/"))) {
            if (same_value(v, uuid, true))
                return e;
            continue;
        }
        if ((v = prefix(e->device, "LABEL=")) && same_value(v, label, false))
            return e;
        if (fl_crypttab_node(e->device, &node) < 0)
            continue;
        match = node[0] == '/' && fl_root_path(root, node, &full) >= 0 && same_file(full, path);
        free(node);
        free(full);
        if (match)
            return e;
    }
    return NULL;
}

/* ---- key files ---- */

int fl_crypttab_read_key(const char *root, const struct fl_crypttab_entry *e, struct fl_secret **ret)
{
    char *abs = NULL, *full = NULL, proc[64];
    struct stat st;
    int fd, r;

    if (!e->key_file)
        return -ENOKEY;
    if (e->key_device)
        return -EREMOTE;
    /* systemd-cryptsetup runs in "/": a relative key file is below it */
    if (asprintf(&abs, "%s%s", e->key_file[0] == '/' ? "" : "/", e->key_file) < 0)
        return -ENOMEM;
    r = fl_root_path(root, abs, &full);
    free(abs);
    if (r < 0)
        return r;
    /* O_PATH runs no driver code and cannot block; below a root every link is resolved already */
    fd = open(full, O_PATH | O_CLOEXEC | (fl_root_set(root) ? O_NOFOLLOW : 0));
    free(full);
    if (fd < 0)
        return errno == ELOOP ? -FL_ENOTREG : -errno;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (S_ISDIR(st.st_mode))
        r = -EISDIR;
    else if (!S_ISREG(st.st_mode))
        r = -FL_ENOTREG;
    if (r >= 0) {
        /* reopens exactly the regular file just checked */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        r = fl_secret_read_file(proc, e->keyfile_offset, e->keyfile_size, ret);
    }
    close(fd);
    return r;
}

/* ---- which keyslots the key file opens ---- */

const char *fl_crypttab_key_name(enum fl_crypttab_key k)
{
    switch (k) {
    case FL_CRYPTTAB_KEY_OPENS:
        return "opens";
    case FL_CRYPTTAB_KEY_FAILS:
        return "fails";
    case FL_CRYPTTAB_KEY_UNREADABLE:
        return "unreadable";
    case FL_CRYPTTAB_KEY_NONE:
        return "none";
    case FL_CRYPTTAB_KEY_UNTRIED:
        break;
    }
    return NULL;
}

bool fl_crypttab_keyslot_incompatible(const struct fl_findings *f, int id)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->items[i].object == FL_OBJECT_KEYSLOT && f->items[i].object_id == id &&
            f->items[i].severity == FL_SEVERITY_ERROR)
            return true;
    return false;
}

int fl_crypttab_try_keys(const char *root, const struct fl_crypttab_entry *e, const struct fl_volume *v,
                         const struct fl_findings *f, enum fl_crypttab_key ret[FL_MAX_KEYSLOTS],
                         int *ret_read_error)
{
    struct fl_secret *key = NULL;
    int opened = 0, r = 0, read = 1; /* read: 1 not yet, 0 done, < 0 failed */

    *ret_read_error = 0;
    for (size_t i = 0; i < FL_MAX_KEYSLOTS; i++)
        ret[i] = FL_CRYPTTAB_KEY_UNTRIED;
    for (size_t i = 0; i < v->n_keyslots && i < FL_MAX_KEYSLOTS && r >= 0; i++) {
        int id = v->keyslots[i].id;

        if (!fl_crypttab_keyslot_incompatible(f, id))
            continue;
        if (!e->key_file || (e->key_slot >= 0 && e->key_slot != id)) {
            ret[i] = FL_CRYPTTAB_KEY_NONE;
            continue;
        }
        if (read == 1) {
            read = fl_crypttab_read_key(root, e, &key);
            if (read == -ENOMEM)
                r = read;
            else if (read < 0)
                *ret_read_error = read;
        }
        if (read < 0) {
            ret[i] = FL_CRYPTTAB_KEY_UNREADABLE;
            continue;
        }
        r = fl_volume_try_key(v, id, key->data, key->len);
        if (r == -ENOMEM)
            break;
        ret[i] = r > 0 ? FL_CRYPTTAB_KEY_OPENS : FL_CRYPTTAB_KEY_FAILS;
        opened += r > 0;
        r = 0;
    }
    fl_secret_free(key);
    return r < 0 ? r : opened;
}
