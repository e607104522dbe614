#!/usr/bin/env bash
# vtest: pv-hostcopy-test (Vulkan 1.4 host image copies: layout transitions,
# memory to image with padded rows and a sub-rectangle, image to memory,
# image to image, the opaque MEMCPY form, and a device read of the same
# texels) through `pearvisor gpu serve`, then natively. Each run must pass its
# own checks on the expected device, and both must read back the same texels.
# Through Venus the copies travel as vkCopyMemoryToImageMESA and
# vkCopyImageToMemoryMESA (VK_MESA_venus_protocol spec 3); a client driver
# that offers Vulkan 1.3 only (Mesa 25.0) has no host copies: then the test
# checks only that none are offered.
#
#   hostcopy.sh PEARVISOR PV_HOSTCOPY_TEST
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: hostcopy.sh PEARVISOR PV_HOSTCOPY_TEST}
prog=${2:?usage: hostcopy.sh PEARVISOR PV_HOSTCOPY_TEST}
need_icds
need_exe "$prog"

host_name=$(native_device_name)
[ -n "$host_name" ] || fail "native vulkaninfo --summary shows no device ($NATIVE_ICD)"

# check_run LABEL OUT RC DEVICE: exit 0 on DEVICE with an ok line.
check_run() {
    local label=$1 out=$2 rc=$3 device=$4
    cat "$out" >&2
    [ "$rc" -eq 124 ] && fail "$label: pv-hostcopy-test timed out after $CLIENT_TIMEOUT s"
    [ "$rc" -eq 0 ] || fail "$label: pv-hostcopy-test exited $rc"
    grep -qxF "device: $device" "$out" ||
        fail "$label: ran on '$(sed -n 's/^device: //p' "$out")', expected '$device'"
    grep -qE '^hostcopy ok ' "$out" || fail "$label: no ok line"
}

native "$prog" >"$tmp/native.out" 2>&1
check_run native "$tmp/native.out" $? "$host_name"

start_server "$pv"
venus "$prog" --skip-if-no-device >"$tmp/venus.out" 2>&1
rc=$?
if [ "$rc" -eq 77 ]; then
    # Only a client driver that offers Vulkan 1.3 (its ICD manifest says so:
    # Mesa 25.0) may lack host copies; then the Venus device must not offer
    # them (the program found neither 1.4 nor the extension) and that is all
    # this client can check. A 1.4 client on a host with copies must get them.
    cat "$tmp/venus.out" >&2
    stop_server
    client_api=$(sed -n 's/.*"api_version"[[:space:]]*:[[:space:]]*"\([0-9]*\.[0-9]*\).*/\1/p' "$VIRTIO_ICD")
    case $client_api in
        1.[0-3]) echo "PASS $test_name: the Vulkan $client_api client driver offers no host copies, and the Venus device none" ;;
        *) fail "the Venus device has no host image copies with a Vulkan ${client_api:-?} client ($(tail -n 1 "$tmp/venus.out"))" ;;
    esac
    exit 0
fi
check_run venus "$tmp/venus.out" "$rc" "Virtio-GPU Venus ($host_name)"
stop_server

ok() { sed -n 's/^hostcopy ok //p' "$1"; }
[ "$(ok "$tmp/venus.out")" = "$(ok "$tmp/native.out")" ] ||
    fail "through Venus '$(ok "$tmp/venus.out")', natively '$(ok "$tmp/native.out")'"
echo "PASS $test_name: $(ok "$tmp/native.out"), through Venus = natively"
