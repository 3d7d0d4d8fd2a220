/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Talking to the operator's terminal: secrets without echo, and confirmations. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "fipsluks/secret.h"
#include "../lib/cleanup.h"
#include "cli.h"

#define PROMPT_MAX 512 /* cryptsetup's interactive passphrase limit */

bool fl_interactive(void)
{
    return isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

/* ---- signals while the terminal does not echo ---- */

static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static volatile sig_atomic_t prompt_interrupted;

static void on_prompt_signal(int sig)
{
    prompt_interrupted = sig;
}

struct caught {
    struct sigaction old[N_PROMPT_SIGNALS];
    bool replaced[N_PROMPT_SIGNALS];
};

/*
 * Ctrl-C (or SIGTERM, SIGHUP, Ctrl-\) at a secret prompt must not kill the process while the
 * terminal's echo is off: it would stay off for the shell. A signal that would kill the process
 * only interrupts the read (no SA_RESTART); the prompt then restores the terminal and returns
 * -ECANCELED: the operator declined to answer. Signals the program already handles or ignores are
 * left alone: when such a handler interrupts the read, the prompt returns -EINTR and the verb
 * decides what its stop means (fl_stop_ask_secret()).
 */
static void catch_prompt_signals(struct caught *c)
{
    struct sigaction sa = {.sa_handler = on_prompt_signal};

    sigemptyset(&sa.sa_mask);
    prompt_interrupted = 0;
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++) {
        c->replaced[i] = sigaction(prompt_signals[i], NULL, &c->old[i]) == 0 &&
                         !(c->old[i].sa_flags & SA_SIGINFO) && c->old[i].sa_handler == SIG_DFL &&
                         sigaction(prompt_signals[i], &sa, NULL) == 0;
    }
}

static void release_prompt_signals(const struct caught *c)
{
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        if (c->replaced[i])
            sigaction(prompt_signals[i], &c->old[i], NULL);
    prompt_interrupted = 0; /* reported as -ECANCELED already */
}

/*
 * Read one line from @p fd into @p buf (at most @p size - 1 bytes), without the newline.
 *
 * Ctrl-C must end the wait whenever it comes, also between the question being written and the read
 * starting: the signals are blocked except inside ppoll(), which unblocks them atomically, so a
 * signal either arrives before the flags are tested or interrupts ppoll(). read() runs only when a
 * byte is there. @return the length, -ECANCELED (prompt_interrupted: the operator declined),
 * -EINTR (fl_interrupted: the verb's stop handler caught a signal), -EFBIG, -errno.
 */
static ssize_t read_line(int fd, char *buf, size_t size)
{
    sigset_t block, old;
    ssize_t ret = -EIO;
    size_t n = 0;

    sigemptyset(&block);
    for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
        sigaddset(&block, prompt_signals[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;
        ssize_t r;

        if (prompt_interrupted) {
            ret = -ECANCELED;
            break;
        }
        if (fl_interrupted) {
            ret = -EINTR;
            break;
        }
        r = ppoll(&p, 1, NULL, &old);
        if (r < 0 && errno == EINTR)
            continue; /* a signal: the flags say whether to give up */
        if (r < 0) {
            ret = -errno;
            break;
        }
        r = read(fd, &c, 1);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0) {
            ret = -errno;
            break;
        }
        if (r == 0 || c == '\n') {
            buf[n] = '\0';
            ret = (ssize_t)n;
            break;
        }
        if (n + 1 >= size) {
            ret = -EFBIG;
            break;
        }
        buf[n++] = c;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return ret;
}

int fl_prompt_secret(const char *prompt, struct fl_secret **ret)
{
    struct termios old, quiet;
    struct fl_secret *s = NULL;
    struct caught caught;
    bool restore = false;
    ssize_t n;
    int fd, r;

    fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -ENOTTY;
    r = fl_secret_new(NULL, PROMPT_MAX, &s);
    if (r < 0) {
        close(fd);
        return r;
    }
    catch_prompt_signals(&caught);
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        r = -errno;
        goto out;
    }
    n = read_line(fd, s->data, PROMPT_MAX + 1);
    if (write(fd, "\n", 1) < 0) {
        /* the newline is cosmetic */
    }
    if (n < 0) {
        r = (int)n;
        goto out;
    }
    s->len = (size_t)n;
    *ret = s;
    s = NULL;
    r = 0;
out:
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    release_prompt_signals(&caught);
    fl_secret_free(s);
    close(fd);
    return r;
}

int fl_ask(const char *question, char *buf, size_t size)
{
    _cleanup_close_ int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    ssize_t n;

    if (fd < 0)
        return -ENOTTY;
    if (write(fd, question, strlen(question)) < 0)
        return -errno;
    n = read_line(fd, buf, size);
    return n < 0 ? (int)n : 0;
}

int fl_confirm(const char *question, const char *answer)
{
    char buf[256];
    int r = fl_ask(question, buf, sizeof(buf));

    return r < 0 ? r : strcmp(buf, answer) == 0;
}
