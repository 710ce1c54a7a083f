#!/usr/bin/env bash
# Runs on the GPU machine from a copy of gpu-carry/ (see bench/gpu/prepare.sh):
# device-vs-host numerics on the example, then decode benchmarks. Writes
# everything to $OUT (default ./gpu-results).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/gpu-results}
mkdir -p "$out"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  echo "== probe";  "$here/bin/gpu_check" --probe --backend=cuda
  echo "== numerics: example, device vs host"; "$here/bin/gpu_check" --backend=cuda "$here/tiny"
  echo "== greedy tokens, host vs cuda"
  for dev in host cuda; do
    "$here/bin/llmc-run" run "$here/tiny" --device=$dev --prompt-ids 73,116,363,258,256 \
      --max-tokens 32 --temperature 0 --print-ids
  done
  echo "== decode, example (cuda)"; "$here/bin/llmc-run" bench "$here/tiny" --device=cuda --max-tokens 128
  for model in r1b r1b-bf16; do
    for b in 1 8; do
      echo "== decode, ~1.1B random ($model), synthetic weights, batch $b (cuda)"
      "$here/bin/llmc-run" bench "$here/$model" --device=cuda --synthetic-weights --batch $b --max-tokens 64
    done
  done
} 2>&1 | tee "$out/gpu-run.log"
