#!/usr/bin/env python3
"""Prints a renderer_api fuzz program one operation a line, for reading crashes.

    api-dump.py PROGRAM

Each line: the operation's offset in the file, its name and fields; for
submits and ring writes the first command's name (the others need the full
decoder: replay with PEARVISOR_LOG=debug for them). The format is the one
fuzz/targets/renderer_api.c reads.
"""
import os
import re
import struct
import sys

NAMES = ["SUBMIT", "BLOB", "IMPORT", "UNREF", "WRITE", "RING_NEW", "RING_WRITE", "RING_WAIT",
         "RING_POKE", "FENCE", "FENCE_WAIT", "NEW_CTX", "QUERY", "TRANSPORT_FATAL"]
# Fields of each operation: struct format, then whether a u32-counted byte string follows.
FIELDS = {"SUBMIT": ("", True), "BLOB": ("<IQQI", False), "IMPORT": ("<IIB", False),
          "UNREF": ("<I", False), "WRITE": ("<IQ", True), "RING_NEW": ("<IQBB", False),
          "RING_WRITE": ("<Q", True), "RING_WAIT": ("<Q", False), "RING_POKE": ("<QBI", False),
          "FENCE": ("<B", False), "FENCE_WAIT": ("", False), "NEW_CTX": ("", False),
          "QUERY": ("<IIH", False), "TRANSPORT_FATAL": ("", False)}


def command_names():
    xml = os.path.join(os.path.dirname(__file__), "..", "..", "codegen", "venus_protocol.xml")
    names = {}
    with open(xml) as f:
        for m in re.finditer(r'<command_id name="(\w+)" value="(\d+)"', f.read()):
            names[int(m.group(2))] = m.group(1)
    return names


def take(data, pos, fmt):
    n = struct.calcsize(fmt)
    chunk = data[pos:pos + n].ljust(n, b"\0")
    return struct.unpack(fmt, chunk), pos + n


def main():
    data = open(sys.argv[1], "rb").read()
    cmds = command_names()
    pos = 0
    while pos < len(data):
        start = pos
        name = NAMES[data[pos] % len(NAMES)]
        pos += 1
        fmt, has_bytes = FIELDS[name]
        vals, pos = take(data, pos, fmt) if fmt else ((), pos)
        line = "%6d %-15s %s" % (start, name, " ".join(hex(v) for v in vals))
        if has_bytes:
            (n,), pos = take(data, pos, "<I")
            body = data[pos:pos + n]
            pos += len(body)
            line += " len %d" % len(body)
            if name != "WRITE" and len(body) >= 4:
                cid = struct.unpack_from("<i", body)[0]
                line += " first %s" % cmds.get(cid, "#%d" % cid)
        print(line)


if __name__ == "__main__":
    main()
