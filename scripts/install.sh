#!/usr/bin/env bash
# Installs the `pearvisor` command on this machine. Run as root.
#
#   scripts/install.sh              install (again, to update)
#   scripts/install.sh --uninstall  remove what it installed
#
# Debian 13 (trixie): builds the .deb of this checkout natively
# (scripts/package-deb.sh, with the build packages from apt) and installs it
# with apt, which brings its Depends and Recommends (QEMU, Mesa's drivers).
# Other hosts (Debian 12 has no Venus driver): builds this checkout in its
# Debian 13 environment (scripts/rootfs.sh, scripts/build.sh) and installs a
# small wrapper, /usr/local/bin/pearvisor (PEARVISOR_BINDIR moves it), that
# runs build/src/cli/pearvisor there through scripts/in-env.sh. The wrapper
# uses this checkout: keep it, and re-run scripts/build.sh after updating.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
bindir=${PEARVISOR_BINDIR:-/usr/local/bin}
wrapper=$bindir/pearvisor
marker="# Installed by PearVisor's scripts/install.sh"
# What building the package needs on a Debian 13 host (the rest of
# scripts/rootfs/client.pkgs is for the tests).
build_pkgs=(gcc libc6-dev pkg-config meson ninja-build python3 glslang-tools libvulkan-dev
    libvirglrenderer-dev)

uninstall=0
case ${1:-} in
    '') ;;
    --uninstall) uninstall=1 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
say() { echo "install: $*" >&2; }
[ "$(id -u)" = 0 ] || { echo "install: run as root (or with sudo): $0 $*" >&2; exit 1; }

ours() { [ -f "$wrapper" ] && grep -qxF "$marker" "$wrapper"; }
debian13() {
    # shellcheck disable=SC1091
    [ -r /etc/os-release ] && (. /etc/os-release && [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 13 ])
}

if [ $uninstall = 1 ]; then
    if dpkg-query -W -f '${Status}' pearvisor 2>/dev/null | grep -q 'ok installed'; then
        say "removing the pearvisor package"
        DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq pearvisor >/dev/null
    fi
    if ours; then
        say "removing the wrapper $wrapper"
        rm -f "$wrapper"
    fi
    exit 0
fi

if debian13; then
    missing=()
    for p in "${build_pkgs[@]}"; do
        dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing the build packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    say "Debian 13: building the package (scripts/package-deb.sh)"
    deb=$(PEARVISOR_NATIVE=1 "$here/package-deb.sh" --build-dir "$top/build-deb")
    say "installing $(basename "$deb") with apt (its Depends and Recommends come along)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
    # An earlier wrapper from a non-13 install would shadow /usr/bin/pearvisor.
    if ours; then rm -f "$wrapper"; say "removed the old wrapper $wrapper"; fi
    say "installed: $(command -v pearvisor) ($(pearvisor --version))"
    exit 0
fi

say "not Debian 13: pearvisor will run in this checkout's Debian 13 environment"
"$here/host-deps.sh"
"$here/rootfs.sh" client >/dev/null
say "building $top/build (scripts/build.sh)"
"$here/build.sh"
[ -x "$top/build/src/cli/pearvisor" ] || { echo "install: no build/src/cli/pearvisor after the build" >&2; exit 1; }
if [ -e "$wrapper" ] && ! ours; then
    echo "install: $wrapper exists and is not PearVisor's wrapper; not replacing it" >&2
    exit 1
fi
mkdir -p "$bindir"
q_top=$(printf '%q' "$top")
cat >"$wrapper.tmp.$$" <<EOT
#!/bin/sh
$marker
# for a host without Mesa's Venus driver: runs the pearvisor of the checkout
# $top in its Debian 13 environment (scripts/in-env.sh). It sees the
# checkout, /tmp and the cache at their own paths; the caller's home (VM
# definitions and state under ~/.local) and a working directory below
# /home, /root, /srv, /mnt, /media or /opt are bound in too, so paths mean
# what they mean here (paths with spaces are not supported).
# Remove with: $top/scripts/install.sh --uninstall
top=$q_top
binds=
[ -d "\$HOME" ] && [ "\$HOME" != / ] && binds=\$HOME
case \$PWD in
    "\$HOME" | "\$HOME"/*) ;;
    /home/* | /root | /root/* | /srv/* | /mnt/* | /media/* | /opt/*) binds="\$binds \$PWD" ;;
esac
PEARVISOR_EXTRA_BINDS="\${PEARVISOR_EXTRA_BINDS:+\$PEARVISOR_EXTRA_BINDS }\$binds" \\
    exec "\$top/scripts/in-env.sh" "\$top/build/src/cli/pearvisor" "\$@"
EOT
chmod 755 "$wrapper.tmp.$$"
mv "$wrapper.tmp.$$" "$wrapper"
say "installed: $wrapper ($("$wrapper" --version))"
