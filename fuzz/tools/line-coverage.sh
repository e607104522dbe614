#!/usr/bin/env bash
# Line coverage that a corpus reaches, measured with gcov: replays the inputs
# through a target's replayer built with coverage (meson -Db_coverage=true,
# gcc) and sums gcov's "Lines executed" over the code the target is for.
#
#   line-coverage.sh COVBUILD TARGET DIR...
#
# Prints, for TARGET's code (src/gpu/venus for renderer_api and venus_decode,
# src/gpu/vtest for vtest_parse), one line per file and the totals of the
# hand-written and the generated files:
#   lines <dir>: <covered>/<total> (<pct>%) [generated: <covered>/<total> (<pct>%)]
# Run inside the environment; COVBUILD must have fuzz/fuzz-regress-TARGET built.
set -euo pipefail
cov=$(cd "${1:?usage: line-coverage.sh COVBUILD TARGET DIR...}" && pwd)
target=${2:?usage: line-coverage.sh COVBUILD TARGET DIR...}
shift 2
case $target in
renderer_api | venus_decode) src=src/gpu/venus objdir=src/gpu/venus/libpvgpu.a.p ;;
vtest_parse) src=src/gpu/vtest objdir=src/gpu/vtest/libpv_vtest.a.p ;;
*) echo "line-coverage.sh: no code list for $target" >&2; exit 2 ;;
esac
find "$cov" -name '*.gcda' -delete
# The replayer's own output is not the point; a crash would be (the run fails).
"$cov/fuzz/fuzz-regress-$target" "$@" >/dev/null
cd "$cov"
find "$objdir" -name '*.gcda' -print0 | xargs -0 -r gcov -n -o "$objdir" 2>/dev/null | awk -v src="$src/" '
    /^File / { f = $2; gsub(/\047/, "", f); sub(/^(\.\.\/)+/, "", f); next }
    /^Lines executed:/ {
        if (index(f, src) != 1 || seen[f]++) next
        split($2, a, /[:%]/); pct = a[2]; n = $4
        c = int(pct * n / 100 + 0.5)
        gen = index(f, "/generated/") > 0
        if (gen) { gc += c; gn += n } else { hc += c; hn += n
            printf "  %-40s %5d/%-5d %5.1f%%\n", f, c, n, pct }
    }
    END {
        printf "lines %s: %d/%d (%.1f%%)", src, hc, hn, hn ? 100 * hc / hn : 0
        if (gn) printf " generated: %d/%d (%.1f%%)", gc, gn, 100 * gc / gn
        printf "\n"
    }'
