#!/usr/bin/env bash
# vtest: pv-coopmat-test (a VK_KHR_cooperative_matrix matrix product, f16 x
# f16 -> f32 subgroup tiles, checked against the CPU element for element)
# natively and through `pearvisor gpu serve`. Where the host driver offers
# cooperative matrices and the client is a Vulkan 1.4 driver (Mesa 26), the
# product through Venus must pass and equal the native one. A host without
# them (lavapipe 25) must not get them through Venus either.
#
#   coopmat.sh PEARVISOR PV_COOPMAT_TEST
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: coopmat.sh PEARVISOR PV_COOPMAT_TEST}
prog=${2:?usage: coopmat.sh PEARVISOR PV_COOPMAT_TEST}
need_icds
need_exe "$prog"
host_name=$(native_device_name)
[ -n "$host_name" ] || fail "native vulkaninfo --summary shows no device ($NATIVE_ICD)"

native "$prog" --skip-if-no-device >"$tmp/native.out" 2>&1
nrc=$?
cat "$tmp/native.out" >&2
start_server "$pv"
venus "$prog" --skip-if-no-device >"$tmp/venus.out" 2>&1
vrc=$?
cat "$tmp/venus.out" >&2
stop_server
client_api=$(sed -n 's/.*"api_version"[[:space:]]*:[[:space:]]*"\([0-9]*\.[0-9]*\).*/\1/p' "$VIRTIO_ICD")
case $nrc in
    77)
        [ "$vrc" -eq 77 ] || fail "the host has no cooperative matrices, yet through Venus: exit $vrc"
        echo "PASS $test_name: the host offers no cooperative matrices, and neither does Venus"
        exit 0 ;;
    0) ;;
    *) fail "native pv-coopmat-test exited $nrc" ;;
esac
if [ "$vrc" -eq 77 ]; then
    case $client_api in
        1.[0-3]) echo "PASS $test_name: the Vulkan $client_api client driver offers no cooperative matrices (native passes)"; exit 0 ;;
        *) fail "the host has cooperative matrices but the Vulkan ${client_api:-?} client gets none through Venus" ;;
    esac
fi
[ "$vrc" -eq 0 ] || fail "pv-coopmat-test through Venus exited $vrc"
grep -qxF "device: Virtio-GPU Venus ($host_name)" "$tmp/venus.out" || fail "ran on another device"
ok() { sed -n 's/^coopmat ok //p' "$1"; }
[ -n "$(ok "$tmp/venus.out")" ] && [ "$(ok "$tmp/venus.out")" = "$(ok "$tmp/native.out")" ] ||
    fail "through Venus '$(ok "$tmp/venus.out")', natively '$(ok "$tmp/native.out")'"
echo "PASS $test_name: $(ok "$tmp/venus.out") through Venus, equal to native and to the CPU"
