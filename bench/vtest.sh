#!/usr/bin/env bash
# Runs bench/vtest.py (native vs virgl_test_server vs pearvisor over vtest)
# inside the Debian 13 environment. Build first (meson compile -C build).
#   sudo bench/vtest.sh [--runs N] [--json FILE] [...]   (see bench/vtest.py --help)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# The environment may not see a worktree's git directory: name the commit here.
PV_BENCH_COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || true)
export PV_BENCH_COMMIT
exec scripts/in-env.sh python3 bench/vtest.py "$@"
