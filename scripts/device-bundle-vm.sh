#!/usr/bin/env bash
# Packs a whole GPU VM for another Linux machine (the NVIDIA machine: no
# network, no QEMU, no X) into one folder: the environment's QEMU with its
# virtio-gpu and SDL modules and the firmware it loads, PearVisor's door
# (libvirglrenderer.so.1) in a folder of its own and its render process
# (pearvisor, run through pearvisor-render), libglvnd's EGL for the
# host driver, every library those load plus the dynamic loader, and a guest:
# the project image's kernel with an initramfs (guest/venus-initramfs.sh)
# holding Mesa's Venus driver and our measuring programs. QEMU draws through
# SDL's offscreen video driver (EGL, no X server), which is what makes
# `-display sdl,gl=on` (QEMU's condition for virtio-gpu-gl) work headless.
# scripts/device-run-vm.sh (copied in) boots it there. Run inside the env:
#
#   PEARVISOR_PROFILE=client-bpo scripts/in-env.sh scripts/device-bundle-vm.sh BUILDDIR OUTDIR [--add SRC=DEST]...
#
# BUILDDIR: a build of this tree made in the same environment. --add passes
# files on to the guest's initramfs (guest/venus-initramfs.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${1:?usage: device-bundle-vm.sh BUILDDIR OUTDIR [--add SRC=DEST]...}
out=${2:?usage: device-bundle-vm.sh BUILDDIR OUTDIR [--add SRC=DEST]...}
shift 2
adds=()
while [ $# -gt 0 ]; do
    case $1 in
        --add) adds+=(--add "$2"); shift 2 ;;
        *) echo "device-bundle-vm: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
door=$build/src/gpu/virgl-abi/libvirglrenderer.so.1
[ -e "$door" ] || { echo "device-bundle-vm: no door in $build (build it first)" >&2; exit 1; }
img=${PV_GUEST_IMAGE:-$("$top/guest/build-image.sh" --lookup debian-13 2>/dev/null)} ||
    { echo "device-bundle-vm: no guest image: run 'pearvisor image create debian-13'" >&2; exit 1; }
qlib=/usr/lib/x86_64-linux-gnu/qemu
rm -rf "$out"
mkdir -p "$out"/{bin,lib,door,qemu/modules,qemu/firmware,guest}
cp /usr/bin/qemu-system-x86_64 "$out/bin/"
mods=("$qlib"/hw-display-virtio-gpu*.so "$qlib/ui-sdl.so" "$qlib/ui-opengl.so")
cp "${mods[@]}" "$out/qemu/modules/"
# What QEMU's q35 with -kernel reads: the BIOS, the Linux boot option ROM, the
# VAPIC ROM. -nodefaults: no VGA or NIC ROMs.
for f in bios-256k.bin kvmvapic.bin linuxboot_dma.bin multiboot_dma.bin; do
    cp -L "/usr/share/qemu/$f" "$out/qemu/firmware/" 2>/dev/null || cp -L "/usr/share/seabios/$f" "$out/qemu/firmware/"
done
cp -L "$door" "$out/door/"
# libglvnd (the host driver's EGL and GLX vendors plug into it).
glvnd=(/usr/lib/x86_64-linux-gnu/libEGL.so.1 /usr/lib/x86_64-linux-gnu/libGLX.so.0
    /usr/lib/x86_64-linux-gnu/libGLdispatch.so.0
    /usr/lib/x86_64-linux-gnu/libGL.so.1)
# The same measuring programs for the native side, on the host.
progs=()
for p in tests/vk/pv-compute-test tests/vk/pv-render-test tests/vk/pv-timeline-test bench/pv-roundtrip; do
    [ -x "$build/$p" ] && progs+=("$build/$p")
done
cp "${progs[@]}" /usr/bin/vulkaninfo "$out/bin/"
# The door's render process (pearvisor gpu door-process), started by the door
# through the bundled loader: BUNDLE/pearvisor-render (PEARVISOR_RENDER_EXE).
cp "$build/src/cli/pearvisor" "$out/bin/"
printf '#!/bin/sh\nexec "$(dirname "$0")/run" pearvisor "$@"\n' >"$out/pearvisor-render"
chmod +x "$out/pearvisor-render"
for f in "$out/bin/"* "${mods[@]}" "$door" "${glvnd[@]}"; do
    ldd "$f" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }'
done | sort -u | grep -v '/libvirglrenderer\.so' | while read -r lib; do cp -L "$lib" "$out/lib/"; done
cp -L "${glvnd[@]}" "$out/lib/"
cp -L /lib64/ld-linux-x86-64.so.2 "$out/lib/"

# The guest: what it runs comes from bench/gpu-vm-guest.sh (the same file
# the native side runs on the host).
cp "$img/vmlinuz" "$out/guest/"
"$top/guest/venus-initramfs.sh" "${adds[@]}" --module virtio_blk --add "$top/bench/gpu-vm-guest-llm.sh=/pv-extra.sh" \
    "$img" "$out/guest/initramfs.gz" \
    "$top/bench/gpu-vm-guest.sh" "${progs[@]}"
# Debug information stays behind: the transfer to that machine is limited.
command -v strip >/dev/null && find "$out/bin" "$out/lib" "$out/door" "$out/qemu/modules" -type f \
    -exec strip --strip-debug {} + 2>/dev/null
cp "$here/device-run-vm.sh" "$here/device-env.sh" "$top/bench/gpu-vm-guest.sh" "$out/"
cp "$here/device-launcher.sh" "$out/run"
du -sh "$out" >&2
