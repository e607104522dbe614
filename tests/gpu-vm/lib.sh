# Shared setup for the gpu-vm tests that drive `pearvisor` VMs with the GPU
# (sourced after nothing else): the VM tests' lib.sh, with a skip that CI
# turns into a failure, and what --gpu venus needs on a headless host
# (Xvfb, QEMU's GL modules, a host Vulkan device). Each VM gets a private
# Xvfb: DISPLAY is unset, and CI has no render node.
#
#   . lib.sh; gpu_vm_setup PEARVISOR; ...; vm_pass
. "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"
vm_skip() {
    if [ -n "${CI:-}" ]; then echo "FAIL: $* (CI must not skip)" >&2; exit 1; fi
    echo "SKIP: $*"; exit 77
}
gpu_vm_setup() {
    unset DISPLAY
    vm_setup "$1"
    command -v Xvfb >/dev/null || vm_skip "Xvfb missing (package xvfb)"
    [ -e /usr/lib/x86_64-linux-gnu/qemu/ui-opengl.so ] || vm_skip "QEMU's GL modules missing (qemu-system-modules-opengl)"
    vulkaninfo --summary >/dev/null 2>&1 || vm_skip "no Vulkan device on the host (mesa-vulkan-drivers)"
    host_dev=$(vulkaninfo --summary 2>/dev/null | sed -n 's/^[[:space:]]*deviceName[[:space:]]*=[[:space:]]*//p' | head -n1)
}
# gx VM CMD...: runs CMD with sh -c in the guest.
gx() { local vm=$1; shift; "$pv" exec "$vm" -- sh -c "$*"; }
