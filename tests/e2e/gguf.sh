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
  "$LLMC" compile "$g.gguf" -o "out-$g"
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
  # The report says the weights were dequantized: the artifact holds f32.
  grep -q '"dtype": *"f32"' out-llama-q4_0/report.json || fail "report.json lacks the stored dtype"
  # Tied embeddings (no output.weight), Qwen2's q/k/v biases, Qwen3's q/k norms.
  gen tied --tied
  check tied q8_0
  gen qwen2 --arch qwen2
  check qwen2 q4_1
  gen qwen3 --arch qwen3
  check qwen3 q5_0
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
EOF
  expect_error 65 "not a GGUF file" -- "$LLMC" compile empty.gguf -o out
  expect_error 65 "not a GGUF file" -- "$LLMC" compile magic.gguf -o out
  expect_error 65 "GGUF version 1" -- "$LLMC" compile v1.gguf -o out
  expect_error 65 "big-endian" -- "$LLMC" compile bigendian.gguf -o out
  expect_error 65 "truncated.gguf" -- "$LLMC" compile truncated.gguf -o out
  expect_error 65 "header-only.gguf" -- "$LLMC" compile header-only.gguf -o out
  expect_error 65 "beyond llmc's limits" -- "$LLMC" compile many-tensors.gguf -o out
  expect_error 65 "beyond llmc's limits" -- "$LLMC" compile many-kvs.gguf -o out
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
  # A type llmc knows but does not read (yet): said by name.
  "$GEN_MODEL" wide --dim 256 --layers 1 --heads 4 --kv-heads 2 --hidden 256 --vocab 96 >/dev/null
  "$PY" "$TOOLS/to_gguf.py" wide wide.gguf --type q8_0
  "$PY" - wide.gguf <<'EOF'
import struct, sys
good = open(sys.argv[1], "rb").read()
name = b"blk.0.attn_q.weight"
at = good.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
ty = at + 4 + 8 * struct.unpack_from("<I", good, at)[0]
open("wide-q3k.gguf", "wb").write(good[:ty] + struct.pack("<I", 11) + good[ty + 4:])
EOF
  expect_error 65 "is Q3_K, which llmc does not read yet" -- "$LLMC" compile wide-q3k.gguf -o out
  [ ! -e out ] || fail "a failed compile left an output directory"
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: $case_name"
