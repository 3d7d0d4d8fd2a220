/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stopping on SIGINT, SIGTERM and SIGHUP for the verbs that write (migrate, reencrypt): the handler
 * says at once what will happen (the verb sets the message for its current phase) and sets a flag
 * the verb checks between steps. Outside prompts, system calls restart, so libcryptsetup's I/O is
 * never cut short; at a prompt they do not, so Ctrl-C ends the prompt.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "fipsluks/secret.h"
#include "cli.h"

volatile sig_atomic_t fl_interrupted;
static const char *volatile stop_message;

static void on_signal(int sig)
{
    const char *msg = stop_message;

    if (!fl_interrupted && msg)
        (void)!write(STDERR_FILENO, msg, strlen(msg));
    fl_interrupted = sig;
}

void fl_stop_message(const char *msg)
{
    stop_message = msg;
}

void fl_stop_catch(bool restart)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = restart ? SA_RESTART : 0};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int fl_stop_ask_secret(const char *prompt, struct fl_secret **ret)
{
    int r;

    if (fl_interrupted)
        return -EINTR;
    fl_stop_catch(false);
    r = fl_prompt_secret(prompt, ret);
    fl_stop_catch(true);
    if (r < 0)
        return r; /* -EINTR: a stop signal (the prompt sees fl_interrupted) */
    if ((*ret)->len == 0) {
        fl_secret_free(*ret);
        *ret = NULL;
        return 1;
    }
    return 0;
}

int fl_stop_confirm(const char *question, const char *answer)
{
    int r;

    fl_stop_catch(false);
    r = fl_confirm(question, answer);
    fl_stop_catch(true);
    return r;
}
