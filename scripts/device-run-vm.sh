#!/bin/sh
# Runs on the GPU machine, from a bundle made by scripts/device-bundle-vm.sh
# (copied in as BUNDLE/device-run-vm.sh): bench/gpu-vm-guest.sh natively on
# the host's NVIDIA driver, then the same in a guest whose Venus runs on
# PearVisor's door inside QEMU (TCG: no usable KVM there) on the same driver.
# Prints both result sets and the VM's costs: QEMU start to the guest's
# first line, the renderer's creation time, QEMU's peak and final resident
# memory. Logs under $OUT (default /tmp/pv-device-out): native.txt,
# guest.txt, qemu.err.
#
#   BUNDLE/device-run-vm.sh [--smp N] [--mem MiB] [--hostmem MiB] [--timeout S] [--llm FILE [--llm-shape tiny]]
#
# --llm FILE: scripts/device-bundle-llm.sh's .tar.gz, given to the guest as
# its disk: the guest then also runs llama-bench (bench/gpu-vm-guest-llm.sh).
d=$(cd "$(dirname "$0")" && pwd)
smp=8 mem=8192 hostmem=16384 timeout=420 llm= shape=
while [ $# -gt 0 ]; do
    case $1 in
        --smp) smp=$2; shift ;;
        --mem) mem=$2; shift ;;
        --hostmem) hostmem=$2; shift ;;
        --timeout) timeout=$2; shift ;;
        --llm) llm=$2; shift ;;
        --llm-shape) shape=$2; shift ;;
        *) echo "device-run-vm: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done
OUT=${OUT:-/tmp/pv-device-out}
mkdir -p "$OUT"
. "$d/device-env.sh"
pv_nvidia_env || exit 1

echo "== native"
PV_RUN="$d/run" sh "$d/gpu-vm-guest.sh" >"$OUT/native.txt" 2>&1
cat "$OUT/native.txt"

echo "== VM: QEMU $("$d/run" qemu-system-x86_64 --version | head -n 1), TCG, $smp vCPUs, $mem MiB"
start=$(date +%s%N)
# SDL's offscreen driver gives QEMU a GL display through EGL (NVIDIA's, via
# the bundled libglvnd) with no X server.
SDL_VIDEODRIVER=offscreen QEMU_MODULE_DIR="$d/qemu/modules" PEARVISOR_LOG=info \
    PEARVISOR_RENDER_EXE="$d/pearvisor-render" \
    PV_BUNDLE_LIBRARY_FIRST="$d/door" timeout "$timeout" "$d/run" qemu-system-x86_64 \
    -L "$d/qemu/firmware" -accel tcg,thread=multi -M q35 -cpu max -smp "$smp" -m "$mem" \
    -nodefaults -no-user-config -no-reboot \
    -object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -machine memory-backend=mem \
    -display sdl,gl=on -device "virtio-gpu-gl-pci,venus=on,blob=on,hostmem=${hostmem}M" \
    ${llm:+-drive "file=$llm,format=raw,if=virtio,readonly=on"} \
    -serial stdio -kernel "$d/guest/vmlinuz" -initrd "$d/guest/initramfs.gz" \
    -append "console=ttyS0 panic=-1 quiet rdinit=/init${shape:+ pv.llm_shape=$shape}" </dev/null >"$OUT/guest.txt" 2>"$OUT/qemu.err" &
qp=$!
peak=0 rss=0 first= rp_peak=0
while kill -0 "$qp" 2>/dev/null; do
    pid=$(pgrep -P "$qp" -f qemu-system 2>/dev/null | head -n 1)
    [ -n "$pid" ] || pid=$(pgrep -f "$d/bin/qemu-system-x86_64" | head -n 1)
    if [ -n "$pid" ]; then
        v=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null); [ -n "$v" ] && peak=$v
        v=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null); [ -n "$v" ] && rss=$v
    fi
    for c in $(pgrep -f 'pearvisor gpu door-process' 2>/dev/null); do
        v=$(awk '/^VmHWM/ { print $2 }' "/proc/$c/status" 2>/dev/null)
        [ -n "$v" ] && [ "$v" -gt "$rp_peak" ] && rp_peak=$v
    done
    [ -z "$first" ] && [ -s "$OUT/guest.txt" ] && first=$(( ($(date +%s%N) - start) / 1000000 ))
    sleep 0.2
done
wait "$qp"
rc=$?
wall=$(( ($(date +%s%N) - start) / 1000000 ))
grep -v '^\[' "$OUT/guest.txt" | tr -d '\r'
echo "== VM costs"
echo "qemu exit status $rc; whole run $wall ms; QEMU start to the guest's first console line $first ms"
grep -E 'renderer ready|render process|front door|fatal|rror' "$OUT/qemu.err" | head -n 10
echo "QEMU resident memory: peak $((peak / 1024)) MiB, last seen $((rss / 1024)) MiB"
echo "render process resident memory: peak $((rp_peak / 1024)) MiB"
