#!/usr/bin/env bash
# Runs on the GPU machine, from the bundle scripts/device-bundle-llm.sh made
# (it copies this script in as pv-llm/device-run-llm.sh): generates a model
# with make-gguf (the Llama-3.2-1B-like shape by default) into /tmp, then
# bench/llm.sh's measurement on the same host driver: llama-bench natively,
# through PearVisor and through the peer (virgl_test_server 1.3), then
# test-backend-ops through PearVisor with whatever time is left. Every log
# goes to $OUT (default /tmp/pv-llm-out); each part is time-boxed so the
# whole run ends within --budget seconds (default 500), and no server
# outlives it.
#
#   pv-llm/device-run-llm.sh [--shape 1b|tiny] [--reps N] [--ops LIST|all]
#                            [--budget S] [--no-peer]
#
# Host driver: the NVIDIA ICD (NVIDIA_ICD, default
# /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json) and its libraries'
# directory (NVIDIA_LIBS, default: the one holding libGLX_nvidia.so.0); the
# ICD initialises through EGL, so libglvnd's libEGL comes from the bundle and
# the EGL vendor file from the driver. HOST_ICD and PV_BUNDLE_LIBRARY_PATH,
# when set, name another driver instead (lavapipe, for a rehearsal).
set -uo pipefail
d=$(cd "$(dirname "$0")" && pwd)
start=$(date +%s)
shape=1b reps=5 ops=all budget=500 peer=,peer
while [ $# -gt 0 ]; do
    case $1 in
    --shape) shape=$2; shift ;;
    --reps) reps=$2; shift ;;
    --ops) ops=$2; shift ;;
    --budget) budget=$2; shift ;;
    --no-peer) peer= ;;
    *) echo "usage: device-run-llm.sh [--shape 1b|tiny] [--reps N] [--ops LIST|all] [--budget S] [--no-peer]" >&2
        exit 2 ;;
    esac
    shift
done
OUT=${OUT:-/tmp/pv-llm-out}
mkdir -p "$OUT"
left() { echo $((budget - ($(date +%s) - start))); }

nv=/usr/local/nvidia
if [ -z "${HOST_ICD:-}" ]; then
    HOST_ICD=${NVIDIA_ICD:-$nv/share/vulkan/icd.d/nvidia_icd.json}
    for f in "$nv/share/glvnd/egl_vendor.d/10_nvidia.json" /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
        [ -f "$f" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$f && break
    done
    if [ -z "${NVIDIA_LIBS:-}" ]; then
        for dir in "$nv/lib64" "$nv/lib" /usr/lib/x86_64-linux-gnu; do
            [ -e "$dir/libGLX_nvidia.so.0" ] && NVIDIA_LIBS=$dir && break
        done
    fi
    export PV_BUNDLE_LIBRARY_PATH=${PV_BUNDLE_LIBRARY_PATH:-${NVIDIA_LIBS:?device-run-llm: cannot find libGLX_nvidia.so.0; set NVIDIA_LIBS}}
fi
[ -f "$HOST_ICD" ] || { echo "device-run-llm: no host ICD at $HOST_ICD" >&2; exit 1; }
export HOST_ICD PV_RUN=$d/run VENUS_ICD=$d/icd/virtio_icd.json
export PEARVISOR=pearvisor MAKE_GGUF=make-gguf LLAMA_BENCH=llama-bench
export TEST_BACKEND_OPS=test-backend-ops PEER=virgl_test_server
export RENDER_SERVER_EXEC_PATH=$d/render-server

echo "== bundle"
cat "$d/VERSIONS"
echo "== host driver ($HOST_ICD)"
VK_DRIVER_FILES=$HOST_ICD timeout 30 "$d/run" vulkaninfo --summary 2>&1 |
    grep -E "apiVersion|deviceName|driverName|driverInfo" | head -n 8

echo "== model ($shape)"
model=/tmp/pv-llm-model-$shape.gguf
timeout 120 "$d/run" make-gguf --shape "$shape" "$model" || { echo "device-run-llm: make-gguf failed" >&2; exit 1; }

rc=0
echo "== llama-bench: native, pearvisor${peer:+, peer} ($(left) s left)"
timeout -k 10 "$(($(left) - 60))" "$d/llm.sh" --model "$model" --reps "$reps" \
    --columns "native,pearvisor$peer" --timeout 150 --peer-timeout 90 --ops none \
    --out "$OUT/bench" || rc=$?
echo "llm.sh exit status $rc"

ops_time=$(($(left) - 20))
if [ "$ops_time" -ge 30 ]; then
    echo "== test-backend-ops through PearVisor, ops: $ops (time box $ops_time s)"
    orc=0
    timeout -k 10 "$((ops_time + 15))" "$d/llm.sh" --model "$model" --columns none --ops "$ops" \
        --ops-columns pearvisor --ops-timeout "$ops_time" --out "$OUT/ops" || orc=$?
    echo "llm.sh exit status $orc"
    log=$OUT/ops/test-backend-ops-pearvisor.log
    [ -f "$log" ] && echo "last case: $(grep -E ': (OK|FAIL)$' "$log" | grep -v '^ *Backend' | tail -n 1)"
else
    echo "== test-backend-ops skipped: $(left) s left"
fi

# Nothing may outlive the run: llm.sh stops its servers and time-boxes its
# clients, but a part cut short by the outer time box can leave either.
for p in "$d/bin/pearvisor" "$d/bin/virgl_test_server" "$d/bin/virgl_render_server" \
    "$d/bin/llama-bench" "$d/bin/test-backend-ops"; do
    pids=$(pgrep -f "$p" || true)
    if [ -n "$pids" ]; then
        echo "device-run-llm: $p still running ($pids), stopping it"
        for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
    fi
done
echo "== done in $(($(date +%s) - start)) s; logs in $OUT"
for f in "$OUT"/*/server-*.log; do
    [ -f "$f" ] && { echo "-- $f"; tail -n 5 "$f"; }
done
exit $rc
