#!/usr/bin/env python3
"""Damaged LUKS headers: scan against cryptsetup luksDump (run by test-scan-damaged.sh).

    test-scan-damaged.py WORKDIR LUKS2_IMAGE LUKS1_IMAGE

Generates several hundred variants of a valid LUKS2 and a valid LUKS1 header: bit flips in the binary
headers and in the JSON (with the checksums left broken or recomputed), broken checksums, truncation,
oversized sizes, swapped and mismatched copies, invalid UTF-8, deep nesting, huge numbers. For each:
`fipsluks scan --json` must finish within its timeout with a documented exit code, must not change a
byte of the image, and must report a valid volume (exit 0 or 6, status "ok") exactly when
`cryptsetup luksDump` (on a copy: it may repair) accepts the same bytes. Prints one line per
disagreement and a summary per class; exit 1 on any failure.

For a volume reported valid it also checks that nothing out of range is judged as if it were real: a
keyslot id beyond 31 or a key size that is 0, not whole bytes or above 8192 bits must come with an
FL-HEADER-MALFORMED finding on that object (the code before that rule reported wrapped key sizes).

No class disagrees with luksDump (cryptsetup 2.6.1): fipsluks loads through the same crypt_load(), from a
private copy of the header region, so a copy libcryptsetup would repair is reported as FL-HEADER-DAMAGED
on a valid volume, just as luksDump (which repairs its copy) accepts it.
"""

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import random
import shutil
import struct
import subprocess
import sys

SCAN_TIMEOUT = 20
rng = random.Random(20261129)  # reproducible

here = os.path.dirname(os.path.abspath(__file__))
loader = importlib.machinery.SourceFileLoader("fl_luks2_edit", os.path.join(here, "..", "tools", "fl-luks2-edit"))
spec = importlib.util.spec_from_loader("fl_luks2_edit", loader)
edit = importlib.util.module_from_spec(spec)
loader.exec_module(edit)

work, luks2_image, luks1_image = sys.argv[1:4]


def read(path, n):
    with open(path, "rb") as f:
        return f.read(n)


L2_SIZE = os.path.getsize(luks2_image)
L1_SIZE = os.path.getsize(luks1_image)
L2 = read(luks2_image, 1 << 20)  # both header copies and the keyslot areas
L1 = read(luks1_image, 1 << 20)
HDR = struct.unpack_from(">Q", L2, 8)[0]  # LUKS2 header copy size (16 KiB here)


def content_digest(path):
    """sha256 over the size and every data extent (offset, bytes): cheap on sparse images."""
    h = hashlib.sha256()
    size = os.path.getsize(path)
    h.update(struct.pack(">Q", size))
    with open(path, "rb") as f:
        fd = f.fileno()
        off = 0
        while off < size:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            f.seek(start)
            h.update(struct.pack(">Q", start))
            h.update(f.read(end - start))
            off = end
    return h.hexdigest()


def write_image(path, head, size):
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size if size is not None else len(head))


# ---- LUKS2 helpers: header copies as bytearrays, checksums recomputed like libcryptsetup ----------

def csum(copy):
    alg = copy[72:104].split(b"\0", 1)[0].decode("ascii", "replace")
    try:
        h = hashlib.new(alg)
    except ValueError:
        return None
    size = struct.unpack_from(">Q", copy, 8)[0]
    data = bytearray(copy[:size])
    data[448:512] = bytes(64)
    h.update(data)
    return h.digest()


def seal(buf, off):
    """Recompute the checksum of the copy at @off of @buf in place (when its size and hash allow it)."""
    size = struct.unpack_from(">Q", buf, off + 8)[0]
    if size < 4096 or off + size > len(buf):
        return
    d = csum(bytes(buf[off:off + size]))
    if d:
        buf[off + 448:off + 512] = d + bytes(64 - len(d))


def json_text(buf, off=0):
    return bytes(buf[off + 4096:off + HDR]).split(b"\0", 1)[0]


def with_json(text, which=("primary", "secondary"), seq_bump=1):
    """L2 with the JSON area of the chosen copies replaced by @text (bytes), sealed."""
    buf = bytearray(L2)
    area = HDR - 4096
    if len(text) >= area:
        text = text[:area - 1]
    for name in which:
        off = 0 if name == "primary" else HDR
        buf[off + 4096:off + HDR] = text + bytes(area - len(text))
        seq = struct.unpack_from(">Q", buf, off + 16)[0]
        struct.pack_into(">Q", buf, off + 16, seq + seq_bump)
        seal(buf, off)
    return bytes(buf)


def edited(fn, which=("primary", "secondary")):
    obj = json.loads(json_text(L2))
    fn(obj)
    return with_json(json.dumps(obj, separators=(",", ":")).encode(), which)


def flip(buf, lo, hi, n):
    buf = bytearray(buf)
    for _ in range(n):
        pos = rng.randrange(lo, hi)
        buf[pos] ^= 1 << rng.randrange(8)
    return bytes(buf)


def set_u64(buf, off, value):
    buf = bytearray(buf)
    struct.pack_into(">Q", buf, off, value & (2**64 - 1))
    return bytes(buf)


variants = []  # (class, name, head bytes, file size or None for "exactly the bytes")


def add(cls, name, head, size=L2_SIZE):
    variants.append((cls, name, head, size))


# -- LUKS2 binary header bit flips, checksum left as it is (copy invalid) or recomputed
for i in range(30):
    add("l2-bin-flip", "primary binary header flip %d" % i, flip(L2, 0, 4096, rng.choice([1, 2, 4])) )
for i in range(30):
    b = bytearray(flip(L2, 0, 448, rng.choice([1, 2])))  # fields before the checksum
    seal(b, 0)
    add("l2-bin-flip-sealed", "primary binary header flip %d, checksum recomputed" % i, bytes(b))
for i in range(15):
    b = bytearray(flip(L2, 0, 4096, 2))
    b = bytearray(flip(b, HDR, HDR + 4096, 2))
    add("l2-bin-flip-both", "both binary headers flipped %d" % i, bytes(b))

# -- JSON bit flips with recomputed checksums (JSON syntax errors, invalid UTF-8, changed values)
jlen = len(json_text(L2))
for i in range(40):
    b = bytearray(flip(L2, 4096, 4096 + jlen, rng.choice([1, 2, 3, 8])))
    seal(b, 0)
    add("l2-json-flip-primary", "primary JSON flip %d" % i, bytes(b))
for i in range(30):
    b = bytearray(L2)
    for off in (0, HDR):
        b = bytearray(flip(b, off + 4096, off + 4096 + jlen, rng.choice([1, 2, 4])))
        seal(b, off)
    add("l2-json-flip-both", "both JSON flipped %d" % i, bytes(b))

# -- checksums broken
b = bytearray(L2); b[450] ^= 1; add("l2-csum", "primary checksum broken", bytes(b))
b = bytearray(L2); b[HDR + 450] ^= 1; add("l2-csum", "secondary checksum broken", bytes(b))
b = bytearray(L2); b[450] ^= 1; b[HDR + 450] ^= 1; add("l2-csum", "both checksums broken", bytes(b))
b = bytearray(L2); b[72:104] = b"md5".ljust(32, b"\0"); seal(b, 0); add("l2-csum", "checksum alg md5", bytes(b))
b = bytearray(L2); b[72:104] = b"nohash".ljust(32, b"\0"); add("l2-csum", "checksum alg unknown", bytes(b))
b = bytearray(L2); b[72:104] = b"sha512".ljust(32, b"\0"); seal(b, 0); add("l2-csum", "checksum alg sha512", bytes(b))

# -- truncation: the file ends inside the header
for cut in (0, 1, 6, 8, 100, 511, 512, 4095, 4096, 5000, HDR - 1, HDR, HDR + 4095, HDR + 4096, 2 * HDR - 1,
            2 * HDR, 2 * HDR + 4096, 1 << 20):
    add("l2-truncated", "file truncated to %d bytes" % cut, L2[:cut], None)

# -- oversized / odd sizes in the binary header (sealed, so only the value is wrong)
for value in (0, 1, 4096, 8192, HDR * 2, 1 << 22, 1 << 23, 1 << 40, 2**63, 2**64 - 1):
    b = bytearray(set_u64(L2, 8, value))
    seal(b, 0)
    add("l2-hdr-size", "primary hdr_size %d" % value, bytes(b))
for value in (0, 4096, 1 << 40, 2**64 - 1):
    b = bytearray(set_u64(L2, 256 + 0, value))  # hdr_offset field (after salt/uuid/subsystem)
    b = bytearray(set_u64(bytes(b), 0x100, value))
    seal(b, 0)
    add("l2-hdr-offset", "primary hdr_offset %d" % value, bytes(b))
for value in (0, 2**63, 2**64 - 1):
    b = bytearray(set_u64(L2, 16, value))
    seal(b, 0)
    add("l2-seqid", "primary seqid %d" % value, bytes(b))

# -- swapped and mismatched copies
b = bytearray(L2)
b[0:HDR], b[HDR:2 * HDR] = L2[HDR:2 * HDR], L2[0:HDR]
add("l2-copies", "copies swapped (secondary first)", bytes(b))
b = bytearray(L2); b[0:HDR] = L2[HDR:2 * HDR]; add("l2-copies", "secondary copy in both places", bytes(b))
b = bytearray(L2); b[HDR:2 * HDR] = L2[0:HDR]; add("l2-copies", "primary copy in both places", bytes(b))
b = bytearray(L2); b[0:6] = b"SKUL\xba\xbe"; seal(b, 0); add("l2-copies", "primary with secondary magic", bytes(b))
b = bytearray(L2); b[HDR:HDR + 6] = b"LUKS\xba\xbe"; seal(b, HDR); add("l2-copies", "secondary with primary magic", bytes(b))
b = bytearray(L2); b[0:4096] = bytes(4096); add("l2-copies", "primary binary header zeroed", bytes(b))
b = bytearray(L2); b[0:2 * HDR] = bytes(2 * HDR); add("l2-copies", "both copies zeroed", bytes(b))


def set_label(o):
    o["config"]["flags"] = ["allow-discards"]


def lower_iter(o):
    o["keyslots"]["0"]["kdf"]["iterations"] = 1000 + 1


for which, bump in ((("primary",), 1), (("secondary",), 1), (("primary",), 0), (("secondary",), 5)):
    add("l2-mismatch", "only %s JSON changed, seqid +%d" % (which[0], bump),
        with_json(json.dumps(dict(json.loads(json_text(L2)), config=dict(json.loads(json_text(L2))["config"],
                                                                          flags=["allow-discards"])),
                             separators=(",", ":")).encode(), which, bump))
add("l2-mismatch", "primary JSON from another volume layout", edited(lower_iter, ("primary",)))
b = bytearray(L2); b[168:208] = b"00000000-0000-0000-0000-000000000000".ljust(40, b"\0"); seal(b, 0)
add("l2-mismatch", "primary uuid differs from secondary", bytes(b))

# -- invalid UTF-8 and control characters inside JSON strings
base = json_text(L2)
for i, bad in enumerate([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x00x",
                         b"\x01", b"\\u0000", b"\\ud800", b"\xef\xbb\xbf"]):
    text = base.replace(b'"aes-xts-plain64"', b'"aes-xts-' + bad + b'plain64"', 1)
    add("l2-utf8", "invalid UTF-8/control %d in a cipher name" % i, with_json(text))
    text = base.replace(b'"keyslots"', b'"key' + bad + b'slots"', 1)
    add("l2-utf8", "invalid UTF-8/control %d in a member name" % i, with_json(text))

# -- deep nesting and structural oddities
for depth in (64, 1000, 5000):
    nest = b"[" * depth + b"]" * depth
    add("l2-nesting", "config member nested %d deep" % depth,
        with_json(base.replace(b'"config":{', b'"config":{"x":' + nest + b",", 1)))
    nest = b'{"a":' * depth + b"1" + b"}" * depth
    add("l2-nesting", "token nested %d deep" % depth,
        with_json(base.replace(b'"tokens":{', b'"tokens":{"9":{"type":"x","keyslots":[],"n":' + nest + b"},", 1)))
add("l2-nesting", "JSON is an array", with_json(b"[" + base + b"]"))
add("l2-nesting", "JSON is a string", with_json(b'"x"'))
add("l2-nesting", "JSON empty", with_json(b""))
add("l2-nesting", "JSON duplicate keyslots member", with_json(base.replace(b'"keyslots":{', b'"keyslots":{},"keyslots":{', 1)))
add("l2-nesting", "JSON trailing garbage", with_json(base + b"}}}"))

# -- huge and odd numbers
numbers = [b"-1", b"0", b"536870913", b"4294967295", b"4294967296", b"9223372036854775807", b"9223372036854775808",
           b"18446744073709551616", b"1e400", b"-0", b"1.5", b"99999999999999999999999999999999", b'"12"', b"null",
           b"true", b"[]", b"{}"]
for n in numbers:
    for field, pattern, nth in (("kdf iterations", b'"iterations":', 0), ("keyslot key_size", b'"key_size":', 0),
                                ("area key_size", b'"key_size":', 1), ("sector_size", b'"sector_size":', 0)):
        start = -1
        for _ in range(nth + 1):
            start = base.index(pattern, start + 1)
        start += len(pattern)
        end = start
        while base[end:end + 1] not in (b",", b"}"):
            end += 1
        add("l2-numbers", "%s = %s" % (field, n.decode()), with_json(base[:start] + n + base[end:]))
for n in (b'"-1"', b'"0"', b'"18446744073709551615"', b'"18446744073709551616"', b'"1e3"', b'"4096x"', b'" 1"'):
    for field in (b'"offset":', b'"size":'):
        start = base.index(field) + len(field)
        end = base.index(b",", start)
        add("l2-numbers", "%s %s" % (field.decode(), n.decode()), with_json(base[:start] + n + base[end:]))
for field, value in (("json_size", "1"), ("json_size", "18446744073709551615"), ("keyslots_size", "0"),
                     ("keyslots_size", "18446744073709551615"), ("keyslots_size", "4095")):
    add("l2-numbers", "config %s %s" % (field, value), edited(lambda o, f=field, v=value: o["config"].__setitem__(f, v)))

# -- keyslot ids: LUKS2 has 0-31; libcryptsetup accepts and ignores others
for new_id in ("31", "32", "40", "2147483647", "4294967296", "-1", "01", "1x"):
    def rename(o, new_id=new_id):
        o["keyslots"][new_id] = o["keyslots"].pop("0")
        o["digests"]["0"]["keyslots"] = [new_id if k == "0" else k for k in o["digests"]["0"]["keyslots"]]
        for t in o["tokens"].values():
            t["keyslots"] = [new_id if k == "0" else k for k in t["keyslots"]]
    add("l2-keyslot-id", "keyslot 0 renamed %s" % new_id, edited(rename))

# -- LUKS1: bit flips in the 592-byte header, odd values, truncation
for i in range(40):
    add("l1-flip", "LUKS1 header flip %d" % i, flip(L1, 0, 592, rng.choice([1, 2, 4])), L1_SIZE)
for i in range(15):
    add("l1-keyslot-flip", "LUKS1 keyslot 0 field flip %d" % i, flip(L1, 208, 256, 1), L1_SIZE)
for off, value in ((104, 0), (104, 0xFFFFFFFF), (108, 0), (108, 0xFFFFFFFF), (108, 33), (108, 0x20000001),
                   (168, 0), (168, 0xFFFFFFFF), (212, 0), (212, 0xFFFFFFFF), (248, 0xFFFFFFFF), (252, 0),
                   (252, 0xFFFFFFFF)):
    b = bytearray(L1)
    struct.pack_into(">I", b, off, value)
    add("l1-values", "LUKS1 u32 at %d = %d" % (off, value), bytes(b), L1_SIZE)
for cut in (0, 6, 100, 591, 592, 4096, 5000, 1 << 20):
    add("l1-truncated", "LUKS1 truncated to %d bytes" % cut, L1[:cut], None)


# ---- run ----------------------------------------------------------------------------------------

def fipsluks_verdict(path):
    try:
        p = subprocess.run(["fipsluks", "scan", "--json", path], capture_output=True, timeout=SCAN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timeout", None
    if p.returncode not in (0, 4, 6):
        return "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip()[-300:]), None
    try:
        doc = json.loads(p.stdout)
        if not doc["volumes"] and doc.get("skipped") == [path]:
            # no LUKS signature left: a named file that is not a LUKS volume is said to be one
            assert p.returncode == 0 and doc["summary"]["skipped"] == 1 and doc["summary"]["unreadable"] == 0
            return None, (False, "not a LUKS volume")
        vol = doc["volumes"][0]
        assert doc["summary"]["volumes"] == 1
    except (ValueError, KeyError, IndexError, AssertionError) as e:
        return "invalid JSON (%s)" % e, None
    valid = p.returncode in (0, 6) and vol["status"] == "ok"
    if valid:
        # what scan reports is in range, or reported as malformed: no wrapped key size, no keyslot id
        # a LUKS2 header cannot have judged as if it were real
        malformed = {f["object"] for f in vol["findings"] if f["rule"] == "FL-HEADER-MALFORMED"}
        for kind, items in (("keyslot", vol["keyslots"]), ("segment", vol["segments"])):
            for it in items:
                obj = "%s %d" % (kind, it["id"])
                bits = it.get("key_bits")
                odd = (kind == "keyslot" and vol["luks_version"] == 2 and it["id"] >= 32) or \
                    (it.get("cipher") and (not bits or bits % 8 or bits > 8192))
                if odd and obj not in malformed:
                    return "%s reported as is (key_bits %s), not as FL-HEADER-MALFORMED" % (obj, bits), None
    return None, (valid, vol.get("error"))


def luksdump_valid(path, copy):
    shutil.copyfile(path, copy)
    try:
        p = subprocess.run(["cryptsetup", "luksDump", copy], capture_output=True, timeout=SCAN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False
    return p.returncode == 0


failures = []
stats = {}
image = os.path.join(work, "v.img")
copy = os.path.join(work, "dump.img")
for cls, name, head, size in variants:
    write_image(image, head, size)
    before = content_digest(image)
    problem, verdict = fipsluks_verdict(image)
    after = content_digest(image)
    s = stats.setdefault(cls, [0, 0, 0])
    s[0] += 1
    if before != after:
        failures.append("%s: %s: scan changed the image" % (cls, name))
    if problem:
        failures.append("%s: %s: %s" % (cls, name, problem))
        continue
    dump = luksdump_valid(image, copy)
    s[1] += dump
    if verdict[0] != dump:
        failures.append("%s: %s: scan says %s, luksDump %s" % (
            cls, name, "valid" if verdict[0] else "not valid (%s)" % verdict[1], "accepts" if dump else "refuses"))
    else:
        s[2] += 1

for cls, (n, dump_ok, agree) in stats.items():
    print("%-22s %4d variants, %4d valid per luksDump, %4d agree" % (cls, n, dump_ok, agree))
print("%d variants, %d failures" % (len(variants), len(failures)))
for f in failures:
    print("FAIL: " + f)
sys.exit(1 if failures else 0)
