#!/usr/bin/env bash
# vtest: the Venus device that `pearvisor gpu serve` exposes on this host
# (lavapipe in CI) reports Vulkan >= 1.3 and VK_KHR_swapchain, as the guest
# needs for a desktop: full `vulkaninfo` through Venus, parsed. Also checks
# the 1.3 features our tests rely on (dynamicRendering, synchronization2,
# timelineSemaphore) and prints the host's apiVersion next to Venus's.
#
#   features.sh PEARVISOR
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: features.sh PEARVISOR}
command -v vulkaninfo >/dev/null || skip "vulkaninfo missing: install vulkan-tools"
need_icds

start_server "$pv"
venus_full_vulkaninfo
stop_server

out=$tmp/full.out
grep -qE "^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*$(printf '%s' "$expected" |
    sed 's/[][().*^$\\/]/\\&/g')\$" "$out" || fail "no device named '$expected' in vulkaninfo"
[ "$(grep -cE '^[[:space:]]*deviceName[[:space:]]*=' "$out")" -eq 1 ] ||
    fail "expected exactly one device through Venus"

# "	apiVersion        = 1.3.269 (4206861)" of VkPhysicalDeviceProperties.
api=$(sed -n 's/^[[:space:]]*apiVersion[[:space:]]*=[[:space:]]*\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p' "$out" |
    head -n 1)
[ -n "$api" ] || fail "no apiVersion line in vulkaninfo"
major=${api%%.*}
minor=${api#*.}
minor=${minor%%.*}
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 3 ]; }; then
    fail "Venus device apiVersion $api < 1.3"
fi

# Device extensions: the lines after "Device Extensions: count = N".
sed -n '/^Device Extensions: count/,/^$/p' "$out" >"$tmp/ext"
grep -qE '^[[:space:]]*VK_KHR_swapchain[[:space:]]*:' "$tmp/ext" ||
    fail "VK_KHR_swapchain is not among the Venus device's extensions"
n_ext=$(sed -n 's/^Device Extensions: count = \([0-9]*\).*/\1/p' "$out")

# feature_true SECTION FEATURE: "FEATURE = true" inside "SECTION:".
feature_true() {
    sed -n "/^$1:\$/,/^\$/p" "$out" | grep -qE "^[[:space:]]*$2[[:space:]]*=[[:space:]]*true\$" ||
        fail "$1.$2 is not true"
}
feature_true VkPhysicalDeviceVulkan13Features dynamicRendering
feature_true VkPhysicalDeviceVulkan13Features synchronization2
feature_true VkPhysicalDeviceVulkan12Features timelineSemaphore

host_api=$(VK_DRIVER_FILES=$NATIVE_ICD timeout 120 vulkaninfo --summary 2>/dev/null |
    sed -n 's/^[[:space:]]*apiVersion[[:space:]]*=[[:space:]]*\([0-9.]*\).*/\1/p' | head -n 1)
echo "PASS $test_name: '$expected' apiVersion $api (host ${host_api:-?}), VK_KHR_swapchain among $n_ext device extensions"
