/*
 * fl-crashpoint: an LD_PRELOAD fault injector for crash-safety tests (test-only, never installed).
 *
 * Counts the write and sync calls a process makes on one file and kills the process with SIGKILL
 * at the Nth: before the call ("before"), or after writing only half its buffer ("torn"); or sends
 * itself SIGTERM at the Nth call and lets it proceed ("sigterm"), like an operator's Ctrl-C.
 *   FL_CRASH_TARGET  the file (compared by device and inode with each call's descriptor)
 *   FL_CRASH_AT      N, 1-based
 *   FL_CRASH_MODE    before | torn | sigterm (default before)
 *   FL_CRASH_LOG     optional file: each counted call is appended as "N name offset length"
 *
 * It can also make libcryptsetup's crypt_activate_by_passphrase() (called by the program) fail:
 *   FL_FAIL_ACTIVATE_AT  N: the Nth call returns -EPERM, as if the passphrase did not open the keyslot
 *
 * And run a command at a chosen moment, to make a race deterministic:
 *   FL_HOOK_CRYPT_INIT   CMD: run `sh -c CMD` once, right before the program's first crypt_init()
 *                        (for fipsluks format: after its checks, before anything is written), e.g. to
 *                        replace the target's path by a symbolic link, or mount it. Its exit status is
 *                        ignored (the test checks what the command did); it runs without LD_PRELOAD.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include <libcryptsetup.h>

static long at = -1, count;
static int torn, sigterm;
static dev_t target_dev;
static ino_t target_ino;
static int ready;

static void init(void)
{
    const char *target = getenv("FL_CRASH_TARGET"), *n = getenv("FL_CRASH_AT"),
               *mode = getenv("FL_CRASH_MODE");
    struct stat st;

    ready = -1;
    if (!target || !n || stat(target, &st) < 0)
        return;
    target_dev = st.st_dev;
    target_ino = st.st_ino;
    at = strtol(n, NULL, 10);
    torn = mode && !strcmp(mode, "torn");
    sigterm = mode && !strcmp(mode, "sigterm");
    ready = 1;
}

static int is_target(int fd)
{
    struct stat st;

    if (!ready)
        init();
    return ready > 0 && fstat(fd, &st) == 0 && st.st_dev == target_dev && st.st_ino == target_ino;
}

static void note(const char *name, long long off, size_t len)
{
    const char *log = getenv("FL_CRASH_LOG");
    FILE *f;

    if (!log || !(f = fopen(log, "a")))
        return;
    fprintf(f, "%ld %s %lld %zu\n", count, name, off, len);
    fclose(f);
}

/* Count this call; @return how many bytes to really write (len, or a torn part), or kill. */
static size_t crash_point(int fd, const char *name, long long off, size_t len)
{
    size_t part;

    if (!is_target(fd))
        return len;
    count++;
    note(name, off, len);
    if (count != at)
        return len;
    if (sigterm) {
        raise(SIGTERM);
        return len;
    }
    if (!torn || len < 2)
        raise(SIGKILL);
    part = len / 2;
    if ((fcntl(fd, F_GETFL) & O_DIRECT) && part >= 512)
        part &= ~(size_t)511; /* O_DIRECT needs sector-aligned lengths */
    return part;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*sync_fn)(int);

#define REAL(name, type)                                                                                     \
    static type real_##name;                                                                                 \
    if (!real_##name)                                                                                        \
    real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t len)
{
    REAL(write, write_fn);
    size_t n = crash_point(fd, "write", -1, len);
    ssize_t r = real_write(fd, buf, n);
    if (n != len)
        raise(SIGKILL);
    return r;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    REAL(pwrite, pwrite_fn);
    size_t n = crash_point(fd, "pwrite", (long long)off, len);
    ssize_t r = real_pwrite(fd, buf, n, off);
    if (n != len)
        raise(SIGKILL);
    return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    REAL(pwrite64, pwrite_fn);
    size_t n = crash_point(fd, "pwrite64", (long long)off, len);
    ssize_t r = real_pwrite64(fd, buf, n, off);
    if (n != len)
        raise(SIGKILL);
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev, writev_fn);
    size_t len = 0;
    for (int i = 0; i < cnt; i++)
        len += iov[i].iov_len;
    if (crash_point(fd, "writev", -1, len) != len)
        raise(SIGKILL); /* a torn writev is approximated by a crash before it */
    return real_writev(fd, iov, cnt);
}

int fsync(int fd)
{
    REAL(fsync, sync_fn);
    if (crash_point(fd, "fsync", -1, 0) != 0)
        raise(SIGKILL);
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync, sync_fn);
    if (crash_point(fd, "fdatasync", -1, 0) != 0)
        raise(SIGKILL);
    return real_fdatasync(fd);
}

typedef int (*activate_fn)(struct crypt_device *, const char *, int, const char *, size_t, uint32_t);

int crypt_activate_by_passphrase(struct crypt_device *cd, const char *name, int slot, const char *pass,
                                 size_t len, uint32_t flags)
{
    static long calls;
    const char *at_env = getenv("FL_FAIL_ACTIVATE_AT");
    REAL(crypt_activate_by_passphrase, activate_fn);

    if (at_env && ++calls == strtol(at_env, NULL, 10))
        return -EPERM;
    return real_crypt_activate_by_passphrase(cd, name, slot, pass, len, flags);
}

typedef int (*init_fn)(struct crypt_device **, const char *);

int crypt_init(struct crypt_device **cd, const char *device)
{
    static int done;
    const char *cmd = getenv("FL_HOOK_CRYPT_INIT");
    REAL(crypt_init, init_fn);

    if (cmd && !done) {
        char *copy = strdup(cmd);
        done = 1;
        unsetenv("FL_HOOK_CRYPT_INIT");
        unsetenv("LD_PRELOAD");
        if (copy && system(copy) == -1)
            perror("fl-crashpoint: FL_HOOK_CRYPT_INIT");
        free(copy);
    }
    return real_crypt_init(cd, device);
}
