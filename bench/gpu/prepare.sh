#!/usr/bin/env bash
# Prepares everything a GPU machine needs to check and measure llmc, in
# gpu-carry/ (git-ignored, well under 64 MiB): the GPU machine has no LLVM,
# so artifacts are compiled here and run there with llmc-run and gpu_check,
# which link only the runtime (plus libjansson).
#   - tiny/  : the example for host + every NVIDIA target, with weights, for
#              numerics (device logits vs host logits, greedy tokens)
#   - rand/, rand-bf16/: a small random GQA Llama (f32 and bf16 matmul
#              weights), with weights, for numerics
#   - r1b/, r1b-bf16/, r1b-f16/: a random-weight Llama-shaped model of ~1.1B
#              parameters (TinyLlama's shape) for host + NVIDIA, matmul weights
#              in f32, bf16 and f16, WITHOUT weights (4.4 / 2.3 GB): benchmarked
#              with --synthetic-weights
#   - r1b-int8/: the same with int8 matmul weights (--quant=int8), sm_90a only
#   - r1b-bf16-base/: the bf16 one without the fusion passes and with the
#              shared-memory GEMV (gemv_block), for before/after in one run
#   - r1b-bf16-nomma/: the bf16 one with gemv_warp forced for every step
#              (no tensor-core gemm_mma for steps of 16+ tokens): prefill
#              before/after in one run
#   - g1b-bf16/: a random Gemma 3 1B-shaped model (bf16, sm_90a, without
#              weights): Gemma's fusions (the (1 + w) norms and GeGLU in
#              gemv_warp, fuse-norm-add), head_dim 256, sliding layers
#   - r1b-bf16-gemvwarp*/, r1b-bf16-attentionwarp*/: gemv_warp and
#              attention_warp configurations forced (the list in sweep), for
#              tuned vs heuristic; TOK > 1 shares weight loads among a batch's
#              tokens (batch 8 vs batch 1)
# Usage: bench/gpu/prepare.sh [--emulation] [BUILD_DIR [CARRY_DIR]]
#        then carry gpu-carry/ and run gpu-carry/run.sh on the device (it
#        writes results under $OUT).
# --emulation rehearses the device run here: NVIDIA images are built with
# llmc-emu --gpu-emulation (the test build), the fake driver goes into lib/ as libcuda.so.1, and r1b
# is a small model, so run.sh runs as it would on the device, only slower
# (the emu.gpu.device_script test does this).
set -euo pipefail
cd "$(dirname "$0")/../.."
emulation=
if [ "${1:-}" = --emulation ]; then emulation=1; shift; fi
build=${1:-build}
carry=${2:-gpu-carry}
targets=x86-64-v3,sm_80,sm_90,sm_90a  # a portable CPU target: the GPU box has another CPU
flags=()
llmc=$build/llmc
rand_shape=(--dim 256 --layers 4 --heads 8 --kv-heads 2 --hidden 688 --vocab 1000 --max-context 512)
r1b_shape=(--dim 2048 --layers 22 --heads 32 --kv-heads 4 --hidden 5632 --vocab 32000 --max-context 2048)
g1b_shape=(--dim 1152 --layers 26 --heads 4 --kv-heads 1 --head-dim 256 --hidden 6912 --vocab 262144 --max-context 2048)
if [ -n "$emulation" ]; then
  flags=(--gpu-emulation)
  llmc=$build/llmc-emu  # the test build of llmc: emulation is not in the product
  rand_shape=(--dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --max-context 128)
  r1b_shape=(--dim 128 --layers 2 --heads 4 --kv-heads 2 --hidden 256 --vocab 256 --max-context 256)
  g1b_shape=(--dim 128 --layers 3 --heads 2 --kv-heads 1 --head-dim 64 --hidden 256 --vocab 256 --max-context 256)
fi
rm -rf "$carry"
mkdir -p "$carry/bin" "$carry/lib"
cp "$build/llmc-run" "$build/gpu_check" "$carry/bin/"
# Every shared library the programs need beyond the C library (jansson,
# microhttpd and what it pulls in, xxhash): the GPU machine is bare.
ldd "$build/llmc-run" "$build/gpu_check" | awk '$3 ~ /^\// {print $3}' | sort -u |
  grep -v -E '/(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so' |
  xargs -r cp -L -t "$carry/lib/"
if [ -n "$emulation" ]; then
  cp "$build/tests/unit/runtime/fake_cuda/libcuda.so.1" "$carry/lib/"
  echo 16 >"$carry/bench-tokens"
  echo --quick >"$carry/check-flags"
  echo --prompt-len 4 >"$carry/bench-flags"
  echo 20 >"$carry/prefill-lens"
fi

"$llmc" compile examples/tiny-llama/model.json -o "$carry/tiny" --target=$targets "${flags[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/gen_model" "$work/rand" "${rand_shape[@]}" --seed 7 >/dev/null
"$llmc" compile "$work/rand/model.json" -o "$carry/rand" --target=$targets "${flags[@]}"
"$llmc" compile "$work/rand/model.json" -o "$carry/rand-bf16" --target=$targets "${flags[@]}" \
  --weight-dtype=bf16

"$build/gen_model" "$work/r1b-model" "${r1b_shape[@]}" --seed 1 >/dev/null
ctx=${r1b_shape[-1]}
/usr/bin/time -f "compile r1b ($targets): %e s wall, %M KiB peak RSS" \
  "$llmc" compile "$work/r1b-model/model.json" -o "$work/r1b" --target=$targets --max-context "$ctx" \
  "${flags[@]}"
/usr/bin/time -f "compile r1b (sm_90a only): %e s wall" \
  "$llmc" compile "$work/r1b-model/model.json" -o "$work/r1b-sm90a" --target=sm_90a --max-context "$ctx" \
  "${flags[@]}"
for dt in bf16 f16; do
  "$llmc" compile "$work/r1b-model/model.json" -o "$work/r1b-$dt" --target=$targets --max-context "$ctx" \
    --weight-dtype=$dt "${flags[@]}"
done
# int8 matmul weights (gemv_warp reading int8 rows and a scale per row):
# half of bf16's bytes a decode step.
"$llmc" compile "$work/r1b-model/model.json" -o "$work/r1b-int8" --target=sm_90a --max-context "$ctx" \
  --quant=int8 "${flags[@]}"
# The same bf16 model as llmc compiled it before the fusion passes and
# gemv_warp (the shared-memory GEMV, no new fusions), for before/after in
# one run; and a small sweep of gemv_warp's configurations (rows per warp,
# warps per block) for tuned-vs-heuristic, read from --profile.
"$llmc" compile "$work/r1b-model/model.json" -o "$work/r1b-bf16-base" --target=$targets --max-context "$ctx" \
  --weight-dtype=bf16 --passes=canonicalize,cse,dce,fuse-silu-mul,plan-memory \
  --kernel-config=gemv_block:WG=256 "${flags[@]}"
# Prefill without the tensor cores: gemv_warp (4 tokens a block) for every step.
"$llmc" compile "$work/r1b-model/model.json" -o "$work/r1b-bf16-nomma" --target=sm_90a --max-context "$ctx" \
  --weight-dtype=bf16 --kernel-config=gemv_warp:R=2,TOK=4 "${flags[@]}"
# Compiles the bf16 model once per forced configuration (r1b-bf16-<cfg>),
# appending the artifacts' names to the array named $1.
compile_sweep() {
  local -n names=$1
  shift
  for cfg in "$@"; do
    local a=r1b-bf16-${cfg//[=,:_]/}
    names+=("$a")
    "$llmc" compile "$work/r1b-model/model.json" -o "$work/$a" --target=sm_90a --max-context "$ctx" \
      --weight-dtype=bf16 --kernel-config=$cfg "${flags[@]}"
  done
}
sweep=()
# Decode (batch 1): 8 steps of K in flight instead of 4, with the heuristic's
# rows per warp and with 1 and 2; attention over 8 warps instead of 16.
# Wider steps (batch 8): rows per warp x tokens per block, which trade the
# activation reloads (f32 rows, L1) against weight reuse.
cfgs=(gemv_warp:UNROLL=8 gemv_warp:R=1,UNROLL=8 gemv_warp:R=2,UNROLL=8 attention_warp:WARPS=8
      gemv_warp:R=2,TOK=1 gemv_warp:R=2,TOK=2 gemv_warp:R=2,TOK=8 gemv_warp:R=4,TOK=4)
# The rehearsal's small model has K too short for 8 steps in flight.
[ -n "$emulation" ] && cfgs=(gemv_warp:R=2,TOK=2 attention_warp:WARPS=8)
compile_sweep sweep "${cfgs[@]}"
# Prompt steps: gemm_mma's block tiles (BM x BN of WM x WN warps) around the
# heuristic's 64 x 64, timed only by tune-measure (128-token steps, next to
# the heuristic's own artifact, r1b-bf16).
psweep=()
pcfgs=(gemm_mma:BM=128,BN=64,WM=4,WN=2 gemm_mma:BM=64,BN=128,WM=2,WN=4 gemm_mma:BM=128,BN=128,WM=4,WN=4
       gemm_mma:BM=32,BN=64,WM=1,WN=2)
[ -n "$emulation" ] && pcfgs=()
compile_sweep psweep "${pcfgs[@]}"
# Gemma 3 1B's shape (bf16 checkpoint, tied embeddings, a global layer every
# sixth): the Gemma fusions' decode on the device.
"$build/gen_model" "$work/g1b-model" "${g1b_shape[@]}" --arch gemma3 --tied --dtype bf16 --rope-theta 1000000 \
  --seed 2 --config-extra '"query_pre_attn_scalar": 256, "sliding_window": 512, "rope_local_base_freq": 10000.0,
  "sliding_window_pattern": 6' >/dev/null
"$llmc" compile "$work/g1b-model" -o "$work/g1b-bf16" --target=sm_90a --max-context "${g1b_shape[-1]}" "${flags[@]}"
# Tuned vs heuristic: the database measured on an H200 by this script's
# sweep (bench/gpu/tuning-sm_90a.jsonl, llmc-run tune-measure).
tuned=()
if [ -z "$emulation" ] && [ -f bench/gpu/tuning-sm_90a.jsonl ]; then
  "$llmc" compile "$work/r1b-model/model.json" -o "$work/r1b-bf16-tuned" --target=$targets --max-context "$ctx" \
    --weight-dtype=bf16 --tuning-db=bench/gpu/tuning-sm_90a.jsonl
  tuned=(r1b-bf16-tuned)
fi
echo "${sweep[*]}" >"$carry/sweep"
echo "${psweep[*]}" >"$carry/psweep"
for a in r1b r1b-bf16 r1b-f16 r1b-int8 r1b-bf16-base r1b-bf16-nomma g1b-bf16 "${sweep[@]}" "${psweep[@]}" "${tuned[@]}"; do
  mkdir -p "$carry/$a"
  cp "$work/$a/model.so" "$work/$a/model.h" "$work/$a/report.json" "$carry/$a/"
done
cp bench/gpu/run.sh bench/gpu/torch_peer.py "$carry/"
du -sh "$carry"
