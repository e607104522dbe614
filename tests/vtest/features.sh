#!/usr/bin/env bash
# vtest: the Venus device that `pearvisor gpu serve` exposes on this host
# (lavapipe in CI) reports Vulkan >= 1.3 and VK_KHR_swapchain, as the guest
# needs for a desktop: full `vulkaninfo` through Venus, parsed. Its apiVersion
# is the highest major.minor the host device and the client driver both have
# (1.3 for Mesa 25's Venus driver, 1.4 for Mesa 26's on a 1.4 host). Also
# checks the 1.3 features our tests rely on (dynamicRendering,
# synchronization2, timelineSemaphore).
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
# One "GPUn:" section per device (a Vulkan 1.4 client also lists the host device
# as the layered API under VkPhysicalDeviceLayeredApiPropertiesKHR, with its own
# deviceName line, so those lines do not count devices).
[ "$(grep -cE '^GPU[0-9]+:$' "$out")" -eq 1 ] ||
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

# Negotiation: the Venus device offers the highest major.minor both the host
# device and the client driver (its ICD manifest's api_version) support; a
# renderer whose capset or caps hold the client back fails here.
host_api=$(VK_DRIVER_FILES=$NATIVE_ICD timeout 120 vulkaninfo --summary 2>/dev/null |
    sed -n 's/^[[:space:]]*apiVersion[[:space:]]*=[[:space:]]*\([0-9.]*\).*/\1/p' | head -n 1)
icd_api=$(sed -n 's/.*"api_version"[[:space:]]*:[[:space:]]*"\([0-9.]*\)".*/\1/p' "$VIRTIO_ICD" | head -n 1)
[ -n "$host_api" ] && [ -n "$icd_api" ] || fail "no apiVersion from the host ($host_api) or the ICD manifest ($icd_api)"
minor_of() { local v=${1#*.}; echo "$((${1%%.*} * 1000 + ${v%%.*}))"; }
want=$(minor_of "$host_api")
[ "$(minor_of "$icd_api")" -lt "$want" ] && want=$(minor_of "$icd_api")
[ "$(minor_of "$api")" -eq "$want" ] ||
    fail "Venus device apiVersion $api; host $host_api and client manifest $icd_api allow $((want / 1000)).$((want % 1000))"

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

echo "PASS $test_name: '$expected' apiVersion $api (host ${host_api:-?}), VK_KHR_swapchain among $n_ext device extensions"
