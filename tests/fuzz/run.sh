#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for a
# bounded time. Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET] (default 20)
# A crash, leak or sanitizer report fails the run and leaves the reproducer
# in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
cc=${CLANG:-clang-22}
out=build-fuzz
mkdir -p "$out"
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -std=c17 -Isupport -Ifrontend)
support=(support/status.c support/arena.c support/file.c support/half.c)

"$cc" "${flags[@]}" tests/fuzz/fuzz_safetensors.c frontend/safetensors.c frontend/safetensors_writer.c \
  "${support[@]}" -ljansson -lm -o "$out/fuzz_safetensors"
"$cc" "${flags[@]}" -Itests/unit/tokenizer tests/fuzz/fuzz_tokenizer.c frontend/tokenizer.c \
  "${support[@]}" -ljansson -lm -o "$out/fuzz_tokenizer"

for t in fuzz_safetensors fuzz_tokenizer; do
  echo "fuzz: $t for ${secs}s"
  (cd "$out" && "./$t" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 2>"$t.log") ||
    { tail -40 "$out/$t.log"; echo "fuzz: $t FAILED" >&2; exit 1; }
  grep -E "^Done [0-9]+ runs" "$out/$t.log" || true
done
echo "fuzz: 2 passed, 0 failed"
