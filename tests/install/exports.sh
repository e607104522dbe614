#!/usr/bin/env bash
# install: libpvgpu.so exports exactly the C API of include/pvgpu/pvgpu.h.
# The compiler lists the functions the header declares (-aux-info, so no
# hand-kept list can drift); `nm -D --defined-only` lists what the library
# defines for the dynamic linker. Any symbol beyond the API (an internal
# pv_* function, a generated pvg_* table, a leaked helper) fails, and so
# does an API function the library does not export.
#
#   exports.sh LIBPVGPU.so PVGPU.h      (CC and NM from the environment)
set -euo pipefail
lib=${1:?usage: exports.sh LIBPVGPU.so PVGPU.h}
hdr=${2:?usage: exports.sh LIBPVGPU.so PVGPU.h}
cc=${CC:-cc}
nm=${NM:-nm}
tmp=$(mktemp -d /tmp/pv-exports.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# shellcheck disable=SC2086 # CC may be a command with arguments
$cc -x c -std=gnu11 -fsyntax-only -aux-info "$tmp/aux" "$hdr"
base=$(basename "$hdr")
sed -n "s|^/\* [^ ]*$base:[0-9]*:[A-Z]* \*/ .*[ *]\([A-Za-z_][A-Za-z0-9_]*\) (.*|\1|p" "$tmp/aux" |
    sort -u >"$tmp/api"
[ -s "$tmp/api" ] || { echo "FAIL: the compiler found no functions in $hdr" >&2; exit 1; }

"$nm" -D --defined-only "$lib" >"$tmp/nm"
awk '{ print $NF }' "$tmp/nm" | sed 's/@.*//' | sort -u >"$tmp/exported"

extra=$(comm -13 "$tmp/api" "$tmp/exported")
missing=$(comm -23 "$tmp/api" "$tmp/exported")
if [ -n "$extra" ]; then
    echo "FAIL: $lib exports $(wc -l <<<"$extra") symbol(s) that $base does not declare:" >&2
    head -n 20 <<<"$extra" | sed 's/^/    /' >&2
fi
if [ -n "$missing" ]; then
    echo "FAIL: $lib does not export these functions of $base:" >&2
    sed 's/^/    /' <<<"$missing" >&2
fi
[ -z "$extra" ] && [ -z "$missing" ] || exit 1
# Every export is code (T): no data symbol is part of the API.
if awk '$2 != "T" { bad = 1; print "    " $0 } END { exit !bad }' "$tmp/nm" >&2; then
    echo "FAIL: $lib exports the non-function symbols above" >&2
    exit 1
fi
echo "PASS: $lib exports exactly the $(wc -l <"$tmp/api") functions of $base"
