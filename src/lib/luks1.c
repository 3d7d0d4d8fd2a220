/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LUKS1 to LUKS2, in place, after a header backup; and putting back the LUKS1 header of a conversion
 * that was cut short (see luks1.h).
 *
 * Why a conversion needs a way back. crypt_convert() first copies the LUKS1 keyslot material from
 * 4 KiB to 32 KiB (one write, over the old material: the two ranges overlap), syncs, then writes the
 * LUKS2 header (primary, sync, secondary, sync). Killed after the copy started and before the LUKS2
 * primary is whole, the device holds a LUKS1 header whose keyslots point at overwritten material, or
 * half a LUKS2 header: no keyslot opens, and only the backup taken before the conversion brings the
 * volume back. Converting a copy of the header region first and writing the result would not help:
 * the new keyslot areas overlap the old ones, so the write over the device is just as cut short.
 * So the conversion stays libcryptsetup's, and the next run puts the backup back and converts again,
 * after proving that the backup belongs to what it finds (fl_luks1_recover()):
 *  - the backup is a LUKS1 header with the device's UUID, the size of the header region up to its
 *    data offset (the size fipsluks backs up), and keyslots;
 *  - the device is that header part-way through crypt_convert(): either its first 4 KiB (the LUKS1
 *    header, which crypt_convert() does not move) are the backup's and some keyslot material is not,
 *    or its header does not load as LUKS1 and the whole range crypt_convert() moves (from 4 KiB to
 *    the end of the last keyslot area) sits, byte for byte, 28 KiB further on (so no other header
 *    generation of the volume, older or newer, is taken);
 *  - a given secret opens the backup, as a detached header of this device, and every given secret
 *    opens one of its keyslots (migrate and reencrypt would refuse the others only after the restore).
 * The restore writes the first 4 KiB first, syncs, then the rest: killed in between, the device is
 * still one of the two states above, and the next run proves and restores again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "fipsluks/backup.h"
#include "fipsluks/format.h"
#include "fipsluks/luks1.h"
#include "fipsluks/policy.h"
#include "fipsluks/util.h"
#include "fipsluks/volume.h"

/* The LUKS1 binary header and its padding, before the keyslot material: crypt_convert() never moves it. */
#define PHDR_BYTES 4096u
/* How far crypt_convert() moves the keyslot material: from 4 KiB to 2 x 16 KiB (luks1_shift in
 * libcryptsetup's lib/luks2/luks2_luks1_convert.c, the same from 2.0 to 2.7). Should a later version
 * move it elsewhere, a header cut short there matches no backup and is left alone, never restored. */
#define CONVERT_SHIFT (2u * 16384u - PHDR_BYTES)
/* Where both LUKS headers keep the UUID (36 characters, NUL-padded to 40). */
#define UUID_OFFSET 168u
#define UUID_FIELD  40u
/* A LUKS1 header region (keyslot material up to the data offset) is a few MiB; larger is not ours. */
#define MAX_REGION (64u * 1024u * 1024u)
/* Backups of one volume looked at, newest first. */
#define MAX_CANDIDATES 32
#define STAMP_LEN      16 /* YYYYMMDDTHHMMSSZ, as fl_backup_path() names them */

/* Say why in @p res->why (cut to its size: a message, not data). */
__attribute__((format(printf, 2, 3))) static void set_why(struct fl_luks1_result *res, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fl_why_setv(&res->why, 0, fmt, ap);
    va_end(ap);
}

/* -EBUSY when @p path is in use, with the reason in @p res->why. */
static int check_busy(const char *path, struct fl_luks1_result *res)
{
    struct fl_why why;
    int r = fl_format_check_busy(path, &why);

    if (r == -EBUSY)
        set_why(res, "'%s': %s", path, fl_why_empty(&why) ? "in use" : why.text);
    return r;
}

/* Bytes of the LUKS1 header region: up to the data offset, or the whole detached header file. */
static int header_bytes(struct crypt_device *cd, int fd, uint64_t *ret)
{
    uint64_t off = crypt_get_data_offset(cd) * 512;
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode) && (off == 0 || (uint64_t)st.st_size < off))
        off = (uint64_t)st.st_size;
    if (off < 4096)
        return -EINVAL;
    *ret = off;
    return 0;
}

int fl_luks1_check_secrets(const char *path, const char *header, const struct fl_secret_offer *secrets,
                           size_t n_secrets, int *ret_failed)
{
    struct crypt_device *cd = NULL;
    int r = header ? crypt_init_data_device(&cd, header, path) : crypt_init(&cd, path);

    if (r == 0 && crypt_load(cd, CRYPT_LUKS1, NULL) < 0)
        r = -EMEDIUMTYPE;
    for (size_t i = 0; r == 0 && i < n_secrets; i++)
        if (crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, secrets[i].secret->data,
                                         secrets[i].secret->len, 0) < 0) {
            *ret_failed = (int)i;
            r = -EPERM;
        }
    crypt_free(cd);
    return r;
}

/* ---- header backups of this volume ---------------------------------------------------------------- */

/* A file that may be a header backup of this volume: the one named, or one named for its UUID. */
struct candidate {
    char path[PATH_MAX];
    char stamp[STAMP_LEN + 1]; /* "" for the file named by the caller: it comes first */
    unsigned n;
};

/* Newer first (by the time in the name, then the -N suffix). */
static int newer_first(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    int c = strcmp(y->stamp, x->stamp);

    return c ? c : (x->n < y->n) - (x->n > y->n);
}

/* Parse NAME as UUID-YYYYMMDDTHHMMSSZ[-N].luksheader (fl_backup_path()). */
static bool backup_name(const char *name, const char *uuid, struct candidate *c)
{
    size_t ulen = strlen(uuid), len = strlen(name);
    const char *p, *end;

    if (len < ulen + 1 + STAMP_LEN + strlen(".luksheader") || strncmp(name, uuid, ulen) || name[ulen] != '-')
        return false;
    p = name + ulen + 1;
    end = name + len - strlen(".luksheader");
    if (strcmp(end, ".luksheader"))
        return false;
    memcpy(c->stamp, p, STAMP_LEN);
    c->stamp[STAMP_LEN] = '\0';
    p += STAMP_LEN;
    c->n = 0;
    if (p == end)
        return true;
    if (*p != '-' || p + 1 == end || end - p > 4)
        return false;
    for (p++; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        c->n = c->n * 10 + (unsigned)(*p - '0');
    }
    return true;
}

/* The backup directory as fl_backup_header() picks it, without creating it. */
static const char *backup_dir_of(const char *dir)
{
    if (!dir || !*dir)
        dir = getenv("FIPSLUKS_BACKUP_DIR");
    return dir && *dir ? dir : FL_DEFAULT_BACKUP_DIR;
}

/*
 * The files that may be backups of the volume with @p uuid: @p backup when it exists, then the newest
 * MAX_CANDIDATES files in the backup directory named for that UUID, newest first.
 */
static size_t list_candidates(const char *backup, const char *dir, const char *uuid, struct candidate *c)
{
    struct dirent *e;
    size_t n = 0, first;
    struct stat st;
    DIR *d;

    if (backup && lstat(backup, &st) == 0 && S_ISREG(st.st_mode) && strlen(backup) < sizeof(c->path)) {
        snprintf(c[0].path, sizeof(c[0].path), "%s", backup);
        c[0].stamp[0] = '\0';
        n = 1;
    }
    first = n;
    dir = backup_dir_of(dir);
    d = opendir(dir);
    while (d && (e = readdir(d))) {
        struct candidate k;
        size_t slot = n;

        if (!backup_name(e->d_name, uuid, &k) ||
            snprintf(k.path, sizeof(k.path), "%s/%s", dir, e->d_name) >= (int)sizeof(k.path) ||
            (backup && !strcmp(k.path, backup)))
            continue;
        if (n == MAX_CANDIDATES) { /* full: replace the oldest, if this one is newer */
            slot = first;
            for (size_t i = first + 1; i < n; i++)
                if (newer_first(&c[slot], &c[i]) < 0)
                    slot = i;
            if (newer_first(&k, &c[slot]) >= 0)
                continue;
        } else {
            n++;
        }
        c[slot] = k;
    }
    if (d)
        closedir(d);
    qsort(c + first, n - first, sizeof(*c), newer_first);
    return n;
}

/* Read a whole regular file of at most MAX_REGION bytes. */
static int slurp(const char *path, unsigned char **ret, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK); /* a FIFO: no wait */
    unsigned char *buf = NULL;
    struct stat st;
    int r = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)PHDR_BYTES ||
        st.st_size > (off_t)MAX_REGION)
        r = -EINVAL; /* not a header backup fipsluks wrote */
    else if (!(buf = malloc((size_t)st.st_size)))
        r = -ENOMEM;
    else if (fl_pread_full(fd, buf, (size_t)st.st_size, 0) != (ssize_t)st.st_size)
        r = -EIO;
    close(fd);
    if (r < 0 || !buf) {
        free(buf);
        return r < 0 ? r : -EIO;
    }
    *ret = buf;
    *ret_len = (size_t)st.st_size;
    return 0;
}

/* Whether @p len bytes of @p fd at @p off are @p want. */
static bool device_has(int fd, uint64_t off, const unsigned char *want, size_t len)
{
    unsigned char *buf = malloc(len);
    bool same = buf && fl_pread_full(fd, buf, len, (off_t)off) == (ssize_t)len && !memcmp(buf, want, len);

    free(buf);
    return same;
}

/* ---- a conversion cut short -------------------------------------------------------------------------- */

/* The device (or detached header) as found, read-only. */
struct found {
    const char *path, *header, *hdev;
    int fd;
    uint64_t size;
    unsigned char phdr[PHDR_BYTES];
    char uuid[UUID_FIELD + 1];
    bool loads_luks1; /* the header loads as LUKS1 */
};

enum match {
    MATCH_NONE,      /* not a backup of what the device holds */
    MATCH_SAME,      /* the device's LUKS1 header and keyslot material are the backup's: nothing to restore */
    MATCH_CUT_SHORT, /* the device is this backup part-way through crypt_convert() */
};

/*
 * How backup @p buf (loaded as @p cd) relates to the device (see the file comment). With the device's
 * LUKS1 header (its first 4 KiB) the backup's, the device is the backup, or the backup with the keyslot
 * material being moved. With a header that does not load, the whole range crypt_convert() moved, from
 * 4 KiB to the end of the last keyslot area (of all eight, as libcryptsetup's LUKS_device_sectors(),
 * rounded up to 4 KiB), must be the backup's, 28 KiB further on: an older backup of the same volume
 * (another keyslot since added, changed or removed) differs there.
 */
static enum match match_backup(const struct found *f, struct crypt_device *cd, const unsigned char *buf,
                               size_t len)
{
    uint64_t expect = crypt_get_data_offset(cd) * 512, areas_end = 0;
    const char *uuid = crypt_get_uuid(cd);
    bool same = true;
    int active = 0;

    if (f->header && (expect == 0 || expect > f->size))
        expect = f->size; /* a detached header file is backed up whole (header_bytes()) */
    if (!uuid || strcmp(uuid, f->uuid) || len != expect || len > f->size)
        return MATCH_NONE;
    for (int k = 0; k < crypt_keyslot_max(CRYPT_LUKS1); k++) {
        crypt_keyslot_info ki = crypt_keyslot_status(cd, k);
        uint64_t off = 0, klen = 0;

        if (crypt_keyslot_area(cd, k, &off, &klen) < 0 || off < PHDR_BYTES || klen == 0 || off + klen > len)
            return MATCH_NONE;
        if (off + klen > areas_end)
            areas_end = off + klen;
        if (ki != CRYPT_SLOT_ACTIVE && ki != CRYPT_SLOT_ACTIVE_LAST)
            continue;
        active++;
        same = same && device_has(f->fd, off, buf + off, (size_t)klen);
    }
    areas_end = (areas_end + PHDR_BYTES - 1) / PHDR_BYTES * PHDR_BYTES;
    if (active == 0 || areas_end > len)
        return MATCH_NONE;
    if (!memcmp(buf, f->phdr, PHDR_BYTES))
        return same ? MATCH_SAME : MATCH_CUT_SHORT;
    if (f->loads_luks1 || areas_end + CONVERT_SHIFT > f->size)
        return MATCH_NONE; /* another LUKS1 header: not this backup's */
    return device_has(f->fd, PHDR_BYTES + CONVERT_SHIFT, buf + PHDR_BYTES, (size_t)(areas_end - PHDR_BYTES))
               ? MATCH_CUT_SHORT
               : MATCH_NONE;
}

/*
 * The index of the first secret that opens backup @p cd, or -1; in @p ret_stray the first that opens
 * none of its keyslots, or -1 (checked before anything is written: migrate and reencrypt refuse a given
 * secret that opens nothing, and they would only do so after the backup was put back).
 */
static int secret_opening(struct crypt_device *cd, const struct fl_secret_offer *secrets, size_t n,
                          int *ret_stray)
{
    int first = -1;

    *ret_stray = -1;
    for (size_t i = 0; i < n; i++) {
        bool opens = secrets[i].secret &&
                     crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, secrets[i].secret->data,
                                                  secrets[i].secret->len, 0) >= 0;

        if (opens && first < 0)
            first = (int)i;
        else if (!opens && *ret_stray < 0)
            *ret_stray = (int)i;
    }
    return first;
}

static const char *source_of(const struct fl_secret_offer *s)
{
    return s->source ? s->source : "a given secret";
}

/* Write backup @p buf over the header region: the LUKS1 header first, then the keyslot material. */
static int restore(const struct found *f, const unsigned char *buf, size_t len)
{
    struct stat st;
    int fd, r = 0;

    if (fstat(f->fd, &st) < 0)
        return -errno;
    fd = open(f->hdev, O_RDWR | O_CLOEXEC | O_NOCTTY | (S_ISBLK(st.st_mode) ? O_EXCL : 0));
    if (fd < 0)
        return -errno;
    if (fl_pwrite_full(fd, buf, PHDR_BYTES, 0) < 0 || fsync(fd) < 0 ||
        fl_pwrite_full(fd, buf + PHDR_BYTES, len - PHDR_BYTES, PHDR_BYTES) < 0 || fsync(fd) < 0)
        r = errno ? -errno : -EIO;
    close(fd);
    return r;
}

/* Whether secret @p s opens the device's header now. */
static bool opens_now(const struct found *f, const struct fl_secret *s)
{
    struct crypt_device *cd = NULL;
    bool ok = (f->header ? crypt_init_data_device(&cd, f->header, f->path) : crypt_init(&cd, f->path)) == 0 &&
              crypt_load(cd, CRYPT_LUKS1, NULL) == 0 &&
              crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, s->data, s->len, 0) >= 0;

    crypt_free(cd);
    return ok;
}

/* What was found and not put back, and how to put it back by hand (the command first: callers may cut it). */
static void explain_unproven(const struct found *f, const char *first, size_t n, size_t n_secrets,
                             struct fl_luks1_result *res)
{
    char *qb = fl_shell_quote(first), *qd = fl_shell_quote(f->hdev);
    char more[64] = "";

    if (n > 1)
        snprintf(more, sizeof(more), " (%zu backups match; this is the newest)", n);
    set_why(
        res,
        "'%s' holds a LUKS1 to LUKS2 conversion that was cut short (%s): no keyslot opens. %s the header "
        "backup that matches it (same UUID and data offset), so it was not put back: give a secret of this "
        "volume with --key-file, or restore it yourself with 'cryptsetup luksHeaderRestore "
        "--header-backup-file %s %s'%s and run the same command again",
        f->hdev, f->loads_luks1 ? "its keyslot material was moved" : "its header is half written",
        n_secrets ? "No given secret opens" : "No secret was given to prove", qb ? qb : first,
        qd ? qd : f->hdev, more);
    free(qb);
    free(qd);
}

/* Put backup @p c back (proven: secret @p s opens it). @return 1, or -errno with res->why. */
static int put_back(const struct found *f, const struct candidate *c, const unsigned char *buf, size_t len,
                    const struct fl_secret *s, struct fl_luks1_result *res)
{
    int r = check_busy(f->hdev, res);

    if (r == 0 && f->header)
        r = check_busy(f->path, res);
    if (r < 0)
        return r;
    snprintf(res->backup, sizeof(res->backup), "%s", c->path);
    res->wrote = true;
    r = restore(f, buf, len);
    if (r == 0 && !opens_now(f, s))
        r = -EIO;
    if (r < 0) {
        set_why(res,
                "putting back the LUKS1 header of '%s' from the backup '%s' failed (%s); the backup is "
                "unchanged: restore it with cryptsetup luksHeaderRestore --header-backup-file, then run the "
                "same command again",
                f->hdev, c->path, strerror(-r));
        return r;
    }
    res->restored = true;
    return 1;
}

int fl_luks1_recover(const char *path, const char *header, const struct fl_secret_offer *secrets,
                     size_t n_secrets, const char *backup, const char *backup_dir,
                     struct fl_luks1_result *res)
{
    struct found f = {.path = path, .header = header, .hdev = header ? header : path, .fd = -1};
    struct candidate *cand = NULL;
    struct fl_volume *v = NULL;
    size_t n_cand, n_match = 0;
    bool done = false;
    off_t end;
    int fd, r = 0;

    memset(res, 0, sizeof(*res));
    /* a header that loads as LUKS2 (converted, or never LUKS1) is not ours to put back */
    if (fl_volume_read(path, header, &v) == 0) {
        f.loads_luks1 = v->luks_version == 1;
        fl_volume_free(v);
        if (!f.loads_luks1)
            return 0;
    }
    fd = open(f.hdev, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0; /* the caller's own read says why */
    f.fd = fd;
    end = lseek(f.fd, 0, SEEK_END);
    if (end < (off_t)PHDR_BYTES || fl_pread_full(f.fd, f.phdr, PHDR_BYTES, 0) != (ssize_t)PHDR_BYTES)
        goto out;
    f.size = (uint64_t)end;
    memcpy(f.uuid, f.phdr + UUID_OFFSET, UUID_FIELD);
    f.uuid[UUID_FIELD] = '\0';
    if (!fl_uuid_valid(f.uuid))
        goto out; /* no UUID where both LUKS versions keep it: nothing of a conversion to go by */
    cand = calloc(MAX_CANDIDATES, sizeof(*cand));
    if (!cand) {
        r = -ENOMEM;
        goto out;
    }
    n_cand = list_candidates(backup, backup_dir, f.uuid, cand);
    for (size_t i = 0; i < n_cand && !done; i++) {
        struct crypt_device *cd = NULL;
        unsigned char *buf = NULL;
        size_t len = 0;
        enum match m = MATCH_NONE;
        int s = -1, stray = -1;

        if (slurp(cand[i].path, &buf, &len) == 0 && crypt_init_data_device(&cd, cand[i].path, path) == 0 &&
            crypt_load(cd, CRYPT_LUKS1, NULL) == 0)
            m = match_backup(&f, cd, buf, len);
        if (m == MATCH_SAME) {
            done = true; /* the LUKS1 header as it was backed up: nothing to put back */
        } else if (m == MATCH_CUT_SHORT) {
            if (n_match++ == 0)
                snprintf(res->backup, sizeof(res->backup), "%s", cand[i].path);
            s = secret_opening(cd, secrets, n_secrets, &stray);
        }
        crypt_free(cd);
        if (s >= 0 && stray >= 0) {
            set_why(res,
                    "'%s' holds a LUKS1 to LUKS2 conversion that was cut short: no keyslot opens. The header "
                    "backup '%s' is this volume's (%s opens it), but %s opens none of its keyslots, so it "
                    "was not "
                    "put back: give only secrets of this volume",
                    f.hdev, cand[i].path, source_of(&secrets[s]), source_of(&secrets[stray]));
            r = -EPERM;
            done = true;
        } else if (s >= 0) {
            r = put_back(&f, &cand[i], buf, len, secrets[s].secret, res);
            done = true;
        }
        free(buf);
    }
    if (!done && n_match > 0) {
        explain_unproven(&f, res->backup, n_match, n_secrets, res);
        r = -EPERM;
    }
    if (r == 0)
        res->backup[0] = '\0';
out:
    free(cand);
    close(f.fd);
    return r;
}

/*
 * A backup of exactly the @p bytes of the header region @p fd holds: the named file (when it exists;
 * any other content is -EEXIST later), or a backup of this UUID in the backup directory. A run cut
 * short before the conversion wrote, or one whose LUKS1 header was just put back, finds its own.
 * @return 1 (its path in @p ret_path, synced again), 0 (none: write one), -errno.
 */
static int find_identical(int fd, uint64_t bytes, const char *uuid, const char *backup, const char *dir,
                          char *ret_path, size_t size)
{
    struct candidate *cand;
    unsigned char *region;
    size_t n;
    int r = 0;

    if (bytes > MAX_REGION || !fl_uuid_valid(uuid))
        return 0;
    region = malloc((size_t)bytes);
    cand = calloc(MAX_CANDIDATES, sizeof(*cand));
    if (!region || !cand) {
        free(region);
        free(cand);
        return -ENOMEM;
    }
    if (fl_pread_full(fd, region, (size_t)bytes, 0) != (ssize_t)bytes) {
        r = -EIO;
        goto out;
    }
    n = list_candidates(backup, dir, uuid, cand);
    for (size_t i = 0; i < n && r == 0; i++) {
        unsigned char *buf = NULL;
        size_t len = 0;

        if (backup && strcmp(cand[i].path, backup))
            break; /* a named backup is that file or none */
        if (slurp(cand[i].path, &buf, &len) == 0 && buf && len == bytes && !memcmp(buf, region, len)) {
            int bfd = open(cand[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);

            r = bfd >= 0 && fsync(bfd) == 0 ? 1 : -EIO;
            if (bfd >= 0)
                close(bfd);
            if (r == 1 && strlen(cand[i].path) < size)
                snprintf(ret_path, size, "%s", cand[i].path);
            else if (r == 1)
                r = 0;
        }
        free(buf);
    }
out:
    free(region);
    free(cand);
    return r;
}

int fl_luks1_convert(const char *path, const char *header, const char *backup, const char *backup_dir,
                     struct fl_luks1_result *res)
{
    const char *hdev = header ? header : path;
    struct crypt_device *cd = NULL;
    uint64_t bytes = 0;
    int fd = -1, backup_fd = -1, r;

    memset(res, 0, sizeof(*res));
    r = check_busy(path, res);
    if (r == 0 && header)
        r = check_busy(header, res);
    if (r < 0)
        return r;
    r = header ? crypt_init_data_device(&cd, header, path) : crypt_init(&cd, path);
    if (r < 0)
        return r;
    r = crypt_load(cd, CRYPT_LUKS1, NULL);
    if (r < 0) {
        res->luks2 = crypt_load(cd, CRYPT_LUKS2, NULL) == 0;
        r = res->luks2 ? -EINVAL : -EMEDIUMTYPE;
        goto out;
    }
    fd = open(hdev, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    r = header_bytes(cd, fd, &bytes);
    if (r < 0)
        goto out;
    r = find_identical(fd, bytes, crypt_get_uuid(cd), backup, backup_dir, res->backup, sizeof(res->backup));
    if (r == 0)
        r = fl_backup_header(fd, bytes, crypt_get_uuid(cd), backup, backup_dir, res->backup,
                             sizeof(res->backup), &backup_fd);
    if (r < 0) {
        res->backup[0] = '\0';
        goto out;
    }
    r = crypt_convert(cd, CRYPT_LUKS2, NULL);
    if (r < 0) {
        /* crypt_convert() checks before it writes; should it have written and failed, put LUKS1 back */
        struct crypt_device *check = NULL;
        bool intact =
            (header ? crypt_init_data_device(&check, header, path) : crypt_init(&check, path)) == 0 &&
            crypt_load(check, CRYPT_LUKS1, NULL) == 0;

        if (!intact && check)
            (void)crypt_header_restore(check, CRYPT_LUKS1, res->backup);
        crypt_free(check);
    }
out:
    if (backup_fd >= 0)
        close(backup_fd);
    if (fd >= 0)
        close(fd);
    crypt_free(cd);
    return r;
}
