#!/usr/bin/env bash
# install, inside a clean Debian 13 root (scripts/rootfs/base.pkgs, a fresh
# copy per run; deb.sh chroots here with an empty environment): installs the
# package offline with dpkg -i, as a user would, and checks what it promises:
# the command, libpvgpu for other VMMs, the door in its private directory,
# the guest image recipe, a real Venus client through `pearvisor gpu serve`,
# and a clean purge.
#
#   in-root.sh PKG.deb VERSION
set -uo pipefail
deb=${1:?usage: in-root.sh PKG.deb VERSION}
version=${2:?usage: in-root.sh PKG.deb VERSION}
server_pid=
fail() {
    echo "FAIL: $*" >&2
    [ -s /tmp/serve.log ] && { echo "---- pearvisor gpu serve (last 20 lines) ----" >&2; tail -n 20 /tmp/serve.log >&2; }
    exit 1
}
note() { echo "# $*" >&2; }
cleanup() {
    if [ -n "$server_pid" ]; then
        kill -KILL "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
}
trap cleanup EXIT

note "dpkg -i $(basename "$deb") into a clean Debian 13 root (no network, no build tools)"
dpkg -i "$deb" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -i failed"; }
[ "$(dpkg-query -W -f '${Status}' pearvisor)" = "install ok installed" ] ||
    fail "pearvisor is not fully installed: $(dpkg-query -W -f '${Status}' pearvisor)"

# The command, on the default PATH.
[ "$(command -v pearvisor)" = /usr/bin/pearvisor ] || fail "pearvisor is '$(command -v pearvisor)', not /usr/bin/pearvisor"
got=$(pearvisor --version) || fail "pearvisor --version exited $?"
[ "$got" = "pearvisor $version" ] || fail "pearvisor --version printed '$got', want 'pearvisor $version'"

# libpvgpu for other VMMs: pkg-config, the header, both libraries, ldconfig.
pkg-config --cflags pvgpu >/tmp/cflags 2>&1 || fail "pkg-config --cflags pvgpu: $(cat /tmp/cflags)"
[ "$(pkg-config --modversion pvgpu)" = "$version" ] || fail "pkg-config --modversion pvgpu: '$(pkg-config --modversion pvgpu)'"
libs=$(pkg-config --libs pvgpu | xargs)
[ "$libs" = "-lpvgpu" ] || fail "pkg-config --libs pvgpu: '$libs', want '-lpvgpu'"
inc=$(pkg-config --variable=includedir pvgpu) libdir=$(pkg-config --variable=libdir pvgpu)
[ -f "$inc/pvgpu/pvgpu.h" ] || fail "no $inc/pvgpu/pvgpu.h"
for f in libpvgpu.so libpvgpu.a; do [ -e "$libdir/$f" ] || fail "no $libdir/$f"; done
ldconfig -p | grep -qE '^[[:space:]]+libpvgpu\.so\.0 ' ||
    fail "the dynamic linker does not know libpvgpu.so.0 (ldconfig trigger)"

# The door: in the private directory, invisible to the dynamic linker (this
# root has no virglrenderer of its own, so ldconfig must list none: ours
# would shadow the system's), and found by pearvisor for QEMU.
door_dir=$libdir/pearvisor
[ -f "$door_dir/libvirglrenderer.so.1" ] || fail "the door $door_dir/libvirglrenderer.so.1 is not installed"
! ldconfig -p | grep libvirglrenderer || fail "the dynamic linker finds a libvirglrenderer (above)"
export PEARVISOR_CACHE=/tmp/pv-cache XDG_DATA_HOME=/tmp/pv-data XDG_STATE_HOME=/tmp/pv-state
plan=$(DISPLAY=:99 pearvisor run --cpus 1 --memory 512M --gpu venus --dry-run -- true 2>/tmp/dry.err) ||
    fail "pearvisor run --gpu venus --dry-run: $(cat /tmp/dry.err)"
case $plan in
    "LD_LIBRARY_PATH=$door_dir "*) ;;
    *) fail "QEMU would not load the installed door (want LD_LIBRARY_PATH=$door_dir): ${plan:0:300}" ;;
esac

# The guest image recipe: the installed copy runs (an empty cache: not built).
out=$(pearvisor image path debian-13 2>&1) && fail "image path debian-13 succeeded on an empty cache: $out"
grep -q "image 'debian-13' is not built" <<<"$out" || fail "pearvisor image path debian-13: $out"

# A real Venus client (Mesa's driver over vtest) on the installed server.
icd=/usr/share/vulkan/icd.d/virtio_icd.json lvp=/usr/share/vulkan/icd.d/lvp_icd.json
host=$(VK_DRIVER_FILES=$lvp timeout 120 vulkaninfo --summary 2>/dev/null |
    sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' | head -n1)
[ -n "$host" ] || fail "native vulkaninfo --summary shows no device ($lvp)"
sock=/tmp/pv-install.sock
pearvisor gpu serve --socket "$sock" >/tmp/serve.log 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
    [ -S "$sock" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "pearvisor gpu serve exited before listening"
    sleep 0.1
done
[ -S "$sock" ] || fail "pearvisor gpu serve did not create $sock in 30 s"
VN_DEBUG=vtest VTEST_SOCKET_NAME=$sock VK_DRIVER_FILES=$icd timeout -k 5 180 vulkaninfo --summary \
    >/tmp/venus.out 2>/tmp/venus.err || { tail -n 20 /tmp/venus.err >&2; fail "vulkaninfo --summary through Venus exited $?"; }
names=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' /tmp/venus.out)
grep -qxF "Virtio-GPU Venus ($host)" <<<"$names" ||
    fail "no device 'Virtio-GPU Venus ($host)' through Venus; deviceName lines: ${names:-none}"
kill -TERM "$server_pid"
wait "$server_pid"
st=$?
server_pid=
case $st in 0 | 143) ;; *) fail "pearvisor gpu serve exited $st after SIGTERM" ;; esac
note "Venus through the installed server: Virtio-GPU Venus ($host)"

# Purge leaves nothing behind.
dpkg --purge pearvisor >>/tmp/dpkg.log 2>&1 || { tail -n 20 /tmp/dpkg.log >&2; fail "dpkg --purge pearvisor failed"; }
for p in /usr/bin/pearvisor /usr/share/pearvisor "$door_dir" "$libdir/libpvgpu.so.0" /usr/share/doc/pearvisor; do
    [ ! -e "$p" ] || fail "$p is still there after dpkg --purge"
done
! ldconfig -p | grep -qF libpvgpu.so || fail "ldconfig still lists libpvgpu.so.0 after the purge"
echo "PASS: pearvisor $version installs, serves Venus and purges in a clean Debian 13 root"
