#!/usr/bin/env bash
# Decode benchmark of a random-weight Llama-shaped model of about 100M
# parameters (f32), plus the bundled example: compile time, peak compile
# memory, artifact size, then `llmc bench` (TTFT, TPOT, tokens/s, achieved
# weight-read bandwidth vs the machine's, measured in the same run).
# Usage: bench/decode.sh [BUILD_DIR] [TARGET]   (defaults: build, x86-64-v3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
target=${2:-x86-64-v3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # name model
  local name=$1 model=$2
  /usr/bin/time -f "%e s wall, %M KiB peak RSS" "$build/llmc" compile "$model" -o "$work/$name" \
    --target="$target" 2>"$work/$name.time"
  echo "== $name: compile $(tail -1 "$work/$name.time"), model.so $(stat -c %s "$work/$name/model.so") B," \
       "weights $(stat -c %s "$work/$name/weights.safetensors") B"
  "$build/llmc" bench "$work/$name" --prompt-len 32 --max-tokens 64
}

"$build/gen_model" "$work/m100" --dim 768 --layers 12 --heads 12 --kv-heads 4 --hidden 2048 \
  --vocab 16000 --max-context 1024 --seed 5
measure example examples/tiny-llama/model.json
measure random-100m "$work/m100/model.json"
