#!/usr/bin/env bash
# bench/gguf.sh: host decode speed of llmc and llama.cpp on the same GGUF
# files, in one run: a ~134M-parameter random Llama written as an f32 GGUF
# (tests/tools/to_gguf.py), quantized by llama.cpp's own quantizer to Q8_0
# and Q4_0 (build/llama_ref), each compiled by llmc (its default layout, and
# --quant=int8) and run by llama.cpp (node-llama-cpp's prebuilt CPU
# libraries, installed from npm into the scratch directory). Same prompt
# length, tokens and threads. Numbers in docs/performance.md.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-$SRC/build}
W=${WORK:-/tmp/llmc-gguf-bench}
THREADS=${THREADS:-2}
mkdir -p "$W"
cd "$W"
if [ ! -d npm/node_modules/node-llama-cpp ]; then
  mkdir -p npm
  (cd npm && npm install --no-audit --no-fund --loglevel=error node-llama-cpp@3.22.1 >/dev/null)
fi
cp "$SRC/tests/e2e/gguf_llama_cpp.mjs" npm/
lib=$(echo npm/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64)
rm -rf m ./*.gguf out-*
"$B"/gen_model m --dim 768 --layers 12 --heads 12 --kv-heads 4 --hidden 2048 --vocab 32000 --seed 1 --max-context 2048 >/dev/null
/usr/bin/python3 "$SRC/tests/tools/to_gguf.py" m m-f32.gguf
"$B"/llama_ref quantize "$lib"/libllama.v*.so m-f32.gguf m-q8_0.gguf 7 >/dev/null 2>&1
"$B"/llama_ref quantize "$lib"/libllama.v*.so m-f32.gguf m-q4_0.gguf 2 >/dev/null 2>&1
llmc_decode() { "$B"/llmc bench "$1" --prompt-len 32 --max-tokens 64 --threads "$THREADS" | awk '/^decode/ {print $2}'; }
for q in f32 q8_0 q4_0; do
  "$B"/llmc compile "m-$q.gguf" -o "out-$q" --target=x86-64-v3 >/dev/null
  "$B"/llmc compile "m-$q.gguf" -o "out-$q-int8" --target=x86-64-v3 --quant=int8 >/dev/null
  layout=$(jq -r '[.weights[] | select(.name | test("o_proj")) | .layout][0]' "out-$q/report.json")
  lc=$(node npm/gguf_llama_cpp.mjs bench "m-$q.gguf" 32 64 "$THREADS" 2>/dev/null | awk '{print $2}')
  echo "$q | GGUF $(stat -c %s "m-$q.gguf") B | llama.cpp $lc tok/s | llmc ($layout) $(llmc_decode "out-$q") tok/s | llmc (--quant=int8) $(llmc_decode "out-$q-int8") tok/s"
done
