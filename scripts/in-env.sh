#!/usr/bin/env bash
# Runs a command inside PearVisor's Debian 13 environment (scripts/rootfs.sh
# client), with this checkout, /tmp and /dev visible at the same paths, in a
# private mount namespace so nothing stays mounted afterwards.
#
#   scripts/in-env.sh COMMAND [ARGS...]
#
# PEARVISOR_PROFILE picks another environment (scripts/rootfs/PROFILE.pkgs),
# e.g. client-bpo: Mesa 26 and QEMU 11.1 from trixie-backports.
# On a Debian 13 host with the packages of scripts/rootfs/client.pkgs
# installed, set PEARVISOR_NATIVE=1 to run the command directly instead.
set -euo pipefail
if [ "${PEARVISOR_NATIVE:-0}" = 1 ]; then exec "$@"; fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
root=$("$here/rootfs.sh" "${PEARVISOR_PROFILE:-client}")
# Paths the command may need, visible at the same place inside.
binds=("$top" /tmp /dev /proc /sys)
[ -d "$top/../shared" ] && binds+=("$(cd "$top/../shared" && pwd)")
[ -n "${PEARVISOR_EXTRA_BINDS:-}" ] && read -r -a extra <<<"$PEARVISOR_EXTRA_BINDS" && binds+=("${extra[@]}")
# The cache (guest images and other big artefacts) is the host's, outside any
# checkout, shared with the environment at the same path; bound without
# recursion since the environment itself lives inside it.
cache=${PEARVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pearvisor}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
script='set -e; root=$1; shift; cache=$1; shift; n=$1; shift
for ((i = 0; i < n; i++)); do d=$1; shift; mkdir -p "$root$d"; mount --rbind "$d" "$root$d"; done
mkdir -p "$root$cache"; mount --bind "$cache" "$root$cache"
cwd=$1; shift
exec chroot "$root" /usr/bin/env -C "$cwd" HOME=/root PEARVISOR_CACHE="$cache" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$@"'
exec unshare -m --propagation private bash -c "$script" in-env "$root" "$cache" "${#binds[@]}" "${binds[@]}" "$PWD" "$@"
