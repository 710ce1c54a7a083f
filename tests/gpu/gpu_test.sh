#!/usr/bin/env bash
# gpu_test.sh BACKEND: compares a GPU backend's logits with the host's on
# one artifact (gpu_check). Exits 77 (skipped) when BACKEND finds no device.
# The artifact: $LLMC_GPU_ARTIFACT when set (compiled elsewhere with a host
# target and one for this device), else a small random model compiled here
# with --target=host,<the device's target>.
set -euo pipefail
backend=$1
probe=$("$GPU_CHECK" --probe --backend="$backend") || exit $?
read -r found target <<<"$probe"
echo "device: $probe"
if [ -n "${LLMC_GPU_ARTIFACT:-}" ]; then
  artifact=$LLMC_GPU_ARTIFACT
else
  rm -rf "$WORK"
  mkdir -p "$WORK"
  cd "$WORK"
  "$GEN_MODEL" m --dim 64 --layers 2 --heads 4 --kv-heads 2 --hidden 160 --vocab 97 --seed 3
  "$LLMC" compile m/model.json -o out --target="host,$target"
  artifact=$WORK/out
fi
exec "$GPU_CHECK" --backend="$found" "$artifact"
