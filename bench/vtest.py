#!/usr/bin/env python3
"""vtest benchmark: native vs the peer (virglrenderer) vs PearVisor, in one run.

Measures, on the same host driver (lavapipe), for three "columns":

  native     the program on the native ICD (VK_DRIVER_FILES=lvp_icd.json)
  peer       through Mesa's Venus ICD over vtest to
             `virgl_test_server --venus --no-virgl --multi-clients`
  pearvisor  through Mesa's Venus ICD over vtest to `pearvisor gpu serve`
             (a sandboxed render process per client, the default)
  inproc     the same to `pearvisor gpu serve --in-process` (every client
             on a thread of the server)

the cases

  connect              wall time of `pv-hostile-client --case ping`: connect,
                       the vtest handshake and one reply (with render
                       processes: spawning one, which loads the renderer and
                       the host driver first); servers only
  vulkaninfo_summary   wall time of `vulkaninfo --summary` (ms)
  vulkaninfo           wall time of a full `vulkaninfo` run (ms)
  compute_run_4K       wall time of a whole `pv-compute-test --size 4K` (setup
                       + one dispatch + check; ms)
  compute_<size>       per-dispatch time of pv-compute-test (submit + fence
                       wait), the median of --iterations dispatches (ms)
  render_renderpass    one frame of pv-render-test (draw into a 256x256 image
  render_dynamic       + copy to a host-visible buffer, submit + fence wait),
                       render pass or dynamic rendering, median of --iterations
  roundtrip_cache      pv-roundtrip: median latency of one call that Venus
                       sends and waits for (vkGetPipelineCacheData size query)
  roundtrip_fence      the same for vkGetFenceStatus (VN_PERF=no_fence_feedback,
                       so Venus asks the renderer instead of reading a slot)
  vkmark               `vkmark --winsys headless`, all default scenes, each
                       --vkmark-duration seconds: FPS per scene (higher is
                       better), a separate table
  memory               (servers, --memory-clients K > 0) resident memory of
                       the server and its render processes, idle and with K
                       pv-compute-test clients holding a device and 1 MiB
                       buffers: RSS and PSS (shared pages split among the
                       processes that map them) per client, a third table

Each case is run once as warm-up, then --runs times; the table shows the
median, the spread (half the min..max range, relative to the median) and
the ratios pearvisor/native and pearvisor/peer (lower is better). A client
that exits non-zero shows "fails"; one that does not finish within --timeout
seconds is killed and shows "hangs" (the peer hangs on compute with lavapipe,
which cannot export dma-bufs), and the server is restarted.

Run it inside the environment, after building:
  scripts/in-env.sh python3 bench/vtest.py [--runs N] [--json FILE]

Nothing here fails on absolute numbers. With --compare OLD.json and
--threshold PCT it exits 1 if a PearVisor median got more than PCT percent
slower than in OLD.json (A/B between two commits on the same machine).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ICD_DIR = "/usr/share/vulkan/icd.d"
COLUMNS = ("native", "peer", "pearvisor", "inproc")


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r}")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2).upper()]


def size_label(n):
    for shift, suffix in ((30, "G"), (20, "M"), (10, "K")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{suffix}"
    return str(n)


class Server:
    """A vtest server on a private socket; restartable; always killed."""

    def __init__(self, name, argv_for_socket, tmpdir):
        self.name = name
        self.argv_for_socket = argv_for_socket
        self.tmpdir = tmpdir
        self.proc = None
        self.sock = None
        self.log_path = os.path.join(tmpdir, f"{name}.log")
        self.starts = 0

    def start(self):
        self.stop()
        self.starts += 1
        self.sock = os.path.join("/tmp", f"pv-bench-{os.getpid()}-{self.name}-{self.starts}.sock")
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv_for_socket(self.sock), stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(self.sock):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited with {self.proc.returncode}; "
                                   f"log: {self.log_tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} server did not listen within 30 s")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                kill_group(self.proc, signal.SIGTERM)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    kill_group(self.proc, signal.SIGKILL)
                    self.proc.wait()
            self.proc = None
        if self.sock and os.path.exists(self.sock):
            os.unlink(self.sock)

    def log_tail(self, n=5):
        try:
            with open(self.log_path, errors="replace") as f:
                return " | ".join(f.read().splitlines()[-n:])
        except OSError:
            return ""

    def env(self, icd):
        return {"VN_DEBUG": "vtest", "VTEST_SOCKET_NAME": self.sock, "VK_DRIVER_FILES": icd}


def kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def run_client(argv, extra_env, timeout):
    """Returns (status, wall_ms, stdout): status is ok, fails or hangs."""
    env = dict(os.environ)
    env.update(extra_env)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc, signal.SIGKILL)
        proc.communicate()
        return "hangs", None, ""
    wall = (time.perf_counter() - t0) * 1e3
    if proc.returncode != 0:
        sys.stderr.write(f"  {' '.join(argv)}: exit {proc.returncode}: "
                         f"{err.decode(errors='replace').strip().splitlines()[-1:]}\n")
        return "fails", None, out.decode(errors="replace")
    return "ok", wall, out.decode(errors="replace")


class Column:
    def __init__(self, name, describe, server, icd):
        self.name = name
        self.describe = describe
        self.server = server
        self.icd = icd

    def env(self):
        if self.server is None:
            return {"VK_DRIVER_FILES": self.icd}
        return self.server.env(self.icd)


def summarize(samples):
    med = statistics.median(samples)
    spread = (max(samples) - min(samples)) / 2 / med if med > 0 else 0.0
    return {"status": "ok", "n": len(samples), "median": med, "spread": spread,
            "min": min(samples), "max": max(samples), "samples": samples}


def run_once(col, case, args):
    """One run of one case on one column: ("ok", value) or (status, None)."""
    env = dict(col.env(), **case.get("env", {}))
    if col.server is not None and not col.server.alive():
        col.server.start()
    status, wall, out = run_client(case["argv"], env, args.timeout)
    if status != "ok":
        if col.server is not None:
            sys.stderr.write(f"  {col.name} server log: {col.server.log_tail()}\n")
            col.server.start()  # a hung or failed client may have wedged it
        return status, None
    if case["kind"] == "wall":
        return "ok", wall
    # a value the program printed: case["parse"] = (regex, factor to ms)
    m = re.search(case["parse"][0], out, re.M)
    if not m:
        return "fails", None
    return "ok", float(m.group(1)) * case["parse"][1]


def measure(col, case, args):
    """Warm-up + args.runs runs of one case on one column."""
    if col.name not in case.get("columns", COLUMNS):
        return None
    samples = []
    for i in range(args.runs + 1):
        status, value = run_once(col, case, args)
        if status != "ok":
            return {"status": status, "n": len(samples)}
        if i > 0:  # run 0 is the warm-up
            samples.append(value)
    return summarize(samples)


def measure_interleaved(cols, case, args):
    """As measure(), for every column at once: run i goes to each column in turn, in the
    reverse order on odd i, so that load that drifts over the run hits every column alike."""
    cols = [c for c in cols if c.name in case.get("columns", COLUMNS)]
    samples = {c.name: [] for c in cols}
    failed = {}
    for i in range(args.runs + 1):
        for col in (cols if i % 2 == 0 else cols[::-1]):
            if col.name in failed:
                continue
            status, value = run_once(col, case, args)
            if status != "ok":
                failed[col.name] = {"status": status, "n": len(samples[col.name])}
            elif i > 0:
                samples[col.name].append(value)
    return {c.name: failed.get(c.name) or summarize(samples[c.name]) for c in cols}


def tree_memory_kib(pid):
    """(RSS, PSS) in KiB of pid and its children (render processes)."""
    pids = [pid]
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                             text=True).stdout
        pids += [int(p) for p in out.split()]
    except OSError:
        pass
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss, len(pids) - 1


def measure_memory(col, args):
    """Server (+ render processes) memory idle and with K held compute clients, per client."""
    col.server.start()
    time.sleep(0.5)
    idle = tree_memory_kib(col.server.proc.pid)
    stop = os.path.join(col.server.tmpdir, f"stop-{col.name}")
    if os.path.exists(stop):
        os.unlink(stop)
    env = dict(os.environ, **col.env())
    procs, outs = [], []
    for i in range(args.memory_clients):
        out = open(os.path.join(col.server.tmpdir, f"mem-{col.name}-{i}.out"), "w+")
        procs.append(subprocess.Popen([args.compute, "--sizes", "1M", "--iterations", "1",
                                       "--repeat-until-exists", stop], env=env, stdout=out,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        outs.append(out)
    deadline = time.monotonic() + args.timeout * 2
    ready = False
    while time.monotonic() < deadline and not ready:
        ready = True
        for out in outs:
            out.seek(0)
            if not re.search(r"^size=\d+ ok ", out.read(), re.M):
                ready = False
        time.sleep(0.2)
    time.sleep(0.5)
    held = tree_memory_kib(col.server.proc.pid)
    open(stop, "w").close()
    for p in procs:
        try:
            p.wait(args.timeout)
        except subprocess.TimeoutExpired:
            p.kill()
    for out in outs:
        out.close()
    col.server.stop()
    if not ready:
        return {"status": "fails"}
    k = args.memory_clients
    return {"status": "ok", "clients": k, "idle_rss_kib": idle[0], "idle_pss_kib": idle[1],
            "rss_kib": held[0], "pss_kib": held[1], "render_processes": held[2],
            "rss_per_client_kib": (held[0] - idle[0]) / k,
            "pss_per_client_kib": (held[1] - idle[1]) / k}


VKMARK_FPS = re.compile(r"^(\[[a-z0-9-]+\] .*): FPS: (\d+) FrameTime: [0-9.]+ ms$", re.M)


def measure_vkmark(col, args):
    """args.runs runs of vkmark on one column: {scene: result}, or a status."""
    per_scene = {}
    order = []
    timeout = 13 * args.vkmark_duration * 3 + 60
    for _ in range(args.runs):
        if col.server is not None and not col.server.alive():
            col.server.start()
        status, _, out = run_client(["vkmark", "--winsys", "headless", "-b",
                                     f":duration={args.vkmark_duration}"], col.env(), timeout)
        if status != "ok":
            if col.server is not None:
                sys.stderr.write(f"  {col.name} server log: {col.server.log_tail()}\n")
                col.server.start()
            return status
        found = VKMARK_FPS.findall(out)
        if not found:
            return "fails"
        for scene, fps in found:
            if scene not in per_scene:
                per_scene[scene] = []
                order.append(scene)
            per_scene[scene].append(float(fps))
    return {scene: summarize(per_scene[scene]) for scene in order}
    spread = (max(samples) - min(samples)) / 2 / med if med > 0 else 0.0
    return {"status": "ok", "n": len(samples), "median": med, "spread": spread,
            "min": min(samples), "max": max(samples), "samples": samples}


def fmt_ms(r):
    if r is None:
        return "-"
    if r["status"] != "ok":
        return r["status"]
    v = r["median"]
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 1:
        return f"{v:.2f} ms"
    if v >= 0.1:
        return f"{v * 1000:.0f} us"
    if v >= 0.001:
        return f"{v * 1000:.1f} us"
    return f"{v * 1000:.2f} us"


def ratio(a, b):
    if not a or not b or a["status"] != "ok" or b["status"] != "ok" or b["median"] <= 0:
        if a and b and a["status"] == "ok" and b["status"] != "ok":
            return f"({b['status']})"
        return "-"
    return f"{a['median'] / b['median']:.2f}x"


def native_driver():
    try:
        out = subprocess.run(["vulkaninfo", "--summary"], capture_output=True, text=True,
                             env=dict(os.environ, VK_DRIVER_FILES=f"{ICD_DIR}/lvp_icd.json"),
                             timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    name = re.search(r"deviceName\s*=\s*(.*)", out)
    info = re.search(r"driverInfo\s*=\s*(.*)", out)
    return f"{name.group(1).strip() if name else '?'}, {info.group(1).strip() if info else '?'}"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            return f"{m.group(1).strip() if m else platform.machine()} x{os.cpu_count()}"
    except OSError:
        return platform.machine()


def git_commit():
    """HEAD's commit: $PV_BENCH_COMMIT (bench/vtest.sh sets it), else read from .git
    without the git binary (absent in the env)."""
    if os.environ.get("PV_BENCH_COMMIT"):
        return os.environ["PV_BENCH_COMMIT"][:12]
    gitdir = os.path.join(TOP, ".git")
    try:
        commondir = gitdir
        if os.path.isfile(gitdir):  # a worktree: "gitdir: PATH", refs in its commondir
            with open(gitdir) as f:
                gitdir = os.path.join(TOP, f.read().strip()[len("gitdir: "):])
            commondir = gitdir
            if os.path.exists(os.path.join(gitdir, "commondir")):
                with open(os.path.join(gitdir, "commondir")) as f:
                    commondir = os.path.join(gitdir, f.read().strip())
        with open(os.path.join(gitdir, "HEAD")) as f:
            head = f.read().strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        path = os.path.join(commondir, ref)
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()[:12]
        with open(os.path.join(commondir, "packed-refs")) as f:
            for line in f:
                if line.rstrip().endswith(" " + ref):
                    return line.split()[0][:12]
    except OSError:
        pass
    return "unknown"


def build_desc(exe):
    """buildtype and sanitizers of the meson build that holds exe."""
    d = os.path.dirname(os.path.abspath(exe))
    while d != "/":
        info = os.path.join(d, "meson-info", "intro-buildoptions.json")
        if os.path.exists(info):
            with open(info) as f:
                opts = {o["name"]: o["value"] for o in json.load(f)}
            desc = str(opts.get("buildtype", "?"))
            if opts.get("b_sanitize") not in (None, "none", []):
                desc += f"+{opts['b_sanitize']}"
            return desc
        d = os.path.dirname(d)
    return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="measured runs per case (default 5)")
    ap.add_argument("--iterations", type=int, default=10,
                    help="dispatches per pv-compute-test run (default 10)")
    ap.add_argument("--sizes", default="4K,1M,16M,64M", help="compute sizes (default 4K,1M,16M,64M)")
    ap.add_argument("--timeout", type=float, default=30,
                    help="seconds before a client run counts as hung (default 30)")
    ap.add_argument("--pearvisor", default=os.path.join(TOP, "build/src/cli/pearvisor"))
    ap.add_argument("--compute", default=os.path.join(TOP, "build/tests/vk/pv-compute-test"))
    ap.add_argument("--render", default=os.path.join(TOP, "build/tests/vk/pv-render-test"))
    ap.add_argument("--roundtrip", default=os.path.join(TOP, "build/bench/pv-roundtrip"))
    ap.add_argument("--hostile", default=os.path.join(TOP, "build/tests/vk/pv-hostile-client"))
    ap.add_argument("--memory-clients", type=int, default=4,
                    help="compute clients held for the memory table (default 4; 0 skips it)")
    ap.add_argument("--calls", type=int, default=20000,
                    help="calls per pv-roundtrip run (default 20000)")
    ap.add_argument("--vkmark-duration", type=float, default=2.0,
                    help="seconds per vkmark scene (default 2; 0 skips vkmark)")
    ap.add_argument("--peer", default="virgl_test_server")
    ap.add_argument("--columns", default=",".join(COLUMNS),
                    help="which of native,peer,pearvisor to run (default all)")
    ap.add_argument("--interleave", action="store_true",
                    help="run every column's servers at once and each case's runs in turn "
                         "across them (A/B on a busy machine)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--compare", metavar="OLD_JSON", help="A/B: compare pearvisor with an older run")
    ap.add_argument("--threshold", type=float, default=10.0,
                    help="with --compare: exit 1 if a pearvisor median is this many %% slower")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the servers
    if args.runs < 1 or args.iterations < 1:
        ap.error("--runs and --iterations must be >= 1")
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    wanted = [c.strip() for c in args.columns.split(",") if c.strip()]
    for c in wanted:
        if c not in COLUMNS:
            ap.error(f"unknown column {c!r}")
    for exe in (args.compute, args.render, args.roundtrip, args.hostile):
        if not os.access(exe, os.X_OK):
            sys.exit(f"bench: {exe} not built (meson compile -C build)")
    if not shutil.which("vulkaninfo"):
        sys.exit("bench: vulkaninfo missing (vulkan-tools)")
    if args.vkmark_duration > 0 and not shutil.which("vkmark"):
        sys.exit("bench: vkmark missing (or pass --vkmark-duration 0)")

    tmpdir = tempfile.mkdtemp(prefix="pv-bench-")
    virtio_icd = f"{ICD_DIR}/virtio_icd.json"
    peer_argv = [args.peer, "--venus", "--no-virgl", "--multi-clients"]
    pv_argv = [os.path.abspath(args.pearvisor), "gpu", "serve"]
    columns = []
    if "native" in wanted:
        columns.append(Column("native", f"lavapipe directly (VK_DRIVER_FILES={ICD_DIR}/lvp_icd.json)",
                              None, f"{ICD_DIR}/lvp_icd.json"))
    if "peer" in wanted:
        columns.append(Column("peer", "Venus/vtest -> " + " ".join(peer_argv) + " --socket-path S",
                              Server("peer", lambda s: peer_argv + ["--socket-path", s], tmpdir),
                              virtio_icd))
    if "pearvisor" in wanted:
        columns.append(Column("pearvisor", "Venus/vtest -> " + " ".join(pv_argv) + " --socket S",
                              Server("pearvisor", lambda s: pv_argv + ["--socket", s], tmpdir),
                              virtio_icd))
    if "inproc" in wanted:
        columns.append(Column("inproc", "Venus/vtest -> " + " ".join(pv_argv) +
                              " --socket S --in-process",
                              Server("inproc", lambda s: pv_argv + ["--socket", s, "--in-process"],
                                     tmpdir),
                              virtio_icd))

    cases = [{"name": "connect", "kind": "wall", "argv": [args.hostile, "--case", "ping"],
              "columns": ("peer", "pearvisor", "inproc"),
              "what": "pv-hostile-client --case ping (connect, handshake, one reply), wall time"},
             {"name": "vulkaninfo_summary", "kind": "wall", "argv": ["vulkaninfo", "--summary"],
              "what": "vulkaninfo --summary, process wall time"},
             {"name": "vulkaninfo", "kind": "wall", "argv": ["vulkaninfo"],
              "what": "full vulkaninfo, process wall time"},
             {"name": "compute_run_4K", "kind": "wall",
              "argv": [args.compute, "--size", "4K"],
              "what": "pv-compute-test --size 4K, process wall time"}]
    for s in sizes:
        cases.append({"name": f"compute_{size_label(s)}", "kind": "compute",
                      "argv": [args.compute, "--size", str(s), "--iterations", str(args.iterations)],
                      "what": f"one {size_label(s)}B dispatch (submit + fence), median of "
                              f"{args.iterations}",
                      "parse": (r"^size=\d+ ok ms=([0-9.]+)", 1.0)})
    for path in ("renderpass", "dynamic"):
        cases.append({"name": f"render_{path}", "kind": "value",
                      "argv": [args.render, "--path", path, "--iterations", str(args.iterations)],
                      "what": f"one pv-render-test frame ({path}: draw + copy, submit + fence), "
                              f"median of {args.iterations}",
                      "parse": (rf"^path={path} ok .* ms=([0-9.]+)", 1.0)})
    for call, label, env in (("pipeline-cache-size", "cache", {}),
                             ("fence-status", "fence", {"VN_PERF": "no_fence_feedback"})):
        cases.append({"name": f"roundtrip_{label}", "kind": "value", "env": env,
                      "argv": [args.roundtrip, "--call", call, "--calls", str(args.calls)],
                      "what": f"pv-roundtrip {call}: median of {args.calls} calls"
                              + (" (VN_PERF=no_fence_feedback)" if env else ""),
                      "parse": (r"^call=\S+ ok median_us=([0-9.]+)", 1e-3)})

    results = {c["name"]: {} for c in cases}
    vkmark = {}  # column -> {scene: result} or a status string
    memory = {}  # column -> measure_memory()
    missing = set()
    try:
        for col in columns:
            if col.server is not None:
                exe = col.server.argv_for_socket("x")[0]
                if not (os.access(exe, os.X_OK) or shutil.which(exe)):
                    sys.stderr.write(f"bench: {col.name}: {exe} not found; column skipped\n")
                    missing.add(col.name)
        if args.interleave:
            running = [c for c in columns if c.name not in missing]
            for col in running:
                if col.server is not None:
                    col.server.start()
            for case in cases:
                sys.stderr.write(f"bench: interleaved: {case['name']}\n")
                results[case["name"]].update(measure_interleaved(running, case, args))
        for col in columns:
            if col.name in missing:
                continue
            if col.server is not None and not col.server.alive():
                col.server.start()
            for case in ([] if args.interleave else cases):
                sys.stderr.write(f"bench: {col.name}: {case['name']}\n")
                r = measure(col, case, args)
                if r is not None:
                    results[case["name"]][col.name] = r
            if args.vkmark_duration > 0:
                sys.stderr.write(f"bench: {col.name}: vkmark\n")
                vkmark[col.name] = measure_vkmark(col, args)
            if col.server is not None and col.name != "peer" and args.memory_clients > 0:
                sys.stderr.write(f"bench: {col.name}: memory\n")
                memory[col.name] = measure_memory(col, args)
            if col.server is not None:
                col.server.stop()
    finally:
        for col in columns:
            if col.server is not None:
                col.server.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)

    for name in missing:
        for case in cases:
            results[case["name"]][name] = {"status": "missing", "n": 0}
        vkmark[name] = "missing"

    # vkmark scenes, in the order of the first column that ran them.
    scenes = []
    for col in COLUMNS:
        if isinstance(vkmark.get(col), dict):
            scenes = list(vkmark[col])
            break

    def scene_cell(scene, col):
        v = vkmark.get(col)
        if v is None:
            return None
        if isinstance(v, str):
            return {"status": v, "n": 0}
        return v.get(scene, {"status": "fails", "n": 0})

    def cell(case, col):
        return results[case["name"]].get(col)

    hdr = f"{'case':<18}" + "".join(f"{c:>12}" for c in COLUMNS) + \
        f"{'pv/native':>11}{'pv/peer':>10}{'pv/inproc':>11}{'n':>4}{'spread(pv)':>12}"
    lines = [hdr]
    for case in cases:
        pv = cell(case, "pearvisor")
        spread = f"±{pv['spread'] * 100:.0f}%" if pv and pv["status"] == "ok" else "-"
        n = max((r.get("n", 0) for r in results[case["name"]].values()), default=0)
        lines.append(f"{case['name']:<18}" + "".join(f"{fmt_ms(cell(case, c)):>12}" for c in COLUMNS)
                     + f"{ratio(pv, cell(case, 'native')):>11}{ratio(pv, cell(case, 'peer')):>10}"
                     + f"{ratio(pv, cell(case, 'inproc')):>11}"
                     + f"{n:>4}{spread:>12}")
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "cpu": cpu_name(),
        "driver": native_driver(),
        "commit": git_commit(),
        "build": build_desc(args.compute),
        "runs": args.runs,
        "iterations": args.iterations,
        "timeout_s": args.timeout,
    }
    if scenes:
        lines.append("")
        lines.append(f"{'vkmark scene (FPS)':<34}" + "".join(f"{c:>10}" for c in COLUMNS) +
                     f"{'pv/native':>11}{'pv/peer':>10}{'pv/inproc':>11}{'n':>4}{'spread(pv)':>12}")
        for scene in scenes:
            pv = scene_cell(scene, "pearvisor")
            spread = f"±{pv['spread'] * 100:.0f}%" if pv and pv["status"] == "ok" else "-"

            def fps(r):
                if r is None:
                    return "-"
                return f"{r['median']:.0f}" if r["status"] == "ok" else r["status"]
            n = max((r.get("n", 0) for r in (scene_cell(scene, c) for c in COLUMNS) if r),
                    default=0)
            lines.append(f"{scene:<34}" + "".join(f"{fps(scene_cell(scene, c)):>10}"
                                                  for c in COLUMNS)
                         + f"{ratio(pv, scene_cell(scene, 'native')):>11}"
                         + f"{ratio(pv, scene_cell(scene, 'peer')):>10}"
                         + f"{ratio(pv, scene_cell(scene, 'inproc')):>11}{n:>4}{spread:>12}")
    if memory:
        lines.append("")
        lines.append(f"{'memory (KiB)':<18}{'idle RSS':>10}{'idle PSS':>10}{'K':>3}"
                     f"{'RSS':>10}{'PSS':>10}{'RSS/client':>12}{'PSS/client':>12}{'procs':>7}")
        for name, m in memory.items():
            if m.get("status") != "ok":
                lines.append(f"{name:<18}{m.get('status')}")
                continue
            lines.append(f"{name:<18}{m['idle_rss_kib']:>10}{m['idle_pss_kib']:>10}"
                         f"{m['clients']:>3}{m['rss_kib']:>10}{m['pss_kib']:>10}"
                         f"{m['rss_per_client_kib']:>12.0f}{m['pss_per_client_kib']:>12.0f}"
                         f"{m['render_processes']:>7}")
    print("\n".join(lines))
    print(f"host: {meta['host']} ({meta['cpu']})  driver: {meta['driver']}")
    print(f"date: {meta['date']}  commit: {meta['commit']}  build: {meta['build']}  "
          f"runs: {args.runs} (+1 warm-up)  timeout: {args.timeout:.0f} s"
          + ("  interleaved" if args.interleave else ""))
    print("(ratio = pearvisor / baseline: lower is better for times, higher for vkmark FPS; "
          "spread = half the min..max range)")
    for col in columns:
        print(f"  {col.name:<10} {col.describe}")
    for case in cases:
        print(f"  {case['name']:<16} {case['what']}")
    if memory:
        print(f"  {'memory':<16} server + render processes (smaps_rollup), idle and with "
              f"{args.memory_clients} pv-compute-test --sizes 1M clients held; per client = "
              "(held - idle) / K")
    if args.vkmark_duration > 0:
        print(f"  {'vkmark':<16} vkmark --winsys headless -b :duration={args.vkmark_duration:g} "
              f"(all default scenes), FPS, median of {args.runs} runs")

    doc = dict(meta, columns={c.name: c.describe for c in columns}, memory=memory,
               cases=[dict(name=c["name"], what=c["what"], **results[c["name"]]) for c in cases]
               + [dict({"name": f"vkmark {s}", "what": "FPS", "better": "higher"},
                       **{c: scene_cell(s, c) for c in COLUMNS if scene_cell(s, c)})
                  for s in scenes])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")

    if args.compare:
        with open(args.compare) as f:
            old = {c["name"]: c for c in json.load(f)["cases"]}
        worse = []
        for case in doc["cases"]:
            a = old.get(case["name"], {}).get("pearvisor")
            b = case.get("pearvisor")
            if a and b and a.get("status") == "ok" and b.get("status") == "ok":
                change = (b["median"] / a["median"] - 1) * 100
                if case.get("better") == "higher":  # FPS: a drop is the regression
                    change = (a["median"] / b["median"] - 1) * 100
                unit = "FPS" if case.get("better") == "higher" else "ms"
                print(f"  A/B {case['name']:<16} {a['median']:.3f} -> {b['median']:.3f} {unit} "
                      f"({change:+.1f}%)")
                if change > args.threshold:
                    worse.append(case["name"])
            elif a and a.get("status") == "ok":
                worse.append(case["name"])
        if worse:
            print(f"regression over {args.threshold:.0f}%: {', '.join(worse)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
