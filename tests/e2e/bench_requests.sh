#!/usr/bin/env bash
# `llmc bench DIR --requests N ...`: the request-mix benchmark, in-process.
# tests/e2e/bench_requests.sh CASE (the environment and helpers are in lib.sh)
source "$(dirname "$0")/lib.sh"

case $case_name in
bench-requests)
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o art
  mix=(--requests 16 --concurrency 4 --prompt-len 8:32 --gen-len 4:16 --seed 7 --json)
  "$LLMC" bench art "${mix[@]}" > a.json
  jq -e '.completed == 16 and .requests == 16 and (.per_request | length) == 16' a.json >/dev/null ||
    fail "not 16 completed requests"
  # Every request generates exactly its drawn length (no stop tokens), inside the range.
  jq -e '.output_tokens == ([.per_request[].gen_len] | add)
         and all(.per_request[]; .generated == .gen_len and .gen_len >= 4 and .gen_len <= 16
                                 and .prompt_len >= 8 and .prompt_len <= 32)
         and .input_tokens == ([.per_request[].prompt_len] | add)' a.json >/dev/null ||
    fail "output tokens are not the sum of the generated lengths"
  jq -e 'all(.ttft_ms, .tpot_ms, .latency_ms, .queue_ms; .p50 <= .p90 and .p90 <= .p99)
         and .ttft_ms.p99 <= .latency_ms.p99 and .output_tokens_per_s > 0 and .requests_per_s > 0
         and .kv_blocks.peak_in_use >= 1 and .kv_blocks.peak_in_use <= .kv_blocks.total' a.json >/dev/null ||
    fail "percentiles out of order or totals missing"
  # The same seed draws the same requests (llmc-run too); another seed others.
  "$LLMC_RUN" bench art "${mix[@]}" > b.json
  [ "$(jq -c '[.output_tokens, .input_tokens, [.per_request[].gen_len]]' a.json)" = \
    "$(jq -c '[.output_tokens, .input_tokens, [.per_request[].gen_len]]' b.json)" ] ||
    fail "the same seed gave different requests"
  "$LLMC" bench art --requests 16 --prompt-len 8:32 --gen-len 4:16 --seed 8 --json > c.json
  [ "$(jq -c '[.per_request[].gen_len]' a.json)" != "$(jq -c '[.per_request[].gen_len]' c.json)" ] ||
    fail "another seed gave the same requests"
  # Poisson arrivals (about 0.2 s of arrivals): the same requests, arriving in order over time.
  "$LLMC" bench art --requests 8 --concurrency 2 --prompt-len 8:32 --gen-len 4:16 --rate 40 --json > r.json
  jq -e '.completed == 8 and .rate == 40 and .output_tokens == ([.per_request[].gen_len] | add)
         and ([.per_request[].arrival_ms] | . == sort) and .per_request[-1].arrival_ms > 0
         and .duration_s * 1000 >= .per_request[-1].arrival_ms' r.json >/dev/null || fail "the --rate run"
  # The text form: the three rows of percentiles and the totals.
  "$LLMC" bench art --requests 4 --prompt-len 4:8 --gen-len 1:3 > t.txt
  for row in TTFT TPOT latency queue throughput "KV blocks"; do
    grep -q "^$row " t.txt || { cat t.txt; fail "no '$row' line"; }
  done
  # Lengths of exactly 1 generate one token each: no TPOT, still counted.
  "$LLMC" bench art --requests 3 --prompt-len 5 --gen-len 1 --json > one.json
  jq -e '.output_tokens == 3 and .tpot_ms == null' one.json >/dev/null || fail "--gen-len 1"
  # Bad arguments: exit 64 with the reason.
  expect_error 64 "--prompt-len" -- "$LLMC" bench art --requests 4 --prompt-len 9:8
  expect_error 64 "--prompt-len" -- "$LLMC" bench art --requests 4 --prompt-len 0:8
  expect_error 64 "--gen-len" -- "$LLMC" bench art --requests 4 --gen-len 4:x
  expect_error 64 "--requests" -- "$LLMC" bench art --requests 0
  expect_error 64 "--concurrency" -- "$LLMC" bench art --requests 4 --concurrency 0
  expect_error 64 "--rate" -- "$LLMC" bench art --requests 4 --rate -1
  expect_error 64 "unknown option" -- "$LLMC" bench art --requests 4 --batch 2
  expect_error 64 "context" -- "$LLMC" bench art --requests 4 --prompt-len 8:100000
  expect_error 64 "KV blocks" -- "$LLMC_RUN" bench art --requests 4 --prompt-len 8:32 --gen-len 4:16 --kv-blocks 2
  # Without --requests bench is the single-batch benchmark it was.
  "$LLMC" bench art --prompt-len 8 --max-tokens 4 > single.txt
  grep -q "^decode " single.txt || fail "single-batch bench changed"
  ;;
*)
  fail "unknown case $case_name"
  ;;
esac
echo "PASS: $case_name"
