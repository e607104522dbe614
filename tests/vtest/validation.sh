#!/usr/bin/env bash
# vtest: the renderer's own host calls are valid Vulkan. `pearvisor gpu serve`
# runs with the Khronos validation layer in its host instance (the clients
# run without it: their own usage is not what this checks) while the suite's
# programs go through Venus: full vulkaninfo, pv-compute-test, pv-render-test,
# pv-timeline-test and every default vkmark scene. Any "Validation Error" in
# the server's output fails, and the layer must really be loaded in the
# renderer (its library in the mappings of a client's render process, or of
# the server with --in-process).
#
#   validation.sh PEARVISOR PV_COMPUTE_TEST PV_RENDER_TEST PV_TIMELINE_TEST
. "$(dirname "$0")/lib.sh"
usage="usage: validation.sh PEARVISOR PV_COMPUTE_TEST PV_RENDER_TEST PV_TIMELINE_TEST"
pv=${1:?$usage}
compute=${2:?$usage}
render=${3:?$usage}
timeline=${4:?$usage}
need_icds
for x in "$pv" "$compute" "$render" "$timeline"; do need_exe "$x"; done
layer=VK_LAYER_KHRONOS_validation
manifest=$(grep -l "\"$layer\"" /usr/share/vulkan/explicit_layer.d/*.json 2>/dev/null | head -n1)
if [ -z "$manifest" ]; then
    [ -n "${CI:-}" ] && fail "$layer missing (vulkan-validationlayers; CI must not skip)"
    skip "$layer missing: install vulkan-validationlayers"
fi
command -v vkmark >/dev/null || fail "vkmark missing"

# The server alone gets the layer, through a wrapper that execs it (same pid).
cat >"$tmp/pv-validated" <<WRAP
#!/bin/sh
VK_INSTANCE_LAYERS=$layer exec "$pv" "\$@"
WRAP
chmod +x "$tmp/pv-validated"
start_server "$tmp/pv-validated"

run() {
    local label=$1 rc
    shift
    venus "$@" >"$tmp/$label.out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || { tail -n 20 "$tmp/$label.out" >&2; fail "$label exited $rc through Venus"; }
    note "$label: ok"
}
run vulkaninfo vulkaninfo
# The layer must be loaded where the renderer runs: in the render process of
# a connected client (in the server itself with --in-process).
hold=$tmp/stop-hold
venus "$compute" --sizes 4K --iterations 1 --repeat-until-exists "$hold" >"$tmp/hold.out" 2>&1 &
hold_pid=$!
bg_pids+=("$hold_pid")
for i in $(seq 1 600); do
    grep -q '^size=[0-9]* ok ' "$tmp/hold.out" && break
    kill -0 "$hold_pid" 2>/dev/null || { cat "$tmp/hold.out" >&2; fail "the held compute client ended early"; }
    sleep 0.1
done
loaded=0
for p in "$server_pid" $(ps -o pid= --ppid "$server_pid"); do
    grep -q "libVkLayer_khronos_validation" "/proc/$p/maps" 2>/dev/null && loaded=1
done
touch "$hold"
wait "$hold_pid" || { cat "$tmp/hold.out" >&2; fail "the held compute client failed"; }
[ $loaded -eq 1 ] || fail "the validation layer is not loaded in the server or its render processes"
run compute "$compute" --sizes 4K,1M,16M --iterations 3
run render "$render" --iterations 2 --out "$tmp/venus.pam"
run timeline "$timeline" --steps 64
# `-b :duration=D` keeps vkmark's default scene list, each D seconds.
run vkmark vkmark --winsys headless -b :duration=0.3
grep -c "FPS:" "$tmp/vkmark.out" | grep -qvx 0 || fail "vkmark ran no scene"
stop_server

n=$(grep -c "Validation Error" "$server_log")
if [ "$n" -ne 0 ]; then
    grep -o "VUID-[A-Za-z0-9_-]*" "$server_log" | sort | uniq -c | sort -rn | head -n 20 >&2
    grep -m 3 -A 2 "Validation Error" "$server_log" >&2
    fail "$n validation error(s) from the renderer's host calls"
fi
echo "PASS $test_name: 0 validation errors over vulkaninfo, compute, render, timeline, every default vkmark scene"
