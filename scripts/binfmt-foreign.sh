#!/usr/bin/env bash
# Makes the kernel run another Debian architecture's programs through
# Debian's qemu-user-static, so a foreign root filesystem can be finished and
# used with chroot (scripts/rootfs.sh, for a package list with "# arch:").
#
#   scripts/binfmt-foreign.sh ARCH     ARCH: a Debian architecture (arm64)
#
# Nothing is done when a binfmt_misc handler for that CPU is already
# registered and enabled (the host's qemu-user-binfmt, or an earlier run).
# Otherwise binfmt_misc is mounted where missing and one handler,
# "pearvisor-CPU", is registered with the F flag: the kernel opens the
# interpreter now, so it also runs inside chroots that lack it. A handler
# lives as long as some binfmt_misc mount does (the kernel drops the
# entries with the file system's last mount): on a host that mounts it
# (systemd does) until `echo -1 > /proc/sys/fs/binfmt_misc/pearvisor-CPU`;
# where only we mount it, inside scripts/in-env.sh's private mount
# namespace, until that command ends. So each caller that runs foreign
# programs calls this first. Needs root.
# Exit: 0 ready; 1 not possible here (said).
set -euo pipefail
arch=${1:?usage: binfmt-foreign.sh ARCH}
die() { echo "binfmt: $*" >&2; exit 1; }
# The ELF header of the CPU's executables and which bytes of it to compare:
# e_ident (class, byte order, version) and e_machine, e_type 2 or 3.
case $arch in
    arm64)
        cpu=aarch64
        magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
        mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
        ;;
    *) die "no qemu-user handler known for Debian architecture '$arch' (known: arm64)" ;;
esac
qemu=$(command -v "qemu-$cpu-static") || die "qemu-$cpu-static missing (package qemu-user-static)"
bfm=/proc/sys/fs/binfmt_misc
[ "$(id -u)" = 0 ] || die "registering a binfmt_misc handler needs root"
if [ ! -e "$bfm/register" ]; then
    mount -t binfmt_misc binfmt_misc "$bfm" 2>/dev/null ||
        die "cannot mount binfmt_misc on $bfm (kernel without CONFIG_BINFMT_MISC?)"
fi
[ "$(cat "$bfm/status")" = enabled ] || die "binfmt_misc is disabled ($bfm/status)"
for h in "$bfm"/*; do
    case ${h##*/} in register | status) continue ;; esac
    grep -qx enabled "$h" 2>/dev/null && grep -q "^interpreter .*qemu-$cpu" "$h" && exit 0
done
printf ':pearvisor-%s:M::%s:%s:%s:F' "$cpu" "$magic" "$mask" "$qemu" >"$bfm/register" ||
    die "registering $qemu for $cpu programs failed"
echo "binfmt: $cpu programs now run through $qemu (handler pearvisor-$cpu)" >&2
