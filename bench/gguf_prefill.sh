#!/usr/bin/env bash
# bench/gguf_prefill.sh: host prefill (prompt tokens/s) of llmc and
# llama.cpp on the same GGUF files, alternated round by round, every run on
# a fresh copy of its artifact or file (the page-cache trap of
# docs/performance.md). The files are bench/gguf.sh's (run it first: it
# writes m-f32.gguf and llama.cpp's quantizations of it into WORK).
#   env: WORK (/tmp/llmc-gguf-bench), BUILD (build), OLD_BUILD (a second
#        llmc build to compare, e.g. the previous commit's; optional),
#        LLAMA_BENCH (llama-bench; optional), QUANTS ("q4_0 q8_0 q4_k_m f32"),
#        PROMPTS ("256 1024"), ROUNDS (3), THREADS (2)
# Prints one line per run: P, round, who, file, prompt tokens/s.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$SRC/build}
W=${WORK:-/tmp/llmc-gguf-bench}
THREADS=${THREADS:-2}
cd "$W"
builds="new:$B"
[ -n "${OLD_BUILD:-}" ] && builds="old:$OLD_BUILD $builds"
for q in ${QUANTS:-q4_0 q8_0 q4_k_m f32}; do
  [ -f "m-$q.gguf" ] || { echo "no $W/m-$q.gguf: run bench/gguf.sh first" >&2; exit 66; }
  for b in $builds; do
    rm -rf "pf-${b%%:*}-$q"
    "${b#*:}"/llmc compile "m-$q.gguf" -o "pf-${b%%:*}-$q"
  done
done
fresh=$(mktemp -d "${TMPDIR:-/tmp}/llmc-pf.XXXXXX")
trap 'rm -rf "$fresh"' EXIT
for p in ${PROMPTS:-256 1024}; do
  for r in $(seq 1 "${ROUNDS:-3}"); do
    for q in ${QUANTS:-q4_0 q8_0 q4_k_m f32}; do
      for b in $builds; do
        rm -rf "$fresh/a"
        cp -r "pf-${b%%:*}-$q" "$fresh/a"
        v=$("$B"/llmc bench "$fresh/a" --prompt-len "$p" --max-tokens 1 --threads "$THREADS" |
          sed -n 's/.*(\([0-9.]*\) prompt tokens\/s).*/\1/p')
        echo "P=$p round $r llmc-${b%%:*} $q $v"
      done
      if [ -n "${LLAMA_BENCH:-}" ]; then
        rm -f "$fresh/f.gguf"
        cp "m-$q.gguf" "$fresh/f.gguf"
        v=$("$LLAMA_BENCH" -m "$fresh/f.gguf" -p "$p" -n 0 -t "$THREADS" -r 1 -o csv 2>/dev/null |
          awk -F, 'NR > 1 {gsub(/"/, "", $(NF-1)); print $(NF-1)}' | tail -1)
        echo "P=$p round $r llama.cpp $q $v"
      fi
    done
  done
done
