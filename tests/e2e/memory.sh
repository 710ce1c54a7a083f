#!/usr/bin/env bash
# End-to-end cases for how much memory a compile takes: tests/e2e/memory.sh
# CASE (helpers in lib.sh).
source "$(dirname "$0")/lib.sh"

# peak_kib CMD...: runs CMD (stdout dropped) and prints its peak RSS in KiB.
peak_kib() {
  /usr/bin/time -f %M -o rss.txt "$@" >/dev/null || fail "'$*' failed"
  tail -n 1 rss.txt
}

case $case_name in
compile-memory)
  # Compiling a checkpoint whose weights must be converted (bf16 -> f32) or
  # joined (-O2 fuses the q/k/v and gate/up matmuls into concat weights)
  # must not hold the converted model: weights.safetensors is written from
  # the input mmap through one bounded buffer. The checkpoint is ~69M
  # parameters (138 MB of bf16): held f32 conversions would add ~280 MB and
  # the held concats ~160 MB, well above the margin below.
  [ -x /usr/bin/time ] || fail "/usr/bin/time is missing (scripts/setup installs the Debian package time)"
  "$GEN_MODEL" tiny --dim 64 --layers 2 --heads 4 --kv-heads 4 --hidden 160 --vocab 97 --dtype bf16 \
    --seed 1 >/dev/null
  "$GEN_MODEL" big --dim 768 --layers 8 --heads 12 --kv-heads 12 --hidden 2048 --vocab 8000 --dtype bf16 \
    --seed 1 >/dev/null
  input_kib=$(( $(stat -c %s big/model.safetensors) / 1024 ))
  for dt in f32 bf16; do
    # What a compile costs whatever the model (LLVM, MLIR, the kernels), so
    # the bound does not depend on this machine's libraries or build type.
    base=$(peak_kib "$LLMC" compile tiny/model.json -o tiny-out --weight-dtype=$dt)
    peak=$(peak_kib "$LLMC" compile big/model.json -o big-out --weight-dtype=$dt)
    # Every input page is read, and file pages mapped count as RSS, so the
    # input's size is expected; beyond it, 64 MiB covers the 4 MiB write
    # buffer and the larger graph with room for noise (measured: base +
    # input + ~1 MiB; before streaming, base + input + 280 MiB for f32).
    limit=$(( base + input_kib + 64 * 1024 ))
    echo "--weight-dtype=$dt: peak RSS $peak KiB; tiny model $base KiB, input $input_kib KiB, limit $limit KiB"
    [ "$peak" -lt "$limit" ] || fail "--weight-dtype=$dt: peak RSS $peak KiB is over $limit KiB (base + input + 64 MiB)"
    grep -q '"llmc.concat' big-out/weights.safetensors || fail "no concat weights: the case no longer tests them"
  done
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: $case_name"
