#!/usr/bin/env bash
# `pearvisor run` boots a throwaway Debian 13 guest, runs one command, returns
# its stdout, stderr and exit status, shuts down and leaves nothing behind;
# the guest sees --cpus CPUs and --memory of RAM.
#
#   run.sh PEARVISOR
. "$(dirname "$0")/lib.sh"
vm_setup "$@"

cpus=2 mem_mb=1024
"$pv" run --dry-run --cpus $cpus --memory ${mem_mb}M -- true >"$tmp/dry.txt"
expect_grep "dry run" "-smp $cpus" "$tmp/dry.txt"
expect_grep "dry run" "-m ${mem_mb}M" "$tmp/dry.txt"
expect_grep "dry run" "-accel tcg\|-accel kvm" "$tmp/dry.txt"

rc=0
"$pv" run --cpus $cpus --memory ${mem_mb}M -- \
    sh -c 'echo "nproc=$(nproc)"; awk "/^MemTotal:/ { print \"memkb=\" \$2 }" /proc/meminfo;
           echo "to stderr" >&2; exit 7' >"$tmp/out.txt" 2>"$tmp/err.txt" || rc=$?
cat "$tmp/out.txt" "$tmp/err.txt"
expect_eq "exit status" "$rc" 7
expect_grep "nproc" "^nproc=$cpus\$" "$tmp/out.txt"
expect_grep "stderr" "^to stderr\$" "$tmp/err.txt"
expect_grep "status line" "exit status 7" "$tmp/err.txt"
grep -q "to stderr" "$tmp/out.txt" && vm_fail "stderr leaked into stdout"
memkb=$(sed -n 's/^memkb=//p' "$tmp/out.txt")
# MemTotal is RAM less what the kernel reserves for itself: within 15%.
[ "$memkb" -le $((mem_mb * 1024)) ] && [ "$memkb" -ge $((mem_mb * 1024 * 85 / 100)) ] ||
    vm_fail "MemTotal ${memkb} kB does not match --memory ${mem_mb}M"

# Nothing left behind: no VM definition, no runtime files, no QEMU.
[ -z "$(ls -A "$XDG_DATA_HOME/pearvisor/vms" 2>/dev/null)" ] || vm_fail "run left a VM definition"
[ -z "$(ls -A "$XDG_RUNTIME_DIR/pearvisor" 2>/dev/null)" ] || vm_fail "run left runtime files"
pgrep -f "$XDG_RUNTIME_DIR" >/dev/null && vm_fail "run left QEMU running"
vm_pass
