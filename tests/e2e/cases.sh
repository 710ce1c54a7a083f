#!/usr/bin/env bash
# End-to-end cases, one per ctest test: tests/e2e/cases.sh CASE
# (the environment and helpers are in lib.sh)
source "$(dirname "$0")/lib.sh"

case $case_name in
random-gqa)
  "$GEN_MODEL" m --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 1
  "$LLMC" compile m/model.json -o out/
  "$E2E_CHECK" m/model.json out --steps 32 --prompt-lens 1,5,17,40
  # The IR of a real graph round-trips through the text form.
  "$LLMC" compile m/model.json -o ir --emit=ir
  "$IR_OPT" ir/model.ir > reparsed.ir
  cmp ir/model.ir reparsed.ir || fail "IR text does not round-trip"
  # A KV cache of 3 blocks (48 tokens) serves a 40-token sequence but refuses a longer one.
  [ "$("$LLMC" run out --prompt-ids 1,2,3 --max-tokens 37 --temperature 0 --print-ids --kv-blocks 3 | wc -w)" -eq 37 ]
  expect_error 65 "error:" -- "$LLMC" run out --prompt-ids 1,2,3 --max-tokens 60 --kv-blocks 3
  ;;
random-tied-f16)
  "$GEN_MODEL" m --dim 96 --layers 3 --heads 6 --kv-heads 2 --hidden 128 --vocab 131 --tied --dtype f16 --seed 2
  "$LLMC" compile m/model.json -o out --max-step-tokens 16 --block-size 8
  "$E2E_CHECK" m/model.json out --steps 32 --prompt-lens 1,3,33
  ;;
random-mha-bf16)
  "$GEN_MODEL" m --dim 64 --layers 2 --heads 2 --kv-heads 2 --hidden 96 --vocab 64 --dtype bf16 --seed 3
  "$LLMC" compile m/model.json -o out -O0
  "$E2E_CHECK" m/model.json out --steps 32 --prompt-lens 2,9
  ;;
hf-import)
  # The same random checkpoint as one file and as two shards with an index,
  # through the HF importer and through the hand-written model.json.
  "$GEN_MODEL" one --dim 64 --layers 2 --heads 4 --kv-heads 1 --hidden 128 --vocab 80 --seed 7
  "$GEN_MODEL" two --dim 64 --layers 2 --heads 4 --kv-heads 1 --hidden 128 --vocab 80 --seed 7 --shards 2
  "$GEN_MODEL" tied --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 128 --vocab 80 --seed 8 --tied
  "$LLMC" compile one/model.json -o out-json
  "$LLMC" compile one -o out-hf
  "$LLMC" compile two -o out-shards
  "$LLMC" compile tied -o out-tied
  "$LLMC" compile tied/model.json -o out-tied-json
  ref=$(greedy_ids out-json 1,15,42 32)
  [ "$(echo "$ref" | wc -w)" -eq 32 ] || fail "expected 32 ids, got '$ref'"
  [ "$(greedy_ids out-hf 1,15,42 32)" = "$ref" ] || fail "HF import differs from model.json"
  [ "$(greedy_ids out-shards 1,15,42 32)" = "$ref" ] || fail "sharded HF import differs from model.json"
  [ "$(greedy_ids out-tied 3,1,4,1,5 32)" = "$(greedy_ids out-tied-json 3,1,4,1,5 32)" ] || fail "tied HF import differs"
  "$E2E_CHECK" two out-shards --steps 32 --prompt-lens 3
  # Qwen2 (q/k/v biases) is the same mechanism with another description
  # (frontend/arch/qwen2.json).
  "$GEN_MODEL" qwen --arch qwen2 --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 96 --vocab 90 --seed 9
  "$LLMC" compile qwen -o out-qwen-hf
  "$LLMC" compile qwen/model.json -o out-qwen-json
  qref=$(greedy_ids out-qwen-json 1,15,42 32)
  [ "$(greedy_ids out-qwen-hf 1,15,42 32)" = "$qref" ] || fail "Qwen2 HF import differs from model.json"
  "$E2E_CHECK" qwen out-qwen-hf --steps 32 --prompt-lens 1,11
  "$LLMC" compile qwen -o out-qwen-gpu --target=gfx942,spirv$(nv ,sm_90a)
  # llmc import prints the model.json the importer builds; saved next to the
  # weights it compiles to the same artifact.
  "$LLMC" import two > two/imported.json
  "$LLMC" compile two/imported.json -o out-imported
  [ "$(greedy_ids out-imported 1,15,42 32)" = "$ref" ] || fail "imported model.json differs"
  expect_error 66 "config.json" -- "$LLMC" import no-such-dir
  ;;
example)
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o out
  "$E2E_CHECK" "$SRC/examples/tiny-llama/model.json" out --steps 32 --prompt-lens 1,12 \
    --reference "$SRC/examples/tiny-llama/reference.json"
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o ir --emit=ir
  "$IR_OPT" ir/model.ir > reparsed.ir
  cmp ir/model.ir reparsed.ir || fail "IR text does not round-trip"
  text=$("$LLMC" run out --prompt "Once upon a time" --max-tokens 24 --temperature 0)
  echo "$text"
  [ "${#text}" -gt 30 ] || fail "generated text too short"
  # Sampling with a seed is reproducible; different seeds differ.
  a=$("$LLMC" run out --prompt-ids 5,6,7 --max-tokens 24 --temperature 1 --top-k 40 --top-p 0.9 --seed 3 --print-ids)
  b=$("$LLMC" run out --prompt-ids 5,6,7 --max-tokens 24 --temperature 1 --top-k 40 --top-p 0.9 --seed 3 --print-ids)
  c=$("$LLMC" run out --prompt-ids 5,6,7 --max-tokens 24 --temperature 1 --top-k 40 --top-p 0.9 --seed 4 --print-ids)
  [ "$a" = "$b" ] || fail "same seed gave different tokens"
  [ "$a" != "$c" ] || fail "different seeds gave the same 24 tokens"
  # llmc-run, the runtime-only program, runs the same artifact the same way
  # and links neither LLVM nor MLIR.
  [ "$("$LLMC_RUN" run out --prompt-ids 5,6,7 --max-tokens 24 --temperature 1 --top-k 40 --top-p 0.9 --seed 3 --print-ids)" = "$a" ] ||
    fail "llmc-run and llmc run differ"
  ! ldd "$LLMC_RUN" | grep -iE 'llvm|mlir' || fail "llmc-run links LLVM or MLIR"
  # Benchmarks can run without the weights file (synthetic weights).
  cp -r out noweights && rm noweights/weights.safetensors
  "$LLMC_RUN" bench noweights --synthetic-weights --prompt-len 4 --max-tokens 4 | grep '^decode' >/dev/null ||
    fail "bench --synthetic-weights failed"
  # Continuous batching in the benchmark: 3 sequences decoded together.
  "$LLMC" bench out --batch 3 --prompt-len 8 --max-tokens 8 > bench.txt
  grep '^sequences  *3 ' bench.txt >/dev/null || fail "bench --batch 3 did not run 3 sequences"
  grep '^decode .*(21 tokens' bench.txt >/dev/null || fail "bench decoded the wrong number of tokens"
  # --profile: every kernel of the plan, with its launches (one per step).
  "$LLMC" bench out --profile --prompt-len 4 --max-tokens 4 > profile.txt
  grep '^profile  *wall time per kernel' profile.txt >/dev/null || fail "bench --profile printed no profile"
  grep -E '^  llmc_k0_[a-z_]+ +[0-9]+ ' profile.txt >/dev/null || fail "bench --profile lists no kernel"
  # The warm-up rounds (default 1) are neither timed nor profiled: the
  # embedding runs once a step of the timed round (1 prefill + 3 decode)
  # whatever the warm-up; `run` has no --warmup.
  for w in 0 3; do
    "$LLMC" bench out --profile --prompt-len 4 --max-tokens 4 --warmup $w > profile.txt
    grep -E '^  llmc_k0_embedding +4 ' profile.txt >/dev/null || fail "bench --warmup $w profiled other than the 4 timed steps"
  done
  expect_error 64 "unknown option '--warmup'" -- "$LLMC" run out --prompt-ids 5 --max-tokens 1 --warmup 1
  expect_error 64 "bad --warmup" -- "$LLMC" bench out --warmup 101
  ;;
half-weights)
  # 16-bit matmul weights: exact when the checkpoint is already 16-bit, so the
  # artifact must match the interpreter as tightly as in f32.
  "$GEN_MODEL" b --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 3 --dtype bf16
  "$LLMC" compile b/model.json -o b-out --weight-dtype=bf16
  grep '"family": "matmul_half"' b-out/report.json >/dev/null || fail "bf16 weights did not select matmul_half"
  "$E2E_CHECK" b/model.json b-out --steps 32 --prompt-lens 1,9,33
  # The other x86 target classes, whatever this machine is: no kernel may
  # leave model.so a compiler-rt symbol to miss (a bf16 widening by
  # arith.extf did, on AVX2), and prefill's GEMM agrees there too.
  for t in x86-64 x86-64-v3; do
    "$LLMC" compile b/model.json -o "b-$t" --weight-dtype=bf16 --target=$t
    "$E2E_CHECK" b/model.json "b-$t" --steps 8 --prompt-lens 9,33
  done
  "$GEN_MODEL" h --dim 96 --layers 2 --heads 6 --kv-heads 2 --hidden 128 --vocab 131 --seed 4 --dtype f16 --tied
  "$LLMC" compile h/model.json -o h-out --weight-dtype=f16 --target=x86-64-v3
  "$E2E_CHECK" h/model.json h-out --steps 32 --prompt-lens 2,17
  # An f32 model stored as bf16: --verify compares against the stored weights.
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o ex-bf16 --weight-dtype=bf16 --verify 2>verify.txt
  grep 'greedy tokens identical' verify.txt >/dev/null || fail "bf16 --verify: $(cat verify.txt)"
  f32=$(stat -c %s "$SRC/examples/tiny-llama/model.safetensors")
  [ "$(stat -c %s ex-bf16/weights.safetensors)" -lt $((f32 * 6 / 10)) ] || fail "bf16 weights are not smaller"
  expect_error 65 "need a target with F16C" -- "$LLMC" compile h/model.json -o x --weight-dtype=f16 --target=x86-64
  expect_error 64 "--weight-dtype takes" -- "$LLMC" compile h/model.json -o x --weight-dtype=i8
  # The default (auto): a 16-bit checkpoint keeps its type for the matmul
  # weights; f32 stays f32; where the target cannot read f16, f32 (exact).
  layouts() { jq -r '[.weights[] | select(.name | test("proj")) | .layout] | unique | join(",")' "$1/report.json"; }
  "$LLMC" compile b/model.json -o b-auto --verify 2>/dev/null
  [ "$(layouts b-auto)" = bf16 ] || fail "a bf16 checkpoint compiled to $(layouts b-auto) by default"
  "$LLMC" compile h/model.json -o h-auto --target=x86-64-v3
  [ "$(layouts h-auto)" = f16 ] || fail "an f16 checkpoint compiled to $(layouts h-auto) by default"
  "$LLMC" compile h/model.json -o h-auto-v1 --target=x86-64
  [ "$(layouts h-auto-v1)" = f32 ] || fail "f16 without F16C should fall back to f32, got $(layouts h-auto-v1)"
  "$LLMC" compile b/model.json -o b-f32 --weight-dtype=f32
  [ "$(layouts b-f32)" = f32 ] || fail "--weight-dtype=f32 did not keep f32"
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o ex-auto --weight-dtype=auto
  [ "$(layouts ex-auto)" = f32 ] || fail "an f32 checkpoint did not stay f32"
  ;;
kv-cache)
  # --kv-cache-dtype=f16|bf16: the pool holds 16-bit values two to a word
  # (half the bytes a token takes); the interpreter rounds what its
  # kv_write stores the same way, so --verify and e2e_check hold the artifact
  # to the KV16 bound; the scheduler path (chunked prefill, block tables,
  # copy-on-write of shared blocks) generates the same tokens.
  "$GEN_MODEL" m --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 1
  "$LLMC" compile m/model.json -o f32 --target=x86-64-v3
  for t in f16 bf16; do
    "$LLMC" compile m/model.json -o $t --target=x86-64-v3 --kv-cache-dtype=$t --verify 2>verify.txt
    grep -q 'verify: 16-bit KV cache: relative error' verify.txt || fail "$t --verify: $(cat verify.txt)"
    [ "$(jq -r .kv_cache.dtype $t/report.json)" = $t ] || fail "report.json does not say the KV cache is $t"
    [ "$(jq .memory.kv_bytes_per_token $t/report.json)" -eq $(($(jq .memory.kv_bytes_per_token f32/report.json) / 2)) ] ||
      fail "a $t KV cache does not take half the bytes a token"
    "$E2E_CHECK" m/model.json $t --steps 24 --prompt-lens 1,9,33 --contract=kv16
  done
  # --kv-cache-dtype=int8: a head's row is its int8s and an f32 scale (16 + 4
  # bytes for head_dim 16, against 64 in f32); the interpreter quantizes its
  # rows the same way (KV8 bound). Baseline x86-64 too: the rounding needs no
  # SSE4.1 (no libm call in the kernels).
  for t in x86-64-v3 x86-64; do
    "$LLMC" compile m/model.json -o i8-$t --target=$t --kv-cache-dtype=int8 --verify 2>verify.txt
    grep -q 'verify: int8 KV cache: relative error' verify.txt || fail "int8 --verify ($t): $(cat verify.txt)"
    "$E2E_CHECK" m/model.json i8-$t --steps 24 --prompt-lens 1,9,33 --contract=kv8
  done
  [ "$(jq -r .kv_cache.dtype i8-x86-64/report.json)" = int8 ] || fail "report.json does not say the KV cache is int8"
  [ "$(jq .memory.kv_bytes_per_token i8-x86-64/report.json)" -eq $(($(jq .memory.kv_bytes_per_token f32/report.json) * 20 / 64)) ] ||
    fail "an int8 KV cache does not take 20 of f32's 64 bytes a head's row"
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o ex-i8 --target=host --kv-cache-dtype=int8
  "$E2E_CHECK" "$SRC/examples/tiny-llama/model.json" ex-i8 --steps 8 --prompt-lens 5 --contract=kv8 \
    --reference "$SRC/examples/tiny-llama/reference.json" --tol 0.05
  # The trained example keeps the PyTorch model's greedy tokens.
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o ex-bf16 --target=x86-64-v3 --kv-cache-dtype=bf16
  "$E2E_CHECK" "$SRC/examples/tiny-llama/model.json" ex-bf16 --steps 8 --prompt-lens 5 --contract=kv16 \
    --reference "$SRC/examples/tiny-llama/reference.json" --tol 0.05
  # 16-bit pools on GPUs (kv_f16, kv_bf16.gpu.mlir; numerics in the
  # emu.gpu.*.kv_* tests): ptxas takes the PTX, the AMD code object has
  # nothing undefined, spirv-val takes the SPIR-V; the pool's bytes halve.
  for t in f16 bf16; do
    rm -rf g-$t
    "$LLMC" compile m/model.json -o g-$t --target=host,gfx942,spirv$(nv ,sm_80,sm_90a) --kv-cache-dtype=$t
    [ "$(jq -r .kv_cache.dtype g-$t/report.json)" = $t ] || fail "report.json does not say the GPU KV cache is $t"
    "$LLMC" compile m/model.json -o g-hsaco --target=gfx942 --emit=hsaco --kv-cache-dtype=$t
    [ -z "$("$NM" -u g-hsaco/model.gfx942.hsaco)" ] || fail "$t KV gfx942 code object has undefined symbols"
    "$LLMC" compile m/model.json -o g-spv --target=spirv --emit=spirv --kv-cache-dtype=$t
    "$SPIRV_VAL" g-spv/model.spirv.spv || fail "spirv-val rejects the $t KV SPIR-V"
    if nvidia_ok && command -v "$PTXAS" >/dev/null 2>&1; then
      "$LLMC" compile m/model.json -o g-ptx --target=sm_80,sm_90a --emit=ptx --kv-cache-dtype=$t
      for sm in sm_80 sm_90a; do
        "$PTXAS" -arch=$sm "g-ptx/model.$sm.ptx" -o /dev/null || fail "ptxas rejects $t KV PTX for $sm"
      done
    fi
    rm -rf g-hsaco g-spv g-ptx
  done
  # Refusals: GPUs have no int8 KV kernels yet, f16 needs F16C on the host,
  # int8 rows need a head_dim that is a multiple of 4 and a block whose stage
  # fits attention's stack, fp8 is not built.
  expect_error 65 "an f16 KV cache needs a target with F16C" -- \
    "$LLMC" compile m/model.json -o x --kv-cache-dtype=f16 --target=x86-64
  expect_error 65 "--kv-cache-dtype=int8 has no kernels for target 'sm_80' yet" -- \
    "$LLMC" compile m/model.json -o x --kv-cache-dtype=int8 --target=host,sm_80
  "$GEN_MODEL" hd6 --dim 12 --layers 1 --heads 2 --kv-heads 2 --hidden 16 --vocab 11 --seed 1
  expect_error 65 "an int8 KV cache needs a head_dim that is a multiple of 4, not 6" -- \
    "$LLMC" compile hd6/model.json -o x --kv-cache-dtype=int8
  expect_error 65 "at most 256 KiB (a --block-size of at most 2048)" -- \
    "$LLMC" compile m/model.json -o x --kv-cache-dtype=int8 --block-size 4096
  expect_error 64 "--kv-cache-dtype=fp8 is not built yet" -- "$LLMC" compile m/model.json -o x --kv-cache-dtype=fp8
  expect_error 64 "--kv-cache-dtype takes f32, f16, bf16 or int8" -- "$LLMC" compile m/model.json -o x --kv-cache-dtype=f64
  [ ! -e x ] || fail "a refused compile left output"
  ;;
determinism)
  "$GEN_MODEL" m --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 1
  "$LLMC" compile m/model.json -o a --target=x86-64-v3,gfx942,spirv$(nv ,sm_90a)
  "$LLMC" compile m/model.json -o b --target=x86-64-v3,gfx942,spirv$(nv ,sm_90a)
  for f in model.so model.h weights.safetensors report.json; do
    cmp "a/$f" "b/$f" || fail "$f differs between two identical compiles"
  done
  ;;
emit)
  "$GEN_MODEL" m --dim 64 --layers 1 --heads 4 --kv-heads 2 --hidden 64 --vocab 32 --seed 1
  for kind in ir mlir llvm obj report; do
    "$LLMC" compile m/model.json -o "e-$kind" --emit=$kind
  done
  grep -q 'attention' e-ir/model.ir
  grep -q 'func.func @llmc_k' e-mlir/model.mlir
  grep -q 'define .*_mlir_ciface_llmc_k' e-llvm/model.ll
  "$READELF" -h e-obj/model.o | grep 'X86-64' >/dev/null
  grep -q '"activation_arena_bytes"' e-report/report.json
  "$LLMC" compile m/model.json -o arm --target=aarch64 --emit=obj
  "$READELF" -h arm/model.o | grep 'AArch64' >/dev/null || fail "aarch64 object is not AArch64"
  "$LLMC" compile m/model.json -o p --print-after=cse --time-passes 2>log.txt
  grep -q 'IR after cse' log.txt && grep -q 'mlir lowering' log.txt
  "$LLMC" compile m/model.json -o v --verify 2>verify.txt
  grep 'greedy tokens identical' verify.txt >/dev/null || fail "--verify did not pass: $(cat verify.txt)"
  ;;
cli)
  "$LLMC" --version | grep '^llmc ' >/dev/null
  "$LLMC" --help | grep compile >/dev/null
  for c in compile run bench import; do "$LLMC" $c --help | grep Usage; done >/dev/null
  expect_error 64 "unknown command" -- "$LLMC" frobnicate
  expect_error 64 "unknown option" -- "$LLMC" compile --bogus x
  expect_error 64 "did you mean 'gfx942'" -- "$LLMC" compile x --target=gfx9422
  expect_error 64 "did you mean" -- "$LLMC" compile x --target=hots
  expect_error 64 "given twice" -- "$LLMC" compile "$SRC/examples/tiny-llama/model.json" --target=sm90,sm_90 -o out
  expect_error 64 "at most one CPU target" -- "$LLMC" compile "$SRC/examples/tiny-llama/model.json" --target=host,aarch64 -o out
  expect_error 64 "unknown --emit" -- "$LLMC" compile x --emit=png
  # GPU emulation is test infrastructure: the product does not have it; the
  # test build (llmc-emu) refuses to write emulation images as device code.
  expect_error 64 "unknown option" -- "$LLMC" compile "$SRC/examples/tiny-llama/model.json" --target=sm_90 --gpu-emulation -o out
  if "$LLMC" compile --help | grep -q emulation; then fail "llmc's help mentions GPU emulation"; fi
  expect_error 64 "which --gpu-emulation does not make" -- "$LLMC_EMU" compile "$SRC/examples/tiny-llama/model.json" --target=sm_90 --gpu-emulation --emit=ptx -o out
  expect_error 64 "-O takes" -- "$LLMC" compile x -O7
  expect_error 66 "cannot open" -- "$LLMC" compile does-not-exist.json
  expect_error 64 "exactly one of" -- "$LLMC" run .
  expect_error 66 "model.so" -- "$LLMC" run no-such-dir --prompt-ids 1
  ;;
bad-model)
  "$GEN_MODEL" m --dim 32 --layers 1 --heads 2 --kv-heads 1 --hidden 48 --vocab 16 --seed 1
  cp m/model.safetensors .
  mj() { printf '%s' "$1" > model.json; }
  ok_head='"format": "llmc.model/1", "name": "t", "weights": ["model.safetensors"]'
  : > empty.json
  expect_error 65 "error:" -- "$LLMC" compile empty.json -o out
  printf '{"format": "llmc.model/1", "name": ' > trunc.json
  expect_error 65 "trunc.json:1" -- "$LLMC" compile trunc.json -o out
  mj "{$ok_head, \"name\": \"dup\", \"graph\": []}"
  expect_error 65 "duplicate" -- "$LLMC" compile model.json -o out
  mj "{\"format\": \"llmc.model/2\", \"name\": \"t\", \"weights\": [\"model.safetensors\"], \"graph\": [{}]}"
  expect_error 65 "llmc.model/1" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [{\"op\": \"warp_drive\", \"in\": [\"tokens\"], \"out\": \"logits\"}]}"
  expect_error 65 "unknown op 'warp_drive'" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [{\"op\": \"silu\", \"in\": [\"nothing\"], \"out\": \"logits\"}]}"
  expect_error 65 "'nothing' is neither" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [{\"op\": \"embedding\", \"in\": [\"tokens\", \"model.embed_tokens.weight\"], \"out\": \"x\"}, {\"op\": \"matmul\", \"in\": [\"x\", \"model.layers.0.mlp.down_proj.weight\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"logits\"}]}"
  expect_error 65 "inner dimensions differ" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [{\"op\": \"embedding\", \"in\": [\"tokens\", \"model.embed_tokens.weight\"], \"out\": \"x\"}, {\"op\": \"add\", \"in\": [\"x\", \"logits\"], \"out\": \"logits\"}]}"
  expect_error 65 "'logits' is neither" -- "$LLMC" compile model.json -o out
  # Per-layer list params ("$name[i]") and weight_prefix, written wrong.
  emb0='{"op": "embedding", "in": ["tokens", "model.embed_tokens.weight"], "out": "x"}'
  mj "{$ok_head, \"params\": {\"w\": [1]}, \"graph\": [{\"repeat\": 1, \"as\": \"i\", \"body\": [$emb0, {\"op\": \"softcap\", \"in\": [\"x\"], \"attrs\": {\"cap\": \"\$w[j]\"}, \"out\": \"logits\"}]}]}"
  expect_error 65 "unknown parameter '\$j'" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"params\": {\"w\": 3}, \"graph\": [{\"repeat\": 1, \"as\": \"i\", \"body\": [$emb0, {\"op\": \"softcap\", \"in\": [\"x\"], \"attrs\": {\"cap\": \"\$w[i]\"}, \"out\": \"logits\"}]}]}"
  expect_error 65 "'\$w' is not a list parameter" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"params\": {\"w\": []}, \"graph\": [{\"repeat\": 1, \"as\": \"i\", \"body\": [$emb0, {\"op\": \"softcap\", \"in\": [\"x\"], \"attrs\": {\"cap\": \"\$w[i]\"}, \"out\": \"logits\"}]}]}"
  expect_error 65 "'\$w' has no element 0" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"params\": {\"w\": [1]}, \"graph\": [$emb0, {\"op\": \"softcap\", \"in\": [\"x\"], \"attrs\": {\"cap\": \"\$w[\"}, \"out\": \"logits\"}]}"
  expect_error 65 "is not a reference" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"weight_prefix\": 7, \"graph\": [$emb0]}"
  expect_error 65 '"weight_prefix" must be a string' -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"weight_prefix\": \"lm.\", \"graph\": [$emb0]}"
  expect_error 65 "'lm.model.embed_tokens.weight' is neither" -- "$LLMC" compile model.json -o out
  # The ops the fusion passes make, written wrong by hand.
  emb='{"op": "embedding", "in": ["tokens", "model.embed_tokens.weight"], "out": "x"}'
  kproj='{"op": "matmul", "in": ["x", "model.layers.0.self_attn.k_proj.weight"], "attrs": {"transpose_b": true}, "out": "k"}'
  mj "{$ok_head, \"graph\": [$emb, {\"op\": \"slice\", \"in\": [\"x\"], \"attrs\": {\"begin\": 30, \"size\": 8}, \"out\": \"logits\"}]}"
  expect_error 65 "slice: columns 30..+8 are outside the row of 32" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [$emb, {\"op\": \"concat\", \"in\": [\"x\"], \"out\": \"w\"}]}"
  expect_error 65 "concat: operand 0 has type f32[T,32], expected a 2-d float weight" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [$emb, {\"op\": \"concat\", \"in\": [], \"out\": \"w\"}]}"
  expect_error 65 "concat takes at least one operand" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [$emb, $kproj, {\"op\": \"matmul_add\", \"in\": [\"x\", \"model.layers.0.self_attn.q_proj.weight\", \"k\"], \"attrs\": {\"transpose_b\": true}, \"out\": \"logits\"}]}"
  expect_error 65 "matmul_add: operand 2 has type f32[T,16], expected f32[T,32]" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [$emb, $kproj, {\"op\": \"kv_write\", \"in\": [\"k\", \"k\", \"positions\"], \"attrs\": {\"layer\": 0, \"n_kv_heads\": 1, \"head_dim\": 16, \"rope_style\": \"half\"}, \"out\": \"c\"}]}"
  expect_error 65 "kv_write: rope_style without rope_theta" -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [$emb, $kproj, {\"op\": \"kv_write\", \"in\": [\"k\", \"k\", \"positions\"], \"attrs\": {\"layer\": 0, \"n_kv_heads\": 1, \"head_dim\": 16, \"rope_theta\": 10000, \"rope_style\": \"<x>\"}, \"out\": \"c\"}]}"
  expect_error 65 'rope_style must be "half" or "interleaved"' -- "$LLMC" compile model.json -o out
  mj "{$ok_head, \"graph\": [{\"repeat\": 1000000000, \"as\": \"i\", \"body\": []}]}"
  expect_error 65 "repeat count out of range" -- "$LLMC" compile model.json -o out
  python_deep=$(printf '%.0s[' $(seq 1 3000))
  printf '{"format": "llmc.model/1", "graph": %s' "$python_deep" > deep.json
  expect_error 65 "deep.json" -- "$LLMC" compile deep.json -o out
  mj "{\"format\": \"llmc.model/1\", \"name\": \"t\", \"weights\": [\"pytorch_model.bin\"], \"graph\": [{}]}"
  touch pytorch_model.bin
  expect_error 65 "pickle" -- "$LLMC" compile model.json -o out
  mj "{\"format\": \"llmc.model/1\", \"name\": \"t\", \"weights\": [\"../../etc/passwd\"], \"graph\": [{}]}"
  expect_error 65 "leaves the model directory" -- "$LLMC" compile model.json -o out
  # Weights: truncated, zero-byte and corrupt safetensors.
  mkdir -p w && cp m/model.json w/
  head -c 1000 m/model.safetensors > w/model.safetensors
  expect_error 65 "model.safetensors" -- "$LLMC" compile w/model.json -o out
  : > w/model.safetensors
  expect_error 65 "model.safetensors" -- "$LLMC" compile w/model.json -o out
  printf '\xff\xff\xff\xff\x00\x00\x00\x00{}' > w/model.safetensors
  expect_error 65 "header" -- "$LLMC" compile w/model.json -o out
  # A weight of a dtype llmc cannot compute with.
  mkdir -p i8
  hdr='{"w":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]}}'
  { printf "\\x$(printf %02x ${#hdr})\\0\\0\\0\\0\\0\\0\\0"; printf '%s' "$hdr"; printf 'abcd'; } > i8/model.safetensors
  printf '%s' "{$ok_head, \"graph\": [{\"op\": \"embedding\", \"in\": [\"tokens\", \"w\"], \"out\": \"logits\"}]}" > i8/model.json
  expect_error 65 "dtype llmc cannot compute with" -- "$LLMC" compile i8/model.json -o out
  # HF directories: shard index escaping the directory, unknown architecture.
  "$GEN_MODEL" hf --dim 32 --layers 1 --heads 2 --kv-heads 1 --hidden 32 --vocab 16 --seed 1 --shards 2
  sed -i 's|"model-00001-of-00002.safetensors"|"../../../etc/passwd"|' hf/model.safetensors.index.json
  expect_error 65 "leaves the model directory" -- "$LLMC" compile hf -o out
  "$GEN_MODEL" hf2 --dim 32 --layers 1 --heads 2 --kv-heads 1 --hidden 32 --vocab 16 --seed 1
  sed -i 's/LlamaForCausalLM/FalconForCausalLM/' hf2/config.json
  expect_error 65 "architecture 'FalconForCausalLM' is not supported" -- "$LLMC" compile hf2 -o out
  "$GEN_MODEL" hf3 --dim 32 --layers 1 --heads 2 --kv-heads 1 --hidden 32 --vocab 16 --seed 1
  rm hf3/model.safetensors && touch hf3/pytorch_model.bin
  expect_error 65 "pickle" -- "$LLMC" compile hf3 -o out
  # No partial artifact is ever left behind.
  [ ! -e out ] || fail "a failed compile left out/ behind"
  ! ls | grep '\.tmp\.' || fail "a failed compile left a temp directory"
  # An output directory that cannot be written.
  touch blocker
  expect_error 73 "cannot create" -- "$LLMC" compile m/model.json -o blocker/out
  ! ls | grep '\.tmp\.' || fail "temp directory left behind"
  true
  ;;
bad-run)
  "$GEN_MODEL" m --dim 32 --layers 1 --heads 2 --kv-heads 1 --hidden 32 --vocab 16 --max-context 64 --seed 1
  "$LLMC" compile m/model.json -o out --max-context 32
  expect_error 64 "outside the vocabulary" -- "$LLMC" run out --prompt-ids 1,99 --max-tokens 4
  expect_error 64 "not a comma-separated" -- "$LLMC" run out --prompt-ids 1,x --max-tokens 4
  expect_error 65 "context" -- "$LLMC" run out --prompt-ids "$(seq -s, 1 15 | sed 's/[0-9]*/3/g')" --max-tokens 30
  expect_error 66 "tokenizer" -- "$LLMC" run out --prompt "hello" --max-tokens 4
  expect_error 64 "exceeds the model's context" -- "$LLMC" compile m/model.json -o out2 --max-context 100
  cp -r out corrupt
  printf 'garbage' > corrupt/model.so
  expect_error 65 "model.so" -- "$LLMC" run corrupt --prompt-ids 1 --max-tokens 2
  cp -r out trunc
  head -c 100 out/weights.safetensors > trunc/weights.safetensors
  expect_error 65 "weights" -- "$LLMC" run trunc --prompt-ids 1 --max-tokens 2
  ;;
gpu-artifact)
  # GPU code is compiled and validated without a GPU: ptxas accepts the PTX,
  # the AMD code objects are AMDGPU ELF for the right chip with nothing
  # undefined, spirv-val accepts the SPIR-V, and one fat artifact holds an
  # image per requested target while still running on the host.
  "$GEN_MODEL" m --dim 128 --layers 2 --heads 4 --kv-heads 2 --hidden 256 --vocab 300 --seed 11
  for model in m/model.json "$SRC/examples/tiny-llama/model.json"; do
    rm -rf ptx hsaco spv fat host
    if ! nvidia_ok; then
      :
    elif "$LLMC" compile "$model" -o ptx --target=sm_80,sm_86,sm_89,sm_90,sm_90a --emit=ptx &&
       command -v "$PTXAS" >/dev/null 2>&1; then
      for sm in sm_80 sm_86 sm_89 sm_90 sm_90a; do
        "$PTXAS" -arch=$sm "ptx/model.$sm.ptx" -o /dev/null || fail "ptxas rejects the $sm PTX"
      done
    else
      echo "SKIP ptxas checks: no ptxas (install the CUDA toolkit to run them)"
    fi
    "$LLMC" compile "$model" -o hsaco --target=gfx90a,gfx942,gfx1100 --emit=hsaco
    for gfx in gfx90a gfx942 gfx1100; do
      "$READELF" -h "hsaco/model.$gfx.hsaco" > elf.txt
      grep 'EM_AMDGPU' elf.txt >/dev/null || fail "$gfx image is not an AMDGPU ELF"
      grep -i "$gfx" elf.txt >/dev/null || fail "$gfx image is not for $gfx"
      [ -z "$("$NM" -u "hsaco/model.$gfx.hsaco")" ] || fail "$gfx code object has undefined symbols"
    done
    "$LLMC" compile "$model" -o spv --target=spirv --emit=spirv
    "$SPIRV_VAL" spv/model.spirv.spv || fail "spirv-val rejects the SPIR-V"
    "$LLMC" compile "$model" -o fat --target=host,gfx942,spirv$(nv ,sm_80,sm_90a)
    "$NM" fat/model.so > syms.txt
    for t in gfx942 spirv $(nv "sm_80 sm_90a"); do
      grep " llmc_image_$t\$" syms.txt >/dev/null || fail "fat artifact lacks the $t image"
    done
    # The newest portable NVIDIA target also ships as PTX for newer GPUs to JIT
    # (sm_90a is arch-specific, so sm_80's PTX it is; only with ptxas, else
    # every NVIDIA image is PTX already).
    if nvidia_ok && command -v "$PTXAS" >/dev/null 2>&1; then
      grep " llmc_image_sm_80_ptx\$" syms.txt >/dev/null || fail "fat artifact lacks the forward-compatible PTX"
    fi
    "$LLMC" compile "$model" -o host
    [ "$(greedy_ids fat 1,2,3 16)" = "$(greedy_ids host 1,2,3 16)" ] || fail "fat artifact runs differently on the host"
  done
  # 16-bit matmul weights on every GPU vendor (bf16 widened with integer ops,
  # f16 with extf).
  for wd in bf16 f16; do
    rm -rf w-ptx w-hsaco w-spv
    if nvidia_ok && "$LLMC" compile m/model.json -o w-ptx --target=sm_80,sm_90a --emit=ptx --weight-dtype=$wd &&
       command -v "$PTXAS" >/dev/null 2>&1; then
      for sm in sm_80 sm_90a; do
        "$PTXAS" -arch=$sm "w-ptx/model.$sm.ptx" -o /dev/null || fail "ptxas rejects $wd PTX for $sm"
      done
    fi
    # bf16 weights: steps of 16+ tokens run on the tensor cores (gemm_mma);
    # f32 and f16 weights have no mma kernel yet.
    if [ -f w-ptx/model.sm_80.ptx ]; then
      for sm in sm_80 sm_90a; do
        n=$(grep -c 'mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32' "w-ptx/model.$sm.ptx" || true)
        if [ $wd = bf16 ]; then [ "$n" -gt 0 ] || fail "no mma.sync in the bf16 PTX for $sm"
        else [ "$n" = 0 ] || fail "mma.sync in the $wd PTX for $sm"; fi
      done
    fi
    "$LLMC" compile m/model.json -o w-hsaco --target=gfx942 --emit=hsaco --weight-dtype=$wd
    [ -z "$("$NM" -u w-hsaco/model.gfx942.hsaco)" ] || fail "$wd gfx942 code object has undefined symbols"
    "$LLMC" compile m/model.json -o w-spv --target=spirv --emit=spirv --weight-dtype=$wd
    "$SPIRV_VAL" w-spv/model.spirv.spv || fail "spirv-val rejects the $wd SPIR-V"
  done
  # A GPU-only artifact on a machine without a GPU: one clear error, exit 69.
  "$LLMC" compile m/model.json -o gpuonly --target=gfx942
  expect_error 69 "no backend can run the artifact" -- "$LLMC" run gpuonly --prompt-ids 1,2 --max-tokens 2
  expect_error 69 "backend 'hip'" -- "$LLMC" run fat --prompt-ids 1,2 --max-tokens 2 --device=hip
  expect_error 64 "needs a sm_" -- "$LLMC" compile m/model.json -o x --target=host --emit=ptx
  ;;
kernel-plan)
  # Forcing kernel configurations and reading a tuning database: what is
  # illegal or malformed is one clear error and no output; what is legal
  # compiles, passes --verify, and is recorded in report.json.
  "$GEN_MODEL" m --dim 64 --layers 1 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 1
  "$GEN_MODEL" odd --dim 36 --layers 1 --heads 2 --kv-heads 1 --hidden 90 --vocab 50 --seed 2
  plan() { "$LLMC" compile "$1" -o x --emit=plan "${@:2}"; }
  expect_error 64 "65536 bytes of shared memory per block exceed the target's 49152" -- \
    plan m/model.json --target=sm_90a --kernel-config=gemv_block:WG=1024,COLS=16
  # AMD's LDS holds 64 KiB: the same configuration is legal there.
  plan m/model.json --target=gfx942 --kernel-config=gemv_block:WG=1024,COLS=16
  grep -q 'gfx942: gemv_block {WG=1024,COLS=16} override' x/model.plan || fail "gfx942 refused 64 KiB of LDS"
  rm -rf x
  expect_error 64 "VEC=16 does not divide K=36" -- \
    plan odd/model.json --target=x86-64-v3 --kernel-config=matmul_f32:VEC=16
  # The CPU GEMM of wider steps: its tile from --kernel-config, checked.
  plan m/model.json --target=x86-64-v3 --kernel-config=gemm_host:TT=4,NC=2
  grep -q 'x86-64-v3: gemm_host {VEC=[0-9]*,TT=4,NC=2,TB=[0-9]*,KC=[0-9]*,MR=0,NV=1} override' x/model.plan ||
    fail "gemm_host:TT=4,NC=2 not applied"
  rm -rf x
  # Panels (the broadcast form), chosen by hand; refused past the stack.
  plan m/model.json --target=x86-64-v3 --kernel-config=gemm_host:MR=6,NV=2
  grep -q 'x86-64-v3: gemm_host {VEC=8,TT=[0-9]*,NC=[0-9]*,TB=[0-9]*,KC=[0-9]*,MR=6,NV=2} override' x/model.plan ||
    fail "gemm_host:MR=6,NV=2 not applied"
  rm -rf x
  expect_error 64 "panels need VEC 4, 8 or 16" -- plan m/model.json --target=x86-64-v3 \
    --kernel-config=gemm_host:VEC=2,MR=6
  expect_error 64 "is not a multiple of TT=5" -- plan m/model.json --target=x86-64-v3 --kernel-config=gemm_host:TT=5
  # bf16 weights on NVIDIA: steps of 16+ tokens get a range of their own on
  # the tensor cores (gemm_mma), with the norm and silu_mul fused as decode's;
  # f32 weights and AMD keep two ranges. Tiles from --kernel-config, checked.
  plan m/model.json --target=host,sm_80 --weight-dtype=bf16
  grep -q 'for T in 2..15' x/model.plan || fail "no 2..15 range"
  grep -q 'sm_80: gemm_mma {BM=64,BN=32,WM=2,WN=2} +rms_norm +silu_mul heuristic' x/model.plan ||
    fail "gemm_mma does not take the norm and silu_mul"
  [ "$(grep -c 'for T in 16..128' x/model.plan)" = "$(grep -c 'sm_80: gemm_mma' x/model.plan)" ] ||
    fail "a 16..128 range without gemm_mma"
  rm -rf x
  plan m/model.json --target=sm_80,gfx942
  ! grep -q 'for T in 16' x/model.plan || fail "f32 weights got a tensor-core range"
  rm -rf x
  plan m/model.json --target=sm_80 --weight-dtype=bf16 --kernel-config=gemm_mma:BM=32,BN=64,WM=1,WN=4
  grep -q 'sm_80: gemm_mma {BM=32,BN=64,WM=1,WN=4} +rms_norm +silu_mul override' x/model.plan ||
    fail "gemm_mma:BM=32,BN=64,WM=1,WN=4 not applied"
  rm -rf x
  expect_error 64 "a 16x32 tile does not divide into 2x2 warps of 16x8 mma tiles" -- \
    plan m/model.json --target=sm_80 --weight-dtype=bf16 --kernel-config=gemm_mma:BM=16,BN=32
  expect_error 64 "BN=128 does not divide N=64" -- \
    plan m/model.json --target=sm_80 --weight-dtype=bf16 --kernel-config=gemm_mma:BN=128
  expect_error 64 "64 mma tiles a warp (256 accumulators a thread) exceed 16" -- \
    plan m/model.json --target=sm_80 --weight-dtype=bf16 --kernel-config=gemm_mma:BM=128,BN=64,WM=1,WN=1
  expect_error 64 "unknown kernel variant 'gemv'" -- plan m/model.json --kernel-config=gemv:WG=64
  expect_error 64 "gemv_block has no parameter 'TILE'" -- plan m/model.json --kernel-config=gemv_block:TILE=4
  expect_error 64 "WG=48: gemv_block takes 32, 64, 128, 256, 512, 1024" -- \
    plan m/model.json --kernel-config=gemv_block:WG=48
  expect_error 64 "matches no kernel call" -- plan m/model.json --target=x86-64-v3 --kernel-config=gemv_block:WG=64
  expect_error 64 "unknown target 'sm_91'" -- plan m/model.json --kernel-config=gemv_block@sm_91:WG=64
  expect_error 64 "is not VARIANT" -- plan m/model.json --kernel-config=gemv_block
  # matmul_q8's quantized rows live on the stack: 256 KiB at most.
  "$GEN_MODEL" wide --dim 64 --layers 1 --heads 4 --kv-heads 2 --hidden 4096 --vocab 97 --seed 1
  expect_error 64 "TQ=64 quantized rows of K=4096 take 589824 bytes of stack, more than 262144" -- \
    plan wide/model.json --target=x86-64-v3 --quant=int4 --kernel-config=matmul_q8:TQ=64
  expect_error 64 "TB=32 quantized rows of K=4096 take 294912 bytes of stack, more than 262144" -- \
    plan wide/model.json --target=x86-64-v3 --quant=int4 --kernel-config=gemm_q8_host:TB=32
  expect_error 64 "TB=4 is smaller than a tile of TT=8 tokens" -- \
    plan wide/model.json --target=x86-64-v3 --quant=int4 --kernel-config=gemm_q8_host:TT=8,TB=4
  # gemm_q8_host's tile from --kernel-config, compiled and checked against the interpreter.
  "$LLMC" compile wide/model.json -o q8t --target=x86-64-v3 --quant=int4 --kernel-config=gemm_q8_host:TT=3,NC=4,TB=8 \
    --verify 2>/dev/null
  jq -e '[.kernel_plan[].targets["x86-64-v3"] | select(.variant == "gemm_q8_host")] |
         length > 0 and all(.config == {"TT": 3, "NC": 4, "TB": 8, "PF": 2048} and .source == "override")' \
    q8t/report.json >/dev/null || fail "gemm_q8_host:TT=3,NC=4,TB=8 not applied"
  # The CPU attention's lanes and token slots from --kernel-config, compiled
  # and checked; a segment's rows on the stack: 256 KiB at most.
  "$LLMC" compile m/model.json -o att --target=x86-64-v3 --kernel-config=attention_host:L=4,TQ=2 --verify 2>/dev/null
  jq -e '[.kernel_plan[].targets["x86-64-v3"] | select(.variant == "attention_host")] |
         length > 0 and all(.config == {"L": 4, "TQ": 2} and .source == "override")' \
    att/report.json >/dev/null || fail "attention_host:L=4,TQ=2 not applied"
  "$GEN_MODEL" gqa --dim 64 --layers 1 --heads 64 --kv-heads 1 --head-dim 128 --hidden 64 --vocab 97 --seed 1 >/dev/null
  expect_error 64 "TQ=16: 512 rows of head dim 128 take 524288 bytes of stack, more than 262144" -- \
    plan gqa/model.json --target=x86-64-v3 --kernel-config=attention_host:TQ=16
  # K=64 is less than one step of a warp's 16-byte loads: nothing to unroll.
  expect_error 64 "UNROLL=2 exceeds the 0 steps of K" -- \
    plan m/model.json --target=sm_90a --kernel-config=gemv_warp:UNROLL=2
  [ ! -e x ] || fail "a refused plan left output behind"
  # A legal override compiles, runs like the interpreter, and is reported.
  "$LLMC" compile m/model.json -o forced --target=x86-64-v3 --kernel-config=matmul_f32:VEC=4 --verify
  grep -q '"variant": "matmul_f32"' forced/report.json || fail "report.json lacks the variant"
  grep -q '"source": "override"' forced/report.json || fail "report.json does not say the config was forced"
  grep -q '"launches_per_decode_step"' forced/report.json || fail "report.json lacks launches_per_decode_step"
  # A GPU plan holds two kcalls per matmul (T = 1 and wider steps); a
  # decode step reads each weight once all the same (bench's bandwidth).
  "$LLMC" compile m/model.json -o gpu --target=sm_90a
  host_bytes=$(jq .memory.decode_weight_bytes_per_token forced/report.json)
  gpu_bytes=$(jq .memory.decode_weight_bytes_per_token gpu/report.json)
  [ "$host_bytes" = "$gpu_bytes" ] || fail "decode weight bytes: host $host_bytes, sm_90a $gpu_bytes"
  # The tuning database: the fastest entry for the call's (target, variant,
  # shape, tokens) wins; a later line with the same device and config
  # replaces an earlier one; parameters an entry does not name (written
  # before matmul_f32 had PF) keep the heuristic's.
  cat > db.jsonl <<'JSONL'
{"target": "x86-64-v3", "device": "cpu", "variant": "matmul_f32", "shape": "K=64,N=64,W=f32", "tokens": 1, "config": {"VEC": 8}, "us": 3.0}
{"target": "x86-64-v3", "device": "cpu", "variant": "matmul_f32", "shape": "K=64,N=64,W=f32", "tokens": 1, "config": {"VEC": 4}, "us": 5.0}

{"target": "x86-64-v3", "device": "cpu", "variant": "matmul_f32", "shape": "K=64,N=64,W=f32", "tokens": 1, "config": {"VEC": 8}, "us": 9.0}
{"target": "sm_90a", "device": "gpu", "variant": "gemv_warp", "shape": "K=64,N=64,W=f32", "tokens": 1, "config": {"R": 2, "WARPS": 2, "UNROLL": 1, "TOK": 2}, "us": 1.0}
JSONL
  plan m/model.json --target=x86-64-v3,sm_90a --tuning-db=db.jsonl
  grep -A2 'K=64,N=64,W=f32' x/model.plan | grep -q 'x86-64-v3: matmul_f32 {VEC=4,PF=4096} tuning-db:2' ||
    { cat x/model.plan >&2; fail "the tuning database's fastest entry was not chosen"; }
  grep -A2 'K=64,N=64,W=f32' x/model.plan | grep -q 'sm_90a: gemv_warp {R=2,WARPS=2,UNROLL=1,TOK=2} tuning-db:5' ||
    fail "the GPU entry was not chosen"
  grep -A2 'K=64,N=128,W=f32' x/model.plan | grep -q 'matmul_f32 {VEC=8,PF=4096} heuristic' ||
    fail "a shape without entries should keep the heuristic"
  rm -rf x
  # The same database and inputs give the same artifact.
  "$LLMC" compile m/model.json -o t1 --target=x86-64-v3 --tuning-db=db.jsonl
  "$LLMC" compile m/model.json -o t2 --target=x86-64-v3 --tuning-db=db.jsonl
  cmp t1/model.so t2/model.so || fail "tuned artifacts differ"
  grep -q '"source": "tuning-db"' t1/report.json || fail "report.json does not name the tuning database"
  # Malformed databases: the file and line, exit 65, no output.
  printf '{"target": "x86-64-v3"}\n' > bad1.jsonl
  expect_error 65 "bad1.jsonl:1: \"variant\" is missing" -- plan m/model.json --tuning-db=bad1.jsonl
  { head -2 db.jsonl; echo 'not json'; } > bad2.jsonl
  expect_error 65 "bad2.jsonl:3: not JSON" -- plan m/model.json --tuning-db=bad2.jsonl
  sed 's/"us": 3.0/"us": "fast"/' db.jsonl > bad3.jsonl
  expect_error 65 "bad3.jsonl:1: \"us\" must be" -- plan m/model.json --tuning-db=bad3.jsonl
  sed 's/"VEC": 8/"TILE": 8/' db.jsonl > bad4.jsonl
  expect_error 65 "has no parameter \"TILE\"" -- plan m/model.json --target=x86-64-v3 --tuning-db=bad4.jsonl
  printf '{"target": "x86-64-v3", "variant": "matmul_f32", "shape": "K=36,N=36,W=f32", "tokens": 1, "config": {"VEC": 16}, "us": 1}\n' > bad5.jsonl
  expect_error 65 "bad5.jsonl:1: the tuned configuration is not legal" -- \
    plan odd/model.json --target=x86-64-v3 --tuning-db=bad5.jsonl
  printf '{"target": "x86-64-v3", "variant": "matmul_f32", "shape": "K=64,N=64,W=f32", "tokens": 1, "config": {"V\\nEC": 8}, "us": 1}\n' > bad6.jsonl
  expect_error 65 "bad6.jsonl:1: a config key is not a parameter name" -- plan m/model.json --tuning-db=bad6.jsonl
  [ "$(wc -l < stderr.txt)" -eq 1 ] || fail "a database error is not one line"
  expect_error 66 "missing.jsonl" -- plan m/model.json --tuning-db=missing.jsonl
  [ ! -e x ] || fail "a refused database left output behind"
  ;;
fusion)
  # The fusion passes change how a model runs, never what it computes: -O2
  # (fused) and -O0 (unfused) artifacts both match the interpreter (logits
  # within 1e-4 in f32, --verify), give the same 32 greedy ids, and the
  # fused one runs fewer launches per decode step. report.json lists every
  # fusion made and refused. Llama (no biases), Qwen2 (q/k/v biases stay on
  # the slices), and bf16 weights (the joined weight is stored 16-bit).
  "$GEN_MODEL" llama --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 5
  "$GEN_MODEL" qwen --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 96 --vocab 97 --seed 6 --arch qwen2
  for m in llama qwen; do
    for flags in "" "--weight-dtype=bf16"; do
      # shellcheck disable=SC2086
      "$LLMC" compile $m/model.json -o $m-o2 $flags --verify
      # shellcheck disable=SC2086
      "$LLMC" compile $m/model.json -o $m-o0 -O0 $flags --verify
      a=$(greedy_ids $m-o2 3,1,4,1,5 32)
      b=$(greedy_ids $m-o0 3,1,4,1,5 32)
      [ "$a" = "$b" ] || fail "$m $flags: fused and unfused greedy ids differ: $a / $b"
      [ "$(echo "$a" | wc -w)" -eq 32 ] || fail "$m: expected 32 ids"
    done
    l2=$(grep '"launches_per_decode_step"' $m-o2/report.json | tr -dc 0-9)
    l0=$(grep '"launches_per_decode_step"' $m-o0/report.json | tr -dc 0-9)
    # Per layer: q/k/v 3 -> 1, gate/up 2 -> 1, silu and mul 2 -> 1, the two
    # residual adds -> 0, the two ropes -> 0 (in kv_write and attention).
    [ "$l2" -eq $((l0 - 2 * 8)) ] || fail "$m: $l2 launches fused vs $l0 unfused, expected 16 fewer"
    grep -q '"fusions_refused": \[\]' $m-o2/report.json || fail "$m: a fusion was refused"
    grep -q '"fusions": \[\]' $m-o0/report.json || fail "$m: -O0 fused something"
  done
  grep -c '"pass": "fuse-sibling-matmuls"' llama-o2/report.json | grep -qx 4 || fail "expected 4 sibling fusions"
  grep -c '"pass": "fuse-matmul-add"' llama-o2/report.json | grep -qx 4 || fail "expected 4 residual fusions"
  grep -c '"pass": "fuse-rope"' llama-o2/report.json | grep -qx 4 || fail "expected 4 rope fusions"
  grep -q 'q_proj.weight + model.layers.0.self_attn.k_proj.weight + model.layers.0.self_attn.v_proj.weight' \
    llama-o2/report.json || fail "report.json does not name the fused weights"
  # Per-target fusion: where gemv_warp runs (NVIDIA, AMD), the rms_norms
  # and the silu_mul go into the matmuls: 6 launches a layer there (and the
  # final norm into the logits matmul), 9 on the CPU, in one artifact (the
  # GPU side runs in emulation: emu.gpu.*).
  "$LLMC" compile llama/model.json -o fat --target=x86-64-v3,$(nv sm_90a,)gfx942,spirv 2>/dev/null ||
    "$LLMC" compile llama/model.json -o fat --target=x86-64-v3,gfx942,spirv
  grep -A4 '"launches_per_decode_step_by_target"' fat/report.json > by_target.txt
  grep -q '"x86-64-v3": 21' by_target.txt || { cat by_target.txt >&2; fail "the CPU should run 9 launches a layer"; }
  grep -q '"gfx942": 14' by_target.txt || { cat by_target.txt >&2; fail "gfx942 should run 6 launches a layer"; }
  grep -q '"spirv": 21' by_target.txt || { cat by_target.txt >&2; fail "SPIR-V keeps gemv_block: 9 a layer"; }
  # The ops the passes make, written by hand in model.json (concat, slices
  # tiling a matmul, a slice that does not: its own kernel, matmul_add,
  # kv_write/attention with rope_theta), fused and not.
  "$GEN_MODEL" wops --graph written-ops --seed 9
  for o in -O0 -O2; do "$LLMC" compile wops/model.json -o wops$o $o --verify; done
  "$LLMC" compile wops/model.json -o wops-gpu --target=x86-64-v3,$(nv sm_90a,)gfx942,spirv
  grep -q '"op": "slice"' wops-gpu/report.json || fail "the unsplit slice has no kernel"
  # The joined weights replace their parts in the weight file (the parts
  # are located by metadata, for --verify).
  grep -aq '"llmc.concat.' qwen-o2/weights.safetensors || fail "no joined weight in the weight file"
  grep -aq '"llmc.part.model.layers.0.self_attn.q_proj.weight"' qwen-o2/weights.safetensors ||
    fail "the joined weight's parts are not recorded"
  grep -aq '"llmc.concat.' qwen-o0/weights.safetensors && fail "-O0 joined weights"
  # (The GPU lowerings run fused artifacts in emulation: the emu.gpu.* tests.)
  ;;
tune)
  # llmc tune on the host for the example: a database of measured
  # configurations; compiling with it picks them (report.json says so) and
  # the artifact still agrees with the interpreter.
  # (16 configurations a call: 16 rounds instead of gemm_host's 31.)
  "$LLMC" tune "$SRC/examples/tiny-llama/model.json" --target=x86-64-v3 --max-candidates 16 -o tuning.jsonl 2>tune.log
  grep -q "tune: round 1/" tune.log || fail "tune printed no progress"
  [ "$(wc -l < tuning.jsonl)" -ge 5 ] || fail "tune measured too few configurations"
  grep -q '"variant":"matmul_f32","shape":"K=256,N=256,W=f32","tokens":1,"config":{"VEC":1,' tuning.jsonl ||
    fail "tune did not sweep VEC=1"
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" --target=x86-64-v3 --tuning-db=tuning.jsonl -o tuned --verify
  grep -q '"source": "tuning-db"' tuned/report.json || fail "the tuned artifact does not use the database"
  [ ! -e tuning.jsonl.tune.* ] 2>/dev/null || fail "tune left its scratch artifact behind"
  # Prompt steps too: the calls for 2..128 tokens (gemm_host) are timed at
  # 128-token steps, around the heuristic's choice one parameter at a time,
  # and the tuned plan takes them for that range.
  grep -q '"variant":"gemm_host","shape":"K=256,N=256,W=f32","tokens":128,"config":{"VEC":8,"TT":1,' tuning.jsonl ||
    fail "tune did not sweep gemm_host's TT at 128 tokens"
  grep -q 'tune: gemm_host {K=256,N=256,W=f32} at 128 tokens: best' tune.log || fail "tune did not report gemm_host"
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" --target=x86-64-v3 --tuning-db=tuning.jsonl -o tuned-plan --emit=plan
  grep -A1 'kcall matmul_add(%15, %16:f32, %3) {K=256,N=256,W=f32} : f32\[T,256\] for T in 2..128' tuned-plan/model.plan |
    grep -q 'gemm_host {.*} tuning-db:' || fail "the prompt-step GEMM does not use the database"
  # Of the entries for a call's token range, those at the widest step decide
  # (times at different steps do not compare); a decode entry is not one.
  printf '%s\n' \
    '{"target":"x86-64-v3","device":"d","variant":"gemm_host","shape":"K=256,N=256,W=f32","tokens":64,"config":{"TT":2},"us":1}' \
    '{"target":"x86-64-v3","device":"d","variant":"gemm_host","shape":"K=256,N=256,W=f32","tokens":128,"config":{"TT":4},"us":50}' \
    '{"target":"x86-64-v3","device":"d","variant":"gemm_host","shape":"K=256,N=256,W=f32","tokens":128,"config":{"TT":1},"us":60}' \
    '{"target":"x86-64-v3","device":"d","variant":"matmul_f32","shape":"K=256,N=256,W=f32","tokens":1,"config":{"VEC":4},"us":2}' > ranges.jsonl
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" --target=x86-64-v3 --tuning-db=ranges.jsonl -o ranges --emit=plan
  grep -A1 'kcall matmul_add(%15, %16:f32, %3) {K=256,N=256,W=f32} : f32\[T,256\] for T in 2..128' ranges/model.plan |
    grep -q 'gemm_host {VEC=8,TT=4,.*} tuning-db:2' || fail "the widest step's entries did not decide"
  grep -A1 'kcall matmul_add(%15, %16:f32, %3) {K=256,N=256,W=f32} : f32\[T,256\] for T in 1..1' ranges/model.plan |
    grep -q 'matmul_f32 {VEC=4,.*} tuning-db:4' || fail "the decode entry did not decide the decode call"
  expect_error 64 "one target at a time" -- "$LLMC" tune "$SRC/examples/tiny-llama/model.json" --target=host,sm_90a
  expect_error 64 "--max-candidates must be in 1..64" -- "$LLMC" tune "$SRC/examples/tiny-llama/model.json" --max-candidates 65
  # Integer layouts: matmul_q8's space (TQ x COLS x PF, 48) swept whole on a
  # small int4 model; the tuned artifact holds the int8-activation contract.
  "$GEN_MODEL" q --dim 64 --layers 1 --heads 4 --kv-heads 2 --hidden 128 --vocab 97 --seed 2
  "$LLMC" tune q/model.json --target=x86-64-v3 --quant=int4 -o q.jsonl 2>/dev/null
  [ "$(grep -c '"variant":"matmul_q8"' q.jsonl)" -ge 48 ] || fail "tune did not sweep matmul_q8's configurations"
  "$LLMC" compile q/model.json --target=x86-64-v3 --quant=int4 --tuning-db=q.jsonl -o q-tuned --verify
  grep -q '"source": "tuning-db"' q-tuned/report.json || fail "the int4 artifact does not use the database"
  expect_error 64 "--quant takes none, int8, int8-g32, int4, int4-zp, int4-k, int5-k or int6-k" -- "$LLMC" tune q/model.json --quant=int3 -o x.jsonl
  # The timing half alone, without the compiler (for a GPU machine): time
  # artifacts compiled with forced configurations, write the database.
  for v in 4 8; do
    "$LLMC" compile "$SRC/examples/tiny-llama/model.json" --target=x86-64-v3 --kernel-config=matmul_f32:VEC=$v -o vec$v
  done
  "$LLMC_RUN" tune-measure --target=x86-64-v3 --device=host -o measured.jsonl vec4 vec8 2>/dev/null
  grep -q '"variant":"matmul_f32","shape":"K=256,N=256,W=f32","tokens":1,"config":{"VEC":8,' measured.jsonl ||
    fail "tune-measure did not record VEC=8"
  # ... and the prompt steps' kernels at the artifact's widest step (none
  # with --prompt-tokens 0): forced onto every step, matmul_f32 runs them.
  grep -q '"variant":"matmul_f32","shape":"K=256,N=256,W=f32","tokens":128,"config":{"VEC":8,' measured.jsonl ||
    fail "tune-measure did not time the prompt step's matmul"
  "$LLMC_RUN" tune-measure --target=x86-64-v3 --device=host --prompt-tokens 0 -o decode-only.jsonl vec4 2>/dev/null
  ! grep -q '"tokens":128' decode-only.jsonl || fail "tune-measure --prompt-tokens 0 timed a prompt step"
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" --target=x86-64-v3 --tuning-db=measured.jsonl -o measured --verify
  grep -q '"source": "tuning-db"' measured/report.json || fail "the measured database was not used"
  expect_error 64 "needs --target" -- "$LLMC_RUN" tune-measure -o x.jsonl vec4
  expect_error 65 "no tunable kernel of target 'sm_90a'" -- \
    "$LLMC_RUN" tune-measure --target=sm_90a --device=host -o x.jsonl vec4
  [ ! -e x.jsonl ] || fail "a failed tune-measure wrote its database"
  expect_error 69 "backend 'hip'" -- "$LLMC" tune "$SRC/examples/tiny-llama/model.json" --target=gfx942 --device=hip -o x.jsonl
  [ ! -e x.jsonl ] || fail "a failed tune wrote a database"
  ;;
*)
  fail "unknown case $case_name"
  ;;
esac
echo "PASS: $case_name"
