#!/usr/bin/env bash
# An ARM64 guest through the same verbs as x86 (`--arch arm64`: qemu-system-
# aarch64 -M virt, TCG on this x86_64 host, the image from `pearvisor image
# create debian-13 --arch arm64`), with the GPU on our renderer:
#   1. create and start; `list` shows it running; `exec` through the agent
#      says aarch64, 4 KiB pages, the arm64 image, the CPUs and memory asked;
#   2. the console: the boot is recorded in console.log (the PL011,
#      ttyAMA0), and pv-init's root shell runs on it;
#   3. networking: the guest fetches a page from the host (10.0.2.2), and a
#      --port forward reaches a server in the guest;
#   4. the GPU: vulkaninfo in the guest shows Venus on the host's device,
#      and `pearvisor stats` shows the renderer's contexts (not in a
#      sanitizer build: a daemonizing QEMU with the ASan runtime preloaded
#      hangs at start, scripts/test.sh; that build's VM gets --gpu 2d);
#   5. `stop` shuts it down cleanly: QMP's system_powerdown is virt's
#      gpio-keys power button, which pv-init acts on.
#
#   arm64.sh PEARVISOR
vm_arch=arm64
. "$(dirname "$0")/lib.sh"
vm_setup "$@"
command -v Xvfb >/dev/null || vm_skip "Xvfb missing (package xvfb)"
vulkaninfo --summary >/dev/null 2>&1 || vm_skip "no Vulkan device on the host (mesa-vulkan-drivers)"

# The door this pearvisor loads (src/gpu/virgl-abi beside src/cli in a build tree).
door=$(cd "$(dirname "$pv")/../gpu/virgl-abi" 2>/dev/null && pwd)/libvirglrenderer.so.1
gpu=venus
ldd "$door" 2>/dev/null | grep -q libasan && gpu=2d

name=a64
token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkdir -p "$tmp/www"
echo "host-$token" >"$tmp/www/page.txt"
host_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$host_port" >"$tmp/http.log" 2>&1 &
bg_pids=$!
fwd_port=$(free_port)

"$pv" create $name --arch arm64 --cpus 2 --memory 1G --gpu $gpu --port "$fwd_port:8080" >/dev/null ||
    vm_fail "create --arch arm64 failed"
grep -qx "arch=arm64" "$XDG_DATA_HOME/pearvisor/vms/$name/vm.conf" || vm_fail "vm.conf has no arch=arm64"
t0=$SECONDS
"$pv" start $name >"$tmp/start.out" 2>"$tmp/start.err" ||
    { cat "$tmp/start.err" >&2; vm_fail "start failed"; }
echo "ok: booted in $((SECONDS - t0)) s: $(head -n1 "$tmp/start.out")"
expect_grep "accelerator notice" "an arm64 guest on an x86_64 host" "$tmp/start.err"
[ $gpu = venus ] && expect_grep "GPU line" "^pearvisor: GPU: Venus on PearVisor's renderer" "$tmp/start.err"
"$pv" list >"$tmp/list.txt"
expect_grep "list" "^$name .*running .* 2 .*1[.0]*G .*$gpu" "$tmp/list.txt"
qpid=$(cat "$XDG_RUNTIME_DIR/pearvisor/$name/qemu.pid")
expect_eq "the QEMU running it" "$(basename "$(readlink "/proc/$qpid/exe")")" qemu-system-aarch64

# 1. The agent: CPU, page size, image, CPUs, memory.
"$pv" exec $name -- sh -c 'echo "m=$(uname -m) page=$(awk "/^KernelPageSize:/ { print \$2 * 1024; exit }" /proc/self/smaps) nproc=$(nproc)"
    grep "^arch=" /etc/pearvisor-image; awk "/^MemTotal:/ { print \"memkb=\" \$2 }" /proc/meminfo' \
    >"$tmp/exec.txt" || vm_fail "exec failed"
cat "$tmp/exec.txt"
expect_grep "guest CPU, pages, vCPUs" "^m=aarch64 page=4096 nproc=2\$" "$tmp/exec.txt"
expect_grep "the arm64 image" "^arch=arm64\$" "$tmp/exec.txt"
memkb=$(sed -n 's/^memkb=//p' "$tmp/exec.txt")
[ "$memkb" -le 1048576 ] && [ "$memkb" -ge $((1048576 * 80 / 100)) ] || vm_fail "MemTotal ${memkb} kB is not about 1G"

# 2. The console: kernel lines and pv-init's, and its shell on ttyAMA0.
log=$XDG_STATE_HOME/pearvisor/$name/console.log
expect_grep "console log" "pearvisor-init: ready" "$log"
got=$("$pv" exec $name -- sh -c 'for p in /proc/[0-9]*; do [ "$(readlink $p/fd/0)" = /dev/ttyAMA0 ] && cat $p/comm; done; true' | head -n1)
[ -n "$got" ] || vm_fail "no process has the console (ttyAMA0) as its stdin"
echo "ok: the console shell ($got) runs on ttyAMA0"

# 3. Networking both ways.
got=$("$pv" exec $name -- busybox wget -q -O - "http://10.0.2.2:$host_port/page.txt") ||
    vm_fail "guest could not fetch from the host (log: $(cat "$tmp/http.log"))"
expect_eq "guest fetched the host's page" "$got" "host-$token"
"$pv" exec $name -- sh -c "mkdir -p /srv/www && echo guest-$token >/srv/www/index.html &&
    busybox httpd -p 8080 -h /srv/www" || vm_fail "could not start httpd in the guest"
got=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode().strip())' \
    "http://127.0.0.1:$fwd_port/") || vm_fail "the port forward did not reach the guest"
expect_eq "host fetched the guest's page" "$got" "guest-$token"

# 4. The GPU, and the renderer's statistics.
if [ $gpu = venus ]; then
    host_dev=$(vulkaninfo --summary 2>/dev/null | sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' | head -n1)
    "$pv" exec $name -- env VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json vulkaninfo --summary \
        >"$tmp/vi.txt" 2>&1 || { cat "$tmp/vi.txt" >&2; vm_fail "vulkaninfo in the guest failed"; }
    dev=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' "$tmp/vi.txt" | head -n1)
    expect_eq "the guest's Vulkan device" "$dev" "Virtio-GPU Venus ($host_dev)"
    "$pv" stats --json $name >"$tmp/stats.json" || vm_fail "pearvisor stats $name failed"
    created=$(sed -n 's/.*"contexts_created": *\([0-9]*\).*/\1/p' "$tmp/stats.json")
    [ "${created:-0}" -ge 1 ] || vm_fail "stats show no renderer context: $(cat "$tmp/stats.json")"
    echo "ok: guest Vulkan device '$dev'; renderer contexts created: $created"
else
    echo "ok: the GPU step skipped: $door is built with ASan (see above)"
fi

# 5. A clean shutdown through the power button.
"$pv" stop $name >"$tmp/stop.txt" || vm_fail "stop failed: $(cat "$tmp/stop.txt")"
expect_grep "clean stop" "the guest shut down cleanly" "$tmp/stop.txt"
expect_grep "console log" "pearvisor-init: power button pressed" "$log"
vm_pass
