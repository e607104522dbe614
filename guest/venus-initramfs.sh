#!/usr/bin/env bash
# Builds a small initramfs that boots a guest straight into a Venus workload,
# no root disk: the project image's virtio-gpu kernel modules (and the ones
# they need), busybox, Mesa's Venus ICD from this environment, vulkaninfo,
# the programs named, and every library they load. Its /init mounts the
# usual file systems, loads the modules, waits for the render node, points
# the Vulkan loader at the Venus ICD, runs SCRIPT (a busybox sh fragment)
# and powers the VM off. Used by the gpu-vm test (tests/gpu-vm/venus.sh) and
# the GPU-machine VM bundle (scripts/device-bundle-vm.sh).
#
#   guest/venus-initramfs.sh [--root DIR] [--add SRC=DEST]... [--module NAME]... IMAGEDIR OUT.gz SCRIPT [PROGRAM...]
#
# IMAGEDIR holds the image's vmlinuz and either modules/ or root.img (an ext4
# whose /usr/lib/modules is read with debugfs). PROGRAMs go to /usr/local/bin.
# --root takes the userspace (busybox, the Venus ICD, vulkaninfo and every
# library, the PROGRAMs' too) from the root filesystem DIR instead of this
# environment: a guest of another architecture (an arm64 Debian root from
# scripts/rootfs.sh guest-arm64); libraries are then found by reading each
# ELF's DT_NEEDED with readelf, as the guest's loader would, in DIR's
# library directories. --add copies a file or a directory tree to DEST in
# the initramfs, as is (bring its own libraries). --module loads one more
# kernel module (and its dependencies, from the kernel's drivers/ tree) after
# virtio_gpu's. Exit: 0 built; 1 something missing (said).
set -euo pipefail
adds=() extra_mods=() root=
while [ $# -gt 0 ]; do
    case $1 in
        --root) root=$(cd "$2" && pwd) || exit 1; shift 2 ;;
        --add) adds+=("$2"); shift 2 ;;
        --module) extra_mods+=("$2"); shift 2 ;;
        *) break ;;
    esac
done
usage="usage: venus-initramfs.sh [--root DIR] [--add SRC=DEST]... [--module NAME]... IMAGEDIR OUT.gz SCRIPT [PROGRAM...]"
img=${1:?$usage}
out=${2:?$usage}
script=${3:?$usage}
shift 3
die() { echo "venus-initramfs: $*" >&2; exit 1; }
[ -f "$img/vmlinuz" ] || die "no vmlinuz in $img"
[ -f "$script" ] || die "no script $script"
icd=$root/usr/share/vulkan/icd.d/virtio_icd.json
[ -f "$icd" ] || die "Mesa's Venus ICD missing ($icd: mesa-vulkan-drivers)"
for tool in cpio gzip xz; do command -v $tool >/dev/null || die "$tool missing"; done
if [ -n "$root" ]; then
    command -v readelf >/dev/null || die "readelf missing (binutils)"
    busybox=$root/usr/bin/busybox vulkaninfo=$root/usr/bin/vulkaninfo
    # The guest's multiarch library directory, from its C library's place.
    triplet=$(cd "$root/usr/lib" && ls -d ./*-linux-gnu*/libc.so.6 2>/dev/null | head -n1 | cut -d/ -f2)
    [ -n "$triplet" ] || die "no C library (usr/lib/*-linux-gnu*/libc.so.6) in $root"
else
    for tool in busybox ldd; do command -v $tool >/dev/null || die "$tool missing"; done
    busybox=$(command -v busybox) vulkaninfo=$(command -v vulkaninfo)
    triplet=x86_64-linux-gnu
fi
[ -f "$busybox" ] || die "no busybox ($busybox: busybox-static)"
[ -f "$vulkaninfo" ] || die "no vulkaninfo ($vulkaninfo: vulkan-tools)"
tmp=$(mktemp -d /tmp/pv-initramfs-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ird=$tmp/ird
mkdir -p "$ird"/{bin,proc,sys,dev,tmp,lib/modules,usr/local/bin,usr/share/vulkan/icd.d}

mods=$tmp/mods
if [ -d "$img/modules" ]; then
    mods=$img/modules
else
    command -v debugfs >/dev/null || die "debugfs missing (e2fsprogs)"
    kver=$(debugfs -R "ls -p /usr/lib/modules" "$img/root.img" 2>/dev/null |
        awk -F/ '$6 ~ /^[0-9]/ { print $6 }' | sort -V | tail -n1)
    [ -n "$kver" ] || die "no kernel modules in $img/root.img"
    mkdir -p "$mods"
    debugfs -R "rdump /usr/lib/modules/$kver/kernel/drivers $mods" "$img/root.img" >/dev/null 2>&1
fi
# find_mod NAME: the module file (names may use - or _).
find_mod() { find "$mods/" \( -name "$1.ko*" -o -name "$(echo "$1" | tr _ -).ko*" \) | head -n1; }
# load_order NAME: NAME's dependencies first (from each module's depends= tag).
load_order() {
    local f d
    f=$(find_mod "$1")
    [ -n "$f" ] || die "kernel module $1 not found in the guest image"
    for d in $( (xz -dc "$f" 2>/dev/null || cat "$f") | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
        load_order "$d"
    done
    echo "$f"
}
: >"$ird/modules"
order=$(for m in virtio_gpu "${extra_mods[@]}"; do load_order "$m"; done | awk '!seen[$0]++')
for f in $order; do
    ko=$(basename "$f" .xz)
    case $f in *.xz) xz -dc "$f" >"$ird/lib/modules/$ko" ;; *) cp "$f" "$ird/lib/modules/$ko" ;; esac
    echo "${ko%.ko}" >>"$ird/modules"
done

cp "$busybox" "$ird/bin/busybox"
venus_lib=$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$icd")
case $venus_lib in /*) ;; *) venus_lib=/usr/lib/$triplet/$venus_lib ;; esac
[ -f "$root$venus_lib" ] || die "the Venus ICD's library is missing ($root$venus_lib)"
# foreign_deps FILE: the guest paths of FILE's program interpreter and of
# every library it needs, transitively, found in the root's directories.
foreign_deps() {
    local todo=("$1") seen=" " f lib d found
    while [ ${#todo[@]} -gt 0 ]; do
        f=${todo[0]} todo=("${todo[@]:1}")
        readelf -lW "$f" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p'
        for lib in $(readelf -dW "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            case $seen in *" $lib "*) continue ;; esac
            seen+="$lib "
            found=
            for d in /usr/lib/$triplet /lib/$triplet /usr/lib /lib; do
                [ -e "$root$d/$lib" ] && { found=$d/$lib; break; }
            done
            [ -n "$found" ] || die "$lib (needed by ${f#"$root"}) is not in $root"
            echo "$found"
            todo+=("$root$found")
        done
    done
}
for f in "$vulkaninfo" "$root$venus_lib" "$@"; do
    [ -f "$f" ] || die "no such program: $f"
    if [ -n "$root" ]; then
        deps=$(foreign_deps "$f" | sort -u)
    else
        deps=$(ldd "$f" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }')
    fi
    case $f in "$root"/*) deps="${f#"$root"} $deps" ;; esac
    for l in $deps; do
        [ -e "$ird$l" ] || { mkdir -p "$ird$(dirname "$l")"; cp -L "$root$l" "$ird$l"; }
    done
done
[ $# -eq 0 ] || cp "$@" "$ird/usr/local/bin/"
cp "$icd" "$ird/usr/share/vulkan/icd.d/"
for a in "${adds[@]}"; do
    src=${a%%=*} dest=${a#*=}
    [ -e "$src" ] || die "--add: no such file or directory: $src"
    mkdir -p "$ird$(dirname "$dest")"
    cp -a "$src" "$ird$dest"
done
cp "$script" "$ird/pv-script"
cat >"$ird/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in \$(cat /modules); do insmod /lib/modules/\$m.ko || echo "insmod \$m failed"; done
i=0; while [ ! -e /dev/dri/renderD128 ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i + 1)); done
export LD_LIBRARY_PATH=/lib/$triplet:/usr/lib/$triplet HOME=/tmp PATH=/usr/local/bin:/usr/bin:/bin
export VK_DRIVER_FILES=/usr/share/vulkan/icd.d/$(basename "$icd")
. /pv-script
poweroff -f
EOF
chmod 755 "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$out" || die "cpio failed"
