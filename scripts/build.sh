#!/usr/bin/env bash
# Builds PearVisor in the Debian 13 environment: scripts/build.sh [BUILDDIR [MESON OPTIONS...]]
# (default build/). Configures on first use, then runs ninja.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
    "$here/in-env.sh" meson setup "$dir" "$@" >/dev/null
fi
"$here/in-env.sh" ninja -C "$dir" >/dev/null || "$here/in-env.sh" ninja -C "$dir"
