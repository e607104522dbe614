#!/usr/bin/env bash
# Captures what real Mesa Venus clients send through `pearvisor gpu serve`
# and turns it into fuzz seeds. Run inside the environment:
#
#   scripts/in-env.sh fuzz/tools/capture-seeds.sh BUILDDIR OUTDIR [CLIENT...]
#
# CLIENT: vulkaninfo, compute, render, hostcopy, timeline (default: all). For
# each, a server runs with PEARVISOR_CAPTURE_DIR (src/gpu/venus/capture.h)
# and the client runs through Mesa's Venus ICD against it; then
#   OUTDIR/renderer_api/cap-[PROFILE-]<client>.api   one program per context
#                                             (fuzz/tools/trace2api.py; -ctx<N> after the first)
#   OUTDIR/venus_decode/[PROFILE-]<client>-<stream>  every stream the renderer decoded
# Merge them into the committed corpora with libFuzzer, keeping only what
# adds coverage (scripts/fuzz.sh --merge does it).
# The host copy client needs Mesa 26's Venus driver to send host copies:
# run it with PEARVISOR_PROFILE=client-bpo scripts/in-env.sh ... hostcopy.
set -euo pipefail
build=${1:?usage: capture-seeds.sh BUILDDIR OUTDIR [CLIENT...]}
out=${2:?usage: capture-seeds.sh BUILDDIR OUTDIR [CLIENT...]}
shift 2
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(vulkaninfo compute render hostcopy timeline)
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
pv=$build/src/cli/pearvisor
vk=$build/tests/vk
VIRTIO_ICD=${PV_VIRTIO_ICD:-/usr/share/vulkan/icd.d/virtio_icd.json}
tag=${PEARVISOR_PROFILE:+$PEARVISOR_PROFILE-}
mkdir -p "$out/renderer_api" "$out/venus_decode"
tmp=$(mktemp -d /tmp/pv-capture-XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

client_cmd() {
    case $1 in
    vulkaninfo) echo vulkaninfo ;;
    compute) echo "$vk/pv-compute-test --sizes 4K,64K" ;;
    render) echo "$vk/pv-render-test --iterations 1" ;;
    hostcopy) echo "$vk/pv-hostcopy-test --skip-if-no-device" ;;
    timeline) echo "$vk/pv-timeline-test" ;;
    *) echo "capture-seeds.sh: unknown client $1" >&2; exit 2 ;;
    esac
}

for c in "${clients[@]}"; do
    cmd=$(client_cmd "$c")
    cap=$tmp/$c
    mkdir -p "$cap"
    sock=$tmp/$c.sock
    PEARVISOR_CAPTURE_DIR=$cap "$pv" gpu serve --socket "$sock" >"$tmp/$c.server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 500); do [ -S "$sock" ] && break; sleep 0.02; done
    rc=0
    # shellcheck disable=SC2086 # the command is words
    env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" VK_DRIVER_FILES="$VIRTIO_ICD" \
        timeout 300 $cmd >"$tmp/$c.client.log" 2>&1 || rc=$?
    kill "$server"
    wait "$server" || true
    server=
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        tail -n 20 "$tmp/$c.client.log" >&2
        echo "capture-seeds.sh: $c exited $rc" >&2
        exit 1
    fi
    python3 "$here/trace2api.py" "$tmp/$c.api" "$cap"/*.trace | sed "s/^/$c: /"
    # cap-[PROFILE-]CLIENT.api, -ctxN for contexts after the first.
    for f in "$tmp/$c.api"/*.api; do
        [ -e "$f" ] || continue
        n=$(basename "$f" | sed -E 's/^ctx([0-9]+)-.*/\1/')
        name=cap-$tag$c$([ "$n" = 1 ] || echo "-ctx$n").api
        cp "$f" "$out/renderer_api/$name"
    done
    n=0
    for f in "$cap"/*.venus; do
        [ -e "$f" ] || continue
        cp "$f" "$out/venus_decode/$tag$c-$(basename "$f" .venus | sed 's/^ctx\([0-9]*\)-[0-9]*-/ctx\1-/')"
        n=$((n + 1))
    done
    echo "$c: $n streams"
done
