#!/usr/bin/env bash
# vtest: full `vulkaninfo` through `pearvisor gpu serve` with Mesa's Venus ICD
# exits 0 and shows the Venus device wrapping the host device, whose name is
# taken from native `vulkaninfo --summary` (llvmpipe here). A second client
# (`vulkaninfo --summary`) on the same server must work too.
#
#   vulkaninfo.sh PEARVISOR
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: vulkaninfo.sh PEARVISOR}
command -v vulkaninfo >/dev/null || skip "vulkaninfo missing: install vulkan-tools"
need_icds

start_server "$pv"
venus_full_vulkaninfo
names=$(sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' "$tmp/full.out")
printf '%s\n' "$names" | grep -qxF "$expected" ||
    fail "full vulkaninfo: no device named '$expected'; deviceName lines: ${names:-none}"
# The full report, not only the summary: per-device sections must be there.
for section in 'VkPhysicalDeviceProperties:' 'VkPhysicalDeviceLimits:' 'Device Extensions: count' \
    'VkQueueFamilyProperties:' 'VkPhysicalDeviceMemoryProperties:' 'VkPhysicalDeviceFeatures:'; do
    grep -qF "$section" "$tmp/full.out" || fail "full vulkaninfo output lacks '$section'"
done
note "full vulkaninfo ok: $(wc -l <"$tmp/full.out") lines, device '$expected'"

venus vulkaninfo --summary >"$tmp/summary.out" 2>"$tmp/summary.err" ||
    { tail -n 20 "$tmp/summary.err" >&2; fail "second client (vulkaninfo --summary) exited $?"; }
grep -qF "$expected" "$tmp/summary.out" || fail "second client: no '$expected' in vulkaninfo --summary"

stop_server
echo "PASS $test_name: $expected"
