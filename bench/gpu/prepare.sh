#!/usr/bin/env bash
# Prepares everything a GPU machine needs to check and measure llmc, in
# gpu-carry/ (git-ignored, well under 64 MiB): the GPU machine has no LLVM,
# so artifacts are compiled here and run there with llmc-run and gpu_check,
# which link only the runtime (plus libjansson).
#   - tiny/  : the example for host + every NVIDIA target, with weights, for
#              numerics (device logits vs host logits, greedy tokens)
#   - r1b/, r1b-bf16/: a random-weight Llama-shaped model of ~1.1B
#              parameters (TinyLlama's shape) for host + NVIDIA, matmul weights
#              in f32 and in bf16, WITHOUT weights (4.4 / 2.3 GB): benchmarked
#              with --synthetic-weights
# Usage: bench/gpu/prepare.sh [BUILD_DIR]   then carry gpu-carry/ and run
#        gpu-carry/run.sh on the device (writes results under $OUT).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
carry=gpu-carry
targets=x86-64-v3,sm_80,sm_90,sm_90a  # a portable CPU target: the GPU box has another CPU
rm -rf "$carry"
mkdir -p "$carry/bin" "$carry/lib"
cp "$build/llmc-run" "$build/gpu_check" "$carry/bin/"
cp "$(ldd "$build/llmc-run" | awk '/libjansson/ {print $3}')" "$carry/lib/"

"$build/llmc" compile examples/tiny-llama/model.json -o "$carry/tiny" --target=$targets

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/gen_model" "$work/r1b" --dim 2048 --layers 22 --heads 32 --kv-heads 4 --hidden 5632 \
  --vocab 32000 --max-context 2048 --seed 1
/usr/bin/time -f "compile r1b ($targets): %e s wall, %M KiB peak RSS" \
  "$build/llmc" compile "$work/r1b/model.json" -o "$work/r1b-out" --target=$targets --max-context 2048
/usr/bin/time -f "compile r1b (sm_90a only): %e s wall" \
  "$build/llmc" compile "$work/r1b/model.json" -o "$work/r1b-sm90a" --target=sm_90a --max-context 2048
"$build/llmc" compile "$work/r1b/model.json" -o "$work/r1b-bf16" --target=$targets --max-context 2048 \
  --weight-dtype=bf16
for a in r1b-out:r1b r1b-bf16:r1b-bf16; do
  mkdir -p "$carry/${a#*:}"
  cp "$work/${a%:*}/model.so" "$work/${a%:*}/model.h" "$work/${a%:*}/report.json" "$carry/${a#*:}/"
done
cp bench/gpu/run.sh "$carry/run.sh"
du -sh "$carry"
