#!/usr/bin/env bash
# gpu-vm desktop: `pearvisor create --desktop` (Debian 13 guest under TCG,
# lavapipe as the host driver, PearVisor's renderer through QEMU's
# virtio-gpu-gl with Venus), one boot:
#   1. the definition and QEMU's command line carry the desktop (keyboard,
#      tablet, pearvisor.desktop=venus); `pearvisor start` returns once the
#      session is up and says where the screen is;
#   2. the guest's weston session comes up on the VM's display: a screenshot
#      shows its background colour, with the panel along the top edge (the
#      whole display, the right way up);
#   3. the stock vkcube (vulkan-tools, Wayland) runs on Venus in the session:
#      two screenshots a moment apart have many colours (far more than the
#      empty desktop's) and differ;
#   4. while vkcube runs, glmark2 (its Wayland GL build) runs through Mesa's
#      zink on Venus and prints its score; its GL_RENDERER names zink and
#      Venus; vkcube still runs afterwards;
#   5. an X11 Vulkan app (vkcube --wsi xcb) runs through XWayland;
#   6. `pearvisor stop` leaves no process, socket or file of the VM behind.
#
#   desktop.sh PEARVISOR SCREENS_PY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
screens=${2:?usage: desktop.sh PEARVISOR SCREENS_PY}
gpu_vm_setup "$1"
shot() { "$pv" screenshot d "$tmp/$1.png" >/dev/null || vm_fail "screenshot $1"; }
colours() { python3 "$screens" colours "$tmp/$1.png"; }

# ---- 1. the definition and QEMU's command line ----
"$pv" create d --desktop --cpus 2 --memory 2G >"$tmp/create.out" || vm_fail "create --desktop"
expect_grep "create line" "gpu venus on pearvisor, desktop" "$tmp/create.out"
expect_grep "vm.conf" "^desktop=1$" "$XDG_DATA_HOME/pearvisor/vms/d/vm.conf"
"$pv" run --desktop --dry-run -- true >"$tmp/dry.txt"
for want in "virtio-gpu-gl-pci,venus=on" "-device virtio-keyboard-pci" "-device virtio-tablet-pci" \
    "pearvisor.desktop=venus"; do
    expect_grep "--desktop dry run" "$want" "$tmp/dry.txt"
done
"$pv" run --desktop --gpu 2d --dry-run -- true >"$tmp/dry-2d.txt"
expect_grep "--desktop --gpu 2d" "pearvisor.desktop=2d" "$tmp/dry-2d.txt"
"$pv" create e --desktop --gpu off >/dev/null 2>"$tmp/off.err" && vm_fail "create --desktop --gpu off succeeded"
expect_grep "--desktop --gpu off" "--desktop needs a display" "$tmp/off.err"

t0=$(date +%s%3N)
"$pv" start d >"$tmp/start.out" 2>"$tmp/start.err" || { cat "$tmp/start.err" >&2; vm_fail "start d"; }
cat "$tmp/start.err"
expect_grep "display line" "^pearvisor: GPU: Venus on PearVisor's renderer; display: a private Xvfb" "$tmp/start.err"
# start returns once the session is up, and says where the screen is.
expect_grep "desktop line" "^pearvisor: desktop: on the VM's private Xvfb, no window and no remote view .*; the session (weston) is up [0-9.]* s after the guest$" "$tmp/start.err"
gx d "test -e /run/pearvisor/session.env" || vm_fail "start returned before the session was up"

# ---- 2. the session on the VM's display ----
for i in $(seq 1 240); do
    gx d "test -e /run/pearvisor/session.env" 2>/dev/null && break
    gx d "grep -q 'ended\|no desktop\|no socket' /run/pearvisor/session.log" 2>/dev/null && break
    sleep 0.5
done
gx d "test -e /run/pearvisor/session.env" ||
    { gx d "cat /run/pearvisor/session.log /run/pearvisor/weston.log" >&2 || true; vm_fail "the desktop session did not come up in 120 s"; }
session_ms=$(($(date +%s%3N) - t0))
# weston.ini's background, 0x2a3b4c, on most of the screen.
share=0
for i in $(seq 1 60); do
    shot desk
    share=$(python3 "$screens" share "$tmp/desk.png" 2a3b4c)
    [ "${share%%.*}" = 1 ] || [ "${share#0.}" -ge 500 ] && break
    sleep 0.5
done
[ "${share%%.*}" = 1 ] || [ "${share#0.}" -ge 500 ] ||
    vm_fail "the desktop's background (0x2a3b4c) covers $share of the screen, not half"
desk_ms=$(($(date +%s%3N) - t0))
# The right way up, the whole display: weston's panel is along the top
# (weston.ini), the background along the bottom rows.
top=$(python3 "$screens" share "$tmp/desk.png" 2a3b4c 0 16)
bottom=$(python3 "$screens" share "$tmp/desk.png" 2a3b4c 784 800)
[ "$top" = 0.000 ] && [ "$bottom" = 1.000 ] ||
    vm_fail "the screen is not the desktop the right way up: background in the top rows $top (want 0, the panel), bottom rows $bottom (want 1)"
desk_colours=$(colours desk)
echo "ok: the weston session is up ${session_ms} ms after start, on screen at ${desk_ms} ms (background $share of it); the empty desktop has $desk_colours colours"

# ---- 3. vkcube in the session, on Venus ----
gx d "vkcube --wsi wayland >/tmp/vkcube.log 2>&1 &" || vm_fail "could not start vkcube"
want=$((desk_colours + 200))
c1=0
for i in $(seq 1 120); do
    shot cube1
    c1=$(colours cube1)
    [ "$c1" -ge "$want" ] && break
    gx d "pidof vkcube >/dev/null" || { gx d "cat /tmp/vkcube.log" >&2; vm_fail "vkcube ended"; }
    sleep 0.5
done
[ "$c1" -ge "$want" ] || { gx d "cat /tmp/vkcube.log" >&2; vm_fail "no cube on the screen in 60 s ($c1 colours, want $want)"; }
cube_ms=$(($(date +%s%3N) - t0))
sleep 1
shot cube2
c2=$(colours cube2)
moved=$(python3 "$screens" diff "$tmp/cube1.png" "$tmp/cube2.png")
[ "$c2" -ge "$want" ] && [ "$moved" -ge 1000 ] ||
    vm_fail "vkcube's screenshots: $c1 and $c2 colours (want $want), $moved pixels differ (want 1000)"
gx d "cat /tmp/vkcube.log" >"$tmp/vkcube.log"
expect_grep "vkcube's GPU" "Selected GPU [0-9]*: Virtio-GPU Venus ($host_dev)" "$tmp/vkcube.log"
echo "ok: vkcube on Venus in the session: screenshots with $c1 and $c2 colours, $moved pixels moved; first cube at ${cube_ms} ms"

# ---- 4. glmark2 through zink on Venus, beside vkcube ----
gx d "glmark2-wayland -s 400x300 -b build:duration=3 -b texture:duration=3 -b shading:duration=3" \
    >"$tmp/glmark2.out" 2>&1 || { cat "$tmp/glmark2.out" >&2; vm_fail "glmark2-wayland failed"; }
renderer=$(sed -n 's/^ *GL_RENDERER: *//p' "$tmp/glmark2.out")
score=$(sed -n 's/^ *glmark2 Score: *\([0-9][0-9]*\).*/\1/p' "$tmp/glmark2.out")
case $renderer in
    zink*"Virtio-GPU Venus ($host_dev)"*) ;;
    *) cat "$tmp/glmark2.out" >&2; vm_fail "glmark2's GL_RENDERER is '$renderer', not zink on Venus" ;;
esac
[ -n "$score" ] && [ "$score" -gt 0 ] || { cat "$tmp/glmark2.out" >&2; vm_fail "glmark2 printed no score"; }
gx d "pidof vkcube >/dev/null" || { gx d "cat /tmp/vkcube.log" >&2; vm_fail "vkcube ended while glmark2 ran"; }
shot cube3
moved=$(python3 "$screens" diff "$tmp/cube2.png" "$tmp/cube3.png")
[ "$moved" -ge 1000 ] || vm_fail "vkcube stopped drawing while glmark2 ran ($moved pixels differ)"
echo "ok: glmark2 score $score on '$renderer', with vkcube running beside it"

# ---- 5. an X11 app through XWayland ----
gx d "vkcube --wsi xcb --c 30" >"$tmp/vkcube-x11.log" 2>&1 ||
    { cat "$tmp/vkcube-x11.log" >&2; vm_fail "vkcube --wsi xcb (XWayland) failed"; }
expect_grep "X11 vkcube's GPU" "Selected GPU [0-9]*: Virtio-GPU Venus" "$tmp/vkcube-x11.log"
echo "ok: vkcube --wsi xcb ran 30 frames through XWayland on Venus"

# ---- 6. stop leaves nothing behind ----
run_dir=$XDG_RUNTIME_DIR/pearvisor/d
"$pv" stop d >/dev/null || vm_fail "stop d"
left=$(pgrep -af -- "$tmp" || true)
[ -z "$left" ] || vm_fail "processes left after stop: $left"
[ -z "$(find "$XDG_RUNTIME_DIR" -type s 2>/dev/null)" ] || vm_fail "sockets left: $(find "$XDG_RUNTIME_DIR" -type s)"
[ ! -d "$run_dir" ] || [ -z "$(ls -A "$run_dir")" ] || vm_fail "files left in $run_dir: $(ls -A "$run_dir")"
echo "ok: stop left no process, socket or runtime file"
vm_pass
