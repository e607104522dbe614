#!/usr/bin/env bash
# vtest: `vkmark --winsys headless` with all its default scenes through
# `pearvisor gpu serve`. Passes if vkmark exits 0 and printed an FPS line for
# every default scene, in the order a native run on the host driver prints
# them (the reference for "all default scenes": vkmark has no option to list
# them without running). Each scene runs DURATION seconds (default 0.5, via
# vkmark's global option `-b :duration=D`, which keeps the default scene list)
# instead of vkmark's 10. The FPS lines are printed, not asserted.
#
#   vkmark.sh PEARVISOR [DURATION]
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: vkmark.sh PEARVISOR [DURATION]}
duration=${2:-0.5}
command -v vkmark >/dev/null || skip "vkmark missing: install vkmark"
need_icds

host_name=$(native_device_name)
[ -n "$host_name" ] || fail "native vulkaninfo --summary shows no device ($NATIVE_ICD)"
args=(--winsys headless -b ":duration=$duration")

# scenes OUT: "[vertex] device-local=true" ... of the FPS lines, in order.
fps_re='^\[[a-z0-9-]+\] .*: FPS: [0-9]+ FrameTime: [0-9.]+ ms$'
scenes() { grep -E "$fps_re" "$1" | sed 's/: FPS: .*//'; }

# check_run LABEL OUT RC DEVICE
check_run() {
    local label=$1 out=$2 rc=$3 device=$4
    [ "$rc" -eq 124 ] && { cat "$out" >&2; fail "$label: vkmark timed out after $CLIENT_TIMEOUT s"; }
    [ "$rc" -eq 0 ] || { cat "$out" >&2; fail "$label: vkmark exited $rc"; }
    grep -qE "^[[:space:]]*Device Name:[[:space:]]*$(printf '%s' "$device" |
        sed 's/[][().*^$\\/]/\\&/g')\$" "$out" || {
        cat "$out" >&2
        fail "$label: vkmark did not run on '$device'"
    }
}

native vkmark "${args[@]}" >"$tmp/native.out" 2>&1
check_run native "$tmp/native.out" $? "$host_name"
scenes "$tmp/native.out" >"$tmp/native.scenes"
n=$(wc -l <"$tmp/native.scenes")
[ "$n" -ge 10 ] || { cat "$tmp/native.out" >&2; fail "native vkmark printed only $n FPS lines"; }

start_server "$pv"
venus vkmark "${args[@]}" >"$tmp/venus.out" 2>&1
check_run venus "$tmp/venus.out" $? "Virtio-GPU Venus ($host_name)"
stop_server

grep -E "$fps_re|Score" "$tmp/venus.out"
scenes "$tmp/venus.out" >"$tmp/venus.scenes"
if ! cmp -s "$tmp/native.scenes" "$tmp/venus.scenes"; then
    cat "$tmp/venus.out" >&2
    diff "$tmp/native.scenes" "$tmp/venus.scenes" | sed 's/^/  /' >&2
    fail "through Venus vkmark printed FPS for $(wc -l <"$tmp/venus.scenes") scenes, natively for $n"
fi
echo "PASS $test_name: all $n default scenes ($duration s each) through Venus"
