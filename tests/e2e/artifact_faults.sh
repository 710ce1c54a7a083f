#!/usr/bin/env bash
# A corrupt or mismatched artifact is an error, never a crash (issue 9):
# each case damages a compiled output directory one way, several times, and
# `llmc run` must exit 65 with exactly one "llmc: WHERE: error: ..." line.
#   tests/e2e/artifact_faults.sh CASE   (the environment and helpers are in lib.sh)
source "$(dirname "$0")/lib.sh"

# expect_one_error CODE TEXT -- command...: expect_error, and the error is
# exactly one line of the form "llmc: WHERE: error: ...".
expect_one_error() {
  expect_error "$@"
  [ "$(grep -c "error:" stderr.txt)" -eq 1 ] || { cat stderr.txt >&2; fail "more than one error line"; }
  grep -qE '^llmc: [^ ].*: error: ' stderr.txt || { cat stderr.txt >&2; fail "error line lacks 'llmc: WHERE: error:'"; }
}

run_out() { "$LLMC" run "$1" --prompt-ids 1,2 --max-tokens 2 --temperature 0; }

model() { # dir vocab seed
  "$GEN_MODEL" "$1" --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab "$2" --seed "$3" >/dev/null
}

# flip FILE OFFSET BIT: flips one bit of the file in place.
flip() {
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((byte ^ (1 << $3))))" | dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}

# The byte range [start, end) of the plan in model.so, found by its header
# (VOCAB, MAX_STEP_TOKENS, MAX_CONTEXT, MAX_SEQS from model.h, which are
# unlikely to recur in that order) and walked launch by launch as
# llmc_abi.h lays it out.
plan_range() { # out-dir
  local v t c s h
  # The header's length: one #define per field (llmc_abi.h, LLMC_PLAN_HEADER_LEN).
  h=$(grep -c '^#define LLMC_MODEL_[A-Z_]* [0-9-]*LL$' "$1/model.h")
  v=$(sed -n 's/^#define LLMC_MODEL_VOCAB \([0-9]*\)LL/\1/p' "$1/model.h")
  t=$(sed -n 's/^#define LLMC_MODEL_MAX_STEP_TOKENS \([0-9]*\)LL/\1/p' "$1/model.h")
  c=$(sed -n 's/^#define LLMC_MODEL_MAX_CONTEXT \([0-9]*\)LL/\1/p' "$1/model.h")
  s=$(sed -n 's/^#define LLMC_MODEL_MAX_SEQS \([0-9]*\)LL/\1/p' "$1/model.h")
  od -An -v -w8 -td8 "$1/model.so" | awk -v v="$v" -v t="$t" -v c="$c" -v s="$s" -v h="$h" '
    { x[NR - 1] = $1 + 0 }
    END {
      for (i = 0; i + h < NR; i++) {
        if (x[i] != v || x[i + 1] != t || x[i + 2] != c || x[i + 3] != s) continue
        p = i + h
        for (l = 0; l < x[i + 18]; l++) p += 6 + 2 * x[p + 5]
        print i * 8, p * 8
        exit
      }
      exit 1
    }'
}

case $case_name in
artifact-truncated-so)
  # An interrupted copy: model.so cut at several lengths, from inside the
  # ELF header to one byte short.
  model m 97 1
  "$LLMC" compile m/model.json -o out >/dev/null
  size=$(stat -c %s out/model.so)
  for len in 0 10 63 64 200 $((size / 4)) $((size / 2)) $((size * 3 / 4)) $((size - 100)) $((size - 1)); do
    rm -rf cut && cp -r out cut
    head -c "$len" out/model.so > cut/model.so
    expect_one_error 65 "cut/model.so" -- run_out cut
  done
  # Not a regular file: refused, without blocking on a FIFO.
  rm -rf fifo && cp -r out fifo && rm fifo/model.so && mkfifo fifo/model.so
  expect_one_error 65 "not a regular file" -- run_out fifo
  rm -rf dir && cp -r out dir && rm dir/model.so && mkdir dir/model.so
  expect_one_error 65 "not a regular file" -- run_out dir
  run_out out >/dev/null
  ;;
artifact-plan-flips)
  # 60 random single-bit flips inside the plan of model.so: each run exits
  # 0 (a flip the checks accept would still have to run cleanly) or 65 with
  # one error line; never a signal.
  model m 97 1
  "$LLMC" compile m/model.json -o out >/dev/null
  read -r start end < <(plan_range out) || fail "plan not found in model.so"
  [ "$end" -gt "$start" ] || fail "empty plan range $start..$end"
  RANDOM=9
  refused=0
  for i in $(seq 1 60); do
    rm -rf f && cp -r out f
    off=$((start + (RANDOM * 32768 + RANDOM) % (end - start)))
    bit=$((RANDOM % 8))
    flip f/model.so "$off" "$bit"
    rc=0
    run_out f >stdout.txt 2>stderr.txt || rc=$?
    case $rc in
      0) ;;
      65)
        refused=$((refused + 1))
        [ "$(grep -c "error:" stderr.txt)" -eq 1 ] || fail "flip $i (byte $off bit $bit): not one error line"
        grep -qE '^llmc: f/model.so: error: ' stderr.txt || { cat stderr.txt >&2; fail "flip $i: bad error line"; }
        ;;
      *) cat stderr.txt >&2; fail "flip $i (byte $off bit $bit) exited $rc" ;;
    esac
  done
  # Every value of the plan is covered by the digest: every flip is refused.
  [ "$refused" -eq 60 ] || fail "only $refused of 60 flips refused"
  # Specific checks name the value: a launch's kernel index, an argument
  # offset far outside the arena.
  h=$(grep -c '^#define LLMC_MODEL_[A-Z_]* [0-9-]*LL$' out/model.h) # the header's length
  rm -rf k && cp -r out k
  flip k/model.so $((start + h * 8 + 7)) 6 # kernel index of launch 0 + 2^62
  expect_one_error 65 "names kernel" -- run_out k
  rm -rf a && cp -r out a
  flip a/model.so $((start + (h + 6) * 8 + 4)) 0 # argument 0 of launch 0 + 2^32
  expect_one_error 65 "lies outside" -- run_out a
  ;;
artifact-weights-mismatch)
  # Another model's weights.safetensors, and this model's weights of another
  # name: both refused as not belonging to model.so.
  model m 97 1
  model m2 101 2
  model m3 97 3
  "$LLMC" compile m/model.json -o out >/dev/null
  "$LLMC" compile m2/model.json -o out2 >/dev/null
  sed 's/"name": "[^"]*"/"name": "other-model"/' m3/model.json > m3/renamed.json
  "$LLMC" compile m3/renamed.json -o out3 >/dev/null
  "$GEN_MODEL" big --dim 96 --layers 3 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 4 >/dev/null
  "$LLMC" compile big/model.json -o out4 >/dev/null
  for other in out2 out3 out4; do
    rm -rf x && cp -r out x && cp "$other/weights.safetensors" x/
    expect_one_error 65 "weights.safetensors does not belong to this model.so" -- run_out x
  done
  # The runtime's own header check (no digest needed): the model's name.
  grep -q '"model":"random-llama"\|"model": *"random-llama"' out/weights.safetensors ||
    fail "weights header does not name the model"
  run_out out >/dev/null
  ;;
artifact-weights-corrupt)
  # Truncated at several lengths, grown, and with a garbage header.
  model m 97 1
  "$LLMC" compile m/model.json -o out >/dev/null
  size=$(stat -c %s out/weights.safetensors)
  for len in 0 4 8 100 4000 $((size / 2)) $((size - 4)) $((size - 1)); do
    rm -rf w && cp -r out w
    head -c "$len" out/weights.safetensors > w/weights.safetensors
    expect_one_error 65 "weights.safetensors" -- run_out w
  done
  rm -rf w && cp -r out w && head -c $((size - 4)) out/weights.safetensors > w/weights.safetensors
  expect_one_error 65 "truncated: $((size - 4)) bytes, but model.so was compiled with a $size-byte" -- run_out w
  rm -rf w && cp -r out w && printf 'xxxx' >> w/weights.safetensors
  expect_one_error 65 "grown" -- run_out w
  # The header's JSON overwritten with garbage of the same length, and the
  # header length field corrupted.
  rm -rf w && cp -r out w
  printf 'not json at all}' | dd of=w/weights.safetensors bs=1 seek=8 conv=notrunc status=none
  expect_one_error 65 "weights.safetensors" -- run_out w
  rm -rf w && cp -r out w
  printf '\377\377\377\377' | dd of=w/weights.safetensors bs=1 seek=4 conv=notrunc status=none
  expect_one_error 65 "not a safetensors file" -- run_out w
  rm -rf w && cp -r out w && rm w/weights.safetensors && mkdir w/weights.safetensors
  expect_one_error 66 "weights.safetensors" -- run_out w
  ;;
artifact-vocab)
  # Token ids at or past the vocabulary are refused by the runtime, and an
  # embedding table with fewer rows than the logits' vocabulary by the
  # compiler (a valid id would read past it).
  model m 97 1
  "$LLMC" compile m/model.json -o out >/dev/null
  for ids in 97 1,97 98 1000000 2147483647; do
    expect_one_error 64 "outside the vocabulary" -- "$LLMC" run out --prompt-ids "$ids" --max-tokens 2
  done
  [ "$(run_out out | wc -w)" -eq 2 ] || fail "id 96 of 97 should run"
  "$LLMC" run out --prompt-ids 96 --max-tokens 1 >/dev/null
  for w in model.layers.0.self_attn.k_proj.weight model.layers.1.self_attn.q_proj.weight; do
    sed -e "s/\"in\": \[\"tokens\", \"model.embed_tokens.weight\"\]/\"in\": [\"tokens\", \"$w\"]/" \
        -e 's/"weights":/"ignore_weights": ["model.embed_tokens.weight"], "weights":/' m/model.json > m/small.json
    grep -q "\"tokens\", \"$w\"" m/small.json || fail "could not rewrite the embedding"
    expect_one_error 65 "fewer than the logits' vocabulary of 97" -- "$LLMC" compile m/small.json -o small
  done
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: $case_name"
