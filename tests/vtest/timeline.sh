#!/usr/bin/env bash
# vtest: pv-timeline-test (timeline semaphores: host operations, a host signal
# unblocking a submit, two threads stepping one semaphore with GPU-side and
# host waits, values and ordering checked) through `pearvisor gpu serve`,
# then natively. Both must pass every case on the expected device.
#
#   timeline.sh PEARVISOR PV_TIMELINE_TEST [STEPS]     (STEPS default 256)
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: timeline.sh PEARVISOR PV_TIMELINE_TEST [STEPS]}
timeline=${2:?usage: timeline.sh PEARVISOR PV_TIMELINE_TEST [STEPS]}
steps=${3:-256}
need_icds
need_exe "$timeline"

host_name=$(native_device_name)
[ -n "$host_name" ] || fail "native vulkaninfo --summary shows no device ($NATIVE_ICD)"

# check_run LABEL OUT RC DEVICE: exit 0, on DEVICE, an ok line per case.
check_run() {
    local label=$1 out=$2 rc=$3 device=$4 case
    cat "$out" >&2
    [ "$rc" -eq 124 ] && fail "$label: pv-timeline-test timed out after $CLIENT_TIMEOUT s"
    [ "$rc" -eq 0 ] || fail "$label: pv-timeline-test exited $rc"
    grep -qxF "device: $device" "$out" ||
        fail "$label: ran on '$(sed -n 's/^device: //p' "$out")', expected '$device'"
    for case in host_ops host_unblocks_gpu two_threads; do
        grep -qE "^case=$case ok( |$)" "$out" || fail "$label: no ok line for case $case"
    done
}

start_server "$pv"
venus "$timeline" --steps "$steps" >"$tmp/venus.out" 2>&1
check_run venus "$tmp/venus.out" $? "Virtio-GPU Venus ($host_name)"
stop_server

native "$timeline" --steps "$steps" >"$tmp/native.out" 2>&1
check_run native "$tmp/native.out" $? "$host_name"
echo "PASS $test_name: $steps steps through Venus and natively"
