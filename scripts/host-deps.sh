#!/usr/bin/env bash
# Installs what the host itself needs (everything else lives in the Debian 13
# environment that scripts/rootfs.sh builds). Debian 12 or 13, as root.
set -euo pipefail
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v unshare >/dev/null || need+=(util-linux)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
[ -d /etc/ssl/certs ] || need+=(ca-certificates)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "host-deps: run as root to install: ${need[*]}" >&2; exit 1; }
    echo "host-deps: installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
