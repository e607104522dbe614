#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 or 13 machine (as root):
# sets up the Debian 13 environment (cached), builds PearVisor, starts
# `pearvisor gpu serve`, and runs the real Mesa Venus driver's
# `vulkaninfo --summary` through it; then stops the server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
"$here/host-deps.sh"
"$here/rootfs.sh" client >/dev/null
echo "demo: building PearVisor" >&2
"$here/build.sh" build
sock=$(mktemp -u /tmp/pearvisor-demo-XXXXXX.sock)
log=$(mktemp /tmp/pearvisor-demo-XXXXXX.log)
"$here/in-env.sh" build/src/cli/pearvisor gpu serve --socket "$sock" 2>"$log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { cat "$log" >&2; echo "demo: the server did not start" >&2; exit 1; }
echo "demo: vulkaninfo --summary through PearVisor (socket $sock):" >&2
"$here/in-env.sh" env VN_DEBUG=vtest VTEST_SOCKET_NAME="$sock" \
    VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json vulkaninfo --summary
