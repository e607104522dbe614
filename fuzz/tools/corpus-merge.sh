#!/usr/bin/env bash
# Folds new inputs into a committed corpus and keeps it small: libFuzzer's
# -set_cover_merge=1 on coverage edges alone (-use_counters=0), a greedy
# smallest set of inputs that reaches every edge the old corpus and the new
# inputs reach (-merge=1 keeps every input with a new hit-count bucket too,
# three to four times as many bytes):
#
#   corpus-merge.sh FUZZER CORPUS_DIR NEW_DIR...
#
# Files named regress-* (reproducers of fixed bugs) and cap-* (seeds captured
# from real clients, fuzz/tools/capture-seeds.sh) always stay, under their
# names; everything else in CORPUS_DIR is merged again with the new inputs,
# against what those kept files already cover, and ends up named by its
# SHA-1 as libFuzzer writes it. Prints the corpus's file count and size.
set -euo pipefail
read -r -a fuzzer <<<"${1:?usage: corpus-merge.sh FUZZER CORPUS_DIR NEW_DIR...}"
corpus=${2:?usage: corpus-merge.sh FUZZER CORPUS_DIR NEW_DIR...}
shift 2
tmp=$(mktemp -d /tmp/pv-merge-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/out" "$tmp/old"
for f in "$corpus"/*; do
    [ -f "$f" ] || continue
    case $(basename "$f") in
    regress-* | cap-*) cp "$f" "$tmp/out/" ;;
    *) cp "$f" "$tmp/old/" ;;
    esac
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
"${fuzzer[@]}" -set_cover_merge=1 -use_counters=0 -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
    "$tmp/out" "$tmp/old" "$@" >"$tmp/log" 2>&1 || { tail -n 20 "$tmp/log" >&2; exit 1; }
for f in "$corpus"/*; do
    case $(basename "$f") in regress-* | cap-*) ;; *) rm -f "$f" ;; esac
done
for f in "$tmp/out"/*; do
    case $(basename "$f") in regress-* | cap-*) ;; *) cp "$f" "$corpus/" ;; esac
done
echo "$corpus: $(find "$corpus" -type f | wc -l) files, $(du -sh "$corpus" | cut -f1)"
