#!/usr/bin/env bash
# `llmc serve` end to end, with curl as the client: tests/e2e/serve.sh CASE
# (the environment and helpers are in lib.sh). The server listens on port 0
# (the kernel picks a free port, so parallel tests never collide) and prints
# the address it got; every case kills it on exit.
source "$(dirname "$0")/lib.sh"

server_pid=
stop_on_exit() { [ -z "$server_pid" ] || kill -KILL "$server_pid" 2>/dev/null || true; }
trap stop_on_exit EXIT

# start_server PROGRAM ARTIFACT [options...]: sets URL once /health answers.
start_server() {
  local prog=$1
  shift
  : > server.log
  "$prog" serve "$@" --port 0 2> server.log &
  server_pid=$!
  local port=
  for _ in $(seq 200); do
    port=$(sed -n 's|.* on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' server.log)
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat server.log >&2; fail "the server exited at start"; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat server.log >&2; fail "the server printed no address"; }
  URL=http://127.0.0.1:$port
  curl -sf --retry 20 --retry-connrefused --retry-delay 0 "$URL/health" > /dev/null || fail "no /health"
}

# stop_server: SIGTERM, which must end it with status 0.
stop_server() {
  kill -TERM "$server_pid"
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=
  [ "$rc" -eq 0 ] || { cat server.log >&2; fail "the server exited $rc on SIGTERM"; }
}

# post PATH BODY [curl options...]: prints the HTTP status; the body goes to resp.json.
post() {
  local path=$1 body=$2
  shift 2
  curl -s -o resp.json -w '%{http_code}' "$@" "$URL$path" --data-binary "$body"
}

# expect_status CODE PATH BODY [curl options...]: the status and an
# OpenAI-shaped error body for 4xx/5xx.
expect_status() {
  local code=$1 got
  shift
  got=$(post "$@")
  [ "$got" = "$code" ] || { cat resp.json >&2; fail "$1 ${2:0:80}: status $got, expected $code"; }
  if [ "$code" -ge 400 ]; then
    jq -e '(.error.message | type == "string") and (.error.type | type == "string") and has("error")' \
      resp.json > /dev/null || { cat resp.json >&2; fail "$1 ${2:0:80}: not an OpenAI error"; }
  fi
}

# chat_artifact: chat-art, the example compiled with a ChatML chat template.
chat_artifact() {
  mkdir ex
  cp "$SRC"/examples/tiny-llama/{model.safetensors,tokenizer.json} ex/
  jq '. + {"tokenizer_config": "tokenizer_config.json"}' "$SRC/examples/tiny-llama/model.json" > ex/model.json
  jq '{chat_template}' "$SRC/tests/data/chat/chatml-loop-system/tokenizer_config.json" > ex/tokenizer_config.json
  "$LLMC" compile ex/model.json -o chat-art
}

# The generated ids of a completion (return_token_ids), space-separated.
resp_ids() { jq -r '[.choices[0].token_ids[]] | map(tostring) | join(" ")' "$1"; }
# ... and of an SSE stream, concatenated over its chunks.
stream_ids() {
  sed -n 's/^data: \({.*\)$/\1/p' "$1" | jq -r '.choices[0].token_ids[]' | paste -sd' ' -
}

metric() { curl -s "$URL/metrics" | sed -n "s/^$1 \([0-9]*\)$/\1/p"; }

case $case_name in
serve-basic)
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o art
  start_server "$LLMC" art
  # Greedy completions of a prompt given as ids are llmc run's tokens.
  ref=$(greedy_ids art 5,17,42,99 24)
  [ "$(post /v1/completions '{"model":"art","prompt":[5,17,42,99],"max_tokens":24,"temperature":0,"return_token_ids":true}')" = 200 ] ||
    { cat resp.json >&2; fail "completion failed"; }
  [ "$(resp_ids resp.json)" = "$ref" ] || fail "served tokens '$(resp_ids resp.json)' differ from run's '$ref'"
  jq -e '.object == "text_completion" and .model == "art" and (.choices[0].text | type == "string")
         and .usage == {"prompt_tokens": 4, "completion_tokens": 24, "total_tokens": 28}' resp.json > /dev/null ||
    { cat resp.json >&2; fail "bad completion object"; }
  # The same as a stream: SSE chunks, usage in the last, then [DONE].
  post /v1/completions '{"prompt":[5,17,42,99],"max_tokens":24,"temperature":0,"stream":true,"return_token_ids":true}' -N > code.txt
  [ "$(cat code.txt)" = 200 ] || fail "stream failed"
  [ "$(stream_ids resp.json)" = "$ref" ] || fail "streamed tokens '$(stream_ids resp.json)' differ from '$ref'"
  [ "$(tail -n 2 resp.json | head -n 1)" = "data: [DONE]" ] || fail "the stream does not end with [DONE]"
  sed -n 's/^data: \({.*\)$/\1/p' resp.json | tail -n 1 |
    jq -e '.usage.completion_tokens == 24 and .choices[0].finish_reason == "length"' > /dev/null ||
    fail "the last chunk lacks usage or finish_reason"
  # The streamed text is the non-streamed text, chunk by chunk.
  post /v1/completions '{"prompt":"It is a truth universally acknowledged","max_tokens":32,"temperature":0}' > /dev/null
  whole=$(jq -r '.choices[0].text' resp.json)
  [ -n "$whole" ] || fail "empty completion of a text prompt"
  post /v1/completions '{"prompt":"It is a truth universally acknowledged","max_tokens":32,"temperature":0,"stream":true}' -N > /dev/null
  streamed=$(sed -n 's/^data: \({.*\)$/\1/p' resp.json | jq -j '.choices[0].text')
  [ "$streamed" = "$whole" ] || fail "streamed text '$streamed' differs from '$whole'"
  # A text prompt generates what llmc run prints after echoing it.
  run_text=$("$LLMC" run art --prompt "It is a truth universally acknowledged" --max-tokens 32 --temperature 0)
  [ "It is a truth universally acknowledged$whole" = "$run_text" ] || fail "served text differs from run: '$whole' vs '$run_text'"
  # A stop string ends the text before it; a seed makes sampling repeatable.
  post /v1/completions '{"prompt":"It is a truth universally acknowledged","max_tokens":32,"temperature":0,"stop":["zzz"," sure"]}' > /dev/null
  jq -e '.choices[0].finish_reason == "stop"' resp.json > /dev/null || fail "stop not met"
  [ "$(jq -r '.choices[0].text' resp.json)" = "${whole%% sure*}" ] || fail "stop text wrong: $(cat resp.json)"
  body='{"prompt":[1,2,3],"max_tokens":16,"temperature":0.9,"top_p":0.95,"top_k":40,"seed":7,"return_token_ids":true}'
  post /v1/completions "$body" > /dev/null
  a=$(resp_ids resp.json)
  post /v1/completions "$body" > /dev/null
  [ "$(resp_ids resp.json)" = "$a" ] || fail "the same seed sampled differently"
  # Models, health, metrics, and keep-alive (the second request reuses the connection).
  curl -s "$URL/v1/models" | jq -e '.object == "list" and .data[0].id == "art"' > /dev/null || fail "bad /v1/models"
  conns=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' "$URL/health" "$URL/v1/models")
  [ "$conns" = "1 0 " ] || fail "no keep-alive: connects per request '$conns'"
  [ "$(metric llmc_kv_blocks_in_use)" = 0 ] || fail "KV blocks in use after every request finished"
  stop_server
  # llmc-run serves too (serving machines have no compiler).
  start_server "$LLMC_RUN" art --model-name tiny
  post /v1/completions '{"model":"tiny","prompt":[5,17,42,99],"max_tokens":24,"temperature":0,"return_token_ids":true}' > /dev/null
  [ "$(resp_ids resp.json)" = "$ref" ] || fail "llmc-run serve differs"
  stop_server
  ;;
serve-concurrent)
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o art
  # 32 different prompts and lengths, most of them streamed, all at once:
  # each gets its solo greedy tokens (llmc run's), whatever it is batched
  # with, and no KV block is left held after they finish.
  for i in $(seq 32); do
    prompt=$(seq -s, $((i * 7)) $((i * 7 + i * 3 % 40)))
    echo "$prompt" > p$i.txt
    echo $((8 + i * 5 % 90)) > n$i.txt
    greedy_ids art "$prompt" "$(cat n$i.txt)" > ref$i.txt
  done
  concurrent_round() {
    local pids=() i stream got
    for i in $(seq 32); do
      stream=$([ $((i % 4)) = 0 ] && echo false || echo true)
      curl -s -N -o out$i.txt "$URL/v1/completions" --data-binary \
        "{\"prompt\":[$(cat p$i.txt)],\"max_tokens\":$(cat n$i.txt),\"temperature\":0,\"stream\":$stream,\"return_token_ids\":true}" &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fail "a concurrent request failed"; done
    for i in $(seq 32); do
      if [ $((i % 4)) = 0 ]; then got=$(resp_ids out$i.txt); else got=$(stream_ids out$i.txt); fi
      [ "$got" = "$(cat ref$i.txt)" ] || fail "request $i: '$got', solo '$(cat ref$i.txt)'"
    done
    [ "$(metric llmc_kv_blocks_in_use)" = 0 ] || fail "KV blocks leaked"
    [ "$(metric llmc_kv_invariant_failures_total)" = 0 ] || fail "KV invariants failed"
    [ "$(metric llmc_requests_total)" = 32 ] || fail "not 32 requests counted"
    # Every request has one time to first token and one latency, and each
    # further token one inter-token time.
    local tokens
    tokens=$(cat ref*.txt | wc -w)
    [ "$(metric llmc_time_to_first_token_seconds_count)" = 32 ] || fail "TTFT histogram count"
    [ "$(metric llmc_request_latency_seconds_count)" = 32 ] || fail "latency histogram count"
    [ "$(metric llmc_inter_token_latency_seconds_count)" = $((tokens - 32)) ] || fail "inter-token histogram count"
    [ "$(metric 'llmc_time_to_first_token_seconds_bucket{le="+Inf"}')" = 32 ] || fail "TTFT +Inf bucket"
  }
  # On 5 slots (some requests wait for one) ...
  start_server "$LLMC" art --max-seqs 5
  concurrent_round
  stop_server
  # ... and on a KV cache of 10 blocks (160 tokens), where running sequences
  # are preempted and recomputed.
  start_server "$LLMC" art --kv-blocks 10
  concurrent_round
  [ "$(metric llmc_preemptions_total)" -gt 0 ] || fail "no preemption with 10 KV blocks"
  stop_server
  # A client that disconnects mid-stream cancels its sequence. A model with
  # a long context makes the request outlive the client by far.
  "$GEN_MODEL" m --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 128 --vocab 97 --max-context 4096 --seed 5
  "$LLMC" compile m/model.json -o long
  start_server "$LLMC" long --threads 1
  curl -s -N "$URL/v1/completions" -d \
    '{"prompt":[1,2],"max_tokens":4000,"ignore_eos":true,"stream":true,"return_token_ids":true}' |
    head -c 1 > /dev/null || true
  for _ in $(seq 50); do [ "$(metric llmc_requests_cancelled_total)" = 1 ] && break; sleep 0.1; done
  [ "$(metric llmc_requests_cancelled_total)" = 1 ] || fail "the disconnected stream was not cancelled"
  [ "$(metric llmc_kv_blocks_in_use)" = 0 ] || fail "the cancelled sequence kept its KV blocks"
  [ "$(metric llmc_generation_tokens_total)" -lt 4000 ] || fail "the cancelled sequence ran to its end"
  expect_status 200 /v1/completions '{"prompt":[3],"max_tokens":4}'
  # SIGTERM during a stream lets it finish: every token, then [DONE], exit 0.
  curl -s -N -o drain.txt "$URL/v1/completions" \
    -d '{"prompt":[4,5],"max_tokens":3000,"ignore_eos":true,"stream":true,"return_token_ids":true}' &
  client=$!
  for _ in $(seq 100); do [ -s drain.txt ] && break; sleep 0.05; done
  stop_server
  wait "$client" || fail "the stream in progress failed at shutdown"
  [ "$(tail -n 2 drain.txt | head -n 1)" = "data: [DONE]" ] || fail "the stream was cut at shutdown"
  [ "$(stream_ids drain.txt | wc -w)" = 3000 ] || fail "the stream lost tokens at shutdown"
  # A full queue answers 503 and the server goes on: one slot, no queue.
  start_server "$LLMC" art --max-seqs 1 --max-queue 0
  busy=0
  for _ in $(seq 5); do
    pids=()
    for i in $(seq 8); do
      curl -s -w '%{http_code}\n' "$URL/v1/completions" -o busy$i.json \
        -d '{"prompt":[1,2,3],"max_tokens":250,"ignore_eos":true}' > code$i.txt &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for i in $(seq 8); do
      c=$(cat code$i.txt)
      [ "$c" = 200 ] || [ "$c" = 503 ] || fail "a request on a busy server got $c"
      if [ "$c" = 503 ]; then
        jq -e '.error.code == "service_unavailable"' busy$i.json > /dev/null || fail "bad 503 body"
        busy=1
      fi
    done
    [ $busy = 1 ] && break
  done
  [ $busy = 1 ] || fail "8 requests on one slot without a queue never got a 503"
  expect_status 200 /v1/completions '{"prompt":[3],"max_tokens":4}'
  stop_server
  ;;
serve-errors)
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o art
  # Bad command lines.
  expect_error 64 "bad --port" -- "$LLMC" serve art --port 70000
  expect_error 64 "ARTIFACT_DIR" -- "$LLMC" serve
  expect_error 66 "error:" -- "$LLMC" serve no-such-dir --port 0
  : > empty.key
  expect_error 64 "API key" -- "$LLMC" serve art --port 0 --api-key-file empty.key
  printf 'sesame\n' > api.key
  start_server "$LLMC" art --api-key-file api.key
  # A port in use is refused in words.
  port=${URL##*:}
  expect_error 69 "cannot listen" -- "$LLMC" serve art --port "$port"
  auth=(-H "Authorization: Bearer sesame")
  ok='{"prompt":[1,2,3],"max_tokens":4}'
  expect_status 401 /v1/completions "$ok"
  expect_status 401 /v1/completions "$ok" -H "Authorization: Bearer sesam"
  expect_status 401 /v1/completions "$ok" -H "Authorization: Bearer sesame2"
  expect_status 401 /v1/completions "$ok" -H "Authorization: Basic sesame"
  expect_status 200 /v1/completions "$ok" "${auth[@]}"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] || fail "/health needs no key"
  expect_status 400 /v1/completions '{"prompt": [1,2' "${auth[@]}"
  expect_status 400 /v1/completions '' "${auth[@]}"
  expect_status 400 /v1/completions '[1,2,3]' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"prompt":[2]}' "${auth[@]}"
  expect_status 400 /v1/completions '{"max_tokens":4}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":7}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[]}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":""}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1,-2]}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1,512]}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1,2.5]}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":["a","b"]}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"max_tokens":-1}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"max_tokens":0}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"max_tokens":99999999999999999999}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"max_tokens":1e9}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"max_tokens":"8"}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"max_tokens":256}' "${auth[@]}"
  expect_status 400 /v1/completions "{\"prompt\":[$(seq -s, 1 300)]}" "${auth[@]}"
  expect_status 400 /v1/completions "{\"prompt\":\"$(printf 'word %.0s' $(seq 400))\"}" "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"temperature":-0.5}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"temperature":"hot"}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"top_p":1.5}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"top_k":1.5}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"seed":"x"}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"stream":"yes"}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"n":2}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"stop":""}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"stop":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"stop":{"a":1}}' "${auth[@]}"
  expect_status 400 /v1/completions '{"prompt":[1],"stop":[9999]}' "${auth[@]}"
  printf '{"prompt":"caf\xc3"}' > bad-utf8.json
  expect_status 400 /v1/completions @bad-utf8.json "${auth[@]}"
  expect_status 404 /v1/completions '{"model":"gpt-4","prompt":[1]}' "${auth[@]}"
  expect_status 400 /v1/completions '{"model":5,"prompt":[1]}' "${auth[@]}"
  expect_status 400 /v1/chat/completions '{"model":"art","messages":[{"role":"user","content":"hi"}]}' "${auth[@]}"
  grep -q "chat template" resp.json || fail "the chat refusal does not say why"
  expect_status 404 /v1/nothing '{}' "${auth[@]}"
  expect_status 404 /v1/models/gpt-4 '' "${auth[@]}" -X GET
  expect_status 405 /v1/models '{}' "${auth[@]}"
  expect_status 405 /v1/completions '' "${auth[@]}" -X GET
  # Bodies over 1 MiB, with a length and chunked, are a 413.
  head -c 1100000 /dev/zero | tr '\0' ' ' > big.json
  expect_status 413 /v1/completions @big.json "${auth[@]}"
  expect_status 413 /v1/completions @big.json "${auth[@]}" -H "Transfer-Encoding: chunked"
  # Still serving, and nothing leaked.
  expect_status 200 /v1/completions "$ok" "${auth[@]}"
  [ "$(metric llmc_kv_blocks_in_use)" = 0 ] || fail "KV blocks in use after the bad requests"
  [ "$(metric llmc_requests_failed_total)" = 0 ] || fail "the engine failed a request"
  stop_server
  # A request the whole KV cache cannot hold (2 blocks of 16 tokens) is a 400.
  start_server "$LLMC" art --kv-blocks 2
  expect_status 400 /v1/completions '{"prompt":[1,2,3],"max_tokens":40}'
  grep -q "KV blocks" resp.json || fail "the KV refusal does not say why"
  expect_status 200 /v1/completions '{"prompt":[1,2,3],"max_tokens":20}'
  stop_server
  ;;
serve-chat)
  # Chat: the example with a ChatML template (tests/data/chat); the greedy
  # reply of /v1/chat/completions is `llmc run --chat`'s for the same message,
  # which is the rendered conversation's continuation.
  chat_artifact
  chat_ref=$("$LLMC" run chat-art --chat --prompt "Once upon a time" --max-tokens 24 --temperature 0)
  [ -n "$chat_ref" ] || fail "llmc run --chat printed nothing"
  printf '[{"role": "user", "content": "Once upon a time"}]\n' > chat.jsonl
  ids=$("$LLMC" tokenize chat-art --chat-jsonl chat.jsonl | tr -d '[] ')
  [ "$("$LLMC" run chat-art --prompt-ids "$ids" --max-tokens 24 --temperature 0)" = "$chat_ref" ] ||
    fail "llmc run --chat is not the rendered prompt's continuation"
  sys_ref=$("$LLMC_RUN" run chat-art --chat --system "Be brief." --prompt "Once upon a time" --max-tokens 8 --temperature 0)
  [ "$sys_ref" != "$chat_ref" ] || fail "--system changed nothing"
  expect_error 64 "--system goes with --chat" -- "$LLMC" run chat-art --system x --prompt y
  start_server "$LLMC_RUN" chat-art
  expect_status 200 /v1/chat/completions '{"messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":24,"temperature":0}'
  [ "$(jq -r .choices[0].message.content resp.json)" = "$chat_ref" ] || { cat resp.json >&2; fail "chat reply differs from run --chat"; }
  jq -e '.object == "chat.completion" and (.id | startswith("chatcmpl-")) and .choices[0].message.role == "assistant"' \
    resp.json > /dev/null || fail "not a chat.completion object"
  # Streamed: chunks whose deltas add up to the same reply, the role first.
  curl -sN "$URL/v1/chat/completions" --data-binary \
    '{"messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":24,"temperature":0,"stream":true}' > sse.txt
  sed -n 's/^data: //p' sse.txt | grep -v '^\[DONE\]$' > chunks.jsonl
  [ "$(jq -j '.choices[0].delta.content // ""' chunks.jsonl)" = "$chat_ref" ] || fail "streamed chat differs"
  [ "$(head -n 1 chunks.jsonl | jq -r '.choices[0].delta.role')" = assistant ] || fail "the first chunk names no role"
  # Bad conversations: 400 naming "messages", and the server still serves.
  expect_status 400 /v1/chat/completions '{"messages":[{"role":"tool","content":"{}"}]}'
  jq -e '.error.param == "messages"' resp.json > /dev/null || fail "a tool message's error does not name messages"
  expect_status 400 /v1/chat/completions '{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}'
  expect_status 400 /v1/chat/completions '{"messages":[]}'
  expect_status 400 /v1/chat/completions '{"messages":"hi"}'
  expect_status 400 /v1/chat/completions '{"prompt":"hi"}'
  # logprobs: an entry a completion token, with top_logprobs alternatives;
  # top_logprobs without logprobs, or above 20, is a 400.
  expect_status 200 /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}],"max_tokens":4,"logprobs":true,"top_logprobs":3}'
  jq -e '(.choices[0].logprobs.content | length) == .usage.completion_tokens and
         all(.choices[0].logprobs.content[]; (.top_logprobs | length) == 3 and .logprob <= 0)' resp.json > /dev/null ||
    fail "chat logprobs: $(jq -c .choices[0].logprobs resp.json)"
  expect_status 400 /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}'
  expect_status 400 /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}'
  expect_status 200 /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":3}'
  jq -e '.usage.completion_tokens <= 3 and .choices[0].message.role == "assistant"' resp.json > /dev/null ||
    fail "max_completion_tokens is not honoured"
  stop_server
  ;;
serve-openai)
  # The official openai npm client (a client no one here wrote). It needs
  # the npm registry: without node, npm or a network the case is skipped
  # with a message, so the default test command never fails for that.
  if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
    echo "SKIP: $case_name: node or npm is not installed"
    exit 0
  fi
  mkdir npm
  if ! (cd npm && timeout 300 npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 openai@6 > ../npm.log 2>&1); then
    echo "SKIP: $case_name: npm cannot install the openai package (no network or registry?):"
    tail -n 3 npm.log
    exit 0
  fi
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o art
  ref=$(greedy_ids art 5,17,42,99 24)
  ref_text=$("$LLMC" run art --prompt "It is a truth universally acknowledged" --max-tokens 32 --temperature 0)
  ref_text=${ref_text#It is a truth universally acknowledged}
  printf 'sesame\n' > api.key
  start_server "$LLMC" art --api-key-file api.key
  cp "$(dirname "$0")/serve_openai.mjs" npm/
  node npm/serve_openai.mjs "$URL" sesame art 5,17,42,99 "$ref" "$ref_text" || fail "the openai client disagrees"
  stop_server
  # Chat completions through the client (serve-chat checks the rest).
  chat_artifact
  chat_ref=$("$LLMC" run chat-art --chat --prompt "Once upon a time" --max-tokens 24 --temperature 0)
  start_server "$LLMC" chat-art
  node npm/serve_openai.mjs "$URL" none chat-art --chat "$chat_ref" || fail "the openai client disagrees on chat"
  stop_server
  ;;
serve-bench-url)
  # `llmc bench --url`: the request mix through HTTP against a running
  # server draws the same requests as in-process (same seed), generates each
  # one's exact length, and reports the same fields but KV (the server's).
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o art
  mix=(--requests 16 --concurrency 4 --prompt-len 8:32 --gen-len 4:16 --seed 7 --json)
  "$LLMC" bench art "${mix[@]}" > local.json
  echo secret-key > key.txt
  start_server "$LLMC" art --api-key-file key.txt
  "$LLMC" bench --url "$URL" --api-key-file key.txt "${mix[@]}" > http.json
  jq -e '.completed == 16 and (.per_request | length) == 16 and .kv_blocks == null
         and .output_tokens == ([.per_request[].gen_len] | add)
         and all(.per_request[]; .generated == .gen_len)
         and all(.ttft_ms, .tpot_ms, .latency_ms; .p50 <= .p90 and .p90 <= .p99)' http.json >/dev/null ||
    fail "the HTTP mix's report"
  [ "$(jq -c '[.input_tokens, [.per_request[].prompt_len, .per_request[].gen_len]]' local.json)" = \
    "$(jq -c '[.input_tokens, [.per_request[].prompt_len, .per_request[].gen_len]]' http.json)" ] ||
    fail "the same seed drew other requests through HTTP"
  # llmc-run too, in text; Poisson arrivals.
  "$LLMC_RUN" bench --url "$URL" --api-key-file key.txt --requests 6 --concurrency 2 --prompt-len 4:8 --gen-len 2:5 \
    --rate 50 > text.txt
  grep -q "^server " text.txt && grep -q "^TTFT " text.txt && ! grep -q "^KV blocks" text.txt || { cat text.txt; fail "the text report"; }
  # Every sequence ended: no KV block left in use.
  curl -sf -H "Authorization: Bearer secret-key" "$URL/metrics" > metrics.txt
  grep -q '^llmc_kv_blocks_in_use 0$' metrics.txt || { grep kv metrics.txt; fail "KV blocks left in use"; }
  # Refusals: a wrong key (the server's 401), nothing listening, an
  # artifact with --url, an unusable URL.
  echo wrong > bad.txt
  expect_error 69 "HTTP 401" -- "$LLMC" bench --url "$URL" --api-key-file bad.txt --requests 2
  stop_server
  expect_error 69 "onnect" -- "$LLMC" bench --url "$URL" --requests 2
  expect_error 64 "takes no ARTIFACT_DIR" -- "$LLMC" bench art --url "$URL" --requests 2
  expect_error 64 "not an http:// URL" -- "$LLMC" bench --url ftp://x --requests 2
  ;;
serve-soak)
  # A bounded soak (bench/serve_soak.sh: 8 clients looping over sampled
  # completions, streams cut by a stop string, streams abandoned mid-way,
  # bad requests and /metrics): no unexpected status, no KV block held once
  # idle, no failed KV check, and flat memory — the server's RSS after a 20 s
  # soak within 16 MiB of what it was after a 5 s warm-up one.
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o art
  start_server "$LLMC" art
  rss() { ps -o rss= -p "$server_pid" | tr -d ' '; }
  bash "$SRC/bench/serve_soak.sh" "$URL" 5 8 > warm.txt || { cat warm.txt >&2; fail "the warm-up soak saw errors"; }
  before=$(rss)
  bash "$SRC/bench/serve_soak.sh" "$URL" 20 8 > soak.txt || { cat soak.txt >&2; fail "the soak saw errors"; }
  after=$(rss)
  cat soak.txt
  echo "server RSS: $before KiB after the warm-up, $after KiB after the soak"
  # (Under ASan freed memory sits in its quarantine, so RSS says nothing;
  # LeakSanitizer checks the server at its exit instead.)
  # (ldd's whole output captured first: `ldd | grep -q` under pipefail fails
  # whenever grep exits before ldd has written everything, SIGPIPE.)
  if [[ $(ldd "$LLMC" 2>/dev/null) == *libasan* ]]; then
    echo "RSS not checked: an ASan build"
  else
    [ "$after" -le $((before + 16384)) ] || fail "the server's RSS grew from $before to $after KiB"
  fi
  for _ in $(seq 50); do [ "$(metric llmc_requests_running)" = 0 ] && break; sleep 0.1; done
  [ "$(metric llmc_kv_blocks_in_use)" = 0 ] || fail "$(metric llmc_kv_blocks_in_use) KV blocks held with nothing running"
  [ "$(metric llmc_kv_invariant_failures_total)" = 0 ] || fail "KV bookkeeping checks failed"
  stop_server
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: $case_name"
