#!/usr/bin/env bash
# Packs the three libFuzzer targets for long runs on another Linux machine
# (the GPU machine: 16 cores, no network, 10 minutes a call, 64 MiB in a
# transfer) into OUT/ and OUT.tar.gz: the fuzz binaries of BUILD (made by
# scripts/fuzz.sh), their committed corpora, lavapipe (the renderer_api
# target's host driver, its manifest pointing at the bundled library), the
# Vulkan loader, binutils' addr2line (names in stack traces), every library
# they load and the Debian dynamic loader, so that nothing depends on the
# other machine's libraries. Run inside the environment:
#
#   scripts/in-env.sh scripts/fuzz-bundle.sh BUILD OUT [TARGET...]
#
# TARGET: venus_decode, vtest_parse, renderer_api (default: all three);
# lavapipe comes only with renderer_api (its LLVM is most of the bundle).
# libz3 is not bundled but replaced by a stub: libLLVM needs it to load
# (its static analyzer's solver), lavapipe never calls it, and it would be
# 12 of the 64 MiB; each Z3_ function the stub defines aborts.
# On the other machine: tar xzf OUT.tar.gz; OUT/fuzz-long.sh (see there).
set -euo pipefail
build=${1:?usage: fuzz-bundle.sh BUILD OUT}
out=${2:?usage: fuzz-bundle.sh BUILD OUT}
top=$(cd "$(dirname "$0")/.." && pwd)
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(venus_decode vtest_parse renderer_api)
lvp=/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so
# Where the fuzzers look for their loader and libraries on the other machine:
# a symbolic link to the bundle, made by its launchers.
BUNDLE_LINK=/tmp/pv-fuzz-bundle
with_lvp=0
for t in "${targets[@]}"; do [ "$t" = renderer_api ] && with_lvp=1; done
rm -rf "$out" "$out.tar.gz"
mkdir -p "$out/bin" "$out/real" "$out/lib" "$out/icd" "$out/corpus"
out=$(cd "$out" && pwd)
progs=()
for t in "${targets[@]}"; do
    [ -x "$build/fuzz/fuzz-$t" ] || { echo "fuzz-bundle.sh: no $build/fuzz/fuzz-$t" >&2; exit 1; }
    progs+=("$build/fuzz/fuzz-$t")
    cp -r "$top/fuzz/corpus/$t" "$out/corpus/"
done
build=$(cd "$build" && pwd)
# The fuzzers, linked again from BUILD's objects to run on the bundled loader
# and libraries from a fixed place, $BUNDLE_LINK (fuzz-long.sh points it at
# the bundle): started directly, /proc/self/exe is the fuzzer (the
# sanitizers name its frames from it) and libFuzzer's fork and merge modes
# can start workers from argv[0] through the machine's /bin/sh. DT_RPATH
# (not RUNPATH) so that lavapipe's own dependencies are found there too.
# DWARF off (function names stay in the symbol table): the transfer is 64
# MiB; replay a finding here for files and lines.
for t in "${targets[@]}"; do
    link=$(ninja -C "$build" -t commands "fuzz/fuzz-$t" | tail -n 1)
    case $link in *" -o fuzz/fuzz-$t "*) ;; *) echo "fuzz-bundle.sh: no link command for $t" >&2; exit 1 ;; esac
    (cd "$build" && eval "${link/ -o fuzz\/fuzz-$t / -o $out/real/fuzz-$t }" \
        -Wl,--dynamic-linker="$BUNDLE_LINK/lib/ld-linux-x86-64.so.2" \
        -Wl,--disable-new-dtags -Wl,-rpath,"$BUNDLE_LINK/lib")
    strip --strip-debug "$out/real/fuzz-$t"
done
cp /usr/bin/addr2line "$out/real/"
progs+=(/usr/bin/addr2line)
libs=(/usr/lib/x86_64-linux-gnu/libvulkan.so.1)
[ "$with_lvp" = 1 ] && libs+=("$lvp")
for f in "${progs[@]}" "${libs[@]}"; do
    ldd "$f" | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }'
done | sort -u | while read -r lib; do
    case $(basename "$lib") in libz3.so.*) ;; *) cp -L "$lib" "$out/lib/" ;; esac
done
cp -L "${libs[@]}" "$out/lib/"
cp -L /lib64/ld-linux-x86-64.so.2 "$out/lib/"
if [ "$with_lvp" = 1 ]; then
    llvm=$(ldd "$lvp" | awk '/libLLVM/ { print $3 }')
    z3=$(ldd "$llvm" | awk '/libz3/ { print $1 }')
    if [ -n "$z3" ]; then
        nm -D --undefined-only "$llvm" | awk '$2 ~ /^Z3_/ { printf "void %s(void) { abort(); }\n", $2 }' |
            { echo '#include <stdlib.h>'; cat; } >"$out/z3-stub.c"
        gcc -shared -fPIC -O1 -Wl,-soname,"$z3" -o "$out/lib/$z3" "$out/z3-stub.c"
        rm "$out/z3-stub.c"
    fi
    # A relative library_path is relative to the manifest.
    sed "s|\"library_path\": *\"[^\"]*\"|\"library_path\": \"../lib/libvulkan_lvp.so\"|" \
        "/usr/share/vulkan/icd.d/lvp_icd.json" >"$out/icd/lvp_icd.json"
    grep -q '"../lib/libvulkan_lvp.so"' "$out/icd/lvp_icd.json"
fi
# bin/NAME: real/NAME, with $BUNDLE_LINK pointing at this bundle (fuzzers),
# or on the bundled loader and libraries (addr2line).
for t in "${targets[@]}"; do
    cat >"$out/bin/fuzz-$t" <<RUN
#!/bin/sh
d=\$(cd "\$(dirname "\$0")/.." && pwd)
[ "\$(readlink "$BUNDLE_LINK")" = "\$d" ] || ln -sfn "\$d" "$BUNDLE_LINK"
exec "\$d/real/fuzz-$t" "\$@"
RUN
done
cat >"$out/bin/addr2line" <<'RUN'
#!/bin/sh
d=$(cd "$(dirname "$0")/.." && pwd)
exec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/real/addr2line" "$@"
RUN
chmod +x "$out/bin"/*
cp "$top/fuzz/tools/fuzz-run.sh" "$top/fuzz/tools/fuzz-long.sh" "$top/fuzz/tools/triage.sh" "$out/"
tar -C "$(dirname "$out")" -cf - "$(basename "$out")" | gzip -9 >"$out.tar.gz"
du -sh "$out" "$out.tar.gz"
