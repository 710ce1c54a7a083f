#!/usr/bin/env bash
# bench/families.sh: per-family compile time and host decode speed of ~130M-parameter random models
# (bf16), one after another; numbers in docs/performance.md. Run from anywhere after a build;
# FAMILIES="llama phi3" runs some of them.
set -euo pipefail
B=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
W=${WORK:-/tmp/llmc-families} # scratch: each family's model and artifact, removed as it goes
mkdir -p "$W"
cd "$W"
common="--dim 768 --layers 12 --heads 12 --kv-heads 4 --hidden 2048 --vocab 32000 --seed 1 --dtype bf16 --max-context 2048"
for fam in ${FAMILIES:-llama mistral qwen2 qwen3 gemma2 gemma3 phi3}; do
  extra=""
  case $fam in
    mistral) extra='"sliding_window": 1024' ;;
    gemma2) extra='"query_pre_attn_scalar": 64, "sliding_window": 1024, "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0' ;;
    gemma3) extra='"query_pre_attn_scalar": 64, "sliding_window": 1024, "rope_local_base_freq": 10000.0, "sliding_window_pattern": 6' ;;
    phi3) extra='"sliding_window": 2047' ;; # Phi-3-mini's: q/k/v in one qkv_proj, gate and up in one gate_up_proj
  esac
  tied=""; case $fam in gemma*) tied=--tied ;; esac
  rm -rf "$fam" "out-$fam"
  "$B"/gen_model $fam --arch $fam $common $tied ${extra:+--config-extra "$extra"} > /dev/null
  /usr/bin/time -f "%e s %M KB" -o time.txt "$B"/llmc compile $fam -o out-$fam --target=x86-64-v3 > /dev/null
  bench=$("$B"/llmc bench out-$fam --prompt-len 32 --max-tokens 64 --threads 2)
  launches=$(jq .launches out-$fam/report.json 2>/dev/null || echo '?')
  echo "$fam | $(cat time.txt) | $(echo "$bench" | grep -E '^(TTFT|TPOT|decode)' | tr -s ' ' | tr '\n' ';') launches=$launches"
  rm -rf "$fam" "out-$fam"
done
