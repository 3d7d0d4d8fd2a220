#!/usr/bin/env python3
"""Run a command on a pseudo-terminal and answer its prompts, like a tiny expect(1).

    ptyrun.py [--timeout SECONDS] [--expect TEXT --send LINE]... -- CMD [ARG...]

The command gets a new session whose controlling terminal, standard input, output and error are the
pty, so it sees an operator at a terminal (isatty() is true, /dev/tty opens). Each --expect TEXT waits
until TEXT has appeared in the output since the previous match, then its --send LINE is typed followed
by Enter. Everything the command wrote is copied to standard output (with the terminal's CR LF line
ends turned into LF). Exits with the command's exit status, 124 on a timeout (the command is killed),
or 125 on a usage error.
"""

import argparse
import os
import pty
import select
import signal
import sys
import time


def main(argv):
    if "--" not in argv:
        print("usage: ptyrun.py [--timeout S] [--expect TEXT --send LINE]... -- CMD [ARG...]", file=sys.stderr)
        return 125
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="ptyrun.py")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--expect", action="append", default=[])
    parser.add_argument("--send", action="append", default=[])
    args = parser.parse_args(argv[:split])
    cmd = argv[split + 1 :]
    if not cmd or len(args.expect) != len(args.send):
        print("ptyrun.py: need a command, and one --send for each --expect", file=sys.stderr)
        return 125

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    script = list(zip(args.expect, args.send))
    deadline = time.monotonic() + args.timeout
    output = b""
    pending = b""  # output since the last match
    while True:
        if script and script[0][0].encode() in pending:
            text, line = script.pop(0)
            pending = pending[pending.index(text.encode()) + len(text.encode()) :]
            os.write(fd, line.encode() + b"\r")
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.stdout.write(output.decode(errors="replace").replace("\r\n", "\n"))
            print("\nptyrun.py: timeout; still waiting for: %r" % (script[0][0] if script else "exit"), file=sys.stderr)
            return 124
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            break
        output += chunk
        pending += chunk
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(output.decode(errors="replace").replace("\r\n", "\n"))
    if script:
        print("ptyrun.py: the command ended before asking: %r" % script[0][0], file=sys.stderr)
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
