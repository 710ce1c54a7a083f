#!/usr/bin/env bash
# A bounded soak of a running `llmc serve` (an artifact whose vocabulary has
# at least 512 tokens and a tokenizer, e.g. examples/tiny-llama):
#   bench/serve_soak.sh URL [SECONDS=60] [CLIENTS=8]
# Each client loops over a mix: sampled completions, streams cut by a stop
# string, streams the client abandons mid-way (the server cancels them),
# bad requests (400 expected) and /metrics. Prints each client's requests and
# unexpected statuses (stderr names them); exits 1 if there were any. Watch
# the server's RSS (ps -o rss= -p PID) before and after: it should stay flat.
set -euo pipefail
url=$1 secs=${2:-60} clients=${3:-8}
end=$((SECONDS + secs))
client() {
  local k=$1 errs=0 n=0 c
  while [ $SECONDS -lt $end ]; do
    n=$((n + 1))
    c=expected
    case $((n % 6)) in
      0) c=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/completions" \
           -d "{\"prompt\":[$k,$((n % 500))],\"max_tokens\":$((n % 50 + 1)),\"temperature\":0.7,\"seed\":$n}")
         [ "$c" = 200 ] && c=expected ;;
      1) c=$(curl -s -N -o /dev/null -w '%{http_code}' "$url/v1/completions" \
           -d "{\"prompt\":\"Mr. Darcy said $n\",\"max_tokens\":40,\"stream\":true,\"stop\":[\".\"]}")
         [ "$c" = 200 ] && c=expected ;;
      2) curl -s -N "$url/v1/completions" -d "{\"prompt\":[$k],\"max_tokens\":200,\"stream\":true,\"ignore_eos\":true}" |
           head -c 300 > /dev/null || true ;;
      3) c=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/completions" -d '{"prompt":[1],"max_tokens":-3}')
         [ "$c" = 400 ] && c=expected ;;
      4) c=$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/completions" -d '{"prompt": [1,')
         [ "$c" = 400 ] && c=expected ;;
      5) c=$(curl -s -o /dev/null -w '%{http_code}' "$url/metrics")
         [ "$c" = 200 ] && c=expected ;;
    esac
    if [ "$c" != expected ]; then
      errs=$((errs + 1))
      echo "client $k: request kind $((n % 6)) got HTTP $c" >&2
    fi
  done
  echo "client $k: $n requests, $errs unexpected"
  [ "$errs" -eq 0 ]
}
pids=()
for k in $(seq "$clients"); do client "$k" & pids+=($!); done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
