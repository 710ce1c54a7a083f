#!/usr/bin/env bash
# Hostile inputs (issue 9): names that try to become code, paths that try to
# leave the model directory, files that would block, graphs that would take
# hours, configs that disagree with their tensors, numbers that overflow f32.
# Every case must end in one "llmc: ...: error: ..." line and the documented
# exit code (or, where the input is legal, a correct artifact), in bounded time.
source "$(dirname "$0")/lib.sh"

# expect_one_error CODE TEXT -- command...: as expect_error, and stderr is
# exactly one line, and the command finishes within 60 s.
expect_one_error() {
  local code=$1 text=$2
  shift 3
  expect_error "$code" "$text" -- timeout 60 "$@"
  [ "$(wc -l <stderr.txt)" -eq 1 ] || { cat stderr.txt >&2; fail "'$*' printed more than one line"; }
  grep -q '^llmc: .*error: ' stderr.txt || fail "'$*': not an 'llmc: ...: error:' line"
}

small_model() { # DIR [seed]
  "$GEN_MODEL" "$1" --dim 32 --layers 2 --heads 2 --kv-heads 1 --hidden 64 --vocab 64 --seed "${2:-1}" >/dev/null
}

# set_json FILE KEY VALUE: sets a top-level key of a flat JSON object by sed
# (the generated files put one key per line or are small and regular).
set_config() { sed -i "s|\"$2\": [^,}]*|\"$2\": $3|" "$1"; }

case $case_name in
hostile-names)
  small_model m
  # A name that ends a comment and defines a kernel, in MLIR and in C.
  name='x\n}\nfunc.func @llmc_k0_embedding() { llvm.unreachable }\n// */ int evil = 1; /*\u001b[2J'
  sed -i "s|\"name\": \"random-llama\"|\"name\": \"${name//\\/\\\\}\"|" m/model.json
  "$LLMC" compile m/model.json -o out --emit=mlir
  ! grep -q '^func.func @llmc_k0_embedding() { llvm.unreachable' out/model.mlir || fail "the name became MLIR"
  grep -q '^// Kernels of model "x\\x0a}' out/model.mlir || fail "the name is not quoted in the MLIR comment"
  "$LLMC" compile m/model.json -o art
  # Comments stripped, nothing of the name is left: it stayed inside one.
  cc -E -P -I"$SRC/runtime/include" -x c art/model.h > model.i || fail "model.h does not preprocess"
  ! grep -q 'evil' model.i || fail "the name ended model.h's comment"
  [ "$(greedy_ids art 1,2,3 4 | wc -w)" -eq 4 ] || fail "the artifact does not run"
  # The IR text form round-trips any name.
  "$LLMC" compile m/model.json -o ir --emit=ir
  "$IR_OPT" ir/model.ir > reparsed.ir
  cmp ir/model.ir reparsed.ir || fail "IR text with a hostile name does not round-trip"
  # A weight name with control bytes in an error stays one line.
  sed -i 's|"model.norm.weight"|"no\\nsuch\\u001b weight"|' m/model.json
  expect_one_error 65 "no\\x0asuch\\x1b weight" -- "$LLMC" compile m/model.json -o bad
  [ ! -e bad ] || fail "a failed compile left its output"
  ;;
hostile-paths)
  small_model m
  mkdir -p secret && printf 'SECRETBYTES-0123456789' > secret/key && chmod 600 secret/key
  for tok in '"/etc/passwd"' '"../secret/key"' '"./../secret/key"' '"sub/../../secret/key"'; do
    sed "s|\"weights\":|\"tokenizer\": $tok, \"weights\":|" m/model.json > m/t.json
    expect_one_error 65 "leaves the model directory" -- "$LLMC" compile m/t.json -o out
  done
  # Through a symlink: the tokenizer, a shard, a directory of shards.
  ln -s "$WORK/secret/key" m/tokenizer.json
  sed "s|\"weights\":|\"tokenizer\": \"tokenizer.json\", \"weights\":|" m/model.json > m/t.json
  expect_one_error 65 "through a symlink" -- "$LLMC" compile m/t.json -o out
  expect_one_error 65 "through a symlink" -- "$LLMC" compile m -o out # the HF importer finds tokenizer.json
  rm m/tokenizer.json
  mkdir -p outside && cp m/model.safetensors outside/ && ln -s "$WORK/outside" m/linked
  sed 's|"model.safetensors"|"linked/model.safetensors"|' m/model.json > m/s.json
  expect_one_error 65 "through a symlink" -- "$LLMC" compile m/s.json -o out
  sed 's|"model.safetensors"|"/tmp/model.safetensors"|' m/model.json > m/s.json
  expect_one_error 65 "absolute paths are refused" -- "$LLMC" compile m/s.json -o out
  # A file that is not safetensors: its bytes are never echoed.
  cp secret/key m/notweights.safetensors
  sed 's|"model.safetensors"|"notweights.safetensors"|' m/model.json > m/s.json
  expect_one_error 65 "not a safetensors file" -- "$LLMC" compile m/s.json -o out
  ! grep -q 'SECRET\|5445524353' stderr.txt || fail "the file's bytes were echoed"
  # Symlinks inside the directory are fine, and so is a Hugging Face cache
  # snapshot, whose files are symlinks into ../../blobs.
  mkdir -p hub/models--org--m/blobs hub/models--org--m/snapshots/rev1
  for f in config.json model.safetensors; do
    cp "m/$f" "hub/models--org--m/blobs/$f.blob"
    ln -s "../../blobs/$f.blob" "hub/models--org--m/snapshots/rev1/$f"
  done
  "$LLMC" compile hub/models--org--m/snapshots/rev1 -o hub-out
  [ "$(greedy_ids hub-out 1,2 3 | wc -w)" -eq 3 ] || fail "the HF cache snapshot does not run"
  ;;
hostile-fifos)
  # Inputs that are FIFOs are refused at once, never waited on.
  small_model m
  "$LLMC" compile m/model.json -o art
  mkdir -p f && cp m/config.json m/model.json f/
  mkfifo f/model.safetensors
  expect_one_error 66 "not a regular file" -- "$LLMC" compile f/model.json -o out
  expect_one_error 66 "not a regular file" -- "$LLMC" compile f -o out
  rm f/model.safetensors && cp m/model.safetensors f/ && mkfifo f/tokenizer.json
  sed "s|\"weights\":|\"tokenizer\": \"tokenizer.json\", \"weights\":|" f/model.json > f/t.json
  expect_one_error 66 "not a regular file" -- "$LLMC" compile f/t.json -o out
  mkfifo fifo.json
  expect_one_error 66 "not a regular file" -- "$LLMC" compile fifo.json -o out
  rm f/tokenizer.json && mkfifo f/config.json.fifo && rm f/config.json && mv f/config.json.fifo f/config.json
  expect_one_error 66 "not a regular file" -- "$LLMC" compile f -o out
  rm art/weights.safetensors && mkfifo art/weights.safetensors
  expect_one_error 66 "not a regular file" -- "$LLMC" run art --prompt-ids 1,2 --max-tokens 2
  ;;
hostile-graphs)
  # Work is bounded by the input's size: nested repeats with empty bodies,
  # and a graph of ~100k nodes through every pass (linear-time passes and an
  # O(n log n) memory planner; once 4 minutes, now about a second).
  small_model m
  nest='{"repeat": 1000000, "as": "z7", "body": []}'
  for d in 6 5 4 3 2 1 0; do nest="{\"repeat\": 1000000, \"as\": \"z$d\", \"body\": [$nest]}"; done
  sed "s|\"graph\": \[|\"graph\": [$nest, |" m/model.json > m/nested.json
  expect_one_error 65 "more than 4000000 iterations" -- "$LLMC" compile m/nested.json -o out
  body='{"op": "rms_norm", "in": ["x", "model.layers.0.input_layernorm.weight"], "attrs": {"eps": 1e-5}, "out": "h"}, '
  body+='{"op": "matmul", "in": ["h", "model.layers.0.self_attn.q_proj.weight"], "attrs": {"transpose_b": true}, "out": "q"}, '
  body+='{"op": "add", "in": ["x", "q"], "out": "x"}'
  sed "s|{\"repeat\": \"n_layers\"|{\"repeat\": 33000, \"as\": \"j\", \"body\": [$body]}, {\"repeat\": \"n_layers\"|" \
    m/model.json > m/big.json
  grep -q '"repeat": 33000' m/big.json || fail "could not build the big graph"
  timeout 60 "$LLMC" compile m/big.json -o big --emit=plan > /dev/null || fail "a 100k-node graph did not plan within 60 s"
  timeout 120 "$LLMC" compile m/big.json -o big-so || fail "a 100k-node graph did not compile within 120 s"
  [ "$(greedy_ids big-so 1,2 2 | wc -w)" -eq 2 ] || fail "the 100k-node artifact does not run"
  ;;
hostile-config)
  small_model hf
  cp -r hf base
  # Config values that disagree with the tensors.
  for kv in 'vocab_size 65' 'hidden_size 48' 'intermediate_size 65'; do
    cp base/config.json hf/config.json && set_config hf/config.json $kv
    expect_one_error 65 "does not describe these weights" -- "$LLMC" compile hf -o out
  done
  cp base/config.json hf/config.json && set_config hf/config.json num_hidden_layers 1
  expect_one_error 65 "not used by the graph" -- "$LLMC" compile hf -o out
  cp base/config.json hf/config.json && set_config hf/config.json max_position_embeddings 100.5
  expect_one_error 65 "max_context must be an integer" -- "$LLMC" compile hf -o out
  cp base/config.json hf/config.json && set_config hf/config.json max_position_embeddings '"256"'
  expect_one_error 65 '"max_position_embeddings" must be a number' -- "$LLMC" compile hf -o out
  for v in 1099511627776 -1 64; do
    sed "s|\"weights\":|\"eos_token_id\": $v, \"weights\":|" base/model.json > hf/e.json
    expect_one_error 65 "is not a token of the 64-token vocabulary" -- "$LLMC" compile hf/e.json -o out
  done
  cp base/config.json hf/config.json && set_config hf/config.json tie_word_embeddings '"yes"'
  expect_one_error 65 "must be true or false" -- "$LLMC" compile hf -o out
  # The same tensor in two weight files is ambiguous.
  cp base/config.json hf/config.json && cp hf/model.safetensors hf/copy.safetensors
  sed 's|"weights": \["model.safetensors"\]|"weights": ["model.safetensors", "copy.safetensors"]|' base/model.json > hf/d.json
  expect_one_error 65 "is also in" -- "$LLMC" compile hf/d.json -o out
  rm hf/copy.safetensors
  # Numbers that pass "positive" but break f32 arithmetic.
  for kv in 'rms_norm_eps 1e308' 'rope_theta 5e-324' 'rope_theta 0.5'; do
    cp base/config.json hf/config.json && set_config hf/config.json $kv
    expect_one_error 65 "outside" -- "$LLMC" compile hf -o out
  done
  cp base/config.json hf/config.json
  sed 's|"attrs": {"n_heads"|"attrs": {"scale": 1e308, "n_heads"|' base/model.json > hf/s.json
  expect_one_error 65 "outside" -- "$LLMC" compile hf/s.json -o out
  # What the runtime would refuse is refused at compile time: no layers.
  sed -e 's|"n_layers": 2|"n_layers": 0|' -e 's|"weights":|"ignore_weights": ["model.layers.*"], "weights":|' \
    base/model.json > hf/z.json
  expect_one_error 65 "no kv_write" -- "$LLMC" compile hf/z.json -o out
  # A tokenizer llmc cannot load fails the compile, unless left out; run
  # --prompt-ids never needs one.
  echo '{"model": {"type": "WordPiece", "vocab": {}}}' > hf/tokenizer.json
  expect_one_error 65 "--no-tokenizer" -- "$LLMC" compile hf -o out
  "$LLMC" compile hf -o out --no-tokenizer
  [ ! -e out/tokenizer.json ] || fail "--no-tokenizer copied the tokenizer"
  echo 'garbage' > out/tokenizer.json
  [ "$(greedy_ids out 1,2 3 | wc -w)" -eq 3 ] || fail "run --prompt-ids --print-ids needed the tokenizer"
  "$LLMC" run out --prompt-ids 1,2 --max-tokens 3 --temperature 0 > ids.txt 2> warn.txt
  [ "$(wc -w < ids.txt)" -eq 3 ] && grep -q 'warning: cannot use the tokenizer' warn.txt ||
    fail "run --prompt-ids with a broken tokenizer did not fall back to ids"
  # The artifact's generation.json is read like any input: checked, never cast or waited on.
  for g in '{"eos_token_id": 1099511627776}' '{"eos_token_id": "2"}' '[1]'; do
    echo "$g" > out/generation.json
    expect_one_error 65 "generation.json" -- "$LLMC" run out --prompt-ids 1,2 --max-tokens 2 --print-ids
  done
  rm out/generation.json && mkfifo out/generation.json
  expect_one_error 66 "not a regular file" -- "$LLMC" run out --prompt-ids 1,2 --max-tokens 2 --print-ids
  rm out/generation.json
  # A temperature so small that 1/T overflows f32 samples greedily, not NaN.
  rm out/tokenizer.json
  [ "$("$LLMC" run out --prompt-ids 1,2 --max-tokens 8 --temperature 1e-39 --print-ids)" = "$(greedy_ids out 1,2 8)" ] ||
    fail "a tiny temperature did not sample greedily"
  ;;
*)
  fail "unknown case $case_name"
  ;;
esac
echo "PASS: $case_name"
