#!/usr/bin/env bash
# bench/gpu-vm: the same Debian 13 guest (`pearvisor create --gpu venus`)
# under QEMU with the system's virglrenderer (--renderer virgl, its render
# server), with PearVisor's renderer (its door's render process, the
# default) and with PearVisor's renderer inside QEMU
# (PEARVISOR_DOOR_IN_PROCESS=1), and the same programs natively on the
# host, in one run on one host (docs/STYLE.md §B.12: each next to its
# baseline):
#   vulkaninfo   `vulkaninfo --summary` wall time (median of N, guest clock)
#   compute      pv-compute-test: median ms per dispatch at 4K, 1M, 4M
#   vkmark       vkmark --winsys headless per-scene FPS, where it runs
# A case that cannot run in a configuration says why ("-" in the table).
#
#   bench/gpu-vm.sh PEARVISOR PV_COMPUTE_TEST [--runs N] [--out FILE.md]
# Under TCG (our machines), headless: each VM gets a private Xvfb.
set -euo pipefail
pv=${1:?usage: bench/gpu-vm.sh PEARVISOR PV_COMPUTE_TEST [--runs N] [--out FILE]}
compute=${2:?usage: bench/gpu-vm.sh PEARVISOR PV_COMPUTE_TEST [--runs N] [--out FILE]}
shift 2
runs=5 out=
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; shift ;;
        --out) out=$2; shift ;;
        *) echo "gpu-vm.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
. "$(dirname "$0")/vm-lib.sh"
bench_vm_setup gpu-vm
mkdir -p "$tmp/www"
cp "$compute" "$tmp/www/"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" >/dev/null 2>&1 &
bench_pids+=($!)
cname=$(basename "$compute")
sizes=4K,1M,4M

# The measurement script, the same natively and in the guest: prints
# "vi MS" lines, compute's size= lines and vkmark's scene lines.
cat >"$tmp/www/measure.sh" <<MEASURE
#!/bin/sh
now() { date +%s%N; }
for i in \$(seq $runs); do
    s=\$(now); vulkaninfo --summary >/dev/null 2>&1 || { echo "vi FAIL"; break; }; e=\$(now)
    echo "vi \$(( (e - s) / 1000000 ))"
done
\$1 --sizes $sizes --iterations 20 2>&1 | grep '^size=' || echo "compute FAIL"
timeout 300 vkmark --winsys headless 2>&1 | grep -E 'FPS|rror' | head -n 20 || echo "vkmark FAIL"
MEASURE
chmod +x "$tmp/www/measure.sh"

echo "# native" >&2
sh "$tmp/www/measure.sh" "$compute" >"$tmp/native.txt" 2>&1
for r in virgl pearvisor inproc; do
    echo "# guest on $r" >&2
    renderer=$r inproc=0
    [ $r = inproc ] && renderer=pearvisor inproc=1
    "$pv" create "b-$r" --gpu venus --renderer $renderer --cpus 2 --memory 2G >/dev/null
    t=$(date +%s%N)
    PEARVISOR_DOOR_IN_PROCESS=$inproc "$pv" start -q "b-$r" >/dev/null 2>"$tmp/start-$r.err" ||
        { cat "$tmp/start-$r.err" >&2; exit 1; }
    boot_ms=$(( ($(date +%s%N) - t) / 1000000 ))
    if grep -q "falling back" "$tmp/start-$r.err"; then
        cat "$tmp/start-$r.err" >&2
        echo "FALLBACK" >"$tmp/$r.txt"
    else
        "$pv" exec "b-$r" -- sh -c "cd /tmp && busybox wget -q http://10.0.2.2:$port/$cname && busybox wget -q http://10.0.2.2:$port/measure.sh && chmod +x $cname &&
            VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json sh measure.sh /tmp/$cname" >"$tmp/$r.txt" 2>&1 || true
    fi
    echo "boot $boot_ms" >>"$tmp/$r.txt"
    qpid=$(cat "$XDG_RUNTIME_DIR/pearvisor/b-$r/qemu.pid")
    rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$qpid/status" 2>/dev/null || echo 0)
    echo "rss $((rss / 1024))" >>"$tmp/$r.txt"
    # Render processes (ours, the peer's render server and its workers): QEMU's children.
    crss=0
    for c in $(pgrep -P "$qpid" 2>/dev/null); do
        v=$(awk '/^VmHWM/ { print $2 }' "/proc/$c/status" 2>/dev/null || echo 0)
        crss=$((crss + v))
    done
    echo "crss $((crss / 1024))" >>"$tmp/$r.txt"
    if ! "$pv" stop "b-$r" >/dev/null 2>&1; then
        # It ended by itself: say how (QEMU's log), and count what it measured.
        echo "DIED" >>"$tmp/$r.txt"
        for f in $(find "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR" -path "*b-$r*" -name 'qemu*.log' 2>/dev/null); do
            [ -s "$f" ] && { echo "---- $f" >&2; tail -n 20 "$f" >&2; }
        done
    fi
    "$pv" delete --force "b-$r" >/dev/null
done
echo "boot -" >>"$tmp/native.txt"

python3 - "$tmp" "$runs" >"$tmp/table.md" <<'TABLE'
import re, statistics, sys
tmp, runs = sys.argv[1], sys.argv[2]
cols = ["native", "virgl", "pearvisor", "inproc"]
data = {}
for c in cols:
    t = open(f"{tmp}/{c}.txt", errors="replace").read()
    d = {}
    vi = [int(x) for x in re.findall(r"^vi (\d+)$", t, re.M)]
    d["vi"] = statistics.median(vi) if vi else None
    for m in re.finditer(r"^size=(\d+) ok ms=([\d.]+)", t, re.M):
        d["c" + m.group(1)] = float(m.group(2))
    for m in re.finditer(r"\[(\w+)\] (.*?): FPS: (\d+)", t):
        d["vk " + m.group(1) + " " + m.group(2)[:40]] = int(m.group(3))
    m = re.search(r"^boot (\d+)", t, re.M); d["boot"] = int(m.group(1)) if m else None
    m = re.search(r"^rss (\d+)", t, re.M); d["rss"] = int(m.group(1)) if m else None
    m = re.search(r"^crss (\d+)", t, re.M); d["crss"] = int(m.group(1)) if m else None
    e = re.search(r"(\S*rror.*)", t)
    d["why"] = "fell back to 2D" if "FALLBACK" in t else (e.group(1)[:100] if e else "")
    if "DIED" in t:
        d["why"] = ("the VM died during the run (QEMU's log above); " + d["why"]).rstrip("; ")
    data[c] = d
def f(v): return "-" if v is None else ("%.1f" % v if isinstance(v, float) else str(v))
def ratio(a, b): return "-" if a is None or b is None or b == 0 else "%.2f" % (a / b)
keys = [("vulkaninfo --summary (ms, median of %s)" % runs, "vi")]
for s in ("4096", "1048576", "4194304"):
    keys.append(("compute %s B (ms per dispatch, median of 20)" % s, "c" + s))
for k in sorted({k for c in cols for k in data[c] if k.startswith("vk ")}):
    keys.append(("vkmark %s (FPS)" % k[3:], k))
keys += [("start to guest agent up (ms)", "boot"), ("QEMU peak RSS (MiB)", "rss"),
         ("QEMU's children's peak RSS, summed (MiB)", "crss")]
print("| case | native | QEMU + virglrenderer | QEMU + PearVisor | PearVisor in QEMU | PearVisor / virgl | PearVisor / in QEMU |")
print("|---|---|---|---|---|---|---|")
for label, k in keys:
    n, v, p, i = (data[c].get(k) for c in cols)
    print(f"| {label} | {f(n)} | {f(v)} | {f(p)} | {f(i)} | {ratio(p, v)} | {ratio(p, i)} |")
for c in cols:
    if data[c]["why"]:
        print(f"\n{c}: {data[c]['why']}")
TABLE
cat "$tmp/table.md"
[ -n "$out" ] && cp "$tmp/table.md" "$out"
for c in native virgl pearvisor inproc; do echo "---- raw $c" >&2; cat "$tmp/$c.txt" >&2; done
