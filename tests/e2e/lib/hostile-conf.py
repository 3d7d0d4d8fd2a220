#!/usr/bin/env python3
# Hostile configuration files for fipsluks check --root: large inputs that take quadratic time in a
# naive parser. Used by tests/e2e/test-check-hostile.sh and scripts/bench/parse.
#     hostile-conf.py CASE ROOT [SIZE]
# writes the case's file(s) below ROOT (etc/ssl/openssl.cnf or etc/ssh/sshd_config), SIZE bytes
# (default 262144) give or take one line. Cases:
#   openssl-section    one [provider_sect] with SIZE bytes of "pN = sectN" lines
#   openssl-continued  one value continued with a backslash over SIZE bytes of lines
#   openssl-sections   SIZE bytes of "[sN]" sections with one value each
#   sshd-lines         SIZE bytes of "Ciphers chacha20-poly1305@openssh.com" (all but the first ignored)
#   sshd-match         SIZE bytes of "Match all" blocks, each with a Ciphers line that breaks
#   sshd-long-match    one Match line of SIZE/2 bytes, then SIZE/2 bytes of MACs lines that break
import os
import sys

OPENSSL_HEAD = "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"


def fill(size, make):
    parts, n, i = [], 0, 0
    while n < size:
        line = make(i)
        parts.append(line)
        n += len(line)
        i += 1
    return "".join(parts)


def main():
    case, root = sys.argv[1], sys.argv[2]
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 256 * 1024
    if case.startswith("openssl"):
        path, head = os.path.join(root, "etc/ssl/openssl.cnf"), OPENSSL_HEAD
        if case == "openssl-section":
            body = "[provider_sect]\n" + fill(size, lambda i: "p%d = sect%d\n" % (i, i))
        elif case == "openssl-continued":
            body = "[provider_sect]\nbase = base_sect \\\n" + fill(size, lambda i: "x%d \\\n" % i) + "end\n"
        elif case == "openssl-sections":
            body = "[provider_sect]\nbase = base_sect\n" + fill(size, lambda i: "[s%d]\nk = v\n" % i)
        else:
            sys.exit("unknown case " + case)
    else:
        path, head = os.path.join(root, "etc/ssh/sshd_config"), ""
        if case == "sshd-lines":
            body = fill(size, lambda i: "Ciphers chacha20-poly1305@openssh.com\n")
        elif case == "sshd-match":
            body = fill(size, lambda i: "Match all\nCiphers arcfour\n")
        elif case == "sshd-long-match":
            body = "Match User " + ",".join("u%d" % i for i in range(size // 12)) + "\n"
            body += fill(size // 2, lambda i: "MACs hmac-md5\n")
        else:
            sys.exit("unknown case " + case)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(head + body)


main()
