/* llmc_cli.h: pieces shared by the two command-line programs: `llmc` (the
 * compiler driver, which links LLVM and MLIR) and `llmc-run` (run and bench
 * only, linking just the runtime, for machines that serve compiled artifacts
 * and have no LLVM). Errors are printed here and only here. */
#ifndef LLMC_CLI_H
#define LLMC_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "llmc_rt.h"
#include "llmc_support.h"

/* Prints a status chain as "llmc: where: error: message" lines on stderr and
 * returns its sysexits code (0 for NULL), freeing it. */
int llmc_cli_report(llmc_status_t *s);
/* Prints "llmc CMD: error: ..." and a --help hint; returns EX_USAGE. */
int llmc_cli_usage_error(const char *cmd, const char *fmt, const char *detail);
double llmc_cli_now(void);
bool llmc_cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
bool llmc_cli_parse_f32(const char *s, double lo, double hi, float *out);

/* `run` and `bench` with argv[0] the command name. */
int llmc_cli_run(int argc, char **argv);
int llmc_cli_bench(int argc, char **argv);
/* `bench DIR --requests N ...` (bench_requests.c): a request mix run
 * in-process; llmc_cli_bench hands over to it when --requests is given. */
int llmc_cli_bench_requests(int argc, char **argv);
/* The API key in the first line of path (serve --api-key-file, bench
 * --api-key-file); an empty line or one with blanks is an error. */
LLMC_MUST_USE llmc_status_t *llmc_cli_read_api_key(const char *path, char **out);
/* The nearest-rank p-th percentile (0 < p <= 100) of n ascending values:
 * the value at 1-based rank ceil(p/100 * n), one of the values; 0 when n is 0. */
double llmc_cli_percentile(const double *sorted, int64_t n, double p);
/* `tokenize` and `detokenize` (cli_tokenize.c) with argv[0] the command name. */
int llmc_cli_tokenize(int argc, char **argv);
int llmc_cli_detokenize(int argc, char **argv);
/* `tune-measure` (tune_measure.c): the timing half of `llmc tune`. */
int llmc_cli_tune_measure(int argc, char **argv);
/* Decode steps (T = 1) on a fresh sequence of rt (opened with profile):
 * per kernel, the ms and launches of the timed steps only (4 warm-up steps,
 * then 16), into ms[n] and calls[n]. Shared by tune and tune-measure. */
enum { LLMC_CLI_WARMUP_STEPS = 4, LLMC_CLI_TIMED_STEPS = 16 };
struct llmc_rt;
LLMC_MUST_USE llmc_status_t *llmc_cli_time_decode(struct llmc_rt *rt, double *ms, int64_t *calls, int64_t n);
/* Prompt steps of `tokens` tokens (positions 0..tokens-1 of a fresh
 * sequence each): per kernel, the ms and launches of the timed steps only
 * (1 warm-up step, then LLMC_CLI_TIMED_PROMPTS). */
enum { LLMC_CLI_TIMED_PROMPTS = 3 };
LLMC_MUST_USE llmc_status_t *llmc_cli_time_prefill(struct llmc_rt *rt, int64_t tokens, double *ms, int64_t *calls,
                                                   int64_t n);

/* The artifact's generation.json: {"eos_token_id": N or [N, ...]}, each id
 * checked against the vocabulary, into sp's stop tokens (none when the file
 * is absent). */
LLMC_MUST_USE llmc_status_t *llmc_cli_read_stop_ids(const char *dir, int64_t vocab, llmc_sampling_t *sp);
/* `serve` (serve.c): the OpenAI-compatible HTTP server. */
int llmc_cli_serve(int argc, char **argv);

/* Reads a JSON file of an artifact like any input (a regular file, at most
 * `limit` bytes, never waited on) into *out (the caller decrefs). */
LLMC_MUST_USE llmc_status_t *llmc_cli_read_json(const char *path, uint64_t limit, json_t **out);

#endif
