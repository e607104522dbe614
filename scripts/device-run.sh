#!/bin/sh
# Runs on the GPU machine, from a bundle made by scripts/device-bundle.sh
# (it copies this script in as BUNDLE/device-run.sh): the NVIDIA driver's
# memory model (pv-memory-probe), then native vs PearVisor (`pearvisor gpu
# serve` with Mesa's Venus driver over vtest) on the same host driver:
# vulkaninfo, compute per dispatch, render, timeline semaphores, round trips.
# Logs go to $OUT (default /tmp/pv-device-out); the server's log is
# $OUT/server.log.
#
#   BUNDLE/device-run.sh [--sizes 4K,1M,16M,64M]
#
# Needs the machine's NVIDIA Vulkan ICD (NVIDIA_ICD, default
# /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json) and its libraries'
# directory (NVIDIA_LIBS, default: the one holding libGLX_nvidia.so.0). The
# ICD initialises through EGL: libglvnd's libEGL comes from the bundle, and
# the EGL vendor file from the driver.
d=$(cd "$(dirname "$0")" && pwd)
sizes=4K,1M,16M,64M
[ "${1:-}" = --sizes ] && sizes=$2
OUT=${OUT:-/tmp/pv-device-out}
mkdir -p "$OUT"
. "$d/device-env.sh"
pv_nvidia_env || exit 1
echo "== the driver's memory model"
"$d/run" pv-memory-probe || exit 1
sock=/tmp/pv-device-$$.sock
# PV_SERVE_OPTS: more `gpu serve` options (e.g. --in-process, to compare with
# the default render process per client; --no-seccomp, if the driver trips
# the render process's syscall filter).
# shellcheck disable=SC2086
"$d/run" pearvisor gpu serve --socket "$sock" ${PV_SERVE_OPTS:-} >"$OUT/server.log" 2>&1 &
sp=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$sock" ] || { echo "device-run: the server did not start" >&2; cat "$OUT/server.log" >&2; exit 1; }
venus() { VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock VK_DRIVER_FILES=$d/icd/virtio_icd.json "$d/run" "$@"; }
native() { "$d/run" "$@"; }
for side in native venus; do
    echo "== $side"
    $side vulkaninfo --summary 2>&1 | grep -E "apiVersion|deviceName|driverName"
    echo "device extensions: $($side vulkaninfo 2>/dev/null | sed -n '/^Device Extensions/,/^$/p' | grep -c ': extension revision')"
    $side vulkaninfo 2>/dev/null | sed -n '/memoryTypes: count/,/^VkPhysicalDevice/p' | grep -E "memoryTypes\[|propertyFlags|MEMORY_PROPERTY" | head -30
    $side pv-compute-test --sizes "$sizes" --iterations 30
    $side pv-render-test --iterations 30 --out "$OUT/$side.pam"
    $side pv-timeline-test --steps 256 | tail -n 2
    $side pv-roundtrip 2>/dev/null | tail -n 4
done
kill -TERM "$sp"
wait "$sp"
echo "server exit status $?"
cmp -s "$OUT/native.pam" "$OUT/venus.pam" && echo "render: Venus pixels equal native" ||
    echo "render: Venus pixels DIFFER from native"
tail -n 20 "$OUT/server.log"
