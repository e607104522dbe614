#!/usr/bin/env python3
"""Screenshots (`pearvisor screenshot` PNGs, 8-bit RGB or RGBA) for the gpu-vm
tests: decoded here, with every PNG filter, so a test asserts on pixels.

  screens.py colours A.png            distinct RGB colours in A
  screens.py diff A.png B.png         pixels that differ (same size required)
  screens.py share A.png RRGGBB [Y0 Y1]
                                      the share (0-1) of A's pixels of that colour
                                      (in rows Y0 to Y1-1 only, when given)
  screens.py stats A.png [B.png ...]  one line per file: size, colours, share of
                                      the most common colour
"""
import struct
import sys
import zlib


def decode(path):
    d = open(path, 'rb').read()
    if d[:8] != b'\x89PNG\r\n\x1a\n':
        sys.exit('%s: not a PNG' % path)
    i, idat, w = 8, b'', None
    while i < len(d):
        n, t = struct.unpack('>I4s', d[i:i + 8])
        body = d[i + 8:i + 8 + n]
        crc, = struct.unpack('>I', d[i + 8 + n:i + 12 + n])
        if crc != zlib.crc32(d[i + 4:i + 8 + n]):
            sys.exit('%s: bad CRC in chunk %r' % (path, t))
        if t == b'IHDR':
            w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
            if depth != 8 or ctype not in (2, 6):
                sys.exit('%s: only 8-bit RGB/RGBA (depth %d, colour type %d)' % (path, depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif t == b'IDAT':
            idat += body
        i += 12 + n
    if w is None:
        sys.exit('%s: no IHDR' % path)
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    pixels = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif f != 0:
                sys.exit('%s: bad filter %d' % (path, f))
        pixels.extend(bytes(line[x:x + 3]) for x in range(0, stride, bpp))
        prev = line
    return w, h, pixels


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == 'colours':
        print(len(set(decode(sys.argv[2])[2])))
    elif cmd == 'diff' and len(sys.argv) == 4:
        wa, ha, a = decode(sys.argv[2])
        wb, hb, b = decode(sys.argv[3])
        if (wa, ha) != (wb, hb):
            sys.exit('sizes differ: %dx%d and %dx%d' % (wa, ha, wb, hb))
        print(sum(x != y for x, y in zip(a, b)))
    elif cmd == 'share' and len(sys.argv) in (4, 6):
        want = bytes.fromhex(sys.argv[3])
        w, h, p = decode(sys.argv[2])
        if len(sys.argv) == 6:
            y0, y1 = max(0, int(sys.argv[4])), min(h, int(sys.argv[5]))
            p = p[y0 * w:y1 * w]
        print('%.3f' % (sum(px == want for px in p) / max(1, len(p))))
    elif cmd == 'stats':
        for path in sys.argv[2:]:
            w, h, p = decode(path)
            counts = {}
            for px in p:
                counts[px] = counts.get(px, 0) + 1
            print('%s %dx%d colours=%d top=%.3f' % (path, w, h, len(counts), max(counts.values()) / len(p)))
    else:
        sys.exit(__doc__)


main()
