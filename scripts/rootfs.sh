#!/usr/bin/env bash
# Builds (or finds in the cache) a Debian 13 (trixie) root filesystem,
# optionally with some packages from trixie-backports or Debian sid.
#
#   scripts/rootfs.sh PROFILE      prints the rootfs path on stdout
#
# PROFILE names a package list in scripts/rootfs/PROFILE.pkgs. The result is
# cached under $PEARVISOR_CACHE (default ~/.cache/pearvisor), keyed by the
# sha256 of this script and the package list, so a changed recipe gives a
# new tree and an unchanged one is reused. The mirror comes from the host's
# apt sources at run time (scripts/debian-mirror.sh). A line
# "# backports: PKG..." in the list installs those packages (and what they
# need) from trixie-backports on the same mirror, after the others; a line
# "# sid: PKG..." does the same from sid (unstable), whose Release file may
# read as expired on a mirror, so that step alone skips apt's Valid-Until
# check. A line "# arch: ARCH" (arm64) builds a tree of that Debian
# architecture: a foreign debootstrap whose second stage and package installs
# run under qemu-user-static (Debian's qemu-user-static), registered with the
# kernel's binfmt_misc if no handler for that CPU is. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
profile=${1:?usage: rootfs.sh PROFILE}
pkgs_file="$here/rootfs/$profile.pkgs"
[ -f "$pkgs_file" ] || { echo "rootfs: no package list $pkgs_file" >&2; exit 1; }
cache=${PEARVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pearvisor}
key=$(cat "$0" "$pkgs_file" | sha256sum | cut -c1-16)
dest="$cache/rootfs/trixie-$profile-$key"
# A hit marks the tree as used now (the clean-up below spares trees in use
# by another checkout); a read-only cache just skips the mark.
if [ -f "$dest/.pearvisor-complete" ]; then touch "$dest/.pearvisor-used" 2>/dev/null; echo "$dest"; exit 0; fi

[ "$(id -u)" = 0 ] || { echo "rootfs: building a root filesystem needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "rootfs: debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
mirror=$("$here/debian-mirror.sh")
bpo=$(sed -n 's/^# *backports: *//p' "$pkgs_file")
sid=$(sed -n 's/^# *sid: *//p' "$pkgs_file")
arch=$(sed -n 's/^# *arch: *//p' "$pkgs_file")
what="Debian 13"
[ -z "$arch" ] || what="$what ($arch)"
[ -z "$bpo" ] || what="$what + trixie-backports"
[ -z "$sid" ] || what="$what + packages from sid"
foreign=()
if [ -n "$arch" ] && [ "$arch" != "$(dpkg --print-architecture)" ]; then
    "$here/binfmt-foreign.sh" "$arch" || exit 1
    foreign=(--foreign --arch "$arch")
fi
mkdir -p "$cache/rootfs"
tmp="$dest.tmp.$$"
cleanup() { for m in proc dev; do umount -l "$tmp/$m" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
log="$cache/rootfs/$profile.log"
echo "rootfs: building $what '$profile' at $dest (log: $log)" >&2
echo "rootfs: [1/3] debootstrap trixie (a few minutes)" >&2
debootstrap "${foreign[@]}" --variant=minbase --include=ca-certificates trixie "$tmp" "$mirror" >"$log" 2>&1 \
    || { tail -20 "$log" >&2; exit 1; }
if [ ${#foreign[@]} -gt 0 ]; then
    echo "rootfs: [1/3] debootstrap's second stage for $arch under qemu-user (slower)" >&2
    chroot "$tmp" /debootstrap/debootstrap --second-stage >>"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
fi
echo "deb $mirror trixie main" >"$tmp/etc/apt/sources.list"
[ -z "$bpo" ] || echo "deb $mirror trixie-backports main" >>"$tmp/etc/apt/sources.list"
mount -t proc proc "$tmp/proc"; mount --bind /dev "$tmp/dev"
echo "rootfs: [2/3] installing $(grep -v '^#' "$pkgs_file" | wc -w) packages from trixie" >&2
chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update >>"$log" 2>&1
# A foreign tree's kernels get no initrd (INITRD=No, honoured by Debian's
# kernel hooks): mkinitramfs is slow under qemu-user, and the guest image
# builds its own small one (guest/build-image.sh).
# shellcheck disable=SC2046
chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive ${foreign:+INITRD=No} apt-get install -y --no-install-recommends \
    $(grep -v '^#' "$pkgs_file") >>"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
if [ -n "$bpo" ]; then
    echo "rootfs: [2/3] installing $(echo $bpo | wc -w) packages from trixie-backports" >&2
    # shellcheck disable=SC2086
    chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -t trixie-backports $bpo >>"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
fi
if [ -n "$sid" ]; then
    echo "rootfs: [2/3] installing $(echo $sid | wc -w) packages from sid" >&2
    echo "deb $mirror sid main" >>"$tmp/etc/apt/sources.list"
    nocheck=(-o Acquire::Check-Valid-Until=false)
    chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get "${nocheck[@]}" update >>"$log" 2>&1 \
        || { tail -20 "$log" >&2; exit 1; }
    # shellcheck disable=SC2086
    chroot "$tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get "${nocheck[@]}" install -y \
        --no-install-recommends -t sid $sid >>"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
fi
chroot "$tmp" apt-get clean
umount -l "$tmp/proc" "$tmp/dev"
echo "rootfs: [3/3] done" >&2
touch "$tmp/.pearvisor-complete"
mv "$tmp" "$dest"
trap - EXIT
# Older trees of this profile (an earlier recipe) are no longer used by this
# checkout: remove them, unless a process still runs inside one (its root is
# there), something is mounted under it, or another checkout (a branch, a
# release) used it in the last day.
for old in "$cache/rootfs/trixie-$profile-"*; do
    case $old in "$dest" | *.tmp.*) continue ;; esac
    # Only this profile's trees: trixie-client-* also matches trixie-client-bpo-*.
    [[ ${old#"$cache/rootfs/trixie-$profile-"} =~ ^[0-9a-f]{16}$ ]] || continue
    [ -d "$old" ] || continue
    busy=
    grep -qF " $old/" /proc/self/mountinfo && busy=1
    [ -n "$(find "$old/.pearvisor-used" -mmin -1440 2>/dev/null)" ] && busy=1
    for r in /proc/[0-9]*/root; do
        case "$(readlink "$r" 2>/dev/null)" in "$old" | "$old"/*) busy=1; break ;; esac
    done
    if [ -n "$busy" ]; then
        echo "rootfs: keeping $old (in use, or used in the last day)" >&2
    else
        echo "rootfs: removing $old (an earlier recipe)" >&2
        rm -rf --one-file-system "$old"
    fi
done
echo "$dest"
