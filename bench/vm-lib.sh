# Shared setup for the benchmarks that boot `pearvisor` VMs (sourced by
# bench/gpu-vm.sh and bench/desktop.sh): private VM directories under a
# temporary directory, removed at exit with every VM made there and every
# process in bench_pids; DISPLAY unset (each VM gets a private Xvfb); the
# debian-13 guest image must be built. Needs $pv.
#
#   . bench/vm-lib.sh; bench_vm_setup NAME
bench_vm_setup() {
    export PEARVISOR_CACHE=${PEARVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pearvisor}
    tmp=$(mktemp -d "/tmp/pv-bench-$1.XXXXXX")
    export XDG_DATA_HOME=$tmp/data XDG_STATE_HOME=$tmp/state XDG_RUNTIME_DIR=$tmp/run
    unset DISPLAY
    bench_pids=()
    trap bench_vm_cleanup EXIT
    "$pv" image path debian-13 >/dev/null ||
        { echo "$1.sh: build the image first (pearvisor image create debian-13)" >&2; exit 1; }
}
bench_vm_cleanup() {
    set +e
    local n p
    for n in $(ls "$XDG_DATA_HOME/pearvisor/vms" 2>/dev/null); do "$pv" delete --force "$n" >/dev/null 2>&1; done
    for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
