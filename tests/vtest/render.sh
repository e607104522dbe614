#!/usr/bin/env bash
# vtest: pv-render-test (graphics pipeline into an image, render pass and
# dynamic rendering paths, read back into a host-visible buffer) through
# `pearvisor gpu serve`, then natively. Each run must pass its own checks
# (enough distinct colors, clear-colored corners, the depth test, both paths
# equal), run on the expected device, and the Venus pixels must equal the
# native pixels byte for byte: the same lavapipe renders both.
#
#   render.sh PEARVISOR PV_RENDER_TEST
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: render.sh PEARVISOR PV_RENDER_TEST}
render=${2:?usage: render.sh PEARVISOR PV_RENDER_TEST}
need_icds
need_exe "$render"

host_name=$(native_device_name)
[ -n "$host_name" ] || fail "native vulkaninfo --summary shows no device ($NATIVE_ICD)"

# check_run LABEL OUT RC DEVICE: exit 0, on DEVICE, an ok line per path.
check_run() {
    local label=$1 out=$2 rc=$3 device=$4 path
    cat "$out" >&2
    [ "$rc" -eq 124 ] && fail "$label: pv-render-test timed out after $CLIENT_TIMEOUT s"
    [ "$rc" -eq 0 ] || fail "$label: pv-render-test exited $rc"
    grep -qxF "device: $device" "$out" ||
        fail "$label: ran on '$(sed -n 's/^device: //p' "$out")', expected '$device'"
    for path in renderpass dynamic; do
        grep -qE "^path=$path ok " "$out" || fail "$label: no ok line for path $path"
    done
}

start_server "$pv"
venus "$render" --iterations 2 --out "$tmp/venus.pam" >"$tmp/venus.out" 2>&1
check_run venus "$tmp/venus.out" $? "Virtio-GPU Venus ($host_name)"
stop_server

native "$render" --iterations 2 --out "$tmp/native.pam" >"$tmp/native.out" 2>&1
check_run native "$tmp/native.out" $? "$host_name"

# The pixel results (colors, checksum), without the timings.
results() { sed -n 's/^\(path=[a-z]* ok colors=[0-9]* checksum=[0-9a-f]*\) .*/\1/p' "$1"; }
if [ "$(results "$tmp/venus.out")" != "$(results "$tmp/native.out")" ] ||
    ! cmp -s "$tmp/venus.pam" "$tmp/native.pam"; then
    note "venus:  $(results "$tmp/venus.out" | tr '\n' ' ')"
    note "native: $(results "$tmp/native.out" | tr '\n' ' ')"
    cmp "$tmp/venus.pam" "$tmp/native.pam" >&2
    fail "the pixels through Venus differ from the native pixels"
fi
echo "PASS $test_name: $(results "$tmp/native.out" | tr '\n' ' ')through Venus = natively"
