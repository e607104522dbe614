#!/usr/bin/env python3
"""Turns renderer traces into programs for the renderer_api fuzz target.

    trace2api.py OUT_DIR TRACE...

A trace (ctx<ID>-<PID>.trace, written by the renderer when
PEARVISOR_CAPTURE_DIR is set; format in src/gpu/venus/capture.h) holds the
calls a front door made on one context and the bytes its rings read, in the
order the renderer saw them. The program (format in
fuzz/targets/renderer_api.c) replays them through the public API: the same
submits, blobs and fences, each ring read as a ring write, each ring's end
of those bytes as a ring wait, each indirect stream as a write of its bytes
into its resource just before the commands that run it; at the end, a wait
for every ring.

Where the order has to change so that one thread can replay what several
did: a ring read that happened while a submit waited for that ring
(vkWaitRingSeqnoMESA) is written before that submit, and a ring wait that
ended during a submit comes after it. One program per trace, named after
it with .api; traces with no submit are skipped.
"""
import os
import struct
import sys

REC = struct.Struct("<IIQQQII")
SUBMIT, BLOB, IMPORT, UNREF, FENCE, RING_READ, RING_DONE, EXEC, TRANSPORT_FATAL, SUBMIT_DONE = range(1, 11)

# Operation numbers of fuzz/targets/renderer_api.c.
OP_SUBMIT, OP_BLOB, OP_IMPORT, OP_UNREF, OP_WRITE = 0, 1, 2, 3, 4
OP_RING_WRITE, OP_RING_WAIT, OP_FENCE, OP_FENCE_WAIT, OP_TRANSPORT_FATAL = 6, 7, 9, 10, 13

CMD_CREATE_RING = 188
CMD_WAIT_RING_SEQNO = 253


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"PVTRACE1":
        raise ValueError("%s: not a renderer trace" % path)
    pos = 8
    while pos + REC.size <= len(data):
        kind, a, b, c, d, n, _ = REC.unpack_from(data, pos)
        pos += REC.size
        if pos + n > len(data):
            break  # cut short: the rest is lost
        yield kind, a, b, c, d, data[pos:pos + n]
        pos += n


def commands(stream):
    """The command ids at the start of each command we can find without decoding:
    only the first one is certain, which is all Mesa's context-channel submits hold."""
    if len(stream) >= 4:
        yield struct.unpack_from("<i", stream, 0)[0]


def convert(path):
    ops = []
    cur = None          # the submit being run: [op, ring it creates or None, waits?, ops after]
    last_read = {}      # ring id -> its latest ring-write op (the object, for inserting before)
    for kind, a, b, c, d, data in records(path):
        if kind == SUBMIT:
            first = next(commands(data), None)
            creates = struct.unpack_from("<Q", data, 8)[0] if first == CMD_CREATE_RING and len(data) >= 16 else None
            op = bytes([OP_SUBMIT]) + struct.pack("<I", len(data)) + data
            ops.append(op)
            cur = [op, creates, first == CMD_WAIT_RING_SEQNO, []]
        elif kind == SUBMIT_DONE:
            if cur:
                ops.extend(cur[3])
            cur = None
        elif kind == RING_READ:
            op = bytes([OP_RING_WRITE]) + struct.pack("<QI", b, len(data)) + data
            if cur and cur[2] and cur[1] != b:
                ops.insert(index_of(ops, cur[0]), op)
            else:
                ops.append(op)
            last_read[b] = op
        elif kind == RING_DONE:
            op = bytes([OP_RING_WAIT]) + struct.pack("<Q", b)
            (cur[3] if cur else ops).append(op)
        elif kind == EXEC:
            op = bytes([OP_WRITE]) + struct.pack("<IQI", a, b, len(data)) + data
            anchor = last_read.get(c) if d else (cur[0] if cur else None)
            if anchor is not None:
                ops.insert(index_of(ops, anchor), op)
        elif kind == BLOB:
            ops.append(bytes([OP_BLOB]) + struct.pack("<IQQI", a, b, c, d & 0xFFFFFFFF))
        elif kind == IMPORT:
            ops.append(bytes([OP_IMPORT]) + struct.pack("<IIB", a, c & 0xFFFFFFFF, 0))
        elif kind == UNREF:
            ops.append(bytes([OP_UNREF]) + struct.pack("<I", a))
        elif kind == FENCE:
            ops.append(bytes([OP_FENCE, a & 0xFF]))
            ops.append(bytes([OP_FENCE_WAIT]))
        elif kind == TRANSPORT_FATAL:
            ops.append(bytes([OP_TRANSPORT_FATAL]))
    if cur:
        ops.extend(cur[3])
    if not any(op[0] == OP_SUBMIT for op in ops):
        return None
    # The client may have left with a ring still busy; the replay waits, so
    # that it runs every command the renderer saw.
    for ring in last_read:
        ops.append(bytes([OP_RING_WAIT]) + struct.pack("<Q", ring))
    ops.append(bytes([OP_FENCE_WAIT]))
    return b"".join(ops)


def index_of(ops, op):
    # By identity: two operations may hold the same bytes.
    for i in range(len(ops) - 1, -1, -1):
        if ops[i] is op:
            return i
    return len(ops)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for path in sys.argv[2:]:
        prog = convert(path)
        if prog is None:
            continue
        name = os.path.splitext(os.path.basename(path))[0] + ".api"
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(prog)
        print("%s: %d bytes" % (name, len(prog)))


if __name__ == "__main__":
    main()
