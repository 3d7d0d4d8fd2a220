#!/usr/bin/env python3
# Apply one check's remedy, as `fipsluks check` prints it, to a host root: what an operator does by
# hand, one line of the remedy at a time. Used by tests/e2e/test-check-order-fips.sh.
#     apply-remedy.py CHECK-JSON ID
# CHECK-JSON is a `fipsluks check --json --root ROOT` report; ID the check whose remedy is applied.
# The environment gives the rest:
#   FL_ROOT     the host root the report is about (paths in remedies are the host's: /etc/... is
#               FL_ROOT/etc/...)
#   FL_ON_HOST  a program that runs a command as a program started on that host (FL_ON_HOST ROOT
#               CMD...: the root's /etc/ssl, /etc/ssh, /root and OpenSSL module directory in their
#               places), for the commands a remedy names (openssl fipsinstall, fipsluks migrate)
#   FL_BOUND    the host directories FL_ON_HOST binds (colon-separated): a command from a remedy runs
#               verbatim only when every path it names is inside one of them
#   FL_KEY      the volumes' key file (the secret an operator types or keeps), FL_BACKUPS a directory
#               for header backups, FL_FIPS_MODULE the fips.so to install (the FIPS test host's)
# Values come from the remedy (and, where the remedy names none, the check's evidence), never from a
# known good end state. A remedy line this program does not understand is an error (exit 1), so a
# changed remedy text is noticed. What it does goes to stdout, one line per action.
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.environ["FL_ROOT"]
ON_HOST = os.environ["FL_ON_HOST"]
BOUND = os.environ["FL_BOUND"].split(":")


def die(msg):
    print(f"apply-remedy: {msg}", file=sys.stderr)
    sys.exit(1)


def inroot(path):
    """The host path @path below ROOT (absolute, no '..': remedies name host paths)."""
    if not path.startswith("/") or ".." in path.split("/"):
        die(f"not an absolute host path: {path!r}")
    return ROOT + path


def on_host(argv, verbatim=True):
    """Run argv as a program on the host. @verbatim (a command as the remedy names it): its paths must
    be inside the bound directories, or it would read or write this machine's files."""
    for a in argv[1:] if verbatim else []:
        if a.startswith("/") and not any(a == d or a.startswith(d + "/") for d in BOUND):
            die(f"{argv[0]}: {a} is outside what the host root binds ({':'.join(BOUND)})")
    print("run on the host: " + shlex.join(argv))
    r = subprocess.run([ON_HOST, ROOT, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        die(f"{shlex.join(argv)} exited {r.returncode}: {r.stdout}")
    return r.stdout


def read_lines(path):
    with open(inroot(path), encoding="utf-8") as f:
        return f.read().splitlines()


def write_lines(path, lines):
    with open(inroot(path), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


# ---- luks: the commands of each finding ----------------------------------------------------------


def luks(remedy, check):
    for line in remedy:
        if line == "fipsluks scan shows every finding":
            continue
        m = re.fullmatch(r"fipsluks migrate (.+)", line)
        if not m:
            die(f"luks: not understood: {line!r}")
        args = shlex.split(m.group(1))
        device = args.pop()
        if not device.startswith("/dev/"):
            die(f"luks: not a device: {device!r}")
        # The remedy's options, plus what a person supplies: the secret (a key file here), no
        # questions, the header backup's place, and the tests' cheap PBKDF2.
        argv = ["fipsluks", "migrate", *args, "--key-file", os.environ["FL_KEY"], "--batch",
                "--pbkdf-force-iterations", "1000",
                "--header-backup", os.path.join(os.environ["FL_BACKUPS"], os.path.basename(device) + ".luksheader"),
                inroot(device)]
        on_host(argv, verbatim=False)


# ---- sshd and ssh-client: the algorithm lines ------------------------------------------------------


def ssh(remedy, check, program):
    added = {}
    for line in remedy:
        # the optional lines too: the keys of this host and its clients are ECDSA P-256, approved
        m = re.fullmatch(r"(?:\(optional: [^)]*\) )?add to (/\S+), before any (?:Host or )?Match block: (\S+) (\S+)",
                         line)
        if m:
            added.setdefault(m.group(1), []).append(f"{m.group(2)} {m.group(3)}")
            continue
        if line in ("then restart sshd; sshd -T shows the algorithms in effect",
                    "ssh -G HOST shows the algorithms in effect for a host"):
            continue  # below: what sshd -T / ssh -G say; each login starts a new sshd (no daemon to restart)
        die(f"{check['id']}: not understood: {line!r}")
    if not added:
        die(f"{check['id']}: no line to add in {remedy!r}")
    for path, new in added.items():
        # before any Match (Host) block: at the top, where the first value of each keyword wins
        write_lines(path, ["# added by the remedy of fipsluks check's " + check["id"], *new, *read_lines(path)])
        print(f"{path}: added at the top: " + "; ".join(new))
        shown = on_host(["/usr/sbin/sshd", "-T", "-f", path] if program == "sshd"
                        else ["ssh", "-G", "-F", path, "localhost"])
        for n in new:
            keyword, value = n.split(" ", 1)
            if f"{keyword.lower()} {value}" not in shown.splitlines():
                die(f"{program} does not use {n}: {shown}")


# ---- openssl-module: install the provider ---------------------------------------------------------


def openssl_module(remedy, check):
    if not remedy or not remedy[0].startswith("install OpenSSL's FIPS provider"):
        die(f"openssl-module: not understood: {remedy!r}")
    # where: the first of the usual directories the evidence names that the host has
    dirs = None
    for e in check["evidence"]:
        m = re.fullmatch(r"fips\.so: not found in the usual module directories \((.*)\)", e)
        if m:
            dirs = [d for d in m.group(1).split(", ") if d.startswith("/")]
    if not dirs:
        die(f"openssl-module: no module directory in the evidence: {check['evidence']!r}")
    target = next((d for d in dirs if os.path.isdir(inroot(d))), dirs[0])
    os.makedirs(inroot(target), exist_ok=True)
    shutil.copyfile(os.environ["FL_FIPS_MODULE"], inroot(target + "/fips.so"))
    print(f"installed the FIPS provider as {target}/fips.so")


# ---- openssl-config: fipsinstall and the openssl.cnf edits -------------------------------------------


def section_header(name):
    return re.compile(r"\s*\[\s*" + re.escape(name) + r"\s*\]\s*$")


def set_value(path, section, key, value):
    """key = value in [section] of path: replaced where it is, else added after the header, else a new
    section at the end."""
    lines = read_lines(path)
    header = next((i for i, l in enumerate(lines) if section_header(section).match(l)), None)
    if header is None:
        lines += ["", f"[{section}]", f"{key} = {value}"]
    else:
        end = next((i for i in range(header + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
        at = next((i for i in range(header + 1, end) if re.match(r"\s*" + re.escape(key) + r"\s*=", lines[i])), None)
        if at is None:
            lines.insert(header + 1, f"{key} = {value}")
        else:
            lines[at] = f"{key} = {value}"
    write_lines(path, lines)
    print(f"{path}: [{section}] {key} = {value}")


def openssl_config(remedy, check):
    for line in remedy:
        if line.startswith("the sections must be complete: ") or line.startswith("fipsluks check --emit butane"):
            continue  # a summary of the lines above, and where to see a whole file
        m = re.fullmatch(r"openssl fipsinstall -out (/\S+) -module (/\S+)", line)
        if m:
            on_host(["openssl", "fipsinstall", "-out", m.group(1), "-module", m.group(2)])
            continue
        m = re.fullmatch(r"add to (/\S+), before the first section: (\.include \S+)", line)
        if m:
            lines = read_lines(m.group(1))
            first = next((i for i, l in enumerate(lines) if re.match(r"\s*\[", l)), len(lines))
            lines.insert(first, m.group(2))
            write_lines(m.group(1), lines)
            print(f"{m.group(1)}: {m.group(2)} before line {first + 1}")
            continue
        m = re.fullmatch(r"set (\S+) = (\S+) in \[(\S+)\] of (/\S+)", line)
        if m:
            set_value(m.group(4), m.group(3), m.group(1), m.group(2))
            continue
        m = re.fullmatch(r"add to \[(\S+)\] in (/\S+): (.+)", line)
        if m:
            # "a = b (a note), and c = d with [e] f = g; then [h] i = j": values for [section], or
            # for the section named before them
            for piece in re.split(r"; then |, and | with ", m.group(3)):
                piece = re.sub(r"\s*\([^)]*\)$", "", piece)
                v = re.fullmatch(r"(?:\[(\S+)\] )?([\w.-]+) = (\S+)", piece)
                if not v:
                    die(f"openssl-config: not understood: {piece!r} in {line!r}")
                set_value(m.group(2), v.group(1) or m.group(1), v.group(2), v.group(3))
            continue
        die(f"openssl-config: not understood: {line!r}")


# ---- system-fips and kernel ----------------------------------------------------------------------------


def system_fips(remedy, check):
    m = re.fullmatch(r"touch (/\S+)", remedy[0]) if len(remedy) == 1 else None
    if not m:
        die(f"system-fips: not understood: {remedy!r}")
    open(inroot(m.group(1)), "a", encoding="utf-8").close()
    print(f"touched {m.group(1)}")


def kernel(remedy, check):
    # "add fips=1 to the kernel command line and reboot (...; GRUB: VAR in FILE, then update-grub ...)":
    # the boot loader's file; update-grub and the reboot cannot happen below a root
    m = re.fullmatch(r"add (fips=1) to the kernel command line and reboot \(.*GRUB: (\w+) in (/\S+), then .*\)",
                     remedy[0]) if len(remedy) == 1 else None
    if not m:
        die(f"kernel: not understood: {remedy!r}")
    arg, var, path = m.groups()
    lines = read_lines(path)
    at = next((i for i, l in enumerate(lines) if re.fullmatch(var + r'="([^"]*)"', l)), None)
    if at is None:
        lines.append(f'{var}="{arg}"')
    else:
        value = re.fullmatch(var + r'="([^"]*)"', lines[at]).group(1)
        lines[at] = f'{var}="{(value + " " + arg).strip()}"'
    write_lines(path, lines)
    print(f"{path}: {var} has {arg} (update-grub and the reboot are outside the walk)")


APPLIERS = {
    "luks": luks,
    "sshd": lambda r, c: ssh(r, c, "sshd"),
    "ssh-client": lambda r, c: ssh(r, c, "ssh"),
    "openssl-module": openssl_module,
    "openssl-config": openssl_config,
    "system-fips": system_fips,
    "kernel": kernel,
}


def main():
    if len(sys.argv) != 3:
        die("usage: apply-remedy.py CHECK-JSON ID")
    with open(sys.argv[1], encoding="utf-8") as f:
        report = json.load(f)
    check = next((c for c in report["checks"] if c["id"] == sys.argv[2]), None)
    if check is None:
        die(f"no check {sys.argv[2]!r} in {sys.argv[1]}")
    if check["status"] not in ("fail", "warn") or not check["remedy"]:
        die(f"{check['id']}: nothing to apply ({check['status']}: {check['message']})")
    if check["id"] not in APPLIERS:
        die(f"{check['id']}: no applier")
    APPLIERS[check["id"]](check["remedy"].split("\n"), check)


if __name__ == "__main__":
    main()
