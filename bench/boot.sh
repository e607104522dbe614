#!/usr/bin/env bash
# bench/boot: guest image build time and boot time, PearVisor vs plain QEMU.
#
#   bench/boot.sh PEARVISOR [--runs N] [--cold] [--json FILE]
#
# Cases (docs/STYLE.md §B.12: each next to its baseline, same run, same host):
#   image_cached   `pearvisor image create debian-13` with everything cached
#   image_cold     the same into an empty cache: debootstrap + recipe (--cold)
#   first_line     QEMU start -> the initramfs's first console line, for the
#                  argv PearVisor's configurator makes (`pearvisor start
#                  --dry-run`) vs a plain QEMU command line booting the same
#                  kernel and initramfs (docs/qemu-and-hosts.md §2)
#   init_ready     QEMU start -> pv-init's "ready" line (root mounted, boot.sh
#                  done), same two command lines
#   run_true       `pearvisor run -- true`: boot, agent, command, clean
#                  shutdown (no baseline: plain QEMU has no agent)
#   qemu_rss       QEMU's peak resident memory (VmHWM) at init_ready
# Under TCG always; under KVM too where the probe says KVM runs stock guests.
# Medians of N runs (default 5) after one warm-up; spread = (max-min)/median/2.
# Needs the image built (or root to build it), qemu-system-x86_64, python3.
set -euo pipefail
pv=${1:?usage: bench/boot.sh PEARVISOR [--runs N] [--cold] [--json FILE]}
shift
runs=5 cold=0 json=
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; shift ;;
        --cold) cold=1 ;;
        --json) json=$2; shift ;;
        *) echo "boot.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
export PEARVISOR_CACHE=${PEARVISOR_CACHE:-$top/.cache/pearvisor}
tmp=$(mktemp -d /tmp/pv-bench.XXXXXX)
export XDG_DATA_HOME=$tmp/data XDG_STATE_HOME=$tmp/state XDG_RUNTIME_DIR=$tmp/run
cleanup() {
    for n in $(ls "$XDG_DATA_HOME/pearvisor/vms" 2>/dev/null); do "$pv" delete --force "$n" >/dev/null 2>&1 || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

"$pv" image create debian-13 >/dev/null
image=$("$pv" image path debian-13)
"$pv" create bench --cpus 2 --memory 2G >/dev/null

python3 - "$pv" "$image" "$tmp" "$runs" "$cold" "$json" "$top" <<'PYEOF'
import json, os, shlex, socket, statistics, subprocess, sys, time

pv, image, tmp, runs, cold, json_out, top = sys.argv[1:]
runs, cold = int(runs), cold == "1"
FIRST = b"pearvisor-initramfs: started"
READY = b"pearvisor-init: ready"

def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout

def timed(*args, env=None):
    t = time.monotonic()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.monotonic() - t

def hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

def boot(argv, read_from_socket):
    """Starts QEMU; returns (s to FIRST, s to READY, peak RSS kB); kills it."""
    t0 = time.monotonic()
    out = subprocess.DEVNULL if read_from_socket else subprocess.PIPE
    err = open(os.path.join(tmp, "qemu-stderr.txt"), "w")
    q = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    try:
        if read_from_socket:
            # PearVisor's console is a socket chardev; connect as soon as it exists.
            path = read_from_socket
            s = socket.socket(socket.AF_UNIX)
            while True:
                try:
                    s.connect(path)
                    break
                except OSError:
                    if q.poll() is not None:
                        raise RuntimeError("QEMU exited: " + open(err.name).read())
                    time.sleep(0.002)
            read = lambda: s.recv(65536)
        else:
            fd = q.stdout.fileno()
            read = lambda: os.read(fd, 65536)
        buf, first, ready = b"", None, None
        while ready is None:
            chunk = read()
            if not chunk:
                raise RuntimeError("console closed before init was ready")
            buf += chunk
            now = time.monotonic() - t0
            if first is None and FIRST in buf:
                first = now
            if READY in buf:
                ready = now
        return first, ready, hwm_kb(q.pid)
    finally:
        q.kill()
        q.wait()

def med(xs):
    m = statistics.median(xs)
    spread = (max(xs) - min(xs)) / 2 / m * 100 if m else 0
    return m, spread

accels = ["tcg"]
probe = subprocess.run([pv, "start", "--dry-run", "bench"], capture_output=True, text=True, check=True).stdout
pv_argv = shlex.split(probe.strip())
if "kvm" in pv_argv:
    accels.append("kvm")
print(f"# accelerators: {', '.join(accels)}", file=sys.stderr)

results = []
def report(case, pvs, base, base_name, unit):
    m, sp = med(pvs)
    row = {"case": case, "pearvisor": m, "unit": unit, "n": len(pvs), "spread_pct": sp}
    if base:
        b, bsp = med(base)
        row.update(baseline=b, baseline_name=base_name, ratio=m / b if b else None, baseline_spread_pct=bsp)
        sp = max(sp, bsp)
        print(f"{case:<22} {m:10.2f} {unit:<3} {b:10.2f} {unit:<3} {m / b:7.2f}x   {base_name:<12} {len(pvs):3}   ±{sp:.0f}%")
    else:
        print(f"{case:<22} {m:10.2f} {unit:<3} {'-':>10}     {'-':>7}    {'-':<12} {len(pvs):3}   ±{sp:.0f}%")
    results.append(row)

print(f"{'case':<22} {'pearvisor':>14} {'baseline':>14} {'ratio':>8}   {'baseline=':<12} {'n':>3}   spread")

# Image build.
cached = [timed(pv, "image", "create", "debian-13") for _ in range(runs)]
report("image_cached", cached, None, None, "s")
if cold:
    env = dict(os.environ, PEARVISOR_CACHE=os.path.join(tmp, "cold-cache"))
    report("image_cold", [timed(pv, "image", "create", "debian-13", env=env)], None, None, "s")

for accel in accels:
    argv = [a for a in pv_argv]
    i = argv.index("-accel")
    argv[i + 1] = accel
    argv[argv.index("-cpu") + 1] = "host" if accel == "kvm" else "max"
    console = next(a for a in argv if a.startswith("socket,id=pv-console,"))
    sock = console.split("path=")[1].split(",")[0]
    os.makedirs(os.path.dirname(sock), exist_ok=True)
    logfile = console.split("logfile=")[1].split(",")[0]
    os.makedirs(os.path.dirname(logfile), exist_ok=True)
    for p in ("qmp.sock", "agent.sock", "console.sock"):
        try:
            os.unlink(os.path.join(os.path.dirname(sock), p))
        except FileNotFoundError:
            pass
    overlay = os.path.join(tmp, "plain.qcow2")
    plain = ["qemu-system-x86_64", "-accel", accel, "-M", "q35", "-cpu", "host" if accel == "kvm" else "max",
             "-smp", "2", "-m", "2G", "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
             "-serial", "stdio", "-kernel", f"{image}/vmlinuz", "-initrd", f"{image}/initrd.img",
             "-drive", f"file={overlay},if=virtio,format=qcow2",
             "-append", "console=ttyS0 root=/dev/vda rw panic=-1 quiet"]
    pvr, plr = [], []
    for n in range(runs + 1):  # run 0 warms the page cache
        a = boot(argv, sock)
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", f"{image}/root.img", overlay)
        b = boot(plain, None)
        if n:
            pvr.append(a)
            plr.append(b)
    report(f"first_line_{accel}", [r[0] for r in pvr], [r[0] for r in plr], "plain-qemu", "s")
    report(f"init_ready_{accel}", [r[1] for r in pvr], [r[1] for r in plr], "plain-qemu", "s")
    report(f"qemu_rss_{accel}", [r[2] / 1024 for r in pvr], [r[2] / 1024 for r in plr], "plain-qemu", "MiB")

env = dict(os.environ)
rt = [timed(pv, "run", "-q", "--cpus", "2", "--memory", "2G", "--", "true") for _ in range(runs)]
report("run_true_tcg" if "kvm" not in accels else "run_true", rt, None, None, "s")

def git_rev():
    # git may not be installed in the build environment: read .git directly.
    try:
        head = open(os.path.join(top, ".git", "HEAD")).read().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            path = os.path.join(top, ".git", ref)
            if os.path.exists(path):
                return open(path).read().strip()[:7]
            for line in open(os.path.join(top, ".git", "packed-refs")):
                if line.strip().endswith(" " + ref):
                    return line[:7]
        return head[:7]
    except OSError:
        return "?"
rev = git_rev()
host = f"{os.cpu_count()} CPUs, " + subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
qv = sh("qemu-system-x86_64", "--version").splitlines()[0]
print(f"host: {host}  commit: {rev}  {qv}  (ratio = pearvisor / baseline, lower is better)")
if json_out:
    with open(json_out, "w") as f:
        json.dump({"host": host, "commit": rev, "qemu": qv, "results": results}, f, indent=1)
PYEOF
