#!/usr/bin/env bash
# Builds the Debian package of this tree: pearvisor_<version>_<arch>.deb.
#
#   scripts/package-deb.sh [--build-dir DIR] [--out DIR]
#
# Configures DIR (default build-deb/) with --prefix=/usr, builds only what
# `meson install` installs, stages it with `meson install --destdir` and
# wraps that in a .deb with dpkg-deb. The version is meson.build's project
# version; Depends are computed from the shared libraries the installed
# binaries need (objdump -p NEEDED -> the owning package's shlibs line);
# Recommends are what the VM features use at run time. Prints the .deb's
# path on stdout (it lands in --out, default DIR).
#
# Runs in the Debian 13 environment (scripts/in-env.sh, re-entered here), or
# directly with PEARVISOR_NATIVE=1 on a Debian 13 host with the build
# packages installed. DIR and --out must be under this checkout or /tmp (the
# environment sees only those). DEBFULLNAME/DEBEMAIL set the Maintainer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
if [ "${PEARVISOR_NATIVE:-0}" != 1 ] && [ -z "${PV_PACKAGE_IN_ENV:-}" ]; then
    PV_PACKAGE_IN_ENV=1 exec "$here/in-env.sh" "$here/package-deb.sh" "$@"
fi

dir=build-deb out=
while [ $# -gt 0 ]; do
    case $1 in
        --build-dir) dir=${2:?--build-dir needs a directory}; shift 2 ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package-deb: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done
out=${out:-$dir}
for tool in meson ninja dpkg-deb objdump python3 cc; do
    command -v $tool >/dev/null || { echo "package-deb: $tool is missing" >&2; exit 1; }
done
say() { echo "package-deb: $*" >&2; }

# Configure: /usr with Debian's multiarch libdir (meson guesses it only with
# dpkg-dev installed), the default optimised build, nothing instrumented.
multiarch=$(cc -print-multiarch)
opts=(-Dprefix=/usr "-Dlibdir=lib/$multiarch" -Dbuildtype=debugoptimized -Db_sanitize=none
    -Dfuzz=false)
if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "${opts[@]}" >/dev/null
else
    say "configuring $dir"
    meson setup "$dir" "$top" "${opts[@]}" >/dev/null
fi
dir=$(cd "$dir" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Build only the installed targets (not the tests, benchmarks or fuzzers).
mapfile -t targets < <(meson introspect --targets "$dir" | python3 -c '
import json, os, sys
d = sys.argv[1]
for t in json.load(sys.stdin):
    if t.get("installed"):
        for f in t["filename"]:
            print(os.path.relpath(f, d))
' "$dir")
[ ${#targets[@]} -gt 0 ] || { echo "package-deb: meson lists no installed targets" >&2; exit 1; }
say "building ${#targets[@]} installed targets in $dir"
ninja -C "$dir" "${targets[@]}" >/dev/null || ninja -C "$dir" "${targets[@]}"

version=$(meson introspect --projectinfo "$dir" | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
arch=$(dpkg --print-architecture)
stage=$dir/deb-root
rm -rf "$stage"
umask 022
meson install -C "$dir" --no-rebuild --quiet --strip --destdir "$stage" >/dev/null
# meson strips binaries and shared libraries; static ones keep their symbols
# but lose debug info, as Debian's dh_strip does.
find "$stage" -name '*.a' -exec strip --strip-debug {} +

# Depends: each NEEDED soname of the staged ELF files that the package does
# not provide itself -> the library file ldconfig resolves it to -> the
# package owning that file -> its shlibs entry (e.g. "libvulkan1 (>=
# 1.4.309.0)"), as dpkg-shlibdeps does from the shlibs files.
mapfile -t elves < <(find "$stage" -type f \( -perm -u+x -o -name '*.so*' \))
needed=() provided=()
for f in "${elves[@]}"; do
    hdr=$(objdump -p "$f" 2>/dev/null) || continue
    mapfile -t -O "${#needed[@]}" needed < <(awk '$1 == "NEEDED" { print $2 }' <<<"$hdr")
    mapfile -t -O "${#provided[@]}" provided < <(awk '$1 == "SONAME" { print $2 }' <<<"$hdr")
done
deps=()
for soname in $(printf '%s\n' "${needed[@]}" | sort -u); do
    printf '%s\n' "${provided[@]}" | grep -qxF "$soname" && continue
    path=$(ldconfig -p | awk -v s="$soname" -v m="/$multiarch/" '$1 == s && index($NF, m) { print $NF; exit }')
    [ -n "$path" ] || { echo "package-deb: no $multiarch library for $soname" >&2; exit 1; }
    pkg=$(dpkg -S "$(realpath "$path")" | head -n1 | cut -d: -f1)
    name=${soname%%.so.*} sover=${soname#*.so.}
    shlibs=/var/lib/dpkg/info/$pkg:$arch.shlibs
    [ -f "$shlibs" ] || shlibs=/var/lib/dpkg/info/$pkg.shlibs
    dep=$(awk -v n="$name" -v v="$sover" '$1 == n && $2 == v { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' \
        "$shlibs" 2>/dev/null || true)
    deps+=("${dep:-$pkg}")
    say "  $soname: ${dep:-$pkg}"
done
depends=$(printf '%s\n' "${deps[@]}" | sort -u | paste -sd, - | sed 's/,/, /g')

# Recommends, for the VM features (src/vm): the engine and qemu-img; its GL
# display for virtio-gpu-gl (SDL and OpenGL modules, Xvfb when headless);
# lavapipe and the Venus driver; and what `pearvisor image create` runs
# (guest/build-image.sh: debootstrap, a static cc, cpio, xz, mkfs.ext4).
recommends="qemu-system-x86, qemu-utils, qemu-system-gui, qemu-system-modules-opengl, xvfb,
 mesa-vulkan-drivers, debootstrap, gcc, libc6-dev, cpio, xz-utils, e2fsprogs"
# Suggests: the system's renderer for --renderer virgl; Vulkan clients;
# the loader's headers for linking libpvgpu statically; ARM64 guests
# (--arch arm64: the engine, and what the arm64 image recipe runs).
suggests="virgl-server, vulkan-tools, libvulkan-dev,
 qemu-system-arm, qemu-user-static, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross"

doc=$stage/usr/share/doc/pearvisor
mkdir -p "$doc"
cat >"$doc/copyright" <<EOT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pearvisor
Comment: built from a PearVisor checkout by scripts/package-deb.sh

Files: *
Copyright: the PearVisor authors
License: MIT
EOT

mkdir -p "$stage/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOT
Package: pearvisor
Version: $version
Architecture: $arch
Maintainer: ${DEBFULLNAME:-PearVisor developers} <${DEBEMAIL:-pearvisor@localhost}>
Installed-Size: $size
Section: admin
Priority: optional
Depends: $depends
Recommends: $recommends
Suggests: $suggests
Description: Linux virtual machines with Venus GPU acceleration
 PearVisor runs the guest's unmodified Mesa Venus Vulkan driver on its own
 renderer, libpvgpu, which executes the command stream on the host's Vulkan
 driver. It provides a vtest server (pearvisor gpu serve), a drop-in
 libvirglrenderer.so.1 for an unmodified QEMU (in a private directory, so
 the system's virglrenderer stays as it is) and a VM manager (pearvisor).
 .
 This package also holds libpvgpu's C API (pvgpu.h, pvgpu.pc) for other VMMs.
EOT
echo "libpvgpu 0 pearvisor (>= $version)" >"$stage/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$stage/DEBIAN/triggers"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$stage/DEBIAN/md5sums"

deb=$out/pearvisor_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
say "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB; Depends: $depends"
echo "$deb"
