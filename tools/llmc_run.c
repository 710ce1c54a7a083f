/* llmc_run.c: `llmc-run`, the serving half of llmc: `run`, `bench` and
 * `serve` on a compiled artifact, linking only libllmc_rt, the tokenizer and
 * the HTTP library (no LLVM, no MLIR), so it can be shipped with artifacts
 * to machines that only run models, GPU servers included. Same options and
 * output as `llmc run`, `llmc bench` and `llmc serve`. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "llmc_cli.h"

static const char help[] =
    "Usage: llmc-run COMMAND ARTIFACT_DIR [options]\n"
    "Runs artifacts compiled by `llmc compile`, without the compiler.\n\n"
    "Commands:\n"
    "  run DIR      generate tokens (see llmc-run run --help)\n"
    "  bench DIR    measure prefill/decode speed and memory bandwidth; with\n"
    "               --requests N, TTFT/TPOT percentiles of a request mix\n"
    "  serve DIR    serve an artifact over HTTP (see llmc-run serve --help)\n"
    "  tune-measure --target=T -o FILE DIR...\n"
    "               time artifacts with forced kernel configurations and write\n"
    "               the tuning database (see llmc-run tune-measure --help)\n"
    "  tokenize DIR (--text=TEXT | --jsonl=FILE) [--add-special]\n"
    "               print token ids (see llmc-run tokenize --help)\n"
    "  detokenize DIR --ids=LIST\n"
    "               print the text of token ids\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(help, stderr);
    return EX_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(help, stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("llmc-run %s\n", LLMC_VERSION_STRING);
    return 0;
  }
  if (strcmp(argv[1], "run") == 0) return llmc_cli_run(argc - 1, argv + 1);
  if (strcmp(argv[1], "bench") == 0) return llmc_cli_bench(argc - 1, argv + 1);
  if (strcmp(argv[1], "serve") == 0) return llmc_cli_serve(argc - 1, argv + 1);
  if (strcmp(argv[1], "tune-measure") == 0) return llmc_cli_tune_measure(argc - 1, argv + 1);
  if (strcmp(argv[1], "tokenize") == 0) return llmc_cli_tokenize(argc - 1, argv + 1);
  if (strcmp(argv[1], "detokenize") == 0) return llmc_cli_detokenize(argc - 1, argv + 1);
  return llmc_cli_usage_error(NULL, "unknown command '%s' (run, bench, serve, tune-measure, tokenize, detokenize)",
                              argv[1]);
}
