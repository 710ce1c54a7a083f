#!/usr/bin/env bash
# bench/gguf.sh: host decode speed of llmc and llama.cpp on the same GGUF
# files, in one run: a ~134M-parameter random Llama written as an f32 GGUF
# (tests/tools/to_gguf.py), quantized by llama.cpp's own quantizer to Q8_0,
# Q4_0, Q4_K_M, Q5_K_M and Q6_K (build/llama_ref), each compiled by llmc (its default layout,
# --quant=int8 and --quant=int4) and run by llama.cpp (node-llama-cpp's prebuilt CPU
# libraries, installed from npm into the scratch directory). Same prompt
# length, tokens and threads. Numbers in docs/performance.md.
#
# node-llama-cpp's token-by-token evaluation costs ~14 ms a token of its
# own (a 4-layer model runs at the same ~70 tokens/s as a 134M one), so its
# rate is a floor, not llama.cpp's speed. For that, build llama-bench from
# the llama.cpp source the same npm package carries and point LLAMA_BENCH
# at it:
#   git clone npm/node_modules/node-llama-cpp/llama/gitRelease.bundle lcpp
#   cmake -S lcpp -B lcpp/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF
#   ninja -C lcpp/build llama-bench
#   LLAMA_BENCH=$PWD/lcpp/build/bin/llama-bench bench/gguf.sh
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
"$B"/llama_ref quantize "$lib"/libllama.v*.so m-f32.gguf m-q4_k_m.gguf 15 >/dev/null 2>&1
"$B"/llama_ref quantize "$lib"/libllama.v*.so m-f32.gguf m-q5_k_m.gguf 17 >/dev/null 2>&1
"$B"/llama_ref quantize "$lib"/libllama.v*.so m-f32.gguf m-q6_k.gguf 18 >/dev/null 2>&1
llmc_decode() { "$B"/llmc bench "$1" --prompt-len 32 --max-tokens 64 --threads "$THREADS" | awk '/^decode/ {print $2}'; }
for q in f32 q8_0 q4_0 q4_k_m q5_k_m q6_k; do
  "$B"/llmc compile "m-$q.gguf" -o "out-$q" --target=x86-64-v3 >/dev/null
  "$B"/llmc compile "m-$q.gguf" -o "out-$q-int8" --target=x86-64-v3 --quant=int8 >/dev/null
  "$B"/llmc compile "m-$q.gguf" -o "out-$q-int4" --target=x86-64-v3 --quant=int4 >/dev/null
  "$B"/llmc compile "m-$q.gguf" -o "out-$q-f32act" --target=x86-64-v3 --act-quant=none >/dev/null
  layout=$(jq -r '[.weights[] | select(.name | test("o_proj")) | .layout][0]' "out-$q/report.json")
  if [ -n "${LLAMA_BENCH:-}" ]; then # tg64 after a 32-token prompt, mean of 3
    lc=$("$LLAMA_BENCH" -m "m-$q.gguf" -p 0 -n 64 -t "$THREADS" -r 3 -o csv 2>/dev/null | awk -F, 'NR > 1 {gsub(/"/, "", $(NF-1)); print $(NF-1)}' | tail -1)
  else
    lc=$(node npm/gguf_llama_cpp.mjs bench "m-$q.gguf" 32 64 "$THREADS" 2>/dev/null | awk '{print $2}')
  fi
  echo "$q | GGUF $(stat -c %s "m-$q.gguf") B | llama.cpp $lc tok/s | llmc ($layout) $(llmc_decode "out-$q") tok/s | llmc ($layout, --act-quant=none) $(llmc_decode "out-$q-f32act") tok/s | llmc (--quant=int8) $(llmc_decode "out-$q-int8") tok/s | llmc (--quant=int4) $(llmc_decode "out-$q-int4") tok/s"
done
