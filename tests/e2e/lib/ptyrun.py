#!/usr/bin/env python3
"""Run a command on a pseudo-terminal and answer its prompts, like a tiny expect(1).

    ptyrun.py [--timeout SECONDS] [STEP]... -- CMD [ARG...]

The command gets a new session whose controlling terminal, standard input, output and error are the
pty, so it sees an operator at a terminal (isatty() is true, /dev/tty opens). The steps run in order:

    --expect TEXT   wait until TEXT has appeared in the output since the previous match
    --send LINE     type LINE followed by Enter
    --intr          type the terminal's interrupt character (Ctrl-C)
    --shell CMD     run CMD with sh -c (PTYRUN_PID is the command's process id); if it fails, the
                    command is killed and ptyrun.py exits 126

Everything the command wrote is copied to standard output (with the terminal's CR LF line ends turned
into LF). Exits with the command's exit status (128 + N when signal N ended it), 124 on a timeout
(the command is killed), 125 on a usage error, or 126 when a --shell step failed.
"""

import argparse
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time


class Step(argparse.Action):
    """Keep every step in one list, in the order given."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.steps.append((self.dest, values))


def main(argv):
    if "--" not in argv:
        print("usage: ptyrun.py [--timeout S] [--expect TEXT|--send LINE|--intr|--shell CMD]... -- CMD [ARG...]",
              file=sys.stderr)
        return 125
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="ptyrun.py")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--expect", action=Step, dest="expect")
    parser.add_argument("--send", action=Step, dest="send")
    parser.add_argument("--intr", action=Step, dest="intr", nargs=0)
    parser.add_argument("--shell", action=Step, dest="shell")
    parser.set_defaults(steps=[])
    args = parser.parse_args(argv[:split])
    cmd = argv[split + 1 :]
    if not cmd:
        print("ptyrun.py: need a command", file=sys.stderr)
        return 125

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    def finish(output, code, message=None):
        sys.stdout.write(output.decode(errors="replace").replace("\r\n", "\n"))
        if message:
            print(message, file=sys.stderr)
        return code

    def kill(output, code, message):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return finish(output, code, message)

    script = list(args.steps)
    deadline = time.monotonic() + args.timeout
    output = b""
    pending = b""  # output since the last match
    while True:
        while script and script[0][0] != "expect":
            kind, value = script.pop(0)
            if kind == "send":
                os.write(fd, value.encode() + b"\r")
            elif kind == "intr":
                os.write(fd, termios.tcgetattr(fd)[6][termios.VINTR])
            else:
                env = dict(os.environ, PTYRUN_PID=str(pid))
                if subprocess.run(["sh", "-c", value], env=env).returncode != 0:
                    return kill(output, 126, "\nptyrun.py: --shell step failed: %r" % value)
        if script and script[0][1].encode() in pending:
            text = script.pop(0)[1].encode()
            pending = pending[pending.index(text) + len(text) :]
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            waiting = script[0][1] if script else "exit"
            return kill(output, 124, "\nptyrun.py: timeout; still waiting for: %r" % waiting)
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
    code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
    if code < 0:
        code = 128 - code  # killed by a signal, as a shell reports it
    message = "ptyrun.py: the command ended before printing: %r" % script[0][1] if script else None
    return finish(output, code, message)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
