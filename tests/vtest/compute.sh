#!/usr/bin/env bash
# vtest: pv-compute-test through `pearvisor gpu serve` (Venus over vtest) at
# every size, then the same binary natively; both must match the CPU at every
# element of every size, and the Venus run must really be on the Venus device.
#
#   compute.sh PEARVISOR PV_COMPUTE_TEST [SIZES]     (SIZES default 4K,64K,1M,16M,64M)
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: compute.sh PEARVISOR PV_COMPUTE_TEST [SIZES]}
compute=${2:?usage: compute.sh PEARVISOR PV_COMPUTE_TEST [SIZES]}
sizes=${3:-4K,64K,1M,16M,64M}
need_icds
need_exe "$compute"
n_sizes=$(printf '%s\n' "$sizes" | tr ',' '\n' | grep -c .)

host_name=$(native_device_name)
[ -n "$host_name" ] || fail "native vulkaninfo --summary shows no device ($NATIVE_ICD)"

# check_run LABEL OUT RC DEVICE: exit 0, on DEVICE, one ok line per size.
check_run() {
    local label=$1 out=$2 rc=$3 device=$4 ok
    cat "$out" >&2
    [ "$rc" -eq 124 ] && fail "$label: pv-compute-test timed out after $CLIENT_TIMEOUT s"
    [ "$rc" -eq 0 ] || fail "$label: pv-compute-test exited $rc"
    grep -qxF "device: $device" "$out" ||
        fail "$label: ran on '$(sed -n 's/^device: //p' "$out")', expected '$device'"
    ok=$(grep -cE '^size=[0-9]+ ok ' "$out")
    [ "$ok" -eq "$n_sizes" ] || fail "$label: $ok of $n_sizes sizes ok"
}

start_server "$pv"
venus "$compute" --sizes "$sizes" >"$tmp/venus.out" 2>&1
check_run venus "$tmp/venus.out" $? "Virtio-GPU Venus ($host_name)"
stop_server

native "$compute" --sizes "$sizes" >"$tmp/native.out" 2>&1
check_run native "$tmp/native.out" $? "$host_name"
echo "PASS $test_name: sizes $sizes through Venus and natively"
