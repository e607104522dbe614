#!/usr/bin/env bash
# gpu-vm, as a user gets it: `pearvisor create --gpu venus` VMs (Debian 13
# guests under TCG, lavapipe as the host driver, PearVisor's renderer through
# QEMU's virtio-gpu-gl with Venus). One boot of VM A carries most checks:
#   1. `pearvisor start` says which display it chose; QEMU runs the door of
#      the pearvisor under test (the directory --gpu venus configures, in
#      QEMU's own environment, and the library it mapped from there); in the
#      guest vulkaninfo shows "Virtio-GPU Venus (<host device>)";
#   2. pv-compute-test and pv-render-test give the same results as natively
#      on the host (compute: Venus on the native device, every size ok with
#      the native run's output digest; render: same checksums = pixels);
#   3. pv-fb-draw (Vulkan, through Venus) draws to the guest's display: two
#      `pearvisor screenshot`s a moment apart are not blank and differ;
#   4. venus-garbage in A gets its context marked fatal while VM B runs the
#      compute test: A's stats count exactly one fatal context, under the
#      reason "unsupported" (its first word is no command type), and A's
#      QEMU debug log (the renderer's stderr) has one fatal line, naming
#      venus-garbage's context; B has none. Both VMs keep working (A runs vulkaninfo again) and `pearvisor
#      stats` answers throughout;
#   5. with no Vulkan ICD on the host, `--gpu venus` boots with 2D and one
#      line says why; --gpu 2d/off give the configured devices (dry run);
#   6. when QEMU itself cannot start the Venus GPU (a libvirglrenderer.so.1
#      its GL module cannot load), the VM comes up with 2D and the line
#      quotes QEMU's error (never a warning, such as QEMU 11.1's for a
#      deprecated option), pointing at the failed attempt's log.
# Nothing may be left running (QEMU, Xvfb).
#
#   vm-venus.sh PEARVISOR PV_COMPUTE_TEST PV_RENDER_TEST VENUS_GARBAGE PV_FB_DRAW
set -euo pipefail
. "$(dirname "$0")/lib.sh"
compute=${2:?} render=${3:?} garbage=${4:?} fbdraw=${5:?}
t_start=$SECONDS
# The CI path: no desktop, no render node: each VM gets a private Xvfb.
gpu_vm_setup "$1"
"$pv" gpu probe >/dev/null 2>&1 || vm_fail "pearvisor gpu probe fails on a host with Vulkan"

# The test programs reach the guests over QEMU user networking (10.0.2.2 is
# the host's loopback): nothing is baked into the image.
mkdir -p "$tmp/www"
cp "$compute" "$render" "$garbage" "$fbdraw" "$tmp/www/"
port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" >"$tmp/http.log" 2>&1 &
bg_pids=$!
VKENV="VK_DRIVER_FILES=/usr/share/vulkan/icd.d/virtio_icd.json"
fetch="cd /tmp && for f in $(basename "$compute") $(basename "$render") $(basename "$garbage") $(basename "$fbdraw"); do busybox wget -q http://10.0.2.2:$port/\$f && chmod +x \$f || exit 1; done"
stats_ok() { "$pv" stats --json "$1" >"$tmp/stats-$1.json" 2>"$tmp/stats-$1.err" || vm_fail "pearvisor stats $1: $(cat "$tmp/stats-$1.err")"; }
stat_of() { sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" "$tmp/stats-$1.json" | head -n1; }
# fatal_reasons VM: "REASON N" lines of the VM's last stats.
fatal_reasons() {
    sed -n 's/.*"fatal_reasons":{\([^}]*\)}.*/\1/p' "$tmp/stats-$1.json" | tr ',' '\n' |
        sed 's/^"\([a-z]*\)":\([0-9]*\)$/\1 \2/'
}

# ---- native reference on the host ----
"$compute" --sizes 4K,1M --iterations 5 >"$tmp/native-compute.out" 2>&1 || vm_fail "native pv-compute-test failed"
"$render" --iterations 2 >"$tmp/native-render.out" 2>&1 || vm_fail "native pv-render-test failed"
results() { sed -n 's/^\(path=[a-z]* ok colors=[0-9]* checksum=[0-9a-f]*\) .*/\1/p' "$1"; }

# ---- --gpu 2d / off / venus: the configurator (dry run) ----
"$pv" run --gpu off --dry-run -- true >"$tmp/dry-off.txt"
grep -q "virtio-gpu" "$tmp/dry-off.txt" && vm_fail "--gpu off still has a virtio-gpu device"
"$pv" run --gpu 2d --dry-run -- true >"$tmp/dry-2d.txt"
expect_grep "--gpu 2d" "-device virtio-gpu-pci " "$tmp/dry-2d.txt"
"$pv" run --gpu venus --dry-run -- true >"$tmp/dry-venus.txt"
expect_grep "--gpu venus" "virtio-gpu-gl-pci,venus=on,blob=on,hostmem=" "$tmp/dry-venus.txt"
expect_grep "--gpu venus memfd" "memory-backend-memfd,id=pv-mem,size=[0-9]*M,share=on" "$tmp/dry-venus.txt"
expect_grep "--gpu venus our door" "LD_LIBRARY_PATH=/" "$tmp/dry-venus.txt"
expect_grep "--gpu venus stats socket" "PEARVISOR_STATS_SOCKET=.*/gpu-stats.sock" "$tmp/dry-venus.txt"
"$pv" run --gpu venus --renderer virgl --dry-run -- true >"$tmp/dry-virgl.txt"
grep -q "LD_LIBRARY_PATH=/" "$tmp/dry-virgl.txt" && vm_fail "--renderer virgl still loads our door"

# ---- VM A: one boot, most checks ----
"$pv" create a --gpu venus --cpus 2 --memory 2G >/dev/null
"$pv" start a >"$tmp/start-a.out" 2>"$tmp/start-a.err" || { cat "$tmp/start-a.err" >&2; vm_fail "start a"; }
cat "$tmp/start-a.err"
expect_grep "display choice line" "^pearvisor: GPU: Venus on PearVisor's renderer; display: a private Xvfb" "$tmp/start-a.err"
qpid=$(cat "$XDG_RUNTIME_DIR/pearvisor/a/qemu.pid")
# The door of this pearvisor: $PEARVISOR_VIRGL_DIR, else its build tree's
# (BUILD/src/cli/pearvisor next to BUILD/src/gpu/virgl-abi). --gpu venus must
# configure it, QEMU's environment must hold it, and the libvirglrenderer
# QEMU mapped must be that directory's (not the system's, nor another tree's).
door=${PEARVISOR_VIRGL_DIR:-$(dirname "$pv")/../gpu/virgl-abi}
[ -e "$door/libvirglrenderer.so.1" ] || vm_fail "no libvirglrenderer.so.1 in $door"
door=$(realpath "$door")
expect_eq "--gpu venus door (dry run)" "$(sed -n 's/.*LD_LIBRARY_PATH=\([^ ]*\).*/\1/p' "$tmp/dry-venus.txt")" "$door"
expect_eq "QEMU's LD_LIBRARY_PATH" "$(tr '\0' '\n' <"/proc/$qpid/environ" | sed -n 's/^LD_LIBRARY_PATH=//p')" "$door"
lib=$(awk '/libvirglrenderer/ { print $6; exit }' "/proc/$qpid/maps")
expect_eq "the libvirglrenderer QEMU mapped" "$lib" "$(realpath "$door/libvirglrenderer.so.1")"
gx a "$fetch" || vm_fail "the guest could not fetch the test programs"
stats_ok a

t=$SECONDS
gx a "$VKENV vulkaninfo --summary" >"$tmp/vi-a.txt" 2>&1 || { cat "$tmp/vi-a.txt" >&2; vm_fail "vulkaninfo in the guest"; }
dev=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' "$tmp/vi-a.txt" | head -n1)
expect_eq "guest Vulkan device" "$dev" "Virtio-GPU Venus ($host_dev)"
echo "ok: guest vulkaninfo: $dev ($((SECONDS - t)) s with the agent round trip)"

gx a "$VKENV /tmp/$(basename "$compute") --sizes 4K,1M --iterations 5" >"$tmp/vm-compute.out" 2>&1 ||
    { cat "$tmp/vm-compute.out" >&2; vm_fail "pv-compute-test in the guest"; }
# Same results as native: Venus on the native run's device, and per size "ok"
# with the digest of the output buffer the native GPU run left (so neither
# run's own CPU check is trusted alone, and both ran the same workload).
compute_results() { sed -n 's/^\(device: .*\)/\1/p; s/^\(size=[0-9]* ok\) .* \(out=[0-9a-f]*\)$/\1 \2/p' "$1"; }
want=$(compute_results "$tmp/native-compute.out" | sed 's/^device: \(.*\)/device: Virtio-GPU Venus (\1)/')
[ "$(echo "$want" | grep -c '^size=')" -eq 2 ] || vm_fail "native compute: not 2 sizes ok with a digest"
got=$(compute_results "$tmp/vm-compute.out")
[ "$got" = "$want" ] ||
    vm_fail "compute in the guest differs from native: want (native) '$(echo $want)', guest '$(echo $got)'"
echo "ok: compute in the guest = native: $(echo $got)"

gx a "$VKENV /tmp/$(basename "$render") --iterations 2" >"$tmp/vm-render.out" 2>&1 ||
    { cat "$tmp/vm-render.out" >&2; vm_fail "pv-render-test in the guest"; }
[ -n "$(results "$tmp/native-render.out")" ] && [ "$(results "$tmp/vm-render.out")" = "$(results "$tmp/native-render.out")" ] ||
    vm_fail "render results differ: guest '$(results "$tmp/vm-render.out")' native '$(results "$tmp/native-render.out")'"
echo "ok: offscreen rendering in the guest = native: $(results "$tmp/vm-render.out" | tr '\n' ' ')"

# Display: Vulkan draws to the scanout; two screenshots a moment apart.
gx a "$VKENV /tmp/$(basename "$fbdraw") 2" || vm_fail "pv-fb-draw (1) failed"
"$pv" screenshot a "$tmp/shot1.png" || vm_fail "screenshot 1"
gx a "$VKENV /tmp/$(basename "$fbdraw") 1" || vm_fail "pv-fb-draw (2) failed"
"$pv" screenshot a "$tmp/shot2.png" || vm_fail "screenshot 2"
python3 - "$tmp/shot1.png" "$tmp/shot2.png" <<'PY' || vm_fail "screenshots are blank or equal"
import struct, sys, zlib
def pixels(path):
    d = open(path, 'rb').read()
    assert d[:8] == b'\x89PNG\r\n\x1a\n', path + ': not a PNG'
    i, idat = 8, b''
    while i < len(d):
        n, t = struct.unpack('>I4s', d[i:i + 8])
        crc, = struct.unpack('>I', d[i + 8 + n:i + 12 + n])
        assert crc == zlib.crc32(d[i + 4:i + 8 + n]), path + ': bad CRC in chunk %r' % t
        if t == b'IDAT': idat += d[i + 8:i + 8 + n]
        i += 12 + n
    return zlib.decompress(idat)
a, b = pixels(sys.argv[1]), pixels(sys.argv[2])
colors = lambda p: len(set(p[i:i + 3] for i in range(1, len(p) - 3, 301)))
print("ok: screenshots: %d and %d sampled colours, %d bytes differ (of %d)" % (
    colors(a), colors(b), sum(x != y for x, y in zip(a[::7], b[::7])), len(a[::7])))
sys.exit(0 if colors(a) > 2 and colors(b) > 2 and a != b else 1)
PY

# ---- malformed stream in A while B computes; stats throughout ----
"$pv" create b --gpu venus --cpus 1 --memory 1G >/dev/null
"$pv" start -q b >/dev/null 2>"$tmp/start-b.err" || { cat "$tmp/start-b.err" >&2; vm_fail "start b"; }
gx b "$fetch" || vm_fail "VM b could not fetch the test programs"
gx b "$VKENV /tmp/$(basename "$compute") --sizes 4K,1M,4M --iterations 20" >"$tmp/b-compute.out" 2>&1 &
b_job=$!
gx a "/tmp/$(basename "$garbage")" >"$tmp/garbage.out" 2>&1 || { cat "$tmp/garbage.out" >&2; vm_fail "venus-garbage did not get its fence back"; }
polls=0
while kill -0 $b_job 2>/dev/null; do stats_ok a; stats_ok b; polls=$((polls + 1)); sleep 0.5; done
wait $b_job || { cat "$tmp/b-compute.out" >&2; vm_fail "compute in VM b failed while a's context went fatal"; }
[ "$(grep -cE '^size=[0-9]+ ok ' "$tmp/b-compute.out")" -eq 3 ] || vm_fail "not every compute size ok in VM b"
stats_ok a; stats_ok b
[ "$(stat_of a contexts_fatal)" -eq 1 ] || { cat "$tmp/stats-a.json" >&2; vm_fail "a has not exactly one fatal context"; }
[ "$(fatal_reasons a | awk '$1 == "unsupported" { print $2 }')" = 1 ] &&
    [ "$(fatal_reasons a | awk '{ n += $2 } END { print n + 0 }')" = 1 ] ||
    { cat "$tmp/stats-a.json" >&2; vm_fail "a's fatal context is not counted under 'unsupported' alone"; }
[ "$(stat_of b contexts_fatal)" -eq 0 ] || vm_fail "b has a fatal context"
[ "$(fatal_reasons b | awk '{ n += $2 } END { print n + 0 }')" = 0 ] || vm_fail "b counts fatal reasons"
# The renderer logs to QEMU's stderr, which the daemonized QEMU points at its -D log.
fatal_a=$(grep -i 'fatal' "$XDG_STATE_HOME/pearvisor/a/qemu-debug.log" || true)
[ "$(printf '%s\n' "$fatal_a" | grep -c .)" -eq 1 ] &&
    printf '%s\n' "$fatal_a" | grep -qE 'context [0-9]+ \(venus-garbage\): fatal \(unsupported\): ' ||
    vm_fail "a's QEMU log has not one fatal line naming venus-garbage and 'unsupported': ${fatal_a:-none}"
grep -qi 'fatal' "$XDG_STATE_HOME/pearvisor/b/qemu-debug.log" && vm_fail "b's QEMU log has a fatal line"
gx a "$VKENV vulkaninfo --summary" 2>&1 | grep -q "Virtio-GPU Venus" || vm_fail "a new context in VM a failed after the fatal one"
"$pv" stats a >"$tmp/stats-a.txt" || vm_fail "stats table"
expect_grep "stats table" "^contexts_fatal  *[1-9]" "$tmp/stats-a.txt"
echo "ok: malformed stream: a has contexts_fatal=1 (unsupported), one log line: $fatal_a"
echo "ok: b computed meanwhile, no fatal context; stats read $polls times during"
"$pv" stop b >/dev/null || vm_fail "stop b"
"$pv" stop a >/dev/null || vm_fail "stop a"

# ---- fallback: the renderer cannot start (no Vulkan ICD on the host) ----
VK_DRIVER_FILES=/nonexistent/icd.json "$pv" start a >"$tmp/start-fb.out" 2>"$tmp/start-fb.err" ||
    { cat "$tmp/start-fb.err" >&2; vm_fail "start with no ICD did not boot"; }
[ "$(grep -c '^pearvisor: GPU:' "$tmp/start-fb.err")" -eq 1 ] || { cat "$tmp/start-fb.err" >&2; vm_fail "not one GPU line"; }
expect_grep "fallback line" "^pearvisor: GPU: falling back to 2D virtio-gpu: the host's Vulkan cannot run the renderer: " "$tmp/start-fb.err"
echo "ok: $(grep '^pearvisor: GPU:' "$tmp/start-fb.err")"
gx a "cat /sys/class/drm/card0/device/uevent 2>/dev/null | grep -q DRIVER=virtio_gpu || ls /dev/dri/card0" >/dev/null ||
    vm_fail "the fallback guest has no 2D virtio-gpu"
gx a "$VKENV vulkaninfo --summary" >/dev/null 2>&1 && vm_fail "the fallback guest still has Venus"
grep -q "virtio-gpu-pci" "$XDG_STATE_HOME/pearvisor/a/qemu.log" || vm_fail "fallback QEMU has no virtio-gpu-pci"
"$pv" stats a >/dev/null 2>&1 && vm_fail "stats answered for a 2D VM"
"$pv" screenshot a "$tmp/shot-2d.png" || vm_fail "screenshot of a 2D VM"
"$pv" stop a >/dev/null || vm_fail "stop a (fallback)"

# ---- fallback: QEMU cannot start the Venus GPU ----
# A library named libvirglrenderer.so.1 without virglrenderer's symbols in
# the door's place: QEMU's GL module fails to load and QEMU exits non-zero.
mkdir -p "$tmp/bad-door"
echo 'int pv_not_virglrenderer;' | cc -shared -fPIC -Wl,-soname,libvirglrenderer.so.1 \
    -o "$tmp/bad-door/libvirglrenderer.so.1" -x c - || vm_fail "cc: the stand-in library"
PEARVISOR_VIRGL_DIR=$tmp/bad-door "$pv" start --no-wait a >"$tmp/start-bad.out" 2>"$tmp/start-bad.err" ||
    { cat "$tmp/start-bad.err" >&2; vm_fail "start with a door QEMU cannot load did not fall back"; }
grep '^pearvisor: GPU:' "$tmp/start-bad.err" >"$tmp/gpu-line-bad.txt"
[ "$(wc -l <"$tmp/gpu-line-bad.txt")" -eq 1 ] || { cat "$tmp/start-bad.err" >&2; vm_fail "not one GPU line"; }
expect_grep "fallback line quotes QEMU's error" \
    "^pearvisor: GPU: falling back to 2D virtio-gpu: QEMU could not start the Venus GPU: .*undefined symbol: virgl_renderer_[a-z_]* (log: $XDG_STATE_HOME/pearvisor/a/qemu-venus.log)\$" \
    "$tmp/gpu-line-bad.txt"
grep -q "warning" "$tmp/gpu-line-bad.txt" && vm_fail "the fallback line quotes a warning: $(cat "$tmp/gpu-line-bad.txt")"
grep -q "virtio-gpu-gl-pci" "$XDG_STATE_HOME/pearvisor/a/qemu-venus.log" &&
    grep -q "undefined symbol" "$XDG_STATE_HOME/pearvisor/a/qemu-venus.log" ||
    vm_fail "qemu-venus.log lacks the failed attempt's command line or error"
grep -q "virtio-gpu-gl-pci" "$XDG_STATE_HOME/pearvisor/a/qemu.log" && vm_fail "the fallback QEMU still has the GL device"
echo "ok: $(cat "$tmp/gpu-line-bad.txt")"
# Still booting: the power button goes unheard and QEMU is made to quit
# (the check below finds any QEMU left running).
"$pv" stop --timeout 1 a >/dev/null 2>&1 || true

"$pv" delete a >/dev/null; "$pv" delete b >/dev/null
pgrep -f "$tmp" | grep -v "^$$\$" | while read -r p; do
    case $(cat /proc/$p/comm 2>/dev/null) in qemu*|Xvfb) vm_fail "left running: $(tr '\0' ' ' </proc/$p/cmdline)" ;; esac
done
echo "gpu-vm test total: $((SECONDS - t_start)) s"
vm_pass
