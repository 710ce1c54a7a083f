#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for a
# bounded time. Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET] (default 20)
# A crash, leak, sanitizer report or an input taking over 10 s (a hang: work
# must be bounded by the input's size) fails the run and leaves the
# reproducer in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
cc=${CLANG:-clang-22}
out=build-fuzz
mkdir -p "$out"
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -std=c17 -Isupport -Ifrontend)
support=(support/status.c support/arena.c support/file.c support/half.c support/escape.c support/kquant.c)

"$cc" "${flags[@]}" tests/fuzz/fuzz_safetensors.c frontend/safetensors.c frontend/safetensors_writer.c \
  "${support[@]}" -ljansson -lm -o "$out/fuzz_safetensors"
"$cc" "${flags[@]}" -Iir tests/fuzz/fuzz_gguf.c frontend/gguf.c frontend/gguf_tokenizer.c frontend/tokenizer.c \
  "${support[@]}" -ljansson -lonig -lutf8proc -lm -o "$out/fuzz_gguf"
"$cc" "${flags[@]}" -Itests/unit/tokenizer tests/fuzz/fuzz_tokenizer.c frontend/tokenizer.c \
  "${support[@]}" -ljansson -lonig -lutf8proc -lm -o "$out/fuzz_tokenizer"

# The artifact checks (plan with argument kinds, weights header) the runtime
# runs before executing anything.
"$cc" "${flags[@]}" -Iruntime -Iruntime/include tests/fuzz/fuzz_artifact.c runtime/artifact_check.c \
  support/digest.c "${support[@]}" -ljansson -lxxhash -lm -o "$out/fuzz_artifact"

graph=(ir/graph.c ir/ops.c ir/rope.c ir/text.c ir/verify.c ir/interp.c frontend/weights.c frontend/model_json.c
       frontend/hf.c frontend/gguf.c frontend/gguf_model.c frontend/gguf_tokenizer.c frontend/safetensors.c frontend/safetensors_writer.c frontend/tokenizer.c)
cmake -DDIR=frontend/arch -DPATTERN='*.json' -DSYMBOL=llmc_arch_files -DOUT="$out/arch_embedded.c" \
  -P cmake/embed_files.cmake
"$cc" "${flags[@]}" -Iir tests/fuzz/fuzz_model_json.c "${graph[@]}" "$out/arch_embedded.c" \
  "${support[@]}" -ljansson -lonig -lutf8proc -lm -o "$out/fuzz_model_json"
# model.json inputs resolve weight names against a small random checkpoint
# laid out like the example's (HF tensor names, model.safetensors).
if [ -x build/gen_model ]; then
  build/gen_model "$out/fuzz-model" --dim 16 --layers 2 --heads 2 --kv-heads 1 --hidden 24 --vocab 512 --seed 1 >/dev/null
fi
export LLMC_FUZZ_MODEL_DIR="$PWD/$out/fuzz-model"

corpus() { [ -d "tests/fuzz/corpus_${1#fuzz_}" ] && echo "$PWD/tests/fuzz/corpus_${1#fuzz_}"; }
for t in fuzz_safetensors fuzz_gguf fuzz_tokenizer fuzz_model_json fuzz_artifact; do
  echo "fuzz: $t for ${secs}s"
  mkdir -p "$out/$t.corpus"
  (cd "$out" && "./$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
     "$t.corpus" $(corpus $t) 2>"$t.log") ||
    { tail -40 "$out/$t.log"; echo "fuzz: $t FAILED" >&2; exit 1; }
  grep -E "^Done [0-9]+ runs" "$out/$t.log" || true
done
echo "fuzz: 5 passed, 0 failed"
