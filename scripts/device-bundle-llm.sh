#!/usr/bin/env bash
# Packs the LLM workload for a machine without network or apt (the NVIDIA
# machine, Ubuntu 24.04) into one .tar.gz: our pearvisor and make-gguf (built
# in the client environment), and from the peer-sid environment llama.cpp's
# llama-bench and test-backend-ops, the ggml libraries and every backend
# (Vulkan and each CPU variant), Mesa's Venus client driver (26.2), the
# Vulkan loader, libglvnd (the NVIDIA ICD needs it), virglrenderer 1.3's
# virgl_test_server and render server (the peer), vulkaninfo, every library
# those load and the Debian dynamic loader; plus bench/llm.sh and
# scripts/device-run-llm.sh. Only the host's Vulkan driver comes from the
# other machine.
#
#   PV_COMMIT=$(git rev-parse --short=12 HEAD) PEARVISOR_PROFILE=peer-sid \
#       scripts/in-env.sh scripts/device-bundle-llm.sh BUILDDIR OUT.tar.gz
#
# The archive unpacks into pv-llm/. Programs run through pv-llm/run, which
# starts them with the bundled dynamic loader and libraries. ggml looks for
# its backends (libggml-<name>-*.so) in its compiled-in directory
# (/usr/lib/x86_64-linux-gnu/ggml/backends0), then in the directory of the
# running executable, then in the working directory: under the bundled
# loader the executable is lib/ld-linux-x86-64.so.2, so the backends live in
# lib/ beside it.
set -euo pipefail
build=${1:?usage: device-bundle-llm.sh BUILDDIR OUT.tar.gz}
archive=${2:?usage: device-bundle-llm.sh BUILDDIR OUT.tar.gz}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
lib=/usr/lib/x86_64-linux-gnu
tests=/usr/libexec/x86_64-linux-gnu/llama.cpp-tests
for f in /usr/bin/llama-bench "$tests/test-backend-ops" /usr/bin/virgl_test_server \
    "$lib/libvulkan_virtio.so" "$lib/ggml/backends0/libggml-vulkan.so"; do
    [ -e "$f" ] || { echo "device-bundle-llm: $f missing: run in the peer-sid environment" >&2; exit 1; }
done
stage=$(mktemp -d /tmp/pv-llm-bundle.XXXXXX)
trap 'rm -rf "$stage"' EXIT
out=$stage/pv-llm
mkdir -p "$out/bin" "$out/lib" "$out/icd"

progs=("$build/src/cli/pearvisor" "$build/bench/llm/make-gguf" /usr/bin/llama-bench
    "$tests/test-backend-ops" /usr/bin/virgl_test_server /usr/libexec/virgl_render_server
    /usr/bin/vulkaninfo)
# Loaded with dlopen, so ldd of the programs does not name them: the Venus
# ICD, the ggml backends, libglvnd for the NVIDIA ICD.
dlopened=("$lib/libvulkan_virtio.so" "$lib"/ggml/backends0/libggml-*.so
    "$lib/libGLdispatch.so.0" "$lib/libGLX.so.0" "$lib/libEGL.so.1")
cp "${progs[@]}" "$out/bin/"
cp -L "${dlopened[@]}" "$out/lib/"
for f in "${progs[@]}" "${dlopened[@]}"; do
    ldd "$f" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }'
done | sort -u | while read -r so; do
    [ -e "$out/lib/${so##*/}" ] || cp -L "$so" "$out/lib/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$out/lib/"
sed "s|$lib/libvulkan_virtio.so|libvulkan_virtio.so|" \
    /usr/share/vulkan/icd.d/virtio_icd.json >"$out/icd/virtio_icd.json"

# bundle/run PROGRAM ARGS: a bundled program on the bundled libraries.
cat >"$out/run" <<'RUN'
#!/bin/sh
d=$(cd "$(dirname "$0")" && pwd)
p=$1; shift
# PV_BUNDLE_LIBRARY_PATH: more directories, after ours (the host driver's, e.g.
# where the NVIDIA ICD's libGLX_nvidia.so.0 lives).
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib${PV_BUNDLE_LIBRARY_PATH:+:$PV_BUNDLE_LIBRARY_PATH}" "$d/bin/$p" "$@"
RUN
# virglrenderer execs its render server by path (RENDER_SERVER_EXEC_PATH): this
# one goes through the launcher too.
cat >"$out/render-server" <<'RS'
#!/bin/sh
exec "$(cd "$(dirname "$0")" && pwd)/run" virgl_render_server "$@"
RS
chmod +x "$out/run" "$out/render-server"
cp "$here/../bench/llm.sh" "$out/llm.sh"
cp "$here/device-run-llm.sh" "$out/device-run-llm.sh"
{
    echo "built: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "pearvisor commit: ${PV_COMMIT:-unknown}"
    dpkg-query -W -f '${Package} ${Version}\n' llama.cpp-tools llama.cpp-tests libggml0 \
        libggml0-backend-vulkan mesa-vulkan-drivers libvulkan1 virgl-server libvirglrenderer1 libc6
} >"$out/VERSIONS"
du -sh "$out" >&2
tar -C "$stage" -czf "$archive" pv-llm
ls -l "$archive" >&2
