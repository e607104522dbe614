#!/usr/bin/env bash
# door-exports: the door's dynamic symbols are exactly virglrenderer 1.3.0's
# (src/gpu/virgl-abi/virglrenderer-1.3.symbols), and every virgl_* symbol a
# QEMU imports is among them: QEMU 11.1.3's recorded list
# (qemu-11.1.3-virgl-imports.txt) and each QEMU display module installed here
# (QEMU 10.0 in the client environment, 11.1 in client-bpo), read with nm
# at run time.
#
#   door-exports.sh DOOR SYMBOLS IMPORTS...
set -u
door=${1:?usage: door-exports.sh DOOR SYMBOLS IMPORTS...}
want=${2:?usage: door-exports.sh DOOR SYMBOLS IMPORTS...}
shift 2
fail() { echo "FAIL door-exports: $*" >&2; exit 1; }
command -v nm >/dev/null || fail "nm missing (binutils)"
names() { grep -v '^#' "$1" | grep . | sort -u; }
have=$(nm -D --defined-only "$door" | awk '{ print $3 }' | sort -u)
[ -n "$have" ] || fail "nm read no symbols from $door"
extra=$(comm -23 <(echo "$have") <(names "$want"))
missing=$(comm -13 <(echo "$have") <(names "$want"))
[ -z "$extra" ] || fail "the door exports what virglrenderer 1.3 does not:" $extra
[ -z "$missing" ] || fail "the door lacks virglrenderer 1.3 symbols:" $missing
echo "door exports exactly virglrenderer 1.3's $(echo "$have" | wc -l) symbols"
checked=0
for imports in "$@" /usr/lib/x86_64-linux-gnu/qemu/hw-display-virtio-gpu*.so; do
    [ -e "$imports" ] || continue
    case $imports in
        *.so) list=$(nm -D --undefined-only "$imports" | awk '$2 ~ /^virgl_/ { print $2 }' | sort -u) ;;
        *) list=$(names "$imports") ;;
    esac
    [ -n "$list" ] || continue
    lack=$(comm -23 <(echo "$list") <(echo "$have"))
    [ -z "$lack" ] || fail "$(basename "$imports") imports what the door lacks:" $lack
    echo "$(basename "$imports"): all $(echo "$list" | wc -l) virgl_* imports defined"
    checked=$((checked + 1))
done
[ $checked -ge 1 ] || fail "no QEMU import list was checked"
echo "PASS door-exports"
