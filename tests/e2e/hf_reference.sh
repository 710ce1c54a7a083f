#!/usr/bin/env bash
# Features of real checkpoints (issue 10): RoPE scaling, sliding windows and
# model families, each against an independent reference: tests/tools/ref_hf.py, a numpy forward pass written
# from Hugging Face transformers' code (not from llmc's), run here on the same
# random-weight checkpoint. The artifact must generate its greedy ids and
# its teacher-forced logits must be within 1e-4 (e2e_check --reference).
# Prompts are longer than the original context (RoPE scaling) or the window
# (sliding-window attention), and cross KV blocks of 16.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
REF=$SRC/tests/tools/ref_hf.py
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "SKIP: $case_name: python3-numpy is not installed (scripts/setup installs it)"
  exit 0
fi
LONG=$(seq -s, 3 72) # 70 tokens

# check NAME [gen_model flags...]: the HF checkpoint through llmc compile and
# through the reference.
check() {
  local name=$1
  shift
  "$GEN_MODEL" "$name" --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 128 --vocab 96 --seed 11 \
    --max-context 256 "$@" >/dev/null
  "$LLMC" compile "$name" -o "out-$name"
  "$PY" "$REF" "$name" --prompts "1,15,42;$LONG" --steps 32 >"$name.ref.json"
  "$E2E_CHECK" "$name" "out-$name" --steps 8 --prompt-lens 1,40 --reference "$name.ref.json"
}

case "$case_name" in
rope-scaling)
  check llama3 --config-extra '"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
    "high_freq_factor": 4.0, "original_max_position_embeddings": 32}'
  check linear --config-extra '"rope_scaling": {"type": "linear", "factor": 3}'
  check yarn --config-extra '"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}'
  check yarn-mscale --dtype bf16 --config-extra '"rope_scaling": {"rope_type": "yarn", "factor": 8.0, "mscale": 0.707,
    "mscale_all_dim": 1.0, "beta_fast": 16, "beta_slow": 2, "truncate": false}'
  check dynamic --config-extra '"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}'
  # The scaling is in the rotation the artifact runs: a compile without it
  # generates other tokens than the scaled reference.
  "$GEN_MODEL" plain --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 128 --vocab 96 --seed 11 --max-context 256 >/dev/null
  "$LLMC" compile plain -o out-plain
  ! "$E2E_CHECK" plain out-plain --steps 1 --prompt-lens 1 --reference llama3.ref.json >plain.txt ||
    fail "the unscaled model matches the llama3-scaled reference: the test cannot tell them apart"
  # Fused into kv_write and attention (fuse-rope) on the host, the GPU
  # kernels get the same table: sm_90a's and gfx942's compile.
  grep -q 'rope_scaling' llama3/config.json
  "$LLMC" compile yarn -o out-yarn-gpu --target=gfx942,spirv$(nv ,sm_90a)
  ;;
sliding-window)
  # Mistral: a window of 8 (less than a KV block), of 20 (more than one),
  # on a GQA model with bf16 weights, and null (none).
  check window8 --arch mistral --config-extra '"sliding_window": 8'
  check window20 --arch mistral --dtype bf16 --config-extra '"sliding_window": 20'
  check window-null --arch mistral --config-extra '"sliding_window": null'
  # Without the key transformers' MistralConfig default (4096) applies: no
  # effect at this context, but the importer must not refuse it.
  check window-absent --arch mistral
  "$LLMC" import window8 >window8.json
  grep -q '"window": 8' window8.json || fail "the window is not an attribute of attention"
  # Qwen2 with use_sliding_window: the layers from max_window_layers on slide
  # (config.layer_types, when given, instead).
  check qwen2-window --arch qwen2 --layers 3 --config-extra '"use_sliding_window": true, "max_window_layers": 1,
    "sliding_window": 8'
  "$LLMC" import qwen2-window | jq -e '.params.window_per_layer == [0, 8, 8]' > /dev/null ||
    fail "qwen2's window layers"
  check qwen2-types --arch qwen2 --layers 3 --config-extra '"use_sliding_window": true, "sliding_window": 8,
    "layer_types": ["sliding_attention", "full_attention", "sliding_attention"]'
  check qwen2-off --arch qwen2 --layers 2 --config-extra '"use_sliding_window": false, "sliding_window": 8,
    "max_window_layers": 0'
  # Llama ignores sliding_window, as transformers does.
  check llama-window --config-extra '"sliding_window": 8'
  "$LLMC" compile window20 -o out-window-gpu --target=gfx942,spirv$(nv ,sm_90a)
  # Every layer slides: the runtime gives back the KV blocks behind the
  # window, so the 70-token prompt and 32 new tokens (26 blocks of 4) run in
  # the 3 blocks a window of 8 spans, with the reference's ids; 2 are
  # refused. Mixed layers (Qwen2's, Gemma's) keep every block.
  "$LLMC" compile window8 -o out-window8-b4 --block-size 4
  jq -e '.kv_cache.window == 8' out-window8-b4/report.json >/dev/null || fail "report.json: kv_cache.window"
  jq -e '.kv_cache.window == 0' out-qwen2-window/report.json >/dev/null || fail "a mixed model frees blocks"
  want=$(jq -r '.cases[1].generated_ids | map(tostring) | join(" ")' window8.ref.json)
  got=$("$LLMC" run out-window8-b4 --prompt-ids "$LONG" --max-tokens 32 --temperature 0 --print-ids --kv-blocks 3)
  [ "$got" = "$want" ] || fail "window8 in 3 KV blocks: got '$got', want '$want'"
  expect_error 65 'needs 3 KV blocks of 4 tokens at once; the cache has only 2' -- \
    "$LLMC" run out-window8-b4 --prompt-ids "$LONG" --max-tokens 32 --temperature 0 --print-ids --kv-blocks 2
  # Sixteen requests of up to 92 tokens (23 blocks each) in 12 blocks.
  "$LLMC" bench out-window8-b4 --requests 16 --concurrency 4 --prompt-len 8:60 --gen-len 8:32 --seed 7 \
    --kv-blocks 12 --json >bench.json
  jq -e '.completed == 16 and .kv_blocks.peak_in_use <= 12 and .kv_blocks.dropped > 0' bench.json >/dev/null ||
    fail "window8 bench: $(jq -c .kv_blocks bench.json)"
  ;;
qwen3)
  # Per-head q/k RMSNorm (rms_norm {group}) and a head_dim that is not
  # hidden_size / heads (as Qwen3's 128 with hidden 1024 and 16 heads), from
  # config.json and from the hand-written model.json; bf16 with yarn too.
  check qwen3 --arch qwen3 --head-dim 32
  "$E2E_CHECK" qwen3/model.json out-qwen3 --steps 4 --prompt-lens 1 --reference qwen3.ref.json
  check qwen3-yarn --arch qwen3 --head-dim 24 --heads 4 --kv-heads 1 --dtype bf16 \
    --config-extra '"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}'
  "$LLMC" compile qwen3 -o out-qwen3-gpu --target=gfx942,spirv$(nv ,sm_90a)
  "$GEN_MODEL" qwen3-bias --arch qwen3 --config-extra '"attention_bias": true' >/dev/null
  expect_error 65 '"attention_bias" is set: attention biases is not supported yet' -- "$LLMC" compile qwen3-bias -o out
  ;;
gemma)
  # Gemma 2: (1 + w) norms before and after attention and the MLP, GeGLU,
  # embeddings scaled by sqrt(hidden), attention scaled by
  # query_pre_attn_scalar^-0.5 and soft-capped, final logits soft-capped,
  # a window on every other layer; tied embeddings by default.
  g2='"hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 24, "sliding_window": 12,
    "attn_logit_softcapping": 20.0, "final_logit_softcapping": 15.0'
  check gemma2 --arch gemma2 --layers 3 --head-dim 32 --tied --config-extra "$g2"
  check gemma2-bf16 --arch gemma2 --layers 2 --heads 4 --kv-heads 1 --head-dim 16 --dtype bf16 --tied --config-extra "$g2"
  # Gemma 3 (text): q/k norms, sliding layers with rope_local_base_freq and
  # global layers with rope_theta and the rope scaling; layer types from
  # config.layer_types, and from sliding_window_pattern.
  g3='"hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 24, "sliding_window": 12,
    "rope_local_base_freq": 10000.0, "final_logit_softcapping": null, "attn_logit_softcapping": null'
  check gemma3 --arch gemma3 --layers 4 --head-dim 32 --tied --rope-theta 1000000 --config-extra "$g3"',
    "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
    "rope_scaling": {"rope_type": "linear", "factor": 8.0}'
  check gemma3-pattern --arch gemma3 --layers 3 --head-dim 32 --tied --rope-theta 1000000 --config-extra "$g3"',
    "sliding_window_pattern": 2'
  # The multimodal checkpoints' layout (Gemma3ForConditionalGeneration: the
  # config under text_config, the weights under language_model., a vision
  # tower not read) gives the text model's logits.
  "$PY" "$SRC/tests/tools/to_gemma3_mm.py" gemma3 gemma3-mm
  "$LLMC" compile gemma3-mm -o out-gemma3-mm
  "$E2E_CHECK" gemma3-mm out-gemma3-mm --steps 8 --prompt-lens 1 --reference gemma3.ref.json
  # Gemma 3 applies final_logit_softcapping when set and ignores
  # attn_logit_softcapping, as transformers does.
  check gemma3-caps --arch gemma3 --layers 2 --head-dim 32 --tied --config-extra '"query_pre_attn_scalar": 24,
    "sliding_window": 12, "final_logit_softcapping": 10.0, "attn_logit_softcapping": 5.0'
  # Without final soft-capping the identity softcap is not compiled; at -O0
  # it runs as a copy.
  "$LLMC" compile gemma3 -o ir-gemma3 --emit=ir
  ! grep -q softcap ir-gemma3/model.ir || fail "an identity softcap was compiled"
  "$LLMC" compile gemma3 -o out-gemma3-O0 -O0
  "$E2E_CHECK" gemma3 out-gemma3-O0 --steps 4 --prompt-lens 1 --reference gemma3.ref.json
  "$LLMC" import gemma3 | jq -e '.params.window_per_layer == [12, 0, 12, 0] and
    .params.layer_theta == [10000.0, 1000000.0, 10000.0, 1000000.0]' > /dev/null || fail "gemma3's layers"
  "$LLMC" compile gemma2 -o out-gemma2-gpu --target=gfx942,spirv$(nv ,sm_90a)
  # The post-norms and their residual adds are one kernel each (fuse-norm-add,
  # two a layer); on GPUs the (1 + w) norms before attention and the MLP go
  # into the GEMV prologue and GeGLU (gelu_mul) into the gate/up GEMV's
  # epilogue.
  [ "$(jq '[.fusions[] | select(.pass == "fuse-norm-add")] | length' out-gemma2/report.json)" = 6 ] ||
    fail "gemma2's post-norms are not fused with their adds"
  [ "$(jq -c '[.kernels[].targets.gfx942 | select(.choice.fuses != null) | .choice.fuses] | unique' \
      out-gemma2-gpu/report.json)" = '[["rms_norm"],["rms_norm","gelu_mul"]]' ] ||
    fail "gemma2's norms and GeGLU are not fused on gfx942"
  ;;
phi3)
  # Phi-3 / Phi-4: q, k and v in one qkv_proj and gate and up in one
  # gate_up_proj, sliced; config.sliding_window on every layer (Phi-3-mini's
  # 2047) or none.
  check phi3 --arch phi3 --hidden 96 --config-extra '"sliding_window": 10'
  check phi3-nowindow --arch phi3 --kv-heads 1 --head-dim 24 --dtype bf16 --config-extra '"sliding_window": null'
  # The fused weights cost no launch: as many as the Llama layout's.
  "$GEN_MODEL" llama-layout --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 96 --vocab 96 --seed 11 >/dev/null
  "$LLMC" compile llama-layout -o out-llama-layout
  "$GEN_MODEL" phi3-same --arch phi3 --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 96 --vocab 96 --seed 11 >/dev/null
  "$LLMC" compile phi3-same -o out-phi3-same
  [ "$(jq .launches out-phi3-same/report.json)" = "$(jq .launches out-llama-layout/report.json)" ] ||
    fail "Phi-3's fused weights cost launches"
  "$LLMC" compile phi3 -o out-phi3-gpu --target=gfx942,spirv$(nv ,sm_90a)
  # longrope (Phi-3-*-128k, Phi-3.5): the short factors and the attention
  # factor below original_max_position_embeddings, the context it is compiled
  # for; a longer --max-context is refused.
  "$GEN_MODEL" phi3-long --arch phi3 --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 96 --vocab 96 --seed 11 \
    --max-context 256 --config-extra '"original_max_position_embeddings": 64, "rope_scaling": {"type": "longrope",
    "short_factor": [1.0, 1.1, 1.3, 1.7, 2.5, 4.0, 6.5, 9.0], "long_factor": [1, 2, 4, 8, 16, 32, 48, 64]}' >/dev/null
  "$LLMC" compile phi3-long -o out-phi3-long
  "$PY" "$REF" phi3-long --prompts "1,15,42;$(seq -s, 3 42)" --steps 20 > phi3-long.ref.json
  "$E2E_CHECK" phi3-long out-phi3-long --steps 8 --prompt-lens 1,30 --reference phi3-long.ref.json
  [ "$("$LLMC" import phi3-long | jq .params.max_context)" = 64 ] || fail "longrope's context is not the original"
  expect_error 64 "exceeds the model's context of 64" -- "$LLMC" compile phi3-long -o x --max-context 128
  # Partial rotary (Phi-4-mini: partial_rotary_factor 0.75 with longrope): the
  # first 12 of 16 values of each head rotate, the rest pass through (the
  # attention factor too); and without scaling, with a window.
  "$GEN_MODEL" phi4 --arch phi3 --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 96 --vocab 96 --seed 12 \
    --max-context 256 --config-extra '"partial_rotary_factor": 0.75, "original_max_position_embeddings": 64,
    "rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.2, 1.5, 2.0, 3.0, 5.0], "long_factor": [1, 2, 4, 8, 16, 32]}' >/dev/null
  "$LLMC" compile phi4 -o out-phi4
  "$PY" "$REF" phi4 --prompts "1,15,42;$(seq -s, 3 42)" --steps 20 > phi4.ref.json
  "$E2E_CHECK" phi4 out-phi4 --steps 8 --prompt-lens 1,30 --reference phi4.ref.json
  "$LLMC" compile phi4 -o out-phi4-O0 -O0
  "$E2E_CHECK" phi4 out-phi4-O0 --steps 4 --prompt-lens 1 --reference phi4.ref.json
  check phi4-partial --arch phi3 --head-dim 24 --config-extra '"partial_rotary_factor": 0.5, "sliding_window": 20'
  # k's and q's rotations are equal when their longrope factors are (each
  # node holds its own copy): the decode kv_write goes into attention_warp.
  "$GEN_MODEL" phi4-32 --arch phi3 --dim 128 --layers 1 --heads 4 --kv-heads 2 --hidden 96 --vocab 96 --seed 3 \
    --config-extra '"partial_rotary_factor": 0.75, "original_max_position_embeddings": 128, "rope_scaling":
    {"type": "longrope", "short_factor": [1, 1.1, 1.2, 1.4, 1.7, 2, 2.5, 3, 4, 5, 6, 8], "long_factor": [1]}' >/dev/null
  "$LLMC" compile phi4-32 -o out-phi4-32-gpu --target=gfx1100
  jq -e '[.kernels[].targets.gfx1100.choice.fuses // [] | index("kv_write")] | any' out-phi4-32-gpu/report.json \
    > /dev/null || fail "longrope's kv_write is not fused into attention"
  # The factors round-trip through the IR's text form.
  "$LLMC" compile phi3-long -o ir-phi3-long --emit=ir
  grep -q 'ext_factors = \[1' ir-phi3-long/model.ir || fail "no ext_factors list in the IR"
  "$IR_OPT" ir-phi3-long/model.ir > reparsed.ir
  cmp ir-phi3-long/model.ir reparsed.ir || fail "the IR text with a list attribute does not round-trip"
  ;;
long-context-errors)
  bad() { # bad EXIT MESSAGE CONFIG_EXTRA [gen flags]: the import refuses it
    local code=$1 msg=$2 extra=$3
    shift 3
    rm -rf m
    "$GEN_MODEL" m --dim 64 --layers 1 --heads 4 --kv-heads 2 --hidden 128 --vocab 96 --seed 1 "$@" \
      --config-extra "$extra" >/dev/null
    expect_error "$code" "$msg" -- "$LLMC" compile m -o out
    [ ! -e out ] || fail "a refused compile left out/"
  }
  bad 65 '"rope_scaling" must be an object or null' '"rope_scaling": 8'
  bad 65 'no "rope_type" string' '"rope_scaling": {"factor": 2.0}'
  bad 65 'longrope needs a "short_factor" list' '"rope_scaling": {"rope_type": "longrope", "factor": 2.0}'
  bad 65 'RoPE scaling "ntk-by-parts" is not supported' '"rope_scaling": {"rope_type": "ntk-by-parts", "factor": 2.0}'
  bad 65 '"rope_scaling" needs "low_freq_factor"' '"rope_scaling": {"rope_type": "llama3", "factor": 8.0,
    "high_freq_factor": 4.0, "original_max_position_embeddings": 32}'
  bad 65 '"factor" must be a positive number' '"rope_scaling": {"rope_type": "linear", "factor": -1}'
  bad 65 '"factor" must be a positive number' '"rope_scaling": {"rope_type": "linear", "factor": "8"}'
  bad 65 'high_freq_factor must exceed' '"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0,
    "high_freq_factor": 1.0, "original_max_position_embeddings": 32}'
  bad 65 '"original_max_position_embeddings" must be an integer' '"rope_scaling": {"rope_type": "yarn", "factor": 2.0,
    "original_max_position_embeddings": 31.5}'
  bad 65 'partial_rotary_factor' '"partial_rotary_factor": 0.5, "rope_scaling": {"rope_type": "linear", "factor": 2.0}'
  bad 65 '"partial_rotary_factor" other than 1 is not supported for this family' '"partial_rotary_factor": 0.75'
  bad 65 '"partial_rotary_factor" must give an even rotary size' '"partial_rotary_factor": 0.7' --arch phi3
  bad 65 'ext_factors has 1 factors, not rotary_dim / 2 = 8' '"rope_scaling": {"rope_type": "longrope",
    "short_factor": [1.0], "long_factor": [2.0]}' --arch phi3
  bad 65 'short_factor[1] must be a positive number' '"rope_scaling": {"rope_type": "longrope",
    "short_factor": [1.0, -2, 1, 1, 1, 1, 1, 1], "long_factor": [2.0]}' --arch phi3
  bad 65 '"sliding_window" must be positive' '"sliding_window": -4' --arch mistral
  bad 65 '"sliding_window" is null; the model needs a value' '"sliding_window": null' --arch gemma2
  bad 65 'window must be in' '"sliding_window": 99999999999' --arch mistral
  # model.json written by hand: dynamic scaling is compiled only up to its
  # original context.
  "$GEN_MODEL" m2 --dim 64 --layers 1 --heads 4 --kv-heads 2 --hidden 128 --vocab 96 --seed 1 \
    --config-extra '"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}' >/dev/null
  "$LLMC" import m2 | sed 's/"original_context": 256/"original_context": 100/' >m2/dyn.json
  expect_error 65 "max_context 256 is beyond the original_context 100 of dynamic RoPE scaling" -- \
    "$LLMC" compile m2/dyn.json -o out
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: $case_name"
