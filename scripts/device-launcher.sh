#!/bin/sh
# A bundle's launcher (scripts/device-bundle*.sh copy it in as BUNDLE/run):
# `BUNDLE/run PROGRAM ARGS` runs BUNDLE/bin/PROGRAM through the bundled
# dynamic loader with the bundled libraries, so nothing depends on the other
# machine's libraries. PV_BUNDLE_LIBRARY_PATH: more directories, after ours
# (the host driver's, e.g. where the NVIDIA ICD's libGLX_nvidia.so.0 lives);
# PV_BUNDLE_LIBRARY_FIRST: directories before ours (the VM bundle's door/).
d=$(cd "$(dirname "$0")" && pwd)
p=$1; shift
exec "$d/lib/ld-linux-x86-64.so.2" \
    --library-path "${PV_BUNDLE_LIBRARY_FIRST:+$PV_BUNDLE_LIBRARY_FIRST:}$d/lib${PV_BUNDLE_LIBRARY_PATH:+:$PV_BUNDLE_LIBRARY_PATH}" \
    "$d/bin/$p" "$@"
