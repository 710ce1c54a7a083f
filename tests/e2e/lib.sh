# Shared by the end-to-end case scripts (sourced): tests/e2e/<script>.sh CASE
# Environment (set by CMake): LLMC, GEN_MODEL, E2E_CHECK, READELF, SRC (source
# root), WORK (a scratch directory per case).
set -euo pipefail
case_name=$1
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_error CODE SUBSTRING -- command...: the command must exit with CODE,
# print an "error:" line containing SUBSTRING on stderr, print nothing on
# stdout, and not crash.
expect_error() {
  local code=$1 text=$2
  shift 3
  local rc=0
  "$@" >stdout.txt 2>stderr.txt || rc=$?
  [ "$rc" -eq "$code" ] || { cat stderr.txt >&2; fail "'$*' exited $rc, expected $code"; }
  grep -q "error:" stderr.txt || fail "'$*' printed no error line"
  grep -qF -- "$text" stderr.txt || { cat stderr.txt >&2; fail "'$*' error lacks '$text'"; }
  [ ! -s stdout.txt ] || fail "'$*' wrote to stdout on error"
}

# NVIDIA kernels need CUDA's libdevice (the CUDA toolkit, not a Debian
# package llmc installs): without it NVIDIA code generation says so (exit 69)
# and the NVIDIA checks are skipped with a message.
nvidia_ok() {
  if [ -z "${NVIDIA_OK:-}" ]; then
    if "$LLMC" compile "$SRC/examples/tiny-llama/model.json" -o .nv-probe --target=sm_80 --emit=ptx >/dev/null 2>&1; then
      NVIDIA_OK=yes
    else
      NVIDIA_OK=no
      echo "SKIP NVIDIA checks: no CUDA libdevice (install the CUDA toolkit or set LLMC_LIBDEVICE)" >&2
    fi
    rm -rf .nv-probe
  fi
  [ "$NVIDIA_OK" = yes ]
}
nv() { nvidia_ok && printf '%s' "$1"; } # the argument if NVIDIA code can be generated

greedy_ids() { # artifact prompt-ids n
  "$LLMC" run "$1" --prompt-ids "$2" --max-tokens "$3" --temperature 0 --print-ids
}

