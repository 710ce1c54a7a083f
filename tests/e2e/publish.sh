#!/usr/bin/env bash
# End-to-end cases for how a compile publishes its artifact (codegen/publish.c)
# and for bench's numbers: tests/e2e/publish.sh CASE (helpers in lib.sh).
source "$(dirname "$0")/lib.sh"

# digest DIR: one hash over a directory's file names and contents, so an extra
# or missing file changes it as much as a changed byte.
digest() { (cd "$1" && ls -A && sha256sum -- *) | sha256sum | cut -d' ' -f1; }
# The staging directories (.NAME.llmc-tmp.PID) in the current directory.
staging() { ls -A | grep -F '.llmc-tmp.' || true; }
no_staging() { [ -z "$(staging)" ] || fail "$1: staging directory left: $(staging)"; }
# expect_one_error CODE TEXT -- cmd...: expect_error, and exactly one error line.
expect_one_error() {
  expect_error "$@"
  [ "$(grep -c 'error:' stderr.txt)" -eq 1 ] || { cat stderr.txt >&2; fail "'${*:4}' printed more than one error line"; }
  grep -q '^llmc[^:]*: .*error: ' stderr.txt || fail "'${*:4}' error line is not 'llmc: WHERE: error: ...'"
}
model() { "$GEN_MODEL" "$1" --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed "$2" >/dev/null; }

case $case_name in
publish-swap)
  # A compile replaces -o as a whole: files of the previous artifact that the
  # new one does not have (another model's tokenizer.json, generation.json)
  # are gone, not left to be used with the new model.
  model m 1
  "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o out/
  [ -f out/tokenizer.json ] && [ -f out/generation.json ] || fail "tiny-llama artifact lacks its tokenizer"
  "$LLMC" compile m/model.json -o ref
  "$LLMC" compile m/model.json -o out/
  [ "$(digest out)" = "$(digest ref)" ] || fail "out/ differs from a fresh compile: $(ls out)"
  [ ! -e out/tokenizer.json ] && [ ! -e out/generation.json ] || fail "the old model's files survived"
  expect_one_error 66 "no tokenizer" -- "$LLMC" run out --prompt hello --max-tokens 2
  # Into itself again, through a symbolic link, and with --emit: still whole.
  ln -s out link
  "$LLMC" compile m/model.json -o link
  [ -L link ] && [ "$(digest out)" = "$(digest ref)" ] || fail "-o through a symbolic link"
  "$LLMC" compile m/model.json -o out --emit=ir
  [ "$(ls out)" = "model.ir" ] || fail "--emit=ir into an artifact left: $(ls out)"
  # An empty directory is replaced too.
  mkdir empty
  "$LLMC" compile m/model.json -o empty
  [ "$(digest empty)" = "$(digest ref)" ] || fail "an empty -o was not filled"
  no_staging "publish-swap"
  ;;
publish-refuse)
  # The issue's case: model.json names its weights weights.safetensors (the
  # artifact's name), compiled into its own directory with f16 weights. The
  # f32 originals must survive: -o may not be, contain or lie inside the
  # model's directory (exit 64); nothing is written.
  model m 1
  mv m/model.safetensors m/weights.safetensors
  sed -i 's/"model.safetensors"/"weights.safetensors"/' m/model.json
  before=$(digest m)
  expect_one_error 64 "is the model's directory" -- "$LLMC" compile m/model.json -o m --weight-dtype=f16
  expect_one_error 64 "is the model's directory" -- "$LLMC" compile m/model.json -o m/ --weight-dtype=f16
  expect_one_error 64 "is the model's directory" -- "$LLMC" compile m/model.json -o ./m/../m
  expect_one_error 64 "lies inside the model's directory" -- "$LLMC" compile m/model.json -o m/out
  expect_one_error 64 "contains the model's directory" -- "$LLMC" compile m/model.json -o .
  # A Hugging Face directory is the model's directory itself.
  expect_one_error 64 "is the model's directory" -- "$LLMC" compile m -o m
  expect_one_error 64 "contains the model's directory" -- "$LLMC" compile "$PWD/m" -o "$PWD"
  ln -s m mlink
  expect_one_error 64 "is the model's directory" -- "$LLMC" compile m/model.json -o mlink
  [ "$(digest m)" = "$before" ] || fail "the model's directory was modified"
  [ ! -e m/out ] || fail "m/out was created"
  (cd m && expect_one_error 64 "is the model's directory" -- "$LLMC" compile model.json -o . &&
    rm stdout.txt stderr.txt) # expect_error's own files
  [ "$(digest m)" = "$before" ] || fail "the model's directory was modified (-o .)"
  # An existing -o that is not an llmc artifact (a home directory, say) is
  # not replaced (exit 73), and neither is a file.
  mkdir home && echo keep > home/notes.txt && cp m/model.json home/
  expect_one_error 73 "holds 'model.json', which is not part of an llmc artifact" -- "$LLMC" compile m -o home
  [ "$(cat home/notes.txt)" = keep ] || fail "home/ was modified"
  mkdir art && touch art/model.so art/README
  expect_one_error 73 "'README'" -- "$LLMC" compile m -o art
  [ -f art/README ] || fail "art/README was removed"
  mkdir nested && mkdir nested/sub
  expect_one_error 73 "'sub'" -- "$LLMC" compile m -o nested
  echo data > file
  expect_one_error 73 "not a directory" -- "$LLMC" compile m -o file
  [ "$(cat file)" = data ] || fail "the file -o was modified"
  expect_one_error 73 "cannot create" -- "$LLMC" compile m -o file/out
  expect_one_error 73 "cannot create" -- "$LLMC" compile m -o missing/out
  expect_one_error 64 "root directory" -- "$LLMC" compile m -o /
  no_staging "publish-refuse"
  [ ! -e m/out ] && [ ! -e missing ] || fail "a refused compile created something"
  ;;
publish-failure)
  # A compile that fails late (the tokenizer is read after model.so and the
  # weights are written) leaves -o as it was: no new model.so beside old
  # weights, no staging directory, exit 66 with one error line.
  model m 1
  model n 2
  "$LLMC" compile m/model.json -o out
  old=$(digest out)
  mkdir n/tokdir
  sed -i 's/^{/{"tokenizer": "tokdir",/' n/model.json
  expect_one_error 66 "not a regular file" -- "$LLMC" compile n/model.json -o out
  [ "$(digest out)" = "$old" ] || fail "a failed compile changed out/"
  expect_one_error 66 "not a regular file" -- "$LLMC" compile n/model.json -o fresh
  [ ! -e fresh ] || fail "a failed compile created fresh/"
  no_staging "publish-failure"
  ;;
publish-verify)
  # --verify runs before publishing: a failing artifact (here one for another
  # CPU, which this machine cannot load) is never published; the old -o stays.
  model m 1
  "$LLMC" compile m/model.json -o out
  old=$(digest out)
  if [ "$(uname -m)" = x86_64 ]; then other=aarch64; else other=x86-64; fi
  expect_one_error 65 "cannot run the artifact on the host" -- \
    "$LLMC" compile m/model.json -o out --target=$other --verify
  [ "$(digest out)" = "$old" ] || fail "a failed --verify replaced out/"
  expect_one_error 65 "cannot run the artifact on the host" -- \
    "$LLMC" compile m/model.json -o new --target=$other --verify
  [ ! -e new ] || fail "a failed --verify published new/"
  # --verify with an inspection output is refused before compiling.
  expect_error 64 "--verify needs the full artifact" -- "$LLMC" compile m/model.json -o out --emit=ir --verify
  [ "$(digest out)" = "$old" ] || fail "a refused --verify replaced out/"
  # A passing --verify publishes.
  "$LLMC" compile m/model.json -o v --verify 2>verify.txt
  grep -q 'greedy tokens identical' verify.txt && [ "$(digest v)" = "$old" ] || fail "--verify did not publish"
  no_staging "publish-verify"
  ;;
publish-sweep)
  # Staging directories of processes that are gone (SIGKILL) are removed by
  # the next compile into the same -o; a live process's, other outputs' and
  # files that only look similar are left alone.
  model m 1
  sleep 0 & dead=$!
  wait $dead
  mkdir ".out.llmc-tmp.$dead" ".out.llmc-tmp.$$" ".other.llmc-tmp.$dead" ".out.llmc-tmp.x$dead"
  head -c 100000 /dev/zero > ".out.llmc-tmp.$dead/weights.safetensors"
  touch ".out.llmc-tmp.$dead/model.so" "out.tmp.$dead"
  "$LLMC" compile m/model.json -o out
  [ ! -e ".out.llmc-tmp.$dead" ] || fail "a dead process's staging directory survived"
  [ -d ".out.llmc-tmp.$$" ] || fail "a live process's staging directory was removed"
  [ -d ".other.llmc-tmp.$dead" ] && [ -d ".out.llmc-tmp.x$dead" ] && [ -e "out.tmp.$dead" ] ||
    fail "the sweep removed something not its own"
  # What llmc versions before whole-directory publication left, <out>.tmp.<pid>
  # with up to the whole weights file, goes too; only when it holds artifact
  # names, since the name is less distinctive.
  sleep 0 & dead2=$!
  wait $dead2
  mkdir "out.tmp.$dead2" "out.tmp.1$dead2"
  head -c 100000 /dev/zero > "out.tmp.$dead2/weights.safetensors"
  echo mine > "out.tmp.1$dead2/notes.txt"
  "$LLMC" compile m/model.json -o out
  [ ! -e "out.tmp.$dead2" ] || fail "an old version's out.tmp.PID survived"
  [ -f "out.tmp.1$dead2/notes.txt" ] || fail "the sweep removed a directory holding a user's file"
  ;;
publish-interrupt)
  # Fault injection: compiles of two different models into one -o,
  # interrupted by SIGINT, SIGTERM or SIGKILL after a random delay (seeded,
  # so a failure reproduces). After each, out/ is the complete previous
  # artifact or the complete new one (the digests of both, built first);
  # SIGINT and SIGTERM leave no staging directory and exit 130/143; what
  # SIGKILL leaves is swept by the next compile that gets that far, and none
  # survives a final uninterrupted compile.
  model a 1
  model b 2
  "$LLMC" compile a/model.json -o ref-a
  t0=$(date +%s%N)
  "$LLMC" compile b/model.json -o ref-b --weight-dtype=f16
  # Delays up to 1.5 times a whole compile, so some signals land while
  # writing, some around the swap and some after the end.
  span_ms=$(( ($(date +%s%N) - t0) / 666666 + 1 ))
  da=$(digest ref-a) db=$(digest ref-b)
  [ "$da" != "$db" ] || fail "the two reference artifacts are the same"
  cp -r ref-a out
  prev=$da
  RANDOM=9
  sigs=(INT TERM KILL)
  seen_old=0 seen_new=0 killed=" "
  for i in $(seq 1 18); do
    sig=${sigs[$((i % 3))]}
    delay_ms=$((RANDOM % span_ms))
    if [ $((RANDOM % 2)) -eq 0 ]; then args=(a/model.json); want=$da; else args=(b/model.json --weight-dtype=f16); want=$db; fi
    # A background job of a shell without job control ignores SIGINT, and
    # llmc keeps an ignored signal ignored: the subshell restores it.
    (trap - INT TERM; exec "$LLMC" compile "${args[@]}" -o out 2>/dev/null) &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -s "$sig" $pid 2>/dev/null || true
    rc=0
    wait $pid || rc=$?
    d=$(digest out)
    if [ "$d" = "$prev" ]; then seen_old=$((seen_old + 1)); elif [ "$d" = "$want" ]; then seen_new=$((seen_new + 1));
    else fail "iteration $i (SIG$sig after ${delay_ms} ms, exit $rc): out/ is neither the old nor the new artifact: $(ls -A out)"; fi
    prev=$d
    case $sig in
    INT) [ $rc -eq 130 ] || [ $rc -eq 0 ] || fail "iteration $i: SIGINT gave exit $rc" ;;
    TERM) [ $rc -eq 143 ] || [ $rc -eq 0 ] || fail "iteration $i: SIGTERM gave exit $rc" ;;
    KILL) [ $rc -eq 137 ] || [ $rc -eq 0 ] || fail "iteration $i: SIGKILL gave exit $rc" ;;
    esac
    # Only SIGKILLed compiles may have left a staging directory.
    [ "$sig" = KILL ] && killed="$killed$pid "
    for t in $(staging); do
      case "$killed" in *" ${t##*.} "*) ;; *) fail "iteration $i (SIG$sig, exit $rc): $t left behind" ;; esac
    done
  done
  echo "interrupted compiles: out/ kept the old artifact $seen_old times, held the new one $seen_new times"
  "$LLMC" compile a/model.json -o out
  [ "$(digest out)" = "$da" ] || fail "the final compile did not publish"
  no_staging "after the final compile"
  ;;
bench-numbers)
  # bench refuses what it cannot measure honestly and says what it does not know.
  model m 1
  "$LLMC" compile m/model.json -o out --max-seqs 2
  # More sequences than a step holds would run in waves (once "3.3M tok/s").
  expect_one_error 64 "exceed the artifact's 2 per step" -- "$LLMC" bench out --batch 3
  expect_error 64 "--max-tokens must be at least 1" -- "$LLMC" bench out --max-tokens 0
  # --kv-blocks reaches the runtime: one block cannot hold a 32-token prompt.
  expect_one_error 65 "the cache has only 1 blocks" -- "$LLMC" bench out --kv-blocks 1 --prompt-len 32 --max-tokens 4
  "$LLMC" bench out --kv-blocks 3 --prompt-len 32 --max-tokens 4 >/dev/null
  # Decode counts only the steps after every sequence has its first token.
  # Two 100-token prompts take two steps of 128 tokens: the first gives
  # sequence 1 its first token; the second finishes sequence 2's prefill and
  # also makes sequence 1's second token, which is not decode (its time is
  # not decode time). Then 3 + 4 tokens: 7, where the old count said 8.
  "$LLMC" bench out --batch 2 --prompt-len 100 --max-tokens 5 > bench.txt
  n=$(sed -n 's/^decode  *[0-9.]* tokens\/s (\([0-9]*\) tokens in [0-9.]* s)$/\1/p' bench.txt)
  [ -n "${n:-}" ] || fail "no decode line: $(cat bench.txt)"
  [ "$n" -eq 7 ] || fail "bench counted $n decode tokens, expected 7: $(cat bench.txt)"
  grep -q '^achieved read BW  *[0-9.]* GB/s$' bench.txt || fail "no achieved bandwidth: $(cat bench.txt)"
  # One new token is prefill only: no decode figures.
  "$LLMC" bench out --max-tokens 1 > one.txt
  grep -q '^decode  *n/a' one.txt || fail "--max-tokens 1 printed a decode rate: $(cat one.txt)"
  # Without report.json the weight bytes are unknown: no 0 GB/s, a note instead.
  cp -r out norep && rm norep/report.json
  "$LLMC" bench norep --max-tokens 4 > norep.txt 2> norep.err
  grep -q '^achieved read BW  *unknown$' norep.txt || fail "bandwidth without report.json: $(cat norep.txt)"
  grep -q '^ratio  *unknown$' norep.txt || fail "ratio without report.json: $(cat norep.txt)"
  grep -q 'report.json is missing' norep.err || fail "no note about the missing report.json"
  ! grep -q ' 0.00 GB/s' norep.txt || fail "bench printed 0 GB/s"
  # The profile table only with --profile.
  ! grep -q '^profile' norep.txt || fail "a profile without --profile"
  ;;
*)
  fail "unknown case $case_name"
  ;;
esac
echo "PASS: $case_name"
