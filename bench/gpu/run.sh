#!/usr/bin/env bash
# Runs on the GPU machine from a copy of gpu-carry/ (see bench/gpu/prepare.sh):
# device-vs-host numerics on the example and a random GQA model (logits and
# 32 greedy steps), then decode benchmarks against the device's own copy
# bandwidth. Writes everything to $OUT (default ./gpu-results). Exits
# nonzero when a numerics check fails (the benchmarks still run).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/gpu-results}
mkdir -p "$out"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
tokens=128
check_flags=() bench_flags=()
# An emulation rehearsal (prepare.sh --emulation) asks for less work.
[ -f "$here/bench-tokens" ] && tokens=$(cat "$here/bench-tokens")
[ -f "$here/check-flags" ] && read -r -a check_flags <"$here/check-flags"
[ -f "$here/bench-flags" ] && read -r -a bench_flags <"$here/bench-flags"
failed=0
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  echo "== probe";  "$here/bin/gpu_check" --probe --backend=cuda || failed=1
  for m in tiny rand rand-bf16; do
    [ -d "$here/$m" ] || continue  # a benchmark-only carry leaves the random models out
    echo "== numerics: $m, device vs host"
    "$here/bin/gpu_check" --backend=cuda "${check_flags[@]}" "$here/$m" || failed=1
  done
  echo "== greedy tokens of the example, host vs cuda"
  for dev in host cuda; do
    "$here/bin/llmc-run" run "$here/tiny" --device=$dev --prompt-ids 73,116,363,258,256 \
      --max-tokens 32 --temperature 0 --print-ids || failed=1
  done
  echo "== decode, example (cuda)"
  "$here/bin/llmc-run" bench "$here/tiny" --device=cuda --max-tokens "$tokens" "${bench_flags[@]}" \
    || failed=1
  tuned=()
  [ -d "$here/r1b-bf16-tuned" ] && tuned=(r1b-bf16-tuned)  # compiled with bench/gpu/tuning-sm_90a.jsonl
  for model in r1b-bf16 "${tuned[@]}" r1b-int8 r1b-f16 r1b; do
    for b in 1 8; do
      echo "== decode, ~1.1B random ($model), synthetic weights, batch $b (cuda) [$((SECONDS))s]"
      "$here/bin/llmc-run" bench "$here/$model" --device=cuda --synthetic-weights --batch $b \
        --max-tokens $((tokens / 2)) "${bench_flags[@]}" || failed=1
    done
  done
  # Prefill (TTFT of a prompt in steps of 128 tokens): bf16 steps of 16+
  # tokens on the tensor cores (gemm_mma) against gemv_warp for every step.
  read -r -a prefill_lens <"$here/prefill-lens" 2>/dev/null || prefill_lens=(128 512 2000)
  for model in r1b-bf16 r1b-bf16-nomma; do
    [ -d "$here/$model" ] || continue
    for p in "${prefill_lens[@]}"; do
      echo "== prefill, ~1.1B random ($model), synthetic weights, $p-token prompt (cuda) [$((SECONDS))s]"
      "$here/bin/llmc-run" bench "$here/$model" --device=cuda --synthetic-weights --prompt-len "$p" \
        --max-tokens 1 || failed=1
    done
  done
  for b in 1 8; do
    echo "== decode, Gemma 3 1B-shaped (g1b-bf16), synthetic weights, batch $b (cuda) [$((SECONDS))s]"
    "$here/bin/llmc-run" bench "$here/g1b-bf16" --device=cuda --synthetic-weights --batch $b \
      --max-tokens $((tokens / 2)) "${bench_flags[@]}" || failed=1
  done
  for model in r1b-bf16 r1b-bf16-base g1b-bf16; do
    echo "== where the time goes, $model (~1B, random), batch 1 (cuda, --profile) [$((SECONDS))s]"
    "$here/bin/llmc-run" bench "$here/$model" --device=cuda --synthetic-weights --profile \
      --max-tokens $((tokens / 4)) "${bench_flags[@]}" || failed=1
  done
  echo "== where the time goes, ~1.1B random (r1b-bf16), batch 8 (cuda, --profile)"
  "$here/bin/llmc-run" bench "$here/r1b-bf16" --device=cuda --synthetic-weights --profile --batch 8 \
    --max-tokens $((tokens / 4)) "${bench_flags[@]}" || failed=1
  for b in 1 8; do
    echo "== before: r1b-bf16 without fusions, shared-memory GEMV (r1b-bf16-base), batch $b (cuda)"
    "$here/bin/llmc-run" bench "$here/r1b-bf16-base" --device=cuda --synthetic-weights --batch $b \
      --max-tokens $((tokens / 2)) "${bench_flags[@]}" || failed=1
  done
  # The peer: torch on the same device in the same run (skipped where there
  # is no torch, as in the emulation rehearsal).
  if [ -f "$here/torch_peer.py" ] && python3 -c 'import torch' 2>/dev/null; then
    echo "== torch on the same device: cuBLAS decode-step GEMVs, transformers decode [$((SECONDS))s]"
    LD_LIBRARY_PATH= timeout 240 python3 "$here/torch_peer.py" cuda || echo "torch peer: exit $?"
  fi
  read -r -a sweep <"$here/sweep" 2>/dev/null || sweep=()
  for model in "${sweep[@]}"; do
    echo "== gemv_warp configuration sweep: $model, batch 1 (cuda, --profile) [$((SECONDS))s]"
    "$here/bin/llmc-run" bench "$here/$model" --device=cuda --synthetic-weights --profile \
      --max-tokens $((tokens / 4)) "${bench_flags[@]}" || failed=1
    echo "== gemv_warp configuration sweep: $model, batch 8 (cuda)"
    "$here/bin/llmc-run" bench "$here/$model" --device=cuda --synthetic-weights --batch 8 \
      --max-tokens $((tokens / 4)) "${bench_flags[@]}" || failed=1
  done
  # The prompt-step sweep (gemm_mma tiles) is timed by tune-measure alone:
  # decode steps and 128-token prompt steps, with the heuristic's r1b-bf16.
  read -r -a psweep <"$here/psweep" 2>/dev/null || psweep=()
  [ ${#psweep[@]} -gt 0 ] && psweep+=(r1b-bf16)
  if [ ${#sweep[@]} -gt 0 ]; then
    echo "== the sweep as a tuning database for sm_90a (llmc-run tune-measure -> $out/tuning-sm_90a.jsonl) [$((SECONDS))s]"
    (cd "$here" && "$here/bin/llmc-run" tune-measure --target=sm_90a --device=cuda --synthetic-weights \
      -o "$out/tuning-sm_90a.jsonl" "${sweep[@]}" "${psweep[@]}") || failed=1
    cat "$out/tuning-sm_90a.jsonl" 2>/dev/null
  fi
  for model in r1b r1b-bf16; do
    echo "== the same without CUDA graphs (LLMC_CUDA_GRAPHS=0), ~1.1B random ($model), batch 1 (cuda) [$((SECONDS))s]"
    LLMC_CUDA_GRAPHS=0 "$here/bin/llmc-run" bench "$here/$model" --device=cuda --synthetic-weights \
      --max-tokens $((tokens / 2)) "${bench_flags[@]}" || failed=1
  done
  echo "== where the time goes, ~1.1B random (r1b), batch 1 (cuda, --profile)"
  "$here/bin/llmc-run" bench "$here/r1b" --device=cuda --synthetic-weights --profile \
    --max-tokens $((tokens / 4)) "${bench_flags[@]}" || failed=1
  echo "== done [$((SECONDS))s]"
  echo "== result: $([ $failed = 0 ] && echo all checks passed || echo SOME CHECKS FAILED)"
} 2>&1 | tee "$out/gpu-run.log"
grep -q "^== result: all checks passed" "$out/gpu-run.log"
