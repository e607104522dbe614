#!/bin/sh
# The guest's desktop session (`pearvisor create --desktop`), started in the
# background by boot.sh when the kernel command line has
# pearvisor.desktop=venus or pearvisor.desktop=2d.
#
# weston, with its DRM backend on the virtio-gpu display and its pixman
# renderer, XWayland for X11 apps. Why weston and pixman: weston is the
# reference compositor, in Debian 13, runs as root without logind (libseat's
# noop backend) and needs no configuration beyond a file; its GL renderer
# would need GBM on the virtio-gpu device, and the guest's GBM has no driver
# for a Venus-only host (virgl's GL capset is not served) and zink's GBM needs
# scanout of blob resources, which QEMU can do only with a host dma-buf.
# Pixman scans out of dumb buffers, which every virtio-gpu host shows.
#
# Once the compositor's socket is up, the session's environment goes to
# /run/pearvisor/session.env, which pv-init gives every command it runs
# (`pearvisor exec`): the Wayland and X11 displays, and with Venus the GPU
# for Vulkan apps (only the Venus ICD; its swapchains present through
# wl_shm copies: a pixman compositor takes no dma-bufs) and for GL apps
# (Mesa's zink on Venus through its Vulkan WSI, kopper). Logs:
# /run/pearvisor/weston.log and /run/pearvisor/session.log.
#
#   session.sh venus|2d        the session (boot.sh, in the background)
#   session.sh --wait [SECS]   waits for it to be up (pearvisor start runs
#                              this): exit 0, or 1 with the reason on stdout
state=/run/pearvisor
if [ "${1:-}" = --wait ]; then
    n=$((${2:-120} * 10))
    while [ "$n" -gt 0 ]; do
        [ -e "$state/session.env" ] && exit 0
        why=$(sed -n 's/^pearvisor-desktop: //p' "$state/session.log" 2>/dev/null | grep -v ' is up ' | tail -n 1)
        [ -n "$why" ] && { echo "$why"; exit 1; }
        sleep 0.1
        n=$((n - 1))
    done
    echo "no compositor after ${2:-120} s (see $state/session.log in the guest)"
    exit 1
fi
mode=$1
rt=/run/user/0
mkdir -p "$state" "$rt" /tmp/.X11-unix
chmod 700 "$rt"
chmod 1777 /tmp/.X11-unix
exec >>"$state/session.log" 2>&1
say() { echo "pearvisor-desktop: $*"; echo "pearvisor-desktop: $*" >/dev/console; }
command -v weston >/dev/null || { say "no weston in this image: no desktop"; exit 1; }

# The DRM device appears once virtio_gpu (loaded by boot.sh) has probed.
i=0
while [ ! -e /dev/dri/card0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /dev/dri/card0 ] || { say "no /dev/dri/card0: no desktop"; exit 1; }

export XDG_RUNTIME_DIR=$rt HOME=/root LIBSEAT_BACKEND=noop
env="XDG_RUNTIME_DIR=$rt
WAYLAND_DISPLAY=wayland-0
DISPLAY=:0"
if [ "$mode" = venus ]; then
    env="$env
VK_LOADER_DRIVERS_SELECT=*virtio*
MESA_VK_WSI_DEBUG=sw
MESA_LOADER_DRIVER_OVERRIDE=zink"
fi
# weston's own children (its shell, XWayland's clients) get the same.
set -f
for kv in $env; do export "$kv"; done
set +f
unset WAYLAND_DISPLAY DISPLAY

weston --backend=drm --renderer=pixman --shell=desktop --xwayland --socket=wayland-0 \
    --continue-without-input --config=/usr/lib/pearvisor/weston.ini \
    --log="$state/weston.log" &
pid=$!
echo "$pid" >"$state/weston.pid"
i=0
while [ ! -S "$rt/wayland-0" ] && [ $i -lt 600 ]; do
    kill -0 "$pid" 2>/dev/null || { say "weston ended at start (log: $state/weston.log)"; exit 1; }
    sleep 0.1
    i=$((i + 1))
done
[ -S "$rt/wayland-0" ] || { say "weston made no socket in 60 s (log: $state/weston.log)"; exit 1; }
# zink through kopper takes the first Vulkan device, but a CPU-type one
# (Venus on lavapipe) only when LIBGL_ALWAYS_SOFTWARE says so, and then only
# a CPU-type one (Mesa 25.0, zink_screen.c choose_pdev): set it exactly when
# the host's device is a CPU.
if [ "$mode" = venus ] && VK_LOADER_DRIVERS_SELECT='*virtio*' timeout 60 vulkaninfo --summary 2>/dev/null |
    grep -q 'deviceType *= *PHYSICAL_DEVICE_TYPE_CPU'; then
    env="$env
LIBGL_ALWAYS_SOFTWARE=1"
fi
printf '%s\n' "$env" >"$state/session.env.tmp" && mv "$state/session.env.tmp" "$state/session.env"
say "weston is up on wayland-0 (X11 apps: DISPLAY=:0), $mode"
wait "$pid"
say "weston ended ($?)"
rm -f "$state/session.env"
