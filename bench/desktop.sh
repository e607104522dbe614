#!/usr/bin/env bash
# bench/desktop: the same desktop guest (`pearvisor create --desktop`: weston,
# pixman, in a Debian 13 guest) on the system's virglrenderer (--renderer
# virgl) and on PearVisor's renderer, and vkcube natively on the host (its
# Xvfb, the host's Vulkan), in one run on one host:
#   first frame   from `pearvisor start` to the first screenshot showing the
#                 desktop (its background on half the screen), ms
#   vkcube        frames per second of the stock vkcube (Wayland, in the
#                 session; natively on the host's Xvfb): 220 frames less 20
#                 frames, so start-up is not counted
#   glmark2       glmark2-wayland's score (build, texture, shading scenes,
#                 400x300) through zink on Venus; not run natively (the host
#                 environment has no glmark2)
# A case that cannot run in a configuration says why ("-" in the table).
#
#   bench/desktop.sh PEARVISOR [--out FILE.md]
# Under TCG (our machines), headless: each VM gets a private Xvfb.
set -euo pipefail
usage="usage: bench/desktop.sh PEARVISOR [--out FILE.md]"
pv=${1:?$usage}
shift
out=
while [ $# -gt 0 ]; do
    case $1 in
        --out) out=$2; shift ;;
        *) echo "desktop.sh: unknown argument '$1'" >&2; echo "$usage" >&2; exit 2 ;;
    esac
    shift
done
top=$(cd "$(dirname "$0")/.." && pwd)
screens=$top/tests/gpu-vm/screens.py
. "$top/bench/vm-lib.sh"
bench_vm_setup desktop
now_ms() { date +%s%3N; }
# vkcube's frame rate from two runs: "fps N" or "fps -".
fps_of() { awk '/^t20 / { a = $2 } /^t220 / { b = $2 } END { if (a && b && b > a) printf "fps %.1f\n", 200000 / (b - a); else print "fps -" }'; }
vkcube_runs='now() { date +%s%3N; }
for n in 20 220; do s=$(now); vkcube $1 --c $n >/tmp/pv-vkcube.log 2>&1 ||
    { echo "vkcube FAIL: $(grep -iE "fail|error|fault" /tmp/pv-vkcube.log | head -n 1 | cut -c1-150)"; exit 0; }
    echo "t$n $(( $(now) - s ))"; done'

echo "# native: vkcube on the host's Xvfb" >&2
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/xdisp" >/dev/null 2>&1 &
xvfb_pid=$!
bench_pids+=($xvfb_pid)
for i in $(seq 50); do [ -s "$tmp/xdisp" ] && break; sleep 0.1; done
DISPLAY=:$(cat "$tmp/xdisp") sh -c "$vkcube_runs" sh "--wsi xcb" >"$tmp/native.txt" 2>&1 || true
fps_of <"$tmp/native.txt" >>"$tmp/native.txt"

for r in virgl pearvisor; do
    echo "# desktop guest on $r" >&2
    vm=d-$r
    "$pv" create "$vm" --desktop --renderer $r --cpus 2 --memory 2G >/dev/null
    t0=$(now_ms)
    "$pv" start -q --boot-timeout 300 "$vm" >/dev/null 2>"$tmp/start-$r.err" || { cat "$tmp/start-$r.err" >&2; exit 1; }
    res=$tmp/$r.txt
    : >"$res"
    if grep -q "falling back" "$tmp/start-$r.err"; then
        cat "$tmp/start-$r.err" >&2
        echo "why $(sed -n 's/.*falling back to 2D virtio-gpu: //p' "$tmp/start-$r.err" | head -c 120)" >>"$res"
    fi
    first=
    for i in $(seq 240); do
        "$pv" screenshot "$vm" "$tmp/shot.png" >/dev/null 2>&1 &&
            s=$(python3 "$screens" share "$tmp/shot.png" 2a3b4c) && awk -v s="$s" 'BEGIN { exit !(s >= 0.5) }' &&
            { first=$(( $(now_ms) - t0 )); break; }
        sleep 0.25
    done
    echo "first ${first:--}" >>"$res"
    for i in $(seq 120); do "$pv" exec "$vm" -- test -e /run/pearvisor/session.env && break; sleep 0.5; done
    "$pv" exec "$vm" -- sh -c "$vkcube_runs" sh "--wsi wayland" >>"$res" 2>&1 || true
    fps_of <"$res" >>"$res"
    "$pv" exec "$vm" -- glmark2-wayland -s 400x300 -b build:duration=5 -b texture:duration=5 \
        -b shading:duration=5 >"$tmp/glmark2-$r.txt" 2>&1 && grc=0 || grc=$?
    sed -n 's/^ *glmark2 Score: *\([0-9]*\).*/glmark2 \1/p; s/^ *GL_RENDERER: *\(.*\)/renderer \1/p' \
        "$tmp/glmark2-$r.txt" >>"$res"
    grep -q '^glmark2 ' "$res" || echo "glmark2 FAIL: exit status $grc$([ "$grc" -gt 128 ] && echo " (signal $((grc - 128)))") $(grep -iE 'error|fail' "$tmp/glmark2-$r.txt" | grep -v DRI3 | head -n 1 | cut -c1-150)" >>"$res"
    "$pv" stop "$vm" >/dev/null
    "$pv" delete "$vm" >/dev/null
done

python3 - "$tmp" >"$tmp/table.md" <<'TABLE'
import re, sys
tmp = sys.argv[1]
cols = ["native", "virgl", "pearvisor"]
data = {}
for c in cols:
    t = open(f"{tmp}/{c}.txt", errors="replace").read()
    d = {}
    for key, rx, conv in (("first", r"^first (\d+)$", int), ("fps", r"^fps ([\d.]+)$", float),
                          ("glmark2", r"^glmark2 (\d+)$", int)):
        m = re.search(rx, t, re.M)
        d[key] = conv(m.group(1)) if m else None
    m = re.search(r"^renderer (.*)$", t, re.M); d["renderer"] = m.group(1) if m else ""
    m = re.search(r"^why (.*)$", t, re.M); d["why"] = m.group(1) if m else ""
    d["fails"] = re.findall(r"^(\w+ FAIL: .*)$", t, re.M)
    data[c] = d
def f(v): return "-" if v is None else ("%.1f" % v if isinstance(v, float) else str(v))
def ratio(a, b): return "-" if a is None or b is None or b == 0 else "%.2f" % (a / b)
print("| case | native (host Xvfb) | QEMU + virglrenderer | QEMU + PearVisor | PearVisor / virgl | PearVisor / native |")
print("|---|---|---|---|---|---|")
for label, k in (("start to the desktop on screen (ms)", "first"), ("vkcube (FPS)", "fps"),
                 ("glmark2-wayland score (zink)", "glmark2")):
    n, v, p = (data[c].get(k) for c in cols)
    print(f"| {label} | {f(n)} | {f(v)} | {f(p)} | {ratio(p, v)} | {ratio(p, n)} |")
for c in cols:
    if data[c]["renderer"]:
        print(f"\n{c}: GL_RENDERER {data[c]['renderer']}")
    if data[c]["why"]:
        print(f"\n{c}: {data[c]['why']}")
    for line in data[c]["fails"]:
        print(f"\n{c}: {line}")
TABLE
cat "$tmp/table.md"
[ -n "$out" ] && cp "$tmp/table.md" "$out"
for c in native virgl pearvisor; do echo "---- raw $c" >&2; cat "$tmp/$c.txt" >&2; done
