#!/usr/bin/env bash
# vtest: every device extension the host driver has and the Venus client
# does not get through `pearvisor gpu serve` is named, with its reason, in
# docs/extensions.md.
# Compared at run time, so a new host driver, client or renderer change that
# holds back something new fails until the doc says why.
#
#   extensions.sh PEARVISOR DOC
. "$(dirname "$0")/lib.sh"
pv=${1:?usage: extensions.sh PEARVISOR DOC}
doc=${2:?usage: extensions.sh PEARVISOR DOC}
need_icds
[ -f "$doc" ] || fail "no $doc"
# names: the device extensions of one full vulkaninfo run (stdin).
names() { sed -n '/^Device Extensions/,/^$/p' | awk -F: '/extension revision/ { gsub(/[ \t]/, "", $1); print $1 }' | sort -u; }
native vulkaninfo 2>/dev/null | names >"$tmp/native"
[ -s "$tmp/native" ] || fail "native vulkaninfo listed no device extension"
start_server "$pv"
venus vulkaninfo 2>/dev/null | names >"$tmp/venus"
stop_server
[ -s "$tmp/venus" ] || fail "vulkaninfo through Venus listed no device extension"
# What the client adds itself (its own tooling, DRM and WSI extensions) or
# the renderer emulates (interop.c) is printed, not checked.
extra=$(comm -13 "$tmp/native" "$tmp/venus" | tr '\n' ' ')
[ -n "$extra" ] && note "through Venus only (the client's or the renderer's own): $extra"
sed -n 's/^| \(VK_[A-Za-z0-9_]*\) |.*/\1/p' "$doc" | sort -u >"$tmp/documented"
missing=$(comm -23 "$tmp/native" "$tmp/venus" | comm -23 - "$tmp/documented")
[ -z "$missing" ] || fail "held back without a reason in $(basename "$doc"):" $missing
echo "PASS $test_name: $(wc -l <"$tmp/native") native, $(wc -l <"$tmp/venus") through Venus; the $(comm -23 "$tmp/native" "$tmp/venus" | wc -l) held back are all in $(basename "$doc")"
