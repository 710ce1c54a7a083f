#!/usr/bin/env bash
# Host decode speed per weight layout (issue 12), in one run: random-weight
# Llama-shaped models of ~130M and ~1.1B parameters (the second TinyLlama's
# shape), each compiled as f32, bf16, int8 rows, int8-g32 and int4 (the
# integer layouts with the default int8 activations, matmul_q8), then
# `llmc bench` on each, the layouts alternated for ROUNDS rounds. Prints
# decode tokens/s, weight bytes a step reads, achieved weight bytes/s and
# the machine's read bandwidth that `llmc bench` measures in the same
# process, and each layout's speed over f32's in the same round.
# Usage: bench/layouts.sh [BUILD_DIR] [TARGET]
#   env: ROUNDS (default 2), THREADS (default: all), SIZES ("small large")
# Needs ~12 GB of free disk for the large model (checkpoint + artifacts).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
target=${2:-x86-64-v3}
rounds=${ROUNDS:-2}
threads=${THREADS:-$(nproc)}
work=$(mktemp -d "${TMPDIR:-/tmp}/llmc-layouts.XXXXXX")
trap 'rm -rf "$work"' EXIT
layouts="f32 bf16 int8 int8-g32 int4"

flags() { # layout -> compile flags
  case $1 in
    f32) echo "--weight-dtype=f32" ;;
    bf16) echo "--weight-dtype=bf16" ;;
    *) echo "--quant=$1" ;;
  esac
}

for size in ${SIZES:-small large}; do
  case $size in
    small) gen="--dim 768 --layers 12 --heads 12 --kv-heads 4 --hidden 2048 --vocab 32000" ;;
    large) gen="--dim 2048 --layers 22 --heads 32 --kv-heads 4 --hidden 5632 --vocab 32000" ;;
  esac
  # shellcheck disable=SC2086
  "$build/gen_model" "$work/$size" $gen --max-context 1024 --seed 1 >/dev/null
  for l in $layouts; do
    # shellcheck disable=SC2046
    "$build/llmc" compile "$work/$size/model.json" -o "$work/$size-$l" --target="$target" $(flags "$l") >/dev/null
  done
  rm -f "$work/$size"/*.safetensors # the artifacts hold what they read
  echo "== $size: $(jq -r '.memory.weight_bytes' "$work/$size-f32/report.json") weight bytes as f32, $threads threads"
  for r in $(seq "$rounds"); do
    base=
    for l in $layouts; do
      out=$("$build/llmc" bench "$work/$size-$l" --prompt-len 32 --max-tokens 64 --threads "$threads")
      tps=$(awk '/^decode/ {print $2}' <<<"$out")
      mb=$(awk '/^weights per step/ {print $4}' <<<"$out")
      bw=$(awk '/^achieved read BW/ {print $4}' <<<"$out")
      mbw=$(awk '/^machine read BW/ {print $4}' <<<"$out")
      [ -n "$base" ] || base=$tps
      printf 'round %d %-9s %8s tokens/s  %8s MB/step  %6s GB/s of %6s GB/s  %5.2fx f32\n' "$r" "$l" "$tps" "$mb" "$bw" \
        "$mbw" "$(echo "$tps / $base" | bc -l)"
    done
  done
  rm -rf "$work/$size" "$work/$size"-*
done
