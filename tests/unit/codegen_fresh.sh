#!/bin/sh
# Regenerates the Venus codecs into a temporary directory and diffs them
# against src/gpu/venus/generated. Exit 77 (skip) when the pinned vk.xml of
# codegen/inputs.txt is not installed.
#   tests/unit/codegen_fresh.sh [SOURCE_ROOT] [VK_XML]
set -eu
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
vkxml=${2:-/usr/share/vulkan/registry/vk.xml}
want=$(awk '$1 == "vk.xml" { print $3 }' "$top/codegen/inputs.txt")
if [ ! -r "$vkxml" ]; then
    echo "codegen-fresh: $vkxml missing, skipping"
    exit 77
fi
have=$(sha256sum "$vkxml" | cut -d' ' -f1)
if [ "$have" != "$want" ]; then
    echo "codegen-fresh: $vkxml is not the pinned one (sha256 $have), skipping"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$top/codegen/venus_gen.py" --vk-xml "$vkxml" --out "$tmp"
if ! diff -r "$top/src/gpu/venus/generated" "$tmp" >"$tmp.diff" 2>&1; then
    head -n 50 "$tmp.diff"
    rm -f "$tmp.diff"
    echo "codegen-fresh: src/gpu/venus/generated is stale; run codegen/venus_gen.py"
    exit 1
fi
rm -f "$tmp.diff"
echo "codegen-fresh: up to date"
