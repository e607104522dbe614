#!/usr/bin/env bash
# create, start, list, exec, stop, delete round-trip with two VMs running at
# once, and the error cases, each one line on stderr and a non-zero exit,
# leaving nothing behind: unknown image, missing QEMU, a name that exists,
# --memory beyond the host, a VM already running, deleting a running VM, a
# disk used twice (QEMU's lock), a guest that does not boot in time.
#
#   lifecycle.sh PEARVISOR
. "$(dirname "$0")/lib.sh"
vm_setup "$@"

"$pv" create alpha --cpus 1 --memory 768M --gpu off >/dev/null
"$pv" create beta --cpus 2 --memory 1G >/dev/null
[ -f "$XDG_DATA_HOME/pearvisor/vms/alpha/vm.conf" ] || vm_fail "no definition for alpha"
expect_grep "definition" "^uuid=" "$XDG_DATA_HOME/pearvisor/vms/alpha/vm.conf"
"$pv" list >"$tmp/list.txt"
expect_grep "list" "^alpha .*stopped .* 1 .*768M .*off" "$tmp/list.txt"
expect_grep "list" "^beta .*stopped .* 2 .*1G .*2d" "$tmp/list.txt"

# --- errors that need no guest
expect_error "unknown image" "unknown image 'nope'" "$pv" create gamma --image nope
expect_error "name exists" "already exists" "$pv" create alpha
host_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
expect_error "memory beyond host" "more than this host" \
    "$pv" create gamma --memory $((host_kb / 1024 + 1024))M
[ ! -e "$XDG_DATA_HOME/pearvisor/vms/gamma" ] || vm_fail "a failed create left gamma behind"
expect_error "missing QEMU" "install the package qemu-system-x86" env PATH=/nonexistent "$pv" start alpha
expect_error "no such VM" "no VM named 'zeta'" "$pv" start zeta

# --- two VMs at once
"$pv" start -q alpha >/dev/null &
p1=$!
"$pv" start -q beta >/dev/null || vm_fail "start beta failed"
wait $p1 || vm_fail "start alpha failed"
"$pv" list >"$tmp/list.txt"
expect_grep "list" "^alpha .*running" "$tmp/list.txt"
expect_grep "list" "^beta .*running" "$tmp/list.txt"
expect_eq "alpha's hostname" "$("$pv" exec alpha -- cat /proc/sys/kernel/hostname)" alpha
expect_eq "beta's hostname" "$("$pv" exec beta -- cat /proc/sys/kernel/hostname)" beta
expect_eq "beta's CPUs" "$("$pv" exec beta -- nproc)" 2
rc=0
"$pv" exec alpha -- sh -c 'exit 5' || rc=$?
expect_eq "exec exit status" "$rc" 5

expect_error "already running" "is already running" "$pv" start alpha
expect_error "delete running" "is running: stop it first" "$pv" delete alpha

# A third VM on alpha's disk: QEMU's image lock refuses, and we say so.
mkdir "$XDG_DATA_HOME/pearvisor/vms/gamma"
sed 's/^name=alpha$/name=gamma/' "$XDG_DATA_HOME/pearvisor/vms/alpha/vm.conf" \
    >"$XDG_DATA_HOME/pearvisor/vms/gamma/vm.conf"
ln -s ../alpha/disk.qcow2 "$XDG_DATA_HOME/pearvisor/vms/gamma/disk.qcow2"
expect_error "disk in use" "in use by another QEMU process" "$pv" start -q gamma
[ -z "$(ls -A "$XDG_RUNTIME_DIR/pearvisor/gamma" 2>/dev/null)" ] || vm_fail "failed start left runtime files"
rm -r "$XDG_DATA_HOME/pearvisor/vms/gamma"

"$pv" stop alpha >/dev/null || vm_fail "stop alpha failed"
"$pv" stop beta >/dev/null || vm_fail "stop beta failed"
"$pv" list >"$tmp/list.txt"
expect_grep "list" "^alpha .*stopped" "$tmp/list.txt"
expect_error "stop stopped" "is not running" "$pv" stop alpha
"$pv" delete alpha >/dev/null
"$pv" delete beta >/dev/null
[ "$("$pv" list | wc -l)" -eq 1 ] || vm_fail "list not empty after delete"
[ -z "$(ls -A "$XDG_DATA_HOME/pearvisor/vms")" ] || vm_fail "delete left files"

# --- a guest that never boots (stopped in its initramfs): one line saying
# so, then the console tail; the throwaway VM and its QEMU are gone.
rc=0
# 30 s: the timeout is the point, but the tail must have reached the break
# line even on a loaded 2-core machine under TCG.
"$pv" run -q --boot-timeout 30 --memory 512M --append pearvisor.break=initramfs -- true \
    2>"$tmp/err.txt" || rc=$?
cat "$tmp/err.txt"
expect_eq "boot timeout exit status" "$rc" 125
head -n1 "$tmp/err.txt" | grep -q "^pearvisor run: VM 'run-[0-9a-f]*' did not boot within 30 s; last console lines:\$" ||
    vm_fail "boot timeout: unexpected first line"
expect_grep "console tail" "pearvisor.break=initramfs: shell on the console" "$tmp/err.txt"
[ -z "$(ls -A "$XDG_DATA_HOME/pearvisor/vms")" ] || vm_fail "boot timeout left a VM"
pgrep -f "$XDG_RUNTIME_DIR" >/dev/null && vm_fail "boot timeout left QEMU running"
vm_pass
