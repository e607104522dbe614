# Shared setup for the VM tests (sourced). Real guests under QEMU (TCG on our
# machines), real files, nothing mocked. Each test gets private XDG data,
# state and runtime directories under /tmp, so it sees only its own VMs; the
# guest image is shared and cached ($PEARVISOR_CACHE, which scripts/in-env.sh
# points at the host's cache, outside any checkout).
#
#   usage in a test: . lib.sh; vm_setup "$@"; ...; vm_pass
set -euo pipefail
vm_script=$0
vm_script_args=("$@")

# vm_arch (set before vm_setup; default x86_64) picks the guests' CPU: arm64
# needs qemu-system-aarch64 and the arm64 image (pearvisor image create
# debian-13 --arch arm64).
vm_setup() {
    pv=${1:?usage: TEST.sh PEARVISOR}
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    top=$(cd "$here/../.." && pwd)
    export PEARVISOR_CACHE=${PEARVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pearvisor}
    local qemu=qemu-system-x86_64 qpkg=qemu-system-x86 image=(debian-13)
    if [ "${vm_arch:-x86_64}" = arm64 ]; then
        qemu=qemu-system-aarch64 qpkg=qemu-system-arm image+=(--arch arm64)
    fi
    command -v $qemu >/dev/null || vm_skip "$qemu not installed (package $qpkg)"
    command -v qemu-img >/dev/null || vm_skip "qemu-img not installed (package qemu-utils)"
    tmp=$(mktemp -d /tmp/pv-vmtest.XXXXXX)
    export XDG_DATA_HOME=$tmp/data XDG_STATE_HOME=$tmp/state XDG_RUNTIME_DIR=$tmp/run
    trap vm_cleanup EXIT
    if ! "$pv" image path "${image[@]}" >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || vm_skip "the ${image[*]} image is not built and building it needs root"
        echo "# building the ${image[*]} guest image (cached afterwards)" >&2
        "$pv" image create "${image[@]}" >/dev/null || vm_fail "pearvisor image create ${image[*]} failed"
    fi
}

# Removes every VM this test made (stopping any still running) and its files.
vm_cleanup() {
    local rc=$? name log qemu_race=
    set +e
    # On failure, what each VM's QEMU and console said last (they go below).
    if [ $rc -ne 0 ] && [ -d "$XDG_STATE_HOME/pearvisor" ]; then
        for log in "$XDG_STATE_HOME"/pearvisor/*/qemu.log "$XDG_STATE_HOME"/pearvisor/*/qemu-debug.log \
            "$XDG_STATE_HOME"/pearvisor/*/console.log; do
            [ -s "$log" ] || continue
            echo "---- ${log#"$XDG_STATE_HOME"/pearvisor/} (last 15 lines) ----" >&2
            tail -n 15 "$log" >&2
        done
        # QEMU 10.0's TCG (Debian 13's 10.0.x) can abort on a guest MMIO
        # access made while the memory map changes under it (a blob mapped
        # or unmapped in virtio-gpu's host-visible window): the vCPU's TLB
        # still holds a section index of the old map, and physmem.c's
        # iotlb_to_section() asserts it against the new one. It is QEMU's
        # race, in the code of upstream issue 3040 (whose use-after-free fix
        # Debian carries), not ours; seen here in 1 of 6 runs under extra CPU
        # load, and in a quiet CI run of 2026-12-02 twice in a row (VM b, then
        # VM a on the rerun); KVM has no such path. Only that exact abort
        # reruns the test, at most twice, and says so; any other failure, or
        # that abort three times, stays red.
        grep -qs "iotlb_to_section: Assertion" "$XDG_STATE_HOME"/pearvisor/*/qemu-debug.log &&
            qemu_race=1
    fi
    if [ -d "$XDG_DATA_HOME/pearvisor/vms" ]; then
        for name in $(ls "$XDG_DATA_HOME/pearvisor/vms"); do
            "$pv" delete --force "$name" >/dev/null 2>&1
        done
    fi
    # Anything a test started in the background (servers on the host).
    for pid in ${bg_pids:-}; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    rm -rf "$tmp"
    local reruns=${PV_VM_TEST_RERUN:-0}
    if [ -n "$qemu_race" ] && [ "$reruns" -lt 2 ]; then
        echo "# QEMU aborted in iotlb_to_section (its TCG race with memory map changes, not" \
            "PearVisor's): running $(basename "$vm_script") again (rerun $((reruns + 1)) of 2)" >&2
        trap - EXIT
        PV_VM_TEST_RERUN=$((reruns + 1)) exec "$vm_script" "${vm_script_args[@]}"
    fi
    exit $rc
}

vm_skip() { echo "SKIP: $*"; exit 77; }
vm_fail() { echo "FAIL: $*" >&2; exit 1; }
vm_pass() { echo "PASS: $(basename "$0" .sh)"; }

# expect_eq WHAT GOT WANT
expect_eq() { [ "$2" = "$3" ] || vm_fail "$1: got '$2', want '$3'"; }
# expect_grep WHAT PATTERN FILE
expect_grep() { grep -q -- "$2" "$3" || { sed 's/^/    /' "$3" >&2; vm_fail "$1: no '$2' in $3"; }; }

# A free TCP port on the host's loopback.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# expect_error WHAT PATTERN COMMAND...: the command fails with exactly one
# line on stderr, which contains PATTERN.
expect_error() {
    local what=$1 pattern=$2
    shift 2
    local rc=0
    "$@" >"$tmp/err.out" 2>"$tmp/err.txt" || rc=$?
    [ $rc -ne 0 ] || vm_fail "$what: exit status 0, want non-zero"
    [ "$(wc -l <"$tmp/err.txt")" -eq 1 ] || { cat "$tmp/err.txt" >&2; vm_fail "$what: not one line on stderr"; }
    expect_grep "$what" "$pattern" "$tmp/err.txt"
    echo "ok: $what: $(cat "$tmp/err.txt")"
}
