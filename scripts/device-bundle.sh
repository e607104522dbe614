#!/usr/bin/env bash
# Packs what a run on another Linux machine (the NVIDIA machine, Ubuntu
# 24.04, no network) needs from the Debian 13 environment into one folder:
# our built programs, Mesa's Venus client driver, vulkaninfo, the Vulkan
# loader and the shared libraries they use, plus the Debian dynamic loader
# so none of it depends on the other machine's libraries (its Vulkan
# driver excepted). Run inside the env: scripts/in-env.sh scripts/device-bundle.sh BUILD OUT
set -euo pipefail
build=${1:?usage: device-bundle.sh BUILDDIR OUTDIR}
out=${2:?usage: device-bundle.sh BUILDDIR OUTDIR}
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/icd"
progs=("$build/src/cli/pearvisor" "$build/tests/vk/pv-compute-test" /usr/bin/vulkaninfo)
for extra in "$build/tests/vk/pv-render-test" "$build/bench/pv-roundtrip" \
    "$build/tests/vk/pv-malformed-client" "$build/tests/vk/pv-memory-probe" "$build/tests/vk/pv-timeline-test"; do
    [ -x "$extra" ] && progs+=("$extra")
done
# libGLdispatch and libGLX: the NVIDIA Vulkan ICD (libGLX_nvidia) needs
# libglvnd, which that machine's image lacks.
libs=(/usr/lib/x86_64-linux-gnu/libvulkan_virtio.so /usr/lib/x86_64-linux-gnu/libvulkan.so.1
    /usr/lib/x86_64-linux-gnu/libGLdispatch.so.0 /usr/lib/x86_64-linux-gnu/libGLX.so.0
    /usr/lib/x86_64-linux-gnu/libEGL.so.1)
cp "${progs[@]}" "$out/bin/"
for f in "${progs[@]}" "${libs[@]}"; do
    ldd "$f" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }'
done | sort -u | while read -r lib; do cp -L "$lib" "$out/lib/"; done
cp -L "${libs[@]}" "$out/lib/"
cp -L /lib64/ld-linux-x86-64.so.2 "$out/lib/"
sed "s|/usr/lib/x86_64-linux-gnu/libvulkan_virtio.so|libvulkan_virtio.so|" \
    /usr/share/vulkan/icd.d/virtio_icd.json >"$out/icd/virtio_icd.json"
# The launcher (BUNDLE/run PROGRAM ARGS) and the run scripts.
cp "$(dirname "$0")/device-launcher.sh" "$out/run"
cp "$(dirname "$0")/device-run.sh" "$(dirname "$0")/device-env.sh" "$out/"
du -sh "$out"
