#!/usr/bin/env bash
# The disk persists across boots, and `pearvisor stop` shuts the guest down
# cleanly: boot 1 writes and syncs a file; boot 2 (start) sees it, writes a
# second file without syncing, and is stopped (ACPI power button), its console
# log showing the clean shutdown; boot 3 sees the second file, so stop flushed.
#
#   persist.sh PEARVISOR
. "$(dirname "$0")/lib.sh"
vm_setup "$@"

name=persist
"$pv" create $name --cpus 1 --memory 768M >/dev/null
token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')

"$pv" run -q $name -- sh -c "echo $token-1 >/root/one && sync" || vm_fail "boot 1: write failed"

"$pv" start -q $name >/dev/null
got=$("$pv" exec $name -- cat /root/one) || vm_fail "boot 2: cat failed"
expect_eq "boot 2: file from boot 1" "$got" "$token-1"
"$pv" exec $name -- sh -c "echo $token-2 >/root/two" || vm_fail "boot 2: write failed"
"$pv" stop $name >"$tmp/stop.txt" || vm_fail "stop failed: $(cat "$tmp/stop.txt")"
expect_grep "stop" "cleanly" "$tmp/stop.txt"
log="$XDG_STATE_HOME/pearvisor/$name/console.log"
expect_grep "shutdown log" "pearvisor-init: power button pressed: shutting down" "$log"
expect_grep "shutdown log" "pearvisor-init: root filesystem remounted read-only" "$log"
expect_grep "shutdown log" "pearvisor-init: clean shutdown complete; powering off" "$log"
"$pv" list | grep -q "^$name .*stopped" || vm_fail "list does not show $name stopped"

got=$("$pv" run -q $name -- cat /root/two) || vm_fail "boot 3: cat failed"
expect_eq "boot 3: file written before stop" "$got" "$token-2"
# Boot 3 found the journal clean: no recovery after a clean stop.
grep -q "recovery complete" "$XDG_STATE_HOME/pearvisor/$name/console.log" &&
    vm_fail "boot 3 had to recover the ext4 journal"
vm_pass
