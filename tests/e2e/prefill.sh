#!/usr/bin/env bash
# Prefill (issue 11): steps of many tokens.
source "$(dirname "$0")/lib.sh"

arena() { # artifact dir -> the plan's activation arena bytes (report.json)
  sed -n 's/.*"activation_arena_bytes": \([0-9]*\).*/\1/p' "$1/report.json"
}

case $case_name in
prefill-linear-memory)
  # A 4096-token step holds no T x T buffer: the planned activation memory
  # grows linearly in the step's tokens (attention streams over keys with an
  # online softmax; scores are never materialised), and a 4096-token prompt
  # prefills in one step with the interpreter's logits.
  "$GEN_MODEL" m --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --max-context 4096 --seed 5 >/dev/null
  for t in 1024 2048 4096; do
    "$LLMC" compile m/model.json -o r$t --max-step-tokens $t --max-context 4096 --emit=report
  done
  a1=$(arena r1024) a2=$(arena r2048) a4=$(arena r4096)
  [ -n "$a1" ] && [ "$a1" -gt 0 ] || fail "no activation_arena_bytes in report.json"
  # Linear: doubling T at most doubles the arena (plus alignment slack).
  [ "$a2" -le $((2 * a1 + 4096)) ] && [ "$a4" -le $((2 * a2 + 4096)) ] ||
    fail "activation memory grows faster than T: $a1, $a2, $a4 bytes at 1024, 2048, 4096 tokens"
  "$LLMC" compile m/model.json -o full --max-step-tokens 4096 --max-context 4096
  "$E2E_CHECK" m/model.json full --steps 2 --prompt-lens 4000
  ;;
prefill-gemm-panels)
  # The CPU GEMM's panels (the broadcast form, gemm_host MR > 0), chosen by
  # hand: prompts of 16 tokens or more go through them, and the logits match
  # the interpreter's; the greedy ids match the default tiles' exactly (the
  # same bits: a panel keeps the GEMV's lane order).
  "$GEN_MODEL" m --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --max-context 512 --seed 7 >/dev/null
  "$LLMC" compile m/model.json -o pan --kernel-config=gemm_host:MR=6,NV=2
  grep -q '"MR": 6' pan/report.json || fail "the panels were not chosen"
  "$E2E_CHECK" m/model.json pan --steps 4 --prompt-lens 40,100
  "$LLMC" compile m/model.json -o tiles
  ids="1,5,9,13,17,21,25,29,33,37,41,45,49,53,57,61,65,69,73,77,81,85,89,93"
  a=$("$LLMC" run pan --prompt-ids $ids --max-tokens 8) || fail "run (panels) failed"
  b=$("$LLMC" run tiles --prompt-ids $ids --max-tokens 8) || fail "run (tiles) failed"
  [ "$a" = "$b" ] || fail "panels gave '$a', tiles '$b'"
  ;;
*)
  fail "unknown case $case_name"
  ;;
esac
echo "PASS: $case_name"
