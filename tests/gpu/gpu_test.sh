#!/usr/bin/env bash
# gpu_test.sh BACKEND: compares a GPU backend's logits with the host's on
# one artifact (gpu_check). Exits 77 (skipped) when BACKEND finds no device.
# The artifact: $LLMC_GPU_ARTIFACT when set (compiled elsewhere with a host
# target and one for this device), else $LLMC_GPU_MODEL (a model.json, by
# default a small random model made here: gen_model $LLMC_GEN_FLAGS when set,
# imported from its config.json when $LLMC_GEN_CONFIG_EXTRA adds to it)
# compiled here with
# --target=host,<the device's target> and $LLMC_COMPILE_FLAGS. $GPU_CHECK_FLAGS
# go to gpu_check.
set -euo pipefail
backend=$1
probe=$("$GPU_CHECK" --probe --backend="$backend") || exit $?
read -r found target _ <<<"$probe"
echo "device: $probe"
if [ -n "${LLMC_GPU_ARTIFACT:-}" ]; then
  artifact=$LLMC_GPU_ARTIFACT
else
  rm -rf "$WORK"
  mkdir -p "$WORK"
  cd "$WORK"
  model=${LLMC_GPU_MODEL:-}
  if [ -z "$model" ]; then
    # shellcheck disable=SC2086 # the flags are words
    "$GEN_MODEL" m ${LLMC_GEN_FLAGS:---dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 3} \
      ${LLMC_GEN_CONFIG_EXTRA:+--config-extra "$LLMC_GEN_CONFIG_EXTRA"}
    model=m/model.json
    # config.json features the hand-written model.json lacks: the HF import.
    [ -z "${LLMC_GEN_CONFIG_EXTRA:-}" ] || model=m
  fi
  # shellcheck disable=SC2086 # the flags are words
  "$LLMC" compile "$model" -o out --target="host,$target" ${LLMC_COMPILE_FLAGS:-}
  artifact=$WORK/out
fi
# shellcheck disable=SC2086 # the flags are words
exec "$GPU_CHECK" --backend="$found" ${GPU_CHECK_FLAGS:-} "$artifact"
