#!/usr/bin/env bash
# Builds (or finds in the cache) a bootable PearVisor guest image.
#
#   guest/build-image.sh IMAGE            build if needed; prints the image directory
#   guest/build-image.sh --lookup IMAGE   print it if built, else exit 3
#
# IMAGE: debian-13. The result is a directory holding vmlinuz (Debian's stock
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

lookup=0
[ "${1:-}" = --lookup ] && { lookup=1; shift; }
image=${1:?usage: build-image.sh [--lookup] IMAGE}
case $image in
    debian-13) profile=guest ;;
    *) echo "image: unknown image '$image' (known: debian-13)" >&2; exit 2 ;;
esac

cache=${PEARVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pearvisor}
recipe=("$0" "$here/initramfs-init" "$here/boot.sh" "$here/agent/pv-init.c" "$here/agent/proto.h"
    "$top/scripts/rootfs.sh" "$top/scripts/rootfs/$profile.pkgs")
key=$( (echo "$image"; cat "${recipe[@]}") | sha256sum | cut -c1-16)
dest="$cache/images/$image-$key"
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
[ $lookup = 1 ] && exit 3

[ "$(id -u)" = 0 ] || { echo "image: building a guest image needs root (debootstrap, chroot)" >&2; exit 1; }
for tool in cc cpio xz gzip mkfs.ext4; do
    command -v $tool >/dev/null || { echo "image: $tool is missing (packages: gcc libc6-dev cpio xz-utils e2fsprogs)" >&2; exit 1; }
done

t0=$SECONDS
step() { echo "image: [$1/5] $2 (${3:-$((SECONDS - t0))} s so far)" >&2; }
mkdir -p "$cache/images"
tmp="$dest.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"

step 1 "Debian 13 root filesystem with $(grep -v '^#' "$top/scripts/rootfs/$profile.pkgs" | wc -w) packages (scripts/rootfs.sh $profile; cached)"
rootfs=$("$top/scripts/rootfs.sh" "$profile")

step 2 "guest agent pv-init (static)"
cc -static -O2 -Wall -Wextra -Werror -o "$tmp/pv-init" "$here/agent/pv-init.c"

step 3 "root tree: agent, boot script, network, trimmed docs"
tree="$tmp/tree"
cp -a "$rootfs" "$tree"
rm -f "$tree/.pearvisor-complete"
kver=$(ls "$tree/lib/modules" | sort -V | tail -n1)
cp "$tree/boot/vmlinuz-$kver" "$tmp/vmlinuz"
# Debian's own 38 MB initrd is never used; docs and apt lists are dead weight.
rm -rf "$tree"/boot/initrd.img-* "$tree"/usr/share/doc/* "$tree"/usr/share/man/* \
    "$tree"/usr/share/info/* "$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/*.bin
install -D -m 755 "$tmp/pv-init" "$tree/usr/lib/pearvisor/pv-init"
install -D -m 755 "$here/boot.sh" "$tree/usr/lib/pearvisor/boot.sh"
echo "nameserver 10.0.2.3" >"$tree/etc/resolv.conf"
echo "/dev/vda / ext4 rw 0 1" >"$tree/etc/fstab"
echo "pearvisor" >"$tree/etc/hostname"
printf 'image=%s\nkey=%s\nkernel=%s\n' "$image" "$key" "$kver" >"$tree/etc/pearvisor-image"

step 4 "initramfs: busybox and the modules to mount root (kernel $kver)"
ird="$tmp/initramfs"
mkdir -p "$ird"/{bin,dev,proc,sys,etc,newroot,lib/modules}
cp "$tree/usr/bin/busybox" "$ird/bin/busybox"
for applet in $("$ird/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$ird/bin/$applet"
done
mknod -m 600 "$ird/dev/console" c 5 1
: >"$ird/etc/pv-modules"
for m in virtio_blk crc32c-intel crc32c_generic ext4; do
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
printf 'image=%s\nkey=%s\nkernel=%s\nsize=%s\nbuilt=%s\n' "$image" "$key" "$kver" \
    $((size_mb * 1024 * 1024)) "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/image.conf"
rm -f "$tmp/pv-init"
touch "$tmp/.complete"
mv "$tmp" "$dest"
trap - EXIT
echo "image: $image ready in $((SECONDS - t0)) s: $dest" >&2
echo "$dest"
