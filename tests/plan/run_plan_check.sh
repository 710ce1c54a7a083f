#!/usr/bin/env bash
# Usage: run_plan_check.sh LLMC GEN_MODEL FILECHECK INPUT.plan
# Kernel-plan decision tests. INPUT's "# GEN: ARGS" line makes a random model
# with gen_model; each "# RUN PREFIX FLAGS" line compiles it with
# `llmc compile --emit=plan FLAGS` and checks the plan text against INPUT's
# PREFIX: lines with FileCheck.
set -euo pipefail
llmc=$1 gen_model=$2 filecheck=$3 input=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen=$(sed -n 's|^# GEN: *||p' "$input")
# shellcheck disable=SC2086
"$gen_model" "$tmp/m" $gen >/dev/null
runs=0
while IFS= read -r line; do
  prefix=${line%% *}
  flags=${line#* }
  rm -rf "$tmp/out"
  # shellcheck disable=SC2086
  "$llmc" compile "$tmp/m/model.json" -o "$tmp/out" --emit=plan $flags
  "$filecheck" --input-file="$tmp/out/model.plan" --check-prefix="$prefix" "$input"
  runs=$((runs + 1))
done < <(sed -n 's|^# RUN *||p' "$input")
[ "$runs" -gt 0 ] || { echo "no RUN lines in $input" >&2; exit 1; }
