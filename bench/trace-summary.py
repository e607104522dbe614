#!/usr/bin/env python3
"""Summarises a renderer timeline written with PEARVISOR_TRACE=FILE (src/gpu/venus/trace.h).

    bench/trace-summary.py FILE [--at SECONDS] [--span MS] [--top N]

Prints, per context and channel (c: context channel, rN: ring N, f: fence thread), the share of
wall time each spent running commands, sleeping and waiting, the commands that took the most time,
then a condensed timeline of --span milliseconds starting --at seconds into the trace (runs of one
command merged), all channels interleaved in time order: where a client's time goes.
"""
import argparse
import collections
import signal
import sys


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--at", type=float, default=None, help="timeline start, seconds into the trace (default: the middle)")
    ap.add_argument("--span", type=float, default=5.0, help="timeline length in ms (default 5)")
    ap.add_argument("--top", type=int, default=12, help="commands listed per channel (default 12)")
    a = ap.parse_args()

    spans = []
    with open(a.file) as f:
        for line in f:
            p = line.split()
            if len(p) != 6:
                continue
            spans.append((int(p[0]), int(p[1]), p[2] + ":" + p[3], p[4], int(p[5])))
    if not spans:
        sys.exit("trace-summary: no spans in " + a.file)
    spans.sort()
    t_first = spans[0][0]
    t_last = max(s[1] for s in spans)
    wall = (t_last - t_first) / 1e9
    print(f"{len(spans)} spans over {wall:.3f} s")

    per = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    for t0, t1, ch, what, _ in spans:
        e = per[ch][what]
        e[0] += 1
        e[1] += t1 - t0
    for ch in sorted(per):
        busy = sum(v[1] for k, v in per[ch].items() if k not in ("ring-sleep", "fence-wait"))
        print(f"\n{ch}: running commands {busy / 1e9:.3f} s ({100 * busy / 1e9 / wall:.1f}% of the trace)")
        for what, (n, ns) in sorted(per[ch].items(), key=lambda kv: -kv[1][1])[: a.top]:
            print(f"  {what:44s} {n:9d} x {ns / max(n, 1) / 1000:9.2f} us = {ns / 1e6:10.1f} ms")

    start = t_first + int((a.at if a.at is not None else wall / 2) * 1e9)
    end = start + int(a.span * 1e6)
    print(f"\ntimeline from {(start - t_first) / 1e9:.4f} s, {a.span} ms (us from its start; runs merged):")
    run = None
    def flush():
        if run:
            t0, t1, ch, what, n, arg = run
            label = what if n == 1 else f"{what} x{n}"
            extra = f" [{arg}]" if what in ("fence-wait", "submit") else ""
            print(f"  {(t0 - start) / 1000:10.1f} {(t1 - t0) / 1000:9.1f}  {ch:6s} {label}{extra}")
    for t0, t1, ch, what, arg in spans:
        if t1 < start or t0 > end:
            continue
        if run and run[2] == ch and run[3] == what and what != "fence-wait":
            run = (run[0], t1, ch, what, run[4] + 1, arg)
            continue
        flush()
        run = (t0, t1, ch, what, 1, arg)
    flush()


if __name__ == "__main__":
    main()
