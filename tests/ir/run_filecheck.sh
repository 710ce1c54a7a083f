#!/usr/bin/env bash
# Usage: run_filecheck.sh IR_OPT FILECHECK INPUT.ir
# Runs ir_opt with the flags of INPUT's "// RUN: ir_opt %s ..." line, checks the
# output with FileCheck, then checks that the output re-parses and re-prints
# identically (the text form round-trips).
set -euo pipefail
ir_opt=$1 filecheck=$2 input=$3
flags=$(sed -n 's|^// RUN: ir_opt %s *||p' "$input")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2086
"$ir_opt" "$input" $flags > "$tmp/out.ir"
"$filecheck" --input-file="$tmp/out.ir" "$input"
grep -v '^// \(plan\|remark\):' "$tmp/out.ir" > "$tmp/a.ir"
"$ir_opt" "$tmp/a.ir" > "$tmp/b.ir"
cmp "$tmp/a.ir" "$tmp/b.ir"
