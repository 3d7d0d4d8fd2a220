/*
 * fl-header-floor: the least work that can read a LUKS header; the benchmarks' floor for fipsluks scan.
 *
 *   fl-header-floor [--jobs N] [--io-only | --crypt-load] PATH...
 *
 * Each PATH is an image file or block device, or a directory whose entries (not recursively) are. Per
 * file: one open, one pread of the header region (32 KiB, without readahead; a second pread only when a
 * LUKS2 header is larger), then for LUKS2 the binary header's SHA-256 checksum (OpenSSL) and the JSON area
 * parsed with json-c; for LUKS1 the 592-byte binary header's magic and version. --io-only stops after the
 * read (the cold-cache floor: one read per header). --crypt-load is what it costs to keep libcryptsetup as
 * the judge, as fipsluks does, and nothing more: the region read goes into a private memfd and
 * libcryptsetup's crypt_init() and crypt_load() load that copy. --jobs N reads N files at a time on N
 * threads, as scan does.
 *
 * Prints one line: "files N luks1 N luks2 N invalid N seconds S us_per_header U". Exit status 0, or 1
 * on a usage error. Not a validator: libcryptsetup checks far more (both copies, every JSON field).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define FLOOR_READ        (32 * 1024) /* what the first pread asks for: a default LUKS2 header (16 KiB) and more */
#define FLOOR_LUKS2_MAX   (4 * 1024 * 1024)
#define LUKS_MAGIC_LEN    6
#define LUKS1_HDR_SIZE    592
#define LUKS2_BIN_SIZE    4096
#define LUKS2_CSUM_OFF    0x1c0
#define LUKS2_CSUM_LEN    64
#define LUKS2_CSUMALG_OFF 0x48

static const unsigned char luks_magic[LUKS_MAGIC_LEN] = {'L', 'U', 'K', 'S', 0xba, 0xbe};

struct floor {
    char **paths;
    size_t n, next;
    bool io_only, crypt_load;
    pthread_mutex_t lock;
    unsigned long luks1, luks2, invalid;
};

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* 1 for LUKS1, 2 for LUKS2, 0 when not a valid header. */
static int read_one(const char *path, unsigned char *buf, bool io_only)
{
    unsigned char digest[EVP_MAX_MD_SIZE], saved[LUKS2_CSUM_LEN];
    unsigned char *hdr = buf;
    unsigned int dlen = 0;
    json_object *jobj;
    uint64_t size;
    ssize_t n;
    int version, fd, ok = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM); /* the bytes asked for, no readahead */
    n = pread(fd, buf, FLOOR_READ, 0);
    if (n < LUKS1_HDR_SIZE || memcmp(buf, luks_magic, LUKS_MAGIC_LEN))
        goto out;
    version = buf[6] << 8 | buf[7];
    if (version == 1) {
        ok = 1;
        goto out;
    }
    if (version != 2 || n < LUKS2_BIN_SIZE)
        goto out;
    size = be64(buf + 8);
    if (size < 2 * LUKS2_BIN_SIZE || size > FLOOR_LUKS2_MAX)
        goto out;
    if (size > (uint64_t)n) {
        hdr = malloc(size + 1);
        if (!hdr || pread(fd, hdr, size, 0) != (ssize_t)size)
            goto out;
    }
    if (io_only) {
        ok = 2;
        goto out;
    }
    if (strncmp((const char *)hdr + LUKS2_CSUMALG_OFF, "sha256", 7))
        goto out;
    memcpy(saved, hdr + LUKS2_CSUM_OFF, LUKS2_CSUM_LEN);
    memset(hdr + LUKS2_CSUM_OFF, 0, LUKS2_CSUM_LEN);
    if (!EVP_Digest(hdr, size, digest, &dlen, EVP_sha256(), NULL) || memcmp(digest, saved, dlen))
        goto out;
    hdr[size] = '\0';
    jobj = json_tokener_parse((const char *)hdr + LUKS2_BIN_SIZE);
    if (jobj && json_object_is_type(jobj, json_type_object) &&
        json_object_object_get_ex(jobj, "keyslots", NULL))
        ok = 2;
    json_object_put(jobj);
out:
    if (hdr != buf)
        free(hdr);
    close(fd);
    return ok;
}

static void quiet(int level, const char *msg, void *usrptr)
{
    (void)level, (void)msg, (void)usrptr;
}

/* --crypt-load: 1 for LUKS1, 2 for LUKS2, 0 when libcryptsetup does not load the private copy. */
static int crypt_load_one(const char *path, unsigned char *buf)
{
    struct crypt_device *cd = NULL;
    char proc[64];
    struct stat st;
    int fd, copy = -1, ok = 0;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    n = pread(fd, buf, FLOOR_READ, 0);
    if (fstat(fd, &st) < 0 || n < LUKS1_HDR_SIZE)
        goto out;
    copy = memfd_create("fl-header-floor", MFD_CLOEXEC);
    if (copy < 0 || ftruncate(copy, st.st_size) < 0 || pwrite(copy, buf, (size_t)n, 0) != n)
        goto out;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", copy);
    if (crypt_init(&cd, proc) < 0)
        goto out;
    crypt_set_log_callback(cd, quiet, NULL);
    if (crypt_load(cd, CRYPT_LUKS, NULL) == 0)
        ok = strcmp(crypt_get_type(cd), CRYPT_LUKS1) ? 2 : 1;
out:
    crypt_free(cd);
    if (copy >= 0)
        close(copy);
    close(fd);
    return ok;
}

static void *worker(void *arg)
{
    struct floor *f = arg;
    unsigned long counts[3] = {0};
    unsigned char *buf = malloc(FLOOR_READ + 1);

    if (!buf)
        return NULL;
    for (;;) {
        size_t i;

        pthread_mutex_lock(&f->lock);
        i = f->next++;
        pthread_mutex_unlock(&f->lock);
        if (i >= f->n)
            break;
        counts[f->crypt_load ? crypt_load_one(f->paths[i], buf) : read_one(f->paths[i], buf, f->io_only)]++;
    }
    free(buf);
    pthread_mutex_lock(&f->lock);
    f->invalid += counts[0];
    f->luks1 += counts[1];
    f->luks2 += counts[2];
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

static int add_path(struct floor *f, size_t *allocated, char *path)
{
    if (!path)
        return -ENOMEM;
    if (f->n == *allocated) {
        size_t a = *allocated ? 2 * *allocated : 1024;
        char **p = realloc(f->paths, a * sizeof(*p));
        if (!p) {
            free(path);
            return -ENOMEM;
        }
        f->paths = p;
        *allocated = a;
    }
    f->paths[f->n++] = path;
    return 0;
}

static int add_arg(struct floor *f, size_t *allocated, const char *arg)
{
    DIR *d = opendir(arg);
    struct dirent *e;
    int r = 0;

    if (!d)
        return add_path(f, allocated, strdup(arg));
    while (r == 0 && (e = readdir(d))) {
        char *p = NULL;
        if (e->d_name[0] == '.' || (e->d_type != DT_REG && e->d_type != DT_BLK && e->d_type != DT_UNKNOWN))
            continue;
        r = asprintf(&p, "%s/%s", arg, e->d_name) < 0 ? -ENOMEM : add_path(f, allocated, p);
    }
    closedir(d);
    return r;
}

int main(int argc, char **argv)
{
    struct floor f = {.lock = PTHREAD_MUTEX_INITIALIZER};
    pthread_t threads[64];
    unsigned jobs = 1, started = 0;
    size_t allocated = 0;
    struct timespec t0, t1;
    double seconds;
    int i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--jobs") && i + 1 < argc) {
            jobs = (unsigned)strtoul(argv[++i], NULL, 10);
            if (jobs < 1 || jobs > 64) {
                fprintf(stderr, "fl-header-floor: --jobs takes 1 to 64\n");
                return 1;
            }
        } else if (!strcmp(argv[i], "--io-only")) {
            f.io_only = true;
        } else if (!strcmp(argv[i], "--crypt-load")) {
            f.crypt_load = true;
        } else {
            fprintf(stderr, "usage: fl-header-floor [--jobs N] [--io-only | --crypt-load] PATH...\n");
            return 1;
        }
    }
    if (i == argc) {
        fprintf(stderr, "usage: fl-header-floor [--jobs N] [--io-only | --crypt-load] PATH...\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (; i < argc; i++)
        if (add_arg(&f, &allocated, argv[i]) < 0) {
            fprintf(stderr, "fl-header-floor: out of memory\n");
            for (size_t k = 0; k < f.n; k++)
                free(f.paths[k]);
            free(f.paths);
            return 1;
        }
    if (f.crypt_load) {
        /* libcryptsetup initialises its crypto backend on first use, not safe to race: one load first */
        crypt_set_log_callback(NULL, quiet, NULL);
        if (f.n) {
            unsigned char *buf = malloc(FLOOR_READ + 1);
            int k = buf ? crypt_load_one(f.paths[0], buf) : 0;
            f.next = 1;
            f.invalid += k == 0, f.luks1 += k == 1, f.luks2 += k == 2;
            free(buf);
        }
    }
    for (; started < jobs; started++)
        if (pthread_create(&threads[started], NULL, worker, &f))
            break;
    if (started == 0)
        worker(&f);
    for (unsigned t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("files %zu luks1 %lu luks2 %lu invalid %lu seconds %.6f us_per_header %.1f\n", f.n, f.luks1,
           f.luks2, f.invalid, seconds, f.n ? seconds * 1e6 / (double)f.n : 0.0);
    for (size_t k = 0; k < f.n; k++)
        free(f.paths[k]);
    free(f.paths);
    return 0;
}
