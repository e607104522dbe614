#!/usr/bin/env bash
# Prints the Debian archive URL this machine's apt is configured with.
# PearVisor never hard-codes a mirror: we ask apt's own sources (deb822
# .sources files first, then one-line sources.list), skipping the security
# archive. PEARVISOR_MIRROR overrides.
set -euo pipefail
if [ -n "${PEARVISOR_MIRROR:-}" ]; then echo "$PEARVISOR_MIRROR"; exit 0; fi
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
done | grep -v -e security -e '^$' | head -n1 | grep . && exit 0
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f"
done | grep -v security | head -n1 | grep . && exit 0
echo "debian-mirror: no Debian archive found in apt sources; set PEARVISOR_MIRROR" >&2
exit 1
