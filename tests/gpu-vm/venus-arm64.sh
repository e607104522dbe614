#!/usr/bin/env bash
# gpu-vm: an ARM64 guest on our renderer. qemu-system-aarch64 (-M virt -cpu
# max, TCG) with virtio-gpu-gl-pci,venus=on,blob=on,hostmem loads PearVisor's
# libvirglrenderer.so.1 (front door 2); an arm64 Debian 13 guest's Mesa
# Venus driver then runs on the host's Vulkan driver through it. For each
# guest page size (Debian's linux-image-arm64, 4 KiB, and
# linux-image-arm64-16k, 16 KiB) one boot asserts:
#   1. `uname -m` is aarch64 and the kernel's page size is the one asked for
#      (KernelPageSize in the guest's /proc/self/smaps);
#   2. vulkaninfo --summary shows "Virtio-GPU Venus (<host device> ...)",
#      the host's own device name behind Venus (llvmpipe here);
#   3. pv-compute-test passes at every size;
#   4. pv-render-test's pixels equal the host's native run: the same
#      "path=... ok colors=N checksum=X" lines.
# And that QEMU mapped our library, not the system's.
#
#   venus-arm64.sh LIBDIR PV_RENDER_TEST VK_SRC_DIR VK_GEN_DIR
#
# LIBDIR: the door's build directory; PV_RENDER_TEST: the host's native
# build (the reference); VK_SRC_DIR: tests/vk (the programs' sources);
# VK_GEN_DIR: where the build put their SPIR-V headers. The guest's test
# programs are cross-built here with aarch64-linux-gnu-gcc against the arm64
# root's libvulkan (seconds; cheaper in CI than a compiler inside the arm64
# root, which would run under qemu-user and grow the root). The guest: the
# arm64 root (scripts/rootfs.sh guest-arm64, cached; built on first use,
# which needs root) gives both kernels, their modules and the Venus
# userspace, put into a small initramfs by guest/venus-initramfs.sh --root.
# Skips (77) without qemu-system-aarch64, the cross compiler, QEMU's GL
# modules or Xvfb, unless CI is set. Knobs: PV_QEMU_TIMEOUT (default 420 s a
# boot), PV_COMPUTE_SIZES (default 4K,1M), PV_ARM64_PAGES (default "4k 16k").
set -u
test_name=venus-arm64
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
usage="usage: venus-arm64.sh LIBDIR PV_RENDER_TEST VK_SRC_DIR VK_GEN_DIR"
libdir=${1:?$usage}
render=${2:?$usage}
vksrc=${3:?$usage}
vkgen=${4:?$usage}
sizes=${PV_COMPUTE_SIZES:-4K,1M}
qemu_timeout=${PV_QEMU_TIMEOUT:-420}
pages=${PV_ARM64_PAGES:-4k 16k}

tmp=$(mktemp -d /tmp/pv-gpuvm-arm64-XXXXXX)
xvfb_pid= qemu_pid=
cleanup() {
    [ -n "$qemu_pid" ] && kill -KILL "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    [ -n "$xvfb_pid" ] && kill -TERM "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
skip() {
    if [ -n "${CI:-}" ]; then echo "FAIL $test_name: $* (CI must not skip)" >&2; exit 1; fi
    echo "SKIP $test_name: $*" >&2
    exit 77
}
cur=
fail() {
    echo "FAIL $test_name${cur:+ ($cur pages)}: $*" >&2
    for f in "guest-$cur.out" "qemu-$cur.err" cross.log; do
        [ -s "$tmp/$f" ] && { echo "---- $f (last 40 lines) ----" >&2; tail -n 40 "$tmp/$f" >&2; }
    done
    exit 1
}

# ---- prerequisites ----
[ -e "$libdir/libvirglrenderer.so.1" ] || fail "no libvirglrenderer.so.1 in $libdir"
[ -x "$render" ] || fail "not an executable: $render"
for f in compute.c render.c common.c; do [ -f "$vksrc/$f" ] || fail "no $vksrc/$f"; done
for f in compute_spv.h render_vert_spv.h render_frag_spv.h; do [ -f "$vkgen/$f" ] || fail "no $vkgen/$f"; done
for tool in qemu-system-aarch64 aarch64-linux-gnu-gcc readelf Xvfb cpio gzip xz; do
    command -v $tool >/dev/null || skip "$tool missing (scripts/rootfs/client.pkgs has the packages)"
done
[ -e /usr/lib/x86_64-linux-gnu/qemu/ui-opengl.so ] || skip "QEMU's GL modules missing (qemu-system-modules-opengl)"
vulkaninfo --summary >/dev/null 2>&1 || skip "no Vulkan device on the host (mesa-vulkan-drivers)"
root=$("$top/scripts/rootfs.sh" guest-arm64 2>"$tmp/rootfs.log") ||
    skip "the arm64 guest root cannot be built here: $(tail -n 2 "$tmp/rootfs.log")"

# ---- the guest's test programs, cross-built ----
# Only Vulkan's headers from this environment (they are the same for every
# CPU); everything else from the cross toolchain and the arm64 root.
mkdir -p "$tmp/inc" "$tmp/bin"
ln -s /usr/include/vulkan "$tmp/inc/vulkan"
[ -d /usr/include/vk_video ] && ln -s /usr/include/vk_video "$tmp/inc/vk_video"
vklib=$root/usr/lib/aarch64-linux-gnu/libvulkan.so.1
[ -e "$vklib" ] || fail "no libvulkan.so.1 in the arm64 root ($vklib)"
cross() {
    local out=$1
    shift
    aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
        -I"$tmp/inc" -I"$vksrc" -I"$vkgen" -o "$tmp/bin/$out" "$@" "$vksrc/common.c" "$vklib" -lm \
        >>"$tmp/cross.log" 2>&1 || fail "cross-building $out for aarch64 failed"
}
t0=$SECONDS
cross pv-compute-test "$vksrc/compute.c"
cross pv-render-test "$vksrc/render.c"
readelf -h "$tmp/bin/pv-compute-test" | grep -q 'Machine:.*AArch64' || fail "pv-compute-test is not an AArch64 program"
echo "# cross-built pv-compute-test and pv-render-test for aarch64 in $((SECONDS - t0)) s" >&2

# ---- native reference on the host ----
host_dev=$(vulkaninfo --summary 2>/dev/null | sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' | head -n1)
[ -n "$host_dev" ] || fail "no host device name from vulkaninfo"
"$render" --iterations 2 >"$tmp/native-render.out" 2>&1 || fail "native pv-render-test failed"
results() { sed -n 's/^\(path=[a-z]* ok colors=[0-9]* checksum=[0-9a-f]*\) .*/\1/p' "$1"; }
native=$(results "$tmp/native-render.out")
[ -n "$native" ] || fail "native pv-render-test printed no results"

# ---- the guest's work (guest/venus-initramfs.sh runs it, then powers off) ----
cat >"$tmp/script" <<EOF
echo "PVTEST uname=\$(uname -m) page=\$(awk '/^KernelPageSize:/ { print \$2 * 1024; exit }' /proc/self/smaps)"
up() { cut -d' ' -f1 /proc/uptime; }
s=\$(up); vulkaninfo --summary >/tmp/vi.txt 2>&1; rc=\$?; e=\$(up)
cat /tmp/vi.txt
echo "PVTEST vulkaninfo rc=\$rc s=\$s e=\$e"
/usr/local/bin/pv-compute-test --sizes $sizes --iterations 5; echo "PVTEST compute rc=\$?"
/usr/local/bin/pv-render-test --iterations 2; echo "PVTEST render rc=\$?"
echo PVTEST-END
EOF

disp=
for n in $(seq 90 140); do
    [ -e /tmp/.X11-unix/X$n ] || [ -e /tmp/.X$n-lock ] || { disp=:$n; break; }
done
[ -n "$disp" ] || fail "no free X display number"
Xvfb "$disp" -screen 0 1280x800x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X${disp#:}" ] && break; sleep 0.1; done

qemu_env=()
asan_rt=$(ldd "$libdir/libvirglrenderer.so.1" | awk '/libasan/ { print $3 }')
[ -n "$asan_rt" ] && qemu_env=("LD_PRELOAD=$asan_rt"
    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")

summary=()
for cur in $pages; do
    case $cur in
        4k) flavour=arm64 want_page=4096 ;;
        16k) flavour=arm64-16k want_page=16384 ;;
        *) fail "unknown page size '$cur' in PV_ARM64_PAGES (4k, 16k)" ;;
    esac
    # The kernel of that flavour and its modules, as an image directory.
    kver=$(ls "$root/usr/lib/modules" | grep -- "-$flavour\$" | sort -V | tail -n1)
    [ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] || fail "no linux-image-$flavour kernel in $root"
    img=$tmp/img-$cur
    mkdir -p "$img"
    ln -s "$root/boot/vmlinuz-$kver" "$img/vmlinuz"
    ln -s "$root/usr/lib/modules/$kver/kernel/drivers" "$img/modules"
    "$top/guest/venus-initramfs.sh" --root "$root" "$img" "$tmp/initramfs-$cur.gz" "$tmp/script" \
        "$tmp/bin/pv-compute-test" "$tmp/bin/pv-render-test" >"$tmp/initramfs-$cur.log" 2>&1 ||
        fail "initramfs: $(tail -n 3 "$tmp/initramfs-$cur.log")"

    start=$(date +%s.%N)
    env "${qemu_env[@]}" DISPLAY=$disp LD_LIBRARY_PATH=$libdir PEARVISOR_LOG=info \
        qemu-system-aarch64 -accel tcg -M virt -cpu max -smp 2 -m 2G -nodefaults -no-user-config \
        -no-reboot -object memory-backend-memfd,id=mem,size=2G,share=on -machine memory-backend=mem \
        -display sdl,gl=on -device virtio-gpu-gl-pci,venus=on,blob=on,hostmem=1G -serial stdio \
        -kernel "$img/vmlinuz" -initrd "$tmp/initramfs-$cur.gz" \
        -append "console=ttyAMA0 panic=-1 quiet rdinit=/init" </dev/null \
        >"$tmp/guest-$cur.out" 2>"$tmp/qemu-$cur.err" &
    qemu_pid=$!
    peak=0 loaded=
    deadline=$((SECONDS + qemu_timeout))
    while kill -0 "$qemu_pid" 2>/dev/null; do
        [ $SECONDS -ge $deadline ] && fail "QEMU still running after $qemu_timeout s"
        r=$(awk '/^VmHWM/ { print $2 }' "/proc/$qemu_pid/status" 2>/dev/null)
        [ -n "$r" ] && peak=$r
        [ -z "$loaded" ] && loaded=$(awk '/libvirglrenderer/ { print $6; exit }' "/proc/$qemu_pid/maps" 2>/dev/null)
        sleep 0.2
    done
    wait "$qemu_pid"
    rc=$?
    qemu_pid=
    wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

    # ---- checks ----
    sed -i 's/\r$//' "$tmp/guest-$cur.out" # the serial line's CR LF
    [ "$rc" -eq 0 ] || fail "QEMU exited with status $rc"
    case $loaded in
        "$(cd "$libdir" && pwd)"/libvirglrenderer.so*) ;;
        *) fail "QEMU loaded '${loaded:-no libvirglrenderer}', not ours from $libdir" ;;
    esac
    grep -q 'front door 2) active' "$tmp/qemu-$cur.err" || fail "no PearVisor init line in QEMU's log"
    grep -q 'PVTEST-END' "$tmp/guest-$cur.out" || fail "the guest did not finish"
    grep -q "^PVTEST uname=aarch64 page=$want_page\$" "$tmp/guest-$cur.out" ||
        fail "guest is not aarch64 with $want_page-byte pages: $(grep '^PVTEST uname' "$tmp/guest-$cur.out")"
    dev=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' "$tmp/guest-$cur.out" | head -n1)
    [ "$dev" = "Virtio-GPU Venus ($host_dev)" ] || fail "guest device is '$dev', want 'Virtio-GPU Venus ($host_dev)'"
    grep -q '^PVTEST vulkaninfo rc=0' "$tmp/guest-$cur.out" || fail "guest vulkaninfo failed"
    grep -q '^PVTEST compute rc=0' "$tmp/guest-$cur.out" || fail "pv-compute-test failed in the guest"
    n_sizes=$(printf '%s\n' "$sizes" | tr ',' '\n' | grep -c .)
    [ "$(grep -cE '^size=[0-9]+ ok ' "$tmp/guest-$cur.out")" -eq "$n_sizes" ] || fail "not every compute size ok"
    grep -q '^PVTEST render rc=0' "$tmp/guest-$cur.out" || fail "pv-render-test failed in the guest"
    guest=$(results "$tmp/guest-$cur.out")
    [ "$guest" = "$native" ] || fail "render results differ: guest '$guest', native '$native'"

    vi_ms=$(awk '/^PVTEST vulkaninfo rc=0/ { split($4, s, "="); split($5, e, "="); printf "%d", (e[2] - s[2]) * 1000 }' "$tmp/guest-$cur.out")
    summary+=("$cur pages (kernel $kver): vulkaninfo ${vi_ms} ms; compute: $(grep -E '^size=' "$tmp/guest-$cur.out" | awk '{ printf "%s%s", sep, $0; sep = "; " }'); render = native; QEMU peak RSS $((peak / 1024)) MiB; boot to power-off ${wall} s")
done
cur=
drv=$(sed -n 's/^[[:space:]]*driverInfo[[:space:]]*=[[:space:]]*//p' "$tmp/guest-${pages##* }.out" | head -n1)
echo "guest: $dev, driver $drv; host: $(qemu-system-aarch64 --version | head -n1)"
echo "render (guest = native): $(echo $native)"
printf '%s\n' "${summary[@]}"
echo "PASS $test_name: Venus in arm64 guests ($pages pages) on PearVisor's libvirglrenderer.so.1"
