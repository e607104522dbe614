#!/usr/bin/env bash
# Builds (or finds in the cache) a bootable PearVisor guest image.
#
#   guest/build-image.sh [--arch ARCH] IMAGE            build if needed; prints the image directory
#   guest/build-image.sh --lookup [--arch ARCH] IMAGE   print it if built, else exit 3
#
# IMAGE: debian-13. ARCH: x86_64 (default) or arm64: the arm64 root is a
# foreign Debian root (scripts/rootfs.sh guest-arm64, finished under
# qemu-user-static) with both stock kernels; the image boots the 4 KiB-page
# one (linux-image-arm64), and root.img keeps the 16 KiB one
# (linux-image-arm64-16k) in /boot and its modules. The result is a
# directory holding vmlinuz (Debian's stock
# kernel), initrd.img (busybox and the modules needed to mount root),
# root.img (raw ext4 with Mesa's Venus driver, vulkan-tools, vkmark and our
# init/agent pv-init) and image.conf. `pearvisor create` makes qcow2 overlays
# of root.img, so the image itself is never written.
#
# Cached under $PEARVISOR_CACHE (default ~/.cache/pearvisor)/images, keyed by
# the sha256 of this recipe: this script, the initramfs init, boot.sh, the
# agent's source, and scripts/rootfs.sh with the guest package list, whose
# root filesystem (scripts/rootfs.sh guest, also cached) is the first step.
# The mirror comes from the host's apt sources. Progress goes to stderr.
# Needs root (debootstrap, chroot, device nodes), cc, cpio, xz, mkfs.ext4.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

lookup=0 arch=x86_64
while [ $# -gt 1 ]; do
    case $1 in
        --lookup) lookup=1; shift ;;
        --arch) arch=${2:-}; shift 2 ;;
        *) break ;;
    esac
done
image=${1:?usage: build-image.sh [--lookup] [--arch ARCH] IMAGE}
case $image in
    debian-13) profile=guest ;;
    *) echo "image: unknown image '$image' (known: debian-13)" >&2; exit 2 ;;
esac
# The CPU: its package list, C compiler (the agent is static), the modules
# the root disk needs, and the kernel flavour booted.
case $arch in
    x86_64 | amd64) arch=x86_64 name=$image cc=cc root_mods="virtio_blk crc32c-intel crc32c_generic ext4" flavour= ;;
    arm64 | aarch64)
        arch=arm64 name=$image-arm64 profile=$profile-arm64 cc=aarch64-linux-gnu-gcc
        root_mods="virtio_blk crc32c_generic ext4" flavour=-arm64 ;;
    *) echo "image: unknown architecture '$arch' (known: x86_64, arm64)" >&2; exit 2 ;;
esac

cache=${PEARVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pearvisor}
recipe=("$0" "$here/initramfs-init" "$here/boot.sh" "$here/agent/pv-init.c" "$here/agent/proto.h"
    "$here/desktop/session.sh" "$here/desktop/weston.ini"
    "$top/scripts/rootfs.sh" "$top/scripts/rootfs/$profile.pkgs")
key=$( (echo "$image"; [ $arch = x86_64 ] || echo "$arch"; cat "${recipe[@]}") | sha256sum | cut -c1-16)
dest="$cache/images/$name-$key"
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
[ $lookup = 1 ] && exit 3

[ "$(id -u)" = 0 ] || { echo "image: building a guest image needs root (debootstrap, chroot)" >&2; exit 1; }
for tool in $cc cpio xz gzip mkfs.ext4; do
    command -v $tool >/dev/null || { echo "image: $tool is missing (packages: gcc libc6-dev cpio xz-utils e2fsprogs; for arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross)" >&2; exit 1; }
done

t0=$SECONDS
step() { echo "image: [$1/5] $2 (${3:-$((SECONDS - t0))} s so far)" >&2; }
mkdir -p "$cache/images"
tmp="$dest.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"

step 1 "Debian 13 $arch root filesystem with $(grep -v '^#' "$top/scripts/rootfs/$profile.pkgs" | wc -w) packages (scripts/rootfs.sh $profile; cached)"
rootfs=$("$top/scripts/rootfs.sh" "$profile")

# An arm64 tree's programs (modprobe below) run through qemu-user.
[ $arch = x86_64 ] || "$top/scripts/binfmt-foreign.sh" $arch

step 2 "guest agent pv-init (static, $arch)"
$cc -static -O2 -Wall -Wextra -Werror -o "$tmp/pv-init" "$here/agent/pv-init.c"

step 3 "root tree: agent, boot script, network, trimmed docs"
tree="$tmp/tree"
cp -a "$rootfs" "$tree"
rm -f "$tree/.pearvisor-complete"
kver=$(ls "$tree/lib/modules" | grep -- "${flavour:-.}\$" | sort -V | tail -n1)
cp "$tree/boot/vmlinuz-$kver" "$tmp/vmlinuz"
# Debian's own 38 MB initrd is never used; docs and apt lists are dead weight.
rm -rf "$tree"/boot/initrd.img-* "$tree"/usr/share/doc/* "$tree"/usr/share/man/* \
    "$tree"/usr/share/info/* "$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/*.bin
install -D -m 755 "$tmp/pv-init" "$tree/usr/lib/pearvisor/pv-init"
install -D -m 755 "$here/boot.sh" "$tree/usr/lib/pearvisor/boot.sh"
install -D -m 755 "$here/desktop/session.sh" "$tree/usr/lib/pearvisor/desktop/session.sh"
install -D -m 644 "$here/desktop/weston.ini" "$tree/usr/lib/pearvisor/weston.ini"
echo "nameserver 10.0.2.3" >"$tree/etc/resolv.conf"
echo "/dev/vda / ext4 rw 0 1" >"$tree/etc/fstab"
echo "pearvisor" >"$tree/etc/hostname"
printf 'image=%s\narch=%s\nkey=%s\nkernel=%s\n' "$image" "$arch" "$key" "$kver" >"$tree/etc/pearvisor-image"

step 4 "initramfs: busybox and the modules to mount root (kernel $kver)"
ird="$tmp/initramfs"
mkdir -p "$ird"/{bin,dev,proc,sys,etc,newroot,lib/modules}
cp "$tree/usr/bin/busybox" "$ird/bin/busybox"
for applet in $("$ird/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$ird/bin/$applet"
done
mknod -m 600 "$ird/dev/console" c 5 1
: >"$ird/etc/pv-modules"
for m in $root_mods; do
    chroot "$tree" modprobe --show-depends -S "$kver" "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r path; do
    ko=$(basename "$path" .xz)
    case $path in
        *.xz) xz -dc "$tree$path" >"$ird/lib/modules/$ko" ;;
        *) cp "$tree$path" "$ird/lib/modules/$ko" ;;
    esac
    echo "$ko" >>"$ird/etc/pv-modules"
done
install -m 755 "$here/initramfs-init" "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -6) >"$tmp/initrd.img"

used_mb=$(du -sm "$tree" | cut -f1)
size_mb=$(( (used_mb * 13 / 10 + 512 + 255) / 256 * 256 ))
step 5 "ext4 root filesystem: ${used_mb} MiB used in a ${size_mb} MiB image"
truncate -s "${size_mb}M" "$tmp/root.img"
mkfs.ext4 -q -F -L pv-root -m 1 -d "$tree" "$tmp/root.img"
rm -rf "$tree" "$ird"
printf 'image=%s\narch=%s\nkey=%s\nkernel=%s\nsize=%s\nbuilt=%s\n' "$image" "$arch" "$key" "$kver" \
    $((size_mb * 1024 * 1024)) "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/image.conf"
rm -f "$tmp/pv-init"
touch "$tmp/.complete"
mv "$tmp" "$dest"
trap - EXIT
echo "image: $name ready in $((SECONDS - t0)) s: $dest" >&2
echo "$dest"
